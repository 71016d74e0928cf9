#!/usr/bin/env bash
# One command: throughput and memory of chaff filter next to the jieba-only floor.
#   bench/throughput.sh            (a few minutes; BIG=1 adds a 1 GB single JSONL file)
# Builds a dump of composed pages from ../shared (train files only, seed 7) under
# bench/out/dump, then prints MB/s for: the floor (read + jieba-rs cut per line, one
# thread; examples/floor.rs), chaff filter --threads 1, chaff filter with all cores, and
# each run's peak RSS; also start-up (dictionary + model load) and training time/RSS for
# the corpus train portion plus 2000 composed pages.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${CHAFF_SHARED:-$root/../shared}
out=$root/bench/out
mkdir -p "$out"
(cd "$root" && cargo build --release --quiet && cargo build --release --quiet --example floor)
chaff=$root/target/release/chaff
floor=$root/target/release/examples/floor
dump=$out/dump
if [ ! -d "$dump/pages" ]; then
  python3 "$shared/tools/compose_pages.py" \
    --news "$shared"/corpus/news/*/train.articles.jsonl \
    --filler "$shared"/corpus/filler/*/train.txt \
    --pages "${PAGES:-4000}" --seed 7 --layouts seed,indented,middle,bare,interleaved \
    --out "$dump" >/dev/null
fi
mb=$(du -sb "$dump/pages" | cut -f1)
files=$(find "$dump/pages" -type f | wc -l)
echo "dump: $files files, $(awk -v b="$mb" 'BEGIN { printf "%.1f MB", b / 1e6 }')"
cat "$dump"/pages/* >/dev/null # warm the page cache for every run alike
# Folder output goes to a RAM disk when there is one: creating 4,000 files on a disk that
# keeps being refilled costs ext4 up to ~450 us of inode search per file, which measures
# the file system, not chaff (OUT_BASE=... to choose; the README shows both).
out_base=${OUT_BASE:-$([ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm/chaff-bench || echo "$out")}
mkdir -p "$out_base"
repeat=${REPEAT:-3}
# measure LABEL BYTES CMD...: best of $repeat runs. Prints wall MB/s (with start-up),
# processing MB/s (chaff's own summary line: from after the model and dictionary are
# loaded, as the floor is timed after jieba's) and peak RSS. Sets $proc (best MB/s).
measure() {
  local label=$1 bytes=$2; shift 2
  local best_wall=0 best_proc=0 rss=0 w r p
  for _ in $(seq 1 "$repeat"); do
    rm -rf "$out_base/filtered"
    /usr/bin/time -f "%e %M" -o "$out/time.txt" "$@" >/dev/null 2>"$out/stderr.txt"
    read -r secs r <"$out/time.txt"
    w=$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.2f", b / 1e6 / s }')
    p=$(grep -o '[0-9.]* MB/s' "$out/stderr.txt" | tail -1 | cut -d' ' -f1)
    best_wall=$(awk -v a="$best_wall" -v b="$w" 'BEGIN { print (b > a ? b : a) }')
    best_proc=$(awk -v a="$best_proc" -v b="${p:-0}" 'BEGIN { print (b > a ? b : a) }')
    rss=$(( r > rss ? r : rss ))
  done
  proc=$best_proc
  awk -v l="$label" -v w="$best_wall" -v p="$best_proc" -v r="$rss" \
    'BEGIN { printf "%-28s %6.2f MB/s processing  %6.2f MB/s wall  peak RSS %4.0f MB\n", l, p, w, r / 1024 }'
}
best_floor=0
for _ in $(seq 1 "$repeat"); do
  f=$("$floor" "$dump/pages" 2>/dev/null | awk '{ print $2 }')
  best_floor=$(awk -v a="$best_floor" -v b="$f" 'BEGIN { print (b > a ? b : a) }')
done
printf "%-28s %6.2f MB/s\n" "floor (jieba only, 1 thread)" "$best_floor"
measure "chaff --threads 1 -o DIR" "$mb" "$chaff" --threads 1 filter -o "$out_base/filtered" "$dump/pages"
one=$proc
measure "chaff --threads $(nproc) -o DIR" "$mb" "$chaff" filter -o "$out_base/filtered" "$dump/pages"
all=$proc
awk -v o="$one" -v a="$all" -v f="$best_floor" -v n="$(nproc)" 'BEGIN {
  printf "folder: 1 thread = %.2fx the floor (target 0.8x); %d threads = %.2fx 1 thread (target 1.8x)\n", o / f, n, a / o }'
if [ "$out_base" != "$out" ]; then
  saved=$out_base; out_base=$out
  measure "chaff --threads 1 -o DISKDIR" "$mb" "$chaff" --threads 1 filter -o "$out/filtered" "$dump/pages"
  measure "chaff --threads $(nproc) -o DISKDIR" "$mb" "$chaff" filter -o "$out/filtered" "$dump/pages"
  out_base=$saved
fi
# Start-up: dictionary + model load, paid once per process (best of $repeat).
echo "国务院常务会议研究部署" >"$out/one.txt"
best=9
for _ in $(seq 1 "$repeat"); do
  /usr/bin/time -f "%e %M" -o "$out/time.txt" "$chaff" -q filter "$out/one.txt" >/dev/null
  read -r secs rss <"$out/time.txt"
  best=$(awk -v a="$best" -v b="$secs" 'BEGIN { print (b < a ? b : a) }')
done
echo "start-up (one line)          ${best} s  peak RSS $((rss / 1024)) MB"
# JSONL: the same pages as records, one file.
python3 - "$dump/pages" "$out/dump.jsonl" <<'PY'
import json, os, sys
d, o = sys.argv[1:]
with open(o, "w", encoding="utf-8") as f:
    for i, n in enumerate(sorted(os.listdir(d))):
        f.write(json.dumps({"id": n, "text": open(os.path.join(d, n), encoding="utf-8").read()}, ensure_ascii=False) + "\n")
PY
jb=$(stat -c %s "$out/dump.jsonl")
measure "chaff --jsonl --threads 1" "$jb" "$chaff" --threads 1 filter --jsonl "$out/dump.jsonl"
one=$proc
measure "chaff --jsonl --threads $(nproc)" "$jb" "$chaff" filter --jsonl "$out/dump.jsonl"
all=$proc
awk -v o="$one" -v a="$all" -v f="$best_floor" -v n="$(nproc)" 'BEGIN {
  printf "jsonl: 1 thread = %.2fx the floor; %d threads = %.2fx 1 thread\n", o / f, n, a / o }'
if [ "${BIG:-0}" = 1 ]; then
  n=$(( (1000000000 + jb - 1) / jb ))
  for _ in $(seq 1 "$n"); do cat "$out/dump.jsonl"; done >"$out/big.jsonl"
  bb=$(stat -c %s "$out/big.jsonl")
  REPEAT=1 measure "chaff --jsonl ($(awk -v b="$bb" 'BEGIN { printf "%.2f GB", b / 1e9 }'))" "$bb" "$chaff" filter --jsonl "$out/big.jsonl"
  rm -f "$out/big.jsonl"
fi
# Training: the corpus train portion plus 2000 composed pages.
CHAFF_PAGES=2000 CHAFF_WORK=$out/train2000 CHAFF_BIN=$chaff \
  /usr/bin/time -f "%e %M" -o "$out/time.txt" "$root/training/build-model.sh" "$out/train2000.chaff" 2>/dev/null >/dev/null
read -r secs rss <"$out/time.txt"
paras=$("$chaff" inspect "$out/train2000.chaff" | head -1 | grep -o 'paragraphs [0-9]*' | awk '{ s += $2 } END { print s }')
echo "training (recipe, 2000 pages): ${secs} s incl. composing, peak RSS $((rss / 1024)) MB, $paras paragraphs"
(cd "$out/train2000" && /usr/bin/time -f "%e %M" -o "$out/time.txt" "$chaff" -q train -o "$out/t.chaff" corpus.tsv pages)
read -r secs rss <"$out/time.txt"
awk -v s="$secs" -v r="$rss" -v p="$paras" 'BEGIN { printf "training (chaff train only): %.2f s, %.0f paragraphs/s, peak RSS %.0f MB\n", s, p / s, r / 1024 }'

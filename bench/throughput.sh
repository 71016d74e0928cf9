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
measure() { # label, command...: wall seconds and peak RSS
  local label=$1; shift
  rm -rf "$out/filtered"
  /usr/bin/time -f "%e %M" -o "$out/time.txt" "$@" >/dev/null 2>"$out/stderr.txt"
  read -r secs rss <"$out/time.txt"
  awk -v l="$label" -v b="$mb" -v s="$secs" -v r="$rss" \
    'BEGIN { printf "%-22s %7.2f MB/s  %6.2f s  peak RSS %4.0f MB\n", l, b / 1e6 / s, s, r / 1024 }'
}
"$floor" "$dump/pages" | awk '{ printf "%-22s %7.2f MB/s  %6.2f s\n", "floor (jieba only)", $2, $4 }'
measure "chaff --threads 1" "$chaff" -q --threads 1 filter -o "$out/filtered" "$dump/pages"
measure "chaff --threads $(nproc)" "$chaff" -q filter -o "$out/filtered" "$dump/pages"
# Start-up: dictionary + model load, paid once per process.
echo "国务院常务会议研究部署" >"$out/one.txt"
/usr/bin/time -f "%e %M" -o "$out/time.txt" "$chaff" -q filter "$out/one.txt" >/dev/null
read -r secs rss <"$out/time.txt"
echo "start-up (one line)    ${secs} s  peak RSS $((rss / 1024)) MB"
# JSONL: the same pages as records, one file.
python3 - "$dump/pages" "$out/dump.jsonl" <<'PY'
import json, os, sys
d, o = sys.argv[1:]
with open(o, "w", encoding="utf-8") as f:
    for i, n in enumerate(sorted(os.listdir(d))):
        f.write(json.dumps({"id": n, "text": open(os.path.join(d, n), encoding="utf-8").read()}, ensure_ascii=False) + "\n")
PY
jb=$(stat -c %s "$out/dump.jsonl")
/usr/bin/time -f "%e %M" -o "$out/time.txt" "$chaff" -q filter --jsonl "$out/dump.jsonl" >/dev/null
read -r secs rss <"$out/time.txt"
awk -v b="$jb" -v s="$secs" -v r="$rss" 'BEGIN { printf "%-22s %7.2f MB/s  %6.2f s  peak RSS %4.0f MB\n", "chaff --jsonl (1 file)", b / 1e6 / s, s, r / 1024 }'
if [ "${BIG:-0}" = 1 ]; then
  n=$(( (1000000000 + jb - 1) / jb ))
  for _ in $(seq 1 "$n"); do cat "$out/dump.jsonl"; done >"$out/big.jsonl"
  bb=$(stat -c %s "$out/big.jsonl")
  /usr/bin/time -f "%e %M" -o "$out/time.txt" "$chaff" -q filter --jsonl "$out/big.jsonl" >/dev/null
  read -r secs rss <"$out/time.txt"
  awk -v b="$bb" -v s="$secs" -v r="$rss" 'BEGIN { printf "%-22s %7.2f MB/s  %6.2f s  peak RSS %4.0f MB (%.2f GB)\n", "chaff --jsonl (big)", b / 1e6 / s, s, r / 1024, b / 1e9 }'
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

#!/usr/bin/env bash
# Instruction counts and simulated cache misses (valgrind callgrind) of chaff filter
# --threads 1 next to the floor: a repeatable companion to throughput.sh, whose timings
# drift with this VM's load.
#   bench/instructions.sh          (N=300 pages of the bench dump; a few minutes)
# Counted: the floor program (read + jieba cut per line), and in chaff the thread that
# classifies (reading and writing have threads of their own) and, apart, the reader. Each
# program's fixed cost (dictionary, model, one-time tables) is measured on one page and
# subtracted.
# Instructions are not time: the cache is simulated too, with the last level set to this
# machine's L2 (a miss there costs an L3 access, tens of cycles), because both jieba's
# dictionary walk and chaff's token table are larger than L2. The simulation ignores
# prefetch hints, so chaff's table misses are counted as if never prefetched (an upper
# bound), and it knows nothing of TLBs, so huge pages make no difference to it.
set -euo pipefail
. "$(dirname "$0")/setup.sh"
n=${N:-300}
l2_sysfs=/sys/devices/system/cpu/cpu0/cache/index2
l2_kb=$(sed 's/K$//' "$l2_sysfs/size" 2>/dev/null || echo 1024)
l2_ways=$(cat "$l2_sysfs/ways_of_associativity" 2>/dev/null || echo 8)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/many" "$work/one"
find "$dump/pages" -type f | sort | sed -n "1,${n}p" | xargs cp -t "$work/many"
find "$work/many" -type f | sort | sed -n 1p | xargs cp -t "$work/one"
for s in many one; do
  pages_to_jsonl "$work/$s" "$work/$s.jsonl"
  pages_to_jsonl "$work/$s" "$work/$s.u.jsonl" ascii
done
bytes=$(du -sb "$work/many" | cut -f1)
one=$(du -sb "$work/one" | cut -f1)

# counts LABEL CMD...: "instructions L1-misses L2-misses" of the thread that ran chaff's
# worker loop (or of the whole program when no thread did: the floor has one thread).
counts() {
  local label=$1
  shift
  valgrind --tool=callgrind --separate-threads=yes --cache-sim=yes \
    --LL="$((l2_kb * 1024)),$l2_ways,64" --callgrind-out-file="$work/cg.$label" \
    "$@" >/dev/null 2>"$work/err.$label"
  local f files
  # The worker loop may be inlined into its thread's closure: look for what it calls, and
  # of the threads that name it, take the busiest.
  files=$(grep -l -e 'chaff::pipeline::Engine::work' -e 'chaff::pipeline::decide' \
    -e 'Featurizer::for_each_batch' "$work/cg.$label"-* || true)
  f=$(echo "${files:-$(ls "$work/cg.$label"-*)}" | while IFS= read -r g; do
    echo "$(grep -m1 '^summary' "$g" | awk '{ print $2 }') $g"
  done | sort -rn | head -n 1 | cut -d' ' -f2-)
  # events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw (see the file's "events:" line)
  grep -m1 '^summary' "$f" | awk '{ print $2, $6 + $7, $9 + $10 }'
}
# figures LABEL SUFFIX CMD...: instructions per byte, L1 and L2 misses per KB of CMD run
# on the pages past the first (CMD gets "$work/many$SUFFIX", then "$work/one$SUFFIX")
figures() {
  local label=$1 suffix=$2
  shift 2
  local m o
  m=$(counts "$label-many" "$@" "$work/many$suffix")
  o=$(counts "$label-one" "$@" "$work/one$suffix")
  awk -v m="$m" -v o="$o" -v b="$bytes" -v b1="$one" 'BEGIN {
    split(m, x, " "); split(o, y, " "); d = b - b1
    printf "%.2f %.2f %.2f\n", (x[1] - y[1]) / d, (x[2] - y[2]) / d * 1000, (x[3] - y[3]) / d * 1000 }'
}
# ratio FLOOR CHAFF: the floor's figure over chaff's
ratio() { awk -v f="$1" -v c="$2" 'BEGIN { printf "%.2fx", f / c }'; }
row() { printf '%-30s %14s %18s %18s\n' "$@"; }
read -r floor_i floor_l1 floor_l2 < <(figures floor "" "$floor")
awk -v b="$bytes" -v n="$n" -v l2="$l2_kb" 'BEGIN {
  printf "%d pages, %.1f MB; simulated L1 (host) and L2 (%d KB, as the last level)\n", n, b / 1e6, l2 }'
row "" "instr/byte" "L1 misses/KB" "L2 misses/KB"
row "floor (read + jieba cut)" "$floor_i" "$floor_l1" "$floor_l2"
# report LABEL SUFFIX CMD...: chaff's figures (SUFFIX .jsonl: the pages as one JSONL
# file; .u.jsonl: the same escaped), each with the floor's over chaff's
report() {
  local label=$1 ci c1 c2
  read -r ci c1 c2 < <(figures "$@")
  row "$label" "$ci ($(ratio "$floor_i" "$ci"))" "$c1 ($(ratio "$floor_l1" "$c1"))" \
    "$c2 ($(ratio "$floor_l2" "$c2"))"
}
report "chaff folder, worker thread" "" "$chaff" --threads 1 filter --force -o "$work/o"
report "chaff JSONL, worker thread" .jsonl "$chaff" --threads 1 filter --jsonl
# The same records written with every non-ASCII character as \uXXXX (per byte of text).
report "  ... written as \\uXXXX" .u.jsonl "$chaff" --threads 1 filter --jsonl
# The reader thread (opening, sniffing and chunking files) runs beside the worker: its cost
# is what a second worker shares a core with. Counted inside read_sources only (the same
# thread also loads the dictionary at start-up).
reader_instr() {
  valgrind --tool=callgrind --toggle-collect='chaff::pipeline::*read_sources' \
    --callgrind-out-file="$work/cg.reader" "$chaff" --threads 1 filter --force -o "$work/o" "$1" \
    >/dev/null 2>"$work/err.reader"
  grep -m1 '^summary' "$work/cg.reader" | awk '{ print $2 }'
}
rm_reader=$(reader_instr "$work/many")
ro_reader=$(reader_instr "$work/one")
row "chaff folder, reader thread" \
  "$(awk -v m="$rm_reader" -v o="$ro_reader" -v b="$bytes" -v b1="$one" \
    'BEGIN { printf "%.2f", (m - o) / (b - b1) }')" "" ""
echo "(in parentheses: the floor's figure over chaff's; above 1x chaff does less)"

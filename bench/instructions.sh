#!/usr/bin/env bash
# Instruction counts (valgrind callgrind) of chaff filter --threads 1 next to the floor:
# a repeatable companion to throughput.sh, whose timings drift with this VM's load.
#   bench/instructions.sh          (N=300 pages of the bench dump; a few minutes)
# Counted: the floor program (read + jieba cut per line), and in chaff only the thread that
# classifies (reading and writing have threads of their own). Each program's fixed cost
# (dictionary, model, one-time tables) is measured on one page and subtracted.
# Instructions are not time: jieba's dictionary walk misses cache far more than chaff's
# own work, so chaff's share of the time is below its share of the instructions.
set -euo pipefail
. "$(dirname "$0")/setup.sh"
n=${N:-300}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/many" "$work/one"
find "$dump/pages" -type f | sort | sed -n "1,${n}p" | xargs cp -t "$work/many"
find "$work/many" -type f | sort | sed -n 1p | xargs cp -t "$work/one"
for s in many one; do pages_to_jsonl "$work/$s" "$work/$s.jsonl"; done
bytes=$(du -sb "$work/many" | cut -f1)
one=$(du -sb "$work/one" | cut -f1)

# instr LABEL CMD...: instructions of the thread that ran chaff's worker loop (or of the
# whole program when no thread did: the floor has one thread).
instr() {
  local label=$1
  shift
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$work/cg.$label" \
    "$@" >/dev/null 2>"$work/err.$label"
  local f files
  files=$(grep -l 'chaff::pipeline::Engine::work' "$work/cg.$label"-* || true)
  f=$(echo "${files:-$(ls "$work/cg.$label"-*)}" | head -n 1)
  grep -m1 '^summary' "$f" | awk '{ print $2 }'
}
fmany=$(instr floor-many "$floor" "$work/many")
fone=$(instr floor-one "$floor" "$work/one")
report() { # LABEL MANY ONE: instructions per byte and the floor's over chaff's
  awk -v l="$1" -v m="$2" -v o="$3" -v fm="$fmany" -v fo="$fone" -v b="$bytes" -v b1="$one" 'BEGIN {
    c = (m - o) / (b - b1); f = (fm - fo) / (b - b1)
    printf "%-34s %6.1f instructions/byte   floor/chaff %.2fx\n", l, c, f / c }'
}
awk -v fm="$fmany" -v fo="$fone" -v b="$bytes" -v b1="$one" -v n="$n" 'BEGIN {
  printf "%d pages, %.1f MB\nfloor (read + jieba cut per line)  %6.1f instructions/byte\n", n, b / 1e6, (fm - fo) / (b - b1) }'
cm=$(instr folder-many "$chaff" --threads 1 filter -o "$work/o1" "$work/many")
co=$(instr folder-one "$chaff" --threads 1 filter -o "$work/o2" "$work/one")
report "chaff folder, worker thread" "$cm" "$co"
jm=$(instr jsonl-many "$chaff" --threads 1 filter --jsonl "$work/many.jsonl")
jo=$(instr jsonl-one "$chaff" --threads 1 filter --jsonl "$work/one.jsonl")
report "chaff JSONL, worker thread" "$jm" "$jo"

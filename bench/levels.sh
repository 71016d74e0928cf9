#!/usr/bin/env bash
# Output compression by codec and level (`--compress CODEC:LEVEL`): speed, output size and
# peak RSS of chaff filter on the bench dump, as one large stream (the dump as JSONL, to
# stdout) and as 4,000 small files (the pages into -o OUTDIR), at the default --threads.
#   bench/levels.sh            (about two minutes; ROUNDS=N runs each, best kept, default 2)
# MB/s are of uncompressed input over wall time, start-up included. Prints the README's
# table (Inputs, Compression levels).
set -euo pipefail
. "$(dirname "$0")/setup.sh"
[ -f "$out/dump.jsonl" ] || pages_to_jsonl "$dump/pages" "$out/dump.jsonl"
rounds=${ROUNDS:-2}
bytes=$(du -sb "$dump/pages" | cut -f1)
outdir=${OUT_BASE:-$([ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm/chaff-levels || echo "$out/levels")}
trap 'rm -rf "$outdir" "$out/levels.bin" "$out/levels.time"' EXIT
# best KIND HOW: "MB/s, output MB, peak RSS" of the best of $rounds runs (by wall time).
best() {
  local kind=$1 how=$2 t m size best_t=
  for _ in $(seq "$rounds"); do
    rm -rf "$outdir"
    if [ "$kind" = jsonl ]; then
      /usr/bin/time -f "%e %M" -o "$out/levels.time" \
        "$chaff" -q filter --jsonl --compress "$how" "$out/dump.jsonl" >"$out/levels.bin"
      size=$(stat -c %s "$out/levels.bin")
    else
      /usr/bin/time -f "%e %M" -o "$out/levels.time" \
        "$chaff" -q filter --compress "$how" -o "$outdir" "$dump/pages"
      size=$(du -sb "$outdir" | cut -f1)
    fi
    read -r t m <"$out/levels.time"
    if [ -z "$best_t" ] || awk -v a="$t" -v b="$best_t" 'BEGIN { exit !(a < b) }'; then
      best_t=$t
      best_line=$(awk -v b="$bytes" -v t="$t" -v s="$size" -v m="$m" \
        'BEGIN { printf "%.1f, %.1f, %d MB", b / 1e6 / t, s / 1e6, m / 1024 }')
    fi
  done
  echo "$best_line"
}
echo "| \`--compress\` | JSONL: MB/s, output MB, peak RSS | folder: MB/s, output MB, peak RSS |"
echo "|---|---|---|"
for how in none gz:1 gz:6 gz:9 zst:1 zst:3 zst:19 bz2:1 bz2:9 xz:0 xz:6; do
  j=$(best jsonl "$how")
  # bzip2 into 4,000 files is bound by the codec alone, as at level 9 (see Throughput).
  case $how in bz2:*) f=- ;; *) f=$(best folder "$how") ;; esac
  echo "| \`$how\` | $j | $f |"
done

#!/usr/bin/env bash
# Many small files: files/s, MB/s and peak RSS of chaff filter -o over a tree of N files
# (default 200,000: the bench dump's pages over and over, 1,000 a folder), and the peak RSS
# each file adds (against a run over the first folder alone). Folders are walked as the
# run reaches them (docs/inputs.md, Streaming), so that should be about nothing; until session 15 the
# file list was held up front (240 bytes a file). Then the same files named one by one in
# a --files-from list, whose paths a run holds (a path's bytes and a word since session 26;
# about 110 bytes a path before, 190 under -o). And a --resume of the finished run.
#   bench/files.sh [N]          (a minute or two; the tree goes to /dev/shm when there is one)
set -euo pipefail
. "$(dirname "$0")/setup.sh"
n=${1:-200000}
base=$([ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm/chaff-files || echo "$out/files")
tree=$base/tree-$n
if [ ! -d "$tree" ]; then
  rm -rf "$base"
  python3 - "$dump/pages" "$tree" "$n" <<'PY'
import os, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
pages = sorted(os.listdir(src))
texts = [open(os.path.join(src, p), "rb").read() for p in pages]
for i in range(n):
    d = os.path.join(dst, f"part-{i // 1000:05d}")
    if i % 1000 == 0:
        os.makedirs(d)
    with open(os.path.join(d, f"{i:08d}.txt"), "wb") as f:
        f.write(texts[i % len(texts)])
PY
fi
bytes=$(du -sb "$tree" | cut -f1)
# run LABEL ARGS...: "files/s MB/s peak_RSS_KB" of one chaff run over ARGS.
run() {
  local label=$1; shift
  rm -rf "$base/out"
  /usr/bin/time -f "%e %M" -o "$base/time.txt" "$chaff" "$@" >/dev/null 2>"$base/stderr.txt"
  read -r secs rss <"$base/time.txt"
  echo "$label $secs $rss"
}
read -r _ s_one rss_one < <(run one filter -o "$base/out" "$tree/part-00000")
read -r _ s_all rss_all < <(run all filter -o "$base/out" "$tree")
# --resume of that finished run: its journal read back, every output looked at, nothing
# redone.
/usr/bin/time -f "%e %M" -o "$base/time.txt" "$chaff" filter --resume -o "$base/out" "$tree" \
  2>"$base/stderr.txt"
read -r s_res rss_res <"$base/time.txt"
journal=$(stat -c %s "$base/out/.chaff-journal.jsonl")
read -r _ s_tag rss_tag < <(run tag tag "$tree")
find "$tree" -type f | sort >"$base/list"
path_bytes=$(wc -c <"$base/list")
read -r _ s_lo rss_lo < <(run list-o filter -o "$base/out" --files-from "$base/list")
read -r _ s_lt rss_lt < <(run list-tag tag --files-from "$base/list")
awk -v n="$n" -v b="$bytes" -v s="$s_all" -v r="$rss_all" -v r1="$rss_one" -v st="$s_tag" -v rt="$rss_tag" 'BEGIN {
  printf "%d files, %.1f MB\n", n, b / 1e6
  printf "filter -o OUTDIR: %.0f files/s, %.1f MB/s, peak RSS %.0f MB (%.0f bytes a file over 1,000 files'"'"' %.0f MB)\n", n / s, b / 1e6 / s, r / 1024, (r - r1) * 1024 / (n - 1000), r1 / 1024
  printf "tag > /dev/null: %.0f files/s, peak RSS %.0f MB (%.0f bytes a file)\n", n / st, rt / 1024, (rt - r1) * 1024 / (n - 1000)
}'
awk -v n="$n" -v s="$s_res" -v r="$rss_res" -v r1="$rss_one" -v j="$journal" 'BEGIN {
  printf "--resume of the finished run: %.1f s, peak RSS %.0f MB (%.0f bytes a file); journal %.1f MB (%.0f bytes a file)\n", s, r / 1024, (r - r1) * 1024 / n, j / 1e6, j / n
}'
awk -v n="$n" -v pb="$path_bytes" -v r="$rss_all" -v rt="$rss_tag" -v lo="$rss_lo" -v lt="$rss_lt" -v so="$s_lo" -v st="$s_lt" 'BEGIN {
  printf "the same files listed (--files-from, paths of %.0f bytes with their newline):\n", pb / n
  printf "  filter -o OUTDIR: %.0f files/s, peak RSS %.0f MB (%.0f bytes a path over the folder run)\n", n / so, lo / 1024, (lo - r) * 1024 / n
  printf "  tag > /dev/null: %.0f files/s, peak RSS %.0f MB (%.0f bytes a path over the folder run)\n", n / st, lt / 1024, (lt - rt) * 1024 / n
}'
rm -rf "$base/out"

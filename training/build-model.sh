#!/usr/bin/env bash
# Rebuilds the default model, models/default.chaff, from ../shared (train portions only).
#
#   training/build-model.sh [OUT_MODEL]      (default: models/default.chaff)
#
# Steps (all deterministic; generated data goes to training/out/ or $CHAFF_WORK, never
# committed):
#  1. corpus.tsv: every line of ../shared/corpus/news/*/train.txt labelled `news`, every
#     line of ../shared/corpus/filler/*/train.txt labelled `filler`.
#  2. pages/: 1000 labelled pages composed by ../shared/tools/compose_pages.py from the
#     train files only (--seed 1, all five layouts), so the model sees page chrome,
#     bullets, indentation, headlines and filler runs as they appear in dumps.
#  3. chaff train on both.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
shared=${CHAFF_SHARED:-$root/../shared}
out_model=$(realpath -m "${1:-$root/models/default.chaff}")
work=$(realpath -m "${CHAFF_WORK:-$root/training/out}")
mkdir -p "$work"
: > "$work/corpus.tsv.tmp"
for f in "$shared"/corpus/news/*/train.txt; do
  awk 'NF { print "news\t" $0 }' "$f" >> "$work/corpus.tsv.tmp"
done
for f in "$shared"/corpus/filler/*/train.txt; do
  awk 'NF { print "filler\t" $0 }' "$f" >> "$work/corpus.tsv.tmp"
done
mv "$work/corpus.tsv.tmp" "$work/corpus.tsv"

rm -rf "$work/pages"
python3 "$shared/tools/compose_pages.py" \
  --news "$shared"/corpus/news/*/train.articles.jsonl \
  --filler "$shared"/corpus/filler/*/train.txt \
  --pages "${CHAFF_PAGES:-1000}" --seed 1 \
  --layouts seed,indented,middle,bare,interleaved \
  --out "$work/pages"

chaff=${CHAFF_BIN:-$root/target/release/chaff}
if [ ! -x "$chaff" ]; then
  (cd "$root" && cargo build --release --quiet)
fi
# Inputs are named relative to the work folder, so the model's recorded provenance (and
# hence its bytes) is the same wherever the recipe runs.
cd "$work"
"$chaff" train -o "$out_model" corpus.tsv pages

#!/usr/bin/env bash
# Accuracy on layouts no training page has: ../shared/eval/dev rewritten three ways, labels
# carried to the new line numbers: every blank run doubled (double-spaced articles),
# every blank run made one blank line, every blank line removed (paragraphs and filler
# run line after line). Prints chaff eval's summary line for each.
#   bench/unseen-layouts.sh [MODEL]      (under a minute; pages in bench/out/unseen/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${CHAFF_SHARED:-$root/../shared}
out=$root/bench/out/unseen
chaff=$root/target/release/chaff
model=(${1:+-m "$1"})
[ -x "$chaff" ] || (cd "$root" && cargo build --release --quiet)
for mode in double single flat; do
  if [ ! -f "$out/$mode/labels.tsv" ]; then
    rm -rf "${out:?}/$mode"
    python3 - "$shared/eval/dev" "$out/$mode" "$mode" <<'PY'
import csv, os, sys
src, dst, mode = sys.argv[1:]
os.makedirs(f"{dst}/pages")
labels = {}
with open(f"{src}/labels.tsv", encoding="utf-8") as f:
    for r in csv.DictReader(f, delimiter="\t"):
        labels[(r["page"], int(r["line"]))] = r["label"]
with open(f"{dst}/labels.tsv.tmp", "w", encoding="utf-8") as lab:
    lab.write("page\tline\tlabel\n")
    for page in sorted(os.listdir(f"{src}/pages")):
        with open(f"{src}/pages/{page}", encoding="utf-8") as f:
            lines = f.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        kept, blanks = [], 0
        for i, line in enumerate(lines, 1):
            if not line.strip():
                blanks += 1
                continue
            if blanks and kept:
                kept += [("", None)] * {"double": 2 * blanks, "single": 1, "flat": 0}[mode]
            blanks = 0
            kept.append((line, labels.get((page, i))))
        with open(f"{dst}/pages/{page}", "w", encoding="utf-8") as f:
            for n, (line, label) in enumerate(kept, 1):
                f.write(line + "\n")
                if label:
                    lab.write(f"{page}\t{n}\t{label}\n")
os.rename(f"{dst}/labels.tsv.tmp", f"{dst}/labels.tsv")
PY
  fi
  printf '%-7s %s\n' "$mode" "$("$chaff" eval -q "${model[@]}" "$out/$mode" | head -1)"
done

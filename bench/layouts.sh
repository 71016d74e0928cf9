#!/usr/bin/env bash
# Accuracy per page layout: for each layout compose_pages.py can make (seed, indented,
# middle, bare, interleaved), 200 pages composed from the corpus *dev* files only (never
# trained on; eval/dev itself mixes the first four layouts and has no interleaved page),
# and chaff's news_loss / filler_leak on them at the model's threshold and a few others.
#   bench/layouts.sh [MODEL]      (about a minute; results in bench/out/layouts/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${CHAFF_SHARED:-$root/../shared}
out=$root/bench/out/layouts
chaff=$root/target/release/chaff
model=(${1:+-m "$1"})
mkdir -p "$out"
[ -x "$chaff" ] || (cd "$root" && cargo build --release --quiet)
news=("$shared"/corpus/news/*/dev.articles.jsonl)
filler=("$shared"/corpus/filler/*/dev.txt)
for layout in seed indented middle bare interleaved; do
  if [ ! -f "$out/$layout/labels.tsv" ]; then
    rm -rf "${out:?}/$layout"
    python3 "$shared/tools/compose_pages.py" --news "${news[@]}" --filler "${filler[@]}" \
      --pages 200 --seed 3 --layouts "$layout" --out "$out/$layout" >/dev/null
  fi
  "$chaff" -q tag --json "${model[@]}" "$out/$layout/pages" >"$out/$layout.tag.jsonl"
done
python3 - "$out" <<'PY'
import csv, json, sys
out = sys.argv[1]
thresholds = [0.01, 0.02, 0.05, 0.1, 0.2]
print("| layout | lines | at the model's threshold: news_loss / filler_leak | "
      + " | ".join(f"t={t}" for t in thresholds) + " |")
print("|---|---|---|" + "---|" * len(thresholds))
for layout in ["seed", "indented", "middle", "bare", "interleaved"]:
    with open(f"{out}/{layout}/labels.tsv", encoding="utf-8") as f:
        gold = {(r["page"], int(r["line"])): r["label"] for r in csv.DictReader(f, delimiter="\t")}
    rows = []
    for line in open(f"{out}/{layout}.tag.jsonl", encoding="utf-8"):
        r = json.loads(line)
        page = r["path"].rsplit("/", 1)[-1]
        rows.append((r["scores"]["news"], r["keep"], gold[(page, r["line"])] == "news"))
    news = sum(1 for _, _, n in rows if n) or 1
    filler = sum(1 for _, _, n in rows if not n) or 1
    def cell(kept):
        lost = sum(1 for (p, k, n), keep in zip(rows, kept) if n and not keep)
        leaked = sum(1 for (p, k, n), keep in zip(rows, kept) if not n and keep)
        return f"{100 * lost / news:.2f} % / {100 * leaked / filler:.2f} %"
    cells = [cell([k for _, k, _ in rows])]
    cells += [cell([p >= t for p, _, _ in rows]) for t in thresholds]
    print(f"| {layout} | {len(rows)} | " + " | ".join(cells) + " |")
PY

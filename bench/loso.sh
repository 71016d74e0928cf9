#!/usr/bin/env bash
# Leave-one-source-out: for every corpus source X, train chaff (and the scikit-learn and
# fastText baselines) on the train files of all other sources plus pages composed from
# them, then evaluate on pages composed from X (its dev portion, or its train portion when
# it has no dev one: it was left out of training) mixed with the other class's dev files.
# It estimates how chaff does on an outlet or platform it has never seen. With TUNE=1,
# chaff's context scaling and threshold are tuned (--tune-on) on pages composed from the
# dev files of the other sources only (results in bench/out/loso-tuned/).
#   bench/loso.sh            (about 15-25 minutes on 2 cores; results in bench/out/loso/)
# Set BASELINES=0 to run chaff only.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${CHAFF_SHARED:-$root/../shared}
tune=(); suffix=""
if [ "${TUNE:-}" = 1 ]; then tune=(--tune-on tune); suffix=-tuned; fi
out=$root/bench/out/loso$suffix
chaff=$root/target/release/chaff
mkdir -p "$out"
[ -x "$chaff" ] || (cd "$root" && cargo build --release --quiet)
if [ "${BASELINES:-1}" = 1 ]; then
  "$root/bench/venv.sh"
fi
portion() { # the dev file of a source, or its train file if it has no dev portion
  if [ -s "$1/dev.txt" ]; then echo "$1/dev.txt"; else echo "$1/train.txt"; fi
}
articles() {
  if [ -s "$1/dev.articles.jsonl" ]; then echo "$1/dev.articles.jsonl"; else echo "$1/train.articles.jsonl"; fi
}
for src in "$shared"/corpus/news/* "$shared"/corpus/filler/*; do
  name=$(basename "$src"); kind=$(basename "$(dirname "$src")")
  fold=$out/$name
  [ -f "$fold/results.json" ] && continue
  mkdir -p "$fold"
  # Training data without X.
  : >"$fold/corpus.tsv"
  news_train=(); filler_train=(); news_tune=(); filler_tune=()
  for f in "$shared"/corpus/news/*; do
    [ "$f" = "$src" ] && continue
    awk 'NF { print "news\t" $0 }' "$f/train.txt" >>"$fold/corpus.tsv"
    news_train+=("$f/train.articles.jsonl")
    [ -s "$f/dev.articles.jsonl" ] && news_tune+=("$f/dev.articles.jsonl")
  done
  for f in "$shared"/corpus/filler/*; do
    [ "$f" = "$src" ] && continue
    awk 'NF { print "filler\t" $0 }' "$f/train.txt" >>"$fold/corpus.tsv"
    filler_train+=("$f/train.txt")
    [ -s "$f/dev.txt" ] && filler_tune+=("$f/dev.txt")
  done
  rm -rf "$fold/pages" "$fold/eval" "$fold/tune"
  python3 "$shared/tools/compose_pages.py" --news "${news_train[@]}" --filler "${filler_train[@]}" \
    --pages 1000 --seed 1 --layouts seed,indented,middle,bare,interleaved --out "$fold/pages" >/dev/null
  if [ ${#tune[@]} -gt 0 ]; then
    python3 "$shared/tools/compose_pages.py" --news "${news_tune[@]}" --filler "${filler_tune[@]}" \
      --pages 1000 --seed 4 --layouts seed,indented,middle,bare,interleaved --out "$fold/tune" >/dev/null
  fi
  # Evaluation pages built around X.
  if [ "$kind" = news ]; then
    ev_news=("$(articles "$src")"); ev_filler=()
    for f in "$shared"/corpus/filler/*; do ev_filler+=("$(portion "$f")"); done
  else
    ev_filler=("$(portion "$src")"); ev_news=()
    for f in "$shared"/corpus/news/*; do ev_news+=("$(articles "$f")"); done
  fi
  python3 "$shared/tools/compose_pages.py" --news "${ev_news[@]}" --filler "${ev_filler[@]}" \
    --pages 150 --seed 2 --layouts seed,indented,middle,bare,interleaved --out "$fold/eval" >/dev/null
  (cd "$fold" && "$chaff" -q train -o model.chaff "${tune[@]}" corpus.tsv pages 2>/dev/null)
  "$chaff" eval --json -m "$fold/model.chaff" "$fold/eval" >"$fold/chaff.json"
  "$chaff" eval --json --no-context -m "$fold/model.chaff" "$fold/eval" >"$fold/chaff-nocontext.json"
  if [ "${BASELINES:-1}" = 1 ]; then
    "$root/bench/out/venv/bin/python" "$root/bench/baseline.py" --train-tsv "$fold/corpus.tsv" \
      --train-pages "$fold/pages" --eval "$name=$fold/eval" >"$fold/baselines.json"
  else
    echo '{}' >"$fold/baselines.json"
  fi
  python3 - "$fold" "$name" "$kind" <<'PY'
import json, sys
fold, name, kind = sys.argv[1:]
c = json.load(open(f"{fold}/chaff.json")); n = json.load(open(f"{fold}/chaff-nocontext.json"))
b = json.load(open(f"{fold}/baselines.json"))
r = {"source": name, "kind": kind, "lines": c["lines"],
     "chaff": [c["news_loss"], c["filler_leak"]], "chaff_no_context": [n["news_loss"], n["filler_leak"]]}
for k, v in b.items():
    r[k] = [v[name]["news_loss"], v[name]["filler_leak"]]
json.dump(r, open(f"{fold}/results.json", "w"))
PY
  echo "done: $name" >&2
done
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
rows = [json.load(open(os.path.join(out, d, "results.json"))) for d in sorted(os.listdir(out))
        if os.path.exists(os.path.join(out, d, "results.json"))]
systems = ["chaff", "chaff_no_context", "sklearn_multinomialnb", "fasttext"]
print("| held-out source | class | lines | " + " | ".join(systems) + " |")
print("|---|---|---|" + "---|" * len(systems))
for r in sorted(rows, key=lambda r: (r["kind"] != "news", r["source"])):
    cells = []
    for s in systems:
        v = r.get(s)
        cells.append("-" if v is None else f"loss {100*v[0]:.2f}% / leak {100*v[1]:.2f}%")
    print(f"| {r['source']} | {r['kind']} | {r['lines']} | " + " | ".join(cells) + " |")
PY

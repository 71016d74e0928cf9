#!/usr/bin/env bash
# One command: chaff's default model next to jieba + scikit-learn MultinomialNB and
# jieba + fastText (wordNgrams 2, 10 epochs), trained on the same data, on
# ../shared/eval/dev and ../shared/seed.
#   bench/baselines.sh
# The Python packages go into bench/out/venv (bench/venv.sh; never used by the tests).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${CHAFF_SHARED:-$root/../shared}
out=$root/bench/out
mkdir -p "$out"
"$root/bench/venv.sh"
# The training data of the default model.
CHAFF_WORK="$out/train" "$root/training/build-model.sh" "$out/default.chaff" >/dev/null 2>&1
cmp -s "$out/default.chaff" "$root/models/default.chaff" || echo "note: models/default.chaff is stale" >&2
chaff=$root/target/release/chaff
echo "== chaff (default model) =="
for set in dev=eval/dev seed=seed; do
  name=${set%%=*}; dir=$shared/${set#*=}
  printf '%-5s ' "$name"; "$chaff" eval "$dir" | head -1
  printf '%-5s ' "$name"; "$chaff" eval --no-context "$dir" | head -1 | sed 's/^/(no context) /'
done
echo "== jieba + scikit-learn MultinomialNB and jieba + fastText (same data) =="
"$out/venv/bin/python" "$root/bench/baseline.py" --train-tsv "$out/train/corpus.tsv" \
  --train-pages "$out/train/pages" --eval dev="$shared/eval/dev" seed="$shared/seed"

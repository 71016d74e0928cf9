#!/usr/bin/env bash
# The baselines' Python packages, in a throwaway virtualenv under bench/out (never used by
# the tests). numpy < 2 because fasttext's predict does not support numpy 2.
set -euo pipefail
venv=$(cd "$(dirname "$0")" && pwd)/out/venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! "$venv/bin/python" -c "import jieba, sklearn, fasttext" 2>/dev/null; then
  "$venv/bin/pip" install --quiet jieba scikit-learn 'numpy<2' fasttext-wheel
fi

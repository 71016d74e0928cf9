#!/usr/bin/env bash
# Spark at scale-out, on the real engine: installs pyspark (pinned) from PyPI into a
# throwaway virtualenv, runs examples/spark/chaff_spark.py in local mode with 2 executor
# threads over ~1,200 documents in 4 partitions (the binary shipped with --files), and
# requires the output, in partition order, to equal single-process `chaff filter --jsonl`
# record for record. Skips (exit 0, loudly) only when PyPI cannot be reached.
#   CHAFF=target/release/chaff bash tests/ecosystem/spark.sh
set -euo pipefail
. "$(dirname "$0")/common.sh"
command -v java >/dev/null || { echo "FAIL: spark test needs Java (17 is on the machine)"; exit 1; }
# SPARK_VENV: reuse a virtualenv that already has the package (development only).
python_venv spark "$T" "${SPARK_VENV:-}" pyspark==4.3.0
python3 - "$SHARED/eval/dev/pages" "$T/dump.jsonl" <<'PY'
import json, os, sys
d, out = sys.argv[1:]
names = sorted(os.listdir(d))
with open(out, "w", encoding="utf-8") as f:
    for copy in range(3):
        for n in names:
            text = open(os.path.join(d, n), encoding="utf-8").read()
            f.write(json.dumps({"id": f"{copy}-{n}", "text": text, "copy": copy}, ensure_ascii=False) + "\n")
    f.write(json.dumps({"id": "all-filler", "text": "哈哈哈哈笑死我了[哈哈][哈哈]\n点赞 转发 评论"}, ensure_ascii=False) + "\n")
PY
cp "$CHAFF" "$T/chaff"
export PYSPARK_PYTHON="$T/venv/bin/python"
"$T/venv/bin/spark-submit" --master 'local[2]' --conf spark.ui.enabled=false \
  --conf spark.driver.host=127.0.0.1 --files "$T/chaff" \
  "$root/examples/spark/chaff_spark.py" "$T/dump.jsonl" "$T/out" 4 >"$T/spark.log" 2>&1 ||
  { tail -40 "$T/spark.log"; echo "FAIL: spark job"; exit 1; }
parts=$(ls "$T"/out/part-* | wc -l)
cat "$T"/out/part-* >"$T/spark.jsonl"
"$CHAFF" -q filter --jsonl "$T/dump.jsonl" >"$T/single.jsonl"
records=$(wc -l <"$T/single.jsonl")
if ! cmp -s "$T/spark.jsonl" "$T/single.jsonl"; then
  diff <(head -c 2000 "$T/spark.jsonl") <(head -c 2000 "$T/single.jsonl") | head -5
  echo "FAIL: Spark output ($(wc -l <"$T/spark.jsonl") records) differs from single-process chaff ($records)"; exit 1
fi
[ "$records" -ge 1000 ] || { echo "FAIL: only $records records"; exit 1; }
echo "ok: Spark local[2], $parts partitions: $records records identical to single-process chaff filter --jsonl"

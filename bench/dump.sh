# Sourced by the bench scripts (needs $shared and $out): the bench dump, composed pages
# from ../shared (train files only, seed 7) under $out/dump, built once; and
# pages_to_jsonl DIR OUT, the same pages as JSONL records ({"id": file name, "text"}).
dump=$out/dump
if [ ! -d "$dump/pages" ]; then
  python3 "$shared/tools/compose_pages.py" \
    --news "$shared"/corpus/news/*/train.articles.jsonl \
    --filler "$shared"/corpus/filler/*/train.txt \
    --pages "${PAGES:-4000}" --seed 7 --layouts seed,indented,middle,bare,interleaved \
    --out "$dump" >/dev/null
fi
pages_to_jsonl() {
  python3 - "$1" "$2" <<'PY'
import json, os, sys
d, o = sys.argv[1:]
with open(o, "w", encoding="utf-8") as f:
    for n in sorted(os.listdir(d)):
        f.write(json.dumps({"id": n, "text": open(os.path.join(d, n), encoding="utf-8").read()}, ensure_ascii=False) + "\n")
PY
}

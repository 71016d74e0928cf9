# Sourced by the bench scripts: paths, release builds of chaff and the floor program
# ($chaff, $floor), the bench dump (composed pages from ../shared, train files only,
# seed 7, under $out/dump, built once), and pages_to_jsonl DIR OUT, the same pages as
# JSONL records ({"id": file name, "text"}).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${CHAFF_SHARED:-$root/../shared}
out=$root/bench/out
mkdir -p "$out"
(cd "$root" && cargo build --release --quiet && cargo build --release --quiet --example floor)
chaff=$root/target/release/chaff
floor=$root/target/release/examples/floor
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

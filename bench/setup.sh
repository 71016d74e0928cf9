# Sourced by the bench scripts: paths, release builds of chaff and the floor program
# ($chaff, $floor), the bench dump (composed pages from ../shared, train files only,
# seed 7, under $out/dump, built once), pages_to_jsonl DIR OUT [ascii], the same pages as
# JSONL records ({"id": file name, "text"}), and pages_to_wet DIR OUT, the same pages as a
# gzipped WET file (conversion records, a gzip member each, as Common Crawl's).
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
  python3 - "$@" <<'PY'
import json, os, sys
d, o = sys.argv[1:3]
# "ascii": every non-ASCII character as \uXXXX, as Python's json.dumps writes by default.
ascii = sys.argv[3:] == ["ascii"]
with open(o, "w", encoding="utf-8") as f:
    for n in sorted(os.listdir(d)):
        f.write(json.dumps({"id": n, "text": open(os.path.join(d, n), encoding="utf-8").read()}, ensure_ascii=ascii) + "\n")
PY
}
pages_to_wet() {
  python3 - "$1" "$2" <<'PY'
import base64, gzip, hashlib, os, sys
d, o = sys.argv[1:]
with open(o, "wb") as f:
    for i, n in enumerate(sorted(os.listdir(d))):
        body = open(os.path.join(d, n), "rb").read()
        digest = base64.b32encode(hashlib.sha1(body).digest()).decode()
        head = ("WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: http://example.com/%s\r\n"
                "WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-%012d>\r\n"
                "WARC-Block-Digest: sha1:%s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
                % (n, i, digest, len(body)))
        f.write(gzip.compress(head.encode() + body + b"\r\n\r\n", 6, mtime=0))
PY
}

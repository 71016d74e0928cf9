#!/usr/bin/env bash
# WARC interoperability, checked with the web-archiving world's reference library:
# installs warcio (pinned) from PyPI into a throwaway virtualenv, writes a WET file with
# warcio's own writer (gzip, a member per record, as Common Crawl ships them: a warcinfo
# record, the dev pages as conversion records, a metadata record, an all-filler page),
# filters it with `chaff filter --warc -o`, and requires of the output:
#   - `warcio check`: every record's digest holds;
#   - `warcio index`: every record found at its offset, each readable alone (a member
#     per record);
#   - records in input order, the all-filler page left out, warcinfo and metadata
#     records unchanged, and each conversion record's text equal to
#     `chaff filter --jsonl` of the same page.
# Skips (exit 0, loudly) only when PyPI cannot be reached.
#   CHAFF=target/release/chaff bash tests/ecosystem/warc.sh
set -euo pipefail
. "$(dirname "$0")/common.sh"
# WARC_VENV: reuse a virtualenv that already has the package (development only).
python_venv warcio "$T" "${WARC_VENV:-}" warcio==1.8.1
mkdir -p "$T/in"
"$T/venv/bin/python" - "$SHARED/eval/dev/pages" "$T/in/dump.warc.wet.gz" "$T/dump.jsonl" <<'PY'
import io, json, os, sys
from warcio.warcwriter import WARCWriter
pages, out, jsonl = sys.argv[1:]
filler = "哈哈哈哈笑死我了[哈哈][哈哈]\n点赞 转发 评论\n"
with open(out, "wb") as f, open(jsonl, "w", encoding="utf-8") as j:
    w = WARCWriter(f, gzip=True)
    w.write_record(w.create_warcinfo_record("dump.warc.wet.gz", {"software": "chaff-test"}))
    docs = [(n, open(os.path.join(pages, n), encoding="utf-8").read()) for n in sorted(os.listdir(pages))]
    docs.append(("filler", filler))
    for i, (name, text) in enumerate(docs):
        uri = f"http://example.com/{name}"
        body = text.encode("utf-8")
        rec = w.create_warc_record(uri, "conversion", payload=io.BytesIO(body), length=len(body),
                                   warc_content_type="text/plain")
        w.write_record(rec)
        j.write(json.dumps({"id": uri, "text": text}, ensure_ascii=False) + "\n")
        if i == 3:
            meta = b"fetchTimeMs: 12\r\n"
            w.write_record(w.create_warc_record(uri, "metadata", payload=io.BytesIO(meta), length=len(meta),
                                                warc_content_type="application/warc-fields"))
PY
"$T/venv/bin/warcio" check "$T/in/dump.warc.wet.gz" >/dev/null || { echo "FAIL: the test's own input does not check"; exit 1; }
"$CHAFF" -q filter --warc -o "$T/out" "$T/in"
"$CHAFF" -q filter --jsonl "$T/dump.jsonl" >"$T/expected.jsonl"
"$T/venv/bin/warcio" check -v "$T/out/dump.warc.wet.gz" >"$T/check.log" 2>&1 ||
  { cat "$T/check.log"; echo "FAIL: warcio check"; exit 1; }
"$T/venv/bin/warcio" index -f offset,warc-type,warc-target-uri "$T/out/dump.warc.wet.gz" >"$T/index.jsonl"
"$T/venv/bin/python" - "$T/in/dump.warc.wet.gz" "$T/out/dump.warc.wet.gz" "$T/expected.jsonl" "$T/index.jsonl" <<'PY'
import json, sys
from warcio.archiveiterator import ArchiveIterator
src, out, expected, index = sys.argv[1:]

def read(path):
    with open(path, "rb") as f:
        return [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"),
                 r.rec_headers.get_header("WARC-Record-ID"), r.content_stream().read(),
                 r.rec_headers.headers) for r in ArchiveIterator(f)]

inp, got = read(src), read(out)
want = {}
for line in open(expected, encoding="utf-8"):
    r = json.loads(line)
    want[r["id"]] = r["text"]
conv = [r for r in got if r[0] == "conversion"]
assert [r[1] for r in conv] == list(want), "conversion records in input order, empty ones left out"
assert "http://example.com/filler" not in want
for t, uri, rid, body, _ in conv:
    assert body.decode("utf-8") == want[uri], uri
others_in = [r for r in inp if r[0] != "conversion"]
others_out = [r for r in got if r[0] != "conversion"]
assert [r[0] for r in others_out] == ["warcinfo", "metadata"], [r[0] for r in others_out]
assert others_in == others_out, "warcinfo and metadata records unchanged"
ids_in = [r[2] for r in inp if r[1] in want or r[0] != "conversion"]
assert [r[2] for r in got] == ids_in, "record ids kept, in order"
# A member per record: each record read alone from its indexed offset.
rows = [json.loads(l) for l in open(index, encoding="utf-8")]
assert len(rows) == len(got), (len(rows), len(got))
with open(out, "rb") as f:
    for row, rec in zip(rows, got):
        f.seek(int(row["offset"]))
        r = next(iter(ArchiveIterator(f)))
        assert (r.rec_type, r.content_stream().read()) == (rec[0], rec[3]), row
print(f"warc: {len(got)} records ({len(conv)} conversions) check, index and read back at their offsets")
PY

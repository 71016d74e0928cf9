#!/usr/bin/env bash
# Runs each fuzz target for SECONDS (default 600) and prints executions and findings.
# Needs cargo-fuzz (`cargo install cargo-fuzz`); on a stable toolchain RUSTC_BOOTSTRAP
# lets it pass the sanitizer flags. Seeds come from tests/data and the shared seed page;
# crashes land in fuzz/artifacts/TARGET/ and become regression tests in tests/.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${1:-600}
export RUSTC_BOOTSTRAP=1
for t in reader warc parquet model_loader writers json unxz streams json_array; do
  mkdir -p "corpus/$t"
done
cp ../tests/data/*.txt corpus/reader/ 2>/dev/null || true
[ -f ../../shared/seed/page.txt ] && cp ../../shared/seed/page.txt corpus/reader/seed.txt
# The page with classic Mac OS line ends (\r alone), read line by line too.
tr '\n' '\r' <../tests/data/sample_page.txt >corpus/reader/sample.cr.txt
# Compressed seeds (the first byte picks the target's mode): the decoders' paths too.
{ printf '\000'; gzip -c ../tests/data/sample_page.txt; } >corpus/reader/sample.gz.seed
if command -v zstd >/dev/null; then
  { printf '\000'; zstd -q -c ../tests/data/sample_page.txt; } >corpus/reader/sample.zst.seed
fi
if command -v bzip2 >/dev/null; then
  { printf '\000'; bzip2 -c ../tests/data/sample_page.txt; } >corpus/reader/sample.bz2.seed
fi
if command -v xz >/dev/null; then
  { printf '\000'; xz -c ../tests/data/sample_page.txt; } >corpus/reader/sample.xz.seed
fi
# No lz4 tool needed: chaff's own lz4 output of the page's kept lines.
{ printf '\000'; (cd .. && env -u RUSTC_BOOTSTRAP cargo run --release -q -- -q filter --compress lz4 tests/data/sample_page.txt); } >corpus/reader/sample.lz4.seed
# WARC seeds: a WET record holding the sample page, then a warcinfo record (CRLF), and
# the same with bare LF framing.
page=../tests/data/sample_page.txt
n=$(wc -c <"$page")
{ printf '\003WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Record-ID: <urn:x:1>\r\nContent-Length: %d\r\n\r\n' "$n"
  cat "$page"; printf '\r\n\r\nWARC/1.1\r\nWARC-Type: warcinfo\r\nContent-Length: 3\r\n\r\nabc\r\n\r\n'; } >corpus/warc/wet.seed
{ printf '\000WARC/1.0\nWARC-Type: conversion\nWARC-Block-Digest: sha1:X\nContent-Length: %d\n\n' "$n"
  cat "$page"; } >corpus/warc/lf.seed
# A small model (the default one is larger than -max_len) as the loader's seed.
# (Without RUSTC_BOOTSTRAP, which would make cargo rebuild the project's release build.)
(cd .. && env -u RUSTC_BOOTSTRAP cargo run --release -q -- -q train -o fuzz/corpus/model_loader/small.chaff training/sample.tsv)
# The target reads a mode byte first (odd: it appends the checksum itself): the model as
# it is, and its body without the checksum, which mutations of the body keep loading.
m=corpus/model_loader/small.chaff
{ printf '\000'; cat "$m"; } >"$m.seed"
{ printf '\001'; head -c -4 "$m"; } >"$m.body.seed"
rm "$m"
# Parquet seeds: the target builds a table from its input (a mode byte, a damage byte,
# then texts split by 0xff); the sample page's paragraphs as rows, each text column type.
for k in 0 1 2 3 4; do
  { printf "\\$(printf '%03o' $((k + 32)))\\000"; tr '\n' '\377' <"$page"; } >"corpus/parquet/rows$k.seed"
done
# Writer seeds (codec, level, shape, seed bytes, then the data): the sample page through
# each codec at its default level, once in a few pieces, once 64 times over in pieces
# flushed here and there into a "large" stream, at the codec's lowest level.
for c in 0 1 2 3 4 5; do
  o=$(printf '%03o' $c)
  { printf "\\$o\\200\\003\\007"; cat "$page"; } >"corpus/writers/page$c.seed"
  { printf "\\$o\\000\\377\\011"; cat "$page"; } >"corpus/writers/flushed$c.seed"
done
# xz reader seeds (the first byte is the mode): the sample page as text the target writes
# in blocks (and damages), and as xz's own output in 1 KiB blocks, twice over with padding.
for m in 0 80 148 246; do
  { printf "\\$(printf '%03o' $m)"; cat "$page"; } >"corpus/unxz/page$m.seed"
done
if command -v xz >/dev/null; then
  { printf '\001'; xz -T2 --block-size=1KiB -c "$page"; printf '\000\000\000\000'; xz -c "$page"; } >corpus/unxz/xz.seed
fi
# Stream reader seeds (the first byte is the mode; its low bits the codec: 0 gzip, 1
# zstd, 2 lz4): the sample page's paragraphs as texts the target writes (4-6), with zero
# padding (12-14), other bytes after them (20-22) or cut (36-38); and gzip's own output.
for m in 4 5 6 12 13 14 20 21 22 36 37 38; do
  { printf "\\$(printf '%03o' $m)"; tr '\n' '\377' <"$page" | head -c 3000; } >"corpus/streams/page$m.seed"
done
{ printf '\000'; gzip -c "$page"; printf '\000\000'; gzip -1 -c "$page"; } >corpus/streams/gzip.seed
# JSON seeds: the sample page as a record, nested under a pointer, and as an array of
# paragraphs, each with fields of every JSON kind (and a lone surrogate in a string).
python3 - "$page" corpus/json <<'PY'
import json, sys
page, out = sys.argv[1:]
text = open(page, encoding="utf-8").read()
# Python's non-finite floats too, as json.dumps writes them (NaN, Infinity, -Infinity).
other = {"n": [0, -1.5e3, True, False, None, float("nan"), float("inf"), -float("inf")], "o": {"k": "\u00e9\n"}}
records = [
    {"id": 1, "text": text, **other},
    {"data": {"content": text}, "meta": other},
    {"段落": [{"内容": p} for p in text.split("\n\n")], "x": [], "cut": "\ud83d"},
]
for i, r in enumerate(records):
    open(f"{out}/record{i}.json", "w", encoding="utf-8").write(json.dumps(r, ensure_ascii=i != 1))
open(f"{out}/array.json", "w").write(json.dumps([text.split("\n")[:3], 1, {"a": []}]))
# JSON array seeds (the first byte is the read size): the records above as WuDao's files
# hold them, on one line and pretty-printed.
arrays = out.replace("json", "json_array")
for i, dump in enumerate([json.dumps(records[:2], ensure_ascii=False),
                          json.dumps(records, indent=2)]):
    open(f"{arrays}/records{i}.seed", "w", encoding="utf-8").write(chr(7 + 50 * i) + dump)
PY
for t in ${TARGETS:-reader warc parquet model_loader writers json unxz streams json_array}; do
  echo "== $t: ${SECONDS_EACH}s"
  cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$SECONDS_EACH" -timeout=30 -rss_limit_mb=4096 -max_len=262144 2>&1 |
    tee "fuzz-$t.log" | grep -E "^#[0-9]+.*(DONE|pulse)|ERROR|SUMMARY|Test unit written" || true
  tail -n 3 "fuzz-$t.log"
done

#!/usr/bin/env bash
# Parquet interoperability, checked with the C++ implementation most dumps are written
# and read with: installs pyarrow (pinned) from PyPI into a throwaway virtualenv, writes
# the dev pages as Parquet tables the way Hugging Face datasets are (a `text` column among
# others of many types, Hugging Face's schema note in the file's metadata, row groups,
# zstd; a second file with a dictionary-encoded text column, snappy; a third whose text
# column is a list of each page's paragraphs; a fourth in MNBVC's layout, paragraphs as a
# list of structs reached with `--text-field '/段落/*/内容'`), filters them with
# `chaff filter --parquet -o`, and requires of each output, read back by pyarrow:
#   - the same schema, metadata included, and each column's codec;
#   - row groups that end where the input's did (less the rows left empty);
#   - every other column's values unchanged, row for row, rows in input order;
#   - each row's text equal to `chaff filter --jsonl` of the same document (for the
#     list column: of the same paragraphs as a JSONL array field; for MNBVC's layout,
#     every row equal to the JSONL record filtered through the same pointer).
# Skips (exit 0, loudly) only when PyPI cannot be reached.
#   CHAFF=target/release/chaff bash tests/ecosystem/parquet.sh
set -euo pipefail
. "$(dirname "$0")/common.sh"
# PARQUET_VENV: reuse a virtualenv that already has the package (development only).
python_venv pyarrow "$T" "${PARQUET_VENV:-}" pyarrow==26.0.1
mkdir -p "$T/in" "$T/mnbvc"
"$T/venv/bin/python" - "$SHARED/eval/dev/pages" "$T/in" "$T/dump.jsonl" "$T/lists.jsonl" "$T/mnbvc" <<'PY'
import datetime, hashlib, json, os, sys
import pyarrow as pa, pyarrow.parquet as pq
pages, out, jsonl, lists, mnbvc = sys.argv[1:]
filler = "哈哈哈哈笑死我了[哈哈][哈哈]\n点赞 转发 评论\n"
names = sorted(os.listdir(pages))
docs = [(n, open(os.path.join(pages, n), encoding="utf-8").read()) for n in names]
docs.insert(7, ("filler", filler))
with open(jsonl, "w", encoding="utf-8") as j:
    for name, text in docs:
        j.write(json.dumps({"id": name, "text": text}, ensure_ascii=False) + "\n")
n = len(docs)
hf = json.dumps({"info": {"features": {"id": {"dtype": "string", "_type": "Value"},
                                      "text": {"dtype": "string", "_type": "Value"}}}})
table = pa.table({
    "id": [d[0] for d in docs],
    "text": [d[1] for d in docs],
    "url": [f"https://example.com/{d[0]}" for d in docs],
    "score": pa.array([i / 7 for i in range(n)], pa.float32()),
    "date": pa.array([datetime.datetime(2024, 1, 1) + datetime.timedelta(minutes=i) for i in range(n)],
                     pa.timestamp("us", tz="UTC")),
    "tags": [[f"t{i}", "news"] if i % 3 else None for i in range(n)],
    "meta": [{"lang": "zh", "len": len(d[1])} for d in docs],
}, metadata={"huggingface": hf})
pq.write_table(table, os.path.join(out, "train-00000-of-00002.parquet"), row_group_size=64,
               compression="zstd")
small = pa.table({"id": [d[0] for d in docs[:50]],
                  "text": pa.array([d[1] for d in docs[:50]]).dictionary_encode()})
pq.write_table(small, os.path.join(out, "train-00001-of-00002.parquet"), compression="snappy")
# Paragraphs: each page's non-blank lines as a list (the filler row as one string).
paras = [[l for l in t.split("\n") if l.strip()] if n != "filler" else [t] for n, t in docs[:120]]
with open(lists, "w", encoding="utf-8") as j:
    for (name, _), p in zip(docs, paras):
        j.write(json.dumps({"id": name, "text": p}, ensure_ascii=False) + "\n")
listed = pa.table({"id": [d[0] for d in docs[:120]],
                   "text": pa.array(paras, pa.large_list(pa.string())),
                   "n": list(range(120))})
pq.write_table(listed, os.path.join(out, "paragraphs.parquet"), row_group_size=50)
# MNBVC's layout: a list of numbered paragraph structs, as JSON lines and as Parquet.
rows = [{"文件名": name, "段落": [{"行号": j + 1, "内容": l, "md5": hashlib.md5(l.encode()).hexdigest()}
                                for j, l in enumerate(p)]}
        for (name, _), p in zip(docs, paras)]
with open(os.path.join(mnbvc, "mnbvc.jsonl"), "w", encoding="utf-8") as j:
    for r in rows:
        j.write(json.dumps(r, ensure_ascii=False) + "\n")
pq.write_table(pa.Table.from_pylist(rows), os.path.join(mnbvc, "mnbvc.parquet"), row_group_size=50)
PY
"$CHAFF" -q filter --parquet --text-field '/段落/*/内容' -o "$T/out-mnbvc" "$T/mnbvc/mnbvc.parquet"
"$CHAFF" -q filter --jsonl --text-field '/段落/*/内容' "$T/mnbvc/mnbvc.jsonl" >"$T/expected-mnbvc.jsonl"
"$T/venv/bin/python" - "$T/mnbvc/mnbvc.parquet" "$T/out-mnbvc/mnbvc.parquet" "$T/expected-mnbvc.jsonl" <<'PY'
import json, sys
import pyarrow.parquet as pq
src, out, expected = sys.argv[1:]
a, b = pq.read_table(src), pq.read_table(out)
assert b.schema.equals(a.schema, check_metadata=True), (a.schema, b.schema)
want = [json.loads(l) for l in open(expected, encoding="utf-8")]
assert b.to_pylist() == want, "rows differ from the JSONL records filtered the same way"
elements = sum(len(r["段落"]) for r in want)
assert 0.9 * a.num_rows < b.num_rows < a.num_rows and elements < sum(len(r["段落"]) for r in a.to_pylist())
print(f"parquet: mnbvc.parquet: {b.num_rows} of {a.num_rows} rows, {elements} paragraph structs kept, "
      f"each row as chaff filter --jsonl --text-field '/段落/*/内容' writes its record")
PY
"$CHAFF" -q filter --parquet -o "$T/out" "$T/in"
"$CHAFF" -q filter --jsonl "$T/dump.jsonl" >"$T/expected.jsonl"
"$CHAFF" -q filter --jsonl "$T/lists.jsonl" >"$T/expected-lists.jsonl"
"$T/venv/bin/python" - "$T/in" "$T/out" "$T/expected.jsonl" "$T/expected-lists.jsonl" <<'PY'
import json, os, sys
import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
src, out, expected, expected_lists = sys.argv[1:]
def texts_of(path):
    want = {}
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        want[r["id"]] = r["text"]
    assert "filler" not in want
    return want
for name in sorted(os.listdir(src)):
    want = texts_of(expected_lists if name == "paragraphs.parquet" else expected)
    fi, fo = pq.ParquetFile(os.path.join(src, name)), pq.ParquetFile(os.path.join(out, name))
    a, b = fi.read(), fo.read()
    assert b.schema.equals(a.schema, check_metadata=True), (a.schema, b.schema)
    mi, mo = fi.metadata, fo.metadata
    for c in range(mi.num_columns):
        assert mo.row_group(0).column(c).compression == mi.row_group(0).column(c).compression, c
    kept = pc.is_in(a["id"], value_set=pa.array(list(want)))
    # Row groups end where the input's did: each output group holds the kept rows of one
    # input group.
    groups_in, at = [], 0
    for g in range(mi.num_row_groups):
        rows = mi.row_group(g).num_rows
        k = pc.sum(kept.slice(at, rows)).as_py() or 0
        if k:
            groups_in.append(k)
        at += rows
    groups_out = [mo.row_group(g).num_rows for g in range(mo.num_row_groups)]
    assert groups_out == groups_in, (groups_out, groups_in)
    expect = a.filter(kept)
    for col in a.column_names:
        if col != "text":
            assert b[col].equals(expect[col]), col
    texts = b["text"].to_pylist()
    ids = b["id"].to_pylist()
    assert texts == [want[i] for i in ids], name
    assert b.num_rows < a.num_rows and b.num_rows > 0.9 * a.num_rows, name
    print(f"parquet: {name}: {b.num_rows} of {a.num_rows} rows, {mo.num_row_groups} row groups, "
          f"schema, metadata, codecs and other columns unchanged, texts as chaff filter --jsonl")
PY

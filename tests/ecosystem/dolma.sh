#!/usr/bin/env bash
# Dolma interoperability, checked with the real client: installs `dolma` from PyPI into a
# throwaway virtualenv (versions pinned in dolma-requirements.txt: resolving dolma's
# dependencies afresh takes pip minutes), tags a JSONL dump with `chaff tag --dolma`, runs `dolma mix` with a
# span-replacement filter on chaff's drop spans (and an exclude filter on its empty flag),
# and requires the mixed documents to equal `chaff filter --jsonl` output, record for
# record. Skips (exit 0, loudly) only when PyPI cannot be reached.
#   CHAFF=target/release/chaff bash tests/ecosystem/dolma.sh
set -euo pipefail
. "$(dirname "$0")/common.sh"
# DOLMA_VENV: reuse a virtualenv that already has the package (development only).
python_venv dolma "$T" "${DOLMA_VENV:-}" --no-deps -r "$root/tests/ecosystem/dolma-requirements.txt"
mkdir -p "$T/data/documents"
# Documents: the dev pages as records with extra fields, plus one that is all filler.
python3 - "$SHARED/eval/dev/pages" "$T/data/documents/part-0.jsonl" <<'PY'
import json, os, sys
d, out = sys.argv[1:]
with open(out, "w", encoding="utf-8") as f:
    for i, n in enumerate(sorted(os.listdir(d))):
        text = open(os.path.join(d, n), encoding="utf-8").read()
        f.write(json.dumps({"id": f"dev-{i}", "source": "chaff-test", "text": text,
                            "metadata": {"page": n}}, ensure_ascii=False) + "\n")
    f.write(json.dumps({"id": "all-filler", "source": "chaff-test",
                        "text": "哈哈哈哈笑死我了[哈哈][哈哈]\n点赞 转发 评论\n", "metadata": {}},
                       ensure_ascii=False) + "\n")
PY
gzip "$T/data/documents/part-0.jsonl"
"$CHAFF" -q tag --dolma --attributes-dir "$T/data/attributes/chaff" "$T/data/documents/part-0.jsonl.gz"
cat >"$T/mix.yaml" <<YAML
streams:
  - name: chaff
    documents:
      - $T/data/documents/*.jsonl.gz
    attributes: [chaff]
    output:
      path: $T/mixed
      max_size_in_bytes: 1000000000
    filter:
      exclude:
        - "\$.attributes[?(@.chaff__paragraph__empty && @.chaff__paragraph__empty[0] && @.chaff__paragraph__empty[0][2] >= 0.5)]"
    span_replacement:
      - span: "\$.attributes.chaff__paragraph__drop"
        min_score: 0.5
        replacement: ""
work_dir:
  input: $T/work/in
  output: $T/work/out
processes: 1
YAML
"$T/venv/bin/dolma" -c "$T/mix.yaml" mix >"$T/mix.log" 2>&1 || { cat "$T/mix.log"; echo "FAIL: dolma mix"; exit 1; }
"$CHAFF" -q filter --jsonl "$T/data/documents/part-0.jsonl.gz" >"$T/chaff.jsonl"
python3 - "$T/mixed" "$T/chaff.jsonl" <<'PY'
import gzip, json, os, sys
mixed_dir, chaff = sys.argv[1:]
mixed = []
for n in sorted(os.listdir(mixed_dir)):
    with gzip.open(os.path.join(mixed_dir, n), "rt", encoding="utf-8") as f:
        mixed += [json.loads(l) for l in f]
ours = [json.loads(l) for l in open(chaff, encoding="utf-8")]
assert len(ours) > 100, len(ours)
assert len(mixed) == len(ours), (len(mixed), len(ours))
for m, o in zip(mixed, ours):
    # Dolma adds its attributes and a provenance note; everything else must match.
    m.pop("attributes", None)
    m.get("metadata", {}).pop("provenance", None)
    assert m == o, (m["id"], o["id"], m["text"][:120], o["text"][:120])
assert all(o["id"] != "all-filler" for o in ours)
print(f"ok: dolma mix on chaff's attributes == chaff filter --jsonl ({len(ours)} documents)")
PY

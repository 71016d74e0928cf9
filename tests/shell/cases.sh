#!/usr/bin/env bash
# Shell-level checks against the release binary: bad paths, hostile trees, and an
# interrupted run finished with --resume. Run by tests/shell.rs (so `cargo test --release`
# covers it) or by hand: CHAFF=target/release/chaff bash tests/shell/cases.sh
set -uo pipefail
CHAFF=${CHAFF:-target/release/chaff}
SHARED=${SHARED:-$(cd "$(dirname "$0")/../../../shared" && pwd)}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
# gone_within_3s PID: waits up to 3 s for PID to end, leaving its exit code in $rc; one
# still running then is killed, and the call fails.
gone_within_3s() {
  local pid=$1
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid"
    wait "$pid"
    return 1
  fi
  wait "$pid"
  rc=$?
}

# run_measured OUT ERR ARGS...: runs chaff ARGS with stdout to OUT and stderr to ERR,
# leaving its exit code in $rc and its peak RSS in MB in $rss_mb (through Python's
# getrusage, so no /usr/bin/time is needed).
run_measured() {
  local out=$1 err=$2; shift 2
  local line
  line=$(python3 - "$out" "$err" "$CHAFF" "$@" <<'PY'
import resource, subprocess, sys
out, err = sys.argv[1:3]
with open(out, "wb") as o, open(err, "wb") as e:
    rc = subprocess.run(sys.argv[3:], stdout=o, stderr=e).returncode
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
PY
)
  read -r rc rss_mb <<<"$line"
}

# expect_error NAME PATTERN -- ARGS...: non-zero exit, one stderr line naming PATTERN.
expect_error() {
  local name=$1 pattern=$2; shift 3
  "$CHAFF" "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  if [ $rc -eq 0 ]; then fail "$name: exit 0"; return; fi
  if [ "$(wc -l <"$T/err")" -ne 1 ]; then fail "$name: stderr is not one line: $(cat "$T/err")"; return; fi
  if ! grep -q -- "$pattern" "$T/err"; then fail "$name: stderr lacks '$pattern': $(cat "$T/err")"; return; fi
  if grep -q panicked "$T/err"; then fail "$name: panic"; return; fi
  pass "$name (exit $rc): $(cat "$T/err")"
}

PAGE="$SHARED/seed/page.txt"
mkdir -p "$T/in"
cp "$PAGE" "$T/in/a.txt"

expect_error "missing input" "no-such.txt" -- filter "$T/no-such.txt"
expect_error "missing model" "no-such.chaff" -- filter -m "$T/no-such.chaff" "$PAGE"
echo x >"$T/afile"
expect_error "output below a file" "afile" -- filter -o "$T/afile/out" "$T/in"
[ -e "$T/afile/out" ] && fail "output below a file: something written"
expect_error "outdir inside input" "inside the input folder" -- filter -o "$T/in/out" "$T/in"
mkdir -p "$T/busy" && echo x >"$T/busy/old.txt"
expect_error "busy outdir" "already holds files" -- filter -o "$T/busy" "$T/in"
[ "$(ls -A "$T/busy")" = "old.txt" ] || fail "busy outdir: something written"
expect_error "resume without outdir" "needs -o" -- filter --resume "$PAGE"
# Process substitution hands over /dev/fd/N, a link to a pipe with no path of its own.
if "$CHAFF" -q filter -o "$T/fd-out" <(cat "$PAGE") 2>"$T/err" &&
  cmp -s "$T/fd-out/$(ls "$T/fd-out")" <("$CHAFF" filter -q "$PAGE"); then
  pass "process substitution into OUTDIR"
else
  fail "process substitution into OUTDIR: $(cat "$T/err")"
fi
if [ "$(id -u)" -ne 0 ]; then
  cp "$PAGE" "$T/secret.txt" && chmod 000 "$T/secret.txt"
  expect_error "unreadable file" "secret.txt" -- filter "$T/secret.txt"
else
  echo "skip: unreadable file (running as root, permissions do not apply)"
fi

# Hostile trees: very deep folders, a symlink loop, NUL bytes, an empty file.
deep="$T/tree"
for i in $(seq 1 120); do deep="$deep/d$i"; done
mkdir -p "$deep" && cp "$PAGE" "$deep/deep.txt"
ln -s "$T/tree" "$T/tree/d1/loop"
printf 'abc\0def\n' >"$T/tree/nul.txt"
: >"$T/tree/empty.txt"
"$CHAFF" filter -o "$T/tree-out" "$T/tree" 2>"$T/err"
rc=$?
if [ $rc -ne 0 ]; then fail "hostile tree: exit $rc: $(cat "$T/err")"
elif grep -q panicked "$T/err"; then fail "hostile tree: panic"
elif ! grep -q "nul.txt: skipped" "$T/err"; then fail "hostile tree: no skip warning: $(cat "$T/err")"
elif ! cmp -s "$T/tree-out/${deep#"$T/tree/"}/deep.txt" <("$CHAFF" filter -q "$PAGE"); then fail "hostile tree: deep output differs"
elif [ -s "$T/tree-out/empty.txt" ] || [ ! -e "$T/tree-out/empty.txt" ]; then fail "hostile tree: empty file"
else pass "hostile tree: $(tail -1 "$T/err")"; fi

# One 30 MB line with no newline: one paragraph, bounded memory, output all or nothing.
python3 -c "
import sys
s = open(sys.argv[1], encoding='utf-8').read().replace('\n', '')
n = 30_000_000 // len(s.encode()) + 1
open(sys.argv[2], 'w', encoding='utf-8').write((s * n)[: 10_000_000])
" "$PAGE" "$T/huge.txt"
run_measured "$T/huge.out" "$T/err" -q filter "$T/huge.txt"
if [ "$rc" -ne 0 ]; then fail "30 MB line: exit $rc: $(cat "$T/err")"
elif [ "$rss_mb" -gt 300 ]; then fail "30 MB line: peak RSS $rss_mb MB"
elif [ -s "$T/huge.out" ] && ! cmp -s "$T/huge.out" "$T/huge.txt"; then fail "30 MB line: output is neither the line nor empty"
else pass "30 MB line without newline: $(stat -c %s "$T/huge.txt") bytes, peak RSS $rss_mb MB"; fi

# Millions of short or blank lines: memory is spent by the line, so chunks are bounded
# in lines as well as bytes, and freed memory goes back (0.2.0: 942 MB for the blank
# lines, 573 MB for the short ones, 2 threads). Lines ended by `\r` alone make one chunk
# of their file, decided a part at a time all the same (790 MB before).
python3 -c "
import sys
open(sys.argv[1], 'w').write('\n' * 10_000_000)
open(sys.argv[2], 'w').write('好\n' * 3_000_000)
open(sys.argv[3], 'w', newline='').write('好\r' * 3_000_000)
" "$T/blank.txt" "$T/short.txt" "$T/short_cr.txt"
for f in blank short short_cr; do
  run_measured "$T/$f.out" "$T/err" --threads 2 filter "$T/$f.txt"
  if [ "$rc" -ne 0 ]; then fail "$f lines: exit $rc: $(cat "$T/err")"
  elif [ "$rss_mb" -gt 250 ]; then fail "$f lines: peak RSS $rss_mb MB"
  elif [ $f != blank ] && ! cmp -s "$T/$f.out" "$T/$f.txt"; then fail "$f lines: not all kept"
  elif [ $f = blank ] && [ -s "$T/$f.out" ]; then fail "$f lines: output is not empty"
  else pass "$f lines: $(tail -1 "$T/err"); peak RSS $rss_mb MB"; fi
done

# A JSONL record of 10 million blank lines between two news lines: a record is decided
# a chunk at a time as a file is (0.3.0 before this: 1.1 GB, the record decided whole);
# every line is kept, so the record comes out as it went in.
python3 -c "
import json, sys
line = '国务院常务会议研究部署进一步做好稳就业工作。'
print(json.dumps({'id': 1, 'text': line + '\\n' * 10_000_001 + line}, ensure_ascii=False))
" >"$T/blank.jsonl"
run_measured "$T/blank.jsonl.out" "$T/err" --threads 2 filter --jsonl "$T/blank.jsonl"
if [ "$rc" -ne 0 ]; then fail "a record of blank lines: exit $rc: $(cat "$T/err")"
elif [ "$rss_mb" -gt 250 ]; then fail "a record of blank lines: peak RSS $rss_mb MB"
elif ! cmp -s "$T/blank.jsonl.out" "$T/blank.jsonl"; then fail "a record of blank lines: not written as it was"
else pass "a record of blank lines: $(tail -1 "$T/err"); peak RSS $rss_mb MB"; fi
# Its Dolma attributes are built a chunk at a time too (1.1 GB before): two news spans.
run_measured "$T/blank-attrs.out" "$T/err" --threads 2 tag --dolma --attributes-dir "$T/blank-attrs" "$T/blank.jsonl"
if [ "$rc" -ne 0 ]; then fail "Dolma attributes of a record of blank lines: exit $rc: $(cat "$T/err")"
elif [ "$rss_mb" -gt 250 ]; then fail "Dolma attributes of a record of blank lines: peak RSS $rss_mb MB"
elif ! grep -q '"chaff__paragraph__news":\[\[0,22,[0-9.e-]*\],\[10000023,10000045,' "$T/blank-attrs/blank.jsonl"; then
  fail "Dolma attributes of a record of blank lines: $(head -c 300 "$T/blank-attrs/blank.jsonl")"
else pass "Dolma attributes of a record of blank lines: peak RSS $rss_mb MB"; fi

# Training counts its data in bounded tables: the corpus train files as one TSV (30 MB,
# ~138,000 rows) train in under 300 MB (395 MB when each 512-row chunk's tables were
# held until all were merged).
for f in "$SHARED"/corpus/news/*/train.txt; do sed 's/^/news\t/' "$f"; done >"$T/train.tsv"
for f in "$SHARED"/corpus/filler/*/train.txt; do sed 's/^/filler\t/' "$f"; done >>"$T/train.tsv"
run_measured "$T/train.out" "$T/err" --threads 2 train -o "$T/tsv.chaff" "$T/train.tsv"
if [ "$rc" -ne 0 ]; then fail "train on the corpus TSV: exit $rc: $(cat "$T/err")"
elif [ "$rss_mb" -gt 300 ]; then fail "train on the corpus TSV: peak RSS $rss_mb MB"
elif ! "$CHAFF" inspect "$T/tsv.chaff" | grep -q '^classes: filler (paragraphs [0-9]*, prior [0-9.]*), news'; then fail "train on the corpus TSV: no model"
else pass "train on the corpus TSV ($(wc -l <"$T/train.tsv") rows): peak RSS $rss_mb MB"; fi

# Interrupt and resume: a run stopped by SIGINT (and one by SIGTERM, and by SIGHUP, a
# closed terminal) leaves only complete files and no temporaries; --resume then gives
# exactly the tree of one clean run.
mkdir -p "$T/dump"
for k in $(seq 1 24); do
  mkdir -p "$T/dump/part$k"
  cp "$SHARED"/eval/dev/pages/* "$T/dump/part$k/"
done
"$CHAFF" -q --threads 2 filter -o "$T/clean" "$T/dump" || fail "clean run"
for sig in INT TERM HUP; do
  out="$T/stopped-$sig"
  "$CHAFF" -q --threads 1 filter -o "$out" "$T/dump" 2>"$T/err" &
  pid=$!
  sleep 1
  kill -"$sig" $pid
  wait $pid
  rc=$?
  n=$(find "$out" -type f | wc -l)
  if [ $rc -eq 0 ]; then echo "note: SIG$sig run finished before the signal ($n files)"
  elif [ $rc -ne 130 ]; then fail "SIG$sig: exit $rc: $(cat "$T/err")"
  elif [ "$(cat "$T/err")" != "chaff: interrupted; output files present are complete (finish with --resume)" ]; then
    fail "SIG$sig: the stop is told as: $(cat "$T/err")"; fi
  tmp=$(find "$out" -name '*.chaff-tmp' | wc -l)
  [ "$tmp" -eq 0 ] || fail "SIG$sig: $tmp temporary files left"
  bad=0
  # The journal of a stopped run is the start of the clean run's.
  while IFS= read -r f; do
    rel=${f#"$out/"}
    cmp -s "$f" "$T/clean/$rel" || bad=$((bad + 1))
  done < <(find "$out" -type f ! -name .chaff-journal.jsonl)
  cmp -s -n "$(stat -c %s "$out/.chaff-journal.jsonl")" \
    "$out/.chaff-journal.jsonl" "$T/clean/.chaff-journal.jsonl" || fail "SIG$sig: journal is not the clean one's start"
  [ $bad -eq 0 ] || fail "SIG$sig: $bad files differ from the clean run"
  "$CHAFF" -q filter --resume -o "$out" "$T/dump" || fail "SIG$sig: resume failed"
  if diff -r "$out" "$T/clean" >/dev/null; then
    pass "SIG$sig: exit $rc with $n complete files, resumed to the clean tree"
  else
    fail "SIG$sig: resumed tree differs from the clean run"
  fi
done

# timeout(1) sends its SIGTERM to the run and again to its process group: two signals at
# once are one stop, a clean one (a second signal ends a run at once only when it comes
# later, as a person insisting).
out="$T/stopped-by-timeout"
timeout 1 "$CHAFF" -q --threads 1 filter -o "$out" "$T/dump" 2>"$T/err"
rc=$?
if [ $rc -eq 0 ]; then echo "note: the run under timeout finished first"
elif [ $rc -ne 124 ] || [ "$(cat "$T/err")" != "chaff: interrupted; output files present are complete (finish with --resume)" ]; then
  fail "timeout: exit $rc: $(cat "$T/err")"; fi
tmp=$(find "$out" -name '*.chaff-tmp' | wc -l)
[ "$tmp" -eq 0 ] || fail "timeout: $tmp temporary files left"
"$CHAFF" -q filter --resume -o "$out" "$T/dump" || fail "timeout: resume failed"
if diff -r "$out" "$T/clean" >/dev/null; then
  pass "timeout 1 chaff ...: a clean stop (exit $rc), resumed to the clean tree"
else
  fail "timeout: resumed tree differs from the clean run"
fi

# A run blocked writing to a reader that does not read cannot stop at a signal (its
# write waits). Two signals at once are still the one stop, which waits; a second one
# later is a person insisting, and ends the run at once.
mkfifo "$T/full"
sleep 60 <"$T/full" &
reader=$!
cat "$SHARED"/eval/dev/pages/* >"$T/big.txt"
"$CHAFF" -q filter "$T/big.txt" >"$T/full" 2>"$T/err" &
pid=$!
sleep 1
kill -INT $pid
kill -INT $pid
sleep 1
if ! kill -0 $pid 2>/dev/null; then
  wait $pid
  fail "blocked run: two signals at once ended it (exit $?): $(cat "$T/err")"
else
  kill -INT $pid
  if ! gone_within_3s $pid; then
    fail "blocked run: still running 3 s after a second, later signal"
  elif [ $rc -eq 130 ]; then
    pass "blocked run: two signals at once wait as one stop; a later one ends it (exit 130)"
  else fail "blocked run: exit $rc after the later signal"; fi
fi
kill $reader 2>/dev/null
wait $reader 2>/dev/null

# The same for a Dolma tagging run: stopped by SIGINT, then finished with --resume.
mkdir -p "$T/docs"
python3 - "$SHARED/eval/dev/pages" "$T/docs" <<'PY'
import json, os, sys
src, dst = sys.argv[1:]
names = sorted(os.listdir(src))
pages = [open(os.path.join(src, n), encoding="utf-8").read() for n in names]
for k in range(32):
    with open(os.path.join(dst, f"part-{k:02}.jsonl"), "w", encoding="utf-8") as f:
        for i, text in enumerate(pages):
            f.write(json.dumps({"id": f"{k}-{i}", "text": text}, ensure_ascii=False) + "\n")
PY
# stop_and_resume NAME OUT CLEAN -- ARGS...: chaff ARGS (writing into OUT) stopped by
# SIGINT after a second must exit 130 leaving no temporaries; ARGS --resume must then
# give the tree CLEAN.
stop_and_resume() {
  local name=$1 out=$2 clean=$3
  shift 4
  "$CHAFF" -q "$@" 2>"$T/err" &
  local pid=$!
  sleep 1
  kill -INT $pid
  wait $pid
  local rc=$?
  local n
  n=$(find "$out" -type f ! -name '.chaff-*' | wc -l)
  if [ $rc -eq 0 ]; then echo "note: $name run finished before the signal ($n files)"
  elif [ $rc -ne 130 ]; then fail "$name SIGINT: exit $rc: $(cat "$T/err")"; fi
  local tmp
  tmp=$(find "$out" -name '*.chaff-tmp' | wc -l)
  [ "$tmp" -eq 0 ] || fail "$name SIGINT: $tmp temporary files left"
  "$CHAFF" -q "$@" --resume || fail "$name: resume failed"
  if diff -r "$out" "$clean" >/dev/null; then
    pass "$name SIGINT: exit $rc with $n complete files, resumed to the clean tree"
  else
    fail "$name SIGINT: resumed tree differs from the clean run"
  fi
}

"$CHAFF" -q tag --dolma --attributes-dir "$T/attrs-clean" "$T/docs" || fail "dolma: clean run"
stop_and_resume dolma "$T/attrs" "$T/attrs-clean" -- \
  --threads 1 tag --dolma --attributes-dir "$T/attrs" "$T/docs"

# Gzipped parts at 4 threads: decoder threads hold sources ahead of the reader when the
# signal comes; they stop with the run. The clean tree is a 1-thread run's. The side
# files, continued by the resumed run, must come out as the clean run's (at one path for
# both runs, as the run record names them: the clean run's are moved aside).
mkdir -p "$T/docs-gz" "$T/side-clean"
for f in "$T"/docs/*.jsonl; do gzip -c "$f" >"$T/docs-gz/$(basename "$f").gz"; done
side=(--removed "$T/side/removed.jsonl.zst" --file-stats "$T/side/files.jsonl" --stats "$T/side/stats.json")
mkdir -p "$T/side"
"$CHAFF" -q --threads 1 filter --jsonl "${side[@]}" -o "$T/gz-clean" "$T/docs-gz" || fail "gz parts: clean run"
mv "$T"/side/* "$T/side-clean/"
stop_and_resume "gz parts, 4 threads," "$T/gz-stopped" "$T/gz-clean" -- \
  --threads 4 filter --jsonl "${side[@]}" -o "$T/gz-stopped" "$T/docs-gz"
for f in removed.jsonl.zst files.jsonl; do
  cmp -s "$T/side/$f" "$T/side-clean/$f" || fail "gz parts: resumed $f differs from the clean run's"
done
# The summary counts the whole dump; only "resumed" differs (and the runs' times).
if [ "$(grep -v -e '"resumed"' -e '"seconds"' -e '"mb_per_s"' "$T/side/stats.json")" = "$(grep -v -e '"resumed"' -e '"seconds"' -e '"mb_per_s"' "$T/side-clean/stats.json")" ] &&
  [ -z "$(find "$T/side" -name '*.chaff-partial')" ]; then
  pass "gz parts: side files and summary after --resume equal the clean run's"
else
  fail "gz parts: resumed stats differ from the clean run's, or a partial file is left"
fi
# Killed outright (no clean-up; what sat in buffers is lost): --resume takes only what
# the journal vouches for and the side files hold, and still gives the clean run's files.
out="$T/gz-killed"
"$CHAFF" -q --threads 4 filter --jsonl "${side[@]}" -o "$out" "$T/docs-gz" 2>"$T/err" &
pid=$!
sleep 1
kill -KILL $pid
wait $pid
rc=$?
n=$(find "$out" -type f ! -name '.chaff-*' | wc -l)
[ $rc -eq 0 ] && echo "note: the run to be killed finished first ($n files)"
"$CHAFF" -q --threads 4 filter --jsonl "${side[@]}" --resume -o "$out" "$T/docs-gz" ||
  fail "SIGKILL: resume failed"
bad=0
for f in removed.jsonl.zst files.jsonl; do
  cmp -s "$T/side/$f" "$T/side-clean/$f" || bad=$((bad + 1))
done
if diff -r "$out" "$T/gz-clean" >/dev/null && [ $bad -eq 0 ] &&
  [ -z "$(find "$out" "$T/side" -name '*.chaff-tmp' -o -name '*.chaff-partial')" ]; then
  pass "SIGKILL (exit $rc, $n files): resumed to the clean tree and side files"
else
  fail "SIGKILL: resumed tree or side files differ from the clean run's, or leftovers"
fi

# Stopped inside one large JSONL input, plain and gzipped, by SIGINT and by SIGKILL: the
# stopped run keeps the output it checkpointed, and --resume goes on with it from there
# to the clean run's files (journal included).
mkdir -p "$T/large"
cat "$T"/docs/part-0*.jsonl "$T"/docs/part-1*.jsonl >"$T/large/big.jsonl"
gzip -c "$T/large/big.jsonl" >"$T/large/big2.jsonl.gz"
large=(filter --jsonl --checkpoint-bytes 2000000 --removed "$T/large-side/removed.jsonl")
mkdir -p "$T/large-side" "$T/large-side-clean"
"$CHAFF" -q --threads 2 "${large[@]}" -o "$T/large-clean" "$T/large" || fail "large: clean run"
mv "$T/large-side/removed.jsonl" "$T/large-side-clean/"
# Stopped a second in (inside the plain output, on this machine) and 2.5 (the gzip one).
for sig in INT KILL; do
  out="$T/large-$sig"
  "$CHAFF" -q --threads 1 "${large[@]}" -o "$out" "$T/large" 2>"$T/err" &
  pid=$!
  if [ $sig = INT ]; then sleep 1; else sleep 2.5; fi
  kill -$sig $pid
  wait $pid
  rc=$?
  kept=$(find "$out" -name '*.chaff-resumable' | wc -l)
  # None if the signal came between the first input's end and the second's first
  # checkpoint.
  if [ $rc -eq 0 ]; then echo "note: the large run to be stopped by SIG$sig finished first"
  elif [ "$kept" -gt 1 ]; then fail "large SIG$sig: $kept checkpointed outputs kept"; fi
  "$CHAFF" --threads 2 "${large[@]}" --resume -o "$out" "$T/large" 2>"$T/err" ||
    fail "large SIG$sig: resume failed: $(cat "$T/err")"
  if [ "$kept" -eq 1 ] && ! grep -q "going on with big" "$T/err"; then
    fail "large SIG$sig: the resumed run did not go on from a checkpoint: $(cat "$T/err")"
  fi
  if diff -r "$out" "$T/large-clean" >/dev/null &&
    cmp -s "$T/large-side/removed.jsonl" "$T/large-side-clean/removed.jsonl"; then
    pass "large SIG$sig (exit $rc): resumed inside the input to the clean run's files"
  else
    fail "large SIG$sig: resumed files differ from the clean run's"
  fi
  rm -f "$T/large-side/removed.jsonl"
done

# The same inside a bzip2 output and a zstd one, killed: a bzip2 checkpoint carries
# the open stream's CRC and last bits; a zstd output is decompressed and its text
# compressed again up to the checkpoint. The resumed run's output is the clean run's,
# one stream (one frame). And inside one large JSON array (WuDaoCorpora's shape): its
# output is checkpointed as JSON lines' is, its `[` written once, one array.
mkdir -p "$T/large-array"
python3 - "$T/large/big.jsonl" "$T/large-array/big.json" <<'PY'
import sys
records = [l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
open(sys.argv[2], "w", encoding="utf-8").write("[" + ",".join(records) + "]")
PY
mkdir -p "$T/large-bz2"
python3 -c 'import bz2, sys; open(sys.argv[2], "wb").write(bz2.compress(open(sys.argv[1], "rb").read(), 1))' \
  "$T/large/big.jsonl" "$T/large-bz2/big3.jsonl.bz2"
for codec in bz2 zst array; do
  case $codec in
  bz2) in="$T/large-bz2" name=big3.jsonl.bz2 more=() wait=1 ;;
  zst) in="$T/large/big.jsonl" name=big.jsonl.zst more=(--compress zst) wait=0.5 ;;
  array) in="$T/large-array" name=big.json more=() wait=0.5 ;;
  esac
  args=(filter --jsonl --checkpoint-bytes 2000000 "${more[@]}")
  "$CHAFF" -q --threads 2 "${args[@]}" -o "$T/$codec-clean" "$in" || fail "$codec: clean run"
  out="$T/$codec-KILL"
  "$CHAFF" -q --threads 1 "${args[@]}" -o "$out" "$in" 2>"$T/err" &
  pid=$!
  sleep $wait
  kill -KILL $pid
  wait $pid
  rc=$?
  kept=$(find "$out" -name '*.chaff-resumable' | wc -l)
  [ $rc -ne 0 ] || echo "note: the $codec run to be killed finished first"
  "$CHAFF" --threads 2 "${args[@]}" --resume -o "$out" "$in" 2>"$T/err" ||
    fail "$codec SIGKILL: resume failed: $(cat "$T/err")"
  if [ "$kept" -eq 1 ] && ! grep -q "going on with $name" "$T/err"; then
    fail "$codec SIGKILL: the resumed run did not go on from a checkpoint: $(cat "$T/err")"
  fi
  if diff -r "$out" "$T/$codec-clean" >/dev/null &&
    python3 - "$out/$name" <<'PY'; then
import bz2, json, sys
if sys.argv[1].endswith(".json"):
    sys.exit(0 if json.load(open(sys.argv[1], encoding="utf-8")) else 1)
z = open(sys.argv[1], "rb").read()
if sys.argv[1].endswith(".bz2"):
    d = bz2.BZ2Decompressor()
    d.decompress(z)
    sys.exit(0 if d.eof and not d.unused_data else 1)
# A zstd frame's header, and no second frame's magic after its first (a frame
# ends with its last block, then its checksum if it has one): its blocks are walked.
assert z[:4] == b"\x28\xb5\x2f\xfd"
fhd = z[4]
at = 5 + (0 if fhd & 0x20 else 1) + [0, 1, 2, 4][fhd & 3] + [0, 2, 4, 8][fhd >> 6]
if fhd >> 6 == 0 and fhd & 0x20:
    at += 1
while True:
    h = int.from_bytes(z[at:at + 3], "little")
    last, kind, size = h & 1, (h >> 1) & 3, h >> 3
    at += 3 + (1 if kind == 1 else size)
    if last:
        break
at += 4 if fhd & 4 else 0
sys.exit(0 if at == len(z) else 1)
PY
    pass "$codec SIGKILL (exit $rc, $kept kept): resumed inside the input to the clean run's one stream"
  else
    fail "$codec SIGKILL: resumed output differs from the clean run's, or is not one stream"
  fi
done

# One Ctrl-C stops a run whose standard input is open but idle (a pipe with no writer
# activity): the read waits on a thread of its own (src/stdin.rs).
mkfifo "$T/idle"
sleep 30 >"$T/idle" &
holder=$!
"$CHAFF" filter - <"$T/idle" >"$T/idle.out" 2>"$T/err" &
pid=$!
sleep 1
kill -INT $pid
if ! gone_within_3s $pid; then
  fail "idle stdin: still running 3 s after one SIGINT"
else
  # Nothing to resume: the stop says what standard output holds.
  told="chaff: interrupted; standard output stops where the run did, and no file named on the command line was written"
  if [ $rc -eq 130 ] && [ "$(cat "$T/err")" = "$told" ]; then
    pass "idle stdin: one SIGINT stops the run (exit 130), told as a stream cut short"
  else fail "idle stdin: exit $rc after SIGINT: $(cat "$T/err")"; fi
fi
kill $holder 2>/dev/null
wait $holder 2>/dev/null

if [ $failures -gt 0 ]; then echo "$failures failures"; exit 1; fi
echo "all shell cases passed"

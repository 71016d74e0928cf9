#!/usr/bin/env bash
# Accuracy on documents unlike any training page. ../shared/eval/dev rewritten, labels
# carried to the new line numbers:
#   double    every blank run doubled (double-spaced articles)
#   single    every blank run made one blank line
#   flat      every blank line removed (paragraphs and filler run line after line)
#   spaced    filler lines that ran line after line set two blank lines apart
#   top       the trailing filler block (chrome, recommendations) moved above the article
#   wrap40    every line hard-wrapped at 40 characters
#   irregular 30 % of the single blank lines between two article paragraphs removed (a
#             converter that keeps some paragraph breaks and loses others; seed 7)
#   boilerplate  site navigation around the article, labelled filler: a breadcrumb line
#             above it, previous/next links and a two-line footer below it (templates in
#             this script, headlines from the corpus dev articles)
#   traditional  every line in Traditional script (OpenCC s2t; the package goes into
#             bench/out/venv-opencc, never used by the tests)
#   inserted  1-3 filler snippets (corpus dev filler files, at most 80 characters) set into
#             each article as paragraphs of their own, a blank line before and after,
#             between two article paragraphs (seed 9)
# and documents composed from the corpus *dev* files (never trained on), seed 5:
#   fillerdocs  300 documents of filler only: 1-8 posts, line after line or blank-separated
#   newsdocs    300 articles alone: a headline and 1-6 paragraphs, blank-separated
#   singles     documents of one paragraph: 300 lines of each corpus dev file (news and
#               filler), each a document of its own (posts, comments, news flashes)
#   chrome      300 pages by compose_pages.py (seed, indented and middle layouts) whose
#               chrome lines and block headers come from bench/chrome.tsv, none of which
#               any training page has
# Prints chaff eval's summary line for each.
#   bench/unseen-layouts.sh [MODEL]      (under a minute; pages in bench/out/unseen/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${CHAFF_SHARED:-$root/../shared}
out=$root/bench/out/unseen
chaff=$root/target/release/chaff
model=(${1:+-m "$1"})
[ -x "$chaff" ] || (cd "$root" && cargo build --release --quiet)
modes=(double single flat spaced top wrap40 irregular inserted boilerplate traditional fillerdocs newsdocs singles chrome)
py=python3
for mode in "${modes[@]}"; do
  if [ "$mode" = chrome ] && [ ! -f "$out/$mode/labels.tsv" ]; then
    rm -rf "${out:?}/$mode"
    python3 "$shared/tools/compose_pages.py" --news "$shared"/corpus/news/*/dev.articles.jsonl \
      --filler "$shared"/corpus/filler/*/dev.txt --pages 300 --seed 5 \
      --layouts seed,indented,middle --chrome "$root/bench/chrome.tsv" --out "$out/$mode.tmp" >/dev/null
    mv "$out/$mode.tmp" "$out/$mode"
  fi
  if [ "$mode" = traditional ]; then
    venv=$root/bench/out/venv-opencc
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -c "import opencc" 2>/dev/null ||
      "$venv/bin/pip" install --quiet opencc-python-reimplemented==0.1.7
    py=$venv/bin/python
  fi
  if [ ! -f "$out/$mode/labels.tsv" ]; then
    rm -rf "${out:?}/$mode"
    "$py" - "$shared" "$out/$mode" "$mode" <<'PY'
import csv, glob, json, os, random, sys
shared, dst, mode = sys.argv[1:]
src = f"{shared}/eval/dev"
os.makedirs(f"{dst}/pages")


def write(pages):
    """pages: (name, [(text, label or None)]) -> pages/ and labels.tsv."""
    with open(f"{dst}/labels.tsv.tmp", "w", encoding="utf-8") as lab:
        lab.write("page\tline\tlabel\n")
        for name, lines in pages:
            with open(f"{dst}/pages/{name}", "w", encoding="utf-8") as f:
                for n, (text, label) in enumerate(lines, 1):
                    f.write(text + "\n")
                    if label:
                        lab.write(f"{name}\t{n}\t{label}\n")
    os.rename(f"{dst}/labels.tsv.tmp", f"{dst}/labels.tsv")


def dev_pages():
    labels = {}
    with open(f"{src}/labels.tsv", encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            labels[(r["page"], int(r["line"]))] = r["label"]
    for page in sorted(os.listdir(f"{src}/pages")):
        with open(f"{src}/pages/{page}", encoding="utf-8") as f:
            lines = f.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        yield page, [(t, labels.get((page, i))) for i, t in enumerate(lines, 1)]


def respace(lines, blank_run):
    """Paragraphs with the blank runs between them replaced by blank_run(run, prev, next)."""
    out, blanks, prev = [], 0, None
    for text, label in lines:
        if not text.strip():
            blanks += 1
            continue
        if out:
            out += [("", None)] * blank_run(blanks, prev, label)
        out.append((text, label))
        blanks, prev = 0, label
    return out


CRUMBS = ["首页 > 新闻中心 > 国内新闻", "当前位置：首页 > 要闻 > 正文", "首页 | 时政 | 财经 | 社会"]
FOOTERS = [
    ["【纠错】 【打印】 【关闭】", "扫一扫在手机打开当前页"],
    ["关于我们 | 联系我们 | 广告服务 | 网站地图", "版权所有 © 2023 本网 京ICP备12345678号"],
    ["分享到：微信 微博 QQ空间", "本网站所刊登的各种新闻、信息和专栏资料，均为本网版权所有，未经协议授权禁止下载使用。"],
]


def headlines():
    out = []
    for p in sorted(glob.glob(f"{shared}/corpus/news/*/dev.articles.jsonl")):
        out += [t for t in (json.loads(l).get("title", "").strip() for l in open(p, encoding="utf-8")) if t]
    return out


def boilerplate(page, lines, titles):
    rng = random.Random(page)
    last = max(i for i, (_, l) in enumerate(lines) if l == "news")
    nav = [("", None), ("上一篇：" + rng.choice(titles), "filler"), ("下一篇：" + rng.choice(titles), "filler"),
           ("", None)] + [(t, "filler") for t in rng.choice(FOOTERS)]
    head = [(rng.choice(CRUMBS), "filler"), ("", None)]
    return head + lines[: last + 1] + nav + lines[last + 1:]


def top(lines):
    last = max(i for i, (_, l) in enumerate(lines) if l == "news")
    tail = lines[last + 1:]
    while tail and not tail[0][0].strip():
        tail.pop(0)
    return tail + [("", None), ("", None)] + lines[: last + 1] if tail else lines


def irregular(lines):
    rng = random.Random(7)
    out = []
    for k, (text, label) in enumerate(lines):
        between_news = 0 < k < len(lines) - 1 and lines[k - 1][1] == lines[k + 1][1] == "news"
        if not text.strip() and between_news and rng.random() < 0.3:
            continue
        out.append((text, label))
    return out


def inserted(page, lines, posts):
    rng = random.Random(f"{page}9")
    # A news paragraph, one blank line, a news paragraph: a place between two paragraphs.
    places = [k for k in range(1, len(lines) - 1)
              if not lines[k][0].strip() and lines[k - 1][1] == lines[k + 1][1] == "news"]
    out = list(lines)
    for k in sorted(rng.sample(places, min(len(places), rng.randint(1, 3))), reverse=True):
        out[k + 1:k + 1] = [(rng.choice(posts)[:80].strip(), "filler"), ("", None)]
    return out


def wrap(lines, width):
    return [(t[i:i + width], l) for t, l in lines for i in range(0, max(len(t), 1), width)]


def traditional(lines):
    from opencc import OpenCC
    s2t = OpenCC("s2t")
    return [(s2t.convert(t), l) for t, l in lines]


def composed(kind):
    rng = random.Random(5)
    pages = []
    if kind == "singles":
        for p in sorted(glob.glob(f"{shared}/corpus/*/*/dev.txt")):
            label = p.split("/")[-3]
            lines = [l.strip() for l in open(p, encoding="utf-8") if l.strip()]
            for t in rng.sample(lines, min(300, len(lines))):
                pages.append((f"{len(pages):05d}.txt", [(t, label)]))
    elif kind == "fillerdocs":
        sources = [[l.strip() for l in open(p, encoding="utf-8") if l.strip()]
                   for p in sorted(glob.glob(f"{shared}/corpus/filler/*/dev.txt"))]
        for n in range(300):
            posts = rng.choice(sources)
            sep = rng.choice([0, 1])
            lines = []
            for i in range(rng.choice([1, 1, 2, 3, 5, 8])):
                lines += [("", None)] * (sep if i else 0) + [(rng.choice(posts)[:80], "filler")]
            pages.append((f"{n:05d}.txt", lines))
    else:
        arts = []
        for p in sorted(glob.glob(f"{shared}/corpus/news/*/dev.articles.jsonl")):
            for l in open(p, encoding="utf-8"):
                a = json.loads(l)
                ps = [x.strip() for x in a.get("paragraphs", []) if x.strip()]
                if len(ps) >= 2:
                    arts.append((a.get("title", "").strip(), ps))
        for n in range(300):
            title, ps = rng.choice(arts)
            lines = [(title, "news"), ("", None)] if title else []
            for p in ps[: rng.randint(1, 6)]:
                lines += [(p, "news"), ("", None)]
            pages.append((f"{n:05d}.txt", lines[:-1]))
    return pages


if mode in ("fillerdocs", "newsdocs", "singles"):
    write(composed(mode))
elif mode == "inserted":
    posts = [l.strip() for p in sorted(glob.glob(f"{shared}/corpus/filler/*/dev.txt"))
             for l in open(p, encoding="utf-8") if l.strip()]
    write((page, inserted(page, lines, posts)) for page, lines in dev_pages())
elif mode == "boilerplate":
    titles = headlines()
    write((page, boilerplate(page, lines, titles)) for page, lines in dev_pages())
else:
    rewrite = {
        "double": lambda ls: respace(ls, lambda b, p, n: 2 * b),
        "single": lambda ls: respace(ls, lambda b, p, n: min(b, 1)),
        "flat": lambda ls: respace(ls, lambda b, p, n: 0),
        "spaced": lambda ls: respace(ls, lambda b, p, n: 2 if b == 0 and p == n == "filler" else b),
        "top": top,
        "wrap40": lambda ls: wrap(ls, 40),
        "irregular": irregular,
        "traditional": traditional,
    }[mode]
    write((page, rewrite(lines)) for page, lines in dev_pages())
PY
  fi
  printf '%-12s %s\n' "$mode" "$("$chaff" eval -q "${model[@]}" "$out/$mode" | head -1)"
done

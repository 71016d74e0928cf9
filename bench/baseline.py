#!/usr/bin/env python3
"""Baselines for chaff: plain jieba + scikit-learn MultinomialNB and jieba + fastText
(supervised, wordNgrams 2, 10 epochs), trained on the same data as the chaff model they
are compared with (a corpus TSV and composed pages), evaluated line by line on labelled
page sets. Run through bench/baselines.sh or bench/loso.sh, which install the packages
into a throwaway virtualenv.

usage: baseline.py --train-tsv corpus.tsv --train-pages pages_dir --eval NAME=DIR ...
                   [--systems sklearn,fasttext]
"""
import argparse, json, os, sys


def read_pages(d):
    """(text, label) pairs of a labelled page set (pages/ + labels.tsv, or NAME.txt +
    NAME.labels.tsv)."""
    out = []
    if os.path.exists(os.path.join(d, "labels.tsv")):
        labels = {}
        for i, row in enumerate(open(os.path.join(d, "labels.tsv"), encoding="utf-8")):
            if i == 0:
                continue
            p, n, c = row.rstrip("\n").split("\t")
            labels.setdefault(p, {})[int(n)] = c
        for p in sorted(labels):
            lines = open(os.path.join(d, "pages", p), encoding="utf-8").read().split("\n")
            out += [(lines[n - 1], c) for n, c in sorted(labels[p].items())]
    else:
        for f in sorted(os.listdir(d)):
            if f.endswith(".labels.tsv"):
                lines = open(os.path.join(d, f[: -len(".labels.tsv")] + ".txt"), encoding="utf-8").read().split("\n")
                for i, row in enumerate(open(os.path.join(d, f), encoding="utf-8")):
                    if i == 0:
                        continue
                    n, c = row.rstrip("\n").split("\t")[:2]
                    out.append((lines[int(n) - 1], c))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train-tsv", required=True)
    ap.add_argument("--train-pages", required=True)
    ap.add_argument("--eval", nargs="+", required=True)
    ap.add_argument("--systems", default="sklearn,fasttext")
    a = ap.parse_args()
    systems = a.systems.split(",")
    import jieba
    jieba.setLogLevel(60)
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.naive_bayes import MultinomialNB

    train = []
    for row in open(a.train_tsv, encoding="utf-8"):
        c, t = row.rstrip("\n").split("\t", 1)
        train.append((t, c))
    train += read_pages(a.train_pages)
    tok = lambda s: [w for w in jieba.cut(s, HMM=False) if w.strip()]
    evals = [(spec.split("=", 1)[0], read_pages(spec.split("=", 1)[1])) for spec in a.eval]
    predictors = {}
    if "sklearn" in systems:
        vec = CountVectorizer(tokenizer=tok, lowercase=False, token_pattern=None, min_df=2)
        X = vec.fit_transform([t for t, _ in train])
        nb = MultinomialNB(alpha=0.1).fit(X, [c for _, c in train])
        predictors["sklearn_multinomialnb"] = lambda texts: list(nb.predict(vec.transform(texts)))
    if "fasttext" in systems:
        import fasttext, tempfile
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as f:
            for t, c in train:
                f.write("__label__%s %s\n" % (c, " ".join(tok(t))))
            path = f.name
        ft = fasttext.train_supervised(path, wordNgrams=2, epoch=10, verbose=0, seed=1, thread=1)
        os.unlink(path)

        def ft_predict(texts):
            out = []
            for t in texts:
                labels, _ = ft.predict(" ".join(tok(t)).replace("\n", " "))
                out.append(labels[0][len("__label__"):] if labels else "filler")
            return out

        predictors["fasttext"] = ft_predict
    results = {}
    for system, predict in predictors.items():
        results[system] = {}
        for name, data in evals:
            pred = predict([t for t, _ in data])
            news = [p for (_, c), p in zip(data, pred) if c == "news"]
            filler = [p for (_, c), p in zip(data, pred) if c != "news"]
            results[system][name] = {
                "news_loss": sum(p != "news" for p in news) / max(1, len(news)),
                "filler_leak": sum(p == "news" for p in filler) / max(1, len(filler)),
                "lines": len(data),
            }
    json.dump(results, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()

//! Classifier: featurizer + model, scoring paragraphs into posteriors and keep/drop
//! decisions.

use crate::context::{ClassValues, Hmm, LineScore};
use crate::error::{Error, Result};
use crate::features::{Featurizer, Segmenter};
use crate::model::Model;

/// A model ready to score text, with the featurizer it was trained with.
pub struct Classifier {
    featurizer: Featurizer,
    model: Model,
    /// The context model's log parameters, computed once.
    hmm: Hmm,
    use_context: bool,
}

/// Which classes to keep and at what posterior; and, optionally, which documents to drop
/// whole ([`KeepPolicy::with_doc_threshold`]).
#[derive(Debug, Clone)]
pub struct KeepPolicy {
    keep: Vec<bool>,
    threshold: f64,
    /// 0: off.
    doc_threshold: f64,
}

impl KeepPolicy {
    /// The threshold on the kept classes' posterior.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The document threshold (0: none; see [`KeepPolicy::with_doc_threshold`]).
    pub fn doc_threshold(&self) -> f64 {
        self.doc_threshold
    }

    /// Drops a whole document none of whose paragraphs, read on its own (its tempered
    /// naive Bayes posterior, as `--no-context` reads every line), reaches `p` for the
    /// kept classes; `None` or 0: no document is dropped whole. For dumps that hold
    /// pages of nothing but posts, which the context model, having learned that pages
    /// open with an article, mostly keeps.
    pub fn with_doc_threshold(mut self, p: Option<f64>) -> Result<KeepPolicy> {
        let p = p.unwrap_or(0.0);
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::Usage(format!(
                "--doc-threshold must be between 0 and 1, got {p}"
            )));
        }
        self.doc_threshold = p;
        Ok(self)
    }

    /// The posterior mass of the kept classes.
    fn kept(&self, posteriors: &[f64]) -> f64 {
        posteriors
            .iter()
            .zip(&self.keep)
            .filter(|(_, &k)| k)
            .map(|(p, _)| p)
            .sum()
    }

    /// Keeps a line when the posteriors of `keep` classes sum to at least `threshold`.
    /// Unknown class names are an error listing the model's classes.
    pub fn new(model: &Model, keep: &[String], threshold: Option<f64>) -> Result<KeepPolicy> {
        let mut mask = vec![false; model.classes().len()];
        let wanted: Vec<String> = if keep.is_empty() {
            vec!["news".to_string()]
        } else {
            keep.to_vec()
        };
        for name in &wanted {
            match model.class_index(name) {
                Some(i) => mask[i] = true,
                None => {
                    // Without --keep, news is kept by default: say how to name another.
                    let hint = match keep.is_empty() {
                        true => "; name the class to keep with --keep",
                        false => "",
                    };
                    return Err(Error::Usage(format!(
                        "class {name:?} is not in the model (classes: {}){hint}",
                        model.classes().join(", ")
                    )));
                }
            }
        }
        let given = threshold.is_some();
        let threshold = threshold.unwrap_or(model.info.threshold);
        if !(0.0..=1.0).contains(&threshold) {
            return Err(Error::Usage(match given {
                true => format!("--threshold must be between 0 and 1, got {threshold}"),
                // Only a model written by hand, or before train checked it, holds one.
                false => format!(
                    "the model's threshold is {threshold}, not between 0 and 1; give --threshold"
                ),
            }));
        }
        Ok(KeepPolicy {
            keep: mask,
            threshold,
            doc_threshold: 0.0,
        })
    }

    /// Whether a line with these posteriors is kept.
    pub fn keeps(&self, posteriors: &[f64]) -> bool {
        self.kept(posteriors) >= self.threshold
    }

    /// Whether class `i` is one of the kept classes.
    pub fn is_kept_class(&self, i: usize) -> bool {
        self.keep.get(i).copied().unwrap_or(false)
    }
}

impl Classifier {
    /// Wraps a model with a featurizer built from its stored settings.
    pub fn new(model: Model) -> Classifier {
        Classifier {
            featurizer: Featurizer::new(model.info.features.clone()),
            hmm: Hmm::new(&model.context),
            model,
            use_context: true,
        }
    }

    /// Loads a model with `load` while jieba's dictionary is built on another thread: the
    /// two are most of chaff's start-up and independent of each other. The
    /// Traditional-to-Simplified table is built alongside.
    pub fn load(load: impl FnOnce() -> Result<Model>) -> Result<Classifier> {
        std::thread::scope(|scope| {
            let segmenter = std::thread::Builder::new()
                .name("chaff-dictionary".into())
                .spawn_scoped(scope, Segmenter::new)
                .map_err(Error::spawn)?;
            let model = load()?;
            // The Traditional-to-Simplified table every line's scan reads is built on
            // first use (~14 M instructions): here, while the dictionary is still being
            // built, rather than by the first worker.
            crate::traditional::Traditional::get();
            let segmenter = segmenter
                .join()
                .map_err(|_| Error::Internal("loading jieba's dictionary failed".into()))?;
            Ok(Classifier {
                featurizer: Featurizer::with_segmenter(model.info.features.clone(), segmenter),
                hmm: Hmm::new(&model.context),
                model,
                use_context: true,
            })
        })
    }

    /// Switches the context (sequence) model on or off; off, every line is scored alone.
    pub fn with_context(mut self, on: bool) -> Self {
        self.use_context = on;
        self
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The featurizer.
    pub fn featurizer(&self) -> &Featurizer {
        &self.featurizer
    }

    /// ln P(paragraph | class) per class (the joint log-likelihood without the prior),
    /// split into word and structure evidence.
    pub fn log_likelihood(&self, text: &str) -> LineScore {
        score_line(&self.model, &self.featurizer, text)
    }

    /// Posteriors for the paragraphs of one document, in order: with context, from the
    /// HMM over the document; without, and for a whole document of one paragraph, each
    /// line's tempered naive Bayes posterior ([`Classifier::alone`]).
    /// Each line's evidence enters relative to its likeliest class, so any paragraph
    /// length is safe. `blanks[i]` is the number of blank lines before paragraph `i`
    /// (missing entries count as none); one more entry, for a part of a document that
    /// continues, is the gap after the last paragraph (see
    /// [`crate::context::block_index`], which also reads how each paragraph ends).
    pub fn classify_lines(&self, texts: &[&str], blanks: &[usize]) -> Vec<ClassValues> {
        let ll = score_lines(&self.model, &self.featurizer, texts);
        self.posteriors(&ll, texts, blanks)
    }

    /// [`Classifier::classify_lines`] for a whole document, and whether it passes
    /// `policy`'s document threshold ([`KeepPolicy::with_doc_threshold`]): whether one of
    /// its paragraphs, read on its own, reaches it (a document of no paragraph does not;
    /// with no document threshold, every document passes).
    pub fn classify_document(
        &self,
        texts: &[&str],
        blanks: &[usize],
        policy: &KeepPolicy,
    ) -> (Vec<ClassValues>, bool) {
        let ll = score_lines(&self.model, &self.featurizer, texts);
        let passes = policy.doc_threshold <= 0.0
            || ll
                .iter()
                .any(|l| policy.kept(&self.alone(l)) >= policy.doc_threshold);
        (self.posteriors(&ll, texts, blanks), passes)
    }

    /// The posteriors of paragraphs scored `ll` (see [`Classifier::classify_lines`]).
    fn posteriors(&self, ll: &[LineScore], texts: &[&str], blanks: &[usize]) -> Vec<ClassValues> {
        if self.use_context && !is_lone(texts, blanks) {
            let ends = crate::context::sentence_ends(texts);
            self.model
                .context
                .posteriors_with(&self.hmm, ll, blanks, &ends)
        } else {
            ll.iter()
                .map(|l| ClassValues::from_vec(self.alone(l)))
                .collect()
        }
    }

    /// Whether lines are read in their document's context.
    pub fn uses_context(&self) -> bool {
        self.use_context
    }

    /// A line's posterior on its own: prior plus tempered likelihood.
    pub fn alone(&self, score: &LineScore) -> Vec<f64> {
        let t = self.model.context.temper(score);
        let s: Vec<f64> = t
            .iter()
            .zip(self.model.log_prior())
            .map(|(x, p)| p + x)
            .collect();
        softmax(&s)
    }
}

/// Whether `texts` (with `blanks`, as [`Classifier::classify_lines`] takes them) are a
/// whole document of one paragraph, which is read on its own even with context: it has
/// no neighbours to weigh, and the start probability, learned from pages (which open
/// with an article), would speak for news where nothing around the line does. A part
/// of a document that continues is not one.
pub fn is_lone(texts: &[&str], blanks: &[usize]) -> bool {
    texts.len() == 1 && blanks.len() <= 1
}

/// A line's naive Bayes evidence under `model`: the sum of ln P(token | class) over its
/// word tokens and, apart, over its structure tokens (tokens outside the vocabulary add
/// nothing).
pub fn score_line(model: &Model, featurizer: &Featurizer, text: &str) -> LineScore {
    score_lines(model, featurizer, &[text])
        .pop()
        .unwrap_or_else(|| LineScore::zero(model.classes().len()))
}

/// [`score_line`] for many lines. Lines are segmented first, a window at a time, and each
/// word's table slot is prefetched as soon as the word is known; the lookups come after
/// the whole window is segmented, when the slots are in cache. (Looked up right away,
/// nearly every rare word stalls on a cache miss: jieba's dictionary walk evicts the
/// table between two words.) Sums run in token order either way.
pub fn score_lines(model: &Model, featurizer: &Featurizer, texts: &[&str]) -> Vec<LineScore> {
    /// Words per window: their slots (64 bytes each at most) stay well inside L2.
    const WINDOW: usize = 2048;
    let k = model.classes().len();
    let table = model.token_table();
    let mut out = Vec::with_capacity(texts.len());
    // Sized up front (a token has at least one byte): grown a doubling at a time, these
    // were copied over and over, document after document.
    let bytes: usize = texts.iter().map(|t| t.len()).sum();
    let mut fps: Vec<u64> = Vec::with_capacity(bytes.min(WINDOW + WINDOW / 4));
    let mut ends: Vec<usize> = Vec::with_capacity(texts.len().min(WINDOW));
    let mut pending = 0; // first line of `out` whose words are not yet summed
    let flush =
        |out: &mut Vec<LineScore>, fps: &mut Vec<u64>, ends: &mut Vec<usize>, from: usize| {
            let mut start = 0;
            for (s, &end) in out[from..].iter_mut().zip(ends.iter()) {
                table.accumulate(&fps[start..end], &mut s.words);
                start = end;
            }
            fps.clear();
            ends.clear();
        };
    for text in texts {
        let mut s = LineScore::zero(k);
        featurizer.for_each_batch(
            text,
            |words| {
                for w in words.iter() {
                    let fp = table.key(w);
                    table.prefetch(fp);
                    fps.push(fp);
                    s.word_tokens += 1;
                }
            },
            |t| {
                s.structure_tokens += 1;
                if let Some(lp) = model.token_log_probs(t) {
                    s.structure.iter_mut().zip(lp).for_each(|(x, l)| *x += l);
                }
            },
        );
        out.push(s);
        ends.push(fps.len());
        if fps.len() >= WINDOW {
            flush(&mut out, &mut fps, &mut ends, pending);
            pending = out.len();
        }
    }
    flush(&mut out, &mut fps, &mut ends, pending);
    out
}

/// exp(x - logsumexp(x)): posteriors from log scores without overflow.
pub fn softmax(x: &[f64]) -> Vec<f64> {
    let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = x.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// Index of the largest value (first on ties).
pub fn argmax(x: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in x.iter().enumerate() {
        if *v > x[best] {
            best = i;
        }
    }
    best
}

//! The naive Bayes model: fitted by linfa-bayes `MultinomialNb` from exact counts, then
//! compiled into a sparse per-token table so scoring a paragraph costs O(its tokens), not
//! O(vocabulary).

use crate::context::ContextModel;
use crate::counts::Counts;
use crate::error::{Error, Result};
use crate::features::FeatureConfig;
use crate::seen::Seen;
use crate::token_table::TokenTable;
use linfa::prelude::*;
use linfa::DatasetBase;
use linfa_bayes::MultinomialNbParams;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

/// Training settings and what training saw; stored in the model file header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainInfo {
    /// Additive (Laplace/Lidstone) smoothing.
    pub alpha: f64,
    /// Tokens seen fewer times than this (all classes together) are left out of the table.
    pub min_count: u64,
    /// Featurizer settings the model was trained with.
    pub features: FeatureConfig,
    /// Default decision threshold on the posterior of the kept classes.
    pub threshold: f64,
    /// Human-readable provenance: one entry per training input, in order.
    pub inputs: Vec<String>,
    /// Labelled page sets the context scaling and threshold were tuned on (never
    /// counted); empty when they were fitted on held-out training lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tuned_on: Vec<String>,
}

/// A fitted model: exact counts (for update/forget) plus the compiled scoring table.
#[derive(Debug, Clone)]
pub struct Model {
    /// Settings and provenance.
    pub info: TrainInfo,
    /// The sequence model over a document's lines.
    pub context: ContextModel,
    /// The chaff version that wrote it: this build's for a model fitted in this
    /// process, else its file header's.
    pub written_by: String,
    /// Fingerprints of the labelled lines it was trained on; `None` for a model written
    /// before they were kept (format version 1), or updated from one.
    pub seen: Option<Seen>,
    counts: Counts,
    log_prior: Vec<f64>,
    /// Vocabulary (sorted) and its log P(token | class), row-major `[token][class]`.
    vocab: Vec<String>,
    log_prob: Vec<f64>,
    /// `vocab` → rows of `log_prob`, laid out for scoring.
    table: TokenTable,
}

impl Model {
    /// Fits a model from counts with linfa-bayes `MultinomialNb`.
    ///
    /// Multinomial NB depends on the data only through per-class token totals and
    /// paragraph counts, so instead of streaming one dense vocabulary-wide row per paragraph
    /// through `fit_with` (O(paragraphs x vocabulary) memory traffic), linfa is fed one row
    /// per class holding that class's totals: its `feature_log_prob` is then identical
    /// (sums of integers are exact in f64), and memory is O(classes x vocabulary). The class
    /// prior, which linfa derives from its row count, is taken from the true paragraph
    /// counts; a test checks the compiled table against linfa fitted on the raw rows.
    pub fn fit(counts: Counts, info: TrainInfo, context: ContextModel) -> Result<Model> {
        let k = counts.classes().len();
        if k < 2 {
            return Err(Error::Training(format!(
                "training data has {} class{} ({}); at least two are needed",
                k,
                if k == 1 { "" } else { "es" },
                counts.classes().join(", ")
            )));
        }
        if let Some(i) = counts.docs().iter().position(|&d| d == 0) {
            return Err(Error::Training(format!(
                "class {:?} has no paragraphs",
                counts.classes()[i]
            )));
        }
        if !(info.alpha > 0.0 && info.alpha.is_finite()) {
            return Err(Error::Usage(format!(
                "--alpha must be > 0, got {}",
                info.alpha
            )));
        }
        let min = info.min_count.max(1);
        let kept: Vec<(&str, &[u64])> = counts
            .sorted_tokens()
            .into_iter()
            .filter(|(_, c)| c.iter().sum::<u64>() >= min)
            .collect();
        if kept.is_empty() {
            return Err(Error::Training(format!(
                "no token occurs at least {min} times; lower --min-count"
            )));
        }
        let v = kept.len();
        let mut rows = Array2::<f64>::zeros((k, v));
        for (j, (_, c)) in kept.iter().enumerate() {
            for (i, &n) in c.iter().enumerate() {
                rows[(i, j)] = n as f64;
            }
        }
        let targets = Array1::from_iter(0..k);
        let feature_log_prob = fit_linfa(rows, targets, info.alpha)?;
        let total: u64 = counts.docs().iter().sum();
        let log_prior = counts
            .docs()
            .iter()
            .map(|&d| (d as f64 / total as f64).ln())
            .collect();
        let mut log_prob = vec![0.0; v * k];
        for (i, flp) in feature_log_prob.iter().enumerate() {
            for j in 0..v {
                log_prob[j * k + i] = flp[j];
            }
        }
        let vocab: Vec<String> = kept.iter().map(|(t, _)| t.to_string()).collect();
        if context.classes() != k {
            return Err(Error::Training(
                "context model classes differ from the counts".into(),
            ));
        }
        Ok(Model::from_parts(
            info, context, counts, log_prior, vocab, log_prob,
        ))
    }

    /// Assembles a model from already-compiled parts (used by the file reader).
    pub(crate) fn from_parts(
        info: TrainInfo,
        context: ContextModel,
        counts: Counts,
        log_prior: Vec<f64>,
        vocab: Vec<String>,
        log_prob: Vec<f64>,
    ) -> Model {
        let table = TokenTable::new(&vocab, &log_prob, log_prior.len());
        Model {
            info,
            context,
            written_by: env!("CARGO_PKG_VERSION").into(),
            seen: None,
            counts,
            log_prior,
            vocab,
            log_prob,
            table,
        }
    }

    /// Class names, in the order of every per-class vector.
    pub fn classes(&self) -> &[String] {
        self.counts.classes()
    }

    /// Index of a class by name.
    pub fn class_index(&self, name: &str) -> Option<usize> {
        self.counts.find_class(name)
    }

    /// The exact training counts.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// ln P(class).
    pub fn log_prior(&self) -> &[f64] {
        &self.log_prior
    }

    /// The scoring vocabulary, sorted.
    pub fn vocab(&self) -> &[String] {
        &self.vocab
    }

    /// ln P(token | class) for every class, or `None` for a token outside the vocabulary
    /// (such tokens are ignored, as a fixed-vocabulary vectorizer would).
    pub fn token_log_probs(&self, token: &str) -> Option<&[f64]> {
        self.table.get(token)
    }

    /// The scoring table.
    pub fn token_table(&self) -> &TokenTable {
        &self.table
    }

    /// The row-major `[token][class]` table.
    pub(crate) fn log_prob_table(&self) -> &[f64] {
        &self.log_prob
    }

    /// Joint log-likelihood ln P(class) + sum ln P(token | class) of a token sequence, one
    /// value per class, written into `out`.
    pub fn joint_log_likelihood<'a>(
        &self,
        tokens: impl IntoIterator<Item = &'a str>,
        out: &mut Vec<f64>,
    ) {
        out.clear();
        out.extend_from_slice(&self.log_prior);
        for t in tokens {
            if let Some(lp) = self.token_log_probs(t) {
                for (o, l) in out.iter_mut().zip(lp) {
                    *o += l;
                }
            }
        }
    }
}

/// Fits linfa-bayes on `rows` (one per target) and returns `feature_log_prob` per class.
fn fit_linfa(rows: Array2<f64>, targets: Array1<usize>, alpha: f64) -> Result<Vec<Vec<f64>>> {
    let k = targets.len();
    let dataset = DatasetBase::new(rows, targets);
    let params = MultinomialNbParams::<f64, usize>::new()
        .alpha(alpha)
        .check()
        .map_err(|e| Error::Training(format!("naive Bayes parameters: {e}")))?;
    let nb = quiet(|| params.fit_with(None, &dataset))
        .map_err(|e| Error::Training(format!("naive Bayes fit failed: {e}")))?;
    extract_feature_log_prob(&nb, k)
}

/// Runs `f` with the process's stderr pointed at /dev/null: linfa-bayes 0.8.1's
/// `fit_with` contains a leftover `dbg!` that would otherwise dump every class histogram.
/// If stderr cannot be redirected (e.g. already redirected), `f` runs anyway.
fn quiet<T>(f: impl FnOnce() -> T) -> T {
    let _gag = gag::Gag::stderr().ok();
    f()
}

/// linfa keeps the fitted parameters private; its serde form is the supported way out.
fn extract_feature_log_prob(
    nb: &linfa_bayes::MultinomialNb<f64, usize>,
    k: usize,
) -> Result<Vec<Vec<f64>>> {
    #[derive(Deserialize)]
    struct Hist {
        feature_log_prob: Array1<f64>,
    }
    #[derive(Deserialize)]
    struct Nb {
        class_info: std::collections::HashMap<usize, Hist>,
    }
    let bad = |e: String| Error::Training(format!("reading linfa-bayes parameters: {e}"));
    let value = serde_json::to_value(nb).map_err(|e| bad(e.to_string()))?;
    let mut parsed: Nb = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    (0..k)
        .map(|c| {
            parsed
                .class_info
                .remove(&c)
                .map(|h| h.feature_log_prob.to_vec())
                .ok_or_else(|| bad(format!("class {c} missing")))
        })
        .collect()
}

/// A human-readable description: classes, priors, sizes, settings, and per class the
/// tokens that most favour it (largest log-likelihood ratio against the other classes).
pub fn describe(model: &Model, top: usize) -> String {
    let k = model.classes().len();
    let mut s = String::new();
    s.push_str(&format!(
        "classes: {}\n",
        model
            .classes()
            .iter()
            .zip(model.counts().docs())
            .zip(model.log_prior())
            .map(|((c, n), lp)| format!("{c} (paragraphs {n}, prior {:.4})", lp.exp()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    s.push_str(&format!(
        "tokens counted: {}, in the scoring table: {} ({:.1} MB in memory)\n",
        model.counts().distinct_tokens(),
        model.vocab().len(),
        model.token_table().heap_bytes() as f64 / 1e6
    ));
    s.push_str(&format!(
        "alpha {}, min_count {}, threshold {}, jieba hmm {}, structure tokens {}, \
         words of lines without a letter or digit {}\n",
        model.info.alpha,
        model.info.min_count,
        model.info.threshold,
        model.info.features.hmm,
        model.info.features.structure,
        if model.info.features.wordless_symbol_lines {
            "ignored"
        } else {
            "counted"
        }
    ));
    let ctx = &model.context;
    s.push_str(&format!(
        "context: gamma {}, length power {}, structure weight {}, transition blocks {}\n",
        ctx.gamma,
        ctx.length_power,
        ctx.structure_gamma
            .map_or("(with the words)".to_string(), |g| g.to_string()),
        ctx.gap_blocks()
    ));
    let k2 = k * k;
    for (g, block) in ctx.trans.chunks(k2).enumerate() {
        let rows: Vec<String> = (0..k)
            .map(|i| {
                let row = &block[i * k..(i + 1) * k];
                let total: u64 = row.iter().sum();
                let probs: Vec<String> = row
                    .iter()
                    .map(|&c| format!("{:.3}", (c + 1) as f64 / (total + k as u64) as f64))
                    .collect();
                format!("{} -> [{}]", model.classes()[i], probs.join(" "))
            })
            .collect();
        s.push_str(&format!(
            "  transitions, {}: {}\n",
            crate::context::describe_block(ctx.gap_blocks(), g),
            rows.join("; ")
        ));
    }
    s.push_str(&format!("trained on: {}\n", model.info.inputs.join(" ")));
    s.push_str(&match &model.seen {
        Some(seen) => format!(
            "lines fingerprinted (what eval checks its data against): {}\n",
            seen.len()
        ),
        None => "lines fingerprinted: none (a model from before chaff kept them)\n".into(),
    });
    s.push_str(&format!("written by: chaff {}\n", model.written_by));
    if !model.info.tuned_on.is_empty() {
        s.push_str(&format!("tuned on: {}\n", model.info.tuned_on.join(" ")));
    }
    for c in 0..k {
        let mut scored: Vec<(f64, &str)> = model
            .vocab()
            .iter()
            .enumerate()
            .map(|(j, t)| {
                let row = &model.log_prob[j * k..(j + 1) * k];
                let others = row
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != c)
                    .map(|(_, &v)| v)
                    .fold(f64::NEG_INFINITY, f64::max);
                (row[c] - others, t.as_str())
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        s.push_str(&format!("top tokens for {}:", model.classes()[c]));
        for (llr, t) in scored.iter().take(top) {
            s.push_str(&format!(" {t}({llr:+.2})"));
        }
        s.push('\n');
    }
    s
}

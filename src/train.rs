//! Training: labelled documents -> counts -> fitted model (naive Bayes + context), plus
//! exact update and forget.

use crate::classifier::score_line;
use crate::context::{temper, ContextModel, Hmm, LineScore};
use crate::counts::Counts;
use crate::dataset::{read_labelled, LabelledDoc};
use crate::error::{Error, Result};
use crate::features::{FeatureConfig, Featurizer};
use crate::model::{Model, TrainInfo};
use rayon::prelude::*;
use std::path::PathBuf;

/// Settings for a new model.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Additive smoothing.
    pub alpha: f64,
    /// Minimum total occurrences for a token to enter the scoring table.
    pub min_count: u64,
    /// Featurizer settings.
    pub features: FeatureConfig,
    /// Default keep threshold; `None` picks it on held-out page lines.
    pub threshold: Option<f64>,
    /// Emission temperature of the context model; `None` fits it on held-out lines.
    pub gamma: Option<f64>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            alpha: 0.1,
            min_count: 2,
            features: FeatureConfig::default(),
            threshold: None,
            gamma: None,
        }
    }
}

/// Candidate temperatures for the context model's emissions.
const GAMMAS: &[f64] = &[
    0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0,
];
/// Candidate weights of the structure tokens' evidence.
const STRUCTURE_GAMMAS: &[f64] = &[0.0, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5];
/// Candidate length-normalisation powers.
const POWERS: &[f64] = &[0.0, 0.25, 0.5, 0.75, 1.0];
/// Candidate default thresholds on P(kept classes).
const THRESHOLDS: &[f64] = &[0.5, 0.4, 0.3, 0.2, 0.15, 0.1, 0.05, 0.02, 0.01];
/// Losing a news line costs this many leaked filler lines when picking the threshold.
const NEWS_LOSS_COST: f64 = 30.0;

/// Which cross-fitting fold a paragraph belongs to: by content, so a line that occurs both
/// in a TSV and in a page lands in the same fold.
fn fold(text: &str) -> usize {
    (crc32fast::hash(text.as_bytes()) & 1) as usize
}

/// Counts tokens of labelled documents, per cross-fitting fold. Work is split across
/// threads in fixed chunks and merged in chunk order; counts are integers, so the result
/// is the same whatever the thread count.
pub fn count_folds(docs: &[LabelledDoc], featurizer: &Featurizer) -> [Counts; 2] {
    let parts: Vec<[Counts; 2]> = docs
        .par_chunks(512)
        .map(|chunk| {
            let mut c = [Counts::new(), Counts::new()];
            let mut toks: Vec<String> = Vec::new();
            for doc in chunk {
                for l in &doc.lines {
                    toks.clear();
                    featurizer.for_each_token(&l.text, |t| toks.push(t.to_string()));
                    let f = &mut c[fold(&l.text)];
                    let class = f.class_index(&l.label);
                    f.add(class, toks.iter().map(String::as_str));
                }
            }
            c
        })
        .collect();
    let mut total = [Counts::new(), Counts::new()];
    for [a, b] in &parts {
        total[0].merge(a);
        total[1].merge(b);
    }
    total
}

/// All counts of labelled documents (both folds).
pub fn count_docs(docs: &[LabelledDoc], featurizer: &Featurizer) -> Counts {
    let [mut a, b] = count_folds(docs, featurizer);
    a.merge(&b);
    a
}

/// Start and transition counts of the page documents (TSV rows carry no sequence).
fn count_context(docs: &[LabelledDoc], counts: &Counts, gamma: f64) -> Result<ContextModel> {
    let mut ctx = ContextModel::empty(counts.classes().len(), gamma);
    for doc in docs.iter().filter(|d| d.page.is_some()) {
        let labels = doc
            .lines
            .iter()
            .map(|l| {
                counts.find_class(&l.label).ok_or_else(|| {
                    Error::input(
                        &doc.path,
                        l.line,
                        format!("label {:?} is not a class of the model", l.label),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        ctx.count_sequence(&labels, &blank_runs(doc));
    }
    Ok(ctx)
}

/// Blank lines before each labelled line of a page (from the page's line numbers).
fn blank_runs(doc: &LabelledDoc) -> Vec<usize> {
    let mut prev = 0;
    doc.lines
        .iter()
        .map(|l| {
            let b = l.line.saturating_sub(prev + 1);
            prev = l.line;
            b
        })
        .collect()
}

fn describe(inputs: &[PathBuf]) -> Vec<String> {
    inputs.iter().map(|p| p.display().to_string()).collect()
}

/// Trains a new model from labelled inputs.
pub fn train(inputs: &[PathBuf], opts: &TrainOptions) -> Result<Model> {
    let docs = read_labelled(inputs)?;
    let featurizer = Featurizer::new(opts.features.clone());
    let folds = count_folds(&docs, &featurizer);
    let mut counts = folds[0].clone();
    counts.merge(&folds[1]);
    let info = TrainInfo {
        alpha: opts.alpha,
        min_count: opts.min_count,
        features: opts.features.clone(),
        threshold: opts.threshold.unwrap_or(0.5),
        inputs: describe(inputs),
    };
    let mut context = count_context(&docs, &counts, opts.gamma.unwrap_or(1.0))?;
    // Fit what was not pinned on cross-fitted page lines: every line scored by the
    // naive Bayes of the fold that did not see it, as new pages will be.
    let mut threshold = info.threshold;
    if opts.gamma.is_none() || opts.threshold.is_none() {
        if let Some(held) = cross_fitted(&docs, &folds, &counts, &info, &featurizer)? {
            if opts.gamma.is_none() {
                let (g, p, sg) = fit_temperature(&held, &context);
                context.gamma = g;
                context.length_power = p;
                context.structure_gamma = Some(sg);
            }
            if opts.threshold.is_none() {
                if let Some(news) = counts.find_class("news") {
                    threshold = pick_threshold(&held, &context, news);
                }
            }
        }
    }
    let info = TrainInfo { threshold, ..info };
    Model::fit(counts, info, context)
}

/// Held-out page: per line the other fold's ln P(line | class), and the gold classes.
struct HeldOut {
    loglik: Vec<LineScore>,
    blanks: Vec<usize>,
    gold: Vec<usize>,
}

impl HeldOut {
    fn emissions(&self, gamma: f64, power: f64, structure: Option<f64>) -> Vec<Vec<f64>> {
        self.loglik
            .iter()
            .map(|l| temper(gamma, power, structure, l))
            .collect()
    }
}

fn cross_fitted(
    docs: &[LabelledDoc],
    folds: &[Counts; 2],
    all: &Counts,
    info: &TrainInfo,
    featurizer: &Featurizer,
) -> Result<Option<Vec<HeldOut>>> {
    let pages: Vec<&LabelledDoc> = docs.iter().filter(|d| d.page.is_some()).collect();
    if pages.is_empty() {
        return Ok(None);
    }
    let k = all.classes().len();
    let mut models = Vec::new();
    for f in folds {
        // Each fold model must know every class so indices line up.
        let mut c = f.clone();
        for name in all.classes() {
            c.class_index(name);
        }
        if c.docs().contains(&0) {
            return Ok(None); // too little data to hold any out
        }
        match Model::fit(c, info.clone(), ContextModel::empty(k, 1.0)) {
            Ok(m) => models.push(m),
            Err(_) => return Ok(None),
        }
    }
    let held = pages
        .par_iter()
        .map(|doc| {
            let mut loglik = Vec::with_capacity(doc.lines.len());
            let mut gold = Vec::with_capacity(doc.lines.len());
            for l in &doc.lines {
                let m = &models[1 - fold(&l.text)];
                loglik.push(score_line(m, featurizer, &l.text));
                gold.push(all.find_class(&l.label).unwrap_or(0));
            }
            HeldOut {
                loglik,
                blanks: blank_runs(doc),
                gold,
            }
        })
        .collect();
    Ok(Some(held))
}

/// The temperature and length power with the best held-out log-loss of the context
/// posteriors.
fn fit_temperature(held: &[HeldOut], ctx: &ContextModel) -> (f64, f64, f64) {
    let hmm = Hmm::new(ctx);
    let grid: Vec<(f64, f64, f64)> = POWERS
        .iter()
        .flat_map(|&b| {
            GAMMAS
                .iter()
                .flat_map(move |&g| STRUCTURE_GAMMAS.iter().map(move |&sg| (g, b, sg)))
        })
        .collect();
    // Each candidate's loss is summed in page order, so the choice does not depend on
    // the thread count.
    let losses: Vec<f64> = grid
        .par_iter()
        .map(|&(g, b, sg)| {
            held.iter()
                .map(|h| {
                    hmm.posteriors(&h.emissions(g, b, Some(sg)), &h.blanks)
                        .iter()
                        .zip(&h.gold)
                        .map(|(p, &y)| -p[y].max(1e-300).ln())
                        .sum::<f64>()
                })
                .sum()
        })
        .collect();
    let mut best = (f64::INFINITY, (1.0, 0.0, 1.0));
    for (loss, cand) in losses.into_iter().zip(grid) {
        if loss < best.0 {
            best = (loss, cand);
        }
    }
    best.1
}

/// The threshold on P(news) minimising `NEWS_LOSS_COST * news_loss + filler_leak` on
/// held-out pages, so losing news is rarer than leaking filler.
fn pick_threshold(held: &[HeldOut], ctx: &ContextModel, news: usize) -> f64 {
    let hmm = Hmm::new(ctx);
    let scored: Vec<(f64, bool)> = held
        .iter()
        .flat_map(|h| {
            hmm.posteriors(
                &h.emissions(ctx.gamma, ctx.length_power, ctx.structure_gamma),
                &h.blanks,
            )
            .into_iter()
            .zip(h.gold.iter().map(move |&y| y == news))
            .map(|(p, is_news)| (p[news], is_news))
            .collect::<Vec<_>>()
        })
        .collect();
    let n_news = scored.iter().filter(|s| s.1).count().max(1) as f64;
    let n_other = scored.iter().filter(|s| !s.1).count().max(1) as f64;
    let mut best = (f64::INFINITY, 0.5);
    for &t in THRESHOLDS {
        let lost = scored.iter().filter(|s| s.1 && s.0 < t).count() as f64;
        let leaked = scored.iter().filter(|s| !s.1 && s.0 >= t).count() as f64;
        let cost = NEWS_LOSS_COST * lost / n_news + leaked / n_other;
        if cost < best.0 {
            best = (cost, t);
        }
    }
    best.1
}

/// Adds labelled inputs to an existing model (same featurizer, settings, gamma and
/// threshold); counts and transitions become those of training on the union.
pub fn update(model: &Model, inputs: &[PathBuf]) -> Result<Model> {
    change(model, inputs, true)
}

/// Removes labelled inputs that were part of a model's training data; counts and
/// transitions become those of training without them.
pub fn forget(model: &Model, inputs: &[PathBuf]) -> Result<Model> {
    change(model, inputs, false)
}

fn change(model: &Model, inputs: &[PathBuf], add: bool) -> Result<Model> {
    let docs = read_labelled(inputs)?;
    let featurizer = Featurizer::new(model.info.features.clone());
    let delta = count_docs(&docs, &featurizer);
    let mut counts = model.counts().clone();
    let mut info = model.info.clone();
    if add {
        counts.merge(&delta);
    } else {
        counts
            .subtract(&delta)
            .map_err(|e| Error::Training(format!("cannot forget this data: {e}")))?;
    }
    // Re-express the context counts in the (possibly changed) class order.
    let k = counts.classes().len();
    let mut context = ContextModel::empty(k, model.context.gamma);
    context.length_power = model.context.length_power;
    context.structure_gamma = model.context.structure_gamma;
    let old = model.classes();
    let map: Vec<Option<usize>> = old.iter().map(|c| counts.find_class(c)).collect();
    for (i, &s) in model.context.start.iter().enumerate() {
        if let Some(ni) = map[i] {
            context.start[ni] = s;
        }
    }
    if model.context.gap_blocks() != crate::context::GAPS {
        return Err(Error::Training(
            "this model predates gap-aware context; retrain it from its data".into(),
        ));
    }
    let ok = old.len();
    for g in 0..crate::context::GAPS {
        for i in 0..ok {
            for j in 0..ok {
                if let (Some(ni), Some(nj)) = (map[i], map[j]) {
                    context.trans[(g * k + ni) * k + nj] =
                        model.context.trans[(g * ok + i) * ok + j];
                }
            }
        }
    }
    let delta_ctx = count_context(&docs, &counts, model.context.gamma)
        .map_err(|e| Error::Training(format!("cannot forget this data: {e}")))?;
    context
        .combine(&delta_ctx, add)
        .map_err(|e| Error::Training(format!("cannot forget this data: {e}")))?;
    let names = describe(inputs);
    if add {
        info.inputs.extend(names);
    } else {
        for g in &names {
            if let Some(i) = info.inputs.iter().position(|x| x == g) {
                info.inputs.remove(i);
            }
        }
    }
    Model::fit(counts, info, context)
}

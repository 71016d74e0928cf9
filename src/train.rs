//! Training: labelled documents -> counts -> fitted model (naive Bayes + context), plus
//! exact update and forget.

use crate::classifier::score_line;
use crate::context::{temper, ContextModel, Hmm, LineScore, BLOCKS};
use crate::counts::Counts;
use crate::dataset::{read_labelled, texts, LabelledDoc};
use crate::error::{Error, Result};
use crate::features::{FeatureConfig, Featurizer};
use crate::input::DecodeOptions;
use crate::model::{Model, TrainInfo};
use crate::seen::Seen;
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
    /// Labelled page sets, never counted, on which the emission scaling and (unless
    /// pinned) the threshold are picked by decision cost instead of being fitted on
    /// held-out training lines.
    pub tune_on: Vec<PathBuf>,
    /// How labelled files are decoded (`--encoding`, `--lossy`; detected by default).
    pub decode: DecodeOptions,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            alpha: 0.1,
            min_count: 2,
            features: FeatureConfig::default(),
            threshold: None,
            gamma: None,
            tune_on: Vec::new(),
            decode: DecodeOptions::default(),
        }
    }
}

impl TrainOptions {
    /// Refuses settings no model can use, before any data is read: a threshold outside
    /// [0, 1] (stored as the model's default, it would fail every run of the model as if
    /// that run had asked for it), a temperature that is not positive, or a smoothing
    /// that is not positive.
    pub fn check(&self) -> Result<()> {
        if let Some(t) = self.threshold.filter(|t| !(0.0..=1.0).contains(t)) {
            return Err(Error::Usage(format!(
                "--threshold must be between 0 and 1, got {t}"
            )));
        }
        if let Some(g) = self.gamma.filter(|g| !(*g > 0.0 && g.is_finite())) {
            return Err(Error::Usage(format!("--gamma must be > 0, got {g}")));
        }
        if !(self.alpha > 0.0 && self.alpha.is_finite()) {
            return Err(Error::Usage(format!(
                "--alpha must be > 0, got {}",
                self.alpha
            )));
        }
        Ok(())
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
/// threads in chunks, each job folding its chunks into one pair of tables, and the
/// tables are merged in whatever order the jobs end; counts are integer sums (and read
/// sorted), so the result is the same whatever the thread count or order.
pub fn count_folds(docs: &[LabelledDoc], featurizer: &Featurizer) -> [Counts; 2] {
    // One pair of tables a job, not one a chunk: a chunk's tables, held until all were
    // merged, took most of training's memory.
    docs.par_chunks(512)
        .fold(
            || [Counts::new(), Counts::new()],
            |mut c, chunk| {
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
            },
        )
        .reduce(
            || [Counts::new(), Counts::new()],
            |[mut a0, mut a1], [b0, b1]| {
                a0.merge(&b0);
                a1.merge(&b1);
                [a0, a1]
            },
        )
}

/// All counts of labelled documents (both folds).
pub fn count_docs(docs: &[LabelledDoc], featurizer: &Featurizer) -> Counts {
    let [mut a, b] = count_folds(docs, featurizer);
    a.merge(&b);
    a
}

/// Start and transition counts of the page documents (TSV rows carry no sequence).
/// `blocks`: transition blocks of the context model counted into (see [`ContextModel`]).
fn count_context(
    docs: &[LabelledDoc],
    counts: &Counts,
    gamma: f64,
    blocks: usize,
) -> Result<ContextModel> {
    let mut ctx = ContextModel::with_blocks(counts.classes().len(), gamma, blocks);
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
        ctx.count_sequence(&labels, &blank_runs(doc), &sentence_ends_of(doc));
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

/// Whether each labelled line ends a sentence (see [`crate::context::ends_sentence`]).
fn sentence_ends_of(doc: &LabelledDoc) -> Vec<bool> {
    doc.lines
        .iter()
        .map(|l| crate::context::ends_sentence(&l.text))
        .collect()
}

fn describe(inputs: &[PathBuf]) -> Vec<String> {
    inputs.iter().map(|p| p.display().to_string()).collect()
}

/// Trains a new model from labelled inputs.
pub fn train(inputs: &[PathBuf], opts: &TrainOptions) -> Result<Model> {
    opts.check()?;
    // Settings fitted on pages the model was trained on fit those pages, not new ones.
    // (A tuning input that is no page set, no folder, is refused as that.)
    let real = |p: &PathBuf| std::fs::canonicalize(p).ok();
    let trained: Vec<PathBuf> = inputs.iter().filter_map(real).collect();
    if let Some(t) = opts
        .tune_on
        .iter()
        .filter(|t| t.is_dir())
        .find(|t| real(t).is_some_and(|r| trained.contains(&r)))
    {
        return Err(Error::Usage(format!(
            "{}: --tune-on names training data; tune on labelled pages the model is not trained on",
            t.display()
        )));
    }
    if !opts.tune_on.is_empty() && opts.gamma.is_some() {
        return Err(Error::Usage(
            "--tune-on picks the temperature itself; leave out --gamma".into(),
        ));
    }
    let docs = read_labelled(inputs, &opts.decode)?;
    // Read before the long work, so a bad tuning input fails at once.
    let tuning = read_tuning_pages(&opts.tune_on, &opts.decode)?;
    let seen = Seen::of(texts(&docs));
    // Pages that are training data under another path (a copy) are refused too.
    let overlap = seen.overlap(texts(&tuning));
    if overlap.is_training_data() {
        return Err(Error::Usage(format!(
            "--tune-on: {} of its {} distinct lines ({:.1} %) are lines of the training data; tune on labelled pages the model is not trained on",
            overlap.distinct_seen,
            overlap.distinct,
            100.0 * overlap.share()
        )));
    }
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
        tuned_on: Vec::new(),
    };
    let mut context = count_context(&docs, &counts, opts.gamma.unwrap_or(1.0), BLOCKS)?;
    // Fit what was not pinned on cross-fitted page lines: every line scored by the
    // naive Bayes of the fold that did not see it, as new pages will be.
    let mut threshold = info.threshold;
    if tuning.is_empty() && (opts.gamma.is_none() || opts.threshold.is_none()) {
        if let Some(held) = cross_fitted(&docs, &folds, &counts, &info, &featurizer)? {
            if opts.gamma.is_none() {
                // Against the gap-before transitions: the full ones explain held-out
                // training pages so well that a handful of their lines decide the fit,
                // and it then trusted words over layout and lost whole articles on
                // eval/dev (1.3 % of news lines against 0.09 %; README, "How it works").
                let (g, p, sg) = fit_temperature(&held, &context.gap_before_only());
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
    let mut model = Model::fit(counts, info, context)?;
    model.seen = Some(seen);
    if !tuning.is_empty() {
        let news = model.counts().find_class("news").ok_or_else(|| {
            Error::Training("tuning needs a class named news (the kept class)".into())
        })?;
        let pages: Vec<&LabelledDoc> = tuning.iter().collect();
        let scored = score_pages(&pages, model.counts(), &featurizer, |_| &model)?;
        let t = tune(&scored, &model.context, news, opts.threshold);
        model.context.gamma = t.gamma;
        model.context.length_power = t.power;
        model.context.structure_gamma = Some(t.structure);
        model.info.threshold = t.threshold;
        model.info.tuned_on = describe(&opts.tune_on);
    }
    Ok(model)
}

/// The labelled pages of `inputs` (page sets only: tuning needs line order and layout).
fn read_tuning_pages(inputs: &[PathBuf], decode: &DecodeOptions) -> Result<Vec<LabelledDoc>> {
    if inputs.is_empty() {
        return Ok(Vec::new());
    }
    let docs = read_labelled(inputs, decode)?;
    if let Some(d) = docs.iter().find(|d| d.page.is_none()) {
        return Err(Error::Usage(format!(
            "{}: --tune-on takes labelled page sets (a folder with pages/ and labels.tsv)",
            d.path.display()
        )));
    }
    if docs.is_empty() {
        return Err(Error::Usage("--tune-on: no labelled pages found".into()));
    }
    Ok(docs)
}

/// Held-out page: per line the other fold's ln P(line | class), and the gold classes.
struct HeldOut {
    loglik: Vec<LineScore>,
    blanks: Vec<usize>,
    ends: Vec<bool>,
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
    score_pages(&pages, all, featurizer, |text| &models[1 - fold(text)]).map(Some)
}

/// Scores every line of labelled `pages` with the naive Bayes `model_of` its text picks;
/// a label that is not a class of `counts` is an error naming the page and line.
fn score_pages<'m>(
    pages: &[&LabelledDoc],
    counts: &Counts,
    featurizer: &Featurizer,
    model_of: impl Fn(&str) -> &'m Model + Sync,
) -> Result<Vec<HeldOut>> {
    pages
        .par_iter()
        .map(|doc| {
            let mut loglik = Vec::with_capacity(doc.lines.len());
            let mut gold = Vec::with_capacity(doc.lines.len());
            for l in &doc.lines {
                loglik.push(score_line(model_of(&l.text), featurizer, &l.text));
                gold.push(counts.find_class(&l.label).ok_or_else(|| {
                    Error::input(
                        &doc.path,
                        l.line,
                        format!("label {:?} is not a class of the model", l.label),
                    )
                })?);
            }
            Ok(HeldOut {
                loglik,
                blanks: blank_runs(doc),
                ends: sentence_ends_of(doc),
                gold,
            })
        })
        .collect()
}

/// Every candidate (temperature, length power, structure weight), in a fixed order.
fn scaling_grid() -> Vec<(f64, f64, f64)> {
    POWERS
        .iter()
        .flat_map(|&b| {
            GAMMAS
                .iter()
                .flat_map(move |&g| STRUCTURE_GAMMAS.iter().map(move |&sg| (g, b, sg)))
        })
        .collect()
}

/// The temperature and length power with the best held-out log-loss of the context
/// posteriors.
fn fit_temperature(held: &[HeldOut], ctx: &ContextModel) -> (f64, f64, f64) {
    let hmm = Hmm::new(ctx);
    let grid = scaling_grid();
    // Each candidate's loss is summed in page order, so the choice does not depend on
    // the thread count.
    let losses: Vec<f64> = grid
        .par_iter()
        .map(|&(g, b, sg)| {
            held.iter()
                .map(|h| {
                    hmm.posteriors(&h.emissions(g, b, Some(sg)), &h.blanks, &h.ends)
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

/// Every line of `held` as (P(news), is news) under the context model `hmm` with the
/// emission scaling (`gamma`, `power`, `structure`).
fn news_scores(
    held: &[HeldOut],
    hmm: &Hmm,
    (gamma, power, structure): (f64, f64, Option<f64>),
    news: usize,
) -> Vec<(f64, bool)> {
    held.iter()
        .flat_map(|h| {
            hmm.posteriors(&h.emissions(gamma, power, structure), &h.blanks, &h.ends)
                .into_iter()
                .zip(h.gold.iter().map(move |&y| y == news))
                .map(|(p, is_news)| (p[news], is_news))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The threshold among `thresholds` with the least decision cost
/// (`NEWS_LOSS_COST * news_loss + filler_leak`) on scored lines, and that cost; the
/// first of equal ones.
fn cheapest_threshold(scored: &[(f64, bool)], thresholds: &[f64]) -> (f64, f64) {
    let n_news = scored.iter().filter(|s| s.1).count().max(1) as f64;
    let n_other = scored.iter().filter(|s| !s.1).count().max(1) as f64;
    let mut best = (f64::INFINITY, thresholds.first().copied().unwrap_or(0.5));
    for &t in thresholds {
        let lost = scored.iter().filter(|s| s.1 && s.0 < t).count() as f64;
        let leaked = scored.iter().filter(|s| !s.1 && s.0 >= t).count() as f64;
        let cost = NEWS_LOSS_COST * lost / n_news + leaked / n_other;
        if cost < best.0 {
            best = (cost, t);
        }
    }
    (best.1, best.0)
}

/// The threshold on P(news) minimising `NEWS_LOSS_COST * news_loss + filler_leak` on
/// held-out pages, so losing news is rarer than leaking filler.
fn pick_threshold(held: &[HeldOut], ctx: &ContextModel, news: usize) -> f64 {
    let scaling = (ctx.gamma, ctx.length_power, ctx.structure_gamma);
    let scored = news_scores(held, &Hmm::new(ctx), scaling, news);
    cheapest_threshold(&scored, THRESHOLDS).0
}

/// What tuning on labelled pages chose.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tuned {
    gamma: f64,
    power: f64,
    structure: f64,
    threshold: f64,
}

/// The emission scaling and threshold with the least decision cost on `pages` (labelled
/// pages the model was not trained on, scored by its naive Bayes), over the same grid the
/// held-out fit searches; `threshold` pins the threshold. Costs are integer counts of
/// lines, so the choice does not depend on the thread count; of equal ones the first in
/// grid order wins.
fn tune(pages: &[HeldOut], ctx: &ContextModel, news: usize, threshold: Option<f64>) -> Tuned {
    let hmm = Hmm::new(ctx);
    let pinned = threshold.map(|t| vec![t]);
    let thresholds = pinned.as_deref().unwrap_or(THRESHOLDS);
    let grid = scaling_grid();
    let costs: Vec<(f64, f64)> = grid
        .par_iter()
        .map(|&(g, b, sg)| {
            cheapest_threshold(
                &news_scores(pages, &hmm, (g, b, Some(sg)), news),
                thresholds,
            )
        })
        .collect();
    // The first of equal costs (`min_by` keeps the first minimum).
    let (i, &(threshold, _)) = costs
        .iter()
        .enumerate()
        .min_by(|a, b| a.1 .1.total_cmp(&b.1 .1))
        .expect("the grid is not empty");
    let (gamma, power, structure) = grid[i];
    Tuned {
        gamma,
        power,
        structure,
        threshold,
    }
}

/// Adds labelled inputs to an existing model (same featurizer, settings, gamma and
/// threshold); counts and transitions become those of training on the union. `decode`:
/// how the inputs are decoded.
pub fn update(model: &Model, inputs: &[PathBuf], decode: &DecodeOptions) -> Result<Model> {
    change(model, inputs, decode, true)
}

/// Removes labelled inputs that were part of a model's training data; counts and
/// transitions become those of training without them. `decode`: how the inputs are
/// decoded.
pub fn forget(model: &Model, inputs: &[PathBuf], decode: &DecodeOptions) -> Result<Model> {
    change(model, inputs, decode, false)
}

fn change(model: &Model, inputs: &[PathBuf], decode: &DecodeOptions, add: bool) -> Result<Model> {
    let docs = read_labelled(inputs, decode)?;
    let featurizer = Featurizer::new(model.info.features.clone());
    let delta = count_docs(&docs, &featurizer);
    let mut counts = model.counts().clone();
    let mut info = model.info.clone();
    // A model without fingerprints (format 1) stays without: its other lines are unknown.
    let mut seen = model.seen.clone();
    let lines = Seen::of(texts(&docs));
    if add {
        counts.merge(&delta);
        if let Some(s) = &mut seen {
            s.merge(&lines);
        }
    } else {
        counts
            .subtract(&delta)
            .map_err(|e| Error::Training(format!("cannot forget this data: {e}")))?;
        if let Some(s) = &mut seen {
            s.subtract(&lines)
                .map_err(|print| unseen_line(&docs, print))?;
        }
    }
    // Re-express the context counts in the (possibly changed) class order.
    let k = counts.classes().len();
    // The model keeps its transition blocks (a model from before the gap after was seen
    // stays one, so its decisions change only by the data added or removed).
    let blocks = model.context.gap_blocks();
    if blocks == 1 {
        return Err(Error::Training(
            "this model predates gap-aware context; retrain it from its data".into(),
        ));
    }
    let mut context = ContextModel::with_blocks(k, model.context.gamma, blocks);
    context.length_power = model.context.length_power;
    context.structure_gamma = model.context.structure_gamma;
    let old = model.classes();
    let map: Vec<Option<usize>> = old.iter().map(|c| counts.find_class(c)).collect();
    for (i, &s) in model.context.start.iter().enumerate() {
        if let Some(ni) = map[i] {
            context.start[ni] = s;
        }
    }
    let ok = old.len();
    for g in 0..blocks {
        for i in 0..ok {
            for j in 0..ok {
                if let (Some(ni), Some(nj)) = (map[i], map[j]) {
                    context.trans[(g * k + ni) * k + nj] =
                        model.context.trans[(g * ok + i) * ok + j];
                }
            }
        }
    }
    let delta_ctx = count_context(&docs, &counts, model.context.gamma, blocks)
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
    let left = counts.classes().len();
    if !add && left < 2 {
        // Model::fit would word it as training data with too few classes.
        return Err(Error::Training(format!(
            "cannot forget this data: it is all the model's paragraphs of {}, and a model needs two classes",
            old.iter()
                .filter(|c| counts.find_class(c).is_none())
                .cloned()
                .collect::<Vec<_>>()
                .join(" and ")
        )));
    }
    let mut changed = Model::fit(counts, info, context)?;
    changed.seen = seen;
    Ok(changed)
}

/// The error for forgetting a line the model was not trained on (so many times), named
/// by its place: the first labelled line of that fingerprint.
fn unseen_line(docs: &[LabelledDoc], print: u32) -> Error {
    let at = docs.iter().find_map(|d| {
        (d.lines.iter())
            .find(|l| crate::seen::fingerprint(&l.text) == print)
            .map(|l| (d, l))
    });
    let msg =
        "cannot forget this data: the model was not trained on this line (or not as many times)";
    match at {
        Some((d, l)) => Error::input(&d.path, l.line, msg),
        None => Error::Training(msg.into()),
    }
}

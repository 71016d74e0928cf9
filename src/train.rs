//! Training: labelled documents -> counts -> fitted model; plus exact update and forget.

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
    /// Default keep threshold stored in the model.
    pub threshold: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            alpha: 0.1,
            min_count: 2,
            features: FeatureConfig::default(),
            threshold: 0.5,
        }
    }
}

/// Counts the tokens of labelled documents. Work is split across threads in fixed
/// chunks and merged in chunk order; since counts are integers the result is the same
/// whatever the thread count.
pub fn count_docs(docs: &[LabelledDoc], featurizer: &Featurizer) -> Counts {
    let parts: Vec<Counts> = docs
        .par_chunks(512)
        .map(|chunk| {
            let mut c = Counts::new();
            let mut toks: Vec<String> = Vec::new();
            for doc in chunk {
                for l in &doc.lines {
                    toks.clear();
                    featurizer.for_each_token(&l.text, |t| toks.push(t.to_string()));
                    let class = c.class_index(&l.label);
                    c.add(class, toks.iter().map(String::as_str));
                }
            }
            c
        })
        .collect();
    let mut total = Counts::new();
    for p in &parts {
        total.merge(p);
    }
    total
}

fn describe(inputs: &[PathBuf]) -> Vec<String> {
    inputs.iter().map(|p| p.display().to_string()).collect()
}

/// Trains a new model from labelled inputs.
pub fn train(inputs: &[PathBuf], opts: &TrainOptions) -> Result<Model> {
    let docs = read_labelled(inputs)?;
    let featurizer = Featurizer::new(opts.features.clone());
    let counts = count_docs(&docs, &featurizer);
    Model::fit(
        counts,
        TrainInfo {
            alpha: opts.alpha,
            min_count: opts.min_count,
            features: opts.features.clone(),
            threshold: opts.threshold,
            inputs: describe(inputs),
        },
    )
}

/// Adds labelled inputs to an existing model (same featurizer and settings); the result
/// equals training on the union of the data.
pub fn update(model: &Model, inputs: &[PathBuf]) -> Result<Model> {
    let docs = read_labelled(inputs)?;
    let featurizer = Featurizer::new(model.info.features.clone());
    let mut counts = model.counts().clone();
    counts.merge(&count_docs(&docs, &featurizer));
    let mut info = model.info.clone();
    info.inputs.extend(describe(inputs));
    Model::fit(counts, info)
}

/// Removes labelled inputs that were part of a model's training data; the result equals
/// training without them.
pub fn forget(model: &Model, inputs: &[PathBuf]) -> Result<Model> {
    let docs = read_labelled(inputs)?;
    let featurizer = Featurizer::new(model.info.features.clone());
    let mut counts = model.counts().clone();
    counts
        .subtract(&count_docs(&docs, &featurizer))
        .map_err(|e| Error::Training(format!("cannot forget this data: {e}")))?;
    let mut info = model.info.clone();
    let gone = describe(inputs);
    // Provenance lists what the model holds: drop the forgotten inputs' first mentions.
    for g in &gone {
        if let Some(i) = info.inputs.iter().position(|x| x == g) {
            info.inputs.remove(i);
        }
    }
    Model::fit(counts, info)
}

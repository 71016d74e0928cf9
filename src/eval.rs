//! Evaluation against labelled data: the same decisions `filter` makes, scored per class.

use crate::classifier::{Classifier, KeepPolicy};
use crate::dataset::LabelledDoc;
use crate::error::{Error, Result};
use crate::pipeline::decide;
use crate::reader::split_lines;
use crate::seen::Overlap;
use rayon::prelude::*;
use serde::Serialize;

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, Serialize)]
pub struct ClassScores {
    /// Class name.
    pub class: String,
    /// Lines of this class in the data.
    pub support: u64,
    /// Of lines predicted as this class, the share that are.
    pub precision: f64,
    /// Of lines of this class, the share predicted so.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

/// The result of `chaff eval`.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Labelled lines scored.
    pub lines: u64,
    /// Share of lines whose decision matches the label.
    pub accuracy: f64,
    /// Kept-class lines dropped / kept-class lines ("news lost").
    pub news_loss: f64,
    /// Other lines kept / other lines ("filler leaked").
    pub filler_leak: f64,
    /// Per-class scores, in model class order.
    pub classes: Vec<ClassScores>,
    /// `confusion[gold][predicted]`, in model class order.
    pub confusion: Vec<Vec<u64>>,
    /// Class names labelling the confusion matrix.
    pub labels: Vec<String>,
    /// Mean squared error of the kept-class posterior against the label (Brier score).
    pub brier: f64,
    /// The keep threshold used.
    pub threshold: f64,
    /// The document threshold used (`--doc-threshold`), if any: documents that failed it
    /// had every line dropped (the reliability curve and plots are of the line
    /// posteriors, which it does not change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_threshold: Option<f64>,
    /// Reliability curve: lines binned by kept-class posterior (tenths), with the share
    /// that really are of a kept class.
    pub reliability: Vec<ReliabilityBin>,
    /// How much of the data is lines the model was trained on (by their fingerprints,
    /// [`crate::seen`]): scores on them prove little. `None` when the model keeps no
    /// fingerprints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen_in_training: Option<Overlap>,
    /// Every line's kept-class posterior and whether it is of a kept class (for plots).
    #[serde(skip)]
    pub points: Vec<(f64, bool)>,
}

/// One bin of the reliability curve.
#[derive(Debug, Clone, Serialize)]
pub struct ReliabilityBin {
    /// Lower edge of the posterior bin.
    pub from: f64,
    /// Upper edge.
    pub to: f64,
    /// Lines in the bin.
    pub lines: u64,
    /// Mean predicted kept-class posterior in the bin.
    pub mean_predicted: f64,
    /// Share of the bin's lines that are of a kept class.
    pub observed: f64,
}

fn reliability(points: &[(f64, bool)]) -> Vec<ReliabilityBin> {
    (0..10)
        .map(|b| {
            let (from, to) = (b as f64 / 10.0, (b + 1) as f64 / 10.0);
            let inside: Vec<&(f64, bool)> = points
                .iter()
                .filter(|(p, _)| *p >= from && (*p < to || (b == 9 && *p <= 1.0)))
                .collect();
            let n = inside.len().max(1) as f64;
            ReliabilityBin {
                from,
                to,
                lines: inside.len() as u64,
                mean_predicted: inside.iter().map(|x| x.0).sum::<f64>() / n,
                observed: inside.iter().filter(|x| x.1).count() as f64 / n,
            }
        })
        .collect()
}

/// A labelled line as decided.
struct Scored {
    /// Its label's class.
    gold: usize,
    /// The class decided (the most probable on the side of its keep decision).
    decided: usize,
    /// P(kept classes).
    p_keep: f64,
    /// Whether `filter` keeps it.
    keep: bool,
}

/// Decides one labelled document as `filter` would and scores its labelled lines.
fn score_doc(
    classifier: &Classifier,
    policy: &KeepPolicy,
    classes: &[String],
    doc: &LabelledDoc,
) -> Result<Vec<Scored>> {
    let k = classes.len();
    // Page sets are scored as whole pages (context matters); rows one by one.
    let bytes: Vec<u8> = match &doc.page {
        Some(p) => p.clone(),
        None => doc
            .lines
            .iter()
            .flat_map(|l| l.text.bytes().chain(std::iter::once(b'\n')))
            .collect(),
    };
    let lines = split_lines(&bytes).map_err(|(l, m)| Error::input(&doc.path, l, m))?;
    let decisions = decide(classifier, policy, &lines, false);
    let mut scored = Vec::with_capacity(doc.lines.len());
    for (j, gold) in doc.lines.iter().enumerate() {
        // Rows were laid out one per line above; pages keep their own numbering.
        let idx = if doc.page.is_some() { gold.line - 1 } else { j };
        let d = decisions
            .get(idx)
            .and_then(|d| d.as_ref())
            .ok_or_else(|| Error::input(&doc.path, gold.line, "labelled line not found"))?;
        let g = classifier.model().class_index(&gold.label).ok_or_else(|| {
            Error::input(
                &doc.path,
                gold.line,
                format!(
                    "label {:?} is not a class of the model ({})",
                    gold.label,
                    classes.join(", ")
                ),
            )
        })?;
        let decided = (0..k)
            .filter(|&c| policy.is_kept_class(c) == d.keep)
            .max_by(|&a, &b| d.posteriors[a].total_cmp(&d.posteriors[b]).then(b.cmp(&a)))
            .unwrap_or(d.label);
        let p_keep: f64 = (0..k)
            .filter(|&c| policy.is_kept_class(c))
            .map(|c| d.posteriors[c])
            .sum();
        scored.push(Scored {
            gold: g,
            decided,
            p_keep,
            keep: d.keep,
        });
    }
    Ok(scored)
}

/// Scores `docs` with the classifier. The predicted class of a line is the most probable
/// class on the side (kept or dropped) of its keep decision, so the matrix describes
/// what `filter` does.
pub fn evaluate(
    classifier: &Classifier,
    policy: &KeepPolicy,
    docs: &[LabelledDoc],
) -> Result<EvalReport> {
    let classes = classifier.model().classes().to_vec();
    let k = classes.len();
    let mut confusion = vec![vec![0u64; k]; k];
    let (mut keep_total, mut keep_lost, mut other_total, mut other_kept) = (0u64, 0u64, 0u64, 0u64);
    let mut brier = 0.0;
    let mut points = Vec::new();
    let mut n = 0u64;
    // Documents are decided in parallel and summed in their order: the report is the
    // same whatever the thread count (the Brier sum included).
    let scored: Vec<Result<Vec<Scored>>> = docs
        .par_iter()
        .map(|doc| score_doc(classifier, policy, &classes, doc))
        .collect();
    for doc in scored {
        for line in doc? {
            confusion[line.gold][line.decided] += 1;
            let gold_kept = policy.is_kept_class(line.gold);
            brier += (line.p_keep - if gold_kept { 1.0 } else { 0.0 }).powi(2);
            points.push((line.p_keep, gold_kept));
            n += 1;
            if gold_kept {
                keep_total += 1;
                keep_lost += u64::from(!line.keep);
            } else {
                other_total += 1;
                other_kept += u64::from(line.keep);
            }
        }
    }
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let scores = (0..k)
        .map(|c| {
            let tp = confusion[c][c];
            let support: u64 = confusion[c].iter().sum();
            let predicted: u64 = confusion.iter().map(|r| r[c]).sum();
            let precision = ratio(tp, predicted);
            let recall = ratio(tp, support);
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            ClassScores {
                class: classes[c].clone(),
                support,
                precision,
                recall,
                f1,
            }
        })
        .collect();
    let correct: u64 = (0..k).map(|c| confusion[c][c]).sum();
    Ok(EvalReport {
        lines: n,
        accuracy: ratio(correct, n),
        news_loss: ratio(keep_lost, keep_total),
        filler_leak: ratio(other_kept, other_total),
        classes: scores,
        confusion,
        labels: classes,
        brier: if n == 0 { 0.0 } else { brier / n as f64 },
        threshold: policy.threshold(),
        doc_threshold: Some(policy.doc_threshold()).filter(|&p| p > 0.0),
        reliability: reliability(&points),
        seen_in_training: (classifier.model().seen.as_ref())
            .map(|s| s.overlap(crate::dataset::texts(docs))),
        points,
    })
}

impl EvalReport {
    /// A warning when much of the data is lines the model was trained on
    /// ([`crate::seen::TRAINED_SHARE`] or more of its distinct lines).
    pub fn seen_warning(&self) -> Option<String> {
        let seen = self.seen_in_training.filter(Overlap::is_training_data)?;
        Some(format!(
            "{} of the {} distinct labelled lines ({:.1} %) are lines this model was trained on: its scores on them prove little",
            seen.distinct_seen,
            seen.distinct,
            100.0 * seen.share()
        ))
    }

    /// A human-readable report.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "lines {}  accuracy {:.4}  news_loss {:.4}  filler_leak {:.4}  brier {:.4}\n\n",
            self.lines, self.accuracy, self.news_loss, self.filler_leak, self.brier
        ));
        if let Some(seen) = self.seen_in_training {
            let pct = |a: u64, b: u64| 100.0 * a as f64 / b.max(1) as f64;
            s.push_str(&format!(
                "lines the model was trained on: {} ({:.2} %); distinct: {} of {} ({:.2} %)\n\n",
                seen.lines,
                pct(seen.lines, self.lines),
                seen.distinct_seen,
                seen.distinct,
                pct(seen.distinct_seen, seen.distinct)
            ));
        }
        s.push_str("class        support  precision  recall     f1\n");
        for c in &self.classes {
            s.push_str(&format!(
                "{:<12} {:>7}  {:>9.4}  {:>6.4}  {:>6.4}\n",
                c.class, c.support, c.precision, c.recall, c.f1
            ));
        }
        let gate = self
            .doc_threshold
            .map_or_else(String::new, |p| format!(", document threshold {p}"));
        s.push_str(&format!(
            "\nreliability (kept-class posterior bin: lines, mean predicted, observed; threshold {}{gate})\n",
            self.threshold
        ));
        for b in self.reliability.iter().filter(|b| b.lines > 0) {
            s.push_str(&format!(
                "  [{:.1}, {:.1}) {:>7}  {:.4}  {:.4}\n",
                b.from, b.to, b.lines, b.mean_predicted, b.observed
            ));
        }
        s.push_str("\nconfusion (rows: label, columns: decision)\n");
        s.push_str(&format!("{:<12}", ""));
        for l in &self.labels {
            s.push_str(&format!(" {l:>10}"));
        }
        s.push('\n');
        for (l, row) in self.labels.iter().zip(&self.confusion) {
            s.push_str(&format!("{l:<12}"));
            for v in row {
                s.push_str(&format!(" {v:>10}"));
            }
            s.push('\n');
        }
        s
    }
}

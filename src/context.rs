//! Context: a hidden Markov model over the paragraphs of a document.
//!
//! Filler comes in runs (a "热门推荐" block), news in runs (an article). The states are
//! the classes; transitions and start probabilities are counted from labelled pages; the
//! emission of a line is its naive Bayes likelihood tempered by `gamma` (naive Bayes
//! multiplies correlated token probabilities and is far too sure of itself; `gamma` is
//! fitted on held-out lines so the scores become honest). Forward-backward gives every
//! line a posterior that weighs its own words against its neighbours, in O(lines x
//! classes^2), and a one-line document simply gets its tempered naive Bayes posterior.

use serde::{Deserialize, Serialize};

/// Learned context parameters: exact counts (so update/forget stay exact) plus `gamma`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextModel {
    /// Emission temperature applied to naive Bayes log-likelihoods.
    pub gamma: f64,
    /// Length normalisation: emissions are divided by (tokens + 1)^length_power, so a
    /// long paragraph's many weak cues do not outvote a short one's few strong ones.
    #[serde(default)]
    pub length_power: f64,
    /// First-paragraph class counts of labelled pages.
    pub start: Vec<u64>,
    /// `trans[i * K + j]`: paragraph of class i followed by one of class j.
    pub trans: Vec<u64>,
}

impl ContextModel {
    /// A context model with no page evidence (uniform transitions).
    pub fn empty(k: usize, gamma: f64) -> Self {
        ContextModel {
            gamma,
            length_power: 0.0,
            start: vec![0; k],
            trans: vec![0; k * k],
        }
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.start.len()
    }

    /// Counts the label sequence of one page (class indices of its non-blank lines).
    pub fn count_sequence(&mut self, labels: &[usize]) {
        let k = self.classes();
        if let Some(&first) = labels.first() {
            self.start[first] += 1;
        }
        for w in labels.windows(2) {
            self.trans[w[0] * k + w[1]] += 1;
        }
    }

    /// Adds (or, with `sign` false, removes) another model's counts.
    pub fn combine(&mut self, other: &ContextModel, add: bool) -> Result<(), String> {
        if other.classes() != self.classes() {
            return Err("context models have different classes".into());
        }
        let apply = |a: &mut u64, b: u64| -> Result<(), String> {
            *a = if add {
                a.checked_add(b).ok_or("count overflow")?
            } else {
                a.checked_sub(b)
                    .ok_or("the model holds fewer page transitions than the data to forget")?
            };
            Ok(())
        };
        for (a, &b) in self.start.iter_mut().zip(&other.start) {
            apply(a, b)?;
        }
        for (a, &b) in self.trans.iter_mut().zip(&other.trans) {
            apply(a, b)?;
        }
        Ok(())
    }

    /// ln start probabilities (add-one smoothed).
    pub fn log_start(&self) -> Vec<f64> {
        let k = self.classes();
        let total: u64 = self.start.iter().sum();
        self.start
            .iter()
            .map(|&c| ((c + 1) as f64 / (total + k as u64) as f64).ln())
            .collect()
    }

    /// ln transition probabilities, row-major (add-one smoothed).
    pub fn log_trans(&self) -> Vec<f64> {
        let k = self.classes();
        let mut out = Vec::with_capacity(k * k);
        for i in 0..k {
            let row = &self.trans[i * k..(i + 1) * k];
            let total: u64 = row.iter().sum();
            out.extend(
                row.iter()
                    .map(|&c| ((c + 1) as f64 / (total + k as u64) as f64).ln()),
            );
        }
        out
    }

    /// The emission scores of a line from its ln P(line | class) and token count.
    pub fn temper(&self, loglik: &[f64], tokens: usize) -> Vec<f64> {
        temper(self.gamma, self.length_power, loglik, tokens)
    }

    /// Posteriors per line given each line's ln P(line | class) and token count.
    pub fn posteriors(&self, lines: &[(Vec<f64>, usize)]) -> Vec<Vec<f64>> {
        let e: Vec<Vec<f64>> = lines.iter().map(|(l, n)| self.temper(l, *n)).collect();
        Hmm::new(self).posteriors(&e)
    }
}

/// `gamma * loglik / (tokens + 1)^power`.
pub fn temper(gamma: f64, power: f64, loglik: &[f64], tokens: usize) -> Vec<f64> {
    let scale = gamma / ((tokens + 1) as f64).powf(power);
    loglik.iter().map(|v| v * scale).collect()
}

/// Precomputed log parameters for decoding.
pub struct Hmm {
    k: usize,
    start: Vec<f64>,
    trans: Vec<f64>,
}

impl Hmm {
    /// Log parameters of a context model.
    pub fn new(m: &ContextModel) -> Hmm {
        Hmm {
            k: m.classes(),
            start: m.log_start(),
            trans: m.log_trans(),
        }
    }

    /// Forward-backward in log space over per-line emission scores `emit[t][c]`.
    pub fn posteriors(&self, emissions: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let (k, n) = (self.k, emissions.len());
        if n == 0 {
            return Vec::new();
        }
        let emit = |t: usize, c: usize| emissions[t][c];
        let mut alpha = vec![vec![0.0; k]; n];
        for (c, a) in alpha[0].iter_mut().enumerate() {
            *a = self.start[c] + emit(0, c);
        }
        let mut buf = vec![0.0; k];
        for t in 1..n {
            for j in 0..k {
                for (i, b) in buf.iter_mut().enumerate() {
                    *b = alpha[t - 1][i] + self.trans[i * k + j];
                }
                alpha[t][j] = logsumexp(&buf) + emit(t, j);
            }
        }
        let mut beta = vec![vec![0.0; k]; n];
        for t in (0..n - 1).rev() {
            for i in 0..k {
                for (j, b) in buf.iter_mut().enumerate() {
                    *b = self.trans[i * k + j] + emit(t + 1, j) + beta[t + 1][j];
                }
                beta[t][i] = logsumexp(&buf);
            }
        }
        alpha
            .iter()
            .zip(&beta)
            .map(|(a, b)| {
                let s: Vec<f64> = a.iter().zip(b).map(|(x, y)| x + y).collect();
                let z = logsumexp(&s);
                s.iter().map(|v| (v - z).exp()).collect()
            })
            .collect()
    }
}

/// ln(sum(exp(x))) without overflow.
pub fn logsumexp(x: &[f64]) -> f64 {
    let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + x.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_pull_an_ambiguous_line() {
        let mut m = ContextModel::empty(2, 1.0);
        for _ in 0..50 {
            m.count_sequence(&[1, 1, 1, 1, 0, 0, 0, 0]);
        }
        // Line 2 slightly favours class 0 on its own; its class-1 neighbours win.
        let ll = vec![
            vec![-9.0, -1.0],
            vec![-9.0, -1.0],
            vec![-1.0, -1.5],
            vec![-9.0, -1.0],
        ];
        let ll: Vec<(Vec<f64>, usize)> = ll.into_iter().map(|l| (l, 1)).collect();
        let p = m.posteriors(&ll);
        assert!(p[2][1] > 0.5, "{p:?}");
        for row in &p {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        // A single line is decided by its own evidence (and the start prior).
        let single = m.posteriors(&[(vec![-1.0, -9.0], 1)]);
        assert!(single[0][0] > 0.5);
    }

    #[test]
    fn long_documents_stay_finite() {
        let m = ContextModel::empty(2, 1.0);
        let ll: Vec<(Vec<f64>, usize)> = (0..10_000)
            .map(|i| (vec![-500.0 - i as f64, -700.0], 30))
            .collect();
        let p = m.posteriors(&ll);
        assert!(p.iter().flatten().all(|v| v.is_finite()));
    }
}

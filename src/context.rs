//! Context: a hidden Markov model over the paragraphs of a document.
//!
//! Filler comes in runs (a "热门推荐" block), news in runs (an article). The states are
//! the classes; transitions and start probabilities are counted from labelled pages; the
//! emission of a line is its naive Bayes likelihood tempered by `gamma` (naive Bayes
//! multiplies correlated token probabilities and is far too sure of itself; `gamma` is
//! fitted on held-out lines so the scores become honest). Forward-backward gives every
//! line a posterior that weighs its own words against its neighbours, in O(lines x
//! classes^2). (A whole document of one line is not decoded here: the classifier gives
//! it the line's own reading, since the start probability is learned from pages.)
//!
//! Transitions depend on the layout around the paragraph entered: none, one or several
//! blank lines ("gap classes") before it and after it. Articles separate paragraphs with
//! blank lines while a recommendation block runs line after line, and a block usually
//! opens after a wider gap, so the gaps are observed evidence about whether the class
//! changes. The gap after matters as much as the gap before: a line after one blank that
//! runs on into the next line opens a block, where a line set off by blanks on both sides
//! is one more paragraph of the article (the first line of a filler block that follows an
//! article after a single blank leaked when only the gap before was seen). Gaps are
//! counted against the document's own paragraph spacing ([`relative_gaps`]), so a
//! double-spaced page reads like a single-spaced one. Two gap pairs are split further by
//! how the paragraph before ends ([`SENTENCE_BLOCK`], [`TAIL_BLOCK`]): a line right under
//! a headline is the article's first paragraph, a line right under a finished paragraph
//! and then set off by a blank is something inserted into the article.

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
    /// Weight of the structure tokens' log-likelihood, apart from the words' (layout
    /// cues are few per line and would drown among the words otherwise). `None` (models
    /// from before the split): structure tokens are tempered with the words.
    #[serde(default)]
    pub structure_gamma: Option<f64>,
    /// First-paragraph class counts of labelled pages.
    pub start: Vec<u64>,
    /// `trans[(g * K + i) * K + j]`: paragraph of class i followed by one of class j,
    /// in transition block g (see [`block_index`]): [`BLOCKS`] blocks, one per pair of
    /// gap classes around the paragraph entered plus [`SENTENCE_BLOCK`] and
    /// [`TAIL_BLOCK`]. Older models hold [`GAP_PAIRS`] + 1 blocks (no tail block),
    /// [`GAP_PAIRS`] (no sentence block), [`GAPS`] (the gap before only) or one block
    /// (K x K) used for every gap; they decode as before.
    pub trans: Vec<u64>,
}

/// Number of gap classes: no blank line, one, two or more.
pub const GAPS: usize = 3;

/// Transition blocks by the (gap before, gap after) pair of the paragraph entered.
pub const GAP_PAIRS: usize = GAPS * GAPS;

/// The block for a paragraph with no blank line before it and one after it whose
/// predecessor ends a sentence ([`ends_sentence`]); the pair's own block then keeps the
/// paragraphs under a line that does not (headlines). On composed pages the first is a
/// snippet injected into an article, the second an article's first paragraph; with one
/// block for both, an injected snippet borrowed the headline's continuity and leaked.
pub const SENTENCE_BLOCK: usize = GAP_PAIRS;

/// The block for a paragraph with no blank line before it and a wider gap (or the end)
/// after it, right under a paragraph that ends a sentence and was itself set off by a
/// blank line. On composed pages it is a snippet injected after an article's last
/// paragraph; an indented article's last paragraph, under a paragraph that runs on from
/// the one before, stays in the pair's own block (news there ends articles).
pub const TAIL_BLOCK: usize = GAP_PAIRS + 1;

/// Transition blocks of a current model: [`GAP_PAIRS`], [`SENTENCE_BLOCK`] and
/// [`TAIL_BLOCK`].
pub const BLOCKS: usize = GAP_PAIRS + 2;

/// Whether a paragraph ends a finished sentence: its last mark is 。！？!?…；or ;,
/// possibly followed by closing quotes (a quotation's own full stop) and by one
/// bracketed credit such as `(编辑:李华)` or `（新华社记者摄）`. A closing quote or
/// bracket alone does not count: headlines end in them (【...】, “...”, （二首）) as
/// often as paragraphs do.
pub fn ends_sentence(text: &str) -> bool {
    // The usual endings, told from the last bytes: a full stop, or an ideograph (U+4000-
    // U+9FFF: not a mark, a quote, a bracket or whitespace).
    match text.as_bytes() {
        [.., 0xE3, 0x80, 0x82] => true,
        [.., 0xE4..=0xE9, _, _] => false,
        _ => ends_sentence_by_rule(text),
    }
}

/// [`ends_sentence`] as its rule reads, for any ending.
fn ends_sentence_by_rule(text: &str) -> bool {
    let mut t = text.trim_end();
    if let Some(open) = t
        .strip_suffix([')', '）'])
        .and_then(|inner| inner.rfind(['(', '（']))
    {
        t = t[..open].trim_end();
    }
    t.trim_end_matches(['”', '’', '"', '」', '』'])
        .chars()
        .next_back()
        .is_some_and(|c| matches!(c, '。' | '！' | '？' | '!' | '?' | '…' | '；' | ';'))
}

/// [`ends_sentence`] of every paragraph.
pub fn sentence_ends(texts: &[&str]) -> Vec<bool> {
    texts.iter().map(|t| ends_sentence(t)).collect()
}

/// The gap class of `blanks` blank lines between two paragraphs.
pub fn gap_class(blanks: usize) -> usize {
    blanks.min(GAPS - 1)
}

/// Gaps a document must show at its narrowest non-zero spacing before that spacing is
/// taken as its "one blank line".
pub const SPACING_EVIDENCE: usize = 3;

/// The document's blank-line counts relative to its own paragraph spacing. Training
/// pages (and most dumps) separate paragraphs by one blank line and set blocks off by
/// more; a converter that writes every paragraph break as two blank lines
/// (double-spaced pages) would make every paragraph look like the start of a block. So
/// when the narrowest non-zero gap between paragraphs is `s` >= 2 blank lines and the
/// document shows it at least [`SPACING_EVIDENCE`] times, every count `g` becomes `g / s`
/// rounded to the nearest whole number, at least 1 (0 stays 0). A document that also
/// has single blank lines keeps its counts: its wider gaps already mean something
/// (filler snippets set two blanks apart under a single-spaced article stay apart).
/// `blanks` is laid out as for [`block_index`]; the spacing is read from `blanks[1..n]`,
/// the gaps between the `n` paragraphs.
pub fn relative_gaps(blanks: &[usize], n: usize) -> std::borrow::Cow<'_, [usize]> {
    use std::borrow::Cow;
    let interior = blanks.get(1..n.min(blanks.len())).unwrap_or(&[]);
    let spacing = interior
        .iter()
        .copied()
        .filter(|&g| g > 0)
        .min()
        .unwrap_or(0);
    if spacing < 2 || interior.iter().filter(|&&g| g == spacing).count() < SPACING_EVIDENCE {
        return Cow::Borrowed(blanks);
    }
    Cow::Owned(
        blanks
            .iter()
            .map(|&g| {
                if g == 0 {
                    0
                } else {
                    ((2 * g + spacing) / (2 * spacing)).max(1)
                }
            })
            .collect(),
    )
}

/// The transition block into paragraph `t` of `n`, in a model of `blocks` blocks;
/// `blanks[t]` is the number of blank lines before paragraph `t` (missing entries count
/// as none), and `blanks[n]`, when given, the blank lines after the last paragraph of a
/// part of a document that continues; `ends[t]` says whether paragraph `t` ends a
/// sentence (missing entries: it does not). With [`GAP_PAIRS`] or more blocks it is
/// `before * GAPS + after`, the end of the document counting as the widest gap after,
/// or [`SENTENCE_BLOCK`] (with more than [`GAP_PAIRS`] blocks) or [`TAIL_BLOCK`] (with
/// [`BLOCKS`]); with fewer, the gap before alone picks it.
pub fn block_index(blocks: usize, blanks: &[usize], ends: &[bool], t: usize, n: usize) -> usize {
    let gap = |i: usize| gap_class(blanks.get(i).copied().unwrap_or(0));
    if blocks >= GAP_PAIRS {
        let after = if t + 1 < n || blanks.len() > n {
            gap(t + 1)
        } else {
            GAPS - 1
        };
        let after_sentence = t
            .checked_sub(1)
            .and_then(|p| ends.get(p))
            .copied()
            .unwrap_or(false);
        if blocks > SENTENCE_BLOCK && gap(t) == 0 && after == 1 && after_sentence {
            return SENTENCE_BLOCK;
        }
        // The paragraph before was set off by a blank line itself.
        let prev_set_off = t >= 1 && gap(t - 1) >= 1;
        if blocks > TAIL_BLOCK && gap(t) == 0 && after == GAPS - 1 && after_sentence && prev_set_off
        {
            return TAIL_BLOCK;
        }
        gap(t) * GAPS + after
    } else {
        gap(t).min(blocks.max(1) - 1)
    }
}

/// Describes transition block `g` of a model of `blocks` blocks, for people.
pub fn describe_block(blocks: usize, g: usize) -> String {
    let gap = |c: usize| {
        if c + 1 == GAPS {
            format!("{c}+")
        } else {
            c.to_string()
        }
    };
    let lines = |c: usize| match c {
        1 => "1 blank line".to_string(),
        c => format!("{} blank lines", gap(c)),
    };
    let pair = |g: usize| {
        format!(
            "{} before, {} after",
            lines(g / GAPS),
            if g % GAPS + 1 == GAPS {
                format!("{}+ (or the end)", GAPS - 1)
            } else {
                gap(g % GAPS)
            }
        )
    };
    match blocks {
        b if b > GAP_PAIRS && g == SENTENCE_BLOCK => {
            format!("{}, after a sentence end", pair(1))
        }
        b if b > GAP_PAIRS && g == 1 => format!("{}, after no sentence end", pair(1)),
        BLOCKS if g == TAIL_BLOCK => format!(
            "{}, after a sentence end set off by a blank line",
            pair(GAPS - 1)
        ),
        BLOCKS if g == GAPS - 1 => format!(
            "{}, after no sentence end or one that runs on",
            pair(GAPS - 1)
        ),
        b if b >= GAP_PAIRS => pair(g),
        1 => "any gap".to_string(),
        _ => format!("{} before", lines(g)),
    }
}

impl ContextModel {
    /// A context model with no page evidence (uniform transitions).
    pub fn empty(k: usize, gamma: f64) -> Self {
        Self::with_blocks(k, gamma, BLOCKS)
    }

    /// [`ContextModel::empty`] with `blocks` transition blocks (to extend an older model
    /// in its own layout).
    pub fn with_blocks(k: usize, gamma: f64, blocks: usize) -> Self {
        ContextModel {
            gamma,
            length_power: 0.0,
            structure_gamma: None,
            start: vec![0; k],
            trans: vec![0; blocks * k * k],
        }
    }

    /// The same counts with transitions by the gap before each paragraph only (the
    /// other blocks summed into those): what models before [`GAP_PAIRS`] held. Training
    /// fits the emission temperature against it when no tuning pages are given (see
    /// `train`).
    pub fn gap_before_only(&self) -> ContextModel {
        let k2 = self.classes() * self.classes();
        if self.gap_blocks() < GAP_PAIRS {
            return self.clone();
        }
        let mut trans = vec![0; GAPS * k2];
        for (g, block) in self.trans.chunks(k2).enumerate() {
            // The sentence and tail blocks are split off pairs with no blank line before.
            let before = if g >= SENTENCE_BLOCK { 0 } else { g / GAPS };
            for (a, &b) in trans[before * k2..][..k2].iter_mut().zip(block) {
                *a += b;
            }
        }
        ContextModel {
            trans,
            ..self.clone()
        }
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.start.len()
    }

    /// Number of transition blocks held in `trans` ([`BLOCKS`], or 1, [`GAPS`] or
    /// [`GAP_PAIRS`] for older models).
    pub fn gap_blocks(&self) -> usize {
        let k2 = self.classes() * self.classes();
        (self.trans.len() / k2.max(1)).max(1)
    }

    /// Counts the label sequence of one page (class indices of its non-blank lines);
    /// `blanks[t]` is the number of blank lines before paragraph `t`, `ends[t]` whether
    /// it ends a sentence.
    pub fn count_sequence(&mut self, labels: &[usize], blanks: &[usize], ends: &[bool]) {
        let k = self.classes();
        let blocks = self.gap_blocks();
        if let Some(&first) = labels.first() {
            self.start[first] += 1;
        }
        let blanks = relative_gaps(blanks, labels.len());
        for (t, w) in labels.windows(2).enumerate() {
            let g = block_index(blocks, &blanks, ends, t + 1, labels.len());
            self.trans[(g * k + w[0]) * k + w[1]] += 1;
        }
    }

    /// Adds (or, with `sign` false, removes) another model's counts.
    pub fn combine(&mut self, other: &ContextModel, add: bool) -> Result<(), String> {
        if other.classes() != self.classes() || other.trans.len() != self.trans.len() {
            return Err("context models have different classes or gap classes".into());
        }
        let apply = |a: &mut u64, b: u64| -> Result<(), String> {
            *a = if add {
                a.checked_add(b).ok_or("count overflow")?
            } else {
                a.checked_sub(b)
                    .ok_or("the model was not trained on it: it holds page transitions the model did not count")?
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

    /// Start probabilities (add-one smoothed).
    pub fn start_probs(&self) -> Vec<f64> {
        let k = self.classes();
        let total: u64 = self.start.iter().sum();
        self.start
            .iter()
            .map(|&c| (c + 1) as f64 / (total + k as u64) as f64)
            .collect()
    }

    /// Transition probabilities per transition block, row-major (add-one smoothed).
    pub fn trans_probs(&self) -> Vec<Vec<f64>> {
        let k = self.classes();
        self.trans
            .chunks(k * k)
            .map(|block| {
                block
                    .chunks(k)
                    .flat_map(|row| {
                        let total: u64 = row.iter().sum();
                        row.iter()
                            .map(move |&c| (c + 1) as f64 / (total + k as u64) as f64)
                    })
                    .collect()
            })
            .collect()
    }

    /// The layout each of `n` paragraphs is entered with, for people: the transition
    /// block decoding uses (`blanks` and `ends` as for [`ContextModel::posteriors`]).
    pub fn describe_entries(&self, blanks: &[usize], ends: &[bool], n: usize) -> Vec<String> {
        let blocks = self.gap_blocks();
        let blanks = relative_gaps(blanks, n);
        (0..n)
            .map(|t| match t {
                0 => "the document's first paragraph".to_string(),
                _ => describe_block(blocks, block_index(blocks, &blanks, ends, t, n)),
            })
            .collect()
    }

    /// The emission scores of a line.
    pub fn temper(&self, s: &LineScore) -> Vec<f64> {
        temper(self.gamma, self.length_power, self.structure_gamma, s)
    }

    /// The factors applied to a line's word and structure log-likelihoods.
    pub fn scales(&self, s: &LineScore) -> (f64, f64) {
        scales(self.gamma, self.length_power, self.structure_gamma, s)
    }

    /// Posteriors per line given each line's scores, the blank lines before it
    /// (`blanks`, with one more entry for a part of a document that continues) and
    /// whether it ends a sentence (`ends`; see [`block_index`]).
    pub fn posteriors(
        &self,
        lines: &[LineScore],
        blanks: &[usize],
        ends: &[bool],
    ) -> Vec<ClassValues> {
        self.posteriors_with(&Hmm::new(self), lines, blanks, ends)
    }

    /// [`ContextModel::posteriors`] with this model's log parameters already computed
    /// (`Hmm::new(self)`): a classifier computes them once, not once per document.
    pub fn posteriors_with(
        &self,
        hmm: &Hmm,
        lines: &[LineScore],
        blanks: &[usize],
        ends: &[bool],
    ) -> Vec<ClassValues> {
        let k = self.classes();
        let mut e = Vec::with_capacity(lines.len() * k);
        for l in lines {
            let (w, st) = scales_by(self.structure_gamma, l, |n| hmm.word_scale(n));
            weigh_into(l, w, st, &mut e);
        }
        hmm.posteriors_flat(&e, blanks, ends)
    }
}

/// A line's naive Bayes evidence, ln P(tokens | class) without the prior, split into
/// word tokens and structure tokens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineScore {
    /// Sum of word-token log-probabilities per class.
    pub words: ClassValues,
    /// Number of word tokens.
    pub word_tokens: usize,
    /// Sum of structure-token log-probabilities per class.
    pub structure: ClassValues,
    /// Number of structure tokens.
    pub structure_tokens: usize,
}

/// One value per class, held inline for models of up to two classes: a line's scores
/// then cost no allocation (the scorer makes one per line).
pub type ClassValues = smallvec::SmallVec<[f64; 2]>;

impl LineScore {
    /// No evidence yet, for `k` classes.
    pub fn zero(k: usize) -> LineScore {
        LineScore {
            words: smallvec::smallvec![0.0; k],
            word_tokens: 0,
            structure: smallvec::smallvec![0.0; k],
            structure_tokens: 0,
        }
    }
}

/// Word and structure scale factors: words get `gamma / (n + 1)^power`; structure
/// tokens `structure_gamma` (or, without one, the same factor as the words, counting
/// structure tokens in n).
pub fn scales(gamma: f64, power: f64, structure_gamma: Option<f64>, s: &LineScore) -> (f64, f64) {
    scales_by(structure_gamma, s, |n| word_scale(gamma, power, n))
}

/// `gamma / (n + 1)^power`, the words' factor for a line of `n` tokens.
fn word_scale(gamma: f64, power: f64, n: usize) -> f64 {
    gamma / ((n + 1) as f64).powf(power)
}

/// [`scales`] with the words' factor for `n` tokens given by `factor`.
fn scales_by(
    structure_gamma: Option<f64>,
    s: &LineScore,
    factor: impl Fn(usize) -> f64,
) -> (f64, f64) {
    match structure_gamma {
        Some(sg) => (factor(s.word_tokens), sg),
        None => {
            let w = factor(s.word_tokens + s.structure_tokens);
            (w, w)
        }
    }
}

/// Tempered emission scores of a line (see [`scales`]).
pub fn temper(gamma: f64, power: f64, structure_gamma: Option<f64>, s: &LineScore) -> Vec<f64> {
    let mut out = Vec::with_capacity(s.words.len());
    temper_into(gamma, power, structure_gamma, s, &mut out);
    out
}

/// [`temper`], appending to `out`.
fn temper_into(
    gamma: f64,
    power: f64,
    structure_gamma: Option<f64>,
    s: &LineScore,
    out: &mut Vec<f64>,
) {
    let (w, st) = scales(gamma, power, structure_gamma, s);
    weigh_into(s, w, st, out);
}

/// Appends `words * w + structure * st` per class.
fn weigh_into(s: &LineScore, w: f64, st: f64, out: &mut Vec<f64>) {
    out.extend(
        s.words
            .iter()
            .zip(&s.structure)
            .map(|(a, b)| a * w + b * st),
    );
}

/// Precomputed log parameters for decoding.
pub struct Hmm {
    k: usize,
    start: Vec<f64>,
    trans: Vec<Vec<f64>>,
    /// The words' factor ([`scales`]) for lines of fewer than [`SCALE_TABLE`] tokens, so
    /// tempering a line is a lookup, not a `powf`: the same expression, the same bits.
    word_scales: Vec<f64>,
    /// The model's `gamma` and `length_power`, for longer lines.
    scaling: (f64, f64),
}

/// Token counts whose words' factor [`Hmm`] holds ready (nearly every line has fewer).
const SCALE_TABLE: usize = 1024;

impl Hmm {
    /// The parameters of a context model, ready for decoding.
    pub fn new(m: &ContextModel) -> Hmm {
        Hmm {
            k: m.classes(),
            start: m.start_probs(),
            trans: m.trans_probs(),
            word_scales: (0..SCALE_TABLE)
                .map(|n| word_scale(m.gamma, m.length_power, n))
                .collect(),
            scaling: (m.gamma, m.length_power),
        }
    }

    /// [`word_scale`] of the scaling of the model this was built from.
    fn word_scale(&self, n: usize) -> f64 {
        match self.word_scales.get(n) {
            Some(&w) => w,
            None => word_scale(self.scaling.0, self.scaling.1, n),
        }
    }

    /// Transition probabilities into line `t` of `n` (by the layout around it).
    fn trans_into(&self, blanks: &[usize], ends: &[bool], t: usize, n: usize) -> &[f64] {
        &self.trans[block_index(self.trans.len(), blanks, ends, t, n)]
    }

    /// Forward-backward over per-line emission log-scores `emit[t][c]`;
    /// `blanks[t]` is the number of blank lines before line `t`, `ends[t]` whether it
    /// ends a sentence.
    pub fn posteriors(
        &self,
        emissions: &[Vec<f64>],
        blanks: &[usize],
        ends: &[bool],
    ) -> Vec<ClassValues> {
        if self.k == 0 {
            return vec![ClassValues::new(); emissions.len()];
        }
        let flat: Vec<f64> = emissions.iter().flatten().copied().collect();
        self.posteriors_flat(&flat, blanks, ends)
    }

    /// [`Hmm::posteriors`] over row-major emissions (`k` per line): one allocation for
    /// a document's emissions, not one per line.
    fn posteriors_flat(
        &self,
        emissions: &[f64],
        blanks: &[usize],
        ends: &[bool],
    ) -> Vec<ClassValues> {
        let k = self.k;
        if k == 0 {
            return Vec::new();
        }
        let n = emissions.len() / k;
        if n == 0 {
            return Vec::new();
        }
        let blanks = relative_gaps(blanks, n);
        if k == 2 {
            return self.posteriors_two(emissions, &blanks, ends);
        }
        self.posteriors_general(emissions, &blanks, ends)
    }

    /// [`Hmm::posteriors_flat`] for any number of classes (at least one line).
    ///
    /// The scaled forward-backward: messages are probabilities, each normalised to sum
    /// to one, and each line's evidence enters as likelihoods relative to its likeliest
    /// class ([`relative_likelihoods`]). One `exp` per line and class, where the same
    /// recursion in log space takes a `logsumexp` per class and step.
    fn posteriors_general(
        &self,
        emissions: &[f64],
        blanks: &[usize],
        ends: &[bool],
    ) -> Vec<ClassValues> {
        let k = self.k;
        let n = emissions.len() / k;
        // Row-major n x k tables: three allocations per document, not three per line.
        let mut like = vec![0.0; n * k];
        for (l, e) in like.chunks_exact_mut(k).zip(emissions.chunks_exact(k)) {
            relative_likelihoods(e, l);
        }
        let mut alpha = vec![0.0; n * k];
        for (c, a) in alpha[..k].iter_mut().enumerate() {
            *a = self.start[c] * like[c];
        }
        normalize(&mut alpha[..k]);
        for t in 1..n {
            let m = self.trans_into(blanks, ends, t, n);
            for j in 0..k {
                let mut into = 0.0;
                for i in 0..k {
                    into += alpha[(t - 1) * k + i] * m[i * k + j];
                }
                alpha[t * k + j] = into * like[t * k + j];
            }
            normalize(&mut alpha[t * k..(t + 1) * k]);
        }
        let mut beta = vec![1.0; n * k];
        for t in (0..n - 1).rev() {
            let m = self.trans_into(blanks, ends, t + 1, n);
            for i in 0..k {
                let mut on = 0.0;
                for j in 0..k {
                    on += m[i * k + j] * (like[(t + 1) * k + j] * beta[(t + 1) * k + j]);
                }
                beta[t * k + i] = on;
            }
            normalize(&mut beta[t * k..(t + 1) * k]);
        }
        alpha
            .chunks_exact(k)
            .zip(beta.chunks_exact(k))
            .map(|(a, b)| {
                let mut p: ClassValues = a.iter().zip(b).map(|(x, y)| x * y).collect();
                normalize(&mut p);
                p
            })
            .collect()
    }

    /// [`Hmm::posteriors_flat`] for two classes, the usual model: the same arithmetic in
    /// the same order (so the same bits, see the proptest), on fixed-size rows instead of
    /// index arithmetic over slices.
    fn posteriors_two(
        &self,
        emissions: &[f64],
        blanks: &[usize],
        ends: &[bool],
    ) -> Vec<ClassValues> {
        let like: Vec<[f64; 2]> = emissions
            .chunks_exact(2)
            .map(|e| {
                let mut l = [0.0; 2];
                relative_likelihoods(e, &mut l);
                l
            })
            .collect();
        let n = like.len();
        let trans = |t: usize| -> [f64; 4] {
            let m = self.trans_into(blanks, ends, t, n);
            [m[0], m[1], m[2], m[3]]
        };
        let mut alpha = vec![[0.0; 2]; n];
        alpha[0] = pair_normalized([self.start[0] * like[0][0], self.start[1] * like[0][1]]);
        for t in 1..n {
            let m = trans(t);
            let a = alpha[t - 1];
            alpha[t] = pair_normalized([
                (a[0] * m[0] + a[1] * m[2]) * like[t][0],
                (a[0] * m[1] + a[1] * m[3]) * like[t][1],
            ]);
        }
        let mut beta = vec![[1.0; 2]; n];
        for t in (0..n - 1).rev() {
            let m = trans(t + 1);
            let (b, l) = (beta[t + 1], like[t + 1]);
            let on = [l[0] * b[0], l[1] * b[1]];
            beta[t] = pair_normalized([m[0] * on[0] + m[1] * on[1], m[2] * on[0] + m[3] * on[1]]);
        }
        alpha
            .iter()
            .zip(&beta)
            .map(|(a, b)| {
                let [p, q] = pair_normalized([a[0] * b[0], a[1] * b[1]]);
                smallvec::smallvec![p, q]
            })
            .collect()
    }
}

/// exp(e - max(e)) per class into `out`: the line's likelihoods up to a common factor,
/// which the normalised messages do not need. The likeliest class gets exactly 1, so
/// nothing overflows, and a class far behind (by more than ~745 nats) gets 0 where its
/// posterior would be below f64's range anyway. A line without a finite best score
/// (which no model's scores produce) counts as no evidence.
fn relative_likelihoods(e: &[f64], out: &mut [f64]) {
    let m = e.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    for (o, &x) in out.iter_mut().zip(e) {
        // exp(0) is exactly 1: the likeliest class needs no call.
        *o = if !m.is_finite() || x == m {
            1.0
        } else {
            (x - m).exp()
        };
    }
}

/// Scales `v` to sum to one (by one division: `v` holds at least one positive value).
fn normalize(v: &mut [f64]) {
    let r = 1.0 / v.iter().sum::<f64>();
    v.iter_mut().for_each(|x| *x *= r);
}

/// [`normalize`] of a pair, in registers.
#[inline]
fn pair_normalized(v: [f64; 2]) -> [f64; 2] {
    let r = 1.0 / (v[0] + v[1]);
    [v[0] * r, v[1] * r]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(words: Vec<f64>) -> LineScore {
        LineScore {
            structure: smallvec::smallvec![0.0; words.len()],
            words: words.into(),
            word_tokens: 1,
            structure_tokens: 0,
        }
    }

    proptest::proptest! {
        #[test]
        fn two_class_forward_backward_is_the_general_one(
            lines in proptest::collection::vec(
                (-800f64..0.0, -800f64..0.0, 0usize..4, proptest::bool::ANY),
                1..40,
            ),
            counts in proptest::collection::vec(0u64..60, 4 * BLOCKS),
        ) {
            let mut m = ContextModel::empty(2, 1.0);
            // Transition evidence per block, so every block has its own matrix.
            for (g, c) in counts.chunks(4).enumerate() {
                // Three paragraphs; the transition from class i / 2 to class i % 2 is
                // counted in block g (the tail block: into the last one).
                let (labels, blanks, ends) = match g {
                    SENTENCE_BLOCK => ([0, 1, 1], [0, 0, 1], [true, false, false]),
                    TAIL_BLOCK => ([0, 0, 1], [0, 1, 0], [false, true, false]),
                    _ => ([0, 1, 1], [0, g / GAPS, g % GAPS], [false; 3]),
                };
                for (i, &n) in c.iter().enumerate() {
                    let classes = labels.map(|l| if l == 0 { i / 2 } else { i % 2 });
                    for _ in 0..n {
                        m.count_sequence(&classes, &blanks, &ends);
                    }
                }
            }
            let hmm = Hmm::new(&m);
            let e: Vec<f64> = lines.iter().flat_map(|&(a, b, _, _)| [a, b]).collect();
            let blanks: Vec<usize> = lines.iter().map(|l| l.2).collect();
            let ends: Vec<bool> = lines.iter().map(|l| l.3).collect();
            let two = hmm.posteriors_two(&e, &blanks, &ends);
            let general = hmm.posteriors_general(&e, &blanks, &ends);
            let bits = |p: &[ClassValues]| -> Vec<u64> {
                p.iter().flatten().map(|v| v.to_bits()).collect()
            };
            proptest::prop_assert_eq!(bits(&two), bits(&general));
            // And both are the log-space recursion's posteriors, up to rounding.
            let reference = log_space_posteriors(&m, &e, &blanks, &ends);
            for (p, q) in two.iter().flatten().zip(reference.iter().flatten()) {
                proptest::prop_assert!((p - q).abs() <= 1e-9 * q.abs() + 1e-300, "{} {}", p, q);
            }
        }
    }

    /// The textbook forward-backward in log space (chaff's until session 17), which the
    /// scaled one replaced: one `logsumexp` per class and step. `blanks` are taken as
    /// given, as [`Hmm::posteriors_two`] takes them.
    fn log_space_posteriors(
        m: &ContextModel,
        e: &[f64],
        blanks: &[usize],
        ends: &[bool],
    ) -> Vec<Vec<f64>> {
        let k = m.classes();
        let n = e.len() / k;
        let ln = |v: Vec<f64>| -> Vec<f64> { v.iter().map(|p| p.ln()).collect() };
        let start = ln(m.start_probs());
        let trans: Vec<Vec<f64>> = m.trans_probs().into_iter().map(ln).collect();
        let into = |t: usize| &trans[block_index(trans.len(), blanks, ends, t, n)];
        let lse = |x: &[f64]| {
            let top = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            top + x.iter().map(|v| (v - top).exp()).sum::<f64>().ln()
        };
        let mut alpha = vec![vec![0.0; k]; n];
        alpha[0] = (0..k).map(|c| start[c] + e[c]).collect();
        for t in 1..n {
            alpha[t] = (0..k)
                .map(|j| {
                    let x: Vec<f64> = (0..k)
                        .map(|i| alpha[t - 1][i] + into(t)[i * k + j])
                        .collect();
                    lse(&x) + e[t * k + j]
                })
                .collect();
        }
        let mut beta = vec![vec![0.0; k]; n];
        for t in (0..n - 1).rev() {
            beta[t] = (0..k)
                .map(|i| {
                    let x: Vec<f64> = (0..k)
                        .map(|j| into(t + 1)[i * k + j] + e[(t + 1) * k + j] + beta[t + 1][j])
                        .collect();
                    lse(&x)
                })
                .collect();
        }
        alpha
            .iter()
            .zip(&beta)
            .map(|(a, b)| {
                let s: Vec<f64> = a.iter().zip(b).map(|(x, y)| x + y).collect();
                let z = lse(&s);
                s.iter().map(|v| (v - z).exp()).collect()
            })
            .collect()
    }

    #[test]
    fn no_lines_no_posteriors() {
        let m = ContextModel::empty(2, 1.0);
        assert!(m.posteriors(&[], &[], &[]).is_empty());
    }

    #[test]
    fn neighbours_pull_an_ambiguous_line() {
        let mut m = ContextModel::empty(2, 1.0);
        for _ in 0..50 {
            m.count_sequence(&[1, 1, 1, 1, 0, 0, 0, 0], &[], &[]);
        }
        // Line 2 slightly favours class 0 on its own; its class-1 neighbours win.
        let ll = vec![
            vec![-9.0, -1.0],
            vec![-9.0, -1.0],
            vec![-1.0, -1.5],
            vec![-9.0, -1.0],
        ];
        let ll: Vec<LineScore> = ll.into_iter().map(score).collect();
        let p = m.posteriors(&ll, &[], &[]);
        assert!(p[2][1] > 0.5, "{p:?}");
        for row in &p {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        // A single line is decided by its own evidence (and the start prior).
        let single = m.posteriors(&[score(vec![-1.0, -9.0])], &[], &[]);
        assert!(single[0][0] > 0.5);
    }

    #[test]
    fn long_documents_stay_finite() {
        let m = ContextModel::empty(2, 1.0);
        let ll: Vec<LineScore> = (0..10_000)
            .map(|i| LineScore {
                word_tokens: 30,
                ..score(vec![-500.0 - i as f64, -700.0])
            })
            .collect();
        let p = m.posteriors(&ll, &[], &[]);
        assert!(p.iter().flatten().all(|v| v.is_finite()));
    }

    #[test]
    fn overwhelming_evidence_gives_certain_posteriors_not_nan() {
        // Lines whose evidence for one class beats the other's by far more than f64's
        // range (a relative likelihood of exactly 0), alternating, for 2 and 3 classes,
        // and lines with no finite score at all.
        for k in [2, 3] {
            let mut m = ContextModel::empty(k, 1.0);
            m.count_sequence(&[0, 1, 0], &[], &[]);
            let hmm = Hmm::new(&m);
            let far = -1e6;
            let mut e: Vec<Vec<f64>> = (0..1000)
                .map(|t| (0..k).map(|c| if c == t % 2 { 0.0 } else { far }).collect())
                .collect();
            e.push(vec![f64::NEG_INFINITY; k]);
            e.push(
                (0..k)
                    .map(|c| if c == 0 { f64::NEG_INFINITY } else { -3.0 })
                    .collect(),
            );
            let p = hmm.posteriors(&e, &[], &[]);
            for (t, row) in p.iter().enumerate() {
                assert!(row.iter().all(|v| v.is_finite()), "line {t}: {row:?}");
                assert!(
                    (row.iter().sum::<f64>() - 1.0).abs() < 1e-12,
                    "line {t}: {row:?}"
                );
                if t < 1000 {
                    assert_eq!(row[t % 2], 1.0, "line {t}: {row:?}");
                }
            }
            assert_eq!(p[1001][0], 0.0);
        }
    }

    #[test]
    fn gaps_change_the_transitions() {
        // Class 0 paragraphs come with blank lines between them, class 1 line after line.
        let mut m = ContextModel::empty(2, 1.0);
        for _ in 0..50 {
            m.count_sequence(&[0, 0, 0, 1, 1, 1], &[0, 1, 1, 2, 0, 0], &[]);
        }
        let ll: Vec<LineScore> = (0..3).map(|_| score(vec![-1.0, -1.0])).collect();
        // Three evidence-free lines: separated by blanks they look like class 0.
        assert!(m.posteriors(&ll, &[0, 1, 1], &[])[2][0] > 0.5);
        assert!(m.posteriors(&ll, &[0, 0, 0], &[])[2][1] > 0.5);
        // A gap-before model (as written before the gap after was seen) decodes by the
        // gap before only, and an old single-block model still decodes.
        let before_only = m.gap_before_only();
        assert_eq!(before_only.gap_blocks(), GAPS);
        assert!(before_only.posteriors(&ll, &[0, 1, 1], &[])[2][0] > 0.5);
        let old = ContextModel {
            trans: vec![1, 1, 1, 1],
            ..ContextModel::empty(2, 1.0)
        };
        assert_eq!(old.gap_blocks(), 1);
        assert_eq!(old.posteriors(&ll, &[0, 5, 1], &[]).len(), 3);
    }

    #[test]
    fn gaps_are_read_against_the_documents_own_spacing() {
        // Double-spaced: paragraphs two blanks apart, a block four; the leading blanks
        // and the gap after a continued part scale alike.
        let double = [2, 2, 2, 2, 4, 0, 0, 2];
        assert_eq!(&*relative_gaps(&double, 7), &[1, 1, 1, 1, 2, 0, 0, 1]);
        // Half-way between two spacings rounds up: three blanks at a spacing of two are
        // a wider gap.
        assert_eq!(&*relative_gaps(&[0, 2, 2, 2, 3], 5), &[0, 1, 1, 1, 2]);
        // A document with single blank lines keeps its counts: filler snippets set two
        // blanks apart under a single-spaced article stay apart.
        let mixed = [0, 1, 1, 2, 2, 2, 2];
        assert_eq!(&*relative_gaps(&mixed, 7), &mixed);
        // Too few gaps at the spacing to call it the document's own.
        assert_eq!(&*relative_gaps(&[0, 2, 2, 0, 4], 5), &[0, 2, 2, 0, 4]);
        assert_eq!(&*relative_gaps(&[], 0), &[] as &[usize]);
        // Only the gaps between paragraphs count: a continued part's trailing gap and
        // the blanks before the first paragraph do not make the spacing.
        assert_eq!(&*relative_gaps(&[2, 0, 2, 2, 2], 4), &[2, 0, 2, 2, 2]);
    }

    proptest::proptest! {
        #[test]
        fn spreading_a_document_out_evenly_changes_no_posterior(
            lines in proptest::collection::vec((-80f64..0.0, -80f64..0.0, 0usize..4), 4..30),
            factor in 2usize..5,
        ) {
            // A model counted from single-spaced pages (news one blank apart, filler run
            // on after a wider gap).
            let mut m = ContextModel::empty(2, 1.0);
            for _ in 0..20 {
                m.count_sequence(&[0, 0, 0, 0, 1, 1, 1], &[0, 1, 1, 1, 3, 0, 0], &[]);
                m.count_sequence(&[0, 0, 0, 1, 1], &[0, 1, 1, 1, 0], &[]);
            }
            let ll: Vec<LineScore> =
                lines.iter().map(|&(a, b, _)| score(vec![a, b])).collect();
            // Three interior single blanks make one blank line the document's spacing.
            let mut blanks: Vec<usize> = lines.iter().map(|l| l.2).collect();
            blanks[1..4].fill(1);
            let spread: Vec<usize> = blanks.iter().map(|g| g * factor).collect();
            let bits = |p: Vec<ClassValues>| -> Vec<u64> {
                p.iter().flatten().map(|v| v.to_bits()).collect()
            };
            proptest::prop_assert_eq!(
                bits(m.posteriors(&ll, &blanks, &[])),
                bits(m.posteriors(&ll, &spread, &[]))
            );
        }
    }

    #[test]
    fn blocks_pair_the_gaps_around_a_paragraph() {
        let blanks = [0, 1, 0, 2, 5];
        // Paragraph 1: one blank before, none after; the last one: the end counts as wide.
        assert_eq!(block_index(BLOCKS, &blanks, &[], 1, 5), GAPS);
        assert_eq!(block_index(BLOCKS, &blanks, &[], 2, 5), 2);
        assert_eq!(block_index(BLOCKS, &blanks, &[], 4, 5), GAP_PAIRS - 1);
        // Missing gaps count as none.
        assert_eq!(block_index(BLOCKS, &[], &[], 0, 2), 0);
        // A part of a document that goes on: the gap after its last paragraph is given.
        assert_eq!(
            block_index(BLOCKS, &[0, 1, 0, 2, 5, 1], &[], 4, 5),
            2 * GAPS + 1
        );
        // Older layouts: the gap before alone, or the one block.
        assert_eq!(block_index(GAPS, &blanks, &[], 3, 5), 2);
        assert_eq!(block_index(GAPS, &blanks, &[], 2, 5), 0);
        assert_eq!(block_index(1, &blanks, &[], 3, 5), 0);
        assert_eq!(describe_block(BLOCKS, GAPS), "1 blank line before, 0 after");
        assert_eq!(
            describe_block(BLOCKS, GAP_PAIRS - 1),
            "2+ blank lines before, 2+ (or the end) after"
        );
        assert_eq!(describe_block(GAPS, 2), "2+ blank lines before");
        // No blank line before and one after: the paragraph before decides.
        let (blanks, ends) = ([0, 0, 1, 0, 1], [true, false, false, true, false]);
        assert_eq!(block_index(BLOCKS, &blanks, &ends, 1, 5), SENTENCE_BLOCK);
        assert_eq!(block_index(BLOCKS, &blanks, &ends, 3, 5), 1);
        // Other pairs, and models without the block, ignore it.
        assert_eq!(block_index(BLOCKS, &blanks, &ends, 2, 5), GAPS);
        assert_eq!(block_index(GAP_PAIRS, &blanks, &ends, 1, 5), 1);
        assert_eq!(
            describe_block(BLOCKS, SENTENCE_BLOCK),
            "0 blank lines before, 1 after, after a sentence end"
        );
        // No blank line before and a wider gap (or the end) after: the tail block when
        // the paragraph before ends a sentence and was itself set off by a blank.
        let blanks = [0, 1, 0, 2, 0, 0];
        let ends = [false, true, false, true, true, false];
        assert_eq!(block_index(BLOCKS, &blanks, &ends, 2, 6), TAIL_BLOCK);
        // Under a paragraph that runs on from the one before it (an indented article's
        // last paragraph), or one that does not end a sentence: the pair's block.
        assert_eq!(block_index(BLOCKS, &blanks, &ends, 5, 6), GAPS - 1);
        let no_end = [false, false, false, true, true, false];
        assert_eq!(block_index(BLOCKS, &blanks, &no_end, 2, 6), GAPS - 1);
        // Ten-block models (before the tail block) keep the pair.
        assert_eq!(block_index(BLOCKS - 1, &blanks, &ends, 2, 6), GAPS - 1);
        assert_eq!(block_index(BLOCKS - 1, &blanks, &ends, 1, 6), GAPS);
        assert_eq!(
            describe_block(BLOCKS, TAIL_BLOCK),
            "0 blank lines before, 2+ (or the end) after, after a sentence end set off by a blank line"
        );
        assert_eq!(
            describe_block(BLOCKS - 1, GAPS - 1),
            "0 blank lines before, 2+ (or the end) after"
        );
        assert!(ends_sentence("会议在京召开。 ") && ends_sentence("你好吗？"));
        assert!(ends_sentence("他说：“好兆头！”") && ends_sentence("王毅参加会议。(编辑:李华)"));
        assert!(ends_sentence("会议闭幕。（新华社记者摄）"));
        assert!(!ends_sentence("【十大创新看德州】") && !ends_sentence("以“两个转变”促“两个提高”"));
        assert!(!ends_sentence("新年的祝福（二首）") && !ends_sentence("（新华社记者朱广智摄）"));
        assert!(!ends_sentence("") && !ends_sentence("(") && !ends_sentence(")"));
        // The shortcuts agree with the rule, whatever the last character.
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            for line in [format!("会议{c}"), format!("会议。{c}"), format!("{c}")] {
                assert_eq!(
                    ends_sentence(&line),
                    ends_sentence_by_rule(&line),
                    "{line:?}"
                );
            }
        }
    }

    #[test]
    fn a_line_under_a_finished_paragraph_is_not_read_as_a_headline_s_first_paragraph() {
        // Class 0 (news): a headline, its first paragraph right under it, then
        // paragraphs one blank apart. Class 1 (filler) snippets sit right under a
        // finished paragraph, a blank after them.
        let mut m = ContextModel::empty(2, 1.0);
        for _ in 0..50 {
            m.count_sequence(
                &[0, 0, 0, 1, 0],
                &[0, 0, 1, 0, 1],
                &[false, true, true, true, true],
            );
        }
        let ll: Vec<LineScore> = [[-5.0, -5.0]; 4]
            .iter()
            .map(|s| score(s.to_vec()))
            .collect();
        // The same evidence-free line in the same gaps: news under a headline, filler
        // under a finished paragraph.
        let under_headline = m.posteriors(&ll, &[0, 1, 0, 1], &[true, false, false, true]);
        let under_paragraph = m.posteriors(&ll, &[0, 1, 0, 1], &[true, true, false, true]);
        assert!(under_headline[2][0] > 0.9, "{under_headline:?}");
        assert!(under_paragraph[2][1] > 0.9, "{under_paragraph:?}");
        // A model of the older layout reads both alike.
        let old = ContextModel {
            trans: m.trans[..4 * GAP_PAIRS].to_vec(),
            ..m.clone()
        };
        assert_eq!(
            old.posteriors(&ll, &[0, 1, 0, 1], &[true, false, false, true]),
            old.posteriors(&ll, &[0, 1, 0, 1], &[true, true, false, true])
        );
    }

    #[test]
    fn a_line_tacked_under_an_article_s_last_paragraph_is_not_its_last_paragraph() {
        // Class 0 (news). Spaced articles: a snippet (class 1) tacked under the last
        // paragraph, before the wide gap. Indented articles: paragraphs line after line,
        // the last one before the wide gap.
        let mut m = ContextModel::empty(2, 1.0);
        for _ in 0..50 {
            m.count_sequence(&[0, 0, 0, 1], &[0, 1, 1, 0], &[true; 4]);
            m.count_sequence(&[0, 0, 0, 0], &[0, 0, 0, 0], &[true; 4]);
        }
        let ll: Vec<LineScore> = [[-5.0, -5.0]; 4]
            .iter()
            .map(|s| score(s.to_vec()))
            .collect();
        let spaced = m.posteriors(&ll, &[0, 1, 1, 0], &[true; 4]);
        let indented = m.posteriors(&ll, &[0, 0, 0, 0], &[true; 4]);
        assert!(spaced[3][1] > 0.9, "{spaced:?}");
        assert!(indented[3][0] > 0.9, "{indented:?}");
        // Without the tail block (a ten-block model), the snippet is decoded with the
        // pair's matrix, here holding the indented articles' counts: news.
        let old = ContextModel {
            trans: m.trans[..4 * (BLOCKS - 1)].to_vec(),
            ..m.clone()
        };
        let old_spaced = old.posteriors(&ll, &[0, 1, 1, 0], &[true; 4]);
        assert!(old_spaced[3][0] > 0.9, "{old_spaced:?}");
    }

    #[test]
    fn the_gap_after_tells_a_block_opening_from_a_paragraph() {
        // Class 0 (news) paragraphs one blank apart; class 1 (filler) runs line after
        // line, opening either after a wider gap or after a single blank.
        let mut m = ContextModel::empty(2, 1.0);
        for _ in 0..50 {
            m.count_sequence(&[0, 0, 0, 1, 1, 1], &[0, 1, 1, 1, 0, 0], &[]);
            m.count_sequence(&[0, 0, 0, 1, 1], &[0, 1, 1, 2, 0], &[]);
            m.count_sequence(&[0, 0, 0, 0], &[0, 1, 1, 1], &[]);
        }
        // Line 2 follows news after one blank and carries no evidence; lines 3 and 4
        // look like filler. Run on into them, it opens the filler block; set off by a
        // blank, it is one more news paragraph.
        let ll = vec![
            score(vec![-1.0, -9.0]),
            score(vec![-1.0, -9.0]),
            score(vec![-5.0, -5.0]),
            score(vec![-9.0, -1.0]),
            score(vec![-9.0, -1.0]),
        ];
        assert!(m.posteriors(&ll, &[0, 1, 1, 0, 0], &[])[2][1] > 0.5);
        assert!(m.posteriors(&ll, &[0, 1, 1, 1, 0], &[])[2][0] > 0.5);
        // Seen by the gap before only, the run-on line stays with the news.
        let coarse = m.gap_before_only();
        assert!(coarse.posteriors(&ll, &[0, 1, 1, 0, 0], &[])[2][0] > 0.5);
        // Summing the blocks keeps every transition count.
        assert_eq!(
            coarse.trans.iter().sum::<u64>(),
            m.trans.iter().sum::<u64>()
        );
    }
}

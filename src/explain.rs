//! Explanations: why a line got its score, token by token (like `bogofilter -vv`), and
//! how much its neighbours moved it.

use crate::classifier::{argmax, Classifier};
use crate::sniff::Reads;
use std::fmt::Write;

/// One token's pull: ln P(token | class) - ln P(token | rival), summed over occurrences.
#[derive(Debug, Clone)]
pub struct TokenContribution {
    /// The feature token.
    pub token: String,
    /// Occurrences in the line.
    pub count: usize,
    /// Log-likelihood ratio (after tempering) in favour of the line's label over the rival
    /// class; `None` when the token is not in the model's vocabulary.
    pub llr: Option<f64>,
}

/// Explanation of one line.
#[derive(Debug, Clone)]
pub struct LineExplanation {
    /// Posteriors with context.
    pub posteriors: Vec<f64>,
    /// Posteriors of the line alone (tempered naive Bayes).
    pub alone: Vec<f64>,
    /// Index of the decided class (with context).
    pub label: usize,
    /// The runner-up class contributions are measured against.
    pub rival: usize,
    /// Per-token contributions, strongest first.
    pub tokens: Vec<TokenContribution>,
    /// The layout the context model read the line in (its transition block), or `None`
    /// without context.
    pub layout: Option<String>,
}

/// Explains every line of a document (blank lines already removed; `blanks[i]` is the
/// number of blank lines before line `i`).
pub fn explain_lines(
    classifier: &Classifier,
    texts: &[&str],
    blanks: &[usize],
) -> Vec<LineExplanation> {
    let model = classifier.model();
    let with_ctx = classifier.classify_lines(texts, blanks);
    // Read once for the document: the gaps are taken against its own spacing.
    let mut layouts = classifier
        .uses_context()
        .then(|| match crate::classifier::is_lone(texts, blanks) {
            true => vec!["a document of one paragraph, on its own".to_string()],
            false => {
                let ends = crate::context::sentence_ends(texts);
                model.context.describe_entries(blanks, &ends, texts.len())
            }
        })
        .map(Vec::into_iter);
    texts
        .iter()
        .zip(with_ctx)
        .map(|(text, posteriors)| {
            let score = classifier.log_likelihood(text);
            let alone = classifier.alone(&score);
            let label = argmax(&posteriors);
            let mut order: Vec<usize> = (0..posteriors.len()).filter(|&c| c != label).collect();
            order.sort_by(|&a, &b| posteriors[b].total_cmp(&posteriors[a]).then(a.cmp(&b)));
            let rival = order.first().copied().unwrap_or(label);
            let (word_scale, structure_scale) = model.context.scales(&score);
            let mut tokens: Vec<TokenContribution> = Vec::new();
            classifier
                .featurizer()
                .for_each_token_kind(text, |t, structure| {
                    let scale = if structure {
                        structure_scale
                    } else {
                        word_scale
                    };
                    if let Some(tc) = tokens.iter_mut().find(|x| x.token == t) {
                        tc.count += 1;
                        if let Some(v) = tc.llr.as_mut() {
                            *v += single(model.token_log_probs(t), label, rival) * scale;
                        }
                        return;
                    }
                    tokens.push(TokenContribution {
                        token: t.to_string(),
                        count: 1,
                        llr: model
                            .token_log_probs(t)
                            .map(|lp| single(Some(lp), label, rival) * scale),
                    });
                });
            tokens.sort_by(|a, b| {
                let (x, y) = (a.llr.map_or(0.0, f64::abs), b.llr.map_or(0.0, f64::abs));
                y.total_cmp(&x).then(a.token.cmp(&b.token))
            });
            LineExplanation {
                posteriors: posteriors.to_vec(),
                alone,
                label,
                rival,
                tokens,
                layout: layouts.as_mut().and_then(Iterator::next),
            }
        })
        .collect()
}

fn single(lp: Option<&[f64]>, a: usize, b: usize) -> f64 {
    lp.map_or(0.0, |lp| lp[a] - lp[b])
}

/// Renders explanations as text: a header per line, then its strongest tokens.
pub fn render(
    classifier: &Classifier,
    lines: &[(usize, &str)],
    ex: &[LineExplanation],
    top: usize,
) -> String {
    let classes = classifier.model().classes();
    let mut s = String::new();
    for ((num, text), e) in lines.iter().zip(ex) {
        let logit = |p: &[f64]| (p[e.label].max(1e-300) / p[e.rival].max(1e-300)).ln();
        let layout = e
            .layout
            .as_ref()
            .map(|l| format!("; read as: {l}"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "line {num}: {} P={:.4} (alone {:.4}; context adjustment {:+.2} log-odds vs {}{layout})  {}",
            classes[e.label],
            e.posteriors[e.label],
            e.alone[e.label],
            logit(&e.posteriors) - logit(&e.alone),
            classes[e.rival],
            text
        );
        for t in e.tokens.iter().take(top) {
            match t.llr {
                Some(v) => {
                    let _ = writeln!(s, "    {:+8.3}  {} x{}", v, t.token, t.count);
                }
                None => {
                    let _ = writeln!(s, "    {:>8}  {} x{}", "unknown", t.token, t.count);
                }
            }
        }
    }
    s
}

/// A warning for an `explain` argument that will be explained as text but reads like a
/// file's name (one word of ASCII, and no such file): most likely a mistyped path, whose
/// explanation would otherwise look like an answer about the file.
pub fn missing_file_hint(input: &str) -> Option<String> {
    let word = input.is_ascii() && !input.is_empty() && !input.contains(char::is_whitespace);
    (word && input != "-" && !std::path::Path::new(input).exists()).then(|| {
        format!("no file is named {input:?}; explaining those characters as a line of text")
    })
}

/// A warning for a file that `explain` reads as lines of text but that opens like
/// records of another format (JSON lines, WARC) or an HTML page, as a plain-text `filter`
/// run would skip it: each record or tag would be explained as one paragraph, which says
/// nothing of how its text is read.
pub fn other_format_hint(text: &[u8], name: &str) -> Option<String> {
    let head = &text[..text.len().min(crate::input::SNIFF)];
    let reason = crate::sniff::other_format(head, head.len() == text.len(), Reads::PlainText)?;
    // What it is, without the flag that reads it in `filter` and `tag`.
    let what = reason.split(':').next().unwrap_or(&reason);
    let advice = if what.contains("JSON") {
        "explain a record's text on its own: jq -r .text FILE | chaff explain -"
    } else if what.contains("HTML") {
        "extract its text first"
    } else {
        "explain a record's text on its own"
    };
    Some(format!(
        "{name}: {what}, explained line by line as plain text; {advice}"
    ))
}

/// `chaff explain INPUT`: `input` names a file (`-`: standard input), read as `tag`
/// reads one (decompressed, decoded by `decode`), or is itself the text to explain (one
/// paragraph per line); a folder is refused. Explains every non-blank line in context and
/// renders the `top` strongest tokens of each.
pub fn explain_input(
    classifier: &Classifier,
    input: &str,
    decode: &crate::input::DecodeOptions,
    top: usize,
) -> crate::Result<String> {
    use crate::sources::Source;
    let path = std::path::Path::new(input);
    if path.is_dir() {
        return Err(crate::Error::Usage(format!(
            "{input}: is a folder; explain reads one file, - for standard input, or a line of text"
        )));
    }
    let source = (input == "-" || path.is_file()).then(|| Source::named(path));
    let owned;
    let (bytes, name) = match &source {
        Some(source) => {
            owned = crate::input::read_whole(source, decode, "text to explain")?;
            if let Some(hint) = other_format_hint(&owned, &source.display()) {
                crate::say!("chaff: warning: {hint}");
            }
            (owned.as_slice(), source.display())
        }
        None => (input.as_bytes(), "<text argument>".to_string()),
    };
    let lines =
        crate::reader::split_lines(bytes).map_err(|(l, m)| crate::Error::input(&name, l, m))?;
    let (texts, blanks) = crate::pipeline::paragraphs(&lines, false);
    let numbered: Vec<(usize, &str)> = lines
        .iter()
        .filter(|l| !l.is_blank())
        .map(|l| (l.number, l.text))
        .collect();
    let ex = explain_lines(classifier, &texts, &blanks);
    Ok(render(classifier, &numbered, &ex, top))
}

//! The HTML audit view (`chaff tag --html`): one self-contained page (inline CSS, no
//! scripts, no network assets) listing every document's lines coloured by label, with the
//! score, dropped lines struck through, a tooltip with the strongest tokens and the
//! context adjustment, and a summary per document.

use crate::explain::LineExplanation;
use crate::reader::Line;
use crate::say::counted;
use crate::summary::Summary;
use crate::writer::Decision;
use std::fmt::Write;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// The page's head and opening body.
pub fn header(title: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="zh">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{}</title>
<style>
body {{ font-family: system-ui, "Noto Sans CJK SC", sans-serif; margin: 1.5em; color: #222; }}
h1 {{ font-size: 1.3em; }}
section.doc {{ border: 1px solid #ccc; border-radius: 6px; margin: 1em 0; padding: .5em 1em; }}
section.doc h2 {{ font-size: 1em; margin: .3em 0; word-break: break-all; }}
.summary {{ color: #555; font-size: .9em; margin-bottom: .5em; }}
.line {{ display: flex; gap: .6em; padding: 2px 4px; border-left: 4px solid transparent; }}
.line .n {{ color: #999; min-width: 3em; text-align: right; font-variant-numeric: tabular-nums; }}
.line .score {{ min-width: 4.5em; font-variant-numeric: tabular-nums; font-size: .85em; }}
.line .label {{ min-width: 3.5em; font-size: .85em; }}
.line.keep {{ background: #eef8ee; border-left-color: #3a3; }}
.line.drop {{ background: #fbeeee; border-left-color: #c33; }}
.line.drop .text {{ text-decoration: line-through; color: #866; }}
.line.blank {{ min-height: .6em; }}
footer {{ color: #555; margin-top: 2em; }}
</style>
</head>
<body>
<h1>{}</h1>
"#,
        escape(title),
        escape(title)
    )
}

/// The closing part of the page, with the run's totals.
pub fn footer(summary: &Summary) -> String {
    format!(
        "<footer id=\"totals\" data-kept=\"{}\" data-dropped=\"{}\">{}, {}: {} kept, {} dropped, {} blank</footer>\n</body>\n</html>\n",
        summary.kept,
        summary.dropped,
        counted(summary.documents, "document"),
        counted(summary.lines, "line"),
        summary.kept,
        summary.dropped,
        summary.blank
    )
}

/// One document's section. `failed`: the document threshold it failed
/// (`--doc-threshold`), which dropped lines its scores alone would keep.
pub fn document(
    heading: &str,
    classes: &[String],
    lines: &[Line<'_>],
    decisions: &[Option<Decision>],
    explanations: &[LineExplanation],
    top: usize,
    failed: Option<f64>,
) -> String {
    let kept = decisions.iter().flatten().filter(|d| d.keep).count();
    let dropped = decisions.iter().flatten().filter(|d| !d.keep).count();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<section class=\"doc\" data-kept=\"{kept}\" data-dropped=\"{dropped}\">\n<h2>{}</h2>\n<div class=\"summary\">{}: {kept} kept, {dropped} dropped, {} blank{}</div>",
        escape(heading),
        counted(lines.len() as u64, "line"),
        lines.len() - kept - dropped,
        failed.map_or_else(String::new, |p| format!(
            "; dropped whole: no paragraph reaches the document threshold {p} on its own"
        ))
    );
    let mut ex = explanations.iter();
    for (l, d) in lines.iter().zip(decisions) {
        let Some(d) = d else {
            let _ = writeln!(s, "<div class=\"line blank\"></div>");
            continue;
        };
        let tip = ex
            .next()
            .map(|e| tooltip(e, classes, top))
            .unwrap_or_default();
        let news = classes.iter().position(|c| c == "news").unwrap_or(d.label);
        let _ = writeln!(
            s,
            "<div class=\"line {}\" title=\"{}\"><span class=\"n\">{}</span><span class=\"label\">{}</span><span class=\"score\">{:.4}</span><span class=\"text\">{}</span></div>",
            if d.keep { "keep" } else { "drop" },
            escape(&tip),
            l.number,
            escape(&classes[d.label]),
            d.posteriors[news],
            escape(l.text)
        );
    }
    s.push_str("</section>\n");
    s
}

fn tooltip(e: &LineExplanation, classes: &[String], top: usize) -> String {
    let logit = |p: &[f64]| (p[e.label].max(1e-300) / p[e.rival].max(1e-300)).ln();
    let mut t = format!(
        "{} {:.4} (alone {:.4}; context {:+.2} log-odds vs {})",
        classes[e.label],
        e.posteriors[e.label],
        e.alone[e.label],
        logit(&e.posteriors) - logit(&e.alone),
        classes[e.rival]
    );
    if let Some(l) = &e.layout {
        let _ = write!(t, "\nread as: {l}");
    }
    for tok in e.tokens.iter().filter(|t| t.llr.is_some()).take(top) {
        let _ = write!(t, "\n{:+.3} {}", tok.llr.unwrap_or(0.0), tok.token);
    }
    t
}

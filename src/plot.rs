//! `chaff eval --plot FILE.svg`: precision, recall, news loss and filler leak against the
//! keep threshold, and the score histogram per class, so a threshold can be picked by eye.

use crate::error::{Error, Result};
use crate::eval::EvalReport;
use plotters::prelude::*;
use std::path::Path;

/// Thresholds on a log scale from 1e-4 to 1 (where the interesting choices are).
fn thresholds() -> Vec<f64> {
    (0..=80)
        .map(|i| 10f64.powf(-4.0 + i as f64 / 20.0))
        .collect()
}

/// Draws the plots for a report into an SVG file.
pub fn plot(report: &EvalReport, path: &Path) -> Result<()> {
    let svg = render(report).map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    crate::output::write_atomic(path, svg.as_bytes())
}

/// The SVG text.
pub fn render(report: &EvalReport) -> std::result::Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1100, 450)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (left, right) = root.split_horizontally(560);
        curves(report, &left).map_err(|e| e.to_string())?;
        histogram(report, &right).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

fn curves(r: &EvalReport, area: &Area<'_>) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let kept_total = r.points.iter().filter(|p| p.1).count().max(1) as f64;
    let other_total = r.points.iter().filter(|p| !p.1).count().max(1) as f64;
    let mut prec = Vec::new();
    let mut rec = Vec::new();
    let mut loss = Vec::new();
    let mut leak = Vec::new();
    for t in thresholds() {
        let kept_ok = r.points.iter().filter(|p| p.1 && p.0 >= t).count() as f64;
        let kept_bad = r.points.iter().filter(|p| !p.1 && p.0 >= t).count() as f64;
        let x = t.log10();
        prec.push((
            x,
            if kept_ok + kept_bad > 0.0 {
                kept_ok / (kept_ok + kept_bad)
            } else {
                1.0
            },
        ));
        rec.push((x, kept_ok / kept_total));
        loss.push((x, 1.0 - kept_ok / kept_total));
        leak.push((x, kept_bad / other_total));
    }
    let mut chart = ChartBuilder::on(area)
        .caption("kept class vs threshold", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(-4.0..0.0, 0.0..1.0)?;
    chart
        .configure_mesh()
        .x_desc("threshold (log10)")
        .y_desc("share")
        .draw()?;
    for (data, color, name) in [
        (prec, BLUE, "precision"),
        (rec, GREEN, "recall"),
        (loss, RED, "news loss"),
        (leak, MAGENTA, "filler leak"),
    ] {
        chart
            .draw_series(LineSeries::new(data, color.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], color));
    }
    let t = r.threshold.max(1e-4).log10();
    chart
        .draw_series(LineSeries::new(
            vec![(t, 0.0), (t, 1.0)],
            BLACK.stroke_width(1),
        ))?
        .label(format!("threshold {}", r.threshold))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], BLACK));
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .position(SeriesLabelPosition::MiddleRight)
        .draw()?;
    Ok(())
}

fn histogram(
    r: &EvalReport,
    area: &Area<'_>,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    const BINS: usize = 20;
    let mut counts = [[0u64; BINS]; 2];
    for &(p, kept) in &r.points {
        let b = ((p * BINS as f64) as usize).min(BINS - 1);
        counts[usize::from(kept)][b] += 1;
    }
    let max = counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(
            "kept-class posterior per class (log count)",
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(0.0..1.0, 0.0..(max.log10() + 0.5))?;
    chart
        .configure_mesh()
        .x_desc("posterior of the kept classes")
        .y_desc("log10(lines + 1)")
        .draw()?;
    let w = 1.0 / BINS as f64;
    for (row, color, name, shift) in [
        (1, GREEN, "kept class (news)", 0.0),
        (0, RED, "other (filler)", w / 2.0),
    ] {
        chart
            .draw_series(counts[row].iter().enumerate().map(|(b, &c)| {
                let x0 = b as f64 * w + shift;
                Rectangle::new(
                    [(x0, 0.0), (x0 + w / 2.0, ((c + 1) as f64).log10())],
                    color.mix(0.7).filled(),
                )
            }))?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .position(SeriesLabelPosition::UpperMiddle)
        .draw()?;
    Ok(())
}

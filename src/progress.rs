//! Progress on stderr for long runs: bytes read, MB/s and ETA, only when stderr is a
//! terminal (and `NO_COLOR`/`--quiet` are honoured), so logs and pipes stay clean.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// A progress display that may be switched off.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar over `total()` input bytes (`None`: unknown, e.g. stdin), shown only if
    /// `enabled` and stderr is a terminal (`total` is not called otherwise: it may stat
    /// every input).
    pub fn new(enabled: bool, total: impl FnOnce() -> Option<u64>) -> Progress {
        if !enabled || !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let total = total();
        let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let template = match (total, color) {
            (Some(_), true) => "{spinner:.green} [{elapsed_precise}] {wide_bar:.cyan/blue} {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec} ETA {eta} {msg}",
            (Some(_), false) => "[{elapsed_precise}] {wide_bar} {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec} ETA {eta} {msg}",
            (None, _) => "[{elapsed_precise}] {decimal_bytes} {decimal_bytes_per_sec} {msg}",
        };
        // Decimal units (MB), as the summary line counts them.
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr_with_hz(4));
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        // The clock and spinner move while nothing is finished (a long record is one
        // job of minutes): a bar that stands still reads as a hung run.
        bar.enable_steady_tick(std::time::Duration::from_millis(250));
        Progress { bar: Some(bar) }
    }

    /// Updates the position (bytes read) and the files counter.
    pub fn update(&self, bytes: u64, files_done: u64) {
        if let Some(b) = &self.bar {
            b.set_position(bytes);
            b.set_message(crate::say::counted(files_done, "file"));
        }
    }

    /// Runs `f` (which prints to stderr) with the bar hidden.
    pub fn suspend<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.bar {
            Some(b) => b.suspend(f),
            None => f(),
        }
    }

    /// Removes the bar before the summary line is printed.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

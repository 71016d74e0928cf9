//! The `chaff` command line: parses the flags and hands them to the library's
//! [`chaff::cli`], which checks them and runs the command.

use chaff::cli::{self, Cli};
use clap::Parser;
use std::process::ExitCode;

/// Huge pages for jieba's trie and the token table (see `chaff::huge_pages`).
#[global_allocator]
static ALLOC: chaff::huge_pages::HugePageAlloc = chaff::huge_pages::HugePageAlloc;

fn main() -> ExitCode {
    chaff::huge_pages::bound_malloc();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind::*;
            if matches!(e.kind(), DisplayHelp | DisplayVersion)
                && !std::io::IsTerminal::is_terminal(&std::io::stdout())
            {
                // Through chaff's own stdout writing, so `chaff --help > /dev/full` fails
                // as any report would (clap's own printing ignores a failed write).
                return cli::exit_code(cli::print_text(&e.render().to_string()), false);
            }
            if matches!(
                e.kind(),
                DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            // One line, like every other chaff error; `--help` has the details.
            let msg = e.to_string();
            let head: Vec<&str> = msg
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let text = head.join(" ");
            chaff::say!(
                "chaff: {} (see chaff --help)",
                text.trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    // A bug's panic as one chaff line (the default hook's names a thread and suggests a
    // backtrace over several); a worker's is then also reported with its file and line.
    // The Parquet reader's own panics on damaged files are caught and reported with the
    // file, so they are no chaff bug.
    std::panic::set_hook(Box::new(|info| {
        let p = info.payload();
        let msg = (p.downcast_ref::<&str>().copied())
            .or_else(|| p.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("panic")
            .replace('\n', " ");
        let file = info.location().map_or("", |l| l.file());
        let at = info
            .location()
            .map(|l| format!(" ({file}:{})", l.line()))
            .unwrap_or_default();
        let parquet = chaff::parquet::in_guarded_call();
        if parquet || file.contains("/parquet-") || file.contains("/arrow-") {
            chaff::say!("chaff: warning: the Parquet library stopped on a damaged file: {msg}{at}");
        } else {
            chaff::say!("chaff: internal error: {msg}{at}");
        }
    }));
    cli::run(cli)
}

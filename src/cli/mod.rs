//! The `chaff` command line's wiring: the flags ([`Cli`]), each command's checks of
//! them, and the library calls they make. `main.rs` parses and calls [`run`].

mod args;
mod models;
mod runs;

pub use args::Cli;
use args::{Command, DecisionArgs, ModelArg};

use crate::classifier::{Classifier, KeepPolicy};
use crate::compression::Compression;
use crate::{output, sources, Error, Result};
use clap::CommandFactory;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Runs the command `cli` names, with its global flags (`--threads`, `--quiet`,
/// `--verbose`), and says how it ended: its error on stderr, and the exit code. A
/// process's `main`: it sizes rayon's global pool, and `tag` and `filter` install
/// signal handlers.
pub fn run(cli: Cli) -> ExitCode {
    if let Some(n) = cli.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
        {
            crate::say!("chaff: --threads {n}: {e}");
            return ExitCode::from(2);
        }
    }
    let global = Global {
        quiet: cli.quiet,
        verbose: cli.verbose,
    };
    // A run into files of its own (an OUTDIR, Dolma attributes) leaves complete ones
    // that --resume goes on from; one on standard output leaves a stream cut short.
    let resumable = match &cli.command {
        Command::Filter(a) => a.output.is_some(),
        Command::Tag(a) => a.dolma,
        _ => false,
    };
    let result = match cli.command {
        Command::Train(a) => models::cmd_train(a, &global),
        Command::Forget(a) => models::cmd_forget(a, &global),
        Command::Tag(a) => runs::cmd_tag(a, &global),
        Command::Filter(a) => runs::cmd_filter(a, &global),
        Command::Eval(a) => models::cmd_eval(a),
        Command::Explain(a) => models::cmd_explain(a),
        Command::Inspect(a) => models::cmd_inspect(a),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "chaff", &mut out);
            print_text(&String::from_utf8_lossy(&out))
        }
        Command::Man { command } => man_page(command.as_deref()),
    };
    exit_code(result, resumable)
}

/// The classifier (`--model`, `--no-context`) and keep policy (`--keep`, `--threshold`,
/// `--doc-threshold`) a command decides with. The classifier is leaked: it lives as long
/// as the process that ran the command.
pub(crate) fn classifier_and_policy(
    m: &ModelArg,
    d: &DecisionArgs,
) -> Result<(&'static Classifier, KeepPolicy)> {
    let c = Classifier::load(|| models::load_model(m))?.with_context(!d.no_context);
    let policy =
        KeepPolicy::new(c.model(), &d.keep, d.threshold)?.with_doc_threshold(d.doc_threshold)?;
    // Lives until the process exits: freeing the dictionary and tables one allocation at a
    // time at the end of a run would only add to its wall time.
    Ok((Box::leak(Box::new(c)), policy))
}

/// The codec standard output's file is named for (`> clean.jsonl.gz`), if it is a file
/// so named: `--compress auto` writes it compressed as named, as a side file is (plain
/// text under that name would fail every reader of the codec).
pub(crate) fn named_stdout() -> Option<Compression> {
    sources::stdout_file()
        .map(|f| Compression::from_name(&f))
        .filter(|&c| c != Compression::None)
}

/// Global flags every subcommand sees.
pub(crate) struct Global {
    pub(crate) quiet: bool,
    pub(crate) verbose: bool,
}

/// Prints chaff(1), or with `command` that command's page (`chaff-filter(1)`): the top
/// page lists the commands, each command's page its options.
pub(crate) fn man_page(command: Option<&str>) -> Result<()> {
    let mut cli = Cli::command().disable_help_subcommand(true);
    // Built, each command is named as its page is (chaff-filter).
    cli.build();
    let page = match command {
        None => cli,
        Some(name) => match cli.find_subcommand(name) {
            Some(c) => c.clone(),
            None => {
                let names: Vec<&str> = cli.get_subcommands().map(|c| c.get_name()).collect();
                return Err(Error::Usage(format!(
                    "no command {name:?} (commands: {})",
                    names.join(", ")
                )));
            }
        },
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .source(format!("chaff {}", env!("CARGO_PKG_VERSION")))
        .render(&mut out)
        .map_err(|e| Error::io("<stdout>", e))?;
    print_text(&String::from_utf8_lossy(&out))
}

/// Writes a finished report to stdout, compressed as the file stdout is redirected to is
/// named (`chaff man > chaff.1.gz`, `chaff eval --json dev > r.json.zst`).
pub fn print_text(text: &str) -> Result<()> {
    let how = named_stdout().unwrap_or(Compression::None);
    let out = std::io::stdout().lock();
    let mut out = output::Compressed::new(out, how, None, false)
        .and_then(|mut w| w.write_all(text.as_bytes()).map(|()| w))
        .and_then(|w| w.finish())
        .map_err(|e| Error::io("<stdout>", e))?;
    out.flush().map_err(|e| Error::io("<stdout>", e))
}

/// The exit code of a command's `result`, its error said on stderr. `resumable`: the run
/// wrote files of its own, which a stop leaves complete for `--resume`.
pub fn exit_code(result: Result<()>, resumable: bool) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe on stdout (`chaff tag ... | head`) is the reader's choice, not a
        // failure; one on a side file (`--removed >(head)`) lost records it asked for.
        Err(Error::Io { source, path })
            if source.kind() == std::io::ErrorKind::BrokenPipe && path == Path::new("<stdout>") =>
        {
            ExitCode::SUCCESS
        }
        Err(Error::Interrupted) if !resumable => {
            crate::say!(
                "chaff: interrupted; standard output stops where the run did, and no file named on the command line was written"
            );
            ExitCode::from(130)
        }
        Err(e) => {
            crate::say!("chaff: {e}");
            ExitCode::from(match e {
                Error::Usage(_) => 2,
                Error::Interrupted => 130,
                _ => 1,
            })
        }
    }
}

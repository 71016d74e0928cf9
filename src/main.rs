//! The `chaff` command line: a thin list of verbs over the library.

use chaff::classifier::{Classifier, KeepPolicy};
use chaff::features::FeatureConfig;
use chaff::model::Model;
use chaff::pipeline::{run_filter, run_tag, FilterTarget};
use chaff::reader::{expand_inputs, Source};
use chaff::train::TrainOptions;
use chaff::writer::TagFormat;
use chaff::{dataset, eval, model_file, output, train, Error, Result};
use clap::{Args, Parser, Subcommand};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "chaff",
    version,
    about = "Keep the news, drop the filler: paragraph-level cleaning of Chinese web dumps"
)]
struct Cli {
    /// Worker threads (default: all cores)
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    /// No summary line on stderr
    #[arg(long, short = 'q', global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model from labelled data (TSV, fastText or labelled page sets)
    #[command(after_help = "Example:\n  chaff train -o my.chaff labelled.tsv pages/")]
    Train(TrainArgs),
    /// Remove labelled data from a model exactly (the inverse of `train --update`)
    #[command(
        after_help = "Example:\n  chaff forget --model my.chaff -o smaller.chaff bad-rows.tsv"
    )]
    Forget(ForgetArgs),
    /// Score every non-blank line: TSV (default) or JSON lines on stdout
    #[command(after_help = "Example:\n  chaff tag --json page.txt | head")]
    Tag(TagArgs),
    /// Write only the kept lines, byte for byte
    #[command(
        after_help = "Examples:\n  chaff filter page.txt > clean.txt\n  chaff filter -o clean/ dump/"
    )]
    Filter(FilterArgs),
    /// Measure a model on labelled data (precision, recall, F1, news_loss, filler_leak)
    #[command(after_help = "Example:\n  chaff eval ../shared/eval/dev")]
    Eval(EvalArgs),
    /// Show why lines were scored as they were: token contributions and context adjustment
    #[command(
        after_help = "Examples:\n  chaff explain '哈哈哈今天好开心[哈哈]'\n  chaff explain --top 5 page.txt"
    )]
    Explain(ExplainArgs),
    /// Describe a model: classes, priors, vocabulary, training summary, top tokens
    #[command(after_help = "Example:\n  chaff inspect models/default.chaff")]
    Inspect(InspectArgs),
}

#[derive(Args)]
struct ModelArg {
    /// Model file (default: the model embedded in this binary)
    #[arg(long, short = 'm', value_name = "MODEL")]
    model: Option<PathBuf>,
}

#[derive(Args)]
struct DecisionArgs {
    /// Class to keep (repeatable; default: news)
    #[arg(long, value_name = "LABEL")]
    keep: Vec<String>,
    /// Keep a line when the posterior of the kept classes is at least P (default: the model's)
    #[arg(long, value_name = "P")]
    threshold: Option<f64>,
    /// Score every line on its own, without the page-context model
    #[arg(long)]
    no_context: bool,
}

#[derive(Args)]
struct TrainArgs {
    /// Where to write the model (required unless --update, which then rewrites MODEL)
    #[arg(short, long, value_name = "MODEL")]
    output: Option<PathBuf>,
    /// Add the data to this existing model instead of starting afresh
    #[arg(long, value_name = "MODEL")]
    update: Option<PathBuf>,
    /// Additive smoothing
    #[arg(long, default_value_t = TrainOptions::default().alpha)]
    alpha: f64,
    /// Tokens seen fewer times are left out of the scoring table
    #[arg(long, default_value_t = TrainOptions::default().min_count)]
    min_count: u64,
    /// Default keep threshold stored in the model (default: picked on held-out page lines)
    #[arg(long)]
    threshold: Option<f64>,
    /// Context emission temperature (default: fitted on held-out page lines)
    #[arg(long)]
    gamma: Option<f64>,
    /// Let jieba's HMM guess out-of-dictionary words
    #[arg(long)]
    hmm: bool,
    /// Do not add structural pseudo-tokens
    #[arg(long)]
    no_structure: bool,
    /// Labelled inputs
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
}

#[derive(Args)]
struct ForgetArgs {
    /// The model to remove data from
    #[arg(long, short = 'm', value_name = "MODEL")]
    model: PathBuf,
    /// Where to write the result (default: rewrite MODEL)
    #[arg(short, long, value_name = "MODEL")]
    output: Option<PathBuf>,
    /// Labelled data that was part of the model's training data
    #[arg(required = true, value_name = "DATA")]
    inputs: Vec<PathBuf>,
}

#[derive(Args)]
struct TagArgs {
    #[command(flatten)]
    model: ModelArg,
    #[command(flatten)]
    decision: DecisionArgs,
    /// One JSON object per line instead of TSV
    #[arg(long)]
    json: bool,
    /// Files, folders (walked recursively, sorted) or - for stdin
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
}

#[derive(Args)]
struct FilterArgs {
    #[command(flatten)]
    model: ModelArg,
    #[command(flatten)]
    decision: DecisionArgs,
    /// Mirror the inputs under this folder instead of writing to stdout
    #[arg(short, long, value_name = "OUTDIR")]
    output: Option<PathBuf>,
    /// Write into OUTDIR even if it already holds files
    #[arg(long)]
    force: bool,
    /// Also write the run summary as JSON to FILE
    #[arg(long, value_name = "FILE")]
    stats: Option<PathBuf>,
    /// Files, folders (walked recursively, sorted) or - for stdin
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
}

#[derive(Args)]
struct EvalArgs {
    #[command(flatten)]
    model: ModelArg,
    #[command(flatten)]
    decision: DecisionArgs,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
    /// Labelled data: TSV, fastText or page sets
    #[arg(required = true, value_name = "LABELLED")]
    inputs: Vec<PathBuf>,
}

#[derive(Args)]
struct ExplainArgs {
    #[command(flatten)]
    model: ModelArg,
    /// Tokens to show per line
    #[arg(long, default_value_t = 12)]
    top: usize,
    /// A file (its non-blank lines are explained as one page) or a line of text
    #[arg(value_name = "TEXT|FILE")]
    input: String,
}

#[derive(Args)]
struct InspectArgs {
    /// Model file (default: the embedded model)
    model: Option<PathBuf>,
    /// How many top tokens to list per class
    #[arg(long, default_value_t = 15)]
    top: usize,
}

fn load_model(arg: &ModelArg) -> Result<Model> {
    match &arg.model {
        Some(p) => model_file::load(p),
        None => chaff::default_model(),
    }
}

fn save_model(model: &Model, path: &Path) -> Result<()> {
    output::write_atomic(path, &model_file::to_bytes(model))
}

fn summarize(model: &Model, path: &Path) {
    let classes: Vec<String> = model
        .classes()
        .iter()
        .zip(model.counts().docs())
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    eprintln!(
        "chaff: wrote {}: paragraphs {}; {} tokens counted, {} in the table",
        path.display(),
        classes.join(", "),
        model.counts().distinct_tokens(),
        model.vocab().len()
    );
}

fn cmd_train(a: TrainArgs) -> Result<()> {
    let model = match &a.update {
        Some(base) => train::update(&model_file::load(base)?, &a.inputs)?,
        None => {
            let opts = TrainOptions {
                alpha: a.alpha,
                min_count: a.min_count,
                threshold: a.threshold,
                gamma: a.gamma,
                features: FeatureConfig {
                    hmm: a.hmm,
                    structure: !a.no_structure,
                },
            };
            train::train(&a.inputs, &opts)?
        }
    };
    let out = a
        .output
        .or(a.update)
        .ok_or_else(|| Error::Usage("train needs -o MODEL (or --update MODEL)".into()))?;
    save_model(&model, &out)?;
    summarize(&model, &out);
    Ok(())
}

fn cmd_forget(a: ForgetArgs) -> Result<()> {
    let model = train::forget(&model_file::load(&a.model)?, &a.inputs)?;
    let out = a.output.unwrap_or(a.model);
    save_model(&model, &out)?;
    summarize(&model, &out);
    Ok(())
}

fn classifier_and_policy(m: &ModelArg, d: &DecisionArgs) -> Result<(Classifier, KeepPolicy)> {
    let model = load_model(m)?;
    let policy = KeepPolicy::new(&model, &d.keep, d.threshold)?;
    Ok((Classifier::new(model).with_context(!d.no_context), policy))
}

fn cmd_tag(a: TagArgs) -> Result<()> {
    let (c, p) = classifier_and_policy(&a.model, &a.decision)?;
    let sources = expand_inputs(&a.inputs)?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let format = if a.json {
        TagFormat::Json
    } else {
        TagFormat::Tsv
    };
    run_tag(&c, &p, sources, format, &mut out)?;
    Ok(())
}

fn cmd_filter(a: FilterArgs, quiet: bool) -> Result<()> {
    let (c, p) = classifier_and_policy(&a.model, &a.decision)?;
    let sources = expand_inputs(&a.inputs)?;
    let start = std::time::Instant::now();
    let summary = match &a.output {
        Some(dir) => {
            prepare_outdir(dir, &sources, a.force)?;
            run_filter(&c, &p, sources, FilterTarget::Dir(dir))?
        }
        None => {
            if sources.len() != 1 {
                return Err(Error::Usage(format!(
                    "{} input files: filter writes one file (or -) to stdout; use -o OUTDIR for several",
                    sources.len()
                )));
            }
            let stdout = std::io::stdout();
            let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
            run_filter(&c, &p, sources, FilterTarget::Stream(&mut out))?
        }
    };
    let secs = start.elapsed().as_secs_f64();
    if !quiet {
        eprintln!("chaff: {}", summary.line(secs));
    }
    if let Some(path) = &a.stats {
        let json = serde_json::to_vec_pretty(&summary).map_err(|e| Error::Usage(e.to_string()))?;
        output::write_atomic(path, &json)?;
    }
    Ok(())
}

/// Refuses output folders that would mix with inputs or earlier results.
fn prepare_outdir(dir: &Path, sources: &[Source], force: bool) -> Result<()> {
    if dir.exists() {
        if !dir.is_dir() {
            return Err(Error::Usage(format!(
                "{}: exists and is not a folder",
                dir.display()
            )));
        }
        let busy = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .next()
            .is_some();
        if busy && !force {
            return Err(Error::Usage(format!(
                "{}: output folder already holds files (use --force to write into it)",
                dir.display()
            )));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let real_out = std::fs::canonicalize(dir).map_err(|e| Error::io(dir, e))?;
    for s in sources {
        if let Source::File { path, .. } = s {
            let real = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
            if real.starts_with(&real_out) {
                return Err(Error::Usage(format!(
                    "{}: input lies inside the output folder {}",
                    path.display(),
                    dir.display()
                )));
            }
        }
    }
    Ok(())
}

/// Writes a finished report to stdout.
fn print_text(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Error::io("<stdout>", e))
}

fn cmd_eval(a: EvalArgs) -> Result<()> {
    let (c, p) = classifier_and_policy(&a.model, &a.decision)?;
    let docs = dataset::read_labelled(&a.inputs)?;
    let report = eval::evaluate(&c, &p, &docs)?;
    let text = if a.json {
        serde_json::to_string_pretty(&report).map_err(|e| Error::Usage(e.to_string()))? + "\n"
    } else {
        report.to_text()
    };
    print_text(&text)
}

fn cmd_explain(a: ExplainArgs) -> Result<()> {
    let c = Classifier::new(load_model(&a.model)?);
    let path = Path::new(&a.input);
    let owned;
    let lines: Vec<(usize, &str)> = if path.is_file() {
        let doc = chaff::reader::Document::read(Source::File {
            path: path.to_path_buf(),
            rel: path.to_path_buf(),
        })?;
        owned = doc;
        owned
            .lines()?
            .into_iter()
            .filter(|l| !l.is_blank())
            .map(|l| (l.number, l.text))
            .collect()
    } else {
        a.input
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| (i + 1, l))
            .collect()
    };
    let texts: Vec<&str> = lines.iter().map(|l| l.1).collect();
    let ex = chaff::explain::explain_lines(&c, &texts);
    let text = chaff::explain::render(&c, &lines, &ex, a.top);
    print_text(&text)
}

fn cmd_inspect(a: InspectArgs) -> Result<()> {
    let model = load_model(&ModelArg { model: a.model })?;
    let text = chaff::model::describe(&model, a.top);
    print_text(&text)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind::*;
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
            eprintln!(
                "chaff: {} (see chaff --help)",
                text.trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    if let Some(n) = cli.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
        {
            eprintln!("chaff: --threads {n}: {e}");
            return ExitCode::from(2);
        }
    }
    let result = match cli.command {
        Command::Train(a) => cmd_train(a),
        Command::Forget(a) => cmd_forget(a),
        Command::Tag(a) => cmd_tag(a),
        Command::Filter(a) => cmd_filter(a, cli.quiet),
        Command::Eval(a) => cmd_eval(a),
        Command::Explain(a) => cmd_explain(a),
        Command::Inspect(a) => cmd_inspect(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`chaff tag ... | head`) is the reader's choice, not a failure.
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("chaff: {e}");
            ExitCode::from(match e {
                Error::Usage(_) => 2,
                _ => 1,
            })
        }
    }
}

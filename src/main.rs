//! The `chaff` command line: a thin list of verbs over the library.

use chaff::classifier::{Classifier, KeepPolicy};
use chaff::compression::Compression;
use chaff::features::FeatureConfig;
use chaff::file_list::{self, Separator};
use chaff::input::DecodeOptions;
use chaff::jsonl::BadRecords;
use chaff::model::Model;
use chaff::outdir::{self, Existing};
use chaff::output::AtomicWriter;
use chaff::pipeline::{Engine, FilterTarget, InputFormat, RunOptions, Sidecars, Summary};
use chaff::side_file::SideFile;
use chaff::sources::{self, Input, InputList, Inputs};
use chaff::train::TrainOptions;
use chaff::writer::TagFormat;
use chaff::{dataset, eval, model_file, output, train, Error, Result};
use clap::{Args, CommandFactory, Parser, Subcommand};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Huge pages for jieba's trie and the token table (see `chaff::huge_pages`).
#[global_allocator]
static ALLOC: chaff::huge_pages::HugePageAlloc = chaff::huge_pages::HugePageAlloc;

#[derive(Parser)]
#[command(
    name = "chaff",
    version,
    about = "Keep the news, drop the filler: paragraph-level cleaning of Chinese web dumps",
    after_help = "Exit codes: 0 success; 1 error (I/O, bad input, bad model, a non-text file with --strict); 2 bad command line; 130 interrupted (SIGINT/SIGTERM/SIGHUP; finish with --resume).\nNO_COLOR is honoured; progress shows only when stderr is a terminal."
)]
struct Cli {
    /// Classifying worker threads (default or 0: all cores; at most 1024); reading and
    /// writing have one each
    #[arg(long, global = true, value_name = "N", allow_negative_numbers = true,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=1024))]
    threads: Option<usize>,
    /// No summary line on stderr
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Also report every input file's accounting on stderr
    #[arg(long, short = 'v', global = true)]
    verbose: bool,
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
    #[command(
        after_help = "Examples:\n  chaff tag --json page.txt | head\n  chaff tag --html audit.html dump/\n  chaff tag --dolma --attributes-dir data/attributes/chaff data/documents/*.jsonl.gz"
    )]
    Tag(TagArgs),
    /// Write only the kept lines, byte for byte
    #[command(
        after_help = "Examples:\n  chaff filter page.txt > clean.txt\n  chaff filter -o clean/ dump/\n  chaff filter --warc -o clean/ CC-MAIN-*.warc.wet.gz\n  chaff filter --parquet -o clean/ data/train-*.parquet\n  chaff filter --jsonl --text-field '/段落/*/内容' -o clean/ mnbvc/*.jsonl.gz\n  find dump -name '*.jsonl.gz' | chaff filter --jsonl --files-from - -o clean/"
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
    /// Print a shell completion script
    #[command(after_help = "Example:\n  chaff completions bash > /etc/bash_completion.d/chaff")]
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): chaff(1), or a command's own with its options
    #[command(
        after_help = "Examples:\n  chaff man > chaff.1 && man ./chaff.1\n  chaff man filter > chaff-filter.1"
    )]
    Man {
        /// The command whose page to print (chaff-filter(1) for filter); none: chaff(1)
        command: Option<String>,
    },
}

#[derive(Args)]
struct ModelArg {
    /// Model file (default: the model embedded in this binary)
    #[arg(long, short = 'm', value_name = "MODEL")]
    model: Option<PathBuf>,
}

impl ModelArg {
    /// Refuses a file the run writes that is the model file it reads (`eval -m m.chaff
    /// --plot m.chaff`): the run would replace the model.
    fn refuse_written(&self, written: &sources::Written) -> Result<()> {
        match self.model.as_deref().map(|m| (m, std::fs::metadata(m))) {
            Some((m, Ok(meta))) => written.check_file(m, &meta),
            _ => Ok(()),
        }
    }
}

#[derive(Args)]
struct DecisionArgs {
    /// Class to keep (repeatable; default: news)
    #[arg(long, value_name = "LABEL")]
    keep: Vec<String>,
    /// Keep a line when the posterior of the kept classes is at least P (default: the model's)
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    threshold: Option<f64>,
    /// Score every line on its own, without the page-context model
    #[arg(long)]
    no_context: bool,
}

#[derive(Args)]
struct TrainArgs {
    /// Where to write the model (required unless --update, which then rewrites MODEL); a
    /// name ending .gz, .zst, .bz2, .xz or .lz4 is compressed so
    #[arg(short, long, value_name = "MODEL")]
    output: Option<PathBuf>,
    /// Add the data to this existing model instead of starting afresh (the model keeps
    /// its settings: smoothing, features, context, threshold)
    #[arg(long, value_name = "MODEL", conflicts_with_all = [
        "alpha", "min_count", "threshold", "gamma", "tune_on", "hmm", "no_structure",
    ])]
    update: Option<PathBuf>,
    /// Additive smoothing
    #[arg(long, default_value_t = TrainOptions::default().alpha, allow_negative_numbers = true)]
    alpha: f64,
    /// Tokens seen fewer times are left out of the scoring table
    #[arg(long, default_value_t = TrainOptions::default().min_count, allow_negative_numbers = true)]
    min_count: u64,
    /// Default keep threshold stored in the model (default: picked on held-out page lines)
    #[arg(long, allow_negative_numbers = true)]
    threshold: Option<f64>,
    /// Context emission temperature (default: fitted on held-out page lines)
    #[arg(long, conflicts_with = "tune_on", allow_negative_numbers = true)]
    gamma: Option<f64>,
    /// Labelled page sets (never trained on) on which to pick the context's emission
    /// scaling and the threshold by decision cost (30 x news_loss + filler_leak)
    #[arg(long, value_name = "PAGES")]
    tune_on: Vec<PathBuf>,
    /// Let jieba's HMM guess out-of-dictionary words
    #[arg(long)]
    hmm: bool,
    /// Do not add structural pseudo-tokens
    #[arg(long)]
    no_structure: bool,
    #[command(flatten)]
    decoding: Decoding,
    /// Labelled inputs (- for TSV or fastText rows on stdin)
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
    #[command(flatten)]
    decoding: Decoding,
    /// Labelled data that was part of the model's training data (- for stdin)
    #[arg(required = true, value_name = "DATA")]
    inputs: Vec<PathBuf>,
}

#[derive(Args)]
struct InputArgs {
    /// Inputs are JSON lines; each record's text field is a document
    #[arg(long)]
    jsonl: bool,
    /// Inputs are WARC files (Common Crawl WET); each conversion record is a document,
    /// other records pass through filter unchanged
    #[arg(long, conflicts_with = "jsonl")]
    warc: bool,
    /// Inputs are Parquet files; each row's text column is a document, other columns pass
    /// through filter unchanged
    #[arg(long, conflicts_with_all = ["jsonl", "warc"])]
    parquet: bool,
    /// Read every input as plain text, even one whose first lines look like JSON lines,
    /// WARC or HTML (such files are otherwise skipped with a warning naming their flag)
    #[arg(long, conflicts_with_all = ["jsonl", "warc", "parquet"])]
    plain_text: bool,
    /// Name of the text field of JSONL records (the text column, with --parquet), or a
    /// JSON Pointer to a nested one (/data/content; a * for each element of an array or
    /// list: /段落/*/内容) [default: text]
    #[arg(long, value_name = "NAME")]
    text_field: Option<String>,
    #[command(flatten)]
    decoding: Decoding,
    /// Fail on a file that is not text instead of skipping it with a warning
    #[arg(long)]
    strict: bool,
    /// What to do with a JSONL line that is not a usable record (not a JSON object, no
    /// text field): error (stop the run), skip it, or keep it unchanged in filter's output;
    /// skipped and kept records are warned about and counted
    #[arg(long, default_value = "error", value_name = "HOW",
          value_parser = ["error", "skip", "keep"])]
    bad_records: String,
    /// Streaming (JSONL on stdin/stdout): each record is answered and flushed before the
    /// next is read; filter writes one record for every record read, even if left empty
    /// (tag: the record's tag records, none for a record without text)
    #[arg(long)]
    pipe: bool,
    /// Bytes per chunk of a large input (chunks are classified in parallel)
    #[arg(long, default_value_t = chaff::pipeline::CHUNK_BYTES, value_name = "BYTES", hide = true)]
    chunk_bytes: usize,
    /// Under -o OUTDIR, checkpoint a large JSONL or text input's output (but an xz one)
    /// every BYTES of its text, for --resume to go on inside it (0: never)
    #[arg(long, default_value_t = chaff::pipeline::CHECKPOINT_BYTES, value_name = "BYTES", hide = true)]
    checkpoint_bytes: u64,
    /// Also read the inputs named in LIST, one path per line (- for stdin); under -o
    /// OUTDIR a listed path keeps its whole path (as with tar -T or rsync --files-from)
    #[arg(long, value_name = "LIST", conflicts_with = "files0_from")]
    files_from: Option<PathBuf>,
    /// As --files-from, with each path ended by a NUL byte (find -print0)
    #[arg(long, value_name = "LIST")]
    files0_from: Option<PathBuf>,
    /// Files, folders (walked recursively, sorted) or - for stdin; gzip, zstd, bzip2, xz
    /// and lz4 are decompressed
    #[arg(required_unless_present_any = ["files_from", "files0_from"], value_name = "INPUT")]
    inputs: Vec<PathBuf>,
}

/// How text is decoded: `--encoding` and `--lossy`.
#[derive(Args)]
struct Decoding {
    /// Read inputs in this encoding (gbk, gb18030, big5, utf-8, ...) instead of detecting it
    #[arg(long, value_name = "LABEL")]
    encoding: Option<String>,
    /// Replace undecodable bytes (and in JSONL text, lone UTF-16 surrogate escapes) with U+FFFD instead of failing
    #[arg(long)]
    lossy: bool,
}

impl Decoding {
    /// The options they ask for.
    fn options(&self) -> Result<DecodeOptions> {
        Ok(DecodeOptions {
            encoding: match &self.encoding {
                Some(l) => Some(DecodeOptions::parse_encoding(l)?),
                None => None,
            },
            lossy: self.lossy,
            ..DecodeOptions::default()
        })
    }

    /// Whether either is given.
    fn given(&self) -> bool {
        self.encoding.is_some() || self.lossy
    }
}

/// A run's inputs: the command line's, then a list's.
struct RunInputs {
    /// Shared by the walks of a run (a list can hold millions).
    all: Arc<InputList>,
    /// The list's digest, for the settings record.
    files_from: Option<String>,
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
    /// Write Dolma attribute files (one per JSONL input, row for row) instead of records
    /// on stdout; needs --attributes-dir
    #[arg(long, requires = "attributes_dir")]
    dolma: bool,
    /// Folder for Dolma attribute files (mirrors the inputs' names)
    #[arg(long, value_name = "DIR", requires = "dolma")]
    attributes_dir: Option<PathBuf>,
    /// Tagger name in the attribute names (chaff__NAME__news, chaff__NAME__drop, ...)
    #[arg(
        long,
        default_value = "paragraph",
        value_name = "NAME",
        requires = "dolma"
    )]
    dolma_name: String,
    /// Write into the attributes folder even if it already holds files
    #[arg(long, conflicts_with = "resume", requires = "attributes_dir")]
    force: bool,
    /// Finish an interrupted --dolma run: inputs whose attribute file exists are not redone
    #[arg(long, requires = "attributes_dir")]
    resume: bool,
    /// Write a self-contained HTML audit page of every line to FILE instead of records
    /// (compressed as its name says: audit.html.gz)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["dolma", "json"])]
    html: Option<PathBuf>,
    #[command(flatten)]
    input: InputArgs,
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
    #[arg(long, conflicts_with = "resume")]
    force: bool,
    /// Finish an interrupted run into OUTDIR: inputs whose output exists are not redone
    #[arg(long)]
    resume: bool,
    /// Compress outputs: auto (OUTDIR files as their inputs; stdout plain, but a file
    /// redirected to as its name says: > out.jsonl.gz), none, gz, zst,
    /// bz2, xz, lz4; a codec with a level after a colon (gz:1 fastest to gz:9, zst:1 to
    /// zst:19, bz2:1 to bz2:9, xz:0 to xz:9; default gz:6, zst:3, bz2:9, xz:6)
    #[arg(long, default_value = "auto", value_name = "HOW")]
    compress: String,
    /// Keep JSONL records, WARC records and Parquet rows left with no kept line (their text
    /// becomes empty)
    #[arg(long)]
    keep_empty: bool,
    /// Also write every dropped line as a JSON record to FILE (compressed if its name ends
    /// in .gz, .zst, .bz2, .xz or .lz4)
    #[arg(long, value_name = "FILE")]
    removed: Option<PathBuf>,
    /// Also write the run summary as JSON to FILE (compressed as its name says)
    #[arg(long, value_name = "FILE")]
    stats: Option<PathBuf>,
    /// Also write per input file accounting as JSON lines to FILE (compressed as its name
    /// says)
    #[arg(long, value_name = "FILE")]
    file_stats: Option<PathBuf>,
    /// Print Hadoop Streaming counters (reporter:counter:chaff,NAME,N) on stderr at the end
    #[arg(long)]
    hadoop_counters: bool,
    #[command(flatten)]
    input: InputArgs,
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
    /// Also draw precision/recall/loss/leak vs threshold and score histograms to FILE.svg
    /// (FILE.svg.gz: compressed as named)
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    #[command(flatten)]
    decoding: Decoding,
    /// Labelled data: TSV, fastText or page sets (- for TSV or fastText rows on stdin)
    #[arg(required = true, value_name = "LABELLED")]
    inputs: Vec<PathBuf>,
}

#[derive(Args)]
struct ExplainArgs {
    #[command(flatten)]
    model: ModelArg,
    /// Tokens to show per line
    #[arg(long, default_value_t = 12, allow_negative_numbers = true)]
    top: usize,
    #[command(flatten)]
    decoding: Decoding,
    /// A file (its non-blank lines are explained as one page; read as tag reads one:
    /// decompressed, its encoding detected), - for stdin, or a line of text
    #[arg(value_name = "TEXT|FILE")]
    input: String,
}

#[derive(Args)]
struct InspectArgs {
    /// Model file (default: the embedded model)
    model: Option<PathBuf>,
    /// How many top tokens to list per class
    #[arg(long, default_value_t = 15, allow_negative_numbers = true)]
    top: usize,
}

fn load_model(arg: &ModelArg) -> Result<Model> {
    chaff::load_model(arg.model.as_deref())
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
    chaff::say!(
        "chaff: wrote {}: paragraphs {}; {} tokens counted, {} in the table",
        path.display(),
        classes.join(", "),
        model.counts().distinct_tokens(),
        model.vocab().len()
    );
}

fn cmd_train(a: TrainArgs, g: &Global) -> Result<()> {
    let out = a
        .output
        .clone()
        .or(a.update.clone())
        .ok_or_else(|| Error::Usage("train needs -o MODEL (or --update MODEL)".into()))?;
    let read = [&a.inputs[..], &a.tune_on].concat();
    Input::stdin_at_most_once(&read)?;
    let opts = TrainOptions {
        alpha: a.alpha,
        min_count: a.min_count,
        threshold: a.threshold,
        gamma: a.gamma,
        tune_on: a.tune_on,
        decode: a.decoding.options()?,
        features: FeatureConfig {
            hmm: a.hmm,
            structure: !a.no_structure,
            ..FeatureConfig::default()
        },
    };
    // A bad setting is named before the inputs are looked at.
    opts.check()?;
    let flag = if a.output.is_some() { "-o" } else { "--update" };
    refuse_overwriting_inputs(&read, flag, &out, false)?;
    let model = match &a.update {
        Some(base) => train::update(&model_file::load(base)?, &a.inputs, &opts.decode)?,
        None => train::train(&a.inputs, &opts)?,
    };
    save_model(&model, &out)?;
    if !g.quiet {
        summarize(&model, &out);
    }
    Ok(())
}

fn cmd_forget(a: ForgetArgs, g: &Global) -> Result<()> {
    let flag = if a.output.is_some() { "-o" } else { "-m" };
    let out = a.output.clone().unwrap_or(a.model.clone());
    Input::stdin_at_most_once(&a.inputs)?;
    refuse_overwriting_inputs(&a.inputs, flag, &out, false)?;
    let decode = a.decoding.options()?;
    let model = train::forget(&model_file::load(&a.model)?, &a.inputs, &decode)?;
    save_model(&model, &out)?;
    if !g.quiet {
        summarize(&model, &out);
    }
    Ok(())
}

/// Refuses a file written to `out` (a model, a plot) that is one of the labelled
/// `inputs` or lies in an input folder (it would replace the data, or be read back as
/// data), or, if the command prints to stdout (`stdout`), that is stdout.
fn refuse_overwriting_inputs(
    inputs: &[PathBuf],
    flag: &'static str,
    out: &Path,
    stdout: bool,
) -> Result<sources::Written> {
    let mut written = sources::Written::new(&[(flag, Some(out))])?;
    if stdout {
        written = written.and_stdout()?;
    }
    sources::check(Input::all_given(inputs), &written)?;
    Ok(written)
}

fn classifier_and_policy(
    m: &ModelArg,
    d: &DecisionArgs,
) -> Result<(&'static Classifier, KeepPolicy)> {
    let c = Classifier::load(|| load_model(m))?.with_context(!d.no_context);
    let policy = KeepPolicy::new(c.model(), &d.keep, d.threshold)?;
    // Lives until the process exits: freeing the dictionary and tables one allocation at a
    // time at the end of a run would only add to its wall time.
    Ok((Box::leak(Box::new(c)), policy))
}

impl InputArgs {
    /// The command line's inputs and those of `--files-from` / `--files0-from`.
    fn resolve(&self) -> Result<RunInputs> {
        Input::stdin_at_most_once(&self.inputs)?;
        let given = Input::all_given(&self.inputs);
        let list = match (&self.files_from, &self.files0_from) {
            (Some(l), _) => Some((l, Separator::Newline)),
            (None, Some(l)) => Some((l, Separator::Nul)),
            (None, None) => None,
        };
        let Some((list, sep)) = list else {
            return Ok(RunInputs {
                all: given.into(),
                files_from: None,
            });
        };
        if list.as_os_str() == "-" && given.iter().any(|i| i.is_stdin()) {
            return Err(Error::Usage(
                "standard input cannot be both the list of inputs and an input".into(),
            ));
        }
        let listed = file_list::read(list, sep, given)?;
        if listed.listed == 0 {
            chaff::say!("chaff: warning: {}: lists no inputs", list.display());
        }
        Ok(RunInputs {
            all: listed.inputs.into(),
            files_from: Some(listed.digest),
        })
    }

    /// Refuses a file the run writes that is the `--files-from` / `--files0-from` list
    /// (read before the run; a list that cannot be read is reported when it is).
    fn refuse_writing_lists(&self, written: &sources::Written) -> Result<()> {
        for list in [&self.files_from, &self.files0_from].into_iter().flatten() {
            match std::fs::metadata(list) {
                Ok(meta) if list.as_os_str() != "-" => written.check_file(list, &meta)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// `--text-field`, or its default.
    fn text_field(&self) -> &str {
        self.text_field.as_deref().unwrap_or("text")
    }

    /// `jsonl`: the inputs are JSON lines even without `--jsonl` (Dolma attributes).
    fn run_options(&self, progress: bool, jsonl: bool) -> Result<RunOptions> {
        let records = self.jsonl || self.parquet || jsonl;
        // A field name given for plain text would be silently ignored.
        if self.text_field.is_some() && !records {
            return Err(Error::Usage(
                "--text-field needs --jsonl or --parquet".into(),
            ));
        }
        if let Some(keys) = self
            .text_field
            .as_deref()
            .and_then(chaff::jsonl::pointer_keys)
        {
            keys.map_err(|e| Error::Usage(format!("--text-field {e}")))?;
        }
        let decode = self.decoding.options()?;
        if self.warc && self.decoding.given() {
            return Err(Error::Usage(
                "--encoding and --lossy do not apply to --warc: records are framed by byte counts, and read as UTF-8"
                    .into(),
            ));
        }
        if self.parquet && self.decoding.given() {
            return Err(Error::Usage(
                "--encoding and --lossy do not apply to --parquet: Parquet text is UTF-8".into(),
            ));
        }
        if self.parquet && self.inputs.iter().any(|p| p.as_os_str() == "-") {
            return Err(Error::Usage(
                "--parquet reads files (a Parquet file's index is at its end): save standard input to a file first"
                    .into(),
            ));
        }
        if self.pipe && !self.jsonl {
            return Err(Error::Usage("--pipe needs --jsonl".into()));
        }
        let bad_records = BadRecords::parse(&self.bad_records).ok_or_else(|| {
            Error::Usage(format!(
                "--bad-records {}: not error, skip or keep",
                self.bad_records
            ))
        })?;
        if bad_records != BadRecords::Error && !records {
            return Err(Error::Usage(
                "--bad-records needs --jsonl or --parquet".into(),
            ));
        }
        if self.pipe && bad_records == BadRecords::Skip {
            return Err(Error::Usage(
                "--pipe writes a record for every record read: use --bad-records keep, not skip"
                    .into(),
            ));
        }
        Ok(RunOptions {
            format: if self.jsonl {
                InputFormat::Jsonl {
                    text_field: self.text_field().to_string(),
                }
            } else if self.warc {
                InputFormat::Warc
            } else if self.parquet {
                InputFormat::Parquet {
                    text_field: self.text_field().to_string(),
                }
            } else {
                InputFormat::Text
            },
            decode: DecodeOptions {
                eager: self.pipe,
                force_text: self.plain_text,
                // The run sets `plain_text` from its format.
                ..decode
            },
            chunk_bytes: self.chunk_bytes.max(1),
            pipe: self.pipe,
            keep_empty: false,
            strict: self.strict,
            bad_records,
            gzip_stream: false,
            compress_level: None,
            progress,
            checkpoint_bytes: self.checkpoint_bytes,
        })
    }
}

fn cmd_tag(a: TagArgs, g: &Global) -> Result<()> {
    let RunInputs {
        all: inputs,
        files_from,
    } = a.input.resolve()?;
    let (c, p) = classifier_and_policy(&a.model, &a.decision)?;
    let to_folder = a.dolma && a.attributes_dir.is_some();
    // A run into a folder checks its inputs as it plans the folder.
    let mut written = sources::Written::new(&[("--html", a.html.as_deref())])?;
    if a.html.is_none() && !to_folder {
        written = written.and_stdout()?;
    }
    a.input.refuse_writing_lists(&written)?;
    a.model.refuse_written(&written)?;
    if !to_folder {
        sources::check(Arc::clone(&inputs), &written)?;
    }
    let mut opts = a.input.run_options(!g.quiet, a.dolma)?;
    match opts.bad_records {
        BadRecords::Keep => {
            return Err(Error::Usage(
                "--bad-records keep is for filter (tag has no record to write for it); use skip"
                    .into(),
            ))
        }
        BadRecords::Skip if a.dolma => {
            return Err(Error::Usage(
                "--dolma writes attributes row for row: a bad record must stop the run (--bad-records error)"
                    .into(),
            ))
        }
        _ => {}
    }
    if a.dolma {
        chaff::dolma::check_name(&a.dolma_name)?;
        if a.input.warc || a.input.parquet {
            return Err(Error::Usage(
                "--dolma tags JSONL documents, not WARC or Parquet (attributes join documents by id)"
                    .into(),
            ));
        }
        if a.input.plain_text {
            return Err(Error::Usage(
                "--dolma tags JSONL documents: --plain-text does not apply".into(),
            ));
        }
        if a.input.text_field().starts_with('/') {
            return Err(Error::Usage(
                "--dolma spans index a top-level text field: give its name, not a JSON Pointer"
                    .into(),
            ));
        }
        // Dolma documents are JSONL.
        if opts.format == InputFormat::Text {
            opts.format = InputFormat::Jsonl {
                text_field: a.input.text_field().to_string(),
            };
        }
    }
    let engine = Engine {
        classifier: c,
        policy: &p,
        opts,
    };
    chaff::interrupt::install().map_err(|e| Error::io("<signals>", e))?;
    let start = std::time::Instant::now();
    if let (true, Some(dir)) = (a.dolma, &a.attributes_dir) {
        let existing = match (a.force, a.resume) {
            (true, _) => Existing::Force,
            (_, true) => Existing::Resume,
            _ => Existing::Refuse,
        };
        let settings = outdir::RunRecord {
            dolma: Some(&a.dolma_name),
            // Dolma documents are JSONL with or without the flag: the same run either way.
            jsonl: true,
            ..run_record(&a.model, &a.decision, &a.input, files_from)?
        }
        .to_json();
        let (name, settings) = ("stdin.jsonl", Some(settings.as_str()));
        let mut plan = outdir::plan(dir, inputs, name, None, existing, settings, &written)?;
        let mut run = chaff::journal::begin(&mut plan, dir, None, None)?;
        tell_inside(&run, g);
        let result = engine.dolma(plan.inputs(), &a.dolma_name, Some(&mut run.journal));
        let (summary, done) = run.end(result)?;
        return report(&summary, &done, start, g, None, false);
    }
    if let Some(path) = &a.html {
        let mut f = AtomicWriter::create(path)?;
        let first = inputs.path(0).map(|(p, _)| p.display());
        let title = match (first, inputs.len()) {
            (None, _) => "chaff audit: no inputs".to_string(),
            (Some(one), 1) => format!("chaff audit: {one}"),
            (Some(first), 2) => format!("chaff audit: {first} and 1 more input"),
            (Some(first), n) => format!("chaff audit: {first} and {} more inputs", n - 1),
        };
        let summary = (engine.html(Inputs::walk(inputs), &title, &mut f))
            .map_err(|e| written.on_stdout(e))?;
        f.commit().map_err(|e| written.on_stdout(e))?;
        return report(&summary, &Summary::default(), start, g, None, false);
    }
    let stdout = std::io::stdout();
    let out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let format = if a.json {
        TagFormat::Json
    } else {
        TagFormat::Tsv
    };
    let side = Sidecars {
        verbose: g.verbose,
        ..Sidecars::default()
    };
    // `> tags.jsonl.gz`: compressed as the file's name says, as filter's output is.
    let how = named_stdout().unwrap_or(Compression::None);
    let mut out =
        output::Compressed::new(out, how, None, true).map_err(|e| Error::io("<stdout>", e))?;
    engine.tag(Inputs::walk(inputs), format, &mut out, side)?;
    out.finish()
        .and_then(|mut w| w.flush())
        .map_err(|e| Error::io("<stdout>", e))?;
    Ok(())
}

/// The codec standard output's file is named for (`> clean.jsonl.gz`), if it is a file
/// so named: `--compress auto` writes it compressed as named, as a side file is (plain
/// text under that name would fail every reader of the codec).
fn named_stdout() -> Option<Compression> {
    sources::stdout_file()
        .map(|f| Compression::from_name(&f))
        .filter(|&c| c != Compression::None)
}

/// Global flags every subcommand sees.
struct Global {
    quiet: bool,
    verbose: bool,
}

/// Tells (unless `--quiet`) which output a resumed run goes on with from a checkpoint,
/// and that a zstd or lz4 one is compressed again up to there first (which takes as
/// long as compressing it took).
fn tell_inside(run: &chaff::journal::Continued, g: &Global) {
    use chaff::compression::Compression as C;
    if let (Some(r), false) = (&run.inside, g.quiet) {
        let again = match C::from_name(Path::new(&r.dest)) {
            C::Zstd | C::Lz4 => format!(
                " (its first {:.1} MB of text are compressed again first)",
                r.at.plain as f64 / 1e6
            ),
            _ => String::new(),
        };
        chaff::say!(
            "chaff: going on with {} from input line {}, where the stopped run checkpointed it{again}",
            r.dest, r.at.line
        );
    }
}

/// The settings record of a run into a folder (what `--resume` compares): the model, the
/// flags that change what is written and the inputs. The caller fills in its command's
/// own (`--compress`, `--keep-empty`; a Dolma run's tagger name).
fn run_record<'a>(
    model: &ModelArg,
    decision: &'a DecisionArgs,
    input: &'a InputArgs,
    files_from: Option<String>,
) -> Result<outdir::RunRecord<'a>> {
    Ok(outdir::RunRecord {
        bad_records: &input.bad_records,
        checkpoint_bytes: Some(input.checkpoint_bytes)
            .filter(|&b| b != chaff::pipeline::CHECKPOINT_BYTES),
        chunk_bytes: input.chunk_bytes,
        compress: "auto",
        dolma: None,
        encoding: input.decoding.encoding.as_deref(),
        file_stats: None,
        files_from,
        inputs: &input.inputs,
        jsonl: input.jsonl,
        keep: &decision.keep,
        keep_empty: false,
        lossy: input.decoding.lossy,
        model_crc32: format!("{:08x}", chaff::model_crc32(model.model.as_deref())?),
        no_context: decision.no_context,
        text_field: input.text_field(),
        threshold: decision.threshold,
        warc: input.warc,
        parquet: input.parquet,
        plain_text: input.plain_text,
        removed: None,
    })
}

fn cmd_filter(a: FilterArgs, g: &Global) -> Result<()> {
    let RunInputs {
        all: inputs,
        files_from,
    } = a.input.resolve()?;
    let (c, p) = classifier_and_policy(&a.model, &a.decision)?;
    let flag = Compression::parse_flag(&a.compress)?;
    if a.input.parquet && flag.codec.is_some() {
        return Err(Error::Usage(
            "--compress does not apply to --parquet: each column keeps its codec from the input"
                .into(),
        ));
    }
    let mut opts = a.input.run_options(!g.quiet, false)?;
    // A text file's output is written even when nothing of it is kept: the flag would be
    // silently ignored.
    if a.keep_empty && !(a.input.jsonl || a.input.warc || a.input.parquet) {
        return Err(Error::Usage(
            "--keep-empty needs --jsonl, --warc or --parquet (a text file's output is written even when empty)"
                .into(),
        ));
    }
    opts.keep_empty = a.keep_empty;
    opts.compress_level = flag.level;
    let compress = match (flag.codec, &a.output, a.input.parquet) {
        (None, None, false) => named_stdout(),
        (codec, ..) => codec,
    };
    // gzipped WARC to stdout: a member per record, compressed by the workers.
    opts.gzip_stream = a.input.warc && a.output.is_none() && compress == Some(Compression::Gzip);
    let written = sources::Written::beside(
        &[
            ("--removed", a.removed.as_deref()),
            ("--file-stats", a.file_stats.as_deref()),
            ("--stats", a.stats.as_deref()),
        ],
        a.output.as_deref(),
    )?;
    let written = match a.output {
        Some(_) => written,
        None => written.and_stdout()?,
    };
    a.input.refuse_writing_lists(&written)?;
    a.model.refuse_written(&written)?;
    // A run into a folder checks its inputs as it plans the folder.
    let count = match &a.output {
        Some(_) => 0,
        None => sources::check(Arc::clone(&inputs), &written)?,
    };
    match (&a.output, a.resume, a.force, a.input.pipe) {
        (None, true, _, _) => return Err(Error::Usage("--resume needs -o OUTDIR".into())),
        // Ignored otherwise: nothing is written into a folder.
        (None, _, true, _) => return Err(Error::Usage("--force needs -o OUTDIR".into())),
        (Some(_), _, _, true) => {
            return Err(Error::Usage(
                "--pipe streams records to standard output; it takes no -o OUTDIR".into(),
            ))
        }
        _ => {}
    }
    let sides = [
        ("--removed", &a.removed),
        ("--file-stats", &a.file_stats),
        ("--stats", &a.stats),
    ];
    for (i, (flag, path)) in sides.iter().enumerate() {
        if let Some((other, _)) = sides[i + 1..]
            .iter()
            .find(|(_, p)| path.is_some() && p == path)
        {
            return Err(Error::Usage(format!(
                "{flag} and {other} name one file, {}: give each its own",
                path.as_deref().unwrap_or(Path::new("")).display()
            )));
        }
    }
    let engine = Engine {
        classifier: c,
        policy: &p,
        opts,
    };
    chaff::interrupt::install().map_err(|e| Error::io("<signals>", e))?;
    let start = std::time::Instant::now();
    let (summary, done) = match &a.output {
        Some(dir) => {
            let stdin_name = if a.input.jsonl {
                "stdin.jsonl"
            } else if a.input.warc {
                "stdin.warc"
            } else {
                "stdin.txt"
            };
            let existing = match (a.force, a.resume) {
                (true, _) => Existing::Force,
                (_, true) => Existing::Resume,
                _ => Existing::Refuse,
            };
            let settings = outdir::RunRecord {
                compress: &a.compress,
                keep_empty: a.keep_empty,
                removed: a.removed.as_deref().map(|p| p.to_string_lossy()),
                file_stats: a.file_stats.as_deref().map(|p| p.to_string_lossy()),
                ..run_record(&a.model, &a.decision, &a.input, files_from)?
            }
            .to_json();
            // (Their folders were checked with the files the run writes.)
            let (removed, file_stats) = (a.removed.as_deref(), a.file_stats.as_deref());
            let settings = Some(settings.as_str());
            let mut plan = outdir::plan(
                dir, inputs, stdin_name, compress, existing, settings, &written,
            )?;
            let mut run = chaff::journal::begin(&mut plan, dir, removed, file_stats)?;
            tell_inside(&run, g);
            let side = Sidecars {
                removed: run.removed.as_mut().map(|w| w as &mut dyn Write),
                file_stats: run.file_stats.as_mut().map(|w| w as &mut dyn Write),
                verbose: g.verbose,
                journal: Some(&mut run.journal),
            };
            let result = engine.filter(plan.inputs(), FilterTarget::Files, side);
            run.end(result)?
        }
        None => {
            // Records concatenate; a text file or a Parquet table is one output.
            if !(a.input.jsonl || a.input.warc) && count != 1 {
                return Err(Error::Usage(match a.input.parquet {
                    true => format!("{count} input files: filter writes one Parquet file to stdout; use -o OUTDIR for several"),
                    false => format!("{count} input files: filter writes one text file (or -) to stdout; use -o OUTDIR for several, or --jsonl"),
                }));
            }
            let stdout = std::io::stdout();
            let buffered = BufWriter::with_capacity(1 << 16, stdout.lock());
            // gzipped WARC comes compressed from the workers, a member per record.
            let how = match engine.opts.gzip_stream {
                true => Compression::None,
                false => compress.unwrap_or(Compression::None),
            };
            let mut out = output::Compressed::new(buffered, how, flag.level, true)
                .map_err(|e| Error::io("<stdout>", e))?;
            let whole = |p: &Option<PathBuf>| p.as_deref().map(SideFile::whole).transpose();
            let (mut removed, mut file_stats) = (whole(&a.removed)?, whole(&a.file_stats)?);
            let side = Sidecars {
                removed: removed.as_mut().map(|w| w as &mut dyn Write),
                file_stats: file_stats.as_mut().map(|w| w as &mut dyn Write),
                verbose: g.verbose,
                journal: None,
            };
            let s = engine.filter(Inputs::walk(inputs), FilterTarget::Stream(&mut out), side)?;
            out.finish()
                .and_then(|mut w| w.flush())
                .map_err(|e| Error::io("<stdout>", e))?;
            for w in [removed, file_stats].into_iter().flatten() {
                w.commit()?;
            }
            (s, Summary::default())
        }
    };
    report(
        &summary,
        &done,
        start,
        g,
        a.stats.as_deref(),
        a.hadoop_counters,
    )
}

/// The end of a run: summary line on stderr, `--stats` JSON, Hadoop counters. They count
/// the sources an earlier run did (`done`, with `--resume`) with this run's, but the speed
/// is this run's.
fn report(
    run: &Summary,
    done: &Summary,
    start: std::time::Instant,
    g: &Global,
    stats: Option<&Path>,
    hadoop: bool,
) -> Result<()> {
    let mut summary = run.clone();
    summary.absorb(done);
    let summary = &summary;
    let seconds = start.elapsed().as_secs_f64();
    if !g.quiet {
        chaff::say!("chaff: {}", summary.line_at(run.bytes_in, seconds));
    }
    if hadoop {
        // Each counter a line of its own, newline included.
        let _ = std::io::stderr().write_all(summary.hadoop_counters().as_bytes());
    }
    if let Some(path) = stats {
        summary.save_json(path, run.bytes_in, seconds)?;
    }
    Ok(())
}

/// Prints chaff(1), or with `command` that command's page (`chaff-filter(1)`): the top
/// page lists the commands, each command's page its options.
fn man_page(command: Option<&str>) -> Result<()> {
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
fn print_text(text: &str) -> Result<()> {
    let how = named_stdout().unwrap_or(Compression::None);
    let out = std::io::stdout().lock();
    let mut out = output::Compressed::new(out, how, None, false)
        .and_then(|mut w| w.write_all(text.as_bytes()).map(|()| w))
        .and_then(|w| w.finish())
        .map_err(|e| Error::io("<stdout>", e))?;
    out.flush().map_err(|e| Error::io("<stdout>", e))
}

fn cmd_eval(a: EvalArgs) -> Result<()> {
    Input::stdin_at_most_once(&a.inputs)?;
    if let Some(plot) = &a.plot {
        // The report goes to stdout: a plot there would be mixed into it.
        let written = refuse_overwriting_inputs(&a.inputs, "--plot", plot, true)?;
        a.model.refuse_written(&written)?;
    }
    let (c, p) = classifier_and_policy(&a.model, &a.decision)?;
    let docs = dataset::read_labelled(&a.inputs, &a.decoding.options()?)?;
    let report = eval::evaluate(c, &p, &docs)?;
    if let Some(w) = report.seen_warning() {
        chaff::say!("chaff: warning: {w}");
    }
    if let Some(path) = &a.plot {
        chaff::plot::plot(&report, path)?;
    }
    let text = if a.json {
        serde_json::to_string_pretty(&report).map_err(|e| Error::Usage(e.to_string()))? + "\n"
    } else {
        report.to_text()
    };
    print_text(&text)
}

fn cmd_explain(a: ExplainArgs) -> Result<()> {
    let c = Classifier::load(|| load_model(&a.model))?;
    let decode = a.decoding.options()?;
    if let Some(hint) = chaff::explain::missing_file_hint(&a.input) {
        chaff::say!("chaff: warning: {hint}");
    }
    print_text(&chaff::explain::explain_input(
        &c, &a.input, &decode, a.top,
    )?)
}

fn cmd_inspect(a: InspectArgs) -> Result<()> {
    let model = load_model(&ModelArg { model: a.model })?;
    let text = chaff::model::describe(&model, a.top);
    print_text(&text)
}

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
                return exit_code(print_text(&e.render().to_string()), false);
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
    if let Some(n) = cli.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
        {
            chaff::say!("chaff: --threads {n}: {e}");
            return ExitCode::from(2);
        }
    }
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
        Command::Train(a) => cmd_train(a, &global),
        Command::Forget(a) => cmd_forget(a, &global),
        Command::Tag(a) => cmd_tag(a, &global),
        Command::Filter(a) => cmd_filter(a, &global),
        Command::Eval(a) => cmd_eval(a),
        Command::Explain(a) => cmd_explain(a),
        Command::Inspect(a) => cmd_inspect(a),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "chaff", &mut out);
            print_text(&String::from_utf8_lossy(&out))
        }
        Command::Man { command } => man_page(command.as_deref()),
    };
    exit_code(result, resumable)
}

/// The exit code of a command's `result`, its error said on stderr. `resumable`: the run
/// wrote files of its own, which a stop leaves complete for `--resume`.
fn exit_code(result: Result<()>, resumable: bool) -> ExitCode {
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
            chaff::say!(
                "chaff: interrupted; standard output stops where the run did, and no file named on the command line was written"
            );
            ExitCode::from(130)
        }
        Err(e) => {
            chaff::say!("chaff: {e}");
            ExitCode::from(match e {
                Error::Usage(_) => 2,
                Error::Interrupted => 130,
                _ => 1,
            })
        }
    }
}

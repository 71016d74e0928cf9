//! The command line's flags, as clap parses them, and the checks of how they combine
//! that come before any input is read.

use crate::compression::Compression;
use crate::file_list::{self, Separator};
use crate::input::DecodeOptions;
use crate::jsonl::BadRecords;
use crate::pipeline::{InputFormat, RunOptions};
use crate::sources::{self, Input, InputList};
use crate::train::TrainOptions;
use crate::{Error, Result};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The command line: global flags and one command.
#[derive(Parser)]
// `long_about = None`: the doc comment above is for rustdoc, not `--help`.
#[command(
    name = "chaff",
    long_about = None,
    version,
    about = "Keep the news, drop the filler: paragraph-level cleaning of Chinese web dumps",
    after_help = "Exit codes: 0 success; 1 error (I/O, bad input, bad model, a non-text file with --strict); 2 bad command line; 130 interrupted (SIGINT/SIGTERM/SIGHUP; finish with --resume).\nNO_COLOR is honoured; progress shows only when stderr is a terminal."
)]
pub struct Cli {
    /// Classifying worker threads (default or 0: all cores; at most 1024); reading and
    /// writing have one each
    #[arg(long, global = true, value_name = "N", allow_negative_numbers = true,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=1024))]
    pub(crate) threads: Option<usize>,
    /// No summary line on stderr
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Also report every input file's accounting on stderr
    #[arg(long, short = 'v', global = true)]
    pub(crate) verbose: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The commands.
#[derive(Subcommand)]
pub(crate) enum Command {
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
        after_help = "Examples:\n  chaff filter page.txt > clean.txt\n  chaff filter -o clean/ dump/\n  chaff filter --warc -o clean/ CC-MAIN-*.warc.wet.gz\n  chaff filter --parquet -o clean/ data/train-*.parquet\n  chaff filter --jsonl --text-field '/段落/*/内容' -o clean/ mnbvc/*.jsonl.gz\n  chaff filter --jsonl --text-field content -o clean/ WuDaoCorpus2.0_base_200G/\n  chaff filter --jsonl --doc-threshold 0.2 -o clean/ crawl/   # records of posts alone go too\n  find dump -name '*.jsonl.gz' | chaff filter --jsonl --files-from - -o clean/"
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

/// `--model`.
#[derive(Args)]
pub(crate) struct ModelArg {
    /// Model file (default: the model embedded in this binary)
    #[arg(long, short = 'm', value_name = "MODEL")]
    pub(crate) model: Option<PathBuf>,
}

impl ModelArg {
    /// Refuses a file the run writes that is the model file it reads (`eval -m m.chaff
    /// --plot m.chaff`): the run would replace the model.
    pub(crate) fn refuse_written(&self, written: &sources::Written) -> Result<()> {
        match self.model.as_deref().map(|m| (m, std::fs::metadata(m))) {
            Some((m, Ok(meta))) => written.check_file(m, &meta),
            _ => Ok(()),
        }
    }
}

/// How lines are decided: `--keep`, `--threshold`, `--no-context`.
#[derive(Args)]
pub(crate) struct DecisionArgs {
    /// Class to keep (repeatable; default: news)
    #[arg(long, value_name = "LABEL")]
    pub(crate) keep: Vec<String>,
    /// Keep a line when the posterior of the kept classes is at least P (default: the model's)
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub(crate) threshold: Option<f64>,
    /// Score every line on its own, without the page-context model
    #[arg(long)]
    pub(crate) no_context: bool,
    /// Drop a whole document (a file, record or row) none of whose paragraphs reaches P
    /// for the kept classes when scored on its own, as --no-context scores it; for dumps
    /// holding pages of nothing but posts (default: off; a document longer than a chunk,
    /// about 1 MB, is not held whole for it and is decided as without)
    #[arg(long, value_name = "P", allow_negative_numbers = true)]
    pub(crate) doc_threshold: Option<f64>,
}

/// `chaff train`.
#[derive(Args)]
pub(crate) struct TrainArgs {
    /// Where to write the model (required unless --update, which then rewrites MODEL); a
    /// name ending .gz, .zst, .bz2, .xz or .lz4 is compressed so
    #[arg(short, long, value_name = "MODEL")]
    pub(crate) output: Option<PathBuf>,
    /// Add the data to this existing model instead of starting afresh (the model keeps
    /// its settings: smoothing, features, context, threshold)
    #[arg(long, value_name = "MODEL", conflicts_with_all = [
        "alpha", "min_count", "threshold", "gamma", "tune_on", "hmm", "no_structure",
    ])]
    pub(crate) update: Option<PathBuf>,
    /// Additive smoothing
    #[arg(long, default_value_t = TrainOptions::default().alpha, allow_negative_numbers = true)]
    pub(crate) alpha: f64,
    /// Tokens seen fewer times are left out of the scoring table
    #[arg(long, default_value_t = TrainOptions::default().min_count, allow_negative_numbers = true)]
    pub(crate) min_count: u64,
    /// Default keep threshold stored in the model (default: picked on held-out page lines)
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) threshold: Option<f64>,
    /// Context emission temperature (default: fitted on held-out page lines)
    #[arg(long, conflicts_with = "tune_on", allow_negative_numbers = true)]
    pub(crate) gamma: Option<f64>,
    /// Labelled page sets (never trained on) on which to pick the context's emission
    /// scaling and the threshold by decision cost (30 x news_loss + filler_leak)
    #[arg(long, value_name = "PAGES")]
    pub(crate) tune_on: Vec<PathBuf>,
    /// Let jieba's HMM guess out-of-dictionary words
    #[arg(long)]
    pub(crate) hmm: bool,
    /// Do not add structural pseudo-tokens
    #[arg(long)]
    pub(crate) no_structure: bool,
    #[command(flatten)]
    pub(crate) decoding: Decoding,
    /// Labelled inputs (- for TSV or fastText rows on stdin)
    #[arg(required = true, value_name = "INPUT")]
    pub(crate) inputs: Vec<PathBuf>,
}

/// `chaff forget`.
#[derive(Args)]
pub(crate) struct ForgetArgs {
    /// The model to remove data from
    #[arg(long, short = 'm', value_name = "MODEL")]
    pub(crate) model: PathBuf,
    /// Where to write the result (default: rewrite MODEL)
    #[arg(short, long, value_name = "MODEL")]
    pub(crate) output: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) decoding: Decoding,
    /// Labelled data that was part of the model's training data (- for stdin)
    #[arg(required = true, value_name = "DATA")]
    pub(crate) inputs: Vec<PathBuf>,
}

/// What a run reads and how: the inputs, their format, decoding and bad records.
#[derive(Args)]
pub(crate) struct InputArgs {
    /// Inputs are JSON lines; each record's text field is a document. A file that is one
    /// JSON array of records (WuDao's) is read as its records and written back as an
    /// array; one of pretty-printed records (jq's output) is written as JSON lines
    #[arg(long)]
    pub(crate) jsonl: bool,
    /// Inputs are WARC files (Common Crawl WET); each conversion record is a document,
    /// other records pass through filter unchanged
    #[arg(long, conflicts_with = "jsonl")]
    pub(crate) warc: bool,
    /// Inputs are Parquet files; each row's text column is a document, other columns pass
    /// through filter unchanged
    #[arg(long, conflicts_with_all = ["jsonl", "warc"])]
    pub(crate) parquet: bool,
    /// Read every input as plain text, even one whose first lines look like JSON lines,
    /// WARC or HTML (such files are otherwise skipped with a warning naming their flag)
    #[arg(long, conflicts_with_all = ["jsonl", "warc", "parquet"])]
    pub(crate) plain_text: bool,
    /// Name of the text field of JSONL records (the text column, with --parquet), or a
    /// JSON Pointer to a nested one (/data/content; a * for each element of an array or
    /// list: /段落/*/内容) [default: text]
    #[arg(long, value_name = "NAME")]
    pub(crate) text_field: Option<String>,
    #[command(flatten)]
    pub(crate) decoding: Decoding,
    /// Fail on a file that is not text (with --jsonl: not JSON lines) instead of skipping it with a warning
    #[arg(long)]
    pub(crate) strict: bool,
    /// What to do with a JSONL line that is not a usable record (not a JSON object, no
    /// text field): error (stop the run), skip it, or keep it unchanged in filter's output;
    /// skipped and kept records are warned about and counted
    #[arg(long, default_value = "error", value_name = "HOW",
          value_parser = ["error", "skip", "keep"])]
    pub(crate) bad_records: String,
    /// Streaming (JSONL on stdin/stdout): each record is answered and flushed before the
    /// next is read; filter writes one record for every record read, even if left empty
    /// (tag: the record's tag records, none for a record without text)
    #[arg(long)]
    pub(crate) pipe: bool,
    /// Bytes per chunk of a large input (chunks are classified in parallel)
    #[arg(long, default_value_t = crate::pipeline::CHUNK_BYTES, value_name = "BYTES", hide = true)]
    pub(crate) chunk_bytes: usize,
    /// Under -o OUTDIR, checkpoint a large JSONL or text input's output (but an xz one)
    /// every BYTES of its text, for --resume to go on inside it (0: never)
    #[arg(long, default_value_t = crate::pipeline::CHECKPOINT_BYTES, value_name = "BYTES", hide = true)]
    pub(crate) checkpoint_bytes: u64,
    /// Also read the inputs named in LIST, one path per line (- for stdin); under -o
    /// OUTDIR a listed path keeps its whole path (as with tar -T or rsync --files-from)
    #[arg(long, value_name = "LIST", conflicts_with = "files0_from")]
    pub(crate) files_from: Option<PathBuf>,
    /// As --files-from, with each path ended by a NUL byte (find -print0)
    #[arg(long, value_name = "LIST")]
    pub(crate) files0_from: Option<PathBuf>,
    /// Files, folders (walked recursively, sorted; hidden names, a leading . or _, left
    /// out) or - for stdin; gzip, zstd, bzip2, xz and lz4 are decompressed
    #[arg(required_unless_present_any = ["files_from", "files0_from"], value_name = "INPUT")]
    pub(crate) inputs: Vec<PathBuf>,
}

impl InputArgs {
    /// The command line's inputs and those of `--files-from` / `--files0-from`.
    pub(crate) fn resolve(&self) -> Result<RunInputs> {
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
            crate::say!("chaff: warning: {}: lists no inputs", list.display());
        }
        Ok(RunInputs {
            all: listed.inputs.into(),
            files_from: Some(listed.digest),
        })
    }

    /// Refuses a file the run writes that is the `--files-from` / `--files0-from` list
    /// (read before the run; a list that cannot be read is reported when it is).
    pub(crate) fn refuse_writing_lists(&self, written: &sources::Written) -> Result<()> {
        for list in [&self.files_from, &self.files0_from].into_iter().flatten() {
            match std::fs::metadata(list) {
                Ok(meta) if list.as_os_str() != "-" => written.check_file(list, &meta)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// `--text-field`, or its default.
    pub(crate) fn text_field(&self) -> &str {
        self.text_field.as_deref().unwrap_or("text")
    }

    /// `jsonl`: the inputs are JSON lines even without `--jsonl` (Dolma attributes).
    pub(crate) fn run_options(&self, progress: bool, jsonl: bool) -> Result<RunOptions> {
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
            .and_then(crate::jsonl::pointer_keys)
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

/// How text is decoded: `--encoding` and `--lossy`.
#[derive(Args)]
pub(crate) struct Decoding {
    /// Read inputs in this encoding (gbk, gb18030, big5, utf-8, ...) instead of detecting it
    #[arg(long, value_name = "LABEL")]
    pub(crate) encoding: Option<String>,
    /// Replace undecodable bytes (and in JSONL text, lone UTF-16 surrogate escapes) with U+FFFD instead of failing
    #[arg(long)]
    pub(crate) lossy: bool,
}

impl Decoding {
    /// The options they ask for.
    pub(crate) fn options(&self) -> Result<DecodeOptions> {
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
    pub(crate) fn given(&self) -> bool {
        self.encoding.is_some() || self.lossy
    }
}

/// A run's inputs: the command line's, then a list's.
pub(crate) struct RunInputs {
    /// Shared by the walks of a run (a list can hold millions).
    pub(crate) all: Arc<InputList>,
    /// The list's digest, for the settings record.
    pub(crate) files_from: Option<String>,
}

/// `chaff tag`.
#[derive(Args)]
pub(crate) struct TagArgs {
    #[command(flatten)]
    pub(crate) model: ModelArg,
    #[command(flatten)]
    pub(crate) decision: DecisionArgs,
    /// One JSON object per line instead of TSV
    #[arg(long)]
    pub(crate) json: bool,
    /// Write Dolma attribute files (one per JSONL input, row for row) instead of records
    /// on stdout; needs --attributes-dir
    #[arg(long, requires = "attributes_dir")]
    pub(crate) dolma: bool,
    /// Folder for Dolma attribute files (mirrors the inputs' names)
    #[arg(long, value_name = "DIR", requires = "dolma")]
    pub(crate) attributes_dir: Option<PathBuf>,
    /// Tagger name in the attribute names (chaff__NAME__news, chaff__NAME__drop, ...)
    #[arg(
        long,
        default_value = "paragraph",
        value_name = "NAME",
        requires = "dolma"
    )]
    pub(crate) dolma_name: String,
    /// Write into the attributes folder even if it already holds files
    #[arg(long, conflicts_with = "resume", requires = "attributes_dir")]
    pub(crate) force: bool,
    /// Finish an interrupted --dolma run: inputs whose attribute file exists are not redone
    #[arg(long, requires = "attributes_dir")]
    pub(crate) resume: bool,
    /// Write a self-contained HTML audit page of every line to FILE instead of records
    /// (compressed as its name says: audit.html.gz)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["dolma", "json"])]
    pub(crate) html: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) input: InputArgs,
}

impl TagArgs {
    /// The run's options (`progress`: a bar on a terminal), once the flags are checked
    /// against each other and against `tag`'s outputs.
    pub(crate) fn run_options(&self, progress: bool) -> Result<RunOptions> {
        let mut opts = self.input.run_options(progress, self.dolma)?;
        match opts.bad_records {
            BadRecords::Keep => {
                return Err(Error::Usage(
                    "--bad-records keep is for filter (tag has no record to write for it); use skip"
                        .into(),
                ))
            }
            BadRecords::Skip if self.dolma => {
                return Err(Error::Usage(
                    "--dolma writes attributes row for row: a bad record must stop the run (--bad-records error)"
                        .into(),
                ))
            }
            _ => {}
        }
        if self.dolma {
            crate::dolma::check_name(&self.dolma_name)?;
            if self.input.warc || self.input.parquet {
                return Err(Error::Usage(
                    "--dolma tags JSONL documents, not WARC or Parquet (attributes join documents by id)"
                        .into(),
                ));
            }
            if self.input.plain_text {
                return Err(Error::Usage(
                    "--dolma tags JSONL documents: --plain-text does not apply".into(),
                ));
            }
            if self.input.text_field().starts_with('/') {
                return Err(Error::Usage(
                    "--dolma spans index a top-level text field: give its name, not a JSON Pointer"
                        .into(),
                ));
            }
            // Dolma documents are JSONL.
            if opts.format == InputFormat::Text {
                opts.format = InputFormat::Jsonl {
                    text_field: self.input.text_field().to_string(),
                };
            }
        }
        Ok(opts)
    }
}

/// `chaff filter`.
#[derive(Args)]
pub(crate) struct FilterArgs {
    #[command(flatten)]
    pub(crate) model: ModelArg,
    #[command(flatten)]
    pub(crate) decision: DecisionArgs,
    /// Mirror the inputs under this folder instead of writing to stdout
    #[arg(short, long, value_name = "OUTDIR")]
    pub(crate) output: Option<PathBuf>,
    /// Write into OUTDIR even if it already holds files
    #[arg(long, conflicts_with = "resume")]
    pub(crate) force: bool,
    /// Finish an interrupted run into OUTDIR: inputs whose output exists are not redone
    #[arg(long)]
    pub(crate) resume: bool,
    /// Compress outputs: auto (OUTDIR files as their inputs; stdout plain, but a file
    /// redirected to as its name says: > out.jsonl.gz), none, gz, zst,
    /// bz2, xz, lz4; a codec with a level after a colon (gz:1 fastest to gz:9, zst:1 to
    /// zst:19, bz2:1 to bz2:9, xz:0 to xz:9; default gz:6, zst:3, bz2:9, xz:6)
    #[arg(long, default_value = "auto", value_name = "HOW")]
    pub(crate) compress: String,
    /// Keep JSONL records, WARC records and Parquet rows left with no kept line (their text
    /// becomes empty)
    #[arg(long)]
    pub(crate) keep_empty: bool,
    /// Also write every dropped line as a JSON record to FILE (compressed if its name ends
    /// in .gz, .zst, .bz2, .xz or .lz4)
    #[arg(long, value_name = "FILE")]
    pub(crate) removed: Option<PathBuf>,
    /// Also write the run summary as JSON to FILE (compressed as its name says)
    #[arg(long, value_name = "FILE")]
    pub(crate) stats: Option<PathBuf>,
    /// Also write per input file accounting as JSON lines to FILE (compressed as its name
    /// says)
    #[arg(long, value_name = "FILE")]
    pub(crate) file_stats: Option<PathBuf>,
    /// Print Hadoop Streaming counters (reporter:counter:chaff,NAME,N) on stderr at the end
    #[arg(long)]
    pub(crate) hadoop_counters: bool,
    #[command(flatten)]
    pub(crate) input: InputArgs,
}

impl FilterArgs {
    /// Checks the flags against each other, before anything is read.
    pub(crate) fn check(&self) -> Result<()> {
        let flag = Compression::parse_flag(&self.compress)?;
        if self.input.parquet && flag.codec.is_some() {
            return Err(Error::Usage(
                "--compress does not apply to --parquet: each column keeps its codec from the input"
                    .into(),
            ));
        }
        // A text file's output is written even when nothing of it is kept: the flag would be
        // silently ignored.
        if self.keep_empty && !(self.input.jsonl || self.input.warc || self.input.parquet) {
            return Err(Error::Usage(
                "--keep-empty needs --jsonl, --warc or --parquet (a text file's output is written even when empty)"
                    .into(),
            ));
        }
        match (&self.output, self.resume, self.force, self.input.pipe) {
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
            ("--removed", &self.removed),
            ("--file-stats", &self.file_stats),
            ("--stats", &self.stats),
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
        Ok(())
    }
}

/// `chaff eval`.
#[derive(Args)]
pub(crate) struct EvalArgs {
    #[command(flatten)]
    pub(crate) model: ModelArg,
    #[command(flatten)]
    pub(crate) decision: DecisionArgs,
    /// Print the report as JSON
    #[arg(long)]
    pub(crate) json: bool,
    /// Also draw precision/recall/loss/leak vs threshold and score histograms to FILE.svg
    /// (FILE.svg.gz: compressed as named)
    #[arg(long, value_name = "FILE.svg")]
    pub(crate) plot: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) decoding: Decoding,
    /// Labelled data: TSV, fastText or page sets (- for TSV or fastText rows on stdin)
    #[arg(required = true, value_name = "LABELLED")]
    pub(crate) inputs: Vec<PathBuf>,
}

/// `chaff explain`.
#[derive(Args)]
pub(crate) struct ExplainArgs {
    #[command(flatten)]
    pub(crate) model: ModelArg,
    /// Tokens to show per line
    #[arg(long, default_value_t = 12, allow_negative_numbers = true)]
    pub(crate) top: usize,
    #[command(flatten)]
    pub(crate) decoding: Decoding,
    /// A file (its non-blank lines are explained as one page; read as tag reads one:
    /// decompressed, its encoding detected), - for stdin, or a line of text
    #[arg(value_name = "TEXT|FILE")]
    pub(crate) input: String,
}

/// `chaff inspect`.
#[derive(Args)]
pub(crate) struct InspectArgs {
    /// Model file (default: the embedded model)
    pub(crate) model: Option<PathBuf>,
    /// How many top tokens to list per class
    #[arg(long, default_value_t = 15, allow_negative_numbers = true)]
    pub(crate) top: usize,
}

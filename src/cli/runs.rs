//! The commands that run over inputs: `tag` and `filter`, into standard output or a
//! folder, and the report at the end of a run.

use super::args::{DecisionArgs, FilterArgs, InputArgs, ModelArg, RunInputs, TagArgs};
use super::{classifier_and_policy, named_stdout, Global};
use crate::classifier::{Classifier, KeepPolicy};
use crate::compression::Compression;
use crate::outdir::{self, Existing};
use crate::output::{self, AtomicWriter};
use crate::pipeline::{Engine, FilterTarget, RunOptions, Sidecars, Summary};
use crate::side_file::SideFile;
use crate::sources::{self, Inputs};
use crate::writer::TagFormat;
use crate::{Error, Result};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// `chaff tag`: tag records on stdout, an HTML audit page, or Dolma attributes.
pub(crate) fn cmd_tag(a: TagArgs, g: &Global) -> Result<()> {
    let opts = a.run_options(!g.quiet)?;
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
    let (engine, start) = start(c, &p, opts)?;
    if let (true, Some(dir)) = (a.dolma, &a.attributes_dir) {
        let existing = existing(a.force, a.resume);
        let settings = outdir::RunRecord {
            dolma: Some(&a.dolma_name),
            // Dolma documents are JSONL with or without the flag: the same run either way.
            jsonl: true,
            ..run_record(&a.model, &a.decision, &a.input, files_from)?
        }
        .to_json();
        let (name, settings) = ("stdin.jsonl", Some(settings.as_str()));
        let mut plan = outdir::plan(dir, inputs, name, None, existing, settings, &written)?;
        let mut run = crate::journal::begin(&mut plan, dir, None, None)?;
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

/// The engine of a run, with its signal handlers installed, and when it started.
fn start<'a>(
    classifier: &'static Classifier,
    policy: &'a KeepPolicy,
    opts: RunOptions,
) -> Result<(Engine<'a>, Instant)> {
    let engine = Engine {
        classifier,
        policy,
        opts,
    };
    crate::interrupt::install().map_err(|e| Error::io("<signals>", e))?;
    Ok((engine, Instant::now()))
}

/// What a run does with an output folder that holds files: `--force`, `--resume` or
/// neither.
fn existing(force: bool, resume: bool) -> Existing {
    match (force, resume) {
        (true, _) => Existing::Force,
        (_, true) => Existing::Resume,
        _ => Existing::Refuse,
    }
}

/// Tells (unless `--quiet`) which output a resumed run goes on with from a checkpoint,
/// and that a zstd or lz4 one is compressed again up to there first (which takes as
/// long as compressing it took).
pub(crate) fn tell_inside(run: &crate::journal::Continued, g: &Global) {
    use crate::compression::Compression as C;
    if let (Some(r), false) = (&run.inside, g.quiet) {
        let again = match C::from_name(Path::new(&r.dest)) {
            C::Zstd | C::Lz4 => format!(
                " (its first {:.1} MB of text are compressed again first)",
                r.at.plain as f64 / 1e6
            ),
            _ => String::new(),
        };
        crate::say!(
            "chaff: going on with {} from input line {}, where the stopped run checkpointed it{again}",
            r.dest, r.at.line
        );
    }
}

/// The settings record of a run into a folder (what `--resume` compares): the model, the
/// flags that change what is written and the inputs. The caller fills in its command's
/// own (`--compress`, `--keep-empty`; a Dolma run's tagger name).
pub(crate) fn run_record<'a>(
    model: &ModelArg,
    decision: &'a DecisionArgs,
    input: &'a InputArgs,
    files_from: Option<String>,
) -> Result<outdir::RunRecord<'a>> {
    Ok(outdir::RunRecord {
        bad_records: &input.bad_records,
        checkpoint_bytes: Some(input.checkpoint_bytes)
            .filter(|&b| b != crate::pipeline::CHECKPOINT_BYTES),
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
        model_crc32: format!("{:08x}", crate::model_crc32(model.model.as_deref())?),
        no_context: decision.no_context,
        text_field: input.text_field(),
        threshold: decision.threshold,
        doc_threshold: decision.doc_threshold.filter(|&p| p > 0.0),
        warc: input.warc,
        parquet: input.parquet,
        plain_text: input.plain_text,
        removed: None,
    })
}

/// `chaff filter`: kept lines on stdout or mirrored into `-o OUTDIR`.
pub(crate) fn cmd_filter(a: FilterArgs, g: &Global) -> Result<()> {
    a.check()?;
    let flag = Compression::parse_flag(&a.compress)?;
    let mut opts = a.input.run_options(!g.quiet, false)?;
    let RunInputs {
        all: inputs,
        files_from,
    } = a.input.resolve()?;
    let (c, p) = classifier_and_policy(&a.model, &a.decision)?;
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
    let (engine, start) = start(c, &p, opts)?;
    let (summary, done) = match &a.output {
        Some(dir) => {
            let stdin_name = if a.input.jsonl {
                "stdin.jsonl"
            } else if a.input.warc {
                "stdin.warc"
            } else {
                "stdin.txt"
            };
            let existing = existing(a.force, a.resume);
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
            let mut run = crate::journal::begin(&mut plan, dir, removed, file_stats)?;
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
pub(crate) fn report(
    run: &Summary,
    done: &Summary,
    start: Instant,
    g: &Global,
    stats: Option<&Path>,
    hadoop: bool,
) -> Result<()> {
    let mut summary = run.clone();
    summary.absorb(done);
    let summary = &summary;
    let seconds = start.elapsed().as_secs_f64();
    if !g.quiet {
        crate::say!("chaff: {}", summary.line_at(run.bytes_in, seconds));
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

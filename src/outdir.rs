//! Output folders: where each input's result goes, and the rules that keep a folder
//! from mixing runs. A folder that already holds files is refused unless `--force`
//! (overwrite) or `--resume` (finish an interrupted run with the same settings; the
//! settings are recorded in `.chaff-run.json` at the start of every run).

use crate::error::{Error, Result};
use crate::input::Compression;
use crate::reader::Source;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Name of the settings record kept in every output folder.
pub const MANIFEST: &str = ".chaff-run.json";

/// What to do with an output folder that already holds files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Refuse to write into it.
    Refuse,
    /// Write into it, replacing files of the same name.
    Force,
    /// Skip inputs whose output is already there (written by a run with the same settings).
    Resume,
}

/// Everything that decides what a filter run writes, recorded in the output folder
/// ([`MANIFEST`]) so `--resume` only ever finishes a run with the same settings. Fields
/// are in alphabetical order, the order the record has always been written in.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord<'a> {
    /// Target chunk size in bytes (`--chunk-bytes`).
    pub chunk_bytes: usize,
    /// `--compress` as given.
    pub compress: &'a str,
    /// `--encoding`, if given.
    pub encoding: Option<&'a str>,
    /// The inputs as given on the command line.
    pub inputs: &'a [PathBuf],
    /// `--jsonl`.
    pub jsonl: bool,
    /// `--keep` classes as given.
    pub keep: &'a [String],
    /// `--keep-empty`.
    pub keep_empty: bool,
    /// `--lossy`.
    pub lossy: bool,
    /// CRC-32 of the model file ([`crate::model_crc32`]), 8 hex digits.
    pub model_crc32: String,
    /// `--no-context`.
    pub no_context: bool,
    /// `--text-field`.
    pub text_field: &'a str,
    /// `--threshold`, if given.
    pub threshold: Option<f64>,
}

impl RunRecord<'_> {
    /// The record as written to [`MANIFEST`]: pretty JSON, with this chaff's version.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Versioned<'r, 'a> {
            chaff: &'static str,
            #[serde(flatten)]
            run: &'r RunRecord<'a>,
        }
        let v = Versioned {
            chaff: env!("CARGO_PKG_VERSION"),
            run: self,
        };
        serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
    }
}

/// A run into an output folder, ready to go: the sources still to do, each one's
/// destination, and how many sources `--resume` found already done.
#[derive(Debug)]
pub struct Plan {
    /// Sources to process, in input order.
    pub sources: Vec<Source>,
    /// Destination of each source in `sources`.
    pub dests: Vec<PathBuf>,
    /// Sources left out because their output is complete (only with [`Existing::Resume`]).
    pub resumed: u64,
}

/// Maps `sources` into `dir` (each input's path relative to the folder it was found in,
/// its compression extension changed if `compress` asks), checks and prepares the folder
/// and the subfolders the files go in (`inputs` are the paths as given; `settings` is
/// recorded in [`MANIFEST`] and compared on resume) and leaves out what an interrupted
/// run already wrote.
pub fn plan(
    dir: &Path,
    inputs: &[PathBuf],
    mut sources: Vec<Source>,
    stdin_name: &str,
    compress: Option<Compression>,
    existing: Existing,
    settings: Option<&str>,
) -> Result<Plan> {
    let mut dests = output_paths(&sources, dir, stdin_name, compress)?;
    let done = prepare(dir, inputs, &sources, &dests, existing, settings)?;
    // In place: the lists hold every input file, so no second copy of them.
    let mut todo = done.iter().map(|d| !d);
    sources.retain(|_| todo.next().unwrap_or(true));
    let mut todo = done.iter().map(|d| !d);
    dests.retain(|_| todo.next().unwrap_or(true));
    Ok(Plan {
        resumed: done.iter().filter(|&&d| d).count() as u64,
        sources,
        dests,
    })
}

/// Output path of every source under `dir`: the input's path relative to the folder it
/// was found in, with its compression extension changed if `compress` asks for one.
/// Two inputs mapping to one output is an error.
fn output_paths(
    sources: &[Source],
    dir: &Path,
    stdin_name: &str,
    compress: Option<Compression>,
) -> Result<Vec<PathBuf>> {
    let mut out = Vec::with_capacity(sources.len());
    for s in sources {
        let mut rel = s.rel().unwrap_or_else(|| PathBuf::from(stdin_name));
        if let Some(c) = compress {
            if Compression::from_name(&rel) != Compression::None {
                rel.set_extension("");
            }
            if let Some(ext) = c.extension() {
                let mut name = rel.into_os_string();
                name.push(".");
                name.push(ext);
                rel = PathBuf::from(name);
            }
        }
        out.push(dir.join(&rel));
    }
    // Collisions found by sorting indices, not with a map of copied paths: the list
    // holds every input file.
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_unstable_by(|&a, &b| out[a].cmp(&out[b]).then(a.cmp(&b)));
    // Of the pairs that collide, the one whose later file comes first in input order.
    let clash = order
        .windows(2)
        .filter(|w| out[w[0]] == out[w[1]])
        .min_by_key(|w| w[1]);
    if let Some(w) = clash {
        let (a, b) = (w[0], w[1]);
        return Err(Error::Usage(format!(
            "{} and {} would both be written to {}",
            sources[a].display(),
            sources[b].display(),
            out[a].display()
        )));
    }
    Ok(out)
}

/// Checks and prepares `dir` for a run described by `settings` (a JSON document, recorded
/// in the folder; `None`: nothing recorded, and no resuming); returns for each
/// destination whether it is already done (only with [`Existing::Resume`]).
fn prepare(
    dir: &Path,
    inputs: &[PathBuf],
    sources: &[Source],
    dests: &[PathBuf],
    existing: Existing,
    settings: Option<&str>,
) -> Result<Vec<bool>> {
    let manifest = dir.join(MANIFEST);
    let mut resume = false;
    // An output folder inside an input folder would be read back as input next time.
    let real_out = resolve(dir)?;
    for input in inputs.iter().filter(|i| i.is_dir()) {
        let real = std::fs::canonicalize(input).map_err(|e| Error::io(input, e))?;
        if real_out.starts_with(&real) {
            return Err(Error::Usage(format!(
                "{}: output folder lies inside the input folder {}",
                dir.display(),
                input.display()
            )));
        }
    }
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
        match existing {
            Existing::Refuse if busy => {
                return Err(Error::Usage(format!(
                    "{}: output folder already holds files (use --force to overwrite, --resume to finish an interrupted run)",
                    dir.display()
                )))
            }
            Existing::Resume if busy => {
                let old = std::fs::read_to_string(&manifest).map_err(|e| {
                    Error::Usage(format!(
                        "{}: cannot resume, no readable {MANIFEST} ({e})",
                        dir.display()
                    ))
                })?;
                if Some(old.as_str()) != settings {
                    return Err(Error::Usage(format!(
                        "{}: cannot resume, it was written with other settings (model, flags or inputs differ; see {MANIFEST})",
                        dir.display()
                    )));
                }
                resume = true;
            }
            _ => {}
        }
    }
    // Resolve each input folder once (not every file: that is five readlinks a file).
    let mut real_parents: std::collections::HashMap<PathBuf, PathBuf> = Default::default();
    for s in sources {
        if let &Source::File { ref path, link, .. } = s {
            let real = match (path.parent(), path.file_name(), link) {
                (Some(parent), Some(name), false) => {
                    let parent = if parent.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        parent
                    };
                    if !real_parents.contains_key(parent) {
                        let r = std::fs::canonicalize(parent).map_err(|e| Error::io(parent, e))?;
                        real_parents.insert(parent.to_path_buf(), r);
                    }
                    real_parents[parent].join(name)
                }
                _ => match std::fs::canonicalize(path) {
                    Ok(real) => real,
                    // A link to something with no path, such as the pipe behind
                    // /dev/fd/63 that `<(zcat dump.gz)` hands over: it cannot lie
                    // inside a folder.
                    Err(_) if link && path.metadata().is_ok_and(|m| !m.is_file()) => continue,
                    Err(e) => return Err(Error::io(path, e)),
                },
            };
            if real.starts_with(&real_out) {
                return Err(Error::Usage(format!(
                    "{}: input lies inside the output folder {}",
                    path.display(),
                    dir.display()
                )));
            }
        }
    }
    // Created only now, so a refused run leaves no empty folder behind. The subfolders
    // too, once each: a writer that made sure of its file's folder would stat it for every
    // file, or mkdir it, which locks the folder against the other workers' creates.
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut last: Option<&Path> = None;
    for parent in dests.iter().filter_map(|d| d.parent()) {
        if last != Some(parent) && parent != dir {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        last = Some(parent);
    }
    if resume {
        remove_temporaries(dir)?;
    } else if let Some(settings) = settings {
        crate::output::write_atomic(&manifest, settings.as_bytes())?;
    }
    Ok(dests.iter().map(|d| resume && d.is_file()).collect())
}

/// The real path `p` would have: its nearest existing ancestor resolved (symlinks and
/// all), the rest appended.
fn resolve(p: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(p).map_err(|e| Error::io(p, e))?;
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => break,
        }
    }
    let mut real = std::fs::canonicalize(existing).map_err(|e| Error::io(existing, e))?;
    real.extend(rest.iter().rev());
    Ok(real)
}

/// Removes temporary files a killed run left behind (a signal-stopped run removes its own).
fn remove_temporaries(dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let meta = std::fs::symlink_metadata(&path).map_err(|e| Error::io(&path, e))?;
        if meta.is_dir() {
            remove_temporaries(&path)?;
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') && n.ends_with(".chaff-tmp"))
        {
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(inputs: &[PathBuf], keep: &[String], threshold: Option<f64>) -> String {
        RunRecord {
            chunk_bytes: 1 << 20,
            compress: "auto",
            encoding: None,
            inputs,
            jsonl: false,
            keep,
            keep_empty: false,
            lossy: false,
            model_crc32: "0badf00d".into(),
            no_context: false,
            text_field: "text",
            threshold,
        }
        .to_json()
    }

    #[test]
    fn run_record_is_sorted_versioned_json() {
        let json = record(&[PathBuf::from("dump")], &["news".into()], Some(0.2));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["chaff"], env!("CARGO_PKG_VERSION"));
        assert_eq!(v["inputs"], serde_json::json!(["dump"]));
        assert_eq!(v["threshold"], 0.2);
        assert_eq!(v["encoding"], serde_json::Value::Null);
        // Written in sorted key order, so records from older runs compare equal.
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| json.find(&format!("\"{k}\":")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{json}");
        assert!(json.ends_with("}\n"));
        assert_ne!(
            json,
            record(&[PathBuf::from("dump")], &["news".into()], None)
        );
    }

    #[test]
    fn plan_maps_refuses_and_resumes() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in");
        std::fs::create_dir_all(input.join("sub")).unwrap();
        let names = ["a.txt", "sub/b.txt", "sub/c.txt"];
        let sources: Vec<Source> = names
            .iter()
            .map(|n| {
                let path = input.join(n);
                std::fs::write(&path, "x\n").unwrap();
                Source::File {
                    path,
                    rel_from: input.components().count(),
                    link: false,
                }
            })
            .collect();
        let out = tmp.path().join("out");
        let inputs = [input.clone()];
        let settings = record(&inputs, &["news".into()], None);
        let run = |existing, settings: &str| {
            plan(
                &out,
                &inputs,
                sources.clone(),
                "stdin.txt",
                Some(Compression::Gzip),
                existing,
                Some(settings),
            )
        };
        let first = run(Existing::Refuse, &settings).unwrap();
        assert_eq!(first.resumed, 0);
        assert_eq!(first.dests[1], out.join("sub/b.txt.gz"));
        assert_eq!(
            std::fs::read_to_string(out.join(MANIFEST)).unwrap(),
            settings
        );
        // An interrupted run: one output complete, one temporary left behind.
        std::fs::create_dir_all(out.join("sub")).unwrap();
        std::fs::write(out.join("sub/b.txt.gz"), "done").unwrap();
        let tmpfile = out.join("sub/.c.txt.gz.x1.chaff-tmp");
        std::fs::write(&tmpfile, "half").unwrap();
        let e = run(Existing::Refuse, &settings).unwrap_err().to_string();
        assert!(e.contains("already holds files"), "{e}");
        let other = record(&inputs, &["filler".into()], None);
        let e = run(Existing::Resume, &other).unwrap_err().to_string();
        assert!(e.contains("other settings"), "{e}");
        let resumed = run(Existing::Resume, &settings).unwrap();
        assert_eq!(resumed.resumed, 1);
        assert_eq!(
            resumed.dests,
            [out.join("a.txt.gz"), out.join("sub/c.txt.gz")]
        );
        assert_eq!(resumed.sources, [sources[0].clone(), sources[2].clone()]);
        assert!(!tmpfile.exists());
    }
}

//! Output folders: where each input's result goes, and the rules that keep a folder
//! from mixing runs. A folder that already holds files is refused unless `--force`
//! (overwrite) or `--resume` (finish an interrupted run with the same settings; the
//! settings are recorded in `.chaff-run.json` at the start of every run).

use crate::error::{Error, Result};
use crate::input::Compression;
use crate::reader::Source;
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

/// Output path of every source under `dir`: the input's path relative to the folder it
/// was found in, with its compression extension changed if `compress` asks for one.
/// Two inputs mapping to one output is an error.
pub fn output_paths(
    sources: &[Source],
    dir: &Path,
    stdin_name: &str,
    compress: Option<Compression>,
) -> Result<Vec<PathBuf>> {
    let mut seen = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(sources.len());
    for s in sources {
        let mut rel = match s {
            Source::Stdin => PathBuf::from(stdin_name),
            Source::File { rel, .. } => rel.clone(),
        };
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
        let dest = dir.join(&rel);
        if let Some(prev) = seen.insert(dest.clone(), s.display()) {
            return Err(Error::Usage(format!(
                "{} and {} would both be written to {}",
                prev,
                s.display(),
                dest.display()
            )));
        }
        out.push(dest);
    }
    Ok(out)
}

/// Checks and prepares `dir` for a run described by `settings` (a JSON document, recorded
/// in the folder; `None`: nothing recorded, and no resuming); returns for each
/// destination whether it is already done (only with [`Existing::Resume`]).
pub fn prepare(
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
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let real_out = std::fs::canonicalize(dir).map_err(|e| Error::io(dir, e))?;
    // Resolve each input folder once (not every file: that is five readlinks a file).
    let mut real_parents: std::collections::HashMap<PathBuf, PathBuf> = Default::default();
    for s in sources {
        if let Source::File { path, .. } = s {
            let is_link = std::fs::symlink_metadata(path)
                .map_err(|e| Error::io(path, e))?
                .file_type()
                .is_symlink();
            let real = match (path.parent(), path.file_name(), is_link) {
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
                _ => std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?,
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

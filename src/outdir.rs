//! Output folders: where each input's result goes, and the rules that keep a folder
//! from mixing runs. A folder that already holds files is refused unless `--force`
//! (overwrite) or `--resume` (finish an interrupted run with the same settings; the
//! settings are recorded in `.chaff-run.json` at the start of every run).

use crate::compression::Compression;
use crate::error::{Error, Result};
use crate::folder_lock::FolderLock;
use crate::journal::{dest_key, in_folder, Record, Resume};
use crate::sources::{
    given_file, list_folder, look, total_size, Entry, InputList, Inputs, Listed, Listing,
    PassedOver, Source, Walk, Written,
};
use serde::Serialize;
use std::ffi::{OsStr, OsString};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Name of the settings record kept in every output folder.
pub const MANIFEST: &str = ".chaff-run.json";

/// What to do with an output folder that already holds files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Refuse to write into it.
    Refuse,
    /// Write into it, replacing files of the same name.
    Force,
    /// Skip the inputs an earlier run with the same settings finished, as its journal
    /// ([`crate::journal`]) records them.
    Resume,
}

/// Everything that decides what a filter run writes, recorded in the output folder
/// ([`MANIFEST`]) so `--resume` only ever finishes a run with the same settings. Fields
/// are in alphabetical order, the order the record has always been written in.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord<'a> {
    /// `--bad-records`, recorded only when not `error` (so records of runs before the
    /// flag existed still match), ahead of the version to keep the keys sorted.
    #[serde(skip)]
    pub bad_records: &'a str,
    /// `--checkpoint-bytes`, recorded only when not the default (records of runs before
    /// the flag still match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_bytes: Option<u64>,
    /// Target chunk size in bytes (`--chunk-bytes`).
    pub chunk_bytes: usize,
    /// `--compress` as given.
    pub compress: &'a str,
    /// `--doc-threshold`, recorded only when given (records of runs before the flag still
    /// match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_threshold: Option<f64>,
    /// `tag --dolma`'s tagger name (`--dolma-name`): a run writing attribute files, not
    /// filtered text; recorded only for such runs (records of filter runs still match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dolma: Option<&'a str>,
    /// `--encoding`, if given.
    pub encoding: Option<&'a str>,
    /// `--file-stats` as given, recorded only when given (records of runs before the
    /// side files were continued still match): a resumed run continues the same file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_stats: Option<std::borrow::Cow<'a, str>>,
    /// `--files-from` / `--files0-from`: how many paths the list held and a CRC-32 of
    /// them (a list of a million paths is not copied into the record), recorded only when
    /// given (records of runs before the flag still match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_from: Option<String>,
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
    /// `--parquet`, recorded only when given (records of runs before the flag still match).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub parquet: bool,
    /// `--plain-text`, recorded only when given (records of runs before the flag still
    /// match).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub plain_text: bool,
    /// `--removed` as given, recorded only when given (as `file_stats`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<std::borrow::Cow<'a, str>>,
    /// `--text-field`.
    pub text_field: &'a str,
    /// `--threshold`, if given.
    pub threshold: Option<f64>,
    /// `--warc`, recorded only when given (records of runs before the flag still match).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub warc: bool,
}

fn is_error(policy: &&str) -> bool {
    *policy == "error"
}

impl RunRecord<'_> {
    /// The record as written to [`MANIFEST`]: pretty JSON, with this chaff's version.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Versioned<'r, 'a> {
            #[serde(skip_serializing_if = "is_error")]
            bad_records: &'a str,
            chaff: &'static str,
            #[serde(flatten)]
            run: &'r RunRecord<'a>,
        }
        let v = Versioned {
            bad_records: self.bad_records,
            chaff: env!("CARGO_PKG_VERSION"),
            run: self,
        };
        serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
    }
}

/// A run into an output folder, checked and ready to go: [`Plan::inputs`] gives the
/// sources still to do, each with its destination, as the run reaches them.
#[derive(Debug)]
pub struct Plan {
    dir: PathBuf,
    inputs: Arc<InputList>,
    stdin_name: String,
    compress: Option<Compression>,
    /// What the folder held before the run, so what an output may find at its path.
    before: Before,
    /// The keys of the outputs of the first sources, done by an earlier run and left out.
    done: Arc<Vec<u64>>,
    /// The source after those, gone on with from a checkpoint.
    inside: Option<Arc<Resume>>,
    /// Held until the run ends: no other run writes into the folder meanwhile.
    _lock: Option<FolderLock>,
}

/// Checks a run of `inputs` into `dir`: each source's output goes to its path relative to
/// the input it was found under (a listed input's: its whole path), its compression
/// extension changed if `compress` asks; two sources with one output are an error, and so
/// is an input inside the output folder or the other way round, and a listed path that
/// climbs out with `..`. Then prepares the folder (`settings`
/// is recorded in [`MANIFEST`] and compared on resume; `None`: nothing recorded, and no
/// resuming). The check walks the inputs once, holding one folder's files at a time.
pub fn plan(
    dir: &Path,
    inputs: Arc<InputList>,
    stdin_name: &str,
    compress: Option<Compression>,
    existing: Existing,
    settings: Option<&str>,
    written: &Written,
) -> Result<Plan> {
    let real_out = crate::sources::resolve(dir)?;
    written.check_outside_output(dir, &real_out)?;
    let mut check = Check {
        dir,
        written,
        inputs: &inputs,
        compress,
        real_out: &real_out,
        clash: None,
        inside: None,
        passed_over: PassedOver::default(),
        hidden: PassedOver::hidden(),
        folders: Vec::new(),
        pending: Default::default(),
        parent: None,
    };
    check.inputs(stdin_name)?;
    if let Some(Clash {
        a, b, dest, given, ..
    }) = check.clash
    {
        let real = |p: &str| std::fs::canonicalize(p).ok();
        let hint = if a != "-"
            && b != "-"
            && (a == b || real(&a).is_some_and(|r| real(&b) == Some(r)))
        {
            " (one file, named twice)"
        } else if given {
            " (inputs named on the command line are written by their names alone, the folders above them left out: list them with --files-from to keep their paths)"
        } else {
            ""
        };
        return Err(Error::Usage(format!(
            "{a} and {b} would both be written to {}{hint}",
            dest.display()
        )));
    }
    // Before the run: no progress bar to draw over.
    check.passed_over.warn();
    check.hidden.warn();
    let inside = check.inside.map(|(_, path)| {
        Error::Usage(format!(
            "{path}: input lies inside the output folder {}",
            dir.display()
        ))
    });
    let (before, lock) = prepare(dir, &real_out, &check.folders, inside, existing, settings)?;
    Ok(Plan {
        dir: dir.to_path_buf(),
        inputs,
        stdin_name: stdin_name.to_string(),
        compress,
        before,
        done: Arc::default(),
        inside: None,
        _lock: lock,
    })
}

impl Plan {
    /// Lets the folder's lock go, as a run that stopped did (tests of what follows one).
    #[cfg(test)]
    pub(crate) fn unlock(&mut self) {
        self._lock = None;
    }

    /// The sources still to do and their destinations, in input order, found as the run
    /// reaches them; each output subfolder is created before the first source that
    /// goes in it.
    pub fn inputs(&self) -> Inputs<'static> {
        let sized = self.todo();
        let mut made: Option<PathBuf> = None;
        let dir = self.dir.clone();
        let entries = self.todo().map(move |e| {
            let e = e?;
            if let Some(parent) = e.dest().ok().and_then(Path::parent) {
                // Once a folder, not for every file: a writer that made sure of its
                // file's folder would stat it each time, or mkdir it, which locks the
                // folder against the other workers' creates.
                if made.as_deref() != Some(parent) && parent != dir {
                    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                    made = Some(parent.to_path_buf());
                }
            }
            Ok(e)
        });
        Inputs {
            entries: Box::new(entries),
            size: Box::new(move || total_size(sized.map(|e| e.map(|e| e.source)))),
        }
    }

    /// The sources still to do, with their destinations: all but the first ones done by
    /// an earlier run ([`Plan::skip_done`]).
    fn todo(&self) -> impl Iterator<Item = Result<Entry>> + Send + 'static {
        let (before, dir) = (self.before, self.dir.clone());
        let done = Arc::clone(&self.done);
        let inside = self.inside.clone();
        self.dests().enumerate().filter_map(move |(i, d)| {
            let (source, dest) = match d {
                Ok(d) => d,
                Err(e) => return Some(Err(e)),
            };
            if let Some(was) = done.get(i) {
                // Checked before the run began ([`Plan::finished`]): only a change to
                // the inputs since then gets here.
                if *was != dest_key(&in_folder(&dir, &dest)) {
                    return Some(Err(Error::Usage(format!(
                        "{}: the inputs changed while the run started (its output {} is not the one the run before had in its place); run again",
                        source.display(),
                        dest.display()
                    ))));
                }
                return None;
            }
            // In a folder that held nothing, nothing is looked up: whatever appears at
            // the path was written during the run and must not be replaced. Otherwise
            // what is there now is taken for a file from before the run, to be replaced
            // (if the tree changed after the check, it may instead be an earlier
            // source's output from this run, written before the walk got here: only the
            // empty folder's rule tells the two apart without a list).
            let replace = before != Before::Empty && dest.symlink_metadata().is_ok();
            let resume = inside.as_ref().filter(|_| i == done.len()).cloned();
            if resume
                .as_ref()
                .is_some_and(|r| r.dest != in_folder(&dir, &dest))
            {
                return Some(Err(Error::Usage(format!(
                    "{}: the inputs changed while the run started (its output {} is not the one the run before was writing); run again",
                    source.display(),
                    dest.display()
                ))));
            }
            Some(Ok(Entry {
                source,
                dest: Some(dest),
                replace,
                resume,
            }))
        })
    }

    /// Every source and its output path, in input order.
    fn dests(&self) -> impl Iterator<Item = Result<(Source, PathBuf)>> + Send + 'static {
        let (dir, stdin_name) = (self.dir.clone(), PathBuf::from(&self.stdin_name));
        let compress = self.compress;
        Walk::new(Arc::clone(&self.inputs)).map(move |s| {
            let source = s?;
            let rel = source.rel().unwrap_or_else(|| stdin_name.clone());
            let dest = output_path(&dir, rel, compress);
            Ok((source, dest))
        })
    }

    /// Whether this run finishes an earlier one (`--resume` into a folder that held files).
    pub fn resuming(&self) -> bool {
        self.before == Before::Resume
    }

    /// Every source's output path, in input order (what an earlier run's journal records
    /// are matched against, one by one).
    pub fn outputs(&self) -> impl Iterator<Item = Result<PathBuf>> + Send + 'static {
        self.dests().map(|d| d.map(|(_, dest)| dest))
    }

    /// Whether `--resume` may take the source whose output is `dest` as done by the run
    /// that journaled `r`: the same output, still in place if it had one (a link to a
    /// file counts as the file). Never when not resuming.
    pub fn finished(&self, dest: &Path, r: &Record) -> bool {
        let there = || dest.metadata().is_ok_and(|m| m.is_file());
        self.before == Before::Resume
            && r.dest == in_folder(&self.dir, dest)
            && (!r.output || there())
    }

    /// Leaves out the first sources, whose outputs have the keys `dests`
    /// ([`dest_key`]; done by an earlier run, as [`Plan::finished`] found).
    pub fn skip_done(&mut self, dests: Vec<u64>) {
        self.done = Arc::new(dests);
    }

    /// Goes on with the source after those [`Plan::skip_done`] leaves out from a
    /// checkpoint of an earlier run (`None`: from its start).
    pub fn resume_inside(&mut self, resume: Option<Arc<Resume>>) {
        self.inside = resume;
    }
}

/// Where the output of a source at `rel` (its path under its input) goes in `dir`: with
/// its compression extension changed if `compress` asks for one.
fn output_path(dir: &Path, mut rel: PathBuf, compress: Option<Compression>) -> PathBuf {
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
    dir.join(rel)
}

/// A source's place in a run: its input's place, then its path under the input (a
/// folder is walked in the byte order of its paths, component by component).
type Order = (usize, PathBuf);

/// The check of a run into an output folder. Outputs can collide only within one output
/// folder, whose files come from the same relative folder under every input: so the
/// inputs are walked side by side, folder by relative folder, and only one folder's
/// file names are held at a time, never a list of every file.
struct Check<'a> {
    dir: &'a Path,
    /// The inputs as given.
    inputs: &'a InputList,
    compress: Option<Compression>,
    /// The output folder's real path.
    real_out: &'a Path,
    /// Of the pairs of sources with one destination, the one whose later source comes
    /// first in input order.
    clash: Option<Clash>,
    /// The first source in input order that lies inside the output folder.
    inside: Option<(Order, String)>,
    /// What input folders hold that is neither file nor folder, which is not read.
    passed_over: PassedOver,
    /// What they hold under hidden names, not read either.
    hidden: PassedOver,
    /// The files the run writes beside its outputs, which no input may be.
    written: &'a Written,
    /// The input folders as given, and their real paths; and the folders reached
    /// through a link that hold the output folder.
    folders: Vec<(PathBuf, PathBuf)>,
    /// Listed inputs by the relative folder they land in (a listed file in its path's
    /// folder, a listed folder as that folder itself), taken as the walk reaches it.
    pending: std::collections::BTreeMap<PathBuf, Pending>,
    /// The last listed file's folder and its real path: listed files come folder by
    /// folder, and resolving each one's folder again would cost a system call a component.
    parent: Option<(PathBuf, PathBuf)>,
}

/// A source the check found in the relative folder being checked: where its name is,
/// not the name (a folder of a million files is held while it is checked, and every
/// file of a list waits for its folder's turn): 24 bytes, no allocation of its own.
struct Found {
    input: usize,
    /// Where its name is.
    at: At,
    /// How many bytes of its name its output keeps before the run's compression
    /// extension ([`output_path`]): outputs are equal when these prefixes are.
    stem: u32,
}

impl Found {
    /// A source of input `input` called `name`, which `at` holds, in a run that
    /// compresses as `compress` asks.
    fn new(input: usize, at: At, name: &OsStr, compress: Option<Compression>) -> Found {
        Found {
            input,
            at,
            // A file name is at most a few hundred bytes.
            stem: stem_len(name, compress) as u32,
        }
    }
}

/// Where a [`Found`]'s name is ([`Names::name`]).
#[derive(Clone, Copy)]
enum At {
    /// Its input's file name: a file given or listed.
    Input,
    /// An entry of a branch's listing.
    Listing { branch: u32, slot: u32 },
    /// One of the names held apart (standard input's, an odd input path's).
    Apart(u32),
}

impl At {
    /// `name`, held apart in `apart`.
    fn apart(apart: &mut Vec<OsString>, name: OsString) -> At {
        apart.push(name);
        // A folder's names held apart are standard input's and odd inputs': few.
        At::Apart(apart.len() as u32 - 1)
    }
}

/// What the names of one relative folder's [`Found`]s are read from.
struct Names<'b> {
    inputs: &'b InputList,
    /// Each branch's listing, by branch (empty when its names were not collected).
    listings: &'b [Listing],
    apart: &'b [OsString],
}

impl<'b> Names<'b> {
    /// The name of `f`.
    fn name(&self, f: &Found) -> &'b OsStr {
        let name = match f.at {
            At::Input => (self.inputs.path(f.input)).and_then(|(p, _)| p.file_name()),
            At::Listing { branch, slot } => (self.listings.get(branch as usize))
                .and_then(|l| l.at(slot as usize))
                .map(|e| e.name),
            At::Apart(k) => self.apart.get(k as usize).map(OsString::as_os_str),
        };
        name.unwrap_or_default()
    }

    /// The part of `f`'s name that tells its output from others.
    fn stem(&self, f: &Found) -> &'b [u8] {
        let name = self.name(f).as_encoded_bytes();
        &name[..(f.stem as usize).min(name.len())]
    }
}

/// What waits in a relative folder until the check reaches it.
#[derive(Default)]
struct Pending {
    /// File inputs, by their index: a word each, as a list may name millions of files
    /// (their [`Found`] is made when their folder is checked).
    files: Vec<usize>,
    /// Standard input, and a file input whose name is not its path's last.
    found: Vec<Found>,
    /// Names its `found` reads ([`At::Apart`]).
    apart: Vec<OsString>,
    /// Input folders' copies of it.
    branches: Vec<Branch>,
}

/// One input folder's copy of the relative folder being checked.
struct Branch {
    input: usize,
    path: PathBuf,
    /// The real paths of the folder and of those above it on the walk (a link back to
    /// one of them is not followed, as the run's walk does not follow it).
    seen: Vec<PathBuf>,
}

impl Check<'_> {
    /// Checks every source under the inputs.
    fn inputs(&mut self, stdin_name: &str) -> Result<()> {
        for (i, input) in self.inputs.iter().enumerate() {
            if input.is_stdin() {
                self.written.check_stdin()?;
                let compress = self.compress;
                let pending = self.pending(PathBuf::new());
                let at = At::apart(&mut pending.apart, stdin_name.into());
                (pending.found).push(Found::new(i, at, OsStr::new(stdin_name), compress));
                continue;
            }
            let path = &input.path;
            // Where its files land: the output folder itself, or a listed path's folder.
            let rel: PathBuf = path.components().skip(input.rel_from(true)).collect();
            if input.listed
                && rel
                    .components()
                    .any(|c| c == std::path::Component::ParentDir)
            {
                return Err(Error::Usage(format!(
                    "{}: a listed path with `..` would be written outside the output folder {}",
                    path.display(),
                    self.dir.display()
                )));
            }
            let (meta, link) = look(path)?;
            if meta.is_dir() {
                let real = std::fs::canonicalize(path).map_err(|e| Error::io(path, e))?;
                self.written.check_folder(path, &real)?;
                self.folders.push((path.clone(), real.clone()));
                let branch = Branch {
                    input: i,
                    path: path.clone(),
                    seen: vec![real],
                };
                self.pending(rel).branches.push(branch);
                continue;
            }
            self.written.check_file(path, &meta)?;
            // Its name as the run's walk has it.
            let source = given_file(input.clone(), link);
            let rel = source.rel().unwrap_or_default();
            let real = match (path.parent(), path.file_name(), link) {
                (Some(parent), Some(name), false) => Some(self.real_parent(parent)?.join(name)),
                _ => real_link(path)?,
            };
            if real.is_some_and(|r| r.starts_with(self.real_out)) {
                self.inside(i, &rel, path);
            }
            // Nearly always its name is its path's last: then it waits as its index.
            let (folder, name) = split(rel);
            let compress = self.compress;
            let pending = self.pending(folder);
            if path.file_name() == Some(&name) {
                pending.files.push(i);
            } else {
                let at = At::apart(&mut pending.apart, name.clone());
                (pending.found).push(Found::new(i, at, &name, compress));
            }
        }
        self.folder(Path::new(""))
    }

    /// The listed sources and folders waiting in the relative folder `rel`.
    fn pending(&mut self, rel: PathBuf) -> &mut Pending {
        self.pending.entry(rel).or_default()
    }

    /// The real path of the folder `parent` of a file input.
    fn real_parent(&mut self, parent: &Path) -> Result<PathBuf> {
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if let Some((p, real)) = &self.parent {
            if p == parent {
                return Ok(real.clone());
            }
        }
        let real = std::fs::canonicalize(parent).map_err(|e| Error::io(parent, e))?;
        self.parent = Some((parent.to_path_buf(), real.clone()));
        Ok(real)
    }

    /// Checks the relative folder `rel`: the inputs waiting in it, and the sources in
    /// each input folder's copy of it; then its subfolders, in byte order.
    fn folder(&mut self, rel: &Path) -> Result<()> {
        let pending = self.pending.remove(rel).unwrap_or_default();
        let (mut found, branches, apart) = (pending.found, pending.branches, pending.apart);
        for i in pending.files {
            let name = (self.inputs.path(i)).and_then(|(p, _)| p.file_name());
            found.push(Found::new(
                i,
                At::Input,
                name.unwrap_or_default(),
                self.compress,
            ));
        }
        // One folder's own names are unique: with no name changed and no other input
        // here, nothing can collide, and its names need not be held.
        let collect = self.compress.is_some() || !found.is_empty() || branches.len() > 1;
        let mut subfolders: std::collections::BTreeSet<OsString> = Default::default();
        let mut listings = Vec::with_capacity(branches.len());
        for (bi, b) in branches.iter().enumerate() {
            let real_dir = b.seen.last().cloned().unwrap_or_default();
            // A folder reached through a link that holds the output folder (`in/up ->
            // ..`): the walk would read the run's own outputs back as they are written,
            // as from an input folder that holds it (checked with the input folders).
            if b.seen.len() > 1 && self.real_out.starts_with(&real_dir) {
                self.folders.push((b.path.clone(), real_dir.clone()));
            }
            self.written.check_folder(&b.path, &real_dir)?;
            // Its files lie inside the output folder if it does (a link is looked at
            // on its own).
            let inside = real_dir.starts_with(self.real_out);
            let listing = list_folder(&b.path)?;
            self.passed_over.absorb(&listing.passed_over);
            self.hidden.absorb(&listing.hidden);
            for k in 0..listing.len() {
                let Some(Listed { name, folder, link }) = listing.at(k) else {
                    break;
                };
                if folder {
                    let path = b.path.join(name);
                    let real = std::fs::canonicalize(&path).map_err(|e| Error::io(&path, e))?;
                    if !b.seen.contains(&real) {
                        let mut seen = b.seen.clone();
                        seen.push(real);
                        self.pending(rel.join(name)).branches.push(Branch {
                            input: b.input,
                            path,
                            seen,
                        });
                        subfolders.insert(name.to_os_string());
                    }
                    continue;
                }
                let inside = if link {
                    let path = b.path.join(name);
                    self.written.check_link(&path)?;
                    real_link(&path)?.is_some_and(|r| r.starts_with(self.real_out))
                } else {
                    inside
                };
                if inside {
                    self.inside(b.input, &rel.join(name), &b.path.join(name));
                }
                if collect {
                    // A folder's branches are its input folders' copies of it, and a
                    // listing's entries a folder's files: neither reaches 4 billion.
                    let at = At::Listing {
                        branch: bi as u32,
                        slot: k as u32,
                    };
                    found.push(Found::new(b.input, at, name, self.compress));
                }
            }
            // Kept while its names are needed.
            listings.push(if collect { listing } else { Listing::default() });
        }
        let names = Names {
            inputs: self.inputs,
            listings: &listings,
            apart: &apart,
        };
        self.clashes(rel, found, &branches, &names);
        // Not held while the subfolders are checked.
        drop((listings, apart));
        // Listed inputs further down, whose folders no input folder may have.
        let depth = rel.components().count();
        let below = (Bound::Excluded(rel.to_path_buf()), Bound::Unbounded);
        for (key, _) in self.pending.range(below) {
            if !key.starts_with(rel) {
                break;
            }
            if let Some(c) = key.components().nth(depth) {
                subfolders.insert(c.as_os_str().to_os_string());
            }
        }
        for name in subfolders {
            self.folder(&rel.join(name))?;
        }
        Ok(())
    }

    /// Notes the source at `path` (`rel` under input `input`), which lies inside the
    /// output folder, if it is the first such in input order.
    fn inside(&mut self, input: usize, rel: &Path, path: &Path) {
        let order = (input, rel.to_path_buf());
        if self.inside.as_ref().is_none_or(|(o, _)| order < *o) {
            self.inside = Some((order, path.display().to_string()));
        }
    }

    /// Notes the first pair (in input order of its later source) with one destination
    /// among `found`, in the relative folder `rel` of `branches`, their names in `names`.
    fn clashes(&mut self, rel: &Path, mut found: Vec<Found>, branches: &[Branch], names: &Names) {
        // Outputs differ from their stems by one suffix, the run's: sorted by stem, equal
        // outputs lie side by side, in input order.
        found.sort_unstable_by(|a, b| {
            (names.stem(a), a.input, names.name(a)).cmp(&(names.stem(b), b.input, names.name(b)))
        });
        let shown = |f: &Found| match f.at {
            At::Listing { branch, .. } => (branches[branch as usize].path.join(names.name(f)))
                .display()
                .to_string(),
            _ => (names.inputs.path(f.input))
                .map_or_else(String::new, |(p, _)| p.display().to_string()),
        };
        for w in found.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            if names.stem(a) != names.stem(b) {
                continue;
            }
            let order = (b.input, rel.join(names.name(b)));
            if self.clash.as_ref().is_some_and(|c| c.order <= order) {
                continue;
            }
            let out = output_path(&self.dir.join(rel), names.name(a).into(), self.compress);
            let given = |f: &Found| {
                !matches!(f.at, At::Apart(_))
                    && names
                        .inputs
                        .path(f.input)
                        .is_some_and(|(_, listed)| !listed)
            };
            self.clash = Some(Clash {
                order,
                a: shown(a),
                b: shown(b),
                dest: out,
                given: a.input != b.input && given(a) && given(b),
            });
        }
    }
}

/// Two sources with one destination.
struct Clash {
    /// The later source's place in input order.
    order: Order,
    /// The two sources, as shown.
    a: String,
    b: String,
    /// Where both would be written.
    dest: PathBuf,
    /// They come from two inputs named on the command line (not listed).
    given: bool,
}

/// How many bytes of `name` its output's name ([`output_path`]) keeps before the
/// extension `compress` adds, if any.
fn stem_len(name: &OsStr, compress: Option<Compression>) -> usize {
    let path = Path::new(name);
    match path.extension() {
        // `output_path` drops a compression extension and its dot.
        Some(ext) if compress.is_some() && Compression::from_name(path) != Compression::None => {
            name.len() - ext.len() - 1
        }
        _ => name.len(),
    }
}

/// A relative path's folder and name (all of it, when it has no name).
fn split(rel: PathBuf) -> (PathBuf, OsString) {
    match (rel.parent(), rel.file_name()) {
        (Some(folder), Some(name)) => (folder.to_path_buf(), name.to_os_string()),
        _ => (PathBuf::new(), rel.into_os_string()),
    }
}

/// The real path of the link at `path`; `None` for a link to something with no path,
/// such as the pipe behind /dev/fd/63 that `<(zcat dump.gz)` hands over: it cannot lie
/// inside a folder.
fn real_link(path: &Path) -> Result<Option<PathBuf>> {
    match std::fs::canonicalize(path) {
        Ok(real) => Ok(Some(real)),
        Err(_) if path.metadata().is_ok_and(|m| !m.is_file()) => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Checks and prepares `dir` (whose real path is `real_out`) for a run described by
/// `settings` (a JSON document, recorded in the folder; `None`: nothing recorded, and no
/// resuming); `folders` are the input folders and their real paths, `inside` the error
/// for an input inside the output folder, if one is. Returns what the folder held, and
/// the folder's lock, taken before anything in it was looked at.
fn prepare(
    dir: &Path,
    real_out: &Path,
    folders: &[(PathBuf, PathBuf)],
    inside: Option<Error>,
    existing: Existing,
    settings: Option<&str>,
) -> Result<(Before, Option<FolderLock>)> {
    let manifest = dir.join(MANIFEST);
    let mut before = Before::Empty;
    let mut lock = None;
    // An output folder inside an input folder would be read back as input next time.
    for (input, real) in folders {
        if real_out.starts_with(real) {
            return Err(Error::Usage(format!(
                "{}: output folder lies inside the input folder {}",
                dir.display(),
                input.display()
            )));
        }
    }
    // A link to nothing, which mkdir would only call `File exists`.
    if let (false, Ok(to)) = (dir.exists(), std::fs::read_link(dir)) {
        return Err(Error::Usage(format!(
            "{}: output folder is a link to nowhere ({}); make the folder it names, or give another",
            dir.display(),
            to.display()
        )));
    }
    // Looked at once: a folder another run makes meanwhile is found by the lock below.
    let existed = dir.exists();
    if existed {
        if !dir.is_dir() {
            return Err(Error::Usage(format!(
                "{}: exists and is not a folder",
                dir.display()
            )));
        }
        // Before what the folder holds is read: it is another run's until that ends.
        lock = FolderLock::take(dir)?;
        let busy = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .next()
            .is_some();
        match existing {
            // Another chaff run's folder: a second batch of inputs (`xargs chaff filter -o
            // out`) is the usual way to meet it, and one run takes them all.
            Existing::Refuse if busy && manifest.exists() => {
                return Err(Error::Usage(format!(
                    "{}: output folder already holds files of another chaff run (--resume finishes it if it stopped, --force writes over it; one run takes any number of inputs with --files-from, rather than a run a batch)",
                    dir.display()
                )))
            }
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
                // A run that records nothing (`settings` None) never resumes.
                let what = match settings.map(|new| changed_settings(&old, new)) {
                    Some(Some(changed)) if changed.is_empty() => None,
                    Some(Some(changed)) => Some(changed.join("; ")),
                    _ => Some("a record this run cannot compare".to_string()),
                };
                if let Some(what) = what {
                    return Err(Error::Usage(format!(
                        "{}: cannot resume, it was written with other settings: {what} (see {MANIFEST})",
                        dir.display()
                    )));
                }
                before = Before::Resume;
            }
            Existing::Force if busy => before = Before::Replace,
            _ => {}
        }
    }
    if let Some(e) = inside {
        return Err(e);
    }
    // Created only now, so a refused run leaves no empty folder behind.
    if !existed {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        lock = FolderLock::take(dir)?;
        // Another run that made the folder first, and wrote in it, is running or was.
        if std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .next()
            .is_some()
        {
            return Err(Error::io(
                dir,
                std::io::Error::other(
                    "another chaff run began writing into this folder as this one started",
                ),
            ));
        }
    }
    if before == Before::Resume {
        remove_temporaries(dir, false)?;
    } else if let Some(settings) = settings {
        if before == Before::Replace {
            // What a stopped run kept to go on from is of no use to a run that starts over.
            remove_temporaries(dir, true)?;
        }
        crate::output::write_atomic(&manifest, settings.as_bytes())?;
    }
    Ok((before, lock))
}

/// How the settings `new` differ from those recorded, `old` (both as
/// [`RunRecord::to_json`] writes them), one `setting old, now new` each in key order;
/// `None` if `old` is no such record. Records are compared by their values, not their
/// bytes, and `--compress` by what it asks for (`gzip` is `gz`, `zst:3` is `zst`).
fn changed_settings(old: &str, new: &str) -> Option<Vec<String>> {
    use serde_json::{Map, Value};
    let parse = |s: &str| serde_json::from_str::<Map<String, Value>>(s).ok();
    let (old, new) = (parse(old)?, parse(new)?);
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let flag = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .and_then(|s| Compression::parse_flag(s).ok())
    };
    let show = |key: &str, v: Option<&Value>| {
        let s = match v {
            // Keys written only when not their default.
            None => match key {
                "bad_records" => "error".to_string(),
                "parquet" | "plain_text" | "warc" => "false".to_string(),
                _ => "(none)".to_string(),
            },
            Some(Value::Null) => "(none)".to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        };
        // Inputs may be a long list: enough to tell the two apart.
        match s.char_indices().nth(60) {
            Some((cut, _)) => format!("{}...", &s[..cut]),
            None => s,
        }
    };
    let mut changed = Vec::new();
    for key in keys {
        let (a, b) = (old.get(key), new.get(key));
        let same = match (key.as_str(), flag(a), flag(b)) {
            ("compress", Some(x), Some(y)) => x.asks_same(&y),
            _ => a == b,
        };
        if !same {
            let name = match key.as_str() {
                "chaff" => "chaff version".to_string(),
                "model_crc32" => "model CRC-32".to_string(),
                "inputs" => "inputs".to_string(),
                "files_from" => "--files-from list".to_string(),
                "dolma" => "--dolma-name".to_string(),
                k => format!("--{}", k.replace('_', "-")),
            };
            changed.push(format!("{name} {}, now {}", show(key, a), show(key, b)));
        }
    }
    Some(changed)
}

/// What an output folder held when a run began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Before {
    /// Nothing (or it did not exist): every output is new, and a file found at an
    /// output's path was written during the run.
    Empty,
    /// Files of an interrupted run, finished with `--resume`: the sources its journal
    /// records as done are left out ([`Plan::finished`]).
    Resume,
    /// Files that `--force` lets the run replace.
    Replace,
}

/// Removes temporary files a killed run left behind (a signal-stopped run removes its
/// own), and with `resumable`, the outputs a stopped run kept to go on from
/// ([`crate::output::resumable_path`]).
pub(crate) fn remove_temporaries(dir: &Path, resumable: bool) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let meta = std::fs::symlink_metadata(&path).map_err(|e| Error::io(&path, e))?;
        let ends: &[&str] = match resumable {
            true => &[crate::output::TMP, crate::output::RESUMABLE],
            false => &[crate::output::TMP],
        };
        if meta.is_dir() {
            remove_temporaries(&path, resumable)?;
        } else if path
            .file_name()
            .is_some_and(|n| crate::output::is_hidden_ending(n.as_encoded_bytes(), ends))
        {
            // By its bytes: a temporary of a file whose name is not UTF-8 goes too.
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::Input;

    fn record(inputs: &[PathBuf], keep: &[String], threshold: Option<f64>) -> String {
        record_with(inputs, keep, threshold, "error").to_json()
    }

    #[test]
    fn changed_settings_are_named_and_spellings_of_one_codec_are_one() {
        let inputs = [PathBuf::from("dump")];
        let keep = ["news".to_string()];
        let base = record_with(&inputs, &keep, None, "error");
        let compress = |c| {
            RunRecord {
                compress: c,
                ..base.clone()
            }
            .to_json()
        };
        let changed = |a: &str, b: &str| changed_settings(a, b).unwrap();
        let none: [String; 0] = [];
        let gz = compress("gz");
        for same in ["gzip", "gz:6", "gzip:6"] {
            assert_eq!(changed(&gz, &compress(same)), none);
        }
        // Values, not bytes: the same record written compactly.
        let compact = serde_json::from_str::<serde_json::Value>(&gz)
            .unwrap()
            .to_string();
        assert_eq!(changed(&gz, &compact), none);
        assert_eq!(changed(&gz, &compress("gz:1")), ["--compress gz, now gz:1"]);
        let many: Vec<PathBuf> = (0..40)
            .map(|i| PathBuf::from(format!("part-{i}")))
            .collect();
        let other = RunRecord {
            threshold: Some(0.05),
            doc_threshold: Some(0.3),
            dolma: Some("chaff"),
            inputs: &many,
            bad_records: "skip",
            ..base.clone()
        };
        assert_eq!(
            changed(&base.to_json(), &other.to_json()),
            [
                "--bad-records error, now skip",
                "--doc-threshold (none), now 0.3",
                "--dolma-name (none), now chaff",
                r#"inputs ["dump"], now ["part-0","part-1","part-2","part-3","part-4","part-5","part..."#,
                "--threshold (none), now 0.05",
            ]
        );
        assert_eq!(changed_settings("{ cut short", &gz), None);
    }

    fn record_with<'a>(
        inputs: &'a [PathBuf],
        keep: &'a [String],
        threshold: Option<f64>,
        bad_records: &'a str,
    ) -> RunRecord<'a> {
        RunRecord {
            bad_records,
            checkpoint_bytes: None,
            chunk_bytes: 1 << 20,
            compress: "auto",
            dolma: None,
            doc_threshold: None,
            encoding: None,
            file_stats: None,
            files_from: None,
            inputs,
            jsonl: false,
            keep,
            keep_empty: false,
            lossy: false,
            model_crc32: "0badf00d".into(),
            no_context: false,
            text_field: "text",
            threshold,
            warc: false,
            parquet: false,
            plain_text: false,
            removed: None,
        }
    }

    #[test]
    fn run_record_is_sorted_versioned_json() {
        let json = record(&[PathBuf::from("dump")], &["news".into()], Some(0.2));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["chaff"], env!("CARGO_PKG_VERSION"));
        // The default bad-record policy is not written: records of runs from before the
        // flag compare equal.
        assert!(v.get("bad_records").is_none(), "{json}");
        let skip = record_with(
            &[PathBuf::from("dump")],
            &["news".into()],
            Some(0.2),
            "skip",
        )
        .to_json();
        assert!(
            skip.starts_with("{\n  \"bad_records\": \"skip\",\n  \"chaff\""),
            "{skip}"
        );
        assert_eq!(skip.replace("  \"bad_records\": \"skip\",\n", ""), json);
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
        // `--plain-text` is recorded only when given, in its sorted place.
        assert!(v.get("plain_text").is_none(), "{json}");
        let (inputs, keep) = ([PathBuf::from("dump")], ["news".to_string()]);
        let mut plain = record_with(&inputs, &keep, Some(0.2), "error");
        plain.plain_text = true;
        let plain = plain.to_json();
        let at = |k: &str| plain.find(&format!("\"{k}\":")).unwrap();
        assert!(at("no_context") < at("plain_text") && at("plain_text") < at("text_field"));
        assert_eq!(plain.replace("  \"plain_text\": true,\n", ""), json);
        // So is a Dolma run's tagger name, which no filter run has.
        assert!(v.get("dolma").is_none(), "{json}");
        let mut tagged = record_with(&inputs, &keep, Some(0.2), "error");
        tagged.dolma = Some("paragraph");
        let tagged = tagged.to_json();
        let at = |k: &str| tagged.find(&format!("\"{k}\":")).unwrap();
        assert!(at("compress") < at("dolma") && at("dolma") < at("encoding"));
        assert_eq!(tagged.replace("  \"dolma\": \"paragraph\",\n", ""), json);
        assert!(json.ends_with("}\n"));
        assert_ne!(
            json,
            record(&[PathBuf::from("dump")], &["news".into()], None)
        );
    }

    #[test]
    fn an_output_name_is_its_stem_and_the_runs_extension() {
        let names = [
            "a.txt",
            "a.txt.gz",
            "a.gz",
            ".gz",
            "..gz",
            "a.tar.zst",
            "gz",
            "a.",
            "a.GZ",
        ];
        for c in [
            None,
            Some(Compression::None),
            Some(Compression::Gzip),
            Some(Compression::Zstd),
        ] {
            let ext = c.and_then(|c| c.extension()).map(|e| format!(".{e}"));
            for name in names {
                let out = output_path(Path::new(""), name.into(), c);
                let stem = &name[..stem_len(OsStr::new(name), c)];
                let want = format!("{stem}{}", ext.as_deref().unwrap_or(""));
                assert_eq!(out, Path::new(&want), "{name} {c:?}");
            }
        }
    }

    /// The entries a plan gives, as (source path, destination) pairs.
    fn entries(plan: &Plan) -> Vec<(PathBuf, PathBuf)> {
        plan.inputs()
            .entries
            .map(|e| {
                let e = e.unwrap();
                let dest = e.dest().unwrap().to_path_buf();
                match e.source {
                    crate::sources::Source::File { path, .. } => (path, dest),
                    crate::sources::Source::Stdin => ("-".into(), dest),
                }
            })
            .collect()
    }

    #[test]
    fn plan_maps_refuses_and_resumes() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in");
        std::fs::create_dir_all(input.join("sub")).unwrap();
        for n in ["a.txt", "sub/b.txt", "sub/c.txt"] {
            std::fs::write(input.join(n), "x\n").unwrap();
        }
        let out = tmp.path().join("out");
        let inputs = [input.clone()];
        let settings = record(&inputs, &["news".into()], None);
        let run = |existing, settings: &str| {
            plan(
                &out,
                Input::all_given(&inputs).into(),
                "stdin.txt",
                Some(Compression::Gzip),
                existing,
                Some(settings),
                &Written::default(),
            )
        };
        let first = run(Existing::Refuse, &settings).unwrap();
        // The subfolder is made as the run reaches its first file.
        assert!(!out.join("sub").exists());
        assert_eq!(
            entries(&first),
            [
                (input.join("a.txt"), out.join("a.txt.gz")),
                (input.join("sub/b.txt"), out.join("sub/b.txt.gz")),
                (input.join("sub/c.txt"), out.join("sub/c.txt.gz")),
            ]
        );
        assert!(out.join("sub").is_dir());
        assert_eq!(
            std::fs::read_to_string(out.join(MANIFEST)).unwrap(),
            settings
        );
        // An interrupted run: two outputs complete, the first recorded in the journal
        // (the second finished out of turn, with the next still being written), one
        // temporary left behind.
        std::fs::write(out.join("a.txt.gz"), "done").unwrap();
        std::fs::write(out.join("sub/b.txt.gz"), "done").unwrap();
        let tmpfile = out.join("sub/.c.txt.gz.x1.chaff-tmp");
        let mut first = first;
        first.unlock();
        std::fs::write(&tmpfile, "half").unwrap();
        let e = run(Existing::Refuse, &settings).unwrap_err().to_string();
        assert!(e.contains("already holds files"), "{e}");
        let other = record(&inputs, &["filler".into()], None);
        let e = run(Existing::Resume, &other).unwrap_err().to_string();
        assert!(
            e.ends_with(r#"other settings: --keep ["news"], now ["filler"] (see .chaff-run.json)"#),
            "{e}"
        );
        let journal = |dests: &[&str]| -> Vec<Record> {
            let record = |d: &&str| Record {
                dest: d.to_string(),
                output: true,
                removed: 0,
                file_stats: 0,
                counts: Default::default(),
                at: None,
            };
            dests.iter().map(record).collect()
        };
        let mut resumed = run(Existing::Resume, &settings).unwrap();
        assert!(resumed.resuming());
        assert!(!tmpfile.exists());
        let done = done_prefix(&resumed, &journal(&["a.txt.gz"]));
        assert_eq!(done, 1);
        // Records count in order, and only with their outputs in place.
        let all = journal(&["a.txt.gz", "sub/b.txt.gz", "sub/c.txt.gz"]);
        assert_eq!(done_prefix(&resumed, &all), 2);
        assert_eq!(done_prefix(&resumed, &all[1..]), 0);
        resumed.skip_done(vec![dest_key(&all[0].dest)]);
        assert_eq!(
            entries(&resumed),
            [
                (input.join("sub/b.txt"), out.join("sub/b.txt.gz")),
                (input.join("sub/c.txt"), out.join("sub/c.txt.gz")),
            ]
        );
        // A progress bar's total counts what is left to do.
        assert_eq!((resumed.inputs().size)(), Some(4));
        // Only a file there when the run reaches its source may be replaced (an output
        // the journal does not vouch for is done again); in a folder that held nothing,
        // nothing is.
        assert_eq!(replaces(&first), [false; 3]);
        assert_eq!(replaces(&resumed), [true, false]);
        resumed.unlock();
        let forced = run(Existing::Force, &settings).unwrap();
        assert!(!forced.resuming());
        assert_eq!(done_prefix(&forced, &all), 0);
        assert_eq!(replaces(&forced), [true, true, false]);
        drop(forced);
        // A link to a file counts as done, as the file would.
        #[cfg(unix)]
        {
            std::fs::remove_file(out.join("a.txt.gz")).unwrap();
            assert_eq!(done_prefix(&resumed, &all), 0);
            std::os::unix::fs::symlink(out.join("sub/b.txt.gz"), out.join("a.txt.gz")).unwrap();
            assert_eq!(done_prefix(&resumed, &all), 2);
        }
        // Inputs that changed after the check: the run stops at the first difference.
        let mut changed = run(Existing::Resume, &settings).unwrap();
        changed.skip_done(vec![dest_key(&all[1].dest)]);
        let e = changed.inputs().entries.next().unwrap().unwrap_err();
        assert!(e.to_string().contains("the inputs changed"), "{e}");
    }

    /// How many of `records`, in order, `plan` takes as done.
    fn done_prefix(plan: &Plan, records: &[Record]) -> usize {
        let outputs = plan.outputs().map(Result::unwrap);
        outputs
            .zip(records)
            .take_while(|(dest, r)| plan.finished(dest, r))
            .count()
    }

    fn replaces(plan: &Plan) -> Vec<bool> {
        plan.inputs().entries.map(|e| e.unwrap().replace).collect()
    }

    #[test]
    fn outputs_that_collide_across_inputs_and_folders_are_named_in_input_order() {
        let tmp = tempfile::tempdir().unwrap();
        let (x, y) = (tmp.path().join("x"), tmp.path().join("y"));
        for f in [
            "x/a.txt",
            "x/d/e.txt",
            "x/d/f.txt",
            "x/d/f.txt.gz",
            "y/d/e.txt",
            "y/a.txt.gz",
        ] {
            let path = tmp.path().join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x\n").unwrap();
        }
        let out = tmp.path().join("out");
        let check = |inputs: &[PathBuf], compress| {
            plan(
                &out,
                Input::all_given(inputs).into(),
                "stdin.txt",
                compress,
                Existing::Refuse,
                None,
                &Written::default(),
            )
            .map(|p| entries(&p).len())
            .map_err(|e| e.to_string())
        };
        let path = |p: &str| tmp.path().join(p).display().to_string();
        let both = |a: &str, b: &str, dest: &str| {
            format!(
                "{} and {} would both be written to {}",
                path(a),
                path(b),
                out.join(dest).display()
            )
        };
        // Two inputs' files: the way to keep their paths is named.
        let across = |a: &str, b: &str, dest: &str| {
            both(a, b, dest) + " (inputs named on the command line are written by their names alone, the folders above them left out: list them with --files-from to keep their paths)"
        };
        // Within one input: f.txt and f.txt.gz both become d/f.txt.
        assert_eq!(
            check(std::slice::from_ref(&x), Some(Compression::None)),
            Err(both("x/d/f.txt", "x/d/f.txt.gz", "d/f.txt"))
        );
        assert!(!out.exists(), "a refused run makes nothing");
        // Across inputs, deeper down: x/d/e.txt and y/d/e.txt.
        assert_eq!(
            check(&[x.clone(), y.clone()], None),
            Err(across("x/d/e.txt", "y/d/e.txt", "d/e.txt"))
        );
        // Both kinds: the pair named is the one whose later file comes first in input
        // order (x/d/f.txt.gz, before anything of y's).
        assert_eq!(
            check(&[x.clone(), y.clone()], Some(Compression::None)),
            Err(both("x/d/f.txt", "x/d/f.txt.gz", "d/f.txt"))
        );
        // A file given directly and a folder's file; stdin named as a file would be.
        let given = [tmp.path().join("y/a.txt.gz"), x.clone()];
        assert_eq!(
            check(&given, Some(Compression::Gzip)),
            Err(across("y/a.txt.gz", "x/a.txt", "a.txt.gz"))
        );
        assert_eq!(
            check(&[x.join("a.txt"), "-".into()], Some(Compression::None)).map_err(|_| ()),
            Ok(2)
        );
        std::fs::write(tmp.path().join("stdin.txt"), "x\n").unwrap();
        assert_eq!(
            check(&["-".into(), tmp.path().join("stdin.txt")], None),
            Err(format!(
                "- and {} would both be written to {}",
                path("stdin.txt"),
                out.join("stdin.txt").display()
            ))
        );
        assert_eq!(check(&[x, y.join("a.txt.gz")], None), Ok(5));
    }

    #[test]
    fn listed_inputs_keep_their_whole_path_and_collide_only_where_paths_meet() {
        // Not hidden (`.tmp...`): a folder below walks the temporary folder's path.
        let tmp = tempfile::Builder::new().prefix("t").tempdir().unwrap();
        let t = tmp.path();
        for f in ["x/d/e.txt", "y/d/e.txt", "y/a.txt"] {
            let path = t.join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x\n").unwrap();
        }
        // A command-line folder holding the tree a listed path lands in.
        let under = |p: &Path| -> PathBuf { p.components().skip(1).collect() };
        let g = t.join("g");
        let twin = g.join(under(&t.join("y/a.txt")));
        std::fs::create_dir_all(twin.parent().unwrap()).unwrap();
        std::fs::write(&twin, "x\n").unwrap();
        let out = t.join("out");
        // Each run into a new folder (a plan's entries make its subfolders).
        let run = |inputs: &[Input]| {
            let got = plan(
                &out,
                InputList::from(inputs.to_vec()).into(),
                "stdin.txt",
                None,
                Existing::Refuse,
                None,
                &Written::default(),
            )
            .map(|p| entries(&p))
            .map_err(|e| e.to_string());
            let _ = std::fs::remove_dir_all(&out);
            got
        };
        // Two files of one name in two folders, by their whole paths (the root left
        // out), next to a command-line file, which keeps its name.
        let (xe, ye) = (t.join("x/d/e.txt"), t.join("y/d/e.txt"));
        let got = run(&[
            Input::listed(&xe),
            Input::listed(&ye),
            Input::given(t.join("y/a.txt")),
        ])
        .unwrap();
        assert_eq!(
            got,
            [
                (xe.clone(), out.join(under(&xe))),
                (ye.clone(), out.join(under(&ye))),
                (t.join("y/a.txt"), out.join("a.txt")),
            ]
        );
        // A listed folder: its files under its whole path.
        let got = run(&[Input::listed(t.join("y"))]).unwrap();
        assert_eq!(
            got,
            [
                (t.join("y/a.txt"), out.join(under(&t.join("y/a.txt")))),
                (ye.clone(), out.join(under(&ye))),
            ]
        );
        // A file listed twice, or listed and inside a listed folder: one output.
        let both = |a: &Path, b: &Path| {
            Err(format!(
                "{} and {} would both be written to {} (one file, named twice)",
                a.display(),
                b.display(),
                out.join(under(b)).display()
            ))
        };
        assert_eq!(
            run(&[Input::listed(&xe), Input::listed(&xe)]),
            both(&xe, &xe)
        );
        assert_eq!(
            run(&[Input::listed(t.join("y")), Input::listed(&ye)]),
            both(&ye, &ye)
        );
        // A command-line folder's file landing on a listed file's path, found deep down.
        let e = run(&[Input::given(&g), Input::listed(t.join("y/a.txt"))]).unwrap_err();
        assert_eq!(
            e,
            format!(
                "{} and {} would both be written to {}",
                twin.display(),
                t.join("y/a.txt").display(),
                out.join(under(&t.join("y/a.txt"))).display()
            )
        );
        // A listed path cannot climb out of the output folder.
        let up = t.join("x/../y/a.txt");
        let e = run(&[Input::listed(&up)]).unwrap_err();
        assert!(e.contains("a listed path with `..`"), "{e}");
    }
}

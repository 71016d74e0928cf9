//! Sources: what a run reads, found as the run reaches it.
//!
//! Inputs are files as given, folders walked recursively in byte order of their paths,
//! and `-` for stdin, given on the command line or listed in a file
//! ([`crate::file_list`]). The walk is lazy ([`Walk`]): a folder is listed when the walk
//! gets to it, so a run over millions of files holds the folders on the current branch,
//! never a list of every file.

use crate::destination::Destination;
use crate::error::{Error, Result};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An input as the user named it: a file, a folder or `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The path as given.
    pub path: PathBuf,
    /// Named in a `--files-from` list rather than on the command line: under an output
    /// folder its files keep their whole path, as tar and rsync keep a listed path (see
    /// [`Input::rel_from`]), where a command-line file keeps only its name.
    pub listed: bool,
}

impl Input {
    /// An input named on the command line.
    pub fn given(path: impl Into<PathBuf>) -> Input {
        Input {
            path: path.into(),
            listed: false,
        }
    }

    /// An input named in a list.
    pub fn listed(path: impl Into<PathBuf>) -> Input {
        Input {
            path: path.into(),
            listed: true,
        }
    }

    /// Command-line inputs.
    pub fn all_given(paths: &[PathBuf]) -> InputList {
        paths.iter().map(Input::given).collect()
    }

    /// Refuses `-` named more than once among command-line `paths`. Standard input is
    /// read once, so a second `-` would read nothing (`cat - -` reads it twice from a
    /// terminal); in a dump's run it is always a slip, and its empty second read was
    /// counted as a file (`filter`) or failed as empty labelled data (`train`).
    pub fn stdin_at_most_once(paths: &[PathBuf]) -> Result<()> {
        match paths.iter().filter(|p| p.as_os_str() == "-").count() {
            0 | 1 => Ok(()),
            n => Err(Error::Usage(format!(
                "`-` (standard input) is named {n} times; it can be read only once"
            ))),
        }
    }

    /// `-`, standard input.
    pub fn is_stdin(&self) -> bool {
        self.path.as_os_str() == "-"
    }

    /// How many leading components of the input's own path are not part of its sources'
    /// paths under an output folder: for a folder on the command line all of them (its
    /// files are mirrored by their path under it), for a file on the command line all but
    /// its name, and for a listed path only a leading `/` or `./` (`/data/a.txt` is
    /// mirrored as `data/a.txt`).
    pub fn rel_from(&self, folder: bool) -> usize {
        let n = self.path.components().count();
        if self.listed {
            self.path
                .components()
                .take_while(|c| {
                    !matches!(
                        c,
                        std::path::Component::Normal(_) | std::path::Component::ParentDir
                    )
                })
                .count()
        } else if folder {
            n
        } else if self.path.file_name().is_some() {
            n - 1
        } else {
            // A file named without a final name (`..` as a file cannot be, but a path
            // like that is kept whole rather than emptied).
            0
        }
    }
}

/// The inputs of a run, in order, held compactly: a `--files-from` list can name millions
/// of paths, and an `Input` each (a `PathBuf` and its own allocation, ~100 bytes a path
/// with the list's bytes) would cost more than the run. Here a path costs its bytes and
/// one word.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputList {
    /// Every path's bytes ([`OsStr::as_encoded_bytes`]), back to back.
    bytes: Vec<u8>,
    /// Where each path ends in `bytes`, with [`LISTED`] set for a listed input.
    ends: Vec<usize>,
}

/// The flag in [`InputList`]'s ends that marks a listed input (no buffer reaches it).
const LISTED: usize = 1 << (usize::BITS - 1);

impl InputList {
    /// An empty list.
    pub fn new() -> InputList {
        InputList::default()
    }

    /// Adds an input at the end.
    pub fn push(&mut self, input: &Input) {
        self.push_path(&input.path, input.listed);
    }

    /// Adds the input at `path`, listed or named on the command line.
    pub fn push_path(&mut self, path: &Path, listed: bool) {
        self.bytes
            .extend_from_slice(path.as_os_str().as_encoded_bytes());
        self.ends
            .push(self.bytes.len() | if listed { LISTED } else { 0 });
    }

    /// How many inputs there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// There are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `i`th input's path and whether it was listed.
    pub fn path(&self, i: usize) -> Option<(&Path, bool)> {
        let end = *self.ends.get(i)?;
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] & !LISTED,
        };
        let path = Path::new(os_str(&self.bytes[start..end & !LISTED]));
        Some((path, end & LISTED != 0))
    }

    /// The `i`th input.
    pub fn get(&self, i: usize) -> Option<Input> {
        self.path(i).map(|(path, listed)| Input {
            path: path.to_path_buf(),
            listed,
        })
    }

    /// The inputs in order.
    pub fn iter(&self) -> impl Iterator<Item = Input> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

impl FromIterator<Input> for InputList {
    fn from_iter<I: IntoIterator<Item = Input>>(inputs: I) -> InputList {
        let mut list = InputList::new();
        inputs.into_iter().for_each(|i| list.push(&i));
        list
    }
}

impl From<Vec<Input>> for InputList {
    fn from(inputs: Vec<Input>) -> InputList {
        inputs.into_iter().collect()
    }
}

impl<const N: usize> From<[Input; N]> for InputList {
    fn from(inputs: [Input; N]) -> InputList {
        inputs.into_iter().collect()
    }
}

/// Where a document comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Standard input (`-`).
    Stdin,
    /// A file. Its path relative to the input it was found under (the file name for a
    /// file given directly), [`Source::rel`], mirrors the input tree under an output
    /// folder.
    File {
        /// Path as given or walked.
        path: PathBuf,
        /// How many of `path`'s leading components are the input's, not [`Source::rel`]'s.
        rel_from: usize,
        /// `path` is itself a symbolic link (known from walking or a look at it): an
        /// output folder's checks resolve links, and only links, one by one.
        link: bool,
    },
}

impl Source {
    /// The source a path on the command line names, read whole (`-`: standard input).
    pub fn named(path: &Path) -> Source {
        match path.as_os_str() == "-" {
            true => Source::Stdin,
            false => given_file(Input::given(path), false),
        }
    }

    /// A file's path relative to the input it was found under (`None` for stdin).
    pub fn rel(&self) -> Option<PathBuf> {
        match self {
            Source::Stdin => None,
            Source::File { path, rel_from, .. } => {
                Some(path.components().skip(*rel_from).collect())
            }
        }
    }

    /// The path shown to users ("-" for stdin).
    pub fn display(&self) -> String {
        match self {
            Source::Stdin => "-".into(),
            Source::File { path, .. } => path.display().to_string(),
        }
    }
}

/// One source of a run and, when the run writes a file per source, where that goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What is read.
    pub source: Source,
    /// The output file (only in runs into an output folder).
    pub dest: Option<PathBuf>,
    /// Whether the output may replace a file at `dest`: one found there when the run
    /// reached this entry (`--force` into a folder that held files). Otherwise a file
    /// that appears there during the run is left alone and stops the run: two inputs
    /// whose output is the same file (one added after the run's check) never overwrite
    /// each other.
    pub replace: bool,
    /// Where to go on inside the source from, with its partial output: `--resume` of a
    /// run stopped inside it ([`crate::journal::Checkpoint`]).
    pub resume: Option<std::sync::Arc<crate::journal::Resume>>,
}

/// What a run reads: its entries in input order, taken one by one as the run gets to
/// them, and how to learn their total size for a progress bar.
pub struct Inputs<'a> {
    /// The entries; an error ends the run (after everything before it is written).
    pub entries: Box<dyn Iterator<Item = Result<Entry>> + Send + 'a>,
    /// The entries' total size in bytes, asked for only when a progress bar is shown (it
    /// may walk the inputs again).
    pub size: Box<dyn FnOnce() -> Option<u64> + 'a>,
}

impl Inputs<'static> {
    /// The sources found under `inputs` (see [`Walk`]), with no output files.
    pub fn walk(inputs: Arc<InputList>) -> Inputs<'static> {
        let again = Arc::clone(&inputs);
        Inputs {
            entries: Box::new(Walk::new(inputs).map(|s| s.map(Entry::streamed))),
            size: Box::new(move || total_size(Walk::new(again))),
        }
    }

    /// Sources already listed, with no output files.
    pub fn list(sources: Vec<Source>) -> Inputs<'static> {
        let again = sources.clone();
        Inputs {
            entries: Box::new(sources.into_iter().map(|s| Ok(Entry::streamed(s)))),
            size: Box::new(move || total_size(again.into_iter().map(Ok))),
        }
    }
}

impl Entry {
    /// A source whose output goes to a stream, not a file of its own.
    pub fn streamed(source: Source) -> Entry {
        Entry {
            source,
            dest: None,
            replace: false,
            resume: None,
        }
    }

    /// The output file, which a run into an output folder gives every entry.
    pub fn dest(&self) -> Result<&Path> {
        self.dest.as_deref().ok_or_else(|| {
            Error::Internal(format!("{}: no output file planned", self.source.display()))
        })
    }
}

/// The total size of `sources` (`None` if one is stdin, or cannot be looked at).
pub fn total_size(sources: impl Iterator<Item = Result<Source>>) -> Option<u64> {
    sources
        .map(|s| match s.ok()? {
            Source::Stdin => None,
            Source::File { path, .. } => std::fs::metadata(path).ok().map(|m| m.len()),
        })
        .sum()
}

/// Walks every input through before a run, so that a missing input, an unreadable
/// folder, a dangling link or an input that is one of the files the run writes
/// (`written`) stops it before anything is written, and warns of what input folders
/// hold that is not read ([`PassedOver`]); returns how many sources there are. Memory
/// stays that of one walk.
pub fn check(inputs: impl Into<Arc<InputList>>, written: &Written) -> Result<u64> {
    let mut walk = Walk::new(inputs);
    walk.written = written.clone();
    let n = walk.try_fold(0, |n, s| s.map(|_| n + 1))?;
    // Before the run: no progress bar to draw over.
    walk.passed_over.warn();
    walk.hidden.warn();
    Ok(n)
}

/// The files a run writes beside its outputs (`filter --removed`, `--file-stats`,
/// `--stats`, `tag --html`; a model `train` writes, an `eval --plot`), and standard
/// output when it is a file ([`Written::and_stdout`]). No input may be one of them: it would be replaced by what
/// the run writes. None may lie in an input folder either (nor in a folder an input
/// folder's link leads to): a later run would read it back as an input, a `--removed`
/// file's records as documents; an output folder there is refused alike.
#[derive(Debug, Clone, Default)]
pub struct Written {
    files: Vec<WrittenFile>,
    /// Device and inode of standard output, when the run writes there and it is a file.
    stdout: Option<(u64, u64)>,
    /// That file's real path, where the system tells it (Linux: /proc/self/fd/1).
    stdout_path: Option<PathBuf>,
}

#[derive(Debug, Clone)]
struct WrittenFile {
    /// The flag that names it, for the message.
    flag: &'static str,
    path: PathBuf,
    /// Its real path (as it will be: it need not exist yet).
    real: PathBuf,
    /// Device and inode of the file there now, if one is.
    id: Option<(u64, u64)>,
}

impl WrittenFile {
    /// It is standard output: named by a descriptor path, or the file `stdout` (its
    /// device and inode) is.
    fn is_stdout(&self, stdout: Option<(u64, u64)>) -> bool {
        let fd1 = ["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"];
        fd1.iter().any(|p| self.path == Path::new(p)) || (stdout.is_some() && self.id == stdout)
    }
}

impl Written {
    /// The files named by the given flags (`None`: not given).
    pub fn new(files: &[(&'static str, Option<&Path>)]) -> Result<Written> {
        Written::beside(files, None)
    }

    /// [`Written::new`] for a run into the output folder `outdir`, which it may have
    /// to make: a file named inside it is not refused here for a folder that does not
    /// exist yet, but by [`Written::check_outside_output`], which says why.
    pub fn beside(
        files: &[(&'static str, Option<&Path>)],
        outdir: Option<&Path>,
    ) -> Result<Written> {
        let made = outdir.map(resolve).transpose()?;
        let mut out = Written::default();
        for &(flag, path) in files {
            let Some(path) = path else { continue };
            if path.as_os_str() == "-" {
                // Not a file named `-` in the working folder, which is what it would be.
                return Err(Error::Usage(format!(
                    "{flag} -: name a file, or /dev/stdout to write it to standard output"
                )));
            }
            let meta = std::fs::metadata(path).ok();
            // A device or descriptor is written into where it is: it has no folder to
            // check, and a pipe's descriptor has no real path.
            let real = match Destination::of(path) {
                Destination::Straight(p) => {
                    // A loop of links fails now. (Not opened to see: a FIFO's reader
                    // would take the close for the end of its data.)
                    std::fs::metadata(&p).map_err(|e| Error::io(&p, e))?;
                    p
                }
                Destination::Replace(at) => {
                    // A folder, or a path in no folder: found now, not when the finished
                    // run renames its file there (through a link, where it leads).
                    let real = resolve(&at)?;
                    if !made.as_ref().is_some_and(|m| real.starts_with(m)) {
                        crate::side_file::check_folder(&at)?;
                    }
                    real
                }
            };
            out.files.push(WrittenFile {
                flag,
                path: path.to_path_buf(),
                real,
                id: meta.as_ref().and_then(file_id),
            });
        }
        Ok(out)
    }

    /// The run also writes to standard output: an input that is the file standard output
    /// goes to (`chaff filter a.txt >> a.txt`) is refused too, as cat(1) refuses it, and
    /// so is an input folder that holds that file (`chaff filter --jsonl dump >
    /// dump/clean.jsonl`).
    ///
    /// A file the run writes that is standard output itself (`--removed /dev/stdout`) is
    /// refused: its records would be mixed into the output.
    pub fn and_stdout(mut self) -> Result<Written> {
        self.stdout = stdout_id();
        if self.stdout.is_some() {
            self.stdout_path = std::fs::canonicalize("/proc/self/fd/1").ok();
        }
        if let Some(w) = self.files.iter().find(|w| w.is_stdout(self.stdout)) {
            return Err(Error::Usage(format!(
                "{} {}: standard output carries the run's output, which this would be mixed into; write it elsewhere",
                w.flag,
                w.path.display()
            )));
        }
        Ok(self)
    }

    /// `e`, but a closed pipe on a file the run writes that is standard output (`tag
    /// --html /dev/stdout | head`) is made the same error on `<stdout>`: the reader's
    /// choice, as on stdout itself. Only for a run that writes nothing else (a filter
    /// into an OUTDIR that stops so has left its outputs unfinished).
    pub fn on_stdout(&self, e: Error) -> Error {
        match e {
            Error::Io { path, source } if source.kind() == std::io::ErrorKind::BrokenPipe => {
                let stdout = stdout_id();
                let closed = |w: &WrittenFile| path == Path::new(w.flag) && w.is_stdout(stdout);
                match self.files.iter().any(closed) {
                    true => Error::io("<stdout>", source),
                    false => Error::Io { path, source },
                }
            }
            e => e,
        }
    }

    /// Refuses the input file at `input` (its metadata `meta`, links followed) if it is
    /// one of the files.
    pub fn check_file(&self, input: &Path, meta: &std::fs::Metadata) -> Result<()> {
        let id = file_id(meta);
        if self.stdout.is_some() && self.stdout == id {
            return Err(Error::Usage(format!(
                "{}: the input is also standard output (`> {0}` or `>> {0}`); write the output elsewhere",
                input.display()
            )));
        }
        match self.files.iter().find(|w| w.id.is_some() && w.id == id) {
            Some(w) => Err(Error::Usage(format!(
                "{}: {} names an input ({}), which the run would replace; write it elsewhere",
                w.path.display(),
                w.flag,
                input.display()
            ))),
            None => Ok(()),
        }
    }

    /// Refuses standard input, an input of the run, if it is a file redirected from one
    /// of the files (`--removed r.jsonl - < r.jsonl`) or from standard output's file
    /// (`chaff filter - < a.txt >> a.txt`, as cat(1) refuses it).
    pub(crate) fn check_stdin(&self) -> Result<()> {
        if self.files.is_empty() && self.stdout.is_none() {
            return Ok(());
        }
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            let Some(meta) = file_behind(std::io::stdin().as_fd()) else {
                return Ok(());
            };
            if self.stdout.is_some() && self.stdout == file_id(&meta) {
                return Err(Error::Usage(
                    "standard input is also standard output (the same file); write the output elsewhere"
                        .to_string(),
                ));
            }
            self.check_file(Path::new("standard input"), &meta)?;
        }
        Ok(())
    }

    /// Refuses the file at `path`, a link met in a walked folder, if it leads to one of
    /// the files (`in/r.jsonl -> ../removed.jsonl`). Links are few, so each costs a stat
    /// here; other files in the folder cannot be one of them, as the folder would hold
    /// it ([`Written::check_folder`]), but for a hard link, which only a stat of every
    /// file would find.
    pub(crate) fn check_link(&self, path: &Path) -> Result<()> {
        if self.files.is_empty() && self.stdout.is_none() {
            return Ok(());
        }
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        self.check_file(path, &meta)
    }

    /// Refuses a file that lies in the output folder `dir` (its real path `real`): the
    /// folder's outputs are mirrored paths, one of which it could replace or be replaced
    /// by, and the folder is the next step's input, which would read it back (removed
    /// lines as documents).
    pub fn check_outside_output(&self, dir: &Path, real: &Path) -> Result<()> {
        let why = "among the outputs, which a later step reads as input";
        self.refuse_inside(dir, real, "output folder", why, "beside the folder")
    }

    /// Refuses the first of the files that lies in `folder` (its real path `real`), a
    /// `kind` of folder, saying `why` and where to write it `instead`.
    fn refuse_inside(
        &self,
        folder: &Path,
        real: &Path,
        kind: &str,
        why: &str,
        instead: &str,
    ) -> Result<()> {
        match self.files.iter().find(|w| w.real.starts_with(real)) {
            Some(w) => Err(Error::Usage(format!(
                "{}: {} file lies inside the {kind} {} ({why}); write it {instead}",
                w.path.display(),
                w.flag,
                folder.display()
            ))),
            None => Ok(()),
        }
    }

    /// Refuses the input folder at `folder` (its real path `real`) if one of the files
    /// lies in it.
    pub(crate) fn check_folder(&self, folder: &Path, real: &Path) -> Result<()> {
        if let Some(out) = self.stdout_path.as_ref().filter(|p| p.starts_with(real)) {
            return Err(Error::Usage(format!(
                "{}: standard output goes to {}, inside this input folder (the run would read its own output); write it elsewhere",
                folder.display(),
                out.display()
            )));
        }
        let why = "a later run would read it as input";
        self.refuse_inside(folder, real, "input folder", why, "elsewhere")
    }
}

/// Standard output's device and inode, if it is a regular file (not a pipe, a terminal
/// or /dev/null).
fn stdout_id() -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        file_behind(std::io::stdout().as_fd()).and_then(|m| file_id(&m))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The path of the regular file standard output goes to (`> clean.jsonl.gz`), where
/// the system tells it (Linux: /proc/self/fd/1); not a pipe, a terminal or a device.
pub fn stdout_file() -> Option<PathBuf> {
    stdout_id()?;
    std::fs::read_link("/proc/self/fd/1").ok()
}

/// The metadata of the file behind a descriptor, if it is a regular file.
#[cfg(unix)]
fn file_behind(fd: std::os::fd::BorrowedFd<'_>) -> Option<std::fs::Metadata> {
    let fd = fd.try_clone_to_owned().ok()?;
    let meta = std::fs::File::from(fd).metadata().ok()?;
    meta.is_file().then_some(meta)
}

/// A file's device and inode: the same file whatever path leads to it.
fn file_id(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// The real path `p` has, or will have once created: its longest existing ancestor's
/// real path, then the rest of `p`.
pub(crate) fn resolve(p: &Path) -> Result<PathBuf> {
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

/// One file or folder in a folder, links followed, as its [`Listing`] lends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed<'a> {
    /// Its name in the folder.
    pub name: &'a OsStr,
    /// A folder (or a link to one); else a file (or a link to one).
    pub folder: bool,
    /// It is a symbolic link.
    pub link: bool,
}

/// The files and folders in `dir`, in byte order of their names (the order of their
/// paths), links followed; other kinds (sockets, pipes, devices) are left out (counted
/// in [`Listing::passed_over`]), and so are hidden names, a leading `.` or `_` (counted
/// in [`Listing::hidden`]), and chaff's own files in an output folder ([`crate::output::is_chaffs_own`]: its
/// journal and settings record, and what a killed run left unfinished, when that folder
/// is the next step's input). A link to nothing is an error naming it.
pub fn list_folder(dir: &Path) -> Result<Listing> {
    let mut out = Listing {
        hidden: PassedOver::hidden(),
        ..Listing::default()
    };
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let name = e.file_name();
        let name = name.as_encoded_bytes();
        if crate::output::is_chaffs_own(name) {
            continue;
        }
        // (chaff's own files, hidden too, are left out above without being counted.)
        // Hidden names, as Hadoop's input formats leave them out: Spark's `_SUCCESS`,
        // `.crc` and `_temporary`, `.git`, a dataset's `.gitattributes`, `.DS_Store`.
        if matches!(name.first(), Some(b'.' | b'_')) {
            let folder = e.file_type().is_ok_and(|k| k.is_dir());
            out.hidden
                .add(e.path(), if folder { "a folder" } else { "a file" });
            continue;
        }
        // The listing's own file types (d_type) spare a stat of every file, which on a
        // cold cache is a read of its inode; only links are followed with a stat.
        let kind = e.file_type().map_err(|err| Error::io(e.path(), err))?;
        let link = kind.is_symlink();
        let kind = if link {
            follow(&e.path())?.file_type()
        } else {
            kind
        };
        if !(kind.is_dir() || kind.is_file()) {
            out.passed_over.add(e.path(), special_kind(kind));
            continue;
        }
        out.slots.push(Slot {
            start: out.names.len(),
            // A name is at most a few hundred bytes on any file system.
            len: name.len() as u32,
            folder: kind.is_dir(),
            link,
        });
        out.names.extend_from_slice(name);
    }
    let names = &out.names;
    out.slots
        .sort_unstable_by(|a, b| names[a.range()].cmp(&names[b.range()]));
    out.slots.shrink_to_fit();
    out.names.shrink_to_fit();
    Ok(out)
}

/// A folder's listing ([`list_folder`]), its entries lent in name order as [`Listed`].
/// Held while its folder is walked, so compactly: a folder of millions of files costs
/// their names' bytes and 16 more a file (an entry of its own, with its name's
/// allocation, would cost about 60).
#[derive(Debug, Default)]
pub struct Listing {
    /// Every name's bytes ([`OsStr::as_encoded_bytes`]), in the order they were read.
    names: Vec<u8>,
    /// The entries, in byte order of their names.
    slots: Vec<Slot>,
    /// How many [`Listing::advance`] has given out.
    next: usize,
    /// The entries left out as neither file nor folder (FIFOs, sockets, devices).
    pub passed_over: PassedOver,
    /// The entries left out for their hidden names (a leading `.` or `_`).
    pub hidden: PassedOver,
}

/// Entries of walked folders that are neither files nor folders (FIFOs, sockets,
/// devices), which are not read: opening a FIFO would wait for a writer, a device might
/// never end. Counted, with the first in walk order, for a warning before a run.
#[derive(Debug, Default, Clone)]
pub struct PassedOver {
    /// How many.
    pub count: u64,
    /// The first one's path, and what it is.
    pub first: Option<(PathBuf, &'static str)>,
    /// Entries with hidden names ([`PassedOver::hidden`]), not special files.
    hidden: bool,
}

impl PassedOver {
    /// A count of entries left out for their hidden names (a leading `.` or `_`).
    pub fn hidden() -> PassedOver {
        PassedOver {
            hidden: true,
            ..PassedOver::default()
        }
    }

    /// Counts `path`, a `kind` of special file in the folder being listed, whose first
    /// in name order is kept (a listing comes in the file system's order).
    fn add(&mut self, path: PathBuf, kind: &'static str) {
        self.count += 1;
        if self.first.as_ref().is_none_or(|(first, _)| path < *first) {
            self.first = Some((path, kind));
        }
    }

    /// Counts what `other` counted, after what this one did.
    pub fn absorb(&mut self, other: &PassedOver) {
        self.count += other.count;
        if self.first.is_none() {
            self.first.clone_from(&other.first);
        }
    }

    /// Warns on stderr of what was passed over, if anything was: one line, however many
    /// (a Spark dump holds a `.crc` file beside every part).
    pub fn warn(&self) {
        let Some((path, kind)) = &self.first else {
            return;
        };
        let (n, path) = (self.count, path.display());
        match (self.hidden, n) {
            (false, 1) => crate::say!("chaff: warning: {path}: {kind}, not a file; not read"),
            (false, _) => crate::say!(
                "chaff: warning: {n} entries of input folders are FIFOs, sockets or devices, not files; not read (the first: {path}, {kind})"
            ),
            (true, 1) => crate::say!(
                "chaff: warning: {path}: {kind} with a hidden name (a leading . or _, as Hadoop leaves them out); not read (name it to read it)"
            ),
            (true, _) => crate::say!(
                "chaff: warning: {n} entries of input folders have hidden names (a leading . or _, as Hadoop leaves them out: _SUCCESS, .crc files); not read (the first: {path}; name one to read it)"
            ),
        }
    }
}

/// What a file type that is neither file nor folder is, for [`PassedOver`].
fn special_kind(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_block_device() || kind.is_char_device() {
            return "a device";
        }
    }
    let _ = kind;
    "a special file"
}

/// One entry of a [`Listing`].
#[derive(Debug, Clone, Copy)]
struct Slot {
    start: usize,
    len: u32,
    folder: bool,
    link: bool,
}

impl Slot {
    fn range(&self) -> std::ops::Range<usize> {
        self.start..self.start + self.len as usize
    }
}

impl Listing {
    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// It holds none.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// How many entries [`Listing::advance`] has yet to give out.
    pub fn remaining(&self) -> usize {
        self.slots.len() - self.next
    }

    /// The `k`th entry in name order, given out or not.
    pub fn at(&self, k: usize) -> Option<Listed<'_>> {
        let slot = self.slots.get(k)?;
        Some(Listed {
            name: os_str(&self.names[slot.range()]),
            folder: slot.folder,
            link: slot.link,
        })
    }

    /// The next entry not yet given out.
    pub fn advance(&mut self) -> Option<Listed<'_>> {
        let k = self.next;
        self.next = (k + 1).min(self.slots.len());
        self.at(k)
    }
}

/// The path or name whose [`OsStr::as_encoded_bytes`] are `bytes`: only ever whole ones,
/// stored by this process ([`InputList`], [`Listing`]).
fn os_str(bytes: &[u8]) -> &OsStr {
    // SAFETY: every caller passes one whole `OsStr`'s encoded bytes, taken by this process
    // on this platform.
    unsafe { OsStr::from_encoded_bytes_unchecked(bytes) }
}

/// The sources under some inputs, in input order: files as given, folders walked
/// depth-first in byte order of their paths (links followed, each folder on a branch
/// once, so a link loop ends), `-` as stdin. A missing input or an unreadable folder is
/// an error naming the path, after which the walk ends.
pub struct Walk {
    /// The inputs, shared (a list can hold millions), and the next one's place.
    inputs: Arc<InputList>,
    next: usize,
    /// The folders being walked, innermost last.
    stack: Vec<Folder>,
    /// The files the run writes, which no input may be.
    written: Written,
    /// What the folders walked so far hold that is neither file nor folder.
    passed_over: PassedOver,
    /// What they hold under hidden names.
    hidden: PassedOver,
}

/// A folder on the walk's current branch.
struct Folder {
    path: PathBuf,
    /// Its real path: a link back to it further down is not followed.
    real: PathBuf,
    /// How many components of the paths under it are the input's.
    rel_from: usize,
    /// What is left of its listing.
    rest: Listing,
}

impl Walk {
    /// A walk over `inputs`, which starts when it is iterated.
    pub fn new(inputs: impl Into<Arc<InputList>>) -> Walk {
        Walk {
            inputs: inputs.into(),
            next: 0,
            stack: Vec::new(),
            written: Written::default(),
            passed_over: PassedOver::default(),
            hidden: PassedOver::hidden(),
        }
    }

    /// Lists `dir` onto the stack, unless it is a folder already on this branch.
    fn enter(&mut self, dir: PathBuf, rel_from: usize) -> Result<()> {
        let real = std::fs::canonicalize(&dir).map_err(|e| Error::io(&dir, e))?;
        if self.stack.iter().any(|f| f.real == real) {
            return Ok(());
        }
        self.written.check_folder(&dir, &real)?;
        let rest = list_folder(&dir)?;
        self.passed_over.absorb(&rest.passed_over);
        self.hidden.absorb(&rest.hidden);
        self.stack.push(Folder {
            path: dir,
            real,
            rel_from,
            rest,
        });
        Ok(())
    }

    /// The next source, or the next input's, without ending the walk at an error.
    fn step(&mut self) -> Option<Result<Source>> {
        loop {
            if let Some(folder) = self.stack.last_mut() {
                let Some(e) = folder.rest.advance() else {
                    self.stack.pop();
                    continue;
                };
                let (path, rel_from, link) = (folder.path.join(e.name), folder.rel_from, e.link);
                if e.folder {
                    if let Err(err) = self.enter(path, rel_from) {
                        return Some(Err(err));
                    }
                    continue;
                }
                if link {
                    if let Err(err) = self.written.check_link(&path) {
                        return Some(Err(err));
                    }
                }
                return Some(Ok(Source::File {
                    path,
                    rel_from,
                    link,
                }));
            }
            let input = self.inputs.get(self.next)?;
            self.next += 1;
            if input.is_stdin() {
                return Some(self.written.check_stdin().map(|()| Source::Stdin));
            }
            let (meta, link) = match look(&input.path) {
                Ok(m) => m,
                Err(e) => return Some(Err(e)),
            };
            if meta.is_dir() {
                let rel_from = input.rel_from(true);
                if let Err(e) = self.enter(input.path, rel_from) {
                    return Some(Err(e));
                }
                continue;
            }
            if let Err(e) = self.written.check_file(&input.path, &meta) {
                return Some(Err(e));
            }
            return Some(Ok(given_file(input, link)));
        }
    }
}

/// What an input path is, links followed, and whether it is itself a link. One `stat`
/// for anything but a link: a list of a million files costs a million, not two.
pub(crate) fn look(path: &Path) -> Result<(std::fs::Metadata, bool)> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_symlink() {
        return Ok((meta, false));
    }
    Ok((follow(path)?, true))
}

/// The metadata of what the link `path` points to. A link to nothing names its target:
/// "No such file or directory" alone reads as if the link itself were missing.
fn follow(path: &Path) -> Result<std::fs::Metadata> {
    std::fs::metadata(path).map_err(|e| match std::fs::read_link(path) {
        Ok(target) => {
            let msg = format!("a link to {}: {e}", target.display());
            Error::io(path, std::io::Error::new(e.kind(), msg))
        }
        Err(_) => Error::io(path, e),
    })
}

/// A file named as an input (`link`: the path is itself a link): its path under an
/// output folder is its name, or its whole path if it was listed (see
/// [`Input::rel_from`]).
pub(crate) fn given_file(input: Input, link: bool) -> Source {
    Source::File {
        rel_from: input.rel_from(false),
        path: input.path,
        link,
    }
}

impl Iterator for Walk {
    type Item = Result<Source>;

    fn next(&mut self) -> Option<Result<Source>> {
        let next = self.step();
        if let Some(Err(_)) = next {
            self.stack.clear();
            self.next = self.inputs.len();
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<Source>> {
        Walk::new(Input::all_given(inputs)).collect()
    }

    #[test]
    fn walks_folders_in_byte_order_following_links_once_round_a_loop() {
        use std::os::unix::fs::symlink;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("in");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(root.join("b/c")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        for f in ["a.txt", "b/c/d.txt", "B.txt", "b/e.txt"] {
            std::fs::write(root.join(f), "x\n").unwrap();
        }
        std::fs::write(outside.join("o.txt"), "x\n").unwrap();
        symlink(outside.join("o.txt"), root.join("file-link")).unwrap();
        symlink(&outside, root.join("folder-link")).unwrap();
        symlink(&root, root.join("b/loop")).unwrap();
        std::os::unix::net::UnixListener::bind(root.join("socket")).unwrap();
        // chaff's own unfinished files, and names only like them.
        for f in [
            ".a.txt.x1.chaff-tmp",
            ".r.jsonl.chaff-partial",
            ".o.gz.chaff-resumable",
        ] {
            std::fs::write(root.join(f), "x\n").unwrap();
        }
        for f in ["x.chaff-tmp.txt", "a.chaff-partial"] {
            std::fs::write(outside.join(f), "x\n").unwrap();
        }
        // Hidden names, files and folders, as Hadoop leaves them out.
        for f in [
            "_SUCCESS",
            ".part-0.crc",
            ".git/HEAD",
            "_temporary/0/part-0.txt",
        ] {
            let path = root.join("b").join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x\n").unwrap();
        }
        let sources = expand_inputs(std::slice::from_ref(&root)).unwrap();
        let got: Vec<(String, bool)> = sources
            .iter()
            .map(|s| match s {
                Source::File { link, .. } => (s.rel().unwrap().display().to_string(), *link),
                Source::Stdin => unreachable!(),
            })
            .collect();
        // The loop back to the root is not walked again; the socket is not a file; a
        // folder's files and subfolders come in one byte order.
        let want = [
            ("B.txt", false),
            ("a.txt", false),
            ("b/c/d.txt", false),
            ("b/e.txt", false),
            ("file-link", true),
            ("folder-link/a.chaff-partial", false),
            ("folder-link/o.txt", false),
            ("folder-link/x.chaff-tmp.txt", false),
        ];
        let want: Vec<(String, bool)> = want.iter().map(|(r, l)| (r.to_string(), *l)).collect();
        assert_eq!(got, want);
        assert_eq!(
            check(InputList::from([Input::given(&root)]), &Written::default()).unwrap(),
            8
        );
        let hidden = list_folder(&root.join("b")).unwrap().hidden;
        assert_eq!(hidden.count, 4);
        let first = hidden.first.unwrap();
        assert_eq!((first.0, first.1), (root.join("b/.git"), "a folder"));
        // Named, a hidden file is read.
        let named = expand_inputs(&[root.join("b/_SUCCESS")]).unwrap();
        assert_eq!(named.len(), 1);
        let given = expand_inputs(&[root.join("file-link"), root.join("a.txt")]).unwrap();
        assert!(matches!(&given[0], Source::File { link: true, .. }));
        assert!(matches!(&given[1], Source::File { link: false, .. }));
        // A file given directly is its own name under an output folder.
        assert_eq!(given[1].rel(), Some(PathBuf::from("a.txt")));
        // A folder given with `.` inside and a slash at the end: paths under it still.
        let odd = expand_inputs(&[root.join("./b/")]).unwrap();
        assert_eq!(odd[0].rel(), Some(PathBuf::from("c/d.txt")));
        assert_eq!(Source::Stdin.rel(), None);
        // A link to nothing is an error naming it, and the walk ends there.
        symlink(tmp.path().join("gone"), root.join("dangling")).unwrap();
        let e = expand_inputs(std::slice::from_ref(&root))
            .unwrap_err()
            .to_string();
        let gone = tmp.path().join("gone");
        let named = format!("dangling: a link to {}: No such file", gone.display());
        assert!(e.contains(&named), "{e}");
        let e = expand_inputs(&[root.join("dangling")]).unwrap_err();
        assert!(e.to_string().contains(&named), "{e}");
        let mut walk = Walk::new(Input::all_given(&[root.clone(), root.join("a.txt")]));
        assert!(walk.next().unwrap().is_err());
        assert!(walk.next().is_none());
        // So is a missing input, in its turn: what comes before it is walked.
        let mut walk = Walk::new(Input::all_given(&[
            root.join("a.txt"),
            tmp.path().join("missing"),
            "-".into(),
        ]));
        assert!(walk.next().unwrap().is_ok());
        let e = walk.next().unwrap().unwrap_err().to_string();
        assert!(e.contains("missing"), "{e}");
        assert!(walk.next().is_none());
    }

    #[test]
    fn an_input_list_gives_back_each_path_and_its_kind_in_order() {
        use std::os::unix::ffi::OsStrExt;
        // A name that is not UTF-8, an empty path and a long one among them.
        let odd = PathBuf::from(std::ffi::OsStr::from_bytes(b"dump/\xff\xfe.txt"));
        let inputs = vec![
            Input::given("-"),
            Input::listed(&odd),
            Input::given(""),
            Input::listed("/data/".repeat(100) + "a.jsonl"),
            Input::given("x"),
        ];
        let list = InputList::from(inputs.clone());
        assert_eq!((list.len(), list.is_empty()), (5, false));
        assert_eq!(list.iter().collect::<Vec<_>>(), inputs);
        assert_eq!(list.path(1), Some((odd.as_path(), true)));
        assert_eq!(list.path(4), Some((Path::new("x"), false)));
        assert_eq!((list.get(5), list.path(5)), (None, None));
        // Its paths' bytes and a word each.
        let bytes: usize = inputs.iter().map(|i| i.path.as_os_str().len()).sum();
        assert_eq!(list.bytes.len(), bytes);
        assert!(InputList::new().is_empty());
    }

    #[test]
    fn a_listing_gives_names_in_byte_order_with_their_kinds() {
        use std::os::unix::ffi::OsStrExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let odd = std::ffi::OsStr::from_bytes(b"\xff.txt");
        for f in [OsStr::new("b"), OsStr::new("a"), odd, OsStr::new("B")] {
            std::fs::write(dir.join(f), "x\n").unwrap();
        }
        std::fs::create_dir(dir.join("c")).unwrap();
        std::os::unix::fs::symlink(dir.join("c"), dir.join("d")).unwrap();
        let mut listing = list_folder(dir).unwrap();
        assert_eq!((listing.len(), listing.remaining()), (6, 6));
        assert_eq!(listing.advance().unwrap().name, "B");
        assert_eq!((listing.len(), listing.remaining()), (6, 5));
        let mut got: Vec<(OsString, bool, bool)> = Vec::new();
        while let Some(e) = listing.advance() {
            got.push((e.name.to_os_string(), e.folder, e.link));
        }
        assert_eq!((listing.remaining(), listing.advance()), (0, None));
        assert_eq!(listing.at(0).unwrap().name, "B");
        let want = [
            ("a", false, false),
            ("b", false, false),
            ("c", true, false),
            ("d", true, true),
        ];
        let mut want: Vec<(OsString, bool, bool)> =
            want.iter().map(|&(n, f, l)| (n.into(), f, l)).collect();
        want.push((odd.to_os_string(), false, false));
        assert_eq!(got, want);
    }

    #[test]
    fn a_walk_holds_the_current_branch_not_every_file() {
        // 50 folders of 20 files: the walk's stack never holds more than one folder's
        // listing below the root.
        let tmp = tempfile::tempdir().unwrap();
        for d in 0..50 {
            let dir = tmp.path().join(format!("{d:02}"));
            std::fs::create_dir(&dir).unwrap();
            for f in 0..20 {
                std::fs::write(dir.join(format!("{f:02}.txt")), "x\n").unwrap();
            }
        }
        let mut walk = Walk::new(InputList::from([Input::given(tmp.path())]));
        let mut n = 0;
        let mut most = 0;
        while let Some(s) = walk.next() {
            s.unwrap();
            n += 1;
            most = most.max(walk.stack.iter().map(|f| f.rest.remaining()).sum::<usize>());
        }
        assert_eq!(n, 1000);
        assert!(most < 50 + 20, "{most}");
    }
}

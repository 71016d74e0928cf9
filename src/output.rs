//! Atomic output files: written under a temporary name in the destination folder and
//! renamed into place only when complete, so a failed or interrupted run never leaves a
//! half-written file behind. A large output that a run into an output folder
//! checkpoints is written under a name of its own ([`resumable_path`]), kept if the run
//! stops, so that `--resume` can go on with it.

use crate::destination::Destination;
use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The folder a file at `path` is written in (`.` for a bare name).
pub fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The ending of a file's name while [`AtomicFile::create`] writes it.
pub const TMP: &str = ".chaff-tmp";
/// The ending of a large output's name until it is complete ([`resumable_path`]).
pub const RESUMABLE: &str = ".chaff-resumable";
/// The ending of a side file's partial file ([`crate::side_file::partial_path`]).
pub const PARTIAL: &str = ".chaff-partial";

/// Whether a file named `name` is one chaff is writing, or one a stopped run left to go
/// on from: hidden, with one of the endings above. Never an input in a folder walked
/// ([`crate::sources::list_folder`]): half written, and perhaps this run's own.
pub fn is_temporary(name: &[u8]) -> bool {
    is_hidden_ending(name, &[TMP, RESUMABLE, PARTIAL])
}

/// Whether `name` is hidden and ends with one of `ends` (its bytes: any file name).
pub(crate) fn is_hidden_ending(name: &[u8], ends: &[&str]) -> bool {
    name.starts_with(b".") && ends.iter().any(|end| name.ends_with(end.as_bytes()))
}

/// Whether a file named `name` is chaff's own in an output folder: an unfinished file
/// ([`is_temporary`]), or the folder's journal or settings record, which a finished run
/// leaves for `--resume`. None is an input in a folder walked: a folder chaff wrote is
/// the next step's input (`chaff filter --jsonl -o b a/` after `-o a/`), and its
/// journal is JSON lines without the text.
pub fn is_chaffs_own(name: &[u8]) -> bool {
    is_temporary(name)
        || name == crate::journal::JOURNAL.as_bytes()
        || name == crate::outdir::MANIFEST.as_bytes()
}

/// The bytes a file name may hold (Linux's NAME_MAX, on every common file system).
const NAME_MAX: usize = 255;

/// `.NAME`, how the files chaff keeps beside the file named `name` while it writes it
/// begin (`more` bytes follow: a random part, an ending). Where the whole would pass 255
/// bytes (NAME_MAX), NAME is cut to its first bytes and the CRC-32 of the whole name
/// follows (`~1a2b3c4d`, the same in every run, so a resumed run finds what a stopped
/// one left): any name an input can have is written.
pub fn hidden_name(name: &std::ffi::OsStr, more: usize) -> std::ffi::OsString {
    // By bytes, not a lossy string: two names apart only in bytes that are not UTF-8
    // keep hidden names apart.
    let bytes = name.as_encoded_bytes();
    let room = NAME_MAX.saturating_sub(1 + more);
    let mut out = Vec::with_capacity(bytes.len().min(room) + 1);
    out.push(b'.');
    if bytes.len() <= room {
        out.extend_from_slice(bytes);
    } else {
        // Cut between characters where the name is UTF-8 (never before a continuation
        // byte).
        let mut cut = room.saturating_sub(9);
        while cut > 0 && (bytes[cut] & 0xC0) == 0x80 {
            cut -= 1;
        }
        out.extend_from_slice(&bytes[..cut]);
        out.extend_from_slice(format!("~{:08x}", crc32fast::hash(bytes)).as_bytes());
    }
    // SAFETY: `out` is a dot, then whole `OsStr` bytes or a prefix of them cut before a
    // UTF-8 lead byte or ASCII, then ASCII: valid encoded bytes on this platform.
    unsafe { std::ffi::OsString::from_encoded_bytes_unchecked(out) }
}

/// Where a large output at `path` is written until it is complete (and kept between a
/// stopped run and its `--resume`, if checkpointed): `.NAME.chaff-resumable` beside it.
pub fn resumable_path(path: &Path) -> PathBuf {
    let mut name = hidden_name(path.file_name().unwrap_or_default(), RESUMABLE.len());
    name.push(RESUMABLE);
    path.with_file_name(name)
}

/// A file being written; becomes visible at `path` only on [`AtomicFile::commit`].
/// Dropping it without committing removes the temporary file.
pub struct AtomicFile {
    path: PathBuf,
    tmp: Target,
    /// Set while a resumed output is written again from its start ([`AtomicFile::replay`]).
    replay: Option<Replay>,
    /// CRC-32 of the bytes in the file: a checkpoint records it, and a resumed run checks
    /// that the file it goes on with still holds them ([`AtomicFile::crc`]).
    crc: crc32fast::Hasher,
}

/// Where an [`AtomicFile`]'s bytes go until it is placed.
enum Target {
    /// A temporary file beside the path, renamed onto it.
    Temp(tempfile::NamedTempFile),
    /// The destination itself, which is no file to rename onto
    /// ([`Destination::Straight`]).
    Straight(std::fs::File),
}

impl Target {
    fn file(&mut self) -> &mut std::fs::File {
        match self {
            Target::Temp(t) => t.as_file_mut(),
            Target::Straight(f) => f,
        }
    }
}

/// What a replayed output is compared with: the file as a stopped run left it.
struct Replay {
    /// The file, read from its start.
    read: std::io::BufReader<std::fs::File>,
    /// Bytes compared so far.
    at: u64,
    /// Bytes still to compare.
    left: u64,
}

impl AtomicFile {
    /// Starts writing the file the user named `path` (a side file, a model, a plot): a
    /// file is written as [`AtomicFile::create`] writes it (through a link at its end),
    /// and a device, FIFO or descriptor straight into ([`Destination`]).
    pub fn named(path: &Path) -> Result<AtomicFile> {
        match Destination::of(path) {
            Destination::Replace(at) => AtomicFile::create(&at),
            Destination::Straight(at) => Ok(AtomicFile {
                tmp: Target::Straight(crate::destination::open_straight(&at)?),
                path: at,
                replay: None,
                crc: crc32fast::Hasher::new(),
            }),
        }
    }

    /// Starts writing `path` (its folder must exist).
    pub fn create(path: &Path) -> Result<AtomicFile> {
        let dir = folder_of(path);
        // `.NAME.` and tempfile's 6 random characters before the ending.
        let mut name = hidden_name(path.file_name().unwrap_or_default(), 1 + 6 + TMP.len());
        name.push(".");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&name).suffix(TMP).rand_bytes(6);
        // Temporary files would be private (0600); results are ordinary files.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o644));
        }
        let tmp = builder.tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp: Target::Temp(tmp),
            replay: None,
            crc: crc32fast::Hasher::new(),
        })
    }

    /// Starts writing `path` (its folder must exist) under its resumable name
    /// ([`resumable_path`]), replacing a file left there: a large output, which may be
    /// checkpointed ([`AtomicFile::keep`]) and gone on with by a resumed run
    /// ([`AtomicFile::reopen`]).
    pub fn resumable(path: &Path) -> Result<AtomicFile> {
        let partial = resumable_path(path);
        let err = |e| Error::io(&partial, e);
        // A new file, as a temporary file is: whatever a stopped run left there (a file,
        // or anything else by that name) is removed, never written through.
        match std::fs::remove_file(&partial) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
            _ => {}
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o644);
        }
        let file = options.open(&partial).map_err(err)?;
        let named = tempfile::TempPath::try_from_path(&partial).map_err(err)?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp: Target::Temp(tempfile::NamedTempFile::from_parts(file, named)),
            replay: None,
            crc: crc32fast::Hasher::new(),
        })
    }

    /// Goes on writing `path` where a stopped run left it in its resumable file: cut back
    /// to its first `len` bytes (what the stopped run checkpointed), read for their
    /// CRC-32 ([`AtomicFile::crc`], for the caller to check), and kept if this run stops
    /// too.
    pub fn reopen(path: &Path, len: u64) -> Result<AtomicFile> {
        let partial = resumable_path(path);
        let err = |e| Error::io(&partial, e);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&partial)
            .map_err(err)?;
        if file.metadata().map_err(err)?.len() < len {
            return Err(Error::io(
                &partial,
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("shorter than the {len} bytes the journal records"),
                ),
            ));
        }
        file.set_len(len).map_err(err)?;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(0)).map_err(err)?;
        let mut crc = crc32fast::Hasher::new();
        let mut read = std::io::BufReader::with_capacity(1 << 20, &file);
        loop {
            let n = {
                let chunk = std::io::BufRead::fill_buf(&mut read).map_err(err)?;
                crc.update(chunk);
                chunk.len()
            };
            if n == 0 {
                break;
            }
            std::io::BufRead::consume(&mut read, n);
        }
        std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0)).map_err(err)?;
        let named = tempfile::TempPath::try_from_path(&partial).map_err(err)?;
        let mut tmp = tempfile::NamedTempFile::from_parts(file, named);
        tmp.disable_cleanup(true);
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp: Target::Temp(tmp),
            replay: None,
            crc,
        })
    }

    /// CRC-32 of the bytes the file holds: those written (or written again,
    /// [`AtomicFile::replay`]) through it, after a reopened file's first ones.
    pub fn crc(&self) -> u32 {
        self.crc.clone().finalize()
    }

    /// Makes the next bytes written to a reopened file ([`AtomicFile::reopen`]) be
    /// compared with its first bytes instead of written, until all of them have been:
    /// a codec whose state cannot be read back goes on with a stopped run's output by
    /// compressing its text again ([`AtomicFile::replay_left`] says when that is done),
    /// and a byte that differs is an error. Writes after that are appended.
    pub fn replay(&mut self) -> std::io::Result<()> {
        let Target::Temp(tmp) = &mut self.tmp else {
            return Ok(());
        };
        let len = tmp.as_file_mut().metadata()?.len();
        if len > 0 {
            let read = std::fs::File::open(tmp.path())?;
            self.replay = Some(Replay {
                read: std::io::BufReader::with_capacity(1 << 16, read),
                at: 0,
                left: len,
            });
        }
        Ok(())
    }

    /// The bytes of a replayed file not yet written again (0 once it has been, or if it
    /// is not replayed).
    pub fn replay_left(&self) -> u64 {
        self.replay.as_ref().map_or(0, |r| r.left)
    }

    /// Keeps the file if the run stops before it is placed: a checkpoint vouches for it.
    pub fn keep(&mut self) {
        if let Target::Temp(tmp) = &mut self.tmp {
            tmp.disable_cleanup(true);
        }
    }

    /// The file as written so far (reading it back: a resumed gzip output).
    pub fn file_mut(&mut self) -> &mut std::fs::File {
        self.tmp.file()
    }

    /// Flushes and renames the file into place. (No fsync: the rename already makes a
    /// killed run leave complete files or none; syncing every small output file would
    /// cost more than the classification.)
    pub fn commit(self) -> Result<()> {
        let path = self.path.clone();
        self.place(true).map_err(|e| Error::io(&path, e))
    }

    /// As [`AtomicFile::commit`] if `replace`; otherwise a file already at the path is
    /// left as it is and the new one removed, with an error of kind
    /// [`std::io::ErrorKind::AlreadyExists`] (on Linux one `renameat2(RENAME_NOREPLACE)`,
    /// as cheap as a rename).
    pub fn place(self, replace: bool) -> std::io::Result<()> {
        if self.replay_left() > 0 {
            return Err(std::io::Error::other(
                "a resumed output was placed before it was written again",
            ));
        }
        let AtomicFile { path, tmp, .. } = self;
        let mut tmp = match tmp {
            Target::Temp(tmp) => tmp,
            // Written into as it went: nothing to place.
            Target::Straight(mut f) => return f.flush(),
        };
        tmp.as_file_mut().flush()?;
        if replace {
            return tmp.persist(&path).map(drop).map_err(|e| e.error);
        }
        match tmp.persist_noclobber(&path) {
            Ok(_) => Ok(()),
            Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Err(e.error),
            // A file system that can neither rename without replacing nor hard-link
            // (FAT, some FUSE ones): look, then rename, which leaves only a moment for
            // a file to appear unseen.
            Err(e) if path.symlink_metadata().is_err() => {
                e.file.persist(&path).map(drop).map_err(|e| e.error)
            }
            Err(e) => Err(e.error),
        }
    }
}

// Through the plain file: `NamedTempFile`'s own `Write` appends the temporary name to
// every error, and the error already names the destination.
impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.replay {
            Some(r) if !buf.is_empty() => {
                let n = r.compare(buf)?;
                if r.left == 0 {
                    // Written again whole: what comes next is appended.
                    self.replay = None;
                }
                Ok(n)
            }
            _ => {
                let n = self.tmp.file().write(buf)?;
                self.crc.update(&buf[..n]);
                Ok(n)
            }
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tmp.file().flush()
    }
}

impl Replay {
    /// Compares as much of `buf` as is left to compare; returns how much that was.
    fn compare(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use std::io::BufRead;
        let want = (buf.len() as u64).min(self.left) as usize;
        let mut n = 0;
        while n < want {
            let theirs = self.read.fill_buf()?;
            if theirs.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("it ended at byte {} while written again", self.at),
                ));
            }
            let k = theirs.len().min(want - n);
            if let Some(i) = (0..k).find(|&i| theirs[i] != buf[n + i]) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "written again from its text, it differs at byte {}",
                        self.at + i as u64
                    ),
                ));
            }
            self.read.consume(k);
            (n, self.at, self.left) = (n + k, self.at + k as u64, self.left - k as u64);
        }
        Ok(n)
    }
}

/// A buffered [`AtomicFile`] for side outputs written piece by piece (`--removed`,
/// `--file-stats`, `--html`): nothing appears at its path until [`AtomicWriter::commit`].
/// Compressed as its name says (`removed.jsonl.gz`, `.zst`, ...), as outputs in an output
/// folder are: a file named `.gz` holds gzip.
pub struct AtomicWriter {
    path: PathBuf,
    inner: Compressed<std::io::BufWriter<AtomicFile>>,
}

impl AtomicWriter {
    /// Starts writing the file the user named `path` ([`AtomicFile::named`]; a file's
    /// folder must exist).
    pub fn create(path: &Path) -> Result<AtomicWriter> {
        let file = std::io::BufWriter::new(AtomicFile::named(path)?);
        let how = crate::compression::Compression::from_name(path);
        Ok(AtomicWriter {
            path: path.to_path_buf(),
            inner: Compressed::new(file, how, None, true).map_err(|e| Error::io(path, e))?,
        })
    }

    /// Ends its compression, flushes the buffer and renames the file into place.
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        self.inner
            .finish()
            .map_err(|e| Error::io(&path, e))?
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?
            .commit()
    }
}

impl Write for AtomicWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `bytes` to the file the user named `path` atomically ([`AtomicFile::named`]),
/// compressed as its name says ([`AtomicWriter`]: `--stats s.json.gz`, a model
/// `m.chaff.zst`), as every file chaff writes is.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut w = AtomicWriter::create(path)?;
    w.write_all(bytes).map_err(|e| Error::io(path, e))?;
    w.commit()
}

/// A writer that compresses (or not) into `W`; [`Compressed::finish`] writes the
/// compressed stream's trailer and hands `W` back.
pub enum Compressed<W: Write> {
    /// No compression.
    Plain(W),
    /// gzip, compressed on rayon's pool a block at a time.
    Gzip(crate::gzip::ParallelGzip<W>),
    /// Zstandard.
    Zstd(crate::zst::ZstdWriter<W>),
    /// bzip2, a stream a block, compressed on rayon's pool.
    Bzip2(crate::bz2::ParallelBzip2<W>),
    /// xz: one stream, a large one compressed by liblzma's workers.
    Xz(crate::xz::XzWriter<W>),
    /// lz4: one frame.
    Lz4(crate::lz4::Lz4Writer<W>),
}

impl<W: Write> Compressed<W> {
    /// Wraps `inner` in the given compression, at `level` (`None`: the codec's default;
    /// a level [`Compression::levels`](crate::compression::Compression::levels) allows).
    /// `large`: the stream will hold more than one chunk of input (stdout, or a file read
    /// in several chunks), so zstd compresses it on worker threads of its own; a small
    /// file is compressed where it is written, in one go ([`crate::zst`]). gzip and
    /// bzip2 are compressed in parallel whatever their size ([`crate::gzip`],
    /// [`crate::bz2`]); xz decides by the data's size ([`crate::xz`]).
    pub fn new(
        inner: W,
        c: crate::compression::Compression,
        level: Option<u32>,
        large: bool,
    ) -> std::io::Result<Self> {
        use crate::compression::Compression as C;
        let level = c.level(level);
        Ok(match c {
            C::None => Compressed::Plain(inner),
            C::Gzip => Compressed::Gzip(crate::gzip::ParallelGzip::new(inner, level)?),
            C::Zstd => Compressed::Zstd(crate::zst::ZstdWriter::new(inner, level, large)?),
            C::Bzip2 => Compressed::Bzip2(crate::bz2::ParallelBzip2::new(inner, level)),
            C::Xz => Compressed::Xz(crate::xz::XzWriter::new(inner, level)),
            C::Lz4 => Compressed::Lz4(crate::lz4::Lz4Writer::new(inner)),
        })
    }

    /// What is written into (all that was written before a flush is there); `None` for
    /// a zstd writer after a failed write.
    pub fn get_mut(&mut self) -> Option<&mut W> {
        match self {
            Compressed::Plain(w) => Some(w),
            Compressed::Gzip(w) => Some(w.get_mut()),
            Compressed::Zstd(w) => w.get_mut(),
            Compressed::Bzip2(w) => Some(w.get_mut()),
            Compressed::Xz(w) => Some(w.get_mut()),
            Compressed::Lz4(w) => Some(w.get_mut()),
        }
    }

    /// Ends the compressed stream.
    pub fn finish(self) -> std::io::Result<W> {
        match self {
            Compressed::Plain(w) => Ok(w),
            Compressed::Gzip(w) => w.finish(),
            Compressed::Zstd(w) => w.finish(),
            Compressed::Bzip2(w) => w.finish(),
            Compressed::Xz(w) => w.finish(),
            Compressed::Lz4(w) => w.finish(),
        }
    }
}

impl<W: Write> Write for Compressed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Compressed::Plain(w) => w.write(buf),
            Compressed::Gzip(w) => w.write(buf),
            Compressed::Zstd(w) => w.write(buf),
            Compressed::Bzip2(w) => w.write(buf),
            Compressed::Xz(w) => w.write(buf),
            Compressed::Lz4(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Compressed::Plain(w) => w.flush(),
            Compressed::Gzip(w) => w.flush(),
            Compressed::Zstd(w) => w.flush(),
            Compressed::Bzip2(w) => w.flush(),
            Compressed::Xz(w) => w.flush(),
            Compressed::Lz4(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compression::Compression;
    use crate::test_support::text;

    #[test]
    fn hidden_names_fit_a_file_name_whatever_the_name() {
        use std::ffi::OsStr;
        let hidden = |name: &str, more| hidden_name(OsStr::new(name), more).into_string().unwrap();
        assert_eq!(hidden("a.txt", TMP.len()), ".a.txt");
        // The longest name that fits is whole; one byte more is cut and hashed.
        let fits = "x".repeat(NAME_MAX - 1 - PARTIAL.len());
        assert_eq!(hidden(&fits, PARTIAL.len()), format!(".{fits}"));
        let long = |c: &str| format!("{}{c}.txt", "新闻".repeat(40));
        let (a, b) = (long("甲"), long("乙"));
        assert!(a.len() <= NAME_MAX && a.len() + 1 + PARTIAL.len() > NAME_MAX);
        let (ha, hb) = (hidden(&a, PARTIAL.len()), hidden(&b, PARTIAL.len()));
        for h in [&ha, &hb] {
            assert!(h.len() + PARTIAL.len() <= NAME_MAX, "{h}");
            assert!(h.starts_with(".新闻") && h.contains('~'), "{h}");
        }
        // Names alike in their first bytes stay apart; a name is always cut the same.
        assert_ne!(ha, hb);
        assert_eq!(ha, hidden(&a, PARTIAL.len()));
        // Names that are not UTF-8 keep their bytes, so two apart only there stay apart.
        {
            use std::os::unix::ffi::OsStrExt;
            let odd = |b: u8| hidden_name(OsStr::from_bytes(&[b, b'.', b't']), TMP.len());
            assert_eq!(odd(0xfe).as_bytes(), b".\xfe.t");
            assert_ne!(odd(0xfe), odd(0xff));
            let mut long = vec![0xffu8; 250];
            long.extend_from_slice("新".as_bytes());
            let h = hidden_name(OsStr::from_bytes(&long), PARTIAL.len());
            assert!(
                h.len() + PARTIAL.len() <= NAME_MAX && h.as_bytes()[1..].starts_with(&[0xff; 9])
            );
        }
        // A temporary file of that name is made, and its name is chaff's own.
        let dir = tempfile::tempdir().unwrap();
        let mut f = AtomicFile::create(&dir.path().join(&a)).unwrap();
        let tmp_name = std::fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert!(is_temporary(tmp_name.file_name().as_encoded_bytes()));
        f.write_all(b"x").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read(dir.path().join(&a)).unwrap(), b"x");
    }

    #[test]
    fn a_replayed_file_compares_what_is_written_again_then_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        // What a stopped run left, reopened at `len` to be written again.
        let replayed = |len| {
            let mut f = AtomicFile::resumable(&path).unwrap();
            f.write_all(b"0123456789").unwrap();
            f.keep();
            drop(f);
            let mut f = AtomicFile::reopen(&path, len).unwrap();
            f.replay().unwrap();
            f
        };
        // The same bytes again, in any pieces, then more: the file is the old and the new.
        let mut f = replayed(8);
        assert_eq!(f.replay_left(), 8);
        // The CRC-32 of what the file holds: its first bytes, read on reopening, and
        // what is appended (what is written again is already counted).
        assert_eq!(f.crc(), crc32fast::hash(b"01234567"));
        f.write_all(b"012").unwrap();
        f.write_all(b"3456789ab").unwrap();
        assert_eq!(f.replay_left(), 0);
        assert_eq!(f.crc(), crc32fast::hash(b"0123456789ab"));
        f.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"0123456789ab");
        // An empty file has nothing to compare.
        let mut f = replayed(0);
        f.write_all(b"xy").unwrap();
        assert_eq!(f.replay_left(), 0);
        drop(f);
        // A byte that differs is an error naming it; a file not written again whole is
        // not placed.
        let e = replayed(10).write_all(b"0123x").unwrap_err();
        assert!(e.to_string().ends_with("differs at byte 4"), "{e}");
        let mut f = replayed(10);
        f.write_all(b"01234").unwrap();
        assert!(f.place(true).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"0123456789ab");
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(16))]
        /// What a resumed run's replay relies on: every codec writes the same bytes for
        /// the same text and flushes, however the text between the flushes is cut.
        #[test]
        fn every_codec_writes_the_same_bytes_for_the_same_text_and_flushes(
            n in 0..300_000usize,
            flushes in proptest::collection::vec(0.0f64..1.0, 0..4),
            a in proptest::collection::vec(1..100_000usize, 1..4),
            b in proptest::collection::vec(1..100_000usize, 1..4),
        ) {
            let data = text(n);
            let mut at: Vec<usize> = flushes.iter().map(|f| (f * n as f64) as usize).collect();
            at.sort_unstable();
            let write = |c: Compression, cuts: &[usize]| {
                let mut w = Compressed::new(Vec::new(), c, None, true).unwrap();
                let mut from = 0;
                for (k, &end) in at.iter().chain([&n]).enumerate() {
                    let mut cut = cuts.iter().cycle().skip(k);
                    while from < end {
                        let to = (from + cut.next().unwrap()).min(end);
                        w.write_all(&data[from..to]).unwrap();
                        from = to;
                    }
                    if end < n {
                        w.flush().unwrap();
                    }
                }
                w.finish().unwrap()
            };
            for c in [Compression::Zstd, Compression::Xz, Compression::Lz4, Compression::Gzip] {
                proptest::prop_assert!(write(c, &a) == write(c, &b), "{:?}", c);
            }
        }
    }
}

//! Side files (`--removed`, `--file-stats`) of a run into an output folder, written so
//! that `--resume` can continue them. Their records go, uncompressed, to a hidden partial
//! file next to the side file (`.NAME.chaff-partial`), which becomes the side file,
//! compressed as its name says, only when the run is complete. A run that stops keeps its
//! partial; `--resume` cuts it back to what the run's journal ([`crate::journal`]) vouches
//! for and appends to it. Uncompressed, because a compressed stream cannot be cut at a
//! source's end or appended to where a killed run left it.

use crate::compression::Compression;
use crate::destination::Destination;
use crate::error::{Error, Result};
use crate::output::{AtomicFile, AtomicWriter};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// A side file being written.
pub enum SideFile {
    /// Written whole by this run, under a temporary name (a run that is not into an
    /// output folder cannot be resumed).
    Whole(Box<AtomicWriter>),
    /// Continued across runs in its partial file.
    Resumable {
        /// The side file.
        path: PathBuf,
        /// Its partial file.
        partial: PathBuf,
        /// The partial file, open for appending.
        file: std::io::BufWriter<std::fs::File>,
    },
}

/// Where the partial file of the side file `path` is kept.
pub fn partial_path(path: &Path) -> PathBuf {
    use crate::output::{hidden_name, PARTIAL};
    let mut name = hidden_name(path.file_name().unwrap_or_default(), PARTIAL.len());
    name.push(PARTIAL);
    path.with_file_name(name)
}

/// How many bytes of records of the side file `path` an earlier run left to continue
/// from: its partial file's length or, when there is none, the side file of a finished
/// run decoded into a new partial file (at most `want` bytes; as far as it decodes, if it
/// is damaged); 0 when there is neither. A side file written straight into a device or
/// FIFO ([`Destination::Straight`]) keeps nothing to go on from, and needs nothing: every
/// record an earlier run wrote went there, so all of them count as kept.
pub fn available(path: &Path, want: u64) -> Result<u64> {
    let path = match Destination::of(path) {
        Destination::Straight(_) => return Ok(u64::MAX),
        Destination::Replace(at) => at,
    };
    let path = path.as_path();
    let partial = partial_path(path);
    match std::fs::metadata(&partial) {
        Ok(m) => return Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&partial, e)),
    }
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut out = AtomicFile::create(&partial)?;
    let mut decoded = Compression::from_name(path)
        .decoder(std::io::BufReader::new(file))
        .map_err(|e| Error::io(path, e))?
        .take(want);
    let (mut buf, mut n) = (vec![0u8; 1 << 16], 0u64);
    loop {
        match decoded.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => {
                out.write_all(&buf[..k])
                    .map_err(|e| Error::io(&partial, e))?;
                n += k as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // What decoded is usable; the journal tells how much of it is needed.
            Err(_) => break,
        }
    }
    out.commit()?;
    Ok(n)
}

/// Fails, naming the folder, unless the file `path` a run writes (a side file, a model, a
/// plot) has one to be written in (and is no folder itself): checked before a run
/// begins ([`crate::sources::Written::new`]), so a mistyped path leaves nothing behind.
pub fn check_folder(path: &Path) -> Result<()> {
    if path.is_dir() {
        let e = std::io::Error::new(std::io::ErrorKind::IsADirectory, "a folder, not a file");
        return Err(Error::io(path, e));
    }
    let dir = crate::output::folder_of(path);
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::io(
            dir,
            std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a folder"),
        )),
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// Opens `path` (made if missing) to append after its first `keep` bytes, which is all
/// of it that is kept: a file continued across runs.
pub(crate) fn append_after(path: &Path, keep: u64) -> Result<std::fs::File> {
    append_after_locked(path, keep, None)
}

/// [`append_after`], the file locked first if `why` is given (the error if another
/// process holds it): before it is cut back, which would cut what that process wrote.
fn append_after_locked(path: &Path, keep: u64, why: Option<&str>) -> Result<std::fs::File> {
    let io = |e| Error::io(path, e);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io)?;
    if let Some(why) = why {
        crate::folder_lock::lock(&file, path, why)?;
    }
    file.set_len(keep).map_err(io)?;
    file.seek(std::io::SeekFrom::End(0)).map_err(io)?;
    Ok(file)
}

impl SideFile {
    /// Starts `path`, written whole by this run.
    pub fn whole(path: &Path) -> Result<SideFile> {
        AtomicWriter::create(path).map(|w| SideFile::Whole(Box::new(w)))
    }

    /// Continues `path` from the first `keep` bytes of its partial file (0: anew); a
    /// device or FIFO is written straight into, as [`SideFile::whole`] writes it.
    pub fn resumable(path: &Path, keep: u64) -> Result<SideFile> {
        let path = match Destination::of(path) {
            Destination::Straight(_) => return SideFile::whole(path),
            Destination::Replace(at) => at,
        };
        let path = path.as_path();
        let partial = partial_path(path);
        // Another run given the same side file (into another output folder) appends to
        // this partial file: refused, rather than both cutting and writing it.
        let why = "another chaff run is writing this side file's partial file (it holds its \
                   lock); give each run its own side file, or wait for it to end";
        let file = append_after_locked(&partial, keep, Some(why))?;
        Ok(SideFile::Resumable {
            path: path.to_path_buf(),
            partial,
            file: std::io::BufWriter::with_capacity(1 << 16, file),
        })
    }

    /// Puts the complete side file in place: a partial file is renamed, or compressed
    /// into the side file (as its name says) and then removed.
    pub fn commit(self) -> Result<()> {
        let (path, partial, file) = match self {
            SideFile::Whole(w) => return (*w).commit(),
            SideFile::Resumable {
                path,
                partial,
                file,
            } => (path, partial, file),
        };
        let io = |e| Error::io(&partial, e);
        drop(file.into_inner().map_err(|e| io(e.into_error()))?);
        if Compression::from_name(&path) == Compression::None {
            return std::fs::rename(&partial, &path).map_err(|e| Error::io(&path, e));
        }
        let mut w = AtomicWriter::create(&path)?;
        let mut from = std::fs::File::open(&partial).map_err(io)?;
        std::io::copy(&mut from, &mut w).map_err(|e| Error::io(&path, e))?;
        w.commit()?;
        std::fs::remove_file(&partial).map_err(io)
    }
}

impl Write for SideFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            SideFile::Whole(w) => w.write(buf),
            SideFile::Resumable { file, .. } => file.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            SideFile::Whole(w) => w.flush(),
            SideFile::Resumable { file, .. } => file.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_is_cut_back_continued_and_committed_compressed_or_not() {
        let tmp = tempfile::tempdir().unwrap();
        for name in ["removed.jsonl", "removed.jsonl.gz", "stats.jsonl.zst"] {
            let path = tmp.path().join(name);
            assert_eq!(available(&path, 100).unwrap(), 0);
            let mut f = SideFile::resumable(&path, 0).unwrap();
            f.write_all(b"one\ntwo\nstale\n").unwrap();
            drop(f);
            assert!(!path.exists(), "{name}: nothing visible before the commit");
            assert_eq!(available(&path, 100).unwrap(), 14);
            let mut f = SideFile::resumable(&path, 8).unwrap();
            f.write_all(b"three\n").unwrap();
            f.commit().unwrap();
            assert!(!partial_path(&path).exists(), "{name}");
            let mut text = String::new();
            Compression::from_name(&path)
                .decoder(std::io::BufReader::new(std::fs::File::open(&path).unwrap()))
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            assert_eq!(text, "one\ntwo\nthree\n", "{name}");
            // A finished run's side file is decoded back into a partial to continue.
            assert_eq!(available(&path, 8).unwrap(), 8, "{name}");
            assert_eq!(std::fs::read(partial_path(&path)).unwrap(), b"one\ntwo\n");
            std::fs::remove_file(partial_path(&path)).unwrap();
            assert_eq!(available(&path, 100).unwrap(), 14, "{name}");
        }
        // A damaged side file gives what decodes.
        let path = tmp.path().join("cut.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&b"record\n".repeat(20_000)).unwrap();
        let bytes = gz.finish().unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let n = available(&path, u64::MAX).unwrap();
        assert!(n > 0 && n < 140_000, "{n}");
        let got = std::fs::read(partial_path(&path)).unwrap();
        assert_eq!(got, b"record\n".repeat(20_000)[..n as usize]);
    }
}

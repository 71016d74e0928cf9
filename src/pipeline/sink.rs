//! Where finished pieces go, in input order: joined into a stream, or into each source's
//! output file, written under a temporary name and renamed into place.

use super::render::Piece;
use crate::compression::Compression;
use crate::error::{Error, Result};
use crate::journal::{Checkpoint, Resume};
use crate::json_array::ArrayFramer;
use crate::output::{AtomicFile, Compressed};
use crate::parquet::TableWriter;
use crate::sources::Entry;
use crate::writer::Joiner;
use std::io::Write;
use std::path::Path;

/// Where the writer thread puts each piece, in input order: the source's place in the
/// run, its entry, the piece, and whether it is the source's last.
pub(super) type Sink<'a> = dyn FnMut(usize, &Entry, &Piece, bool) -> Result<Written> + 'a;

/// What a [`Sink`] did with a piece.
#[derive(Debug)]
pub(super) struct Written {
    /// Bytes of text written.
    pub(super) bytes: u64,
    /// The checkpoint of the source's output made after the piece, if one was.
    pub(super) checkpoint: Option<Checkpoint>,
}

impl Written {
    /// `bytes` written, no checkpoint.
    pub(super) fn bytes(bytes: u64) -> Written {
        Written {
            bytes,
            checkpoint: None,
        }
    }
}

/// Whether the output at `dest` is checkpointed: all but xz outputs. Going on with one
/// would mean compressing its text again ([`replay`]), and xz compresses ~1.5 MB/s a
/// core, slower than chaff classifies: a resumed run would take about as long as
/// running again (10.1 s against 12.2 s, stopped after 44 MB of a 66 MB output), while
/// each checkpoint's flush ends a 4 MiB block early and costs ~1.3 % of the output at
/// the default interval.
pub(super) fn can_checkpoint(dest: &Path) -> bool {
    Compression::from_name(dest) != Compression::Xz
}

/// Starts a large output that may be checkpointed, under its resumable name; or, for
/// the source `resume` goes on with, reopens the one a stopped run left, as far as its
/// checkpoint, ready to go on (compressed as its name says, at `level`). An output can
/// be gone on with from a flush: plain; gzip (flushed to a byte boundary; what follows
/// depends only on the data and its last 32 KiB, read back); bzip2 (a short block ends
/// the one in progress; blocks depend on nothing before them, and the stream's CRC and
/// last bits are in the journal); zstd and lz4 (and xz, but see [`can_checkpoint`]),
/// whose state cannot be read back or set, by compressing the output's text again with
/// the same flushes ([`replay`]). A frame or stream per checkpoint instead would cut the
/// output short for readers that stop after the first (python-zstandard's by default).
pub(super) fn open_resumable(
    dest: &Path,
    resume: Option<&Resume>,
    level: Option<u32>,
) -> Result<Compressed<AtomicFile>> {
    let Some(r) = resume else {
        let f = AtomicFile::resumable(dest)?;
        let how = Compression::from_name(dest);
        return Compressed::new(f, how, level, true).map_err(|e| Error::io(dest, e));
    };
    let mut f = AtomicFile::reopen(dest, r.at.output)?;
    let partial = crate::output::resumable_path(dest);
    let cannot = |why: String| {
        let why =
            format!("cannot go on with it ({why}); delete it to redo its source from its start");
        Error::io(
            &partial,
            std::io::Error::new(std::io::ErrorKind::InvalidData, why),
        )
    };
    if f.crc() != r.at.output_crc {
        return Err(cannot(format!(
            "its first {} bytes are not those the stopped run wrote: CRC-32 {:08x}, the journal says {:08x}",
            r.at.output,
            f.crc(),
            r.at.output_crc
        )));
    }
    match Compression::from_name(dest) {
        Compression::None if r.at.output == r.at.plain => Ok(Compressed::Plain(f)),
        Compression::Gzip => {
            use std::io::Seek;
            let level = Compression::Gzip.level(level);
            let file = f.file_mut();
            let read = file
                .seek(std::io::SeekFrom::Start(0))
                .and_then(|_| {
                    let limited = std::io::Read::take(&*file, r.at.output);
                    crate::gzip::read_flushed(std::io::BufReader::new(limited), level)
                })
                .map_err(|e| cannot(e.to_string()))?;
            if read.len != r.at.plain {
                return Err(cannot(format!(
                    "it holds {} bytes of output, the journal says {}",
                    read.len, r.at.plain
                )));
            }
            file.seek(std::io::SeekFrom::End(0))
                .map_err(|e| Error::io(&partial, e))?;
            Ok(Compressed::Gzip(crate::gzip::ParallelGzip::resumed(
                f, level, read,
            )))
        }
        Compression::Bzip2 => {
            let level = Compression::Bzip2.level(level);
            // The stream's header says the level its blocks were made for.
            let mut head = [0u8; 4];
            let file = f.file_mut();
            let read = std::io::Seek::seek(file, std::io::SeekFrom::Start(0))
                .and_then(|_| std::io::Read::read_exact(file, &mut head))
                .and_then(|_| std::io::Seek::seek(file, std::io::SeekFrom::End(0)));
            let want = [b'B', b'Z', b'h', b'0' + level as u8];
            match (read, r.at.bzip2) {
                (Ok(_), Some(tail)) if head == want => {
                    let w = crate::bz2::ParallelBzip2::resumed(f, level, tail);
                    w.map(Compressed::Bzip2)
                        .ok_or_else(|| cannot(format!("the journal's bzip2 tail {tail:?}")))
                }
                (Err(e), _) => Err(cannot(e.to_string())),
                (_, None) => Err(cannot("the journal has no bzip2 tail for it".into())),
                _ => Err(cannot(format!(
                    "it does not open a bzip2 stream of level {level}"
                ))),
            }
        }
        how @ (Compression::Zstd | Compression::Xz | Compression::Lz4) => {
            f.replay().map_err(|e| Error::io(&partial, e))?;
            let mut w = Compressed::new(f, how, level, true).map_err(|e| Error::io(dest, e))?;
            match replay(&mut w, &partial, how, r) {
                // The file is as the stopped run left it: a later resume replays it again.
                Err(_) if crate::interrupt::requested() => Err(Error::Interrupted),
                Err(e) => Err(cannot(e.to_string())),
                Ok(()) => Ok(w),
            }
        }
        Compression::None => Err(cannot(format!(
            "{} bytes, the journal says {} of output",
            r.at.output, r.at.plain
        ))),
    }
}

/// Writes the text of the resumable output at `partial` (compressed `how`) again
/// through `w`, a writer of the same codec into that file in replay mode
/// ([`AtomicFile::replay`]), flushed where the stopped run flushed it: the codec then
/// holds the state it had at the checkpoint `r` goes on from, and every byte it writes
/// on the way must be the one the file holds.
fn replay(
    w: &mut Compressed<AtomicFile>,
    partial: &Path,
    how: Compression,
    r: &Resume,
) -> std::io::Result<()> {
    use std::io::Read;
    let file = std::io::BufReader::new(std::fs::File::open(partial)?);
    let mut text = how.decoder(file)?.take(r.at.plain);
    let mut buf = vec![0; 1 << 20];
    let mut at = 0u64;
    let mut flushes = r.flushes.iter().copied();
    let mut next = flushes.next();
    loop {
        // A long replay (a large output at a high level) stops when asked, as a run does
        // between chunks.
        if crate::interrupt::requested() {
            return Err(std::io::Error::other("stopped"));
        }
        let n = match text.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let mut piece = &buf[..n];
        while let Some(p) = next.filter(|&p| p < at + piece.len() as u64) {
            let (head, rest) = piece.split_at((p - at) as usize);
            w.write_all(head)?;
            w.flush()?;
            (piece, at, next) = (rest, p, flushes.next());
        }
        w.write_all(piece)?;
        at += piece.len() as u64;
    }
    if at != r.at.plain {
        return Err(std::io::Error::other(format!(
            "it holds {at} bytes of output, the journal says {}",
            r.at.plain
        )));
    }
    // Checkpoints with nothing written between them flushed at the same place.
    for _ in next.into_iter().chain(flushes) {
        w.flush()?;
    }
    w.flush()?;
    match w.get_mut().map(|f| f.replay_left()) {
        Some(0) => Ok(()),
        _ => Err(std::io::Error::other(format!(
            "written again from its text, it is shorter than its {} bytes",
            r.at.output
        ))),
    }
}

/// Where a large output stands at a checkpoint ([`flush_for_checkpoint`]).
pub(super) struct Flushed {
    /// Its length.
    pub(super) len: u64,
    /// The CRC-32 of its bytes.
    pub(super) crc: u32,
    /// A bzip2 output's open stream's tail.
    pub(super) bzip2: Option<crate::bz2::Tail>,
}

/// Flushes a large output to a point a resumed run can go on from, keeps it if the run
/// stops, and returns where it stands.
pub(super) fn flush_for_checkpoint(w: &mut Compressed<AtomicFile>) -> std::io::Result<Flushed> {
    let bzip2 = match &mut *w {
        // Not its flush, which ends the stream.
        Compressed::Bzip2(b) => Some(b.checkpoint()?),
        other => {
            other.flush()?;
            None
        }
    };
    let Some(f) = w.get_mut() else {
        return Err(std::io::Error::other("a write failed before"));
    };
    f.keep();
    use std::io::Seek;
    let len = f.file_mut().stream_position()?;
    Ok(Flushed {
        len,
        crc: f.crc(),
        bzip2,
    })
}

/// Starts an output file, compressed as its name says at `level` (unless its pieces come
/// `compressed` already), in its folder (which [`crate::outdir::plan`] created).
pub(super) fn open_output(
    dest: &Path,
    large: bool,
    compressed: bool,
    level: Option<u32>,
) -> Result<Compressed<AtomicFile>> {
    let f = AtomicFile::create(dest)?;
    let how = match compressed {
        true => Compression::None,
        false => Compression::from_name(dest),
    };
    Compressed::new(f, how, level, large).map_err(|e| Error::io(dest, e))
}

/// Writes a whole source's output file atomically (compressed as its name says, at
/// `level`).
pub(super) fn write_whole(entry: &Entry, piece: &Piece, level: Option<u32>) -> Result<u64> {
    let dest = entry.dest()?;
    let mut w = open_output(dest, false, piece.plain_len.is_some(), level)?;
    let n = emit(&mut w, &mut Joining::default(), piece, true).map_err(|e| Error::io(dest, e))?;
    if piece.plain_len.is_some() && n == 0 {
        empty_member(&mut w, level).map_err(|e| Error::io(dest, e))?;
    }
    place_output(w, entry)?;
    Ok(n)
}

/// Ends an output of gzip members (at `level`) that got none: an empty file is not a gzip
/// stream, so it gets an empty member.
pub(super) fn empty_member(w: &mut dyn Write, level: Option<u32>) -> std::io::Result<()> {
    let mut empty = Vec::new();
    crate::gzip::member(&[], Compression::Gzip.level(level), &mut empty)?;
    w.write_all(&empty)
}

/// Ends a source's output file and renames it into place, over a file already there
/// only if the entry says so ([`Entry::replace`]).
pub(super) fn place_output(w: Compressed<AtomicFile>, entry: &Entry) -> Result<()> {
    let dest = entry.dest()?;
    let file = w.finish().map_err(|e| Error::io(dest, e))?;
    file.place(entry.replace).map_err(|e| {
        if e.kind() != std::io::ErrorKind::AlreadyExists || entry.replace {
            return Error::io(dest, e);
        }
        let why = format!(
            "appeared during this run, and the output of {} is not written over it \
             (another input with this output, added after the run began, or another program writing here)",
            entry.source.display()
        );
        Error::io(dest, std::io::Error::new(e.kind(), why))
    })
}

/// How one source's pieces join up in its output: text chunks by the blank lines between
/// them, Parquet rows through the writer of the source's file, a JSON array's records
/// inside its brackets.
#[derive(Default)]
pub(super) struct Joining {
    pub(super) joiner: Joiner,
    /// Started at the source's first piece, ended at its last.
    pub(super) table: Option<TableWriter>,
    /// A JSON array's: between its first piece and its last.
    pub(super) array: ArrayFramer,
}

/// Writes one piece of filter output: joined text chunks, JSONL records as they are, a
/// JSON array's records in its brackets, or Parquet rows. `last`: the source's last
/// piece. Returns the bytes of text written.
pub(super) fn emit(
    out: &mut dyn Write,
    joining: &mut Joining,
    piece: &Piece,
    last: bool,
) -> std::io::Result<u64> {
    if let Some(t) = &piece.table {
        let w = match &mut joining.table {
            Some(w) => w,
            none => none.insert(TableWriter::new(t)?),
        };
        w.write(t, out)?;
        if let Some(w) = joining.table.take_if(|_| last) {
            w.finish(out)?;
        }
        return Ok(t.text_bytes);
    }
    if piece.json_array {
        let mut n = joining.array.write(out, &piece.out)?;
        if last {
            n += joining.array.finish(out)?;
        }
        return Ok(n);
    }
    match &piece.filtered {
        Some(f) if piece.out.is_empty() => joining.joiner.push(out, f),
        _ => {
            out.write_all(&piece.out)?;
            Ok(piece.plain_len.unwrap_or(piece.out.len() as u64))
        }
    }
}

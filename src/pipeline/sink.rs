//! Where finished pieces go, in input order: joined into a stream, or into each source's
//! output file, written under a temporary name and renamed into place.

use super::render::Piece;
use crate::compression::Compression;
use crate::error::{Error, Result};
use crate::output::{AtomicFile, Compressed};
use crate::parquet::TableWriter;
use crate::sources::Entry;
use crate::writer::Joiner;
use std::io::Write;
use std::path::Path;

/// Where the writer thread puts each piece, in input order: the source's place in the
/// run, its entry, the piece, and whether it is the source's last.
pub(super) type Sink<'a> = dyn FnMut(usize, &Entry, &Piece, bool) -> Result<u64> + 'a;

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
/// them, Parquet rows through the writer of the source's file.
#[derive(Default)]
pub(super) struct Joining {
    pub(super) joiner: Joiner,
    /// Started at the source's first piece, ended at its last.
    pub(super) table: Option<TableWriter>,
}

/// Writes one piece of filter output: joined text chunks, JSONL records as they are, or
/// Parquet rows. `last`: the source's last piece. Returns the bytes of text written.
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
    match &piece.filtered {
        Some(f) if piece.out.is_empty() => joining.joiner.push(out, f),
        _ => {
            out.write_all(&piece.out)?;
            Ok(piece.plain_len.unwrap_or(piece.out.len() as u64))
        }
    }
}

//! Parquet tables (Hugging Face and datatrove dumps): each row is a document whose text
//! column (or a field below one, [`TextPath`]) holds its lines; every other column passes
//! through `filter` as it was. A list of strings holds each row's paragraphs, read as one
//! text of them set apart by blank lines (as a JSONL array field is), and `filter` writes
//! back the list of what it keeps of each.
//!
//! A file is read a row group at a time, in batches of about a chunk's worth of text
//! ([`Reader`]); workers classify a batch's rows and build the batch `filter` writes
//! ([`Table`]: the text column reduced to the kept lines, rows left empty dropped), and
//! [`TableWriter`] writes them with the input's schema (metadata included) and per-column
//! codecs, a row group for each of the input's (split only past [`MAX_GROUP_BYTES`], as
//! a writer holds its row group until it ends). Parquet's index is at the end of the
//! file, so it is read from files, never from a stream.

use ::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use ::parquet::arrow::ArrowWriter;
use ::parquet::file::properties::WriterProperties;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use std::borrow::Cow;
use std::fs::File;
use std::io::{Read, Write};
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

mod path;
pub use path::TextPath;

/// A batch of a file's rows, as the reader hands it to a worker.
pub struct Rows {
    /// The rows, every column.
    pub batch: RecordBatch,
    /// Where the text is in `batch`.
    pub path: Arc<TextPath>,
    /// 0-based number of the batch's first row in the file.
    pub first_row: usize,
    /// Whether the batch ends a row group of the input (so of the output).
    pub group_end: bool,
    /// How the output file is written (the input's codecs).
    pub props: Arc<WriterProperties>,
    /// The file's schema, its metadata included (batches as read carry none).
    pub schema: SchemaRef,
    /// Bytes of text in the batch (nulls count nothing), counted once as it is read.
    pub text_bytes: usize,
}

impl Rows {
    /// The `id` column's value of row `i`, as text, if the table has one.
    pub fn id(&self, i: usize) -> Option<String> {
        let col = self.batch.column_by_name("id")?;
        if col.is_null(i) {
            return None;
        }
        if let Some(v) = value(col.as_ref(), i) {
            return Some(String::from_utf8_lossy(v).into_owned());
        }
        let fmt = arrow_cast::display::ArrayFormatter::try_new(
            col.as_ref(),
            &arrow_cast::display::FormatOptions::default(),
        )
        .ok()?;
        Some(fmt.value(i).to_string())
    }

    /// An id as [`Rows::id`] gave it (`shown`), as JSON: a number where the `id` column
    /// holds integers, `true` or `false` where it holds booleans, else a string (so tag
    /// records carry the id with its type, as they do a JSONL record's).
    pub fn id_json(&self, shown: &str) -> String {
        let Some(col) = self.batch.column_by_name("id") else {
            return serde_json::to_string(shown).unwrap_or_default();
        };
        let data_type = col.data_type();
        match data_type.is_integer() || *data_type == arrow_schema::DataType::Boolean {
            true => shown.to_string(),
            false => serde_json::to_string(shown).unwrap_or_default(),
        }
    }

    /// Row `i`'s text as bytes (`None`: null on the way, or a list of paragraphs).
    pub fn bytes(&self, i: usize) -> Option<&[u8]> {
        match self.path.is_list() {
            true => None,
            false => self.path.text(self.batch.column(self.path.column), i).ok(),
        }
    }

    /// Row `i`'s document, or why it is not a usable one.
    pub fn document(&self, i: usize) -> Result<Document<'_>, String> {
        let col = self.batch.column(self.path.column);
        if !self.path.is_list() {
            let bytes = self.path.text(col, i)?;
            return Ok(Document {
                text: Cow::Borrowed(utf8(bytes, &|| self.path.name(None))?),
                paragraphs: None,
            });
        }
        let mut text = String::new();
        let mut spans = Vec::new();
        self.path.paragraphs(col, i, |j, p| {
            if j > 0 {
                text.push_str("\n\n");
            }
            spans.push(text.len()..text.len() + p.len());
            text.push_str(utf8(p, &|| self.path.name(Some(j)))?);
            Ok(())
        })?;
        Ok(Document {
            text: Cow::Owned(text),
            paragraphs: Some(spans),
        })
    }

    /// What `filter` writes: row `i` kept where `texts[i]` is `Some`, its text set to
    /// that (`Err(())`: the row as it was).
    pub fn filtered(&self, texts: &[Option<Result<Kept, ()>>]) -> Result<Table, String> {
        let keep = BooleanArray::from_iter(texts.iter().map(|t| Some(t.is_some())));
        let kept = arrow_select::filter::filter_record_batch(&self.batch, &keep)
            .map_err(|e| e.to_string())?;
        let rows: Vec<Option<&Kept>> = texts.iter().flatten().map(|t| t.as_ref().ok()).collect();
        let c = self.path.column;
        let (built, text_bytes) = self.path.rebuild(kept.column(c), &rows)?;
        // The column's type in the file (a dictionary's, where the batch holds its values).
        let ty = self.schema.field(c).data_type();
        let built = match built.data_type() == ty {
            true => built,
            false => arrow_cast::cast(&built, ty).map_err(|e| e.to_string())?,
        };
        let mut columns = kept.columns().to_vec();
        columns[c] = built;
        Ok(Table {
            batch: RecordBatch::try_new(Arc::clone(&self.schema), columns)
                .map_err(|e| e.to_string())?,
            group_end: self.group_end,
            props: Arc::clone(&self.props),
            text_bytes,
        })
    }
}

/// What `filter` keeps of a row's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// The kept lines of a string.
    Text(String),
    /// The kept part of each paragraph of a list with its element's index, those left
    /// empty left out.
    Paragraphs(Vec<(usize, String)>),
}

impl Kept {
    /// Whether nothing is kept (an empty text, or no paragraph).
    pub fn is_empty(&self) -> bool {
        match self {
            Kept::Text(t) => t.is_empty(),
            Kept::Paragraphs(ps) => ps.is_empty(),
        }
    }
}

/// A row's document: its text, and for a list column each string's byte range in it
/// (the strings joined by blank lines).
#[derive(Debug)]
pub struct Document<'a> {
    /// The text the row's lines are split from.
    pub text: Cow<'a, str>,
    /// Each string's range in `text`, for a list column.
    pub paragraphs: Option<Vec<Range<usize>>>,
}

/// `bytes` as text, or an error naming `what` they are and where they stop being UTF-8.
fn utf8<'b>(bytes: &'b [u8], what: &dyn Fn() -> String) -> Result<&'b str, String> {
    // SIMD first: std's check costs the worker ~10 instructions a byte of Chinese text.
    if let Ok(text) = simdutf8::basic::from_utf8(bytes) {
        return Ok(text);
    }
    std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "{} is not UTF-8 (invalid byte at {})",
            what(),
            e.valid_up_to()
        )
    })
}

/// Row `i`'s strings, for a list column (`None` for any other, or a null row).
fn list_items(col: &dyn Array, i: usize) -> Option<ArrayRef> {
    if col.is_null(i) {
        return None;
    }
    match col.data_type() {
        DataType::List(_) => Some(col.as_list::<i32>().value(i)),
        DataType::LargeList(_) => Some(col.as_list::<i64>().value(i)),
        _ => None,
    }
}

/// A row's bytes in a text or binary column (`None`: null, or a type with no bytes).
fn value(col: &dyn Array, i: usize) -> Option<&[u8]> {
    if col.is_null(i) {
        return None;
    }
    Some(match col.data_type() {
        DataType::Utf8 => col.as_string::<i32>().value(i).as_bytes(),
        DataType::LargeUtf8 => col.as_string::<i64>().value(i).as_bytes(),
        DataType::Utf8View => col.as_string_view().value(i).as_bytes(),
        DataType::Binary => col.as_binary::<i32>().value(i),
        DataType::LargeBinary => col.as_binary::<i64>().value(i),
        DataType::BinaryView => col.as_binary_view().value(i),
        _ => return None,
    })
}

fn is_binary(ty: &DataType) -> bool {
    matches!(
        ty,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView
    )
}

/// What `filter` writes for a batch of rows.
pub struct Table {
    /// The rows kept, with their text reduced to the kept lines.
    pub batch: RecordBatch,
    /// Whether the input's row group ends here.
    pub group_end: bool,
    /// How the output file is written.
    pub props: Arc<WriterProperties>,
    /// Bytes of text in `batch`.
    pub text_bytes: u64,
}

/// Why a file could not be read as a table.
#[derive(Debug)]
pub enum OpenError {
    /// Not a Parquet file at all (no `PAR1` magic): skipped like a binary file in a text run.
    NotParquet(String),
    /// A Parquet file that cannot be used (unreadable footer, no such text column...).
    Bad(std::io::Error),
}

/// Reads a Parquet file a row group at a time, in batches of about `target` bytes of
/// text.
pub struct Reader {
    file: File,
    meta: ArrowReaderMetadata,
    path: Arc<TextPath>,
    props: Arc<WriterProperties>,
    target: usize,
    /// The row group being read, and the reader of its batches.
    group: usize,
    batches: Option<std::iter::Peekable<ParquetRecordBatchReader>>,
    next_row: usize,
    /// Whether a batch has been handed out (an empty file still gets one, empty).
    started: bool,
    /// Bytes of the file read so far (compressed row groups), for progress.
    consumed: Arc<AtomicU64>,
}

fn bad(msg: impl Into<String>) -> OpenError {
    OpenError::Bad(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        msg.into(),
    ))
}

impl Reader {
    /// Opens `path` and finds its column `text_field`.
    pub fn open(
        path: &Path,
        text_field: &str,
        target: usize,
        consumed: Arc<AtomicU64>,
    ) -> Result<Reader, OpenError> {
        let mut file = File::open(path).map_err(OpenError::Bad)?;
        let mut magic = [0u8; 4];
        match file.read_exact(&mut magic) {
            Ok(()) if &magic == b"PAR1" => {}
            Err(e) if e.kind() != std::io::ErrorKind::UnexpectedEof => {
                return Err(OpenError::Bad(e))
            }
            _ => return Err(OpenError::NotParquet("no PAR1 magic".into())),
        }
        let meta = unpanicked(|| ArrowReaderMetadata::load(&file, ArrowReaderOptions::default()))
            .map_err(|e| bad(format!("not a readable Parquet file: {e}")))?;
        let path = TextPath::resolve(meta.schema(), text_field).map_err(bad)?;
        let props = Arc::new(writer_properties(&meta));
        Ok(Reader {
            file,
            meta,
            path: Arc::new(path),
            props,
            target: target.max(1),
            group: 0,
            batches: None,
            next_row: 0,
            started: false,
            consumed,
        })
    }

    /// The next batch of rows, `None` after the last.
    pub fn next_rows(&mut self) -> std::io::Result<Option<Rows>> {
        let groups = self.meta.metadata().num_row_groups();
        loop {
            if self.batches.is_none() {
                if self.group >= groups {
                    if std::mem::replace(&mut self.started, true) {
                        return Ok(None);
                    }
                    // A file with no rows still has a schema to write.
                    return Ok(Some(
                        self.rows(RecordBatch::new_empty(self.meta.schema().clone()), false),
                    ));
                }
                let rg = self.meta.metadata().row_group(self.group);
                let size = rg.compressed_size().max(0) as u64;
                self.consumed.fetch_add(size, Ordering::Relaxed);
                let rows = rg.num_rows().max(0) as usize;
                let bytes = rg.total_byte_size().max(1) as usize;
                // About `target` bytes of the row group's (uncompressed) data a batch.
                let batch = (rows as u128 * self.target as u128 / bytes as u128) as usize;
                let file = self.file.try_clone()?;
                let reader =
                    ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.meta.clone())
                        .with_row_groups(vec![self.group])
                        .with_batch_size(batch.clamp(1, 64 * 1024))
                        .build()
                        .map_err(|e| self.error(e))?;
                self.batches = Some(reader.peekable());
            }
            let Some(batches) = self.batches.as_mut() else {
                unreachable!("set above")
            };
            // The next batch, and whether it ends the row group (a peek decodes the one
            // after it, so it is guarded too).
            let step = unpanicked(|| match batches.next() {
                Some(Ok(batch)) => Ok(Some((batch, batches.peek().is_none()))),
                Some(Err(e)) => Err(e),
                None => Ok(None),
            });
            match step.transpose() {
                Some(Ok((batch, group_end))) => {
                    let batch = self.plain(batch).map_err(|e| self.error(e))?;
                    if group_end {
                        self.batches = None;
                        self.group += 1;
                    }
                    self.started = true;
                    return Ok(Some(self.rows(batch, group_end)));
                }
                Some(Err(e)) => return Err(self.error(e)),
                None => {
                    // A row group with no rows.
                    self.batches = None;
                    self.group += 1;
                }
            }
        }
    }

    fn rows(&mut self, batch: RecordBatch, group_end: bool) -> Rows {
        let first_row = self.next_row;
        self.next_row += batch.num_rows();
        let col = batch.column(self.path.column);
        // Bytes of text, for progress and the summary (a bad row's count stops at its null).
        let mut text_bytes = 0;
        for i in 0..col.len() {
            if self.path.is_list() {
                let _ = self.path.paragraphs(col, i, |_, p| {
                    text_bytes += p.len();
                    Ok(())
                });
            } else {
                text_bytes += self.path.text(col, i).map_or(0, <[u8]>::len);
            }
        }
        Rows {
            text_bytes,
            batch,
            path: Arc::clone(&self.path),
            first_row,
            group_end,
            props: Arc::clone(&self.props),
            schema: Arc::clone(self.meta.schema()),
        }
    }

    /// `batch` with a dictionary-encoded text column decoded to its values (the output
    /// is encoded again, as [`Rows::schema`] says).
    fn plain(&self, batch: RecordBatch) -> Result<RecordBatch, arrow_schema::ArrowError> {
        let column = self.path.column;
        let DataType::Dictionary(_, values) = batch.column(column).data_type() else {
            return Ok(batch);
        };
        let values = values.as_ref().clone();
        let mut columns = batch.columns().to_vec();
        columns[column] = arrow_cast::cast(&columns[column], &values)?;
        let mut fields: Vec<_> = batch.schema().fields().iter().cloned().collect();
        fields[column] = Arc::new(fields[column].as_ref().clone().with_data_type(values));
        RecordBatch::try_new(Arc::new(arrow_schema::Schema::new(fields)), columns)
    }

    fn error(&self, e: impl std::fmt::Display) -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("row group {}: {e}", self.group),
        )
    }
}

thread_local! {
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is in a call into the Parquet reader that chaff guards: a panic
/// now is the library's on a damaged file, caught and reported with the file, wherever
/// it was raised (a capacity overflow is raised in the standard library). For a panic
/// hook.
pub fn in_guarded_call() -> bool {
    GUARDED.with(std::cell::Cell::get)
}

/// `f`, with a panic in the Parquet reader (a bug it may have on a corrupt file) turned
/// into an error naming the file, like any other corruption.
fn unpanicked<T, E: std::fmt::Display>(f: impl FnOnce() -> Result<T, E>) -> Result<T, String> {
    GUARDED.with(|g| g.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(false));
    match result {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err("the Parquet reader failed on this file (corrupt?)".into()),
    }
}

/// The output's settings: the input's key-value metadata (pandas' and Hugging Face's
/// schema notes; the Arrow schema is written anew), each column compressed with the
/// input's codec for it, and no row group split (they end where the input's do).
fn writer_properties(meta: &ArrowReaderMetadata) -> WriterProperties {
    let m = meta.metadata();
    let kv = m.file_metadata().key_value_metadata().map(|kv| {
        kv.iter()
            .filter(|kv| kv.key != ::parquet::arrow::ARROW_SCHEMA_META_KEY)
            .cloned()
            .collect()
    });
    let mut b = WriterProperties::builder()
        .set_max_row_group_size(usize::MAX)
        .set_key_value_metadata(kv);
    if m.num_row_groups() > 0 {
        for c in m.row_group(0).columns() {
            b = b.set_column_compression(c.column_path().clone(), c.compression());
        }
    }
    b.build()
}

/// Encoded bytes of an output row group in the making at which it is ended even if the
/// input's goes on.
pub const MAX_GROUP_BYTES: usize = 32 << 20;

/// Writes the [`Table`]s of one source as a Parquet file, handing the bytes on as they
/// are ready.
pub struct TableWriter {
    w: ArrowWriter<Vec<u8>>,
}

impl TableWriter {
    /// A writer for tables like `first`.
    pub fn new(first: &Table) -> std::io::Result<TableWriter> {
        let w = ArrowWriter::try_new(
            Vec::new(),
            first.batch.schema(),
            Some((*first.props).clone()),
        )
        .map_err(io_error)?;
        Ok(TableWriter { w })
    }

    /// Adds `t`'s rows, ending a row group where the input's ended, and writes what is
    /// ready to `out`.
    pub fn write(&mut self, t: &Table, out: &mut dyn Write) -> std::io::Result<()> {
        self.w.write(&t.batch).map_err(io_error)?;
        // A row group is held until it is complete: a huge one is split, so memory stays
        // bounded.
        if t.group_end || self.w.in_progress_size() >= MAX_GROUP_BYTES {
            self.w.flush().map_err(io_error)?;
        }
        // Bytes the writer has passed on can be taken: it counts offsets itself. The
        // buffer is kept, not grown anew for each row group.
        let ready = self.w.inner_mut();
        out.write_all(ready)?;
        ready.clear();
        Ok(())
    }

    /// Ends the file (its footer) into `out`.
    pub fn finish(self, out: &mut dyn Write) -> std::io::Result<()> {
        let rest = self.w.into_inner().map_err(io_error)?;
        out.write_all(&rest)
    }
}

fn io_error(e: ::parquet::errors::ParquetError) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
}

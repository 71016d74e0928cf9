//! Parquet tables built from the fuzz input (texts of any bytes, any text column type,
//! nulls, row groups of any size, batches of any size), sometimes with bytes of the file
//! overwritten, read and filtered as `chaff filter --parquet` does. Nothing may panic; an
//! intact file always reads, and what is written reads back as the rows kept, with the
//! texts kept and the column's type. List columns hold each row's texts as paragraphs.
//! Some inputs set the text below a column, reached by a pointer: in a struct
//! (`/doc/text`), or for a list, each string in a struct (`/doc/*/text`, MNBVC's layout).
#![no_main]

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int8Type};
use arrow_array::{
    Array, ArrayRef, BinaryArray, DictionaryArray, GenericListArray, Int64Array, LargeStringArray,
    OffsetSizeTrait, RecordBatch, StringArray, StringViewArray, StructArray,
};
use arrow_schema::{DataType, Field};
use chaff::parquet::{Kept, Reader, Rows, TableWriter};
use chaff::pipeline::decide_document;
use chaff::writer::{filtered_paragraphs, marked_runs};
use libfuzzer_sys::fuzz_target;
use std::convert::Infallible;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

mod common;
use common::model;

/// The text column for `texts`, of the type `kind` picks (`None`s are nulls).
fn column(kind: u8, texts: &[Option<Vec<u8>>]) -> ArrayRef {
    let owned: Vec<Option<String>> =
        texts.iter().map(|t| t.as_ref().map(|b| String::from_utf8_lossy(b).into_owned())).collect();
    let strs = || owned.iter().map(|t| t.as_deref());
    match kind % 8 {
        6 | 7 => {
            // A list row's paragraphs: its text split at each U+FFFD (where a byte was not
            // UTF-8).
            let mut b = ListBuilder::new(StringBuilder::new());
            for t in &owned {
                if let Some(t) = t {
                    t.split('\u{fffd}').for_each(|p| b.values().append_value(p));
                }
                b.append(t.is_some());
            }
            let list: ArrayRef = Arc::new(b.finish());
            match kind % 8 {
                6 => list,
                _ => {
                    let large = DataType::LargeList(Arc::new(Field::new("item", DataType::LargeUtf8, true)));
                    arrow_cast::cast(&list, &large).expect("a large list of large strings")
                }
            }
        }
        1 => Arc::new(LargeStringArray::from_iter(strs())),
        2 => Arc::new(StringViewArray::from_iter(strs())),
        3 => Arc::new(BinaryArray::from_iter(texts.iter().map(|t| t.as_deref()))),
        4 => Arc::new(strs().collect::<DictionaryArray<Int32Type>>()),
        // Small keys: more than 127 distinct texts do not fit (an error, never a panic).
        5 => Arc::new(strs().collect::<DictionaryArray<Int8Type>>()),
        _ => Arc::new(StringArray::from_iter(strs())),
    }
}

/// `values` in a struct beside a number, under `nulls`.
fn in_struct(values: ArrayRef, nulls: Option<arrow_buffer::NullBuffer>) -> ArrayRef {
    let fields = vec![
        Field::new("n", DataType::Int64, true),
        Field::new("text", values.data_type().clone(), true),
    ];
    let n: ArrayRef = Arc::new(Int64Array::from_iter_values(0..values.len() as i64));
    Arc::new(StructArray::new(fields.into(), vec![n, values], nulls))
}

/// `list` with each element in a struct (or, `unwrap`, taken back out of one).
fn elements_in_structs<O: OffsetSizeTrait>(list: &GenericListArray<O>, unwrap: bool) -> ArrayRef {
    let values = match unwrap {
        true => Arc::clone(list.values().as_struct().column(1)),
        false => in_struct(Arc::clone(list.values()), None),
    };
    let item = Arc::new(Field::new("item", values.data_type().clone(), true));
    Arc::new(GenericListArray::<O>::new(item, list.offsets().clone(), values, list.nulls().cloned()))
}

/// The text column `col` set below a column, and the pointer that reaches it.
fn nested(col: ArrayRef) -> (ArrayRef, &'static str) {
    match col.data_type() {
        DataType::List(_) => (elements_in_structs(col.as_list::<i32>(), false), "/text/*/text"),
        DataType::LargeList(_) => (elements_in_structs(col.as_list::<i64>(), false), "/text/*/text"),
        _ => {
            let nulls = col.nulls().cloned();
            (in_struct(col, nulls), "/text/text")
        }
    }
}

/// [`nested`]'s column back to the text column it holds.
fn unnested(col: &ArrayRef) -> ArrayRef {
    match col.data_type() {
        DataType::Struct(_) => Arc::clone(col.as_struct().column(1)),
        DataType::List(f) if matches!(f.data_type(), DataType::Struct(_)) => {
            elements_in_structs(col.as_list::<i32>(), true)
        }
        DataType::LargeList(f) if matches!(f.data_type(), DataType::Struct(_)) => {
            elements_in_structs(col.as_list::<i64>(), true)
        }
        _ => Arc::clone(col),
    }
}

/// A row's text column as read: a list's strings, or the one text (`None`: null).
type Parts = Option<Vec<Option<Vec<u8>>>>;

/// Row `i`'s [`Parts`].
fn parts(rows: &Rows, i: usize) -> Parts {
    let col = unnested(rows.batch.column(rows.path.column));
    if col.is_null(i) {
        return None;
    }
    let items = match col.data_type() {
        DataType::List(_) => col.as_list::<i32>().value(i),
        DataType::LargeList(_) => col.as_list::<i64>().value(i),
        _ => return Some(vec![rows.bytes(i).map(<[u8]>::to_vec)]),
    };
    let items = arrow_cast::cast(&items, &DataType::Utf8).expect("strings");
    Some(items.as_string::<i32>().iter().map(|p| p.map(|p| p.as_bytes().to_vec())).collect())
}

/// Reads `path` as chaff does, filters every batch, and writes the kept rows. Returns the
/// output file, the kept texts and the text column's type as read, or the error met.
fn filter(
    path: &std::path::Path,
    field: &str,
    target: usize,
) -> Result<(Vec<u8>, Vec<Parts>, DataType), String> {
    let (clf, policy) = model();
    let mut reader =
        Reader::open(path, field, target, Arc::new(AtomicU64::new(0))).map_err(|e| format!("{e:?}"))?;
    let (mut out, mut kept, mut writer) = (Vec::new(), Vec::new(), None);
    let mut last_row = 0;
    let mut read_as = None;
    while let Some(rows) = reader.next_rows().map_err(|e| e.to_string())? {
        assert_eq!(rows.first_row, last_row, "batches cover the rows in order");
        last_row += rows.batch.num_rows();
        read_as.get_or_insert_with(|| rows.batch.schema().field(1).data_type().clone());
        let mut texts = Vec::new();
        for i in 0..rows.batch.num_rows() {
            match rows.document(i) {
                Ok(document) => {
                    let text = &document.text;
                    let Ok(marks) = decide_document(clf, policy, text, None, |_| Ok::<_, Infallible>(()));
                    let keep = |i: usize| marks[i] == Some(true);
                    let k = match &document.paragraphs {
                        Some(spans) => Kept::Paragraphs(filtered_paragraphs(text, spans, keep)),
                        None => Kept::Text(marked_runs(text, &marks).concat()),
                    };
                    let strings = match &k {
                        Kept::Text(t) => vec![t.clone()],
                        Kept::Paragraphs(ps) => ps.iter().map(|(_, p)| p.clone()).collect(),
                    };
                    // Every third emptied row is kept empty, as `--keep-empty` would.
                    if k.is_empty() && i % 3 != 0 {
                        texts.push(None);
                    } else {
                        kept.push(Some(strings.into_iter().map(|s| Some(s.into_bytes())).collect()));
                        texts.push(Some(Ok(k)));
                    }
                }
                Err(_) => {
                    // A bad row kept as it was (`--bad-records keep`).
                    kept.push(parts(&rows, i));
                    texts.push(Some(Err(())));
                }
            }
        }
        let t = rows.filtered(&texts)?;
        let w = match &mut writer {
            Some(w) => w,
            none => none.insert(TableWriter::new(&t).expect("a writer for the input's schema")),
        };
        w.write(&t, &mut out).expect("writing to memory");
    }
    writer.expect("a file gives at least one batch").finish(&mut out).expect("writing to memory");
    Ok((out, kept, read_as.expect("a file gives at least one batch")))
}

/// The Parquet reader panics on some damaged files (parquet 57.3: an index out of bounds
/// in `encodings/rle.rs`, a capacity overflow decoding a footer's schema; arrow-ipc 57.3
/// on an embedded schema's integer width); chaff catches that and reports the file as
/// unreadable, which this target checks. libFuzzer's hook aborts on any panic, so panics
/// raised within chaff's guarded calls into the reader are let unwind to chaff's catch;
/// any other still aborts.
fn let_parquet_panics_unwind() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let fuzzer = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !chaff::parquet::in_guarded_call() {
                fuzzer(info);
            }
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    let_parquet_panics_unwind();
    let &[mode, damage, ref rest @ ..] = data else { return };
    let group = 1 + (mode >> 4) as usize;
    let texts: Vec<Option<Vec<u8>>> = rest
        .split(|&b| b == 0xff)
        .enumerate()
        .map(|(i, t)| (mode & 8 == 0 || i % 4 != 1).then(|| t.to_vec()))
        .collect();
    let col = column(mode & 7, &texts);
    // Every third input sets the text below a column (a dictionary is read only as a
    // column of its own).
    let (col, field) = match rest.len() % 3 == 0 && !matches!(col.data_type(), DataType::Dictionary(..)) {
        true => nested(col),
        false => (col, "text"),
    };
    let kind = col.data_type().clone();
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(arrow_array::Int64Array::from_iter_values(0..texts.len() as i64)) as ArrayRef),
        ("text", col),
    ])
    .expect("a batch of two columns");
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_size(group)
        .build();
    let mut file = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut file, batch.schema(), Some(props)).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    // Some inputs overwrite bytes of the file (positions and values from the input).
    let intact = damage & 0x80 == 0;
    if !intact {
        for (k, &b) in rest.iter().take((damage & 7) as usize + 1).enumerate() {
            let at = (b as usize * 131 + k * 977 + damage as usize) % file.len();
            file[at] ^= b | 1;
        }
    }
    let path = std::env::temp_dir().join(format!("chaff-fuzz-{}.parquet", std::process::id()));
    std::fs::write(&path, &file).expect("temp file");
    // CHAFF_FUZZ_KEEP=FILE: keep the file an input made (to turn a finding into a test).
    if let Some(keep) = std::env::var_os("CHAFF_FUZZ_KEEP") {
        std::fs::write(keep, &file).expect("kept file");
    }
    let target = 1 + (damage as usize & 0x7f) * 13;
    match filter(&path, field, target) {
        Ok((out, kept, read_as)) => {
            // A damaged footer may lose the Arrow schema kept in it: the column is then read
            // as the Parquet type says (LargeUtf8 as Utf8). Intact, it reads as written.
            if intact && !matches!(kind, DataType::Dictionary(..)) {
                assert_eq!(read_as, kind);
            }
            std::fs::write(&path, &out).expect("temp file");
            let mut back = Reader::open(&path, field, 1 << 20, Arc::new(AtomicU64::new(0)))
                .expect("chaff's output reads back");
            let mut got = Vec::new();
            while let Some(rows) = back.next_rows().expect("chaff's output reads back") {
                assert_eq!(rows.batch.schema().field(1).data_type(), &read_as, "the output keeps the type");
                for i in 0..rows.batch.num_rows() {
                    got.push(parts(&rows, i));
                }
            }
            assert_eq!(got, kept);
        }
        Err(e) => {
            let small_keys = matches!(&kind, arrow_schema::DataType::Dictionary(k, _) if **k == arrow_schema::DataType::Int8);
            assert!(!intact || small_keys, "an intact file reads and filters: {e}");
        }
    }
});

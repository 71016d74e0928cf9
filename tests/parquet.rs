//! Parquet input (`--parquet`) end to end through the real binary: each row's text is
//! filtered as the text alone would be, every other column and the file's schema,
//! metadata, row groups and codecs come through, and unusable files and rows are one
//! line naming the file and row.

mod common;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    Array, ArrayRef, BinaryArray, Int64Array, LargeStringArray, RecordBatch, StringArray,
    StringViewArray,
};
use arrow_schema::{DataType, Field, Schema};
use common::*;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

const FILLER: &str = "哈哈哈哈笑死我了[哈哈][哈哈]\n点赞 转发 评论\n";

/// Writes `columns` as a Parquet file in row groups of `group` rows: text zstd-compressed,
/// the rest snappy, with a Hugging Face style note in the file's metadata.
fn write(path: &Path, columns: Vec<(&str, ArrayRef)>, group: usize) {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batch =
        RecordBatch::try_new(schema.clone(), columns.into_iter().map(|c| c.1).collect()).unwrap();
    let props = WriterProperties::builder()
        .set_max_row_group_size(group)
        .set_compression(Compression::SNAPPY)
        .set_column_compression(
            ColumnPath::from("text"),
            Compression::ZSTD(ZstdLevel::default()),
        )
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "huggingface".into(),
            r#"{"info": {"features": {}}}"#.to_string(),
        )]))
        .build();
    let mut w = ArrowWriter::try_new(fs::File::create(path).unwrap(), schema, Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// A Parquet file read back: its rows (one batch), key-value metadata, row groups' row
/// counts and each column's codec in the first row group.
struct Read {
    batch: RecordBatch,
    kv: HashMap<String, String>,
    groups: Vec<i64>,
    codecs: Vec<Compression>,
}

fn read(bytes: &[u8]) -> Read {
    let mut f = tempfile::tempfile().unwrap();
    std::io::Write::write_all(&mut f, bytes).unwrap();
    let b = ParquetRecordBatchReaderBuilder::try_new(f).unwrap();
    let meta = b.metadata().clone();
    let schema = b.schema().clone();
    let batches: Vec<RecordBatch> = b.build().unwrap().map(|b| b.unwrap()).collect();
    let batch = arrow_select::concat::concat_batches(&schema, &batches).unwrap();
    let kv = meta
        .file_metadata()
        .key_value_metadata()
        .into_iter()
        .flatten()
        .filter(|kv| kv.key != "ARROW:schema")
        .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
        .collect();
    let groups = meta.row_groups().iter().map(|g| g.num_rows()).collect();
    let codecs = match meta.row_groups().first() {
        Some(g) => g.columns().iter().map(|c| c.compression()).collect(),
        None => Vec::new(),
    };
    Read {
        batch,
        kv,
        groups,
        codecs,
    }
}

fn strings(a: &dyn Array) -> Vec<Option<String>> {
    let a = arrow_cast::cast(&a.slice(0, a.len()), &DataType::Utf8).unwrap();
    let a = a.as_any().downcast_ref::<StringArray>().unwrap();
    a.iter().map(|v| v.map(str::to_string)).collect()
}

/// The first `n` dev pages as rows (id, text, a number, a list), and one all-filler row
/// after the fifth.
fn dev_rows(n: usize) -> (Vec<String>, Vec<String>, Vec<(&'static str, ArrayRef)>) {
    let mut ids = Vec::new();
    let mut texts = Vec::new();
    for (i, p) in dev_pages(n).iter().enumerate() {
        ids.push(p.file_name().unwrap().to_str().unwrap().to_string());
        texts.push(fs::read_to_string(p).unwrap());
        if i == 4 {
            ids.push("filler".into());
            texts.push(FILLER.into());
        }
    }
    let mut tags = ListBuilder::new(StringBuilder::new());
    for i in 0..ids.len() {
        tags.values().append_value(format!("t{i}"));
        tags.values().append_value("x");
        tags.append(i % 3 != 0);
    }
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(StringArray::from(ids.clone()))),
        ("text", Arc::new(StringArray::from(texts.clone()))),
        (
            "n",
            Arc::new(Int64Array::from_iter((0..ids.len() as i64).map(Some))),
        ),
        ("tags", Arc::new(tags.finish())),
    ];
    (ids, texts, columns)
}

/// `filter --parquet -o` of `input` into a new folder under `dir` fails naming `what`, and
/// leaves no output file.
fn fails_without_output(dir: &Path, input: &Path, what: &str) {
    let name = input.file_name().unwrap();
    let outdir = dir.join("out-".to_string() + name.to_str().unwrap());
    let err = fails(&["filter", "--parquet", "-o", s(&outdir), s(input)]);
    assert!(err.contains(what), "{err}");
    assert!(
        !err.contains("internal error"),
        "a bad file is no bug: {err}"
    );
    assert!(!outdir.join(name).exists(), "no output file");
}

#[test]
fn rows_are_filtered_as_their_text_and_other_columns_pass_through() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("dump.parquet");
    let (ids, texts, columns) = dev_rows(40);
    write(&input, columns, 16);
    let inp = read(&fs::read(&input).unwrap());
    let stats = tmp.path().join("stats.json");
    let out = ok(&["filter", "--parquet", "--stats", s(&stats), s(&input)]);
    let got = read(&out);
    assert_eq!(got.batch.schema(), inp.batch.schema());
    assert_eq!(got.kv, inp.kv, "the file's metadata comes through");
    assert_eq!(got.codecs, inp.codecs, "each column keeps its codec");
    // Row groups end where the input's did; the all-filler row is left out of the first.
    assert_eq!(inp.groups, [16, 16, 9]);
    assert_eq!(got.groups, [15, 16, 9]);
    let got_ids = strings(got.batch.column(0).as_ref());
    let want: Vec<Option<String>> = ids
        .iter()
        .filter(|i| *i != "filler")
        .map(|i| Some(i.clone()))
        .collect();
    assert_eq!(got_ids, want);
    let got_texts = strings(got.batch.column(1).as_ref());
    let dir = tmp.path().join("pages");
    fs::create_dir(&dir).unwrap();
    let mut bytes_out = 0;
    for (id, text) in got_ids.iter().zip(&got_texts) {
        let (id, text) = (id.as_ref().unwrap(), text.as_ref().unwrap());
        let page = dir.join(id);
        let i = ids.iter().position(|x| x == id).unwrap();
        fs::write(&page, &texts[i]).unwrap();
        assert_eq!(text.as_bytes(), &ok(&["filter", s(&page)])[..], "{id}");
        bytes_out += text.len();
    }
    // The other columns, row for row.
    for c in [2, 3] {
        let keep = arrow_array::BooleanArray::from_iter(ids.iter().map(|i| Some(i != "filler")));
        let want = arrow_select::filter::filter(inp.batch.column(c), &keep).unwrap();
        assert_eq!(got.batch.column(c).as_ref(), want.as_ref(), "column {c}");
    }
    let st: serde_json::Value = serde_json::from_str(&fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(st["documents"], 41);
    assert_eq!(st["empty_dropped"], 1);
    assert_eq!(st["bytes_in"], texts.iter().map(String::len).sum::<usize>());
    assert_eq!(st["bytes_out"], bytes_out);
    // The same bytes at 1 thread in small batches, and into an output folder.
    let small = ok(&[
        "--threads",
        "1",
        "filter",
        "--parquet",
        "--chunk-bytes",
        "3000",
        s(&input),
    ]);
    assert_eq!(small, out);
    let outdir = tmp.path().join("out");
    ok(&["-q", "filter", "--parquet", "-o", s(&outdir), s(&input)]);
    assert_eq!(fs::read(outdir.join("dump.parquet")).unwrap(), out);
    // The run's record says Parquet: --resume finds the file done, and a run reading the
    // folder's inputs as another format may not finish it.
    let o = chaff(&[
        "filter",
        "--parquet",
        "--resume",
        "-o",
        s(&outdir),
        s(&input),
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("1 file already done"));
    let err = fails(&["filter", "--jsonl", "--resume", "-o", s(&outdir), s(&input)]);
    assert!(
        err.contains("cannot resume, it was written with other settings"),
        "{err}"
    );
    // tag names each row's lines by its id, as for the same documents in JSONL.
    let jsonl: String = ids
        .iter()
        .zip(&texts)
        .map(|(id, t)| serde_json::json!({"id": id, "text": t}).to_string() + "\n")
        .collect();
    let jl = tmp.path().join("dump.jsonl");
    fs::write(&jl, jsonl).unwrap();
    let tag = |args: &[&str]| unpathed(&ok(args));
    let pq_tags = tag(&["tag", "--json", "--parquet", s(&input)]);
    assert_eq!(pq_tags, tag(&["tag", "--json", "--jsonl", s(&jl)]));
    assert_eq!(pq_tags[0]["id"], ids[0].as_str());
    // An integer id column gives numbers, as integer ids in JSONL do.
    let numbered = tmp.path().join("numbered.parquet");
    let n = texts.len() as i64;
    write(
        &numbered,
        vec![
            (
                "id",
                Arc::new(Int64Array::from_iter((0..n).map(|i| Some(i * 10)))),
            ),
            ("text", Arc::new(StringArray::from(texts.clone()))),
        ],
        16,
    );
    let jsonl: String = (texts.iter().enumerate())
        .map(|(i, t)| serde_json::json!({"id": i * 10, "text": t}).to_string() + "\n")
        .collect();
    fs::write(&jl, jsonl).unwrap();
    let pq_tags = tag(&["tag", "--json", "--parquet", s(&numbered)]);
    assert_eq!(pq_tags, tag(&["tag", "--json", "--jsonl", s(&jl)]));
    assert!(pq_tags.iter().any(|t| t["id"] == 10), "{:?}", pq_tags[0]);
    // Each tag record names its row (`record`, from 1, across row groups); without an id
    // column TSV names a row's lines `path:row`.
    let raw = ok(&["tag", "-q", "--json", "--parquet", s(&numbered)]);
    let raw: Vec<serde_json::Value> = (raw.split(|&b| b == b'\n').filter(|l| !l.is_empty()))
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert!(raw.iter().any(|t| t["record"].as_i64() > Some(16)));
    for t in &raw {
        assert_eq!(
            t["record"].as_i64(),
            Some(t["id"].as_i64().unwrap() / 10 + 1),
            "{t}"
        );
    }
    let bare = tmp.path().join("bare.parquet");
    let column = Arc::new(StringArray::from(texts.clone()));
    write(&bare, vec![("text", column)], 16);
    let tsv = String::from_utf8(ok(&["tag", "-q", "--parquet", s(&bare)])).unwrap();
    let mut named: Vec<&str> = (tsv.lines().skip(1))
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    named.dedup();
    let want: Vec<String> = (texts.iter().enumerate())
        .filter(|(_, t)| t.lines().any(|l| !l.trim().is_empty()))
        .map(|(i, _)| format!("{}:{}", bare.display(), i + 1))
        .collect();
    assert_eq!(named, want);
}

#[test]
fn text_columns_of_every_type_keep_their_type() {
    let tmp = tempfile::tempdir().unwrap();
    let texts = [
        "新华社北京1月2日电 国务院总理今天在人民大会堂会见了来访的外国客人。\n\n哈哈哈今天好开心[哈哈]\n",
        FILLER,
        "国家统计局今天发布数据，全国居民消费价格同比上涨百分之二。",
    ];
    let plain = ok(&["filter", "--parquet", &{
        let p = tmp.path().join("plain.parquet");
        write(
            &p,
            vec![("text", Arc::new(StringArray::from(texts.to_vec())))],
            100,
        );
        p.to_str().unwrap().to_string()
    }]);
    let want = strings(read(&plain).batch.column(0).as_ref());
    assert_eq!(want.len(), 2, "the all-filler row is left out");
    assert!(!want[0].as_ref().unwrap().contains("哈哈"));
    let dict: arrow_array::DictionaryArray<arrow_array::types::Int32Type> =
        texts.iter().copied().collect();
    let kinds: Vec<(&str, ArrayRef)> = vec![
        ("large", Arc::new(LargeStringArray::from(texts.to_vec()))),
        ("view", Arc::new(StringViewArray::from(texts.to_vec()))),
        (
            "binary",
            Arc::new(BinaryArray::from_iter_values(
                texts.iter().map(|t| t.as_bytes()),
            )),
        ),
        ("dictionary", Arc::new(dict)),
    ];
    for (name, array) in kinds {
        let p = tmp.path().join(format!("{name}.parquet"));
        let ty = array.data_type().clone();
        write(&p, vec![("text", array)], 100);
        let got = read(&ok(&["filter", "--parquet", s(&p)]));
        assert_eq!(got.batch.column(0).data_type(), &ty, "{name}");
        assert_eq!(strings(got.batch.column(0).as_ref()), want, "{name}");
    }
}

/// Rows of a list column, a row per `rows` entry (`None`: a null row).
fn lists(rows: &[Option<Vec<String>>]) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for r in rows {
        for p in r.iter().flatten() {
            b.values().append_value(p);
        }
        b.append(r.is_some());
    }
    Arc::new(b.finish())
}

/// A list column's rows as strings.
fn list_rows(a: &dyn Array) -> Vec<Option<Vec<String>>> {
    let a = arrow_cast::cast(
        &a.slice(0, a.len()),
        &DataType::new_list(DataType::Utf8, true),
    )
    .unwrap();
    let a = a.as_any().downcast_ref::<arrow_array::ListArray>().unwrap();
    a.iter()
        .map(|r| {
            r.map(|v| {
                strings(v.as_ref())
                    .into_iter()
                    .map(Option::unwrap)
                    .collect()
            })
        })
        .collect()
}

/// The first `n` dev pages' names and non-blank lines.
fn dev_paragraphs(n: usize) -> (Vec<String>, Vec<Vec<String>>) {
    dev_pages(n)
        .iter()
        .map(|p| {
            let page = fs::read_to_string(p).unwrap();
            let lines = page.lines().filter(|l| !l.trim().is_empty());
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            (name, lines.map(str::to_string).collect())
        })
        .unzip()
}

#[test]
fn a_list_column_is_paragraphs_filtered_each_as_a_string() {
    let tmp = tempfile::tempdir().unwrap();
    // Dev pages as rows of their non-blank lines, in a list column and as the same lines
    // joined by blank lines in a string column.
    let (mut ids, paras) = dev_paragraphs(30);
    let mut paras: Vec<Option<Vec<String>>> = paras.into_iter().map(Some).collect();
    ids.push("filler".into());
    paras.push(Some(vec![FILLER.to_string()]));
    let joined: Vec<String> = paras
        .iter()
        .map(|p| p.as_ref().unwrap().join("\n\n"))
        .collect();
    let (l, st) = (tmp.path().join("l.parquet"), tmp.path().join("s.parquet"));
    let n = Arc::new(Int64Array::from_iter((0..ids.len() as i64).map(Some)));
    write(
        &l,
        vec![
            ("id", Arc::new(StringArray::from(ids.clone()))),
            ("text", lists(&paras)),
            ("n", n.clone()),
        ],
        8,
    );
    write(
        &st,
        vec![
            ("id", Arc::new(StringArray::from(ids.clone()))),
            ("text", Arc::new(StringArray::from(joined.clone()))),
            ("n", n),
        ],
        8,
    );
    // Scored as the blank-separated text is, line for line.
    let tag = |input: &Path| unpathed(&ok(&["tag", "-q", "--json", "--parquet", s(input)]));
    let mut tags = tag(&l);
    for t in &mut tags {
        // Each record names its string by index (JSON `element`), which holds its line.
        let row = ids.iter().position(|i| t["id"] == i.as_str()).unwrap();
        let e = t.as_object_mut().unwrap().remove("element").unwrap();
        let string = &paras[row].as_ref().unwrap()[e.as_u64().unwrap() as usize];
        assert!(string.lines().any(|l| t["text"] == l), "{t}");
    }
    assert_eq!(tags, tag(&st));
    // filter keeps exactly the strings whose line is kept, in order; a row left with
    // none is dropped; other columns, the schema and row groups come through.
    let want = kept_by_id(&tags);
    assert!(want.len() >= 28 && want.iter().all(|w| w.0 != "filler"));
    let out = ok(&["filter", "-q", "--parquet", s(&l)]);
    let (got, inp) = (read(&out), read(&fs::read(&l).unwrap()));
    assert_eq!(got.batch.schema(), inp.batch.schema());
    let got_ids = strings(got.batch.column(0).as_ref());
    let got_rows = list_rows(got.batch.column(1).as_ref());
    let pairs: Vec<(String, Vec<String>)> = got_ids
        .into_iter()
        .zip(got_rows)
        .map(|(i, r)| (i.unwrap(), r.unwrap()))
        .collect();
    assert_eq!(pairs, want);
    let n_out = got
        .batch
        .column(2)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    for (k, (id, _)) in want.iter().enumerate() {
        let i = ids.iter().position(|x| x == id).unwrap();
        assert_eq!(n_out.value(k), i as i64);
    }
    // A large list of large strings keeps its type; a null row or null element is a bad
    // row, named, or kept as it was under --bad-records keep.
    let mut b = arrow_array::builder::LargeListBuilder::new(
        arrow_array::builder::LargeStringBuilder::new(),
    );
    for r in [&paras[0], &paras[30]] {
        r.iter().flatten().for_each(|p| b.values().append_value(p));
        b.append(true);
    }
    b.values()
        .append_value("国务院总理今天主持召开国务院常务会议。");
    b.values().append_null();
    b.append(true);
    b.append(false);
    let large: ArrayRef = Arc::new(b.finish());
    let ty = large.data_type().clone();
    let lg = tmp.path().join("large.parquet");
    write(&lg, vec![("text", large)], 100);
    let err = fails(&["filter", "--parquet", s(&lg)]);
    assert!(
        err.contains("row 3: column \"text\" element 1 is null"),
        "{err}"
    );
    let got = read(&ok(&[
        "filter",
        "-q",
        "--parquet",
        "--bad-records",
        "keep",
        s(&lg),
    ]));
    assert_eq!(got.batch.column(0).data_type(), &ty);
    let rows = arrow_cast::cast(
        got.batch.column(0),
        &DataType::new_list(DataType::Utf8, true),
    )
    .unwrap();
    let rows = rows
        .as_any()
        .downcast_ref::<arrow_array::ListArray>()
        .unwrap();
    assert_eq!(rows.len(), 3, "the filler row left out, the bad ones kept");
    let first: Vec<String> = strings(rows.value(0).as_ref())
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(
        Some(&first),
        want.iter().find(|w| w.0 == ids[0]).map(|w| &w.1)
    );
    assert!(rows.value(1).is_null(1) && rows.is_null(2));
    // Elements declared non-nullable, under another name (as Parquet's own `element`):
    // the same field comes back.
    let mut b = ListBuilder::new(StringBuilder::new()).with_field(Field::new(
        "element",
        DataType::Utf8,
        false,
    ));
    for r in [&paras[0], &paras[30]] {
        r.iter().flatten().for_each(|p| b.values().append_value(p));
        b.append(true);
    }
    let strict: ArrayRef = Arc::new(b.finish());
    let ty = strict.data_type().clone();
    let sp = tmp.path().join("strict.parquet");
    write(&sp, vec![("text", strict)], 100);
    let got = read(&ok(&["filter", "-q", "--parquet", s(&sp)]));
    assert_eq!(got.batch.column(0).data_type(), &ty);
    assert_eq!(got.batch.num_rows(), 1, "the filler row left out");
    // A list of anything else is not text.
    let ints = tmp.path().join("ints.parquet");
    let mut b = ListBuilder::new(arrow_array::builder::Int64Builder::new());
    b.values().append_value(1);
    b.append(true);
    write(&ints, vec![("text", Arc::new(b.finish()))], 100);
    fails_without_output(tmp.path(), &ints, "not text or a list of strings");
}

/// Paragraphs as structs, as MNBVC stores them: a list of `{行号, 内容}` per row.
fn numbered(rows: &[Vec<String>], nulls: &[(usize, usize)]) -> ArrayRef {
    let lines: Vec<&String> = rows.iter().flatten().collect();
    let numbers = Int64Array::from_iter(rows.iter().flat_map(|r| (1..=r.len() as i64).map(Some)));
    let texts = StringArray::from_iter(lines.iter().enumerate().map(|(e, l)| {
        let null = nulls
            .iter()
            .any(|&(row, j)| rows[..row].iter().map(Vec::len).sum::<usize>() + j == e);
        (!null).then_some(l.as_str())
    }));
    let values = arrow_array::StructArray::from(vec![
        (
            Arc::new(Field::new("行号", DataType::Int64, true)),
            Arc::new(numbers) as ArrayRef,
        ),
        (
            Arc::new(Field::new("内容", DataType::Utf8, true)),
            Arc::new(texts) as ArrayRef,
        ),
    ]);
    let item = Arc::new(Field::new("item", values.data_type().clone(), true));
    let offsets = arrow_buffer::OffsetBuffer::from_lengths(rows.iter().map(Vec::len));
    Arc::new(arrow_array::ListArray::new(
        item,
        offsets,
        Arc::new(values),
        None,
    ))
}

#[test]
fn fields_below_a_column_are_reached_by_a_pointer_as_in_jsonl() {
    let tmp = tempfile::tempdir().unwrap();
    // Dev pages as a string, the same string in a struct, their non-blank lines as a list
    // of strings, and as a list of numbered structs (MNBVC's layout).
    let (mut ids, mut paras) = dev_paragraphs(30);
    ids.push("filler".into());
    paras.push(vec![FILLER.lines().next().unwrap().to_string(); 3]);
    let joined: Vec<String> = paras.iter().map(|p| p.join("\n\n")).collect();
    let urls: Vec<String> = ids
        .iter()
        .map(|i| format!("https://example.com/{i}"))
        .collect();
    let meta = arrow_array::StructArray::from(vec![
        (
            Arc::new(Field::new("url", DataType::Utf8, true)),
            Arc::new(StringArray::from(urls.clone())) as ArrayRef,
        ),
        (
            Arc::new(Field::new("content", DataType::Utf8, true)),
            Arc::new(StringArray::from(joined.clone())) as ArrayRef,
        ),
    ]);
    let input = tmp.path().join("mnbvc.parquet");
    write(
        &input,
        vec![
            ("id", Arc::new(StringArray::from(ids.clone()))),
            ("text", Arc::new(StringArray::from(joined.clone()))),
            ("meta", Arc::new(meta)),
            (
                "paras",
                lists(&paras.iter().cloned().map(Some).collect::<Vec<_>>()),
            ),
            ("段落", numbered(&paras, &[])),
        ],
        8,
    );
    let tag = |field: &str| {
        unpathed(&ok(&[
            "tag",
            "-q",
            "--json",
            "--parquet",
            "--text-field",
            field,
            s(&input),
        ]))
    };
    // Read as the column holding the same text is, line for line (elements named alike).
    assert_eq!(tag("/meta/content"), tag("text"));
    assert_eq!(tag("/text"), tag("text"));
    let tags = tag("/段落/*/内容");
    assert_eq!(tags, tag("paras"));
    // filter keeps exactly the elements whose line tag keeps, each as it was (its 行号
    // too); other columns and the schema come through.
    let want = kept_by_id(&tags);
    assert!(want.len() >= 28 && want.iter().all(|w| w.0 != "filler"));
    let inp = read(&fs::read(&input).unwrap());
    let got = read(&ok(&[
        "filter",
        "-q",
        "--parquet",
        "--text-field",
        "/段落/*/内容",
        s(&input),
    ]));
    assert_eq!(got.batch.schema(), inp.batch.schema());
    let got_ids = strings(got.batch.column(0).as_ref());
    let 段落 = got
        .batch
        .column(4)
        .as_any()
        .downcast_ref::<arrow_array::ListArray>()
        .unwrap();
    for (k, (id, kept)) in want.iter().enumerate() {
        assert_eq!(got_ids[k].as_deref(), Some(id.as_str()));
        let row = ids.iter().position(|i| i == id).unwrap();
        let elements = 段落.value(k);
        let elements = elements
            .as_any()
            .downcast_ref::<arrow_array::StructArray>()
            .unwrap();
        let texts: Vec<String> = strings(elements.column(1).as_ref())
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(&texts, kept, "{id}");
        let numbers = elements
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        for (e, text) in texts.iter().enumerate() {
            let j = numbers.value(e) as usize - 1;
            assert_eq!(&paras[row][j], text, "{id}: 行号 {}", j + 1);
        }
        for c in 1..4 {
            let at = |b: &RecordBatch, r: usize| b.column(c).slice(r, 1).to_data();
            assert_eq!(at(&got.batch, k), at(&inp.batch, row), "{id}: column {c}");
        }
    }
    // A struct's field: filtered as the column holding the same text; its other fields
    // (and the column left as it was) come through.
    let got = read(&ok(&[
        "filter",
        "-q",
        "--parquet",
        "--text-field",
        "/meta/content",
        s(&input),
    ]));
    let plain = read(&ok(&["filter", "-q", "--parquet", s(&input)]));
    assert_eq!(got.batch.schema(), inp.batch.schema());
    assert_eq!(
        strings(got.batch.column(0).as_ref()),
        strings(plain.batch.column(0).as_ref())
    );
    let meta = got
        .batch
        .column(2)
        .as_any()
        .downcast_ref::<arrow_array::StructArray>()
        .unwrap();
    assert_eq!(
        strings(meta.column(1).as_ref()),
        strings(plain.batch.column(1).as_ref())
    );
    let kept_rows: Vec<usize> = strings(got.batch.column(0).as_ref())
        .iter()
        .map(|id| ids.iter().position(|i| Some(i) == id.as_ref()).unwrap())
        .collect();
    let kept_urls: Vec<Option<String>> = kept_rows.iter().map(|&r| Some(urls[r].clone())).collect();
    assert_eq!(strings(meta.column(0).as_ref()), kept_urls);
    let kept_texts: Vec<Option<String>> =
        kept_rows.iter().map(|&r| Some(joined[r].clone())).collect();
    assert_eq!(strings(got.batch.column(1).as_ref()), kept_texts);
    // A null element's text is a bad row naming it by index, and is kept as it was under
    // --bad-records keep.
    let nulls = tmp.path().join("nulls.parquet");
    write(
        &nulls,
        vec![
            ("id", Arc::new(StringArray::from(ids[..3].to_vec()))),
            ("段落", numbered(&paras[..3], &[(1, 2)])),
        ],
        8,
    );
    let err = fails(&[
        "filter",
        "--parquet",
        "--text-field",
        "/段落/*/内容",
        s(&nulls),
    ]);
    assert!(
        err.contains("nulls.parquet: row 2: field \"/段落/2/内容\" is null"),
        "{err}"
    );
    let got = read(&ok(&[
        "filter",
        "-q",
        "--parquet",
        "--text-field",
        "/段落/*/内容",
        "--bad-records",
        "keep",
        s(&nulls),
    ]));
    let inp = read(&fs::read(&nulls).unwrap());
    let row = |b: &RecordBatch, r: usize| b.column(1).slice(r, 1).to_data();
    assert_eq!(
        row(&got.batch, 1),
        row(&inp.batch, 1),
        "the bad row as it was"
    );
    // Fields that are not there, or not reached so, are named.
    for (field, what) in [
        (
            "/meta/body",
            "field \"/meta\" has no field \"body\" (its fields: url, content)",
        ),
        ("/meta/*", "field \"/meta\" has no field \"*\""),
        (
            "/段落/内容",
            "field \"/段落\" is a list: a * reaches its elements",
        ),
        (
            "/id/x",
            "field \"/id\" holds Utf8: a pointer reaches a struct's fields",
        ),
        (
            "/段落/*/行号",
            "field \"/段落/*/行号\" holds Int64, not text or a list of strings",
        ),
        ("/meta", "field \"/meta\" holds Struct"),
        (
            "/no",
            "no column \"no\" (columns: id, text, meta, paras, 段落",
        ),
    ] {
        let err = fails(&["filter", "--parquet", "--text-field", field, s(&input)]);
        assert!(err.contains(what), "{field}: {err}");
    }
}

#[test]
fn bad_rows_stop_the_run_or_are_skipped_or_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("t.parquet");
    let texts = vec![
        Some("国家统计局今天发布数据，全国居民消费价格同比上涨百分之二。\n"),
        None,
        Some(FILLER),
    ];
    write(
        &p,
        vec![
            ("id", Arc::new(Int64Array::from(vec![7, 8, 9]))),
            ("text", Arc::new(StringArray::from(texts))),
        ],
        100,
    );
    fails_without_output(tmp.path(), &p, "t.parquet: row 2: column \"text\" is null");
    let o = chaff(&["filter", "--parquet", "--bad-records", "skip", s(&p)]);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("t.parquet:2: bad record skipped (column \"text\" is null)"),
        "{err}"
    );
    let got = read(&o.stdout);
    assert_eq!(
        got.batch.column(0).as_ref(),
        &Int64Array::from(vec![7]) as &dyn Array
    );
    // keep: the row as it was; --keep-empty: the all-filler row, its text emptied.
    let got = read(&ok(&[
        "filter",
        "--parquet",
        "--bad-records",
        "keep",
        "--keep-empty",
        s(&p),
    ]));
    assert_eq!(
        strings(got.batch.column(1).as_ref()),
        [
            Some("国家统计局今天发布数据，全国居民消费价格同比上涨百分之二。\n".to_string()),
            None,
            Some(String::new())
        ]
    );
    // tag names rows by their integer ids.
    let tag = String::from_utf8(ok(&["tag", "--parquet", "--bad-records", "skip", s(&p)])).unwrap();
    assert!(
        tag.lines()
            .nth(1)
            .unwrap()
            .starts_with(&format!("{}#7\t1\tnews", s(&p))),
        "{tag}"
    );
}

#[test]
fn unusable_files_are_named_and_others_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    fs::create_dir(&dir).unwrap();
    let good = dir.join("b.parquet");
    write(
        &good,
        vec![("text", Arc::new(StringArray::from(vec![FILLER])))],
        10,
    );
    // A file that is not Parquet is skipped with a warning (an error with --strict).
    fs::write(dir.join("README.md"), "not a table\n").unwrap();
    let o = chaff(&[
        "filter",
        "--parquet",
        "-o",
        s(&tmp.path().join("o1")),
        s(&dir),
    ]);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("README.md: skipped, not Parquet (no PAR1 magic)"),
        "{err}"
    );
    assert!(err.contains("1 file skipped"), "{err}");
    // With no row kept, the output is still a file of the input's schema.
    let empty = read(&fs::read(tmp.path().join("o1/b.parquet")).unwrap());
    assert_eq!(empty.batch.num_rows(), 0);
    assert_eq!(empty.batch.schema().field(0).name(), "text");
    let err = fails(&[
        "filter",
        "--parquet",
        "--strict",
        "-o",
        s(&tmp.path().join("o2")),
        s(&dir),
    ]);
    assert!(
        err.contains("README.md: not Parquet (no PAR1 magic); --strict"),
        "{err}"
    );
    // A cut-off file, a missing column, a column that is not text.
    let whole = fs::read(&good).unwrap();
    let cut = tmp.path().join("cut.parquet");
    fs::write(&cut, &whole[..whole.len() - 20]).unwrap();
    fails_without_output(tmp.path(), &cut, "cut.parquet: not a readable Parquet file");
    let err = fails(&["filter", "--parquet", "--text-field", "body", s(&good)]);
    assert!(
        err.contains("b.parquet: no column \"body\" (columns: text; choose one with --text-field)"),
        "{err}"
    );
    // Damaged files on which the Parquet reader itself panics (found by the `parquet`
    // fuzz target), in a row group's data and in the footer's embedded Arrow schema: an
    // error naming the file, and no output.
    fails_without_output(
        tmp.path(),
        &root().join("tests/data/rle-panic.parquet"),
        "rle-panic.parquet: row group 1: the Parquet reader failed on this file",
    );
    fails_without_output(
        tmp.path(),
        &root().join("tests/data/ipc-panic.parquet"),
        "ipc-panic.parquet: not a readable Parquet file: the Parquet reader failed on this file",
    );
    // One whose panic is raised in the standard library (a capacity overflow decoding a
    // nested schema), on the reader's behalf: no internal error either.
    fails_without_output(
        tmp.path(),
        &root().join("tests/data/capacity-panic.parquet"),
        "capacity-panic.parquet: not a readable Parquet file: the Parquet reader failed on this file",
    );
    let ints = tmp.path().join("ints.parquet");
    write(
        &ints,
        vec![("text", Arc::new(Int64Array::from(vec![1])))],
        10,
    );
    let err = fails(&["tag", "--parquet", s(&ints)]);
    assert!(
        err.contains("column \"text\" holds Int64, not text"),
        "{err}"
    );
}

#[test]
fn refusals_name_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("a.parquet");
    write(
        &p,
        vec![("text", Arc::new(StringArray::from(vec![FILLER])))],
        10,
    );
    for (args, why) in [
        (
            vec!["filter", "--parquet", "-"],
            "save standard input to a file first",
        ),
        (
            vec!["filter", "--parquet", s(&p), s(&p)],
            "filter writes one Parquet file to stdout",
        ),
        (
            vec!["filter", "--parquet", "--compress", "gz", s(&p)],
            "--compress does not apply to --parquet",
        ),
        (
            vec!["filter", "--parquet", "--encoding", "gbk", s(&p)],
            "do not apply to --parquet",
        ),
        (
            vec![
                "tag",
                "--parquet",
                "--dolma",
                "--attributes-dir",
                "x",
                s(&p),
            ],
            "not WARC or Parquet",
        ),
    ] {
        let err = fails(&args);
        assert!(err.contains(why), "{args:?}: {err}");
    }
}

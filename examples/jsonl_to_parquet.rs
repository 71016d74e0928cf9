//! The bench's Parquet dump: JSONL records (`{"id", "text"}`) as a Parquet file with
//! those two columns, snappy-compressed (pyarrow's default), in row groups of ROWS rows.
//!   cargo run --release --example jsonl_to_parquet IN.jsonl OUT.parquet [ROWS]
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::io::BufRead;
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (input, output) = match &args[..] {
        [_, i, o, ..] => (i, o),
        _ => return Err("usage: jsonl_to_parquet IN.jsonl OUT.parquet [ROWS]".into()),
    };
    let rows: usize = args.get(3).map_or(Ok(1000), |r| r.parse())?;
    let (mut ids, mut texts) = (Vec::new(), Vec::new());
    for line in std::io::BufReader::new(std::fs::File::open(input)?).lines() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        ids.push(v["id"].as_str().ok_or("no id")?.to_string());
        texts.push(v["text"].as_str().ok_or("no text")?.to_string());
    }
    let batch = RecordBatch::try_from_iter([
        ("id", Arc::new(StringArray::from(ids)) as ArrayRef),
        ("text", Arc::new(StringArray::from(texts)) as ArrayRef),
    ])?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_size(rows)
        .build();
    let mut w = ArrowWriter::try_new(std::fs::File::create(output)?, batch.schema(), Some(props))?;
    w.write(&batch)?;
    w.close()?;
    Ok(())
}

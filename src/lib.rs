//! chaff: separates news paragraphs from social-media filler in Chinese web dumps.
//!
//! Data flows one way: [`sources`] (inputs walked as a run reaches them) -> [`input`]
//! (decompression by [`compression`], the [`sniff`] for what is not text, encodings by
//! [`charset`]) -> [`reader`] (chunks of lines;
//! [`jsonl`] records) -> [`features`] (jieba-rs tokens and
//! structure tokens) -> [`model`] (linfa-bayes multinomial naive Bayes, compiled to a
//! per-token table; stored by [`model_file`]) -> [`context`] (an HMM over a document's lines) -> [`classifier`] (posteriors and keep
//! decisions) -> [`writer`] (tag records, filtered text). [`pipeline`] joins them and
//! counts what it did in a [`summary`]; [`outdir`] plans runs into an output folder
//! (`--resume`); [`train`], [`dataset`] and [`eval`] serve the training side.

// Every public item is documented; clippy -D warnings in CI keeps it so.
#![warn(missing_docs)]

pub mod bunzip2;
pub mod bz2;
pub mod charset;
pub mod classifier;
pub mod compression;
pub mod context;
pub mod counts;
pub mod dataset;
pub mod dolma;
pub mod error;
pub mod eval;
pub mod explain;
pub mod features;
pub mod file_list;
pub mod gzip;
pub mod html;
pub mod huge_pages;
pub mod in_order;
pub mod input;
pub mod interrupt;
pub mod jsonl;
pub mod lz4;
pub mod model;
pub mod model_file;
pub mod outdir;
pub mod output;
pub mod parquet;
pub mod pipeline;
pub mod plot;
pub mod progress;
pub mod reader;
pub mod sniff;
pub mod sources;
pub mod stdin;
pub mod summary;
#[cfg(test)]
mod test_support;
pub mod token_table;
pub mod traditional;
pub mod train;
pub mod warc;
pub mod whitespace;
pub mod writer;
pub mod xz;
pub mod zst;

pub use error::{Error, Result};

/// The default model, trained by `training/build-model.sh` and embedded in the binary.
pub const DEFAULT_MODEL: &[u8] = include_bytes!("../models/default.chaff");

/// Loads the embedded default model.
pub fn default_model() -> Result<model::Model> {
    model_file::from_bytes(
        DEFAULT_MODEL,
        std::path::Path::new("<embedded default model>"),
    )
}

/// Loads the model file at `path`, or the embedded default model when `None`.
pub fn load_model(path: Option<&std::path::Path>) -> Result<model::Model> {
    match path {
        Some(p) => model_file::load(p),
        None => default_model(),
    }
}

/// CRC-32 of a model file's bytes (the embedded default's when `None`): how a run's
/// settings record ([`outdir::RunRecord`]) names its model.
pub fn model_crc32(path: Option<&std::path::Path>) -> Result<u32> {
    Ok(match path {
        Some(p) => crc32fast::hash(&std::fs::read(p).map_err(|e| Error::io(p, e))?),
        None => crc32fast::hash(DEFAULT_MODEL),
    })
}

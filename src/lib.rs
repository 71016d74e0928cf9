//! chaff: separates news paragraphs from social-media filler in Chinese web dumps.
//!
//! Data flows one way: [`sources`] (inputs walked as a run reaches them) -> [`input`]
//! (decompression by [`compression`], the [`sniff`] for what is not text, encodings by
//! [`charset`]) -> [`reader`] (chunks of lines;
//! [`jsonl`] records, their JSON scanned by [`json`]) -> [`features`] (jieba-rs tokens and
//! structure tokens) -> [`model`] (linfa-bayes multinomial naive Bayes, compiled to a
//! per-token table; stored by [`model_file`]) -> [`context`] (an HMM over a document's lines) -> [`classifier`] (posteriors and keep
//! decisions) -> [`writer`] (tag records, filtered text). [`pipeline`] joins them and
//! counts what it did in a [`summary`]; [`outdir`] plans runs into an output folder
//! (one at a time: [`folder_lock`]), whose [`journal`] and resumable [`side_file`]s let
//! `--resume` finish a stopped run; [`train`], [`dataset`] and [`eval`] serve the
//! training side. [`cli`] wires the command line to them (`main.rs` only parses).
//!
//! # Filtering a page held in memory
//!
//! A document is split into lines, every line decided in the context of the others,
//! and the kept lines sliced back out of the text (blank-line runs kept only between kept
//! paragraphs), as `chaff filter` writes them ([`pipeline::filter_str`]):
//!
//! ```
//! use chaff::classifier::{Classifier, KeepPolicy};
//!
//! let classifier = Classifier::load(chaff::default_model)?;
//! // Keep `news` at the model's own threshold, as `chaff filter` does by default.
//! let policy = KeepPolicy::new(classifier.model(), &[], None)?;
//! let page = "【国务院部署推进新型工业化】\n\n\
//!             国务院总理主持召开国务院常务会议，研究部署推进新型工业化有关工作。\n\n\
//!             会议指出，要加快建设现代化产业体系，推动制造业高端化、智能化、绿色化发展。\n\n\n\
//!             发布 👍 12 举报 写留言\n\
//!             ✋热门推荐\n\
//!             • 周末去吃了那家网红火锅，排队两小时，味道一般般吧[汗]\n\
//!             • 转发这条锦鲤，下周考试全过！！！\n";
//! let kept = chaff::pipeline::filter_str(&classifier, &policy, page);
//! assert!(kept.starts_with("【国务院部署推进新型工业化】\n\n国务院总理"));
//! assert!(kept.ends_with("绿色化发展。\n"));
//!
//! // Each line's decision and P(class), as `chaff tag` reports them.
//! let lines = chaff::reader::split_str_at(page, 1);
//! let decisions = chaff::pipeline::decide(&classifier, &policy, &lines, false);
//! let news = classifier.model().class_index("news").unwrap();
//! let ad = decisions[9].as_ref().unwrap(); // line 10: a recommended post
//! assert!(!ad.keep && ad.posteriors[news] < 0.01);
//! # Ok::<(), chaff::Error>(())
//! ```
//!
//! A long document (a record of tens of thousands of lines) is better decided with
//! [`pipeline::decide_document`], as `filter_str` and `chaff filter` decide it: a chunk
//! at a time, in memory bounded by the chunk.
//!
//! # Filtering files as the command line does
//!
//! [`pipeline::Engine`] runs the whole streaming pipeline (folders walked, inputs
//! decompressed and decoded, chunks classified on rayon's pool, as many workers as it
//! has threads, output in input order):
//!
//! ```no_run
//! use chaff::classifier::{Classifier, KeepPolicy};
//! use chaff::pipeline::{Engine, FilterTarget, RunOptions, Sidecars};
//! use chaff::sources::{Input, Inputs};
//! use std::path::PathBuf;
//!
//! let classifier = Classifier::load(chaff::default_model)?;
//! let policy = KeepPolicy::new(classifier.model(), &[], None)?;
//! let engine = Engine { classifier: &classifier, policy: &policy, opts: RunOptions::default() };
//! let inputs = Input::all_given(&[PathBuf::from("page.txt")]);
//! let mut out = Vec::new();
//! let summary = engine.filter(
//!     Inputs::walk(inputs.into()),
//!     FilterTarget::Stream(&mut out),
//!     Sidecars::default(),
//! )?;
//! eprintln!("{}", summary.line(0.0));
//! # Ok::<(), chaff::Error>(())
//! ```

// Every public item is documented; clippy -D warnings in CI keeps it so.
#![warn(missing_docs)]

pub mod bunzip2;
pub mod bz2;
pub mod charset;
pub mod classifier;
pub mod cli;
pub mod compression;
pub mod context;
pub mod counts;
pub mod dataset;
pub mod destination;
pub mod dolma;
pub mod error;
pub mod eval;
pub mod explain;
pub mod features;
pub mod file_list;
pub mod folder_lock;
pub mod gunzip;
pub mod gzip;
pub mod html;
pub mod huge_pages;
pub mod in_order;
pub mod input;
pub mod interrupt;
pub mod journal;
pub mod json;
pub mod json_array;
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
pub mod say;
pub mod seen;
pub mod side_file;
pub mod sniff;
pub mod sources;
pub mod stdin;
pub mod streams;
pub mod summary;
#[cfg(test)]
mod test_support;
pub mod token_table;
pub mod traditional;
pub mod train;
pub mod unxz;
pub mod unzstd;
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

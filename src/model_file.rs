//! The model file format: versioned, self-describing, checksummed.
//!
//! ```text
//! offset  size  field
//! 0       8     magic "CHAFFMDL"
//! 8       4     format version, u32 little-endian (2; 1 for a model without line
//!               fingerprints, which this build also reads)
//! 12      8     header length H, u64 LE
//! 20      H     header: UTF-8 JSON (format name, classes, paragraphs per class, training
//!               settings incl. tokenizer, summary, vocabulary size)
//! 20+H    ...   body, all integers LE:
//!                 u64 T; T x { u32 len, token bytes, K x u64 count }   (all counted tokens, sorted)
//!                 K x f64 ln P(class)
//!                 u64 V; V x { u32 index into the T tokens, K x f64 ln P(token|class) }
//!                 version 2: u64 N; N x LEB128 (the trained lines' fingerprints,
//!                 sorted, each as its difference from the one before: [`crate::seen`])
//! end-4   4     CRC-32 (IEEE) of every preceding byte
//! ```
//! Readers check magic, version, checksum and every length before trusting them, so a
//! foreign, truncated or corrupted file is an error, never a panic or a wrong answer.

use crate::context::ContextModel;
use crate::counts::Counts;
use crate::error::{Error, Result};
use crate::model::{Model, TrainInfo};
use crate::seen::Seen;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// First bytes of every chaff model file.
pub const MAGIC: &[u8; 8] = b"CHAFFMDL";
/// The format version this build writes for a model with line fingerprints, and reads
/// (with version 1, which it writes for a model without them).
pub const FORMAT_VERSION: u32 = 2;

/// The JSON header: everything a human or another tool needs to know about the model
/// without parsing the body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    /// Always "chaff-model".
    pub format: String,
    /// chaff version that wrote the file.
    pub written_by: String,
    /// Class names, in the body's per-class order.
    pub classes: Vec<String>,
    /// Training paragraphs per class.
    pub paragraphs: Vec<u64>,
    /// Distinct tokens counted.
    pub counted_tokens: u64,
    /// Tokens in the scoring table (after `min_count`).
    pub vocab_size: u64,
    /// Training settings and provenance.
    pub train: TrainInfo,
    /// Sequence (context) model parameters.
    pub context: ContextModel,
}

/// Serialises a model.
pub fn to_bytes(model: &Model) -> Vec<u8> {
    let counts = model.counts();
    let k = counts.classes().len();
    let header = serde_json::to_vec_pretty(&header_of(model)).expect("header serialises");
    let mut out = Vec::with_capacity(1 << 20);
    out.extend_from_slice(MAGIC);
    // A model without fingerprints stays readable by chaff before version 2.
    let version = if model.seen.is_some() {
        FORMAT_VERSION
    } else {
        1
    };
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    let tokens = counts.sorted_tokens();
    out.extend_from_slice(&(tokens.len() as u64).to_le_bytes());
    let mut pos = FxHashMap::default();
    for (i, (t, c)) in tokens.iter().enumerate() {
        pos.insert(*t, i as u32);
        out.extend_from_slice(&(t.len() as u32).to_le_bytes());
        out.extend_from_slice(t.as_bytes());
        for &n in c.iter() {
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
    for &p in model.log_prior() {
        out.extend_from_slice(&p.to_le_bytes());
    }
    out.extend_from_slice(&(model.vocab().len() as u64).to_le_bytes());
    let table = model.log_prob_table();
    for (j, t) in model.vocab().iter().enumerate() {
        out.extend_from_slice(&pos[t.as_str()].to_le_bytes());
        for &l in &table[j * k..(j + 1) * k] {
            out.extend_from_slice(&l.to_le_bytes());
        }
    }
    if let Some(seen) = &model.seen {
        seen.encode(&mut out);
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Bounds-checked little-endian reader over the body.
struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(e) => {
                let s = &self.buf[self.at..e];
                self.at = e;
                Ok(s)
            }
            None => Err(format!("truncated at byte {}", self.at)),
        }
    }
    fn u32(&mut self) -> std::result::Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> std::result::Result<u64, String> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn f64(&mut self) -> std::result::Result<f64, String> {
        let v = f64::from_bits(self.u64()?);
        if v.is_finite() {
            Ok(v)
        } else {
            Err(format!("non-finite parameter before byte {}", self.at))
        }
    }
    /// A count read from the file, capped by what the remaining bytes could hold, so a
    /// corrupted length cannot make us allocate gigabytes.
    fn len(&mut self, min_item_size: usize) -> std::result::Result<usize, String> {
        let n = self.u64()?;
        let left = (self.buf.len() - self.at) as u64;
        if n.saturating_mul(min_item_size as u64) > left {
            return Err(format!("length {n} exceeds the file"));
        }
        Ok(n as usize)
    }
}

/// Parses a model; `path` only names the source in errors.
pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Model> {
    parse(bytes).map_err(|msg| Error::model(path, msg))
}

fn parse(bytes: &[u8]) -> std::result::Result<Model, String> {
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        return Err("missing CHAFFMDL magic (not a chaff model file)".into());
    }
    if bytes.len() < 24 {
        return Err("file is truncated".into());
    }
    let (data, crc) = bytes.split_at(bytes.len() - 4);
    let mut r = Reader { buf: data, at: 8 };
    let version = r.u32()?;
    if !(1..=FORMAT_VERSION).contains(&version) {
        return Err(format!(
            "format version {version}, this chaff reads versions 1 to {FORMAT_VERSION}"
        ));
    }
    let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if crc32fast::hash(data) != stored {
        return Err("checksum mismatch (file is corrupted or truncated)".into());
    }
    let hlen = r.len(1)?;
    let header: Header =
        serde_json::from_slice(r.take(hlen)?).map_err(|e| format!("bad header: {e}"))?;
    let k = header.classes.len();
    if k < 2 || header.paragraphs.len() != k {
        return Err("header lists fewer than two classes".into());
    }
    let mut sorted = header.classes.clone();
    sorted.sort();
    sorted.dedup();
    if sorted != header.classes {
        return Err("header classes are not sorted and unique".into());
    }
    let t = r.len(4 + 8 * k)?;
    let mut names = Vec::with_capacity(t);
    let mut tokens = FxHashMap::default();
    tokens.reserve(t);
    for _ in 0..t {
        let n = r.u32()? as usize;
        let s = std::str::from_utf8(r.take(n)?)
            .map_err(|_| "token is not UTF-8".to_string())?
            .to_string();
        let mut c = Vec::with_capacity(k);
        for _ in 0..k {
            c.push(r.u64()?);
        }
        names.push(s.clone());
        tokens.insert(s, c);
    }
    if tokens.len() != t {
        return Err("duplicate token in counts".into());
    }
    let mut log_prior = Vec::with_capacity(k);
    for _ in 0..k {
        log_prior.push(r.f64()?);
    }
    let v = r.len(4 + 8 * k)?;
    let mut vocab = Vec::with_capacity(v);
    let mut log_prob = Vec::with_capacity(v * k);
    // A token twice in the vocabulary would have two rows, and the token table, whose
    // fingerprints must all differ, could never be built.
    let mut listed = vec![false; names.len()];
    for _ in 0..v {
        let i = r.u32()? as usize;
        let name = names.get(i).ok_or("vocabulary index out of range")?;
        if std::mem::replace(&mut listed[i], true) {
            return Err(format!("token {name:?} is listed twice in the vocabulary"));
        }
        vocab.push(name.clone());
        for _ in 0..k {
            log_prob.push(r.f64()?);
        }
    }
    let seen = if version >= 2 {
        let (seen, used) = Seen::decode(&data[r.at..])?;
        r.at += used;
        Some(seen)
    } else {
        None
    };
    if r.at != data.len() {
        return Err(format!(
            "{} unexpected bytes after the body",
            data.len() - r.at
        ));
    }
    let blocks_ok = [
        1,
        crate::context::GAPS,
        crate::context::GAP_PAIRS,
        crate::context::SENTENCE_BLOCK + 1,
        crate::context::BLOCKS,
    ]
    .contains(&(header.context.trans.len() / (k * k).max(1)))
        && header.context.trans.len() % (k * k).max(1) == 0;
    if header.context.start.len() != k || !blocks_ok {
        return Err("context model does not match the classes".into());
    }
    if !(header.context.gamma > 0.0 && header.context.gamma.is_finite()) {
        return Err("context gamma must be positive".into());
    }
    let counts = Counts::from_parts(header.classes.clone(), header.paragraphs.clone(), tokens);
    let mut model = Model::from_parts(
        header.train,
        header.context,
        counts,
        log_prior,
        vocab,
        log_prob,
    );
    model.written_by = header.written_by;
    model.seen = seen;
    Ok(model)
}

/// Reads and parses a model file.
pub fn load(path: &Path) -> Result<Model> {
    if path.as_os_str() == "-" {
        // Standard input is the run's data in most commands; a model is named.
        return Err(Error::Usage(
            "a model is read from a file, not `-` (/dev/stdin reads one from standard input)"
                .into(),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    from_bytes(&decompressed(bytes).map_err(|e| Error::io(path, e))?, path)
}

/// A model file's bytes, decompressed if compressed (a model written to `m.chaff.gz` is
/// gzipped, as every file chaff writes is compressed as its name says).
fn decompressed(bytes: Vec<u8>) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let codec = crate::compression::Compression::sniff(&bytes);
    if codec == crate::compression::Compression::None {
        return Ok(bytes);
    }
    let mut plain = Vec::new();
    codec
        .decoder(std::io::Cursor::new(bytes))?
        .read_to_end(&mut plain)?;
    Ok(plain)
}

/// The self-description written at the head of a model file.
pub fn header_of(model: &Model) -> Header {
    Header {
        format: "chaff-model".into(),
        written_by: env!("CARGO_PKG_VERSION").into(),
        classes: model.classes().to_vec(),
        paragraphs: model.counts().docs().to_vec(),
        counted_tokens: model.counts().distinct_tokens() as u64,
        vocab_size: model.vocab().len() as u64,
        train: model.info.clone(),
        context: model.context.clone(),
    }
}

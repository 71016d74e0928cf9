//! Any bytes as a model file: a clear error or a usable model, never a panic or a hang.
//! Inputs that load must classify a line to finite posteriors summing to one.
#![no_main]

use chaff::classifier::Classifier;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the mode. Odd: the rest gets its correct checksum appended,
    // so mutations reach the body's parser instead of stopping at the CRC. Even: the rest
    // as it is.
    let bytes = match data.split_first() {
        Some((&mode, rest)) if mode & 1 == 1 => {
            let mut b = rest.to_vec();
            b.extend_from_slice(&crc32fast::hash(rest).to_le_bytes());
            b
        }
        Some((_, rest)) => rest.to_vec(),
        None => Vec::new(),
    };
    if let Ok(m) = chaff::model_file::from_bytes(&bytes, std::path::Path::new("fuzz")) {
        let c = Classifier::new(m);
        for p in c.classify_lines(&["国务院常务会议", "哈哈[哈哈]"], &[0, 1]) {
            let s: f64 = p.iter().sum();
            assert!(p.iter().all(|x| x.is_finite()) && (s - 1.0).abs() < 1e-6, "{p:?}");
        }
    }
});

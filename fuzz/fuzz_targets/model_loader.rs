//! Any bytes as a model file: a clear error or a usable model, never a panic. Inputs
//! that load must classify a line to finite posteriors summing to one.
#![no_main]

use chaff::classifier::Classifier;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = chaff::model_file::from_bytes(data, std::path::Path::new("fuzz")) {
        let c = Classifier::new(m);
        for p in c.classify_lines(&["国务院常务会议", "哈哈[哈哈]"], &[0, 1]) {
            let s: f64 = p.iter().sum();
            assert!(p.iter().all(|x| x.is_finite()) && (s - 1.0).abs() < 1e-6, "{p:?}");
        }
    }
});

//! What the fuzz targets share.

use chaff::classifier::{Classifier, KeepPolicy};
use std::sync::OnceLock;

/// The embedded default model and its keep policy, loaded once per process.
pub fn model() -> &'static (Classifier, KeepPolicy) {
    static M: OnceLock<(Classifier, KeepPolicy)> = OnceLock::new();
    M.get_or_init(|| {
        let m = chaff::default_model().expect("embedded model loads");
        let p = KeepPolicy::new(&m, &[], None).expect("default policy");
        (Classifier::new(m), p)
    })
}

/// The default keep policy with a document threshold (`--doc-threshold 0.2`).
#[allow(dead_code)] // the reader target's; every target compiles this module
pub fn gated() -> &'static KeepPolicy {
    static G: OnceLock<KeepPolicy> = OnceLock::new();
    G.get_or_init(|| {
        let (_, p) = model();
        p.clone().with_doc_threshold(Some(0.2)).expect("a threshold in range")
    })
}

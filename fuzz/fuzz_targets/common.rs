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

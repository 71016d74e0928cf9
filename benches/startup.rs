//! Start-up costs paid once per process: parsing the embedded model and loading jieba's
//! dictionary; plus per-line scoring cost.

use chaff::classifier::Classifier;
use chaff::features::{FeatureConfig, Featurizer};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn startup(c: &mut Criterion) {
    c.bench_function("model_load_embedded", |b| {
        b.iter(|| black_box(chaff::default_model().unwrap()))
    });
    c.bench_function("jieba_dictionary_load", |b| {
        b.iter(|| black_box(Featurizer::new(FeatureConfig::default())))
    });
    c.bench_function("classifier_load_both_in_parallel", |b| {
        b.iter(|| black_box(Classifier::load(chaff::default_model).unwrap()))
    });
    let clf = Classifier::new(chaff::default_model().unwrap());
    let line =
        "记者从江城市住房和城乡建设局获悉，今年全市计划改造老旧小区一百二十个，涉及居民三万余户。";
    c.bench_function("score_one_line", |b| {
        b.iter(|| black_box(clf.classify_lines(&[black_box(line)], &[])))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = startup
}
criterion_main!(benches);

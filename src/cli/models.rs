//! The commands about models: `train`, `forget`, `eval`, `explain` and `inspect`.

use super::args::{EvalArgs, ExplainArgs, ForgetArgs, InspectArgs, ModelArg, TrainArgs};
use super::{classifier_and_policy, print_text, Global};
use crate::classifier::Classifier;
use crate::features::FeatureConfig;
use crate::model::Model;
use crate::sources::{self, Input};
use crate::train::TrainOptions;
use crate::{dataset, eval, model_file, output, train, Error, Result};
use std::path::{Path, PathBuf};

/// The model `--model` names, or the embedded one.
pub(crate) fn load_model(arg: &ModelArg) -> Result<Model> {
    crate::load_model(arg.model.as_deref())
}

/// Writes `model` to `path` whole or not at all (compressed as the name says).
pub(crate) fn save_model(model: &Model, path: &Path) -> Result<()> {
    output::write_atomic(path, &model_file::to_bytes(model))
}

/// The line `train` and `forget` end with on stderr: what was written.
pub(crate) fn summarize(model: &Model, path: &Path) {
    let classes: Vec<String> = model
        .classes()
        .iter()
        .zip(model.counts().docs())
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    crate::say!(
        "chaff: wrote {}: paragraphs {}; {} tokens counted, {} in the table",
        path.display(),
        classes.join(", "),
        model.counts().distinct_tokens(),
        model.vocab().len()
    );
}

/// `chaff train`: a new model, or `--update` of one.
pub(crate) fn cmd_train(a: TrainArgs, g: &Global) -> Result<()> {
    let out = a
        .output
        .clone()
        .or(a.update.clone())
        .ok_or_else(|| Error::Usage("train needs -o MODEL (or --update MODEL)".into()))?;
    let read = [&a.inputs[..], &a.tune_on].concat();
    Input::stdin_at_most_once(&read)?;
    let opts = TrainOptions {
        alpha: a.alpha,
        min_count: a.min_count,
        threshold: a.threshold,
        gamma: a.gamma,
        tune_on: a.tune_on,
        decode: a.decoding.options()?,
        features: FeatureConfig {
            hmm: a.hmm,
            structure: !a.no_structure,
            ..FeatureConfig::default()
        },
    };
    // A bad setting is named before the inputs are looked at.
    opts.check()?;
    let flag = if a.output.is_some() { "-o" } else { "--update" };
    refuse_overwriting_inputs(&read, flag, &out, false)?;
    let model = match &a.update {
        Some(base) => train::update(&model_file::load(base)?, &a.inputs, &opts.decode)?,
        None => train::train(&a.inputs, &opts)?,
    };
    save_model(&model, &out)?;
    if !g.quiet {
        summarize(&model, &out);
    }
    Ok(())
}

/// `chaff forget`: a model without the given data.
pub(crate) fn cmd_forget(a: ForgetArgs, g: &Global) -> Result<()> {
    let flag = if a.output.is_some() { "-o" } else { "-m" };
    let out = a.output.clone().unwrap_or(a.model.clone());
    Input::stdin_at_most_once(&a.inputs)?;
    refuse_overwriting_inputs(&a.inputs, flag, &out, false)?;
    let decode = a.decoding.options()?;
    let model = train::forget(&model_file::load(&a.model)?, &a.inputs, &decode)?;
    save_model(&model, &out)?;
    if !g.quiet {
        summarize(&model, &out);
    }
    Ok(())
}

/// Refuses a file written to `out` (a model, a plot) that is one of the labelled
/// `inputs` or lies in an input folder (it would replace the data, or be read back as
/// data), or, if the command prints to stdout (`stdout`), that is stdout.
pub(crate) fn refuse_overwriting_inputs(
    inputs: &[PathBuf],
    flag: &'static str,
    out: &Path,
    stdout: bool,
) -> Result<sources::Written> {
    let mut written = sources::Written::new(&[(flag, Some(out))])?;
    if stdout {
        written = written.and_stdout()?;
    }
    sources::check(Input::all_given(inputs), &written)?;
    Ok(written)
}

/// `chaff eval`: the report on stdout, the warning on training data on stderr.
pub(crate) fn cmd_eval(a: EvalArgs) -> Result<()> {
    Input::stdin_at_most_once(&a.inputs)?;
    if let Some(plot) = &a.plot {
        // The report goes to stdout: a plot there would be mixed into it.
        let written = refuse_overwriting_inputs(&a.inputs, "--plot", plot, true)?;
        a.model.refuse_written(&written)?;
    }
    let (c, p) = classifier_and_policy(&a.model, &a.decision)?;
    let docs = dataset::read_labelled(&a.inputs, &a.decoding.options()?)?;
    let report = eval::evaluate(c, &p, &docs)?;
    if let Some(w) = report.seen_warning() {
        crate::say!("chaff: warning: {w}");
    }
    if let Some(path) = &a.plot {
        crate::plot::plot(&report, path)?;
    }
    let text = if a.json {
        serde_json::to_string_pretty(&report).map_err(|e| Error::Usage(e.to_string()))? + "\n"
    } else {
        report.to_text()
    };
    print_text(&text)
}

/// `chaff explain`: token contributions and context of a line or a file's lines.
pub(crate) fn cmd_explain(a: ExplainArgs) -> Result<()> {
    let c = Classifier::load(|| load_model(&a.model))?;
    let decode = a.decoding.options()?;
    if let Some(hint) = crate::explain::missing_file_hint(&a.input) {
        crate::say!("chaff: warning: {hint}");
    }
    print_text(&crate::explain::explain_input(
        &c, &a.input, &decode, a.top,
    )?)
}

/// `chaff inspect`: a model described.
pub(crate) fn cmd_inspect(a: InspectArgs) -> Result<()> {
    let model = load_model(&ModelArg { model: a.model })?;
    let text = crate::model::describe(&model, a.top);
    print_text(&text)
}

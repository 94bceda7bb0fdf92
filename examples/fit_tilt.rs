//! Fits the sampler's tilt ([`tunesmith::generate::tilt`]) for a character model: draws `N`
//! pieces of `CANDIDATES` candidates each at the model's own settings (its folder's
//! `sampling.json`, else the defaults; seeds from 1,000,000, far
//! from the benchmarks' 0..400), reads the features of every candidate, and finds the weights
//! under which the kept tunes' features (the tonic ending, more than one part, the pitch-class
//! entropy) have the means of the **training** tunes of the default corpus's fixed split. Prints
//! the means before and after,
//! and the weights to put in the model's `sampling.json` (`"tilt"`).
//!
//! Usage: `cargo run --release --example fit_tilt -- CHECKPOINT [N] [CANDIDATES] [TEMPERATURE]
//! [FORM] [COPY_SHARPNESS]` (FORM as `tunesmith generate --form`; COPY_SHARPNESS as `bench_tunes`)
//! (`TILT_FEATURES=tonic,entropy` fits those weights alone, the others left at 0; the names are
//! `tonic`, `parts` and `entropy`, all three by default).

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Instant;
use tunesmith::abc::{abc_to_score, CleanOptions};
use tunesmith::corpus::load_default_abc_corpus;
use tunesmith::generate::resample::generate_candidates;
use tunesmith::generate::tilt::{
    fit, kept_means, tune_features, CandidateFeatures, TILT_FEATURES, TILT_FEATURE_COUNT,
};
use tunesmith::generate::{open_for_generation, Form, Primer, SampleConfig, Tilt};
use tunesmith::metrics::fixed_split;
use tunesmith::model::CopyMemory;

/// The first seed of the fit's pieces.
const FIT_SEED_BASE: u64 = 1_000_000;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let checkpoint = PathBuf::from(args.get(1).context(
        "usage: fit_tilt CHECKPOINT [N] [CANDIDATES] [TEMPERATURE] [FORM] [COPY_SHARPNESS]",
    )?);
    let count: usize = args.get(2).map_or(Ok(400), |a| a.parse())?;
    // The model's own sampling settings (its folder's `sampling.json`), else the defaults.
    let generator = open_for_generation(&checkpoint, tch::Device::Cpu)?;
    let defaults = generator.sampling.clone();
    let candidates: usize = args.get(3).map_or(Ok(defaults.candidates), |a| a.parse())?;
    let temperature: f64 = args
        .get(4)
        .map_or(Ok(defaults.temperature), |a| a.parse())?;
    let form: Form = args
        .get(5)
        .map_or(Ok(defaults.form.clone()), |a| a.parse())?;
    let copy_memory = match args.get(6) {
        Some(k) => CopyMemory::fitted().sharpened(k.parse().context("COPY_SHARPNESS")?),
        None => defaults.copy_memory.clone(),
    };

    // TILT_FEATURES: which features to fit, by short name (`tonic`, `parts`, `entropy`), comma
    // separated; the others' weights stay 0. By default all of them.
    let chosen: Vec<usize> = match std::env::var("TILT_FEATURES") {
        Err(_) => (0..TILT_FEATURE_COUNT).collect(),
        Ok(list) => list
            .split(',')
            .map(|name| match name.trim() {
                "tonic" => Ok(0),
                "parts" => Ok(1),
                "entropy" => Ok(2),
                other => anyhow::bail!("TILT_FEATURES: {other:?} is not tonic, parts or entropy"),
            })
            .collect::<Result<_>>()?,
    };

    let corpus = load_default_abc_corpus(&CleanOptions::default())?;
    let split = fixed_split(&corpus.tunes, |t| t.text.as_str());
    let mut sums = [0.0; TILT_FEATURE_COUNT];
    let mut read = 0usize;
    for tune in &split.train {
        let text = format!("{}\n", tune.text.trim_end());
        if abc_to_score(&text).is_ok() {
            for (sum, f) in sums.iter_mut().zip(tune_features(&text)) {
                *sum += f;
            }
            read += 1;
        }
    }
    let targets = sums.map(|s| s / read as f64);
    println!(
        "training tunes: {read} of {} read; means: {}",
        split.train.len(),
        describe(&targets)
    );

    let configs: Vec<SampleConfig> = (0..count)
        .map(|i| SampleConfig {
            seed: FIT_SEED_BASE + i as u64,
            candidates,
            temperature,
            form: form.clone(),
            copy_memory: copy_memory.clone(),
            ..defaults.clone()
        })
        .collect();
    let start = Instant::now();
    let groups: Vec<Vec<CandidateFeatures>> = generate_candidates(
        generator.model.as_ref(),
        &generator.encoding,
        &Primer::none(),
        &configs,
    )?
    .iter()
    .map(|group| group.iter().map(CandidateFeatures::of).collect())
    .collect();
    println!(
        "{count} pieces of {candidates} candidates at temperature {temperature}, form {form:?}, in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let all: Vec<&CandidateFeatures> = groups.iter().flatten().collect();
    let candidate_means: [f64; TILT_FEATURE_COUNT] =
        std::array::from_fn(|i| all.iter().map(|c| c.features[i]).sum::<f64>() / all.len() as f64);
    println!("candidates: {}", describe(&candidate_means));
    let (before, _) = kept_means(&groups, &Tilt::off());
    let (shipped, _) = kept_means(&groups, &defaults.tilt);
    let tilt = fit(
        &groups,
        std::array::from_fn(|i| chosen.contains(&i).then_some(targets[i])),
    )?;
    let (after, _) = kept_means(&groups, &tilt);
    println!("kept, no tilt: {}", describe(&before));
    println!(
        "kept, the model's tilt now {:?}: {}",
        defaults.tilt,
        describe(&shipped)
    );
    println!("fitted tilt: {tilt:?}; kept: {}", describe(&after));
    Ok(())
}

/// The features' values with their names.
fn describe(values: &[f64; TILT_FEATURE_COUNT]) -> String {
    TILT_FEATURES
        .iter()
        .zip(values)
        .map(|(name, v)| format!("{name} {v:.3}"))
        .collect::<Vec<_>>()
        .join(", ")
}

//! Fits the sampler's tilt ([`tunesmith::generate::tilt`]) for a character model: draws `N`
//! pieces of `CANDIDATES` candidates each at the default settings (seeds from 1,000,000, far
//! from the benchmarks' 0..400), reads the features of every candidate, and finds the weights
//! under which the kept tunes end on the tonic and have more than one part as often as the
//! **training** tunes of the default corpus's fixed split do. Prints the means before and after,
//! and the weights to put in `SHIPPED_MODEL_TILT`.
//!
//! Usage: `cargo run --release --example fit_tilt -- CHECKPOINT [N] [CANDIDATES] [TEMPERATURE]
//! [FORM]` (FORM as `tunesmith generate --form`)
//! (`TILT_FEATURES=tonic` fits the tonic's weight alone, the parts' left at 0).

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Instant;
use tunesmith::abc::{abc_to_score, CleanOptions};
use tunesmith::corpus::load_default_abc_corpus;
use tunesmith::generate::resample::generate_candidates;
use tunesmith::generate::tilt::{fit, kept_means, tune_features, CandidateFeatures, TILT_FEATURES};
use tunesmith::generate::{open_for_generation, Form, Primer, SampleConfig, Tilt};
use tunesmith::metrics::fixed_split;

/// The first seed of the fit's pieces.
const FIT_SEED_BASE: u64 = 1_000_000;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let checkpoint = PathBuf::from(
        args.get(1)
            .context("usage: fit_tilt CHECKPOINT [N] [CANDIDATES] [TEMPERATURE] [FORM]")?,
    );
    let count: usize = args.get(2).map_or(Ok(400), |a| a.parse())?;
    let defaults = SampleConfig::default();
    let candidates: usize = args.get(3).map_or(Ok(defaults.candidates), |a| a.parse())?;
    let temperature: f64 = args
        .get(4)
        .map_or(Ok(defaults.temperature), |a| a.parse())?;
    let form: Form = args
        .get(5)
        .map_or(Ok(defaults.form.clone()), |a| a.parse())?;

    let corpus = load_default_abc_corpus(&CleanOptions::default())?;
    let split = fixed_split(&corpus.tunes, |t| t.text.as_str());
    let mut sums = [0.0; 2];
    let mut read = 0usize;
    for tune in &split.train {
        let text = format!("{}\n", tune.text.trim_end());
        if let Ok(score) = abc_to_score(&text) {
            let f = tune_features(&text, Some(&score));
            sums[0] += f[0];
            sums[1] += f[1];
            read += 1;
        }
    }
    let targets = [sums[0] / read as f64, sums[1] / read as f64];
    println!(
        "training tunes: {read} of {} read; {}: {:.3}, {}: {:.3}",
        split.train.len(),
        TILT_FEATURES[0],
        targets[0],
        TILT_FEATURES[1],
        targets[1]
    );

    let generator = open_for_generation(&checkpoint, tch::Device::Cpu)?;
    let configs: Vec<SampleConfig> = (0..count)
        .map(|i| SampleConfig {
            seed: FIT_SEED_BASE + i as u64,
            candidates,
            temperature,
            form: form.clone(),
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
    for (i, name) in TILT_FEATURES.iter().enumerate() {
        let share = all.iter().map(|c| c.features[i]).sum::<f64>() / all.len() as f64;
        println!("candidates: {name} {share:.3}");
    }
    let (before, _) = kept_means(&groups, &Tilt::off());
    let (shipped, _) = kept_means(&groups, &Tilt::default());
    // FEATURES: `both` (the default) or `tonic` (the tonic alone, the parts' weight left at 0).
    let only_tonic = std::env::var("TILT_FEATURES").is_ok_and(|v| v == "tonic");
    let tilt = fit(
        &groups,
        [Some(targets[0]), (!only_tonic).then_some(targets[1])],
    )?;
    let (after, _) = kept_means(&groups, &tilt);
    println!("kept, no tilt: {:.3}, {:.3}", before[0], before[1]);
    println!(
        "kept, the shipped tilt {:?}: {:.3}, {:.3}",
        Tilt::default(),
        shipped[0],
        shipped[1]
    );
    println!(
        "fitted tilt: ends_on_tonic {:.3}, several_parts {:.3}; kept: {:.3}, {:.3}",
        tilt.ends_on_tonic, tilt.several_parts, after[0], after[1]
    );
    Ok(())
}

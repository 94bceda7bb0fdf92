//! Tunes of a character model against the held-out test tunes of the fixed split, as issue 20's
//! checks ask: N tunes at the given settings (by default the model's own, from its folder's
//! `sampling.json`, else `SampleConfig::default()`), the share that end by themselves, music21's
//! verdict (parses, every bar adds up), the crate's `TuneStatistics` side by side with a distance
//! per statistic, and a cross-validated logistic regression that tries to tell the two sets apart.
//!
//! Usage: `cargo run --release --example bench_tunes -- CHECKPOINT [N] [TEMPERATURE] [FORM] [OUT_DIR]
//! [CANDIDATES] [COPY_SHARPNESS]` (FORM: learned, drawn, free, or bars per part such as 8,8;
//! OUT_DIR keeps the tunes, one `.abc` each; CANDIDATES: `SampleConfig::candidates`;
//! COPY_SHARPNESS: the copy memory's fitted weights sharpened by this exponent; `default`, or
//! leaving an argument out, takes the model's own setting). The tilt is the model's own unless
//! `TUNESMITH_TILT` gives one. `TUNESMITH_HELD_OUT=valid` compares with the validation tunes
//! instead, for choosing settings without looking at the test tunes; `TUNESMITH_FIRST_SEED=S`
//! draws the tunes from seeds S, S + 1, … (default 0).

mod common;

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Instant;
use tunesmith::generate::{open_for_generation, write_pieces, Form, Primer, SampleConfig, Tilt};
use tunesmith::metrics::oracle::{find_python_with_music21, music21_quality};
use tunesmith::metrics::{distinguishability, draws_report, SPLIT_VERSION};
use tunesmith::model::CopyMemory;

/// Random balanced subsamples the classifier's accuracy is averaged over.
const CLASSIFIER_DRAWS: u64 = 5;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let checkpoint = PathBuf::from(args.get(1).context(
        "usage: bench_tunes CHECKPOINT [N] [TEMPERATURE] [FORM] [OUT_DIR] [CANDIDATES] [COPY_SHARPNESS]",
    )?);
    let count: usize = args.get(2).map_or(Ok(400), |a| a.parse())?;
    // The model's own sampling settings (its folder's `sampling.json`), else the defaults.
    let generator = open_for_generation(&checkpoint, tch::Device::Cpu)?;
    let defaults = generator.sampling.clone();
    let given = |i: usize| args.get(i).filter(|a| a.as_str() != "default");
    let temperature: f64 = given(3).map_or(Ok(defaults.temperature), |a| a.parse())?;
    let form: Form = given(4).map_or(Ok(defaults.form.clone()), |a| a.parse())?;
    let out = PathBuf::from(args.get(5).map_or("out/bench_tunes", String::as_str));
    let candidates: usize = given(6).map_or(Ok(defaults.candidates), |a| a.parse())?;
    let copy_memory = match given(7) {
        Some(k) => CopyMemory::fitted().sharpened(k.parse().context("COPY_SHARPNESS")?),
        None => defaults.copy_memory.clone(),
    };

    let (part, test) = common::held_out_texts()?;

    // TUNESMITH_TILT: `off`, or the weights `TONIC,PARTS,ENTROPY` (default: the shipped tilt).
    let tilt = match std::env::var("TUNESMITH_TILT").ok().as_deref() {
        None => defaults.tilt,
        Some("off") => Tilt::off(),
        Some(pair) => {
            let w: Vec<f64> = pair
                .split(',')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .context("TUNESMITH_TILT: off or TONIC,PARTS,ENTROPY")?;
            anyhow::ensure!(w.len() == 3, "TUNESMITH_TILT: off or TONIC,PARTS,ENTROPY");
            Tilt::from_weights([w[0], w[1], w[2]])
        }
    };
    // TUNESMITH_FIRST_SEED: the first tune's seed (default 0), for a second set of tunes.
    let first_seed: u64 = match std::env::var("TUNESMITH_FIRST_SEED") {
        Ok(seed) => seed.parse().context("TUNESMITH_FIRST_SEED")?,
        Err(_) => 0,
    };
    let config = SampleConfig {
        temperature,
        seed: first_seed,
        form: form.clone(),
        candidates,
        copy_memory,
        tilt,
        ..defaults
    };
    let start = Instant::now();
    let pieces = generator.generate_many(count, &Primer::none(), &config)?;
    let seconds = start.elapsed().as_secs_f64();
    let tunes: Vec<String> = pieces.iter().filter_map(|p| p.abc.clone()).collect();
    let ended = pieces.iter().filter(|p| !p.reached_step_cap).count();
    let off = pieces.iter().filter(|p| p.constraint_off.is_some()).count();
    let characters: usize = pieces.iter().map(|p| p.new_steps()).sum();
    let _ = std::fs::remove_dir_all(&out);
    let paths = write_pieces(&out, "tune", &pieces)?;
    println!(
        "{} ({}): {count} tunes at temperature {temperature}, form {form:?}, {candidates} candidates each, tilt {tilt:?}, seeds {first_seed}..{}, \
         in {seconds:.1} s ({:.0} characters/s); against the {} {part} tunes (split {SPLIT_VERSION})",
        checkpoint.display(),
        generator.model.summary(),
        first_seed + count as u64,
        characters as f64 / seconds,
        test.len()
    );
    println!(
        "ended by themselves: {ended} of {count}; constraint stepped aside: {off}; written to {}",
        out.display()
    );

    if let Some(python) = find_python_with_music21() {
        let refs: Vec<&std::path::Path> = paths.iter().map(PathBuf::as_path).collect();
        let report = music21_quality(&python, &refs)?.summary();
        println!(
            "music21: parses {:.3}, every bar adds up {:.3} ({} tunes)",
            report.parse_share, report.bars_add_up_share, report.tunes
        );
    } else {
        println!("music21: no Python with music21 found");
    }

    println!("\n{}", common::statistics_table(&tunes, &test));
    // Whole sets: the classifier draws its balanced subsample at random. (The held-out tunes are in
    // corpus order, collection by collection; their first 400 are all in one part.)
    let verdict = distinguishability(&tunes, &test, 5, 0)?;
    println!(
        "logistic regression on {} features, {} folds, {} tunes per set: accuracy {:.3} (folds {:?})",
        verdict.features.len(),
        verdict.folds,
        verdict.tunes_per_set,
        verdict.accuracy,
        verdict
            .fold_accuracies
            .iter()
            .map(|a| format!("{a:.2}"))
            .collect::<Vec<_>>()
    );
    println!("{}", draws_report(&tunes, &test, CLASSIFIER_DRAWS)?);
    for (feature, weight) in verdict.features.iter().zip(&verdict.weights) {
        println!("  {feature:<40} {weight:+.3}");
    }
    Ok(())
}

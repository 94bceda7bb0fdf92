//! The statistics of the default corpus's test tunes against its train tunes (the fixed split):
//! what [`TuneStatistics::compare`] shows when the "generated" tunes are real ones, the floor any
//! model's figures are read against; and how well a classifier tells the two apart.
//!
//! Usage: `cargo run --release --example tune_statistics -- [N]`: at most N tunes of each part
//! (default: all), spread evenly over the part.

use anyhow::{Context, Result};
use tunesmith::abc::CleanOptions;
use tunesmith::corpus::load_default_abc_corpus;
use tunesmith::metrics::{distinguishability, fixed_split, TuneStatistics, SPLIT_VERSION};

/// At most `n` items, spread evenly.
fn spread(texts: Vec<&str>, n: usize) -> Vec<&str> {
    let step = texts.len().div_ceil(n.max(1)).max(1);
    texts.into_iter().step_by(step).collect()
}

fn main() -> Result<()> {
    let n: usize = match std::env::args().nth(1) {
        Some(text) => text.parse().context("N must be a whole number")?,
        None => usize::MAX,
    };
    let corpus = load_default_abc_corpus(&CleanOptions::default())?;
    let split = fixed_split(&corpus.tunes, |t| t.text.as_str());
    let test = spread(split.test.iter().map(|t| t.text.as_str()).collect(), n);
    let train = spread(split.train.iter().map(|t| t.text.as_str()).collect(), n);
    let started = std::time::Instant::now();
    let test_stats = TuneStatistics::of_tunes(&test);
    let train_stats = TuneStatistics::of_tunes(&train);
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "Split {SPLIT_VERSION}: test tunes as the \"generated\" set, train tunes as the held-out \
         set ({seconds:.1} s to read both).\n"
    );
    println!(
        "{}",
        TuneStatistics::compare(&test_stats, &train_stats).markdown()
    );
    let apart = distinguishability(&test, &train, 5, 1)?;
    println!(
        "\nA logistic regression tells test from train tunes {:.1}% of the time ({} folds, {} \
         tunes each).",
        100.0 * apart.accuracy,
        apart.folds,
        apart.tunes_per_set
    );
    Ok(())
}

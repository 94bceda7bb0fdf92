//! Helpers shared by the examples: the default ABC corpus's fixed split, generated tunes'
//! statistics beside held-out ones, and the thread pools the loading benchmarks compare.

#![allow(dead_code)]

use anyhow::{Context, Result};
use tunesmith::abc::{CleanOptions, CleanTune};
use tunesmith::corpus::load_default_abc_corpus;
use tunesmith::metrics::{fixed_split, HeldOutSplit, TuneStatistics};

/// The default ABC corpus, cleaned with the default options, cut by the fixed split.
pub fn default_split() -> Result<HeldOutSplit<CleanTune>> {
    let corpus = load_default_abc_corpus(&CleanOptions::default())?;
    Ok(fixed_split(&corpus.tunes, |t| t.text.as_str()))
}

/// The parts of a split by name: train, valid and test.
pub fn named_parts<T>(split: &HeldOutSplit<T>) -> [(&'static str, &[T]); 3] {
    [
        ("train", &split.train),
        ("valid", &split.valid),
        ("test", &split.test),
    ]
}

/// The held-out tunes generated tunes are compared with: the name of the part of the default
/// corpus's split that `TUNESMITH_HELD_OUT` names (`test`, the default, or `valid`) and the
/// texts of its tunes.
pub fn held_out_texts() -> Result<(String, Vec<String>)> {
    let split = default_split()?;
    let part = std::env::var("TUNESMITH_HELD_OUT").unwrap_or_else(|_| "test".into());
    let held = split.part(part.parse().context("TUNESMITH_HELD_OUT")?);
    Ok((part, held.iter().map(|t| t.text.clone()).collect()))
}

/// The `TuneStatistics` of generated tunes beside those of held-out tunes, with a distance per
/// statistic, as a Markdown table.
pub fn statistics_table(generated: &[String], held_out: &[String]) -> String {
    let generated = TuneStatistics::of_tunes(generated);
    let held_out = TuneStatistics::of_tunes(held_out);
    TuneStatistics::compare(&generated, &held_out).markdown()
}

/// A rayon pool of one thread, then one of every core (just the one where there is one core),
/// each with its thread count.
pub fn one_and_all_threads() -> Result<Vec<(usize, rayon::ThreadPool)>> {
    let max_threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut thread_counts = vec![1, max_threads];
    thread_counts.dedup();
    thread_counts
        .into_iter()
        .map(|threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()?;
            Ok((threads, pool))
        })
        .collect()
}

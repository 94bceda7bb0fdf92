//! ABC tunes per second through the loader: reading, splitting and cleaning the default corpus
//! (`load_default_abc_corpus`), converting every cleaned tune to a Score (`abc_to_score`), and
//! checking its bars against the meter (`bar_check`), on one thread and on all. Prints a table;
//! each measurement is repeated.
//!
//! Usage: `cargo run --release --example bench_abc_load -- [REPEATS]` (default 2).

mod common;

use anyhow::{Context, Result};
use rayon::prelude::*;
use std::time::Instant;
use tunesmith::abc::to_score::{abc_to_score, bar_check};
use tunesmith::abc::CleanOptions;
use tunesmith::corpus::load_default_abc_corpus;

fn main() -> Result<()> {
    let repeats: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()
        .context("REPEATS")?
        .unwrap_or(2);
    let corpus = load_default_abc_corpus(&CleanOptions::default())?; // warms the page cache
    let texts: Vec<&str> = corpus.tunes.iter().map(|t| t.text.as_str()).collect();
    let chars: usize = texts.iter().map(|t| t.len()).sum();
    println!(
        "default ABC corpus: {} tunes kept, {} skipped, {:.2} MB of cleaned text",
        corpus.tunes.len(),
        corpus.report.skipped.len(),
        chars as f64 / 1e6
    );
    println!("| stage | threads | repeat | seconds | tunes/s |");
    println!("|---|---|---|---|---|");
    for (threads, pool) in common::one_and_all_threads()? {
        for repeat in 1..=repeats {
            let t = Instant::now();
            let loaded = pool.install(|| load_default_abc_corpus(&CleanOptions::default()))?;
            let s = t.elapsed().as_secs_f64();
            let n = loaded.tunes.len() + loaded.report.skipped.len();
            println!(
                "| read + split + clean (load_default_abc_corpus) | {threads} | {repeat} | {s:.3} | {:.0} |",
                n as f64 / s
            );
            let t = Instant::now();
            let ok = pool.install(|| texts.par_iter().filter(|t| abc_to_score(t).is_ok()).count());
            let s = t.elapsed().as_secs_f64();
            println!(
                "| abc_to_score ({ok} of {} convert) | {threads} | {repeat} | {s:.3} | {:.0} |",
                texts.len(),
                texts.len() as f64 / s
            );
            let t = Instant::now();
            let fine = pool.install(|| {
                texts
                    .par_iter()
                    .filter(|t| bar_check(t).is_ok_and(|c| c.adds_up()))
                    .count()
            });
            let s = t.elapsed().as_secs_f64();
            println!(
                "| bar_check ({fine} add up) | {threads} | {repeat} | {s:.3} | {:.0} |",
                texts.len() as f64 / s
            );
        }
    }
    Ok(())
}

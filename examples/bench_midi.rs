//! Throughput of `load_midi_corpus` on synthetic files.
//!
//! Usage: `cargo run --release --example bench_midi -- [FILES] [NOTES_PER_TRACK]`
//! (defaults 2000 files, 250 notes per track, 4 tracks per file).

mod common;

use std::time::Instant;

use anyhow::{Context, Result};
use tunesmith::midi::{load_midi_corpus, synthetic_score, write_midi_file};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let files: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(2000);
    let notes: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(250);

    let dir = tempfile::tempdir().context("cannot create a temporary folder")?;
    let started = Instant::now();
    let mut bytes = 0u64;
    for i in 0..files {
        let path = dir.path().join(format!("{:02}/{i:06}.mid", i % 16));
        std::fs::create_dir_all(path.parent().context("no parent")?)?;
        write_midi_file(&synthetic_score(i as u64, notes), &path)?;
        bytes += std::fs::metadata(&path)?.len();
    }
    println!(
        "wrote {files} files ({:.1} MB, {} notes each) in {:.2} s\n",
        bytes as f64 / 1e6,
        notes * 4,
        started.elapsed().as_secs_f64()
    );

    println!("| threads | files | seconds | files/s | notes/s (M) | MB/s |");
    println!("|--------:|------:|--------:|--------:|------------:|-----:|");
    for (threads, pool) in common::one_and_all_threads()? {
        pool.install(|| load_midi_corpus(dir.path()))?; // warm the page cache
        let mut best = f64::INFINITY;
        let mut read_notes = 0;
        for _ in 0..3 {
            let t = Instant::now();
            let corpus = pool.install(|| load_midi_corpus(dir.path()))?;
            best = best.min(t.elapsed().as_secs_f64());
            read_notes = corpus
                .scores
                .iter()
                .map(|(_, s)| s.note_count())
                .sum::<usize>();
            assert_eq!(corpus.report.read, files, "{}", corpus.report);
        }
        println!(
            "| {threads:>7} | {files:>5} | {best:>7.3} | {:>7.0} | {:>11.2} | {:>4.0} |",
            files as f64 / best,
            read_notes as f64 / best / 1e6,
            bytes as f64 / best / 1e6
        );
    }
    Ok(())
}

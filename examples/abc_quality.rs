//! Sample quality of a folder of ABC tunes (one tune per `.abc` file, as `write_abc_tunes` and
//! the benchmarks write them) against the default corpus on its fixed split: the share that parse
//! and whose bars add up, pitch statistics, and the longest run of bars copied from a training
//! tune, beside the same measures of the held-out test tunes and the training tunes.
//!
//! Usage: `cargo run --release --example abc_quality -- DIR`

use anyhow::{Context, Result};
use tunesmith::abc::CleanOptions;
use tunesmith::corpus::load_default_abc_corpus;
use tunesmith::metrics::{fixed_split, quality_markdown, sample_quality, CopyIndex, SPLIT_VERSION};

fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .context("usage: abc_quality DIR (a folder of .abc files)")?;
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read {dir}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "abc"))
        .collect();
    paths.sort();
    let tunes = paths
        .iter()
        .map(|p| std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display())))
        .collect::<Result<Vec<String>>>()?;
    let corpus = load_default_abc_corpus(&CleanOptions::default())?;
    let split = fixed_split(&corpus.tunes, |t| t.text.as_str());
    let train: Vec<&str> = split.train.iter().map(|t| t.text.as_str()).collect();
    let test: Vec<&str> = split.test.iter().map(|t| t.text.as_str()).collect();
    let index = CopyIndex::new(train.iter().copied());
    let generated = sample_quality(&tunes, Some(&index));
    let held_out = sample_quality(&test, Some(&index));
    let training = sample_quality(&train, None);
    println!(
        "sample quality of {} tunes in {dir} against the default corpus (split {SPLIT_VERSION}; \
         copies looked for in the train part)",
        tunes.len()
    );
    print!(
        "{}",
        quality_markdown(&[
            ("tunes in DIR", &generated),
            ("test tunes", &held_out),
            ("train tunes", &training),
        ])
    );
    Ok(())
}

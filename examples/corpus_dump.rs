//! Writes the cleaned default corpus, one `.abc` tunebook per part of the fixed split
//! (`train.abc`, `valid.abc`, `test.abc`, each tune as `X:n`, `T:` and its cleaned text), for
//! tools outside the crate (the music21 scripts in `scripts/`).
//!
//! Usage: `cargo run --release --example corpus_dump -- [DIR]` (default `out/corpus`).

mod common;

use anyhow::{Context, Result};
use std::path::PathBuf;
use tunesmith::metrics::SPLIT_VERSION;

fn main() -> Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "out/corpus".into()),
    );
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let split = common::default_split()?;
    for (name, tunes) in common::named_parts(&split) {
        let text: String = tunes
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{}\n", t.to_abc_file_text(i + 1)))
            .collect();
        let path = dir.join(format!("{name}.abc"));
        tunesmith::fsutil::write_atomic(&path, text.as_bytes())?;
        println!("{}: {} tunes", path.display(), tunes.len());
    }
    println!("split {SPLIT_VERSION}");
    Ok(())
}

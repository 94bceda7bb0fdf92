//! Writes corpus tunes back out through a `Score`: each cleaned tune of the default corpus (taken
//! evenly spread) is read with `abc_to_score` and written again with `score_to_abc`. The
//! originals go to `OUT/original/` and the rewritten tunes to `OUT/written/`, one `.abc` file
//! each, ready for `/work/shared/tools/abc_bars_music21.py`. Prints how many rewritten tunes give
//! back exactly the same notes (overall, and among the tunes whose notes all lie on the default
//! sixteenth grid) and how many add up bar by bar by the crate's own `bar_check`.
//!
//! Usage: `cargo run --example score_to_abc_corpus -- OUT [COUNT]` (COUNT defaults to 300).

use anyhow::{Context, Result};
use std::path::Path;
use tunesmith::abc::to_score::bar_check;
use tunesmith::abc::{abc_to_score, score_to_abc, CleanOptions, ScoreToAbcOptions};
use tunesmith::corpus::load_default_abc_corpus;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .context("usage: score_to_abc_corpus OUT [COUNT]")?;
    let count: usize = match args.next() {
        Some(text) => text.parse().context("COUNT must be a whole number")?,
        None => 300,
    };
    let corpus = load_default_abc_corpus(&CleanOptions::default())?;
    let step = (corpus.tunes.len() / count.max(1)).max(1);
    let chosen: Vec<_> = corpus.tunes.iter().step_by(step).take(count).collect();
    let (original_dir, written_dir) = (
        Path::new(&out).join("original"),
        Path::new(&out).join("written"),
    );
    for dir in [&original_dir, &written_dir] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let (mut unreadable, mut failed, mut same_notes, mut adds_up) = (0, 0, 0, 0);
    let (mut on_grid, mut on_grid_same) = (0, 0);
    for (i, tune) in chosen.iter().enumerate() {
        let original = tune.to_abc_file_text(1);
        let Ok(score) = abc_to_score(&original) else {
            unreadable += 1;
            continue;
        };
        let written = match score_to_abc(&score, &ScoreToAbcOptions::default()) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("{}: {e:#}", tune.label);
                failed += 1;
                continue;
            }
        };
        let name = format!("{:04}.abc", i + 1);
        std::fs::write(original_dir.join(&name), &original)?;
        std::fs::write(written_dir.join(&name), &written)?;
        let again = abc_to_score(&written)?;
        let same = again.note_timings() == score.note_timings();
        same_notes += usize::from(same);
        let sixteenth = u32::from(score.ticks_per_quarter / 4).max(1);
        let fits_grid =
            |n: &(u8, u32, u32)| n.1.is_multiple_of(sixteenth) && n.2.is_multiple_of(sixteenth);
        if score.note_timings().iter().all(fits_grid) {
            on_grid += 1;
            on_grid_same += usize::from(same);
        }
        adds_up += usize::from(bar_check(&written).is_ok_and(|c| c.adds_up()));
    }
    let written = chosen.len() - unreadable - failed;
    println!(
        "{} tunes chosen (every {step}th of {}); {unreadable} unreadable by abc_to_score, \
         {failed} refused by score_to_abc; of the {written} written: same notes back {same_notes} \
         ({on_grid_same} of the {on_grid} on the sixteenth grid), every bar adds up (bar_check) \
         {adds_up}",
        chosen.len(),
        corpus.tunes.len()
    );
    Ok(())
}

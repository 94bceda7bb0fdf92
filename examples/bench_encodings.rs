//! The default ABC corpus as a MIDI corpus, read back and run through the three MIDI encodings:
//! speed of each step and what the encodings look like on real music.
//!
//! Usage: `cargo run --release --example bench_encodings -- [TUNES] [DIR]`
//! (default 2000 tunes into a temporary folder; with DIR the MIDI files are kept there).

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result};
use rayon::prelude::*;
use tunesmith::corpus::write_default_midi_corpus;
use tunesmith::encode::{
    estimate_key, EventVocab, NoteVocab, NoteVocabConfig, PianoRoll, PianoRollConfig, TokenEncoding,
};
use tunesmith::midi::load_midi_corpus;
use tunesmith::score::Score;

/// Seconds taken by `f`, with its result.
fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, f64)> {
    let t = Instant::now();
    let out = f()?;
    Ok((out, t.elapsed().as_secs_f64()))
}

fn notes(score: &Score) -> Vec<(u8, u32, u32)> {
    let mut n: Vec<_> = score
        .tracks
        .iter()
        .filter(|t| !t.is_drum)
        .flat_map(|t| &t.notes)
        .map(|n| (n.pitch, n.start, n.duration))
        .collect();
    n.sort_unstable();
    n
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let limit: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(2000);
    let tmp = tempfile::tempdir().context("cannot create a temporary folder")?;
    let dir = args
        .next()
        .map_or_else(|| tmp.path().to_path_buf(), Into::into);

    let (report, secs) = timed(|| write_default_midi_corpus(&dir, limit))?;
    println!(
        "ABC → MIDI: {} tunes tried, {} files written in {secs:.2} s ({:.0} tunes/s), {} skipped",
        report.files,
        report.read,
        report.files as f64 / secs,
        report.skipped.len()
    );
    for (reason, n) in report.reasons().into_iter().take(5) {
        println!("    {n:>5} × {reason}");
    }

    load_midi_corpus(&dir)?; // warm the page cache
    let (corpus, secs) = timed(|| load_midi_corpus(&dir))?;
    let scores: Vec<Score> = corpus.scores.into_iter().map(|(_, s)| s).collect();
    let total_notes: usize = scores.iter().map(Score::note_count).sum();
    println!(
        "MIDI read: {} files, {total_notes} notes in {secs:.3} s ({:.0} files/s, {} threads)",
        scores.len(),
        scores.len() as f64 / secs,
        rayon::current_num_threads()
    );

    // Keys before transposition.
    let mut keys: BTreeMap<String, usize> = BTreeMap::new();
    for s in &scores {
        let (tonic, minor) = estimate_key(s);
        let name = tunesmith::render::pitch_name(60 + i32::from(tonic));
        let name = name.trim_end_matches('4').to_string();
        *keys
            .entry(format!("{name}{}", if minor { "m" } else { "" }))
            .or_default() += 1;
    }
    let mut keys: Vec<_> = keys.into_iter().collect();
    keys.sort_by_key(|k| std::cmp::Reverse(k.1));
    println!("estimated keys (top 8): {:?}", &keys[..keys.len().min(8)]);

    let config = PianoRollConfig::default();
    let (rolls, secs) = timed(|| {
        scores
            .par_iter()
            .map(|s| PianoRoll::from_score(s, &config))
            .collect::<Result<Vec<_>>>()
    })?;
    let frames: usize = rolls.iter().map(PianoRoll::len).sum();
    println!(
        "piano roll: {frames} frames in {secs:.3} s ({:.0} scores/s), density {:.2}% (positive weight {:.1})",
        scores.len() as f64 / secs,
        100.0 * rolls.iter().map(PianoRoll::on_cells).sum::<usize>() as f64
            / (frames * config.num_pitches).max(1) as f64,
        tunesmith::encode::positive_weight(&rolls)
    );

    for (label, config) in [
        ("seed (pitches and chords)", NoteVocabConfig::seed()),
        (
            "seed, in C",
            NoteVocabConfig {
                transpose_to_c: true,
                ..NoteVocabConfig::seed()
            },
        ),
        ("durations and offsets, in C", NoteVocabConfig::default()),
        (
            "durations and offsets, in C, min count 5",
            NoteVocabConfig {
                min_count: 5,
                ..NoteVocabConfig::default()
            },
        ),
    ] {
        let (vocab, secs) = timed(|| NoteVocab::build(&scores, &config))?;
        let counts = vocab.counts();
        let total: usize = counts.iter().map(|c| c.1).sum();
        println!(
            "note vocab [{label}]: {} tokens, {total} occurrences, {:.2}% <unk>, entropy {:.2} nats, built in {secs:.3} s ({:.0} scores/s)",
            vocab.len(),
            100.0 * counts[0].1 as f64 / total.max(1) as f64,
            vocab.unigram_entropy(),
            scores.len() as f64 / secs
        );
    }

    let events = EventVocab::default();
    let (encoded, secs) = timed(|| {
        scores
            .par_iter()
            .map(|s| events.encode_score(s))
            .collect::<Result<Vec<_>>>()
    })?;
    let tokens: usize = encoded.iter().map(Vec::len).sum();
    let exact = scores
        .par_iter()
        .zip(&encoded)
        .filter(|(s, ids)| {
            events
                .decode_ids(ids)
                .is_ok_and(|back| notes(&back) == notes(s))
        })
        .count();
    println!(
        "events ({} ids): {tokens} tokens ({:.1} per note) in {secs:.3} s ({:.0} scores/s); exact round trip for {exact} of {} scores",
        events.vocab_size(),
        tokens as f64 / total_notes.max(1) as f64,
        scores.len() as f64 / secs,
        scores.len()
    );
    Ok(())
}

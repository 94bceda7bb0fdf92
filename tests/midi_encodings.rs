//! The default ABC corpus written out as MIDI, read back, and run through the three encodings:
//! each decodes what it encoded on real tunes (events exactly on the grid, piano rolls to the
//! grid, notes with durations and offsets exactly for melodies).

use anyhow::Result;
use tunesmith::abc::CleanOptions;
use tunesmith::corpus::load_default_abc_corpus;
use tunesmith::corpus::write_midi_corpus_from_abc;
use tunesmith::encode::{
    EventVocab, NoteVocab, NoteVocabConfig, PianoRoll, PianoRollConfig, TokenEncoding,
};
use tunesmith::midi::load_midi_corpus;
use tunesmith::score::Score;

/// Pitched notes as (pitch, start, duration), sorted.
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

/// Notes of the same pitch that touch or overlap merged into one, as a piano roll hears them.
fn merge_repeats(mut notes: Vec<(u8, u32, u32)>) -> Vec<(u8, u32, u32)> {
    notes.sort_unstable();
    let mut out: Vec<(u8, u32, u32)> = Vec::new();
    for (pitch, start, duration) in notes {
        match out.last_mut() {
            Some(last) if last.0 == pitch && last.1 + last.2 >= start => {
                last.2 = last.2.max(start + duration - last.1);
            }
            _ => out.push((pitch, start, duration)),
        }
    }
    out.sort_unstable();
    out
}

/// True when every note starts and ends on a grid of `ticks` ticks.
fn on_grid(score: &Score, ticks: u32) -> bool {
    notes(score)
        .iter()
        .all(|&(_, s, d)| s % ticks == 0 && d % ticks == 0)
}

/// 150 tunes of the default corpus as MIDI scores, read back from a folder.
fn corpus_scores() -> Result<Vec<Score>> {
    let abc = load_default_abc_corpus(&CleanOptions::default())?;
    // Tunes from every collection, not only the first.
    let step = (abc.tunes.len() / 150).max(1);
    let picked: Vec<_> = abc.tunes.iter().step_by(step).take(150).cloned().collect();
    let dir = tempfile::tempdir()?;
    let report = write_midi_corpus_from_abc(&picked, dir.path(), picked.len())?;
    assert!(report.read >= 140, "{report}");
    let corpus = load_midi_corpus(dir.path())?;
    assert_eq!(corpus.report.read, report.read, "{}", corpus.report);
    Ok(corpus.scores.into_iter().map(|(_, s)| s).collect())
}

#[test]
fn encodings_decode_what_they_encoded_on_the_default_corpus() -> Result<()> {
    let scores = corpus_scores()?;
    assert!(scores.iter().all(|s| s.ticks_per_quarter == 480));

    // Events at 12 steps per quarter: exact for every tune on that grid (40 ticks).
    let events = EventVocab::default();
    let mut on_event_grid = 0;
    for (i, score) in scores.iter().enumerate() {
        let back = events.decode_ids(&events.encode_score(score)?)?;
        if on_grid(score, 40) {
            on_event_grid += 1;
            assert_eq!(notes(&back), notes(score), "events, score {i}");
        }
    }
    assert!(on_event_grid * 10 >= scores.len() * 9, "{on_event_grid}");

    // Piano roll at 4 steps per quarter, original key: a tune on the sixteenth grid comes back
    // exactly, except that a pitch repeated with no gap becomes one longer note.
    let config = PianoRollConfig {
        transpose_to_c: false,
        ..PianoRollConfig::default()
    };
    let mut checked = 0;
    for (i, score) in scores.iter().enumerate() {
        let roll = PianoRoll::from_score(score, &config)?;
        assert!(roll.density() > 0.0 && roll.density() < 0.1, "score {i}");
        if on_grid(score, 120) {
            checked += 1;
            assert_eq!(
                notes(&roll.to_score()),
                merge_repeats(notes(score)),
                "piano roll, score {i}"
            );
        }
    }
    assert!(checked * 10 >= scores.len() * 8, "{checked}");

    // Notes with durations and offsets: exact for melodies on the 12-per-quarter grid.
    let config = NoteVocabConfig {
        transpose_to_c: false,
        ..NoteVocabConfig::default()
    };
    let vocab = NoteVocab::build(&scores, &config)?;
    let mut melodies = 0;
    for (i, score) in scores.iter().enumerate() {
        let ids = vocab.encode_score(score)?;
        if on_grid(score, 40) {
            melodies += 1;
            assert_eq!(
                notes(&vocab.decode_ids(&ids)?),
                notes(score),
                "notes, score {i}"
            );
        }
    }
    assert!(melodies * 10 >= scores.len() * 9, "{melodies}");
    Ok(())
}

#[test]
fn transposition_to_c_moves_every_tune_to_c() -> Result<()> {
    let scores = corpus_scores()?;
    let in_c = scores
        .iter()
        .map(|s| tunesmith::encode::transpose_score(s, tunesmith::encode::transposition_to_c(s)))
        .filter(|s| tunesmith::encode::estimate_key(s).0 == 0)
        .count();
    assert_eq!(in_c, scores.len(), "estimating again after moving finds C");
    Ok(())
}

//! The neural synthesizers that ship with the crate (`models/piano_synth`, `models/flute_synth`)
//! load from a fresh clone and play a score without training: each is at most 4 MB with its
//! recipe, renders audio at its own rate, and sounds like the SoundFont it learned from on notes
//! it never heard (chords for the piano: chroma similarity and notes heard; a melody for the
//! flute: pitch accuracy). The SoundFont comparisons are skipped, with a message, where no
//! SoundFont is found (`make setup` installs one).

use anyhow::Result;
use tunesmith::audio::find_soundfont;
use tunesmith::data::audio_pairs::reference_audio;
use tunesmith::metrics::audio::pitch_accuracy;
use tunesmith::metrics::audio::polyphony::{chroma_similarity, note_presence};
use tunesmith::render::neural::{listen_neural, ShippedSynth};
use tunesmith::score::{Note, Score, Track};

/// One track of (pitch, start in quarters, length in quarters) at 120 quarters a minute.
fn score_of(notes: &[(u8, u32, u32)]) -> Score {
    let mut score = Score::new(480);
    score.tracks.push(Track {
        notes: notes
            .iter()
            .map(|&(pitch, start, length)| Note::new(pitch, start * 480, length * 480))
            .collect(),
        ..Track::default()
    });
    score
}

fn check_files(synth: ShippedSynth) {
    let dir = synth.path();
    let size: u64 = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").metadata().expect("metadata").len())
        .sum();
    assert!(size <= 4 << 20, "{} is {size} bytes", dir.display());
    let readme = std::fs::read_to_string(dir.join("README.md")).expect("a README with the recipe");
    assert!(readme.contains("bench_audio"), "the recipe's command");
}

#[test]
fn the_piano_plays_chords_it_never_heard() -> Result<()> {
    check_files(ShippedSynth::Piano);
    // I–IV–V–I in C, four voices, two quarters a chord, then a held chord.
    let mut notes = Vec::new();
    for (i, chord) in [
        [48, 64, 67, 72],
        [53, 65, 69, 72],
        [55, 62, 67, 71],
        [48, 64, 67, 72],
    ]
    .iter()
    .enumerate()
    {
        for &pitch in chord {
            notes.push((pitch, 2 * i as u32, if i == 3 { 4 } else { 2 }));
        }
    }
    let score = score_of(&notes);
    let audio = listen_neural(&score, ShippedSynth::Piano)?;
    assert_eq!((audio.sample_rate, audio.channels), (22_050, 1));
    // Ten quarters at 120 a minute, and the half-second tail.
    assert!(
        audio.duration_seconds() >= 5.4,
        "{}",
        audio.duration_seconds()
    );
    assert!(audio.peak() > 0.01, "not silent: {}", audio.peak());
    let Some(soundfont) = find_soundfont() else {
        eprintln!("skipped the comparison: no SoundFont (make setup)");
        return Ok(());
    };
    let layout = tunesmith::encode::AudioFeatureConfig {
        sample_rate: 22_050,
        hop: 128,
        voices: 8,
        program: 0,
        tail_seconds: 0.5,
    };
    let reference = reference_audio(&score, &layout, Some(&soundfont))?;
    let chroma = chroma_similarity(&audio.samples, &reference.samples, 22_050).expect("sounds");
    assert!(chroma >= 0.9, "chroma similarity {chroma}");
    let (heard, pairs) = note_presence(&audio.samples, &score, 22_050);
    let (reference_heard, _) = note_presence(&reference.samples, &score, 22_050);
    let (heard, reference_heard) = (heard.expect("notes"), reference_heard.expect("notes"));
    assert!(pairs > 50, "{pairs} frame-notes");
    assert!(
        heard >= 0.95 * reference_heard,
        "notes heard {heard} against the SoundFont's {reference_heard}"
    );
    Ok(())
}

#[test]
fn the_flute_plays_a_melody_in_tune() -> Result<()> {
    check_files(ShippedSynth::Flute);
    // A D major scale up and down, a quarter a note.
    let pitches = [74u8, 76, 78, 79, 81, 83, 85, 86, 85, 83, 81, 79, 78, 76, 74];
    let notes: Vec<(u8, u32, u32)> = pitches
        .iter()
        .enumerate()
        .map(|(i, &p)| (p, i as u32, 1))
        .collect();
    let score = score_of(&notes);
    let audio = listen_neural(&score, ShippedSynth::Flute)?;
    assert_eq!((audio.sample_rate, audio.channels), (16_000, 1));
    assert!(audio.peak() > 0.01, "not silent: {}", audio.peak());
    let (accuracy, voiced) = pitch_accuracy(&audio.samples, &score, 16_000);
    assert!(voiced > 50, "{voiced} voiced frames");
    let accuracy = accuracy.expect("voiced frames");
    assert!(accuracy >= 0.9, "pitch accuracy {accuracy}");
    Ok(())
}

#[test]
fn a_missing_synthesizer_is_an_error_naming_its_folder() {
    // The path is the crate's own; a folder that is not a checkpoint gives an error naming it.
    let err = tunesmith::generate::open_for_generation(
        &ShippedSynth::Piano.path().join("no_such_model"),
        tch::Device::Cpu,
    )
    .expect_err("no checkpoint there");
    assert!(format!("{err:#}").contains("no_such_model"), "{err:#}");
}

//! How real MIDI files become notes: each case is a file this test writes byte by byte and reads
//! back from disk (type 0 and type 1, running status, tempo changes, velocity-0 note-offs, a key
//! struck again while it sounds, the sustain pedal), and a folder's report; and the reader
//! against pretty_midi on files with every kind of same-key overlap (pretty_midi's side is
//! `scripts/midi_notes_pretty_midi.py`; skipped, with a message, where no Python with music21 and
//! pretty_midi is found).

mod music21_common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use tunesmith::midi::{
    load_midi_corpus_with_options, raw_smf, read_midi_file, read_midi_file_with_options,
    synthetic_score, write_midi_file, MidiReadOptions, SustainPedal,
};
use tunesmith::score::Score;

/// A track chunk body built event by event, with delta times as variable-length quantities.
#[derive(Default)]
struct TrackBytes(Vec<u8>);

impl TrackBytes {
    fn delta(&mut self, ticks: u32) -> &mut Self {
        let mut groups = vec![(ticks & 0x7F) as u8];
        let mut rest = ticks >> 7;
        while rest > 0 {
            groups.push((rest & 0x7F) as u8 | 0x80);
            rest >>= 7;
        }
        self.0.extend(groups.iter().rev());
        self
    }
    /// An event after `ticks`: its bytes as given (a status byte may be left out: running status).
    fn event(&mut self, ticks: u32, bytes: &[u8]) -> &mut Self {
        self.delta(ticks);
        self.0.extend_from_slice(bytes);
        self
    }
    fn tempo(&mut self, ticks: u32, micros: u32) -> &mut Self {
        let m = micros.to_be_bytes();
        self.event(ticks, &[0xFF, 0x51, 0x03, m[1], m[2], m[3]])
    }
    fn end(&mut self) -> Vec<u8> {
        self.event(0, &[0xFF, 0x2F, 0x00]);
        std::mem::take(&mut self.0)
    }
}

fn write(dir: &Path, name: &str, format: u16, tracks: &[&[u8]]) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, raw_smf(format, 96, tracks))?;
    Ok(path)
}

/// Every note as (channel, pitch, start, end, velocity), sorted.
fn notes(score: &Score) -> Vec<(u8, u8, u32, u32, u8)> {
    let mut out: Vec<_> = score
        .tracks
        .iter()
        .flat_map(|t| {
            t.notes
                .iter()
                .map(|n| (t.channel, n.pitch, n.start, n.end(), n.velocity))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn type_0_splits_channels_and_type_1_keeps_tracks() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let one = TrackBytes::default()
        .event(0, &[0xFF, 0x03, 0x04, b'S', b'o', b'l', b'o'])
        .event(0, &[0xC0, 0x00])
        .event(0, &[0xC1, 0x20])
        .event(0, &[0x90, 60, 80])
        .event(0, &[0x91, 40, 70])
        .event(96, &[0x80, 60, 0])
        .event(0, &[0x81, 40, 0])
        .end();
    let score = read_midi_file(&write(dir.path(), "type0.mid", 0, &[&one])?)?;
    assert_eq!(score.tracks.len(), 2);
    assert_eq!((score.tracks[0].channel, score.tracks[0].program), (0, 0));
    assert_eq!((score.tracks[1].channel, score.tracks[1].program), (1, 32));
    assert!(score.tracks.iter().all(|t| t.name == "Solo"));
    assert_eq!(notes(&score), vec![(0, 60, 0, 96, 80), (1, 40, 0, 96, 70)]);

    let conductor = TrackBytes::default().tempo(0, 600_000).end();
    let right = TrackBytes::default()
        .event(0, &[0x90, 72, 90])
        .event(48, &[0x80, 72, 0])
        .end();
    let left = TrackBytes::default()
        .event(0, &[0x90, 48, 60])
        .event(96, &[0x80, 48, 0])
        .end();
    let path = write(dir.path(), "type1.mid", 1, &[&conductor, &right, &left])?;
    let read = read_midi_file_with_options(&path, &MidiReadOptions::default())?;
    assert_eq!(read.format, 1);
    assert_eq!(
        read.score.tracks.len(),
        2,
        "two tracks on one channel stay apart"
    );
    assert_eq!(read.score.tempos[0].micros_per_quarter, 600_000);
    assert_eq!(
        notes(&read.score),
        vec![(0, 48, 0, 96, 60), (0, 72, 0, 48, 90)]
    );
    Ok(())
}

#[test]
fn running_status_and_velocity_zero_note_offs() -> Result<()> {
    let dir = tempfile::tempdir()?;
    // One note-on status byte, then data bytes only; velocity 0 ends each note.
    let track = TrackBytes::default()
        .event(0, &[0x90, 60, 100])
        .event(24, &[60, 0])
        .event(0, &[62, 90])
        .event(24, &[62, 0])
        .event(0, &[64, 80])
        .event(48, &[64, 0])
        .end();
    let score = read_midi_file(&write(dir.path(), "running.mid", 0, &[&track])?)?;
    assert_eq!(
        notes(&score),
        vec![
            (0, 60, 0, 24, 100),
            (0, 62, 24, 48, 90),
            (0, 64, 48, 96, 80)
        ]
    );
    Ok(())
}

#[test]
fn several_tempo_changes_set_the_clock() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let track = TrackBytes::default()
        .tempo(0, 500_000)
        .event(0, &[0x90, 60, 100])
        .tempo(96, 1_000_000)
        .tempo(96, 250_000)
        .event(96, &[0x80, 60, 0])
        .end();
    let score = read_midi_file(&write(dir.path(), "tempi.mid", 0, &[&track])?)?;
    assert_eq!(score.tempos.len(), 3);
    // A quarter at 0.5 s, one at 1 s, one at 0.25 s.
    assert!((score.tick_to_seconds(288) - 1.75).abs() < 1e-9);
    assert!((score.duration_seconds() - 1.75).abs() < 1e-9);
    Ok(())
}

#[test]
fn a_key_struck_again_ends_its_note_where_first_in_first_out_would_chain() -> Result<()> {
    let dir = tempfile::tempdir()?;
    // A stray second note-on at 10 (no off of its own), then ordinary notes of the same key.
    // Pairing first-in first-out would end the first note at 20 and every later note one
    // note-off late, the last at the end of the track.
    let track = TrackBytes::default()
        .event(0, &[0x90, 60, 100])
        .event(10, &[0x90, 60, 90])
        .event(10, &[0x80, 60, 0])
        .event(80, &[0x90, 60, 80])
        .event(20, &[0x80, 60, 0])
        .event(76, &[0x90, 60, 70])
        .event(20, &[0x80, 60, 0])
        .event(2000, &[0xFF, 0x01, 0x01, b'x'])
        .end();
    let score = read_midi_file(&write(dir.path(), "restrike.mid", 0, &[&track])?)?;
    assert_eq!(
        notes(&score),
        vec![
            (0, 60, 0, 10, 100),
            (0, 60, 10, 20, 90),
            (0, 60, 100, 120, 80),
            (0, 60, 196, 216, 70)
        ]
    );
    Ok(())
}

#[test]
fn the_sustain_pedal_holds_piano_notes_unless_turned_off() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let pedalled = |program: u8| {
        TrackBytes::default()
            .event(0, &[0xC0, program])
            .event(0, &[0xB0, 64, 127])
            .event(0, &[0x90, 60, 80])
            .event(24, &[0x80, 60, 0])
            .event(0, &[0x90, 64, 80])
            .event(24, &[0x80, 64, 0])
            .event(48, &[0xB0, 64, 0])
            .event(0, &[0x90, 67, 80])
            .event(24, &[0x80, 67, 0])
            .end()
    };
    let piano = write(dir.path(), "piano.mid", 0, &[&pedalled(0)])?;
    let read = read_midi_file_with_options(&piano, &MidiReadOptions::default())?;
    assert_eq!(
        notes(&read.score),
        vec![
            (0, 60, 0, 96, 80),
            (0, 64, 24, 96, 80),
            (0, 67, 96, 120, 80)
        ]
    );
    assert_eq!(read.key_events.held_by_pedal, 2);

    let off = MidiReadOptions {
        sustain_pedal: SustainPedal::Off,
        ..MidiReadOptions::default()
    };
    let dry = read_midi_file_with_options(&piano, &off)?;
    assert_eq!(
        notes(&dry.score),
        vec![
            (0, 60, 0, 24, 80),
            (0, 64, 24, 48, 80),
            (0, 67, 96, 120, 80)
        ]
    );

    let violin = write(dir.path(), "violin.mid", 0, &[&pedalled(40)])?;
    let default = read_midi_file(&violin)?;
    assert_eq!(
        notes(&default)[0],
        (0, 60, 0, 24, 80),
        "no pedal off the piano"
    );
    let all = MidiReadOptions {
        sustain_pedal: SustainPedal::AllPrograms,
        ..MidiReadOptions::default()
    };
    let held = read_midi_file_with_options(&violin, &all)?;
    assert_eq!(notes(&held.score)[0], (0, 60, 0, 96, 80));
    Ok(())
}

#[test]
fn a_folder_report_lists_skips_drums_and_what_the_rules_did() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let band = TrackBytes::default()
        .event(0, &[0xB0, 64, 100])
        .event(0, &[0x90, 60, 80])
        .event(12, &[0x80, 60, 0])
        .event(0, &[0x99, 36, 100])
        .event(10, &[0x89, 36, 0])
        .event(50, &[0xB0, 64, 0])
        .event(0, &[0x80, 61, 0])
        .end();
    write(dir.path(), "band.mid", 0, &[&band])?;
    std::fs::write(dir.path().join("cut.mid"), &raw_smf(0, 96, &[&band])[..20])?;
    let corpus = load_midi_corpus_with_options(dir.path(), &MidiReadOptions::default())?;
    let report = corpus.summary(4);
    assert_eq!((report.load.files, report.load.read), (2, 1));
    assert!(report.load.skipped[0].path.ends_with("cut.mid"));
    assert_eq!((report.drum_tracks, report.drum_notes), (1, 1));
    assert_eq!(report.key_events.held_by_pedal, 1);
    assert_eq!(report.key_events.stray_note_offs, 1);
    let text = report.to_string();
    for expected in [
        "2 found, 1 read (1 of format 0, 0 of format 1), 1 skipped",
        "1 with 1 notes, left out",
        "1 held by the sustain pedal",
        "skipped ",
        "cut.mid",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    Ok(())
}

/// pretty_midi's notes of each file: (is_drum, program, pitch, start s, end s, velocity), sorted.
type PrettyNote = (bool, u8, u8, f64, f64, u8);

fn pretty_midi_notes(paths: &[PathBuf]) -> Option<Vec<Vec<PrettyNote>>> {
    let python = music21_common::python_or_skip()?;
    let text = music21_common::run_script(&python, "midi_notes_pretty_midi.py", paths);
    Some(
        text.lines()
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).expect("JSON");
                serde_json::from_value(value["notes"].clone()).expect("a list of notes")
            })
            .collect(),
    )
}

/// The crate's notes of `score` in pretty_midi's terms.
fn as_pretty(score: &Score) -> Vec<PrettyNote> {
    let mut out: Vec<PrettyNote> = score
        .tracks
        .iter()
        .flat_map(|t| {
            t.notes.iter().map(move |n| {
                (
                    t.is_drum,
                    t.program,
                    n.pitch,
                    score.tick_to_seconds(n.start),
                    score.tick_to_seconds(n.end()),
                    n.velocity,
                )
            })
        })
        .collect();
    out.sort_by(|a, b| a.partial_cmp(b).expect("finite times"));
    out
}

#[test]
fn without_same_key_overlaps_the_reader_agrees_with_pretty_midi_note_for_note() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut paths = Vec::new();
    for seed in 0..8 {
        let path = dir.path().join(format!("synthetic_{seed}.mid"));
        write_midi_file(&synthetic_score(seed, 150), &path)?;
        paths.push(path);
    }
    let Some(theirs) = pretty_midi_notes(&paths) else {
        return Ok(());
    };
    for (path, theirs) in paths.iter().zip(theirs) {
        let ours = as_pretty(&read_midi_file(path)?);
        assert_eq!(ours.len(), theirs.len(), "{}", path.display());
        for (a, b) in ours.iter().zip(&theirs) {
            let same = (a.0, a.1, a.2, a.5) == (b.0, b.1, b.2, b.5)
                && (a.3 - b.3).abs() < 1e-6
                && (a.4 - b.4).abs() < 1e-6;
            assert!(same, "{}: ours {a:?}, pretty_midi {b:?}", path.display());
        }
    }
    Ok(())
}

/// A file of one piano channel where keys 60..=63 are pressed, pressed again while sounding,
/// released when silent, and struck again with the new note-on written before the old note-off
/// at one tick, at random; every key is released at the end. (No note-on and note-off of a
/// silent key share a tick: pretty_midi drops such a note, the crate keeps it for a tick.)
fn overlapping_keys_file(seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut events: Vec<(u32, Vec<u8>)> = Vec::new();
    for pitch in 60u8..=63 {
        let mut tick = next(10) as u32;
        let mut held = false;
        for _ in 0..60 {
            let velocity = 1 + next(127) as u8;
            match next(3) {
                1 => {
                    events.push((tick, vec![0x80, pitch, 0]));
                    held = false;
                }
                2 if held => {
                    events.push((tick, vec![0x90, pitch, velocity]));
                    events.push((tick, vec![0x80, pitch, 0]));
                }
                _ => {
                    events.push((tick, vec![0x90, pitch, velocity]));
                    held = true;
                }
            }
            tick += 1 + next(40) as u32;
        }
        events.push((10_000, vec![0x80, pitch, 0]));
    }
    events.sort_by_key(|(tick, _)| *tick);
    let mut track = TrackBytes::default();
    let mut last = 0;
    for (tick, bytes) in &events {
        track.event(tick - last, bytes);
        last = *tick;
    }
    raw_smf(0, 96, &[&track.end()])
}

/// A key's onsets and its sounding time as merged intervals, in milliseconds.
type KeyTimes = (Vec<i64>, Vec<(i64, i64)>);

/// Per key: the onsets, and the sounding time as merged intervals.
fn onsets_and_sounding(notes: &[(u8, f64, f64)]) -> BTreeMap<u8, KeyTimes> {
    let ms = |t: f64| (t * 1000.0).round() as i64;
    let mut by_key: BTreeMap<u8, Vec<(i64, i64)>> = BTreeMap::new();
    for &(pitch, start, end) in notes {
        by_key.entry(pitch).or_default().push((ms(start), ms(end)));
    }
    by_key
        .into_iter()
        .map(|(pitch, mut spans)| {
            spans.sort();
            let mut onsets: Vec<i64> = spans.iter().map(|s| s.0).collect();
            onsets.dedup();
            let mut merged: Vec<(i64, i64)> = Vec::new();
            for (start, end) in spans {
                match merged.last_mut() {
                    Some(last) if start <= last.1 => last.1 = last.1.max(end),
                    _ => merged.push((start, end)),
                }
            }
            (pitch, (onsets, merged))
        })
        .collect()
}

#[test]
fn with_same_key_overlaps_the_reader_keeps_pretty_midis_onsets_and_sounding_time() -> Result<()> {
    // pretty_midi lets a key sound twice (a note-off ends every note of its key); the crate
    // strikes the key again. Both must give the same onsets and the same sounding time per key,
    // and the crate never two sounds of one key at once.
    let dir = tempfile::tempdir()?;
    let mut paths = Vec::new();
    for seed in 1..=12 {
        let path = dir.path().join(format!("overlaps_{seed}.mid"));
        std::fs::write(&path, overlapping_keys_file(seed))?;
        paths.push(path);
    }
    let Some(theirs) = pretty_midi_notes(&paths) else {
        return Ok(());
    };
    let mut restruck = 0;
    for (path, theirs) in paths.iter().zip(theirs) {
        let read = read_midi_file_with_options(path, &MidiReadOptions::default())?;
        restruck += read.key_events.restruck;
        let ours: Vec<(u8, f64, f64)> = as_pretty(&read.score)
            .into_iter()
            .map(|n| (n.2, n.3, n.4))
            .collect();
        let theirs: Vec<(u8, f64, f64)> = theirs.into_iter().map(|n| (n.2, n.3, n.4)).collect();
        assert_eq!(
            onsets_and_sounding(&ours),
            onsets_and_sounding(&theirs),
            "{}",
            path.display()
        );
        for track in &read.score.tracks {
            assert_eq!(
                track.notes,
                tunesmith::score::one_sound_per_key(&track.notes)
            );
        }
        assert!(theirs.len() >= ours.len(), "{}", path.display());
    }
    assert!(
        restruck > 50,
        "the files strike keys again ({restruck} times)"
    );
    Ok(())
}

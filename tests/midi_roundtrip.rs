//! MIDI → Score → MIDI → Score keeps notes exactly; hand-written files parse as the spec says.

use tunesmith::midi::{
    raw_smf, read_midi_bytes, read_midi_file, score_to_midi_bytes, synthetic_score, write_midi_file,
};
use tunesmith::score::{Note, Score, TempoChange, TimeSignature, Track};

const END: [u8; 4] = [0x00, 0xFF, 0x2F, 0x00];

fn n(pitch: u8, start: u32, duration: u32, velocity: u8) -> Note {
    Note::new(pitch, start, duration).with_velocity(velocity)
}

fn track(name: &str, program: u8, channel: u8, notes: Vec<Note>) -> Track {
    Track {
        name: name.to_string(),
        program,
        channel,
        is_drum: channel == 9,
        notes,
    }
}

/// Every note as (track name, channel, drum, pitch, start, duration, velocity), sorted.
fn all_notes(score: &Score) -> Vec<(String, u8, bool, u8, u32, u32, u8)> {
    let mut out: Vec<_> = score
        .tracks
        .iter()
        .flat_map(|t| {
            t.notes.iter().map(move |n| {
                (
                    t.name.clone(),
                    t.channel,
                    t.is_drum,
                    n.pitch,
                    n.start,
                    n.duration,
                    n.velocity,
                )
            })
        })
        .collect();
    out.sort();
    out
}

/// Several parts with chords, same-pitch overlaps, drums and tempo/meter changes.
fn rich_score() -> Score {
    let mut score = Score::new(480);
    score.tempos = vec![
        TempoChange::new(0, 500_000),
        TempoChange::new(1920, 600_000),
        TempoChange::new(4800, 428_571),
    ];
    score.time_signatures = vec![
        TimeSignature::new(0, 4, 4),
        TimeSignature::new(1920, 6, 8),
        TimeSignature::new(3360, 7, 16),
    ];
    let piano = vec![
        // C major chord
        n(60, 0, 480, 80),
        n(64, 0, 480, 81),
        n(67, 0, 480, 82),
        // same pitch, staggered overlap: 62 [480,1440) and [960,1920)
        n(62, 480, 960, 70),
        n(62, 960, 960, 90),
        // same pitch, same start, different lengths
        n(72, 1920, 240, 100),
        n(72, 1920, 720, 50),
        // repeated note: one ends where the next starts
        n(65, 2640, 120, 60),
        n(65, 2760, 120, 61),
        // a 1-tick note and a very late long note
        n(84, 3000, 1, 127),
        n(48, 5000, 100_000, 1),
    ];
    let bass = vec![
        n(36, 0, 960, 90),
        n(43, 960, 960, 91),
        n(36, 1920, 1919, 92),
    ];
    let drums = vec![
        n(36, 0, 60, 120),
        n(42, 0, 60, 80),
        n(38, 480, 60, 110),
        n(42, 480, 60, 80),
        n(42, 480, 30, 81),
    ];
    let second_piano = vec![n(60, 0, 240, 40), n(60, 120, 240, 41)];
    score.tracks = vec![
        track("Piano", 0, 0, piano),
        track("Bass", 33, 1, bass),
        track("Drums", 0, 9, drums),
        track("Piano 2 (same channel)", 1, 0, second_piano),
        track("", 40, 15, vec![n(100, 10, 10, 10)]),
    ];
    score.sort();
    score
}

#[test]
fn rich_score_survives_midi_round_trips_as_played() {
    // The rich score has notes that overlap others of their pitch; a MIDI key sounds once, so
    // what comes back is the score as a keyboard plays it, and that comes back exactly.
    let original = rich_score();
    let played = original.as_played();
    assert_ne!(played, original, "the fixture has same-pitch overlaps");
    let midi = score_to_midi_bytes(&original).expect("encodable");
    let first = read_midi_bytes(&midi).expect("readable");
    assert_eq!(all_notes(&first), all_notes(&played));
    assert_eq!(first, played, "tracks, programs, maps and resolution too");
    assert_eq!(
        read_midi_bytes(&score_to_midi_bytes(&played).expect("ok")).expect("ok"),
        played
    );

    let midi_again = score_to_midi_bytes(&first).expect("encodable");
    assert_eq!(midi_again, midi, "MIDI → Score → MIDI gives the same bytes");
    let second = read_midi_bytes(&midi_again).expect("readable");
    assert_eq!(second, first);
}

#[test]
fn synthetic_scores_round_trip_exactly() {
    for seed in 0..20 {
        let original = synthetic_score(seed, 300);
        let back =
            read_midi_bytes(&score_to_midi_bytes(&original).expect("encodable")).expect("readable");
        assert_eq!(back, original, "seed {seed}");
    }
}

#[test]
fn files_round_trip_and_overwrite_atomically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rich.mid");
    write_midi_file(&synthetic_score(9, 50), &path).expect("first write");
    write_midi_file(&rich_score(), &path).expect("overwrite");
    assert_eq!(
        read_midi_file(&path).expect("readable"),
        rich_score().as_played()
    );
    let leftovers = std::fs::read_dir(dir.path()).expect("list").count();
    assert_eq!(leftovers, 1, "no temporary file left behind");
}

#[test]
fn hand_written_format_1_file_round_trips() {
    let conductor = [
        0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20, // 120 BPM
        0x00, 0xFF, 0x58, 0x04, 0x03, 0x02, 0x18, 0x08, // 3/4
        0x83, 0x00, 0xFF, 0x51, 0x03, 0x0F, 0x42, 0x40, // tick 384: 60 BPM
        0x00, 0xFF, 0x2F, 0x00,
    ];
    let melody = [
        0x00, 0xFF, 0x03, 0x04, b'L', b'e', b'a', b'd', // name
        0x00, 0xC2, 0x49, // flute on channel 2
        0x00, 0x92, 72, 90, // on 72
        0x60, 0x82, 72, 64, // off 72 @96
        0x00, 0x92, 74, 91, 0x30, 76, 92, // running status: 74 @96, 76 @144
        0x30, 74, 0, 0x30, 76, 0, // running status, velocity 0: offs @192, @240
        0x00, 0xFF, 0x2F, 0x00,
    ];
    let bytes = raw_smf(1, 96, &[&conductor, &melody]);
    let score = read_midi_bytes(&bytes).expect("readable");
    assert_eq!(score.ticks_per_quarter, 96);
    assert_eq!(score.tempos.len(), 2);
    assert_eq!(score.tempos[1].tick, 384);
    assert_eq!(score.time_signatures[0].denominator, 4);
    assert_eq!(score.tracks.len(), 1);
    let lead = &score.tracks[0];
    assert_eq!(
        (lead.name.as_str(), lead.program, lead.channel),
        ("Lead", 73, 2)
    );
    assert_eq!(
        lead.notes,
        vec![n(72, 0, 96, 90), n(74, 96, 96, 91), n(76, 144, 96, 92)]
    );
    let again = read_midi_bytes(&score_to_midi_bytes(&score).expect("encodable")).expect("ok");
    assert_eq!(all_notes(&again), all_notes(&score));
    assert_eq!(again, score);
}

#[test]
fn format_0_file_is_split_by_channel() {
    let band = [
        0x00, 0xFF, 0x03, 0x04, b'B', b'a', b'n', b'd', // track name
        0x00, 0xC0, 0x00, // ch 0: piano
        0x00, 0xC1, 0x21, // ch 1: bass
        0x00, 0xC9, 0x10, // ch 9: drum kit 16
        0x00, 0x90, 60, 80, // piano C
        0x00, 0x91, 36, 90, // bass C
        0x00, 0x99, 36, 100, // kick
        0x00, 0x90, 64, 81, // piano E
        0x30, 0x89, 36, 0, // kick off @48
        0x30, 0x80, 60, 0, // piano C off @96
        0x00, 64, 0, // running status: piano E off
        0x00, 0x99, 38, 101, // snare @96
        0x60, 0x81, 36, 0, // bass off @192
        0x00, 0x89, 38, 0, // snare off @192
        0x00, 0xFF, 0x2F, 0x00,
    ];
    let score = read_midi_bytes(&raw_smf(0, 96, &[&band])).expect("readable");
    let parts: Vec<_> = score
        .tracks
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                t.channel,
                t.program,
                t.is_drum,
                t.notes.len(),
            )
        })
        .collect();
    assert_eq!(
        parts,
        vec![
            ("Band", 0, 0, false, 2),
            ("Band", 1, 33, false, 1),
            ("Band", 9, 16, true, 2)
        ]
    );
    assert_eq!(
        score.tracks[0].notes,
        vec![n(60, 0, 96, 80), n(64, 0, 96, 81)]
    );
    assert_eq!(score.tracks[1].notes, vec![n(36, 0, 192, 90)]);
    assert_eq!(
        score.tracks[2].notes,
        vec![n(36, 0, 48, 100), n(38, 96, 96, 101)]
    );
    let again = read_midi_bytes(&score_to_midi_bytes(&score).expect("encodable")).expect("ok");
    assert_eq!(again, score);
}

#[test]
fn running_status_and_velocity_zero_note_offs() {
    // One status byte, then only data bytes; every second note-on has velocity 0.
    let pitches = [60u8, 62, 64, 65, 67];
    let mut track = vec![0x00, 0x90, 60, 100];
    for (i, pair) in pitches.windows(2).enumerate() {
        track.extend_from_slice(&[0x18, pair[0], 0]); // off for the previous note
        track.extend_from_slice(&[0x00, pair[1], 101 + i as u8]); // next note on
    }
    track.extend_from_slice(&[0x18, 67, 0]);
    track.extend_from_slice(&END);
    let score = read_midi_bytes(&raw_smf(0, 96, &[&track])).expect("readable");
    let notes = &score.tracks[0].notes;
    assert_eq!(notes.len(), 5, "{notes:?}");
    assert!(notes.iter().all(|n| n.duration == 24), "{notes:?}");
    let starts: Vec<_> = notes
        .iter()
        .map(|n| (n.pitch, n.start, n.velocity))
        .collect();
    assert_eq!(
        starts,
        vec![
            (60, 0, 100),
            (62, 24, 101),
            (64, 48, 102),
            (65, 72, 103),
            (67, 96, 104)
        ]
    );
}

#[test]
fn note_off_without_note_on_is_ignored_and_hanging_notes_end_with_the_track() {
    let track = [
        0x00, 0x80, 50, 0, // stray note-off
        0x00, 0x90, 52, 70, // never ended
        0x10, 0x90, 52, 71, // same pitch again: struck again, never ended
        0x81, 0x00, 0xFF, 0x2F, 0x00, // end of track @144
    ];
    let score = read_midi_bytes(&raw_smf(0, 96, &[&track])).expect("readable");
    assert_eq!(
        score.tracks[0].notes,
        vec![n(52, 0, 16, 70), n(52, 16, 128, 71)]
    );
}

#[test]
fn nested_same_pitch_notes_come_back_as_a_key_struck_again() {
    // A key sounds once: [0,960) holding [240,480) is written and read back as the key struck
    // again at 240: [0,240) and [240,480) — same onsets, one sound at a time.
    let mut score = Score::new(480);
    score.tracks.push(track(
        "x",
        0,
        0,
        vec![n(60, 0, 960, 80), n(60, 240, 240, 90)],
    ));
    let back = read_midi_bytes(&score_to_midi_bytes(&score).expect("encodable")).expect("ok");
    assert_eq!(
        back.tracks[0].notes,
        vec![n(60, 0, 240, 80), n(60, 240, 240, 90)]
    );
    assert_eq!(back.tracks, score.as_played().tracks);
}

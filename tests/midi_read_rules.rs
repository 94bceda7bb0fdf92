//! How real MIDI files become notes: each case is a file this test writes byte by byte and reads
//! back from disk (type 0 and type 1, running status, tempo changes, velocity-0 note-offs, a key
//! struck again while it sounds, the sustain pedal), and a folder's report.

use std::path::{Path, PathBuf};

use anyhow::Result;
use tunesmith::midi::{
    load_midi_corpus_with_options, raw_smf, read_midi_file, read_midi_file_with_options,
    MidiReadOptions, SustainPedal,
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

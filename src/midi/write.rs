//! [`Score`] to a format 1 Standard MIDI File, in memory or atomically on disk.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Timing, TrackEvent, TrackEventKind};

use crate::score::{one_sound_per_key, Score, Track};

/// Encodes `score` as a format 1 Standard MIDI File.
///
/// Track 0 is a conductor track holding the tempo and time-signature maps; then each
/// [`Track`] becomes one MIDI track with its name, a program change and its notes. Drum tracks are
/// written on channel index 9. A MIDI key sounds once at a time, so each track is written as a
/// keyboard plays it ([`Score::as_played`]: of same-pitch notes starting together the longest,
/// each note cut at the next onset of its pitch), and at equal ticks note-offs come before
/// note-ons: reading the file back gives `score.as_played()`, which is `score` itself when no
/// note overlaps another of its pitch in its track. A velocity of 0 is written as 1 and a
/// duration of 0 as 1 tick, as [`Note`](crate::score::Note) requires.
///
/// # Errors
/// A value MIDI cannot hold: ticks per quarter of 0 or above 32767, pitch, velocity or program
/// above 127, channel above 15, a tempo of 0 or at least 2^24 µs, a time-signature denominator
/// that is not a power of two up to 128 (or numerator 0), a note end past `u32::MAX`, or more than
/// 2^28 - 1 ticks between two events of a track.
pub fn score_to_midi_bytes(score: &Score) -> Result<Vec<u8>> {
    let tpq = u15::try_from(score.ticks_per_quarter)
        .filter(|t| t.as_int() > 0)
        .ok_or_else(|| {
            anyhow!(
                "cannot write MIDI: ticks per quarter must be 1..=32767, not {}",
                score.ticks_per_quarter
            )
        })?;
    let mut tracks = vec![conductor_track(score)?];
    for (index, track) in score.tracks.iter().enumerate() {
        let events = note_track(track)
            .with_context(|| format!("cannot write MIDI: track {index} (\"{}\")", track.name))?;
        tracks.push(events);
    }
    let header = Header::new(Format::Parallel, Timing::Metrical(tpq));
    let mut bytes = Vec::new();
    midly::write_std(&header, tracks.iter(), &mut bytes).context("cannot write MIDI")?;
    Ok(bytes)
}

/// Writes `score` to `path` as a MIDI file, atomically.
///
/// The bytes go to a temporary file beside `path`, which is flushed, synced to disk and then
/// renamed over `path`; if anything fails, `path` is left as it was and the temporary file is
/// removed.
///
/// # Errors
/// The score cannot be encoded (see [`score_to_midi_bytes`]) or the file cannot be written; the
/// message names the file.
pub fn write_midi_file(score: &Score, path: &Path) -> Result<()> {
    let bytes = score_to_midi_bytes(score)
        .with_context(|| format!("cannot write MIDI file {}", path.display()))?;
    crate::fsutil::write_atomic(path, &bytes)
        .with_context(|| format!("cannot write MIDI file {}", path.display()))
}

/// An event at an absolute tick, with a sort key that orders events sharing a tick.
type Timed<'a> = (u32, [u32; 3], TrackEventKind<'a>);

/// The tempo and time-signature maps as track 0.
fn conductor_track(score: &Score) -> Result<Vec<TrackEvent<'static>>> {
    let mut events: Vec<Timed<'static>> = Vec::new();
    for tempo in &score.tempos {
        let micros = u24::try_from(tempo.micros_per_quarter)
            .filter(|m| m.as_int() > 0)
            .ok_or_else(|| {
                anyhow!(
                    "cannot write MIDI: tempo at tick {} of {} µs per quarter is outside \
                     1..=16777215",
                    tempo.tick,
                    tempo.micros_per_quarter
                )
            })?;
        events.push((
            tempo.tick,
            [0; 3],
            TrackEventKind::Meta(MetaMessage::Tempo(micros)),
        ));
    }
    for sig in &score.time_signatures {
        let d = sig.denominator;
        if sig.numerator == 0 || !d.is_power_of_two() {
            bail!(
                "cannot write MIDI: time signature {}/{} at tick {} is not writable (numerator \
                 must be positive, denominator a power of two)",
                sig.numerator,
                d,
                sig.tick
            );
        }
        let meta = MetaMessage::TimeSignature(sig.numerator, d.trailing_zeros() as u8, 24, 8);
        events.push((sig.tick, [1, 0, 0], TrackEventKind::Meta(meta)));
    }
    to_track_events(events)
}

/// One part: name, program change, notes.
fn note_track(track: &Track) -> Result<Vec<TrackEvent<'_>>> {
    let channel_number = if track.is_drum { 9 } else { track.channel };
    let channel = u4::try_from(channel_number)
        .ok_or_else(|| anyhow!("channel {} is above 15", track.channel))?;
    let program = u7::try_from(track.program)
        .ok_or_else(|| anyhow!("program {} is above 127", track.program))?;
    let mut events: Vec<Timed<'_>> = Vec::with_capacity(2 * track.notes.len() + 2);
    if !track.name.is_empty() {
        let name = MetaMessage::TrackName(track.name.as_bytes());
        events.push((0, [0; 3], TrackEventKind::Meta(name)));
    }
    let message = MidiMessage::ProgramChange { program };
    events.push((0, [1, 0, 0], TrackEventKind::Midi { channel, message }));
    for (i, note) in one_sound_per_key(&track.notes).iter().enumerate() {
        let key = u7::try_from(note.pitch)
            .ok_or_else(|| anyhow!("note {i} has pitch {} above 127", note.pitch))?;
        let vel = u7::try_from(note.velocity.max(1))
            .ok_or_else(|| anyhow!("note {i} has velocity {} above 127", note.velocity))?;
        let end = note
            .start
            .checked_add(note.duration.max(1))
            .ok_or_else(|| anyhow!("note {i} ends past tick {}", u32::MAX))?;
        let pitch = u32::from(note.pitch);
        let off = MidiMessage::NoteOff { key, vel: 0.into() };
        events.push((
            end,
            [2, pitch, 0],
            TrackEventKind::Midi {
                channel,
                message: off,
            },
        ));
        let on = MidiMessage::NoteOn { key, vel };
        events.push((
            note.start,
            [3, pitch, end],
            TrackEventKind::Midi {
                channel,
                message: on,
            },
        ));
    }
    to_track_events(events)
}

/// Sorts timed events and turns them into delta-timed events ending with end-of-track.
fn to_track_events(mut events: Vec<Timed<'_>>) -> Result<Vec<TrackEvent<'_>>> {
    events.sort_by_key(|&(tick, order, _)| (tick, order));
    let mut out = Vec::with_capacity(events.len() + 1);
    let mut last = 0u32;
    for (tick, _, kind) in events {
        let delta = u28::try_from(tick - last).ok_or_else(|| {
            anyhow!(
                "cannot write MIDI: gap of {} ticks before tick {tick} exceeds MIDI's limit of {}",
                tick - last,
                u28::max_value()
            )
        })?;
        out.push(TrackEvent { delta, kind });
        last = tick;
    }
    out.push(TrackEvent {
        delta: 0.into(),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::midi::read_midi_bytes;
    use crate::score::{Note, TimeSignature};
    use std::fs;

    fn one_track(notes: Vec<Note>) -> Score {
        let mut score = Score::new(96);
        score.tracks.push(Track {
            name: "lead".into(),
            notes,
            ..Track::default()
        });
        score
    }

    fn n(pitch: u8, start: u32, duration: u32, velocity: u8) -> Note {
        Note::new(pitch, start, duration).with_velocity(velocity)
    }

    #[test]
    fn overlapping_notes_of_one_pitch_come_back_as_played() {
        let notes = vec![n(60, 0, 96, 50), n(60, 0, 48, 90), n(60, 48, 60, 70)];
        let score = one_track(notes);
        let back = read_midi_bytes(&score_to_midi_bytes(&score).expect("ok")).expect("readable");
        assert_eq!(
            back.tracks[0].notes,
            vec![n(60, 0, 48, 50), n(60, 48, 60, 70)]
        );
        assert_eq!(back.tracks, score.as_played().tracks);
    }

    #[test]
    fn note_off_precedes_note_on_at_the_same_tick() {
        let bytes =
            score_to_midi_bytes(&one_track(vec![n(60, 0, 96, 80), n(60, 96, 96, 81)])).expect("ok");
        let back = read_midi_bytes(&bytes).expect("readable");
        assert_eq!(
            back.tracks[0].notes,
            vec![n(60, 0, 96, 80), n(60, 96, 96, 81)]
        );
    }

    #[test]
    fn zero_velocity_and_duration_become_one() {
        let back =
            read_midi_bytes(&score_to_midi_bytes(&one_track(vec![n(60, 0, 0, 0)])).expect("ok"))
                .expect("readable");
        assert_eq!(back.tracks[0].notes, vec![n(60, 0, 1, 1)]);
    }

    #[test]
    fn unwritable_values_are_refused_with_a_reason() {
        let text = |score: &Score| format!("{:#}", score_to_midi_bytes(score).expect_err("bad"));
        assert!(text(&one_track(vec![n(200, 0, 1, 1)])).contains("pitch 200"));
        assert!(text(&one_track(vec![n(60, u32::MAX, 5, 1)])).contains("ends past"));
        assert!(text(&one_track(vec![n(60, 1 << 29, 5, 1)])).contains("gap of"));
        let mut score = one_track(vec![]);
        score.time_signatures.push(TimeSignature::new(0, 3, 6));
        assert!(text(&score).contains("time signature 3/6"));
        assert!(text(&Score::new(0)).contains("ticks per quarter"));
    }

    #[test]
    fn failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("song.mid");
        fs::write(&path, b"old").expect("write");
        let err = write_midi_file(&one_track(vec![n(200, 0, 1, 1)]), &path).expect_err("bad");
        assert!(format!("{err:#}").contains("song.mid"));
        assert_eq!(fs::read(&path).expect("read"), b"old");
        // Renaming a file over a folder fails after the temporary file was written.
        let folder = dir.path().join("folder.mid");
        fs::create_dir(&folder).expect("mkdir");
        fs::write(folder.join("keep"), b"x").expect("write");
        assert!(write_midi_file(&one_track(vec![n(60, 0, 1, 1)]), &folder).is_err());
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 2, "left behind: {names:?}");
    }

    #[test]
    fn successful_write_replaces_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("song.mid");
        fs::write(&path, b"old").expect("write");
        let score = one_track(vec![n(60, 0, 96, 80)]);
        write_midi_file(&score, &path).expect("written");
        let back = crate::midi::read_midi_file(&path).expect("readable");
        assert_eq!(back.tracks[0].notes, score.tracks[0].notes);
    }
}

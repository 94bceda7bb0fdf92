//! MIDI bytes or files to [`Score`]: note pairing, channel split, tempo and meter maps.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};
use midly::{EventIter, MetaMessage, MidiMessage, TrackEventKind};

use serde::{Deserialize, Serialize};

use super::container::split_chunks;
use super::keys::{KeyEvents, Keyboard, SustainPedal};
use super::limits::MidiLimits;
use crate::score::{Score, TempoChange, TimeSignature, Track};

/// How MIDI files are read: the sanity limits and when the sustain pedal holds notes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MidiReadOptions {
    /// Files beyond these are refused.
    pub limits: MidiLimits,
    /// When controller 64 holds notes after their note-off (by default on piano programs).
    pub sustain_pedal: SustainPedal,
}

/// One file read: its score and what reading its key events did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MidiRead {
    /// The notes, tracks, tempo and meter changes.
    pub score: Score,
    /// The file's format (0: one track, 1: several tracks played together).
    pub format: u16,
    /// Notes read, struck again, held by the pedal, and stray events.
    pub key_events: KeyEvents,
}

/// Reads a Standard MIDI File held in memory, with the default [`MidiLimits`].
///
/// Format 0 and 1 with metrical timing are read; each MIDI track is split by channel into
/// [`Track`]s named after the track-name event, with the program in effect at the channel's first
/// note. Channel index 9 gives drum tracks (`is_drum`). A note-on with velocity 0 is a note-off.
///
/// Key events become notes as a pianist hears them (see [`MidiReadOptions`] to change the pedal):
/// - a key sounds once: a note-on for a key already sounding ends that note at the new onset (it
///   is struck again), and a repeated note-on at the tick the key was struck is dropped;
/// - a note-off ends its key's note; one at the tick the key was struck again belongs to the
///   replaced note; one for a silent key is ignored; a note whose on and off share a tick lasts
///   1 tick;
/// - the sustain pedal (controller 64 at 64 or more) holds released notes until it lifts or the
///   key is struck again, on piano programs (General MIDI 0–7) by default, never on drums;
/// - notes still sounding when a track ends are ended there.
///
/// Tempo and time-signature changes from all tracks are merged and sorted (at one tick, the last
/// one wins); unusable ones (tempo 0, numerator 0, denominator above 128) are ignored.
///
/// # Errors
/// Damaged data (see [`read_midi_bytes_with_limits`]); the message starts with the kind of
/// problem, e.g. `truncated file: ...`.
pub fn read_midi_bytes(bytes: &[u8]) -> Result<Score> {
    read_midi_bytes_with_limits(bytes, &MidiLimits::default())
}

/// Reads a Standard MIDI File held in memory, refusing data beyond `limits`.
///
/// # Errors
/// Too large, not MIDI, cut off, format 2, SMPTE timing, 0 ticks per quarter, a corrupt event
/// before the end of a track, too many events, or an event past `limits.max_tick`.
pub fn read_midi_bytes_with_limits(bytes: &[u8], limits: &MidiLimits) -> Result<Score> {
    let options = MidiReadOptions {
        limits: *limits,
        ..MidiReadOptions::default()
    };
    read_midi_bytes_with_options(bytes, &options).map(|read| read.score)
}

/// Reads a Standard MIDI File held in memory with `options`, and says what reading did.
///
/// # Errors
/// As [`read_midi_bytes_with_limits`], with `options.limits`.
pub fn read_midi_bytes_with_options(bytes: &[u8], options: &MidiReadOptions) -> Result<MidiRead> {
    let limits = &options.limits;
    if bytes.len() > limits.max_bytes {
        bail!(
            "file too large: {} bytes exceeds the cap of {} bytes",
            bytes.len(),
            limits.max_bytes
        );
    }
    let container = split_chunks(bytes)?;
    let mut score = Score::new(container.ticks_per_quarter);
    let mut budget = EventBudget {
        left: limits.max_events,
        max: limits.max_events,
        max_tick: limits.tick_limit(),
    };
    let total = container.tracks.len();
    let mut key_events = KeyEvents::default();
    for (index, chunk) in container.tracks.iter().enumerate() {
        let track = TrackChunk {
            bytes: chunk,
            index,
            total,
        };
        let events = read_track(&track, options.sustain_pedal, &mut budget, &mut score)?;
        key_events.add(&events);
    }
    score.tempos = last_per_tick(std::mem::take(&mut score.tempos), |t| t.tick);
    score.time_signatures = last_per_tick(std::mem::take(&mut score.time_signatures), |t| t.tick);
    score.sort();
    Ok(MidiRead {
        score,
        format: container.format,
        key_events,
    })
}

/// Reads a Standard MIDI File from disk, with the default [`MidiLimits`].
///
/// See [`read_midi_bytes`] for what is read.
///
/// # Errors
/// The file cannot be opened or read, or its content is refused; the message names the file.
pub fn read_midi_file(path: &Path) -> Result<Score> {
    read_midi_file_with_limits(path, &MidiLimits::default())
}

/// Reads a Standard MIDI File from disk, refusing files beyond `limits`.
///
/// The size cap is checked from the file's metadata before anything is read.
///
/// # Errors
/// The file cannot be opened or read, or its content is refused; the message names the file.
pub fn read_midi_file_with_limits(path: &Path, limits: &MidiLimits) -> Result<Score> {
    read_capped(path, limits.max_bytes)
        .and_then(|bytes| read_midi_bytes_with_limits(&bytes, limits))
        .with_context(|| format!("cannot read MIDI file {}", path.display()))
}

/// Reads a Standard MIDI File from disk with `options`, and says what reading did.
///
/// # Errors
/// The file cannot be opened or read, or its content is refused; the message names the file.
pub fn read_midi_file_with_options(path: &Path, options: &MidiReadOptions) -> Result<MidiRead> {
    read_capped(path, options.limits.max_bytes)
        .and_then(|bytes| read_midi_bytes_with_options(&bytes, options))
        .with_context(|| format!("cannot read MIDI file {}", path.display()))
}

/// Reads a whole file, refusing it (from metadata, then while reading) if over `max_bytes`.
pub(crate) fn read_capped(path: &Path, max_bytes: usize) -> Result<Vec<u8>> {
    let file = File::open(path).context("cannot open")?;
    let size = file.metadata().context("cannot get file metadata")?.len();
    if size > max_bytes as u64 {
        bail!("file too large: {size} bytes exceeds the cap of {max_bytes} bytes");
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take((max_bytes as u64).saturating_add(1))
        .read_to_end(&mut bytes)
        .context("read error")?;
    if bytes.len() > max_bytes {
        bail!("file too large: it grew past the cap of {max_bytes} bytes while being read");
    }
    Ok(bytes)
}

/// Events still allowed, shared by all tracks of one file.
struct EventBudget {
    left: usize,
    max: usize,
    max_tick: u32,
}

/// The programs of one channel while reading one MIDI track.
#[derive(Default, Clone, Copy)]
struct ChannelProgram {
    program: u8,
    program_at_first_note: Option<u8>,
}

/// One track chunk and where it stands in its file.
struct TrackChunk<'a> {
    bytes: &'a [u8],
    index: usize,
    total: usize,
}

/// Reads one track chunk, adding its tracks and map events to `score`.
fn read_track(
    track: &TrackChunk<'_>,
    pedal: SustainPedal,
    budget: &mut EventBudget,
    score: &mut Score,
) -> Result<KeyEvents> {
    let (chunk, index, total) = (track.bytes, track.index, track.total);
    let mut channels = [ChannelProgram::default(); 16];
    let mut keyboard = Keyboard::new(pedal);
    let mut name: Option<String> = None;
    let mut tick: u64 = 0;
    let mut events = EventIter::new(chunk);
    loop {
        let before = events.unread();
        let running_status = events.running_status();
        let event = match events.next() {
            Some(Ok(event)) => event,
            Some(Err(e)) => bail!(corrupt(chunk, before, index, total, &e.to_string())),
            None if before.is_empty() => break,
            None => bail!(corrupt(
                chunk,
                before,
                index,
                total,
                &describe_bad_event(before, running_status)
            )),
        };
        if budget.left == 0 {
            bail!(
                "too many events: more than {} (raise MidiLimits::max_events to read this file)",
                budget.max
            );
        }
        budget.left -= 1;
        tick += u64::from(event.delta.as_int());
        if tick > u64::from(budget.max_tick) {
            bail!(
                "absurd timing: track {} of {total} reaches tick {tick}, beyond the limit of {} \
                 (corrupt delta times?)",
                index + 1,
                budget.max_tick
            );
        }
        let now = tick as u32;
        match event.kind {
            TrackEventKind::Midi { channel, message } => {
                let ch = channel.as_int();
                let state = &mut channels[usize::from(ch)];
                match message {
                    MidiMessage::NoteOn { key, vel } if vel.as_int() > 0 => {
                        state.program_at_first_note.get_or_insert(state.program);
                        keyboard.key_down(ch, key.as_int(), vel.as_int(), now);
                    }
                    MidiMessage::NoteOn { key, .. } | MidiMessage::NoteOff { key, .. } => {
                        keyboard.key_up(ch, key.as_int(), now);
                    }
                    MidiMessage::Controller { controller, value } if controller.as_int() == 64 => {
                        keyboard.sustain(ch, value.as_int(), state.program, now);
                    }
                    MidiMessage::ProgramChange { program } => state.program = program.as_int(),
                    _ => {}
                }
            }
            TrackEventKind::Meta(meta) => match meta {
                MetaMessage::TrackName(bytes) if name.is_none() => name = Some(decode_text(bytes)),
                MetaMessage::Tempo(micros) if micros.as_int() > 0 => {
                    score.tempos.push(TempoChange::new(now, micros.as_int()))
                }
                MetaMessage::TimeSignature(numerator, power, _, _)
                    if numerator > 0 && power < 8 =>
                {
                    score.time_signatures.push(TimeSignature {
                        tick: now,
                        numerator,
                        denominator: 1 << power,
                    })
                }
                MetaMessage::EndOfTrack => break,
                _ => {}
            },
            _ => {}
        }
    }
    let (notes, key_events) = keyboard.finish(tick as u32);
    let name = name.unwrap_or_default();
    for (ch, (state, notes)) in channels.into_iter().zip(notes).enumerate() {
        if notes.is_empty() {
            continue;
        }
        score.tracks.push(Track {
            name: name.clone(),
            program: state.program_at_first_note.unwrap_or(state.program),
            channel: ch as u8,
            is_drum: ch == 9,
            notes,
        });
    }
    Ok(key_events)
}

/// Track and text bytes as a string: UTF-8 when valid, else Latin-1; trailing NULs dropped.
fn decode_text(bytes: &[u8]) -> String {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    };
    text.trim_end_matches('\0').to_string()
}

/// Keeps, for each tick, only the last entry (in input order), sorted by tick.
fn last_per_tick<T>(mut items: Vec<T>, tick: impl Fn(&T) -> u32) -> Vec<T> {
    items.sort_by_key(&tick);
    items.reverse();
    items.dedup_by(|a, b| tick(a) == tick(b));
    items.reverse();
    items
}

/// The error for an event that cannot be decoded.
fn corrupt(chunk: &[u8], at: &[u8], index: usize, total: usize, what: &str) -> anyhow::Error {
    let offset = chunk.len() - at.len();
    anyhow::anyhow!(
        "corrupt track: track {} of {total}, byte {offset} of {}: {what} (bytes there: {})",
        index + 1,
        chunk.len(),
        hex(at, 6)
    )
}

/// The first `n` bytes in hex, e.g. `00 90 3C`.
fn hex(bytes: &[u8], n: usize) -> String {
    let shown: Vec<String> = bytes.iter().take(n).map(|b| format!("{b:02X}")).collect();
    shown.join(" ")
}

/// Says in words why the event at the start of `raw` could not be decoded.
fn describe_bad_event(raw: &[u8], running_status: Option<u8>) -> String {
    let delta_len = raw.iter().take(4).take_while(|&&b| b & 0x80 != 0).count() + 1;
    let Some(&first) = raw.get(delta_len) else {
        return "event cut off by the end of the track".to_string();
    };
    let (status, data_at) = match (first, running_status) {
        (0x80..=0xFF, _) => (first, delta_len + 1),
        (_, Some(status)) => (status, delta_len),
        (_, None) => return format!("data byte 0x{first:02X} with no status byte before it"),
    };
    match status {
        0x80..=0xEF => {
            let len = if (0xC0..=0xDF).contains(&status) {
                1
            } else {
                2
            };
            match raw.get(data_at..data_at + len) {
                None => "event cut off by the end of the track".to_string(),
                Some(data) => match data.iter().find(|&&b| b > 0x7F) {
                    Some(b) => {
                        format!("data byte 0x{b:02X} of a 0x{status:02X} event is above 127")
                    }
                    None => format!("malformed 0x{status:02X} event"),
                },
            }
        }
        0xF1..=0xF6 | 0xF8..=0xFE => {
            format!("status byte 0x{status:02X} (system common/real-time) is not allowed in a file")
        }
        _ => format!("malformed or cut-off 0x{status:02X} (meta/sysex) event"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::midi::raw_smf;

    fn notes_of(score: &Score) -> Vec<(u8, u8, u32, u32, u8)> {
        score
            .tracks
            .iter()
            .flat_map(|t| {
                t.notes
                    .iter()
                    .map(move |n| (t.channel, n.pitch, n.start, n.duration, n.velocity))
            })
            .collect()
    }

    #[test]
    fn a_key_struck_again_while_sounding_ends_its_note() {
        // on@0 v10, on@10 v20, off@20, off@30 (same pitch, channel 0): struck again at 10
        let track = [
            0x00, 0x90, 60, 10, 0x0A, 0x90, 60, 20, 0x0A, 0x80, 60, 0, 0x0A, 0x80, 60, 0, 0x00,
            0xFF, 0x2F, 0x00,
        ];
        let score = read_midi_bytes(&raw_smf(0, 96, &[&track])).expect("valid");
        assert_eq!(
            notes_of(&score),
            vec![(0, 60, 0, 10, 10), (0, 60, 10, 10, 20)]
        );
    }

    #[test]
    fn hanging_notes_end_at_track_end_and_zero_length_notes_last_one_tick() {
        // on@0 (never off), on@5 + off@5, end of track @100
        let track = [
            0x00, 0x91, 64, 90, 0x05, 0x91, 67, 80, 0x00, 0x81, 67, 0, 0x5F, 0xFF, 0x2F, 0x00,
        ];
        let score = read_midi_bytes(&raw_smf(0, 96, &[&track])).expect("valid");
        assert_eq!(
            notes_of(&score),
            vec![(1, 64, 0, 100, 90), (1, 67, 5, 1, 80)]
        );
    }

    #[test]
    fn maps_keep_the_last_change_per_tick_and_skip_unusable_ones() {
        let track = [
            0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20, // tempo 500000 @0
            0x00, 0xFF, 0x51, 0x03, 0x0F, 0x42, 0x40, // tempo 1000000 @0 (wins)
            0x00, 0xFF, 0x51, 0x03, 0x00, 0x00, 0x00, // tempo 0: ignored
            0x00, 0xFF, 0x58, 0x04, 0x00, 0x02, 0x18, 0x08, // 0/4: ignored
            0x10, 0xFF, 0x58, 0x04, 0x06, 0x03, 0x18, 0x08, // 6/8 @16
            0x00, 0xFF, 0x2F, 0x00,
        ];
        let score = read_midi_bytes(&raw_smf(1, 96, &[&track])).expect("valid");
        assert_eq!(score.tempos, vec![TempoChange::new(0, 1_000_000)]);
        assert_eq!(score.time_signatures, vec![TimeSignature::new(16, 6, 8)]);
    }

    #[test]
    fn event_and_tick_limits_are_enforced() {
        let track = [
            0x00, 0x90, 60, 10, 0x60, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00,
        ];
        let bytes = raw_smf(0, 96, &[&track]);
        let few_events = MidiLimits {
            max_events: 2,
            ..MidiLimits::default()
        };
        let err = read_midi_bytes_with_limits(&bytes, &few_events).expect_err("3 events");
        assert!(err.to_string().starts_with("too many events"), "{err}");
        let early_end = MidiLimits {
            max_tick: 50,
            ..MidiLimits::default()
        };
        let err = read_midi_bytes_with_limits(&bytes, &early_end).expect_err("tick 96");
        assert!(err.to_string().starts_with("absurd timing"), "{err}");
        let small = MidiLimits::with_max_bytes(10);
        let err = read_midi_bytes_with_limits(&bytes, &small).expect_err("too big");
        assert!(err.to_string().starts_with("file too large"), "{err}");
    }

    #[test]
    fn bad_events_are_described() {
        assert_eq!(
            describe_bad_event(&[0x00, 0xF4], None),
            "status byte 0xF4 (system common/real-time) is not allowed in a file"
        );
        assert_eq!(
            describe_bad_event(&[0x00, 0x90, 0x3C, 0x9C], None),
            "data byte 0x9C of a 0x90 event is above 127"
        );
        assert_eq!(
            describe_bad_event(&[0x00, 0x3C, 0x40], None),
            "data byte 0x3C with no status byte before it"
        );
        assert_eq!(
            describe_bad_event(&[0x81, 0x00, 0x90, 0x3C], None),
            "event cut off by the end of the track"
        );
    }

    #[test]
    fn corrupt_event_before_end_of_track_is_an_error_but_junk_after_it_is_not() {
        let bad = [0x00, 0x90, 60, 10, 0x00, 0xF4, 0x00];
        let err = read_midi_bytes(&raw_smf(0, 96, &[&bad])).expect_err("corrupt");
        let text = err.to_string();
        assert!(
            text.starts_with("corrupt track: track 1 of 1, byte 4 of 7"),
            "{text}"
        );
        let junk_after_end = [0x00, 0x90, 60, 10, 0x10, 0xFF, 0x2F, 0x00, 0xF4, 0xF4];
        let score = read_midi_bytes(&raw_smf(0, 96, &[&junk_after_end])).expect("valid");
        assert_eq!(notes_of(&score), vec![(0, 60, 0, 16, 10)]);
    }

    #[test]
    fn latin1_names_are_decoded() {
        assert_eq!(decode_text(b"Caf\xE9\0"), "Café");
        assert_eq!(decode_text("Café".as_bytes()), "Café");
    }
}

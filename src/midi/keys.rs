//! How key and pedal events become notes, as a pianist hears them.
//!
//! The rules, per channel of a track (all documented on [`read_midi_bytes`]):
//!
//! - **One key sounds once.** A note-on for a key that is already sounding strikes it again: the
//!   sounding note ends at the new onset and a new note starts. (A piano cannot sound one string
//!   twice; pairing note-ons and note-offs first-in first-out instead can chain a stray note-on
//!   into a note that lasts the rest of the piece.) A second note-on of a key at the very tick its
//!   note started is a duplicate and is dropped.
//! - **A note-off ends the sounding note of its key.** A note-off at the tick the key was struck
//!   again is the old note's off (files often write the new note-on before the old note-off) and
//!   is passed over; a note-off for a key that is not sounding is counted and ignored. A note
//!   whose on and off share a tick lasts one tick.
//! - **The sustain pedal** (controller 64, down at 64 or more) holds released notes until it
//!   lifts, or until their key is struck again. When it applies is a [`SustainPedal`] choice: by
//!   default on piano programs (General MIDI 0–7), never on the drum channel.
//! - Notes still sounding when the track ends end there.
//!
//! [`read_midi_bytes`]: super::read_midi_bytes

use serde::{Deserialize, Serialize};

use crate::score::Note;

/// When the sustain pedal (MIDI controller 64) holds notes after their note-off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SustainPedal {
    /// On channels whose program, when the pedal goes down, is a piano (General MIDI programs
    /// 0–7: the piano family); never on the drum channel (channel index 9). The default.
    #[default]
    Pianos,
    /// On every channel but the drum channel.
    AllPrograms,
    /// Never: every note ends at its note-off.
    Off,
}

impl SustainPedal {
    /// Whether the pedal holds notes on `channel` (0-based) while `program` is selected.
    pub fn applies(self, channel: u8, program: u8) -> bool {
        match self {
            SustainPedal::Pianos => channel != 9 && program < 8,
            SustainPedal::AllPrograms => channel != 9,
            SustainPedal::Off => false,
        }
    }
}

/// What reading the key events of a file did, counted over its tracks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEvents {
    /// Notes read.
    pub notes: usize,
    /// Notes cut short because their key was struck again while it sounded.
    pub restruck: usize,
    /// Notes the sustain pedal held past their note-off.
    pub held_by_pedal: usize,
    /// Note-offs for a key that was not sounding (ignored).
    pub stray_note_offs: usize,
    /// Note-ons repeated at the tick their key was struck (dropped).
    pub duplicate_note_ons: usize,
    /// Notes that had no note-off and ended with their track.
    pub ended_by_track_end: usize,
}

impl KeyEvents {
    /// Adds another file's counts to these.
    pub fn add(&mut self, other: &KeyEvents) {
        self.notes += other.notes;
        self.restruck += other.restruck;
        self.held_by_pedal += other.held_by_pedal;
        self.stray_note_offs += other.stray_note_offs;
        self.duplicate_note_ons += other.duplicate_note_ons;
        self.ended_by_track_end += other.ended_by_track_end;
    }
}

/// A key that sounds.
#[derive(Debug, Clone, Copy)]
struct Sounding {
    start: u32,
    velocity: u8,
    /// The tick its note-off came while the pedal was down (the note is held by the pedal).
    released_at: Option<u32>,
    /// It was struck while the previous note of its key was still held down, whose note-off may
    /// still come at `start`.
    replaced_held_key: bool,
}

/// The keys and pedal of one channel.
#[derive(Debug, Clone)]
struct ChannelKeys {
    sounding: [Option<Sounding>; 128],
    pedal_down: bool,
    notes: Vec<Note>,
}

impl Default for ChannelKeys {
    fn default() -> Self {
        ChannelKeys {
            sounding: [None; 128],
            pedal_down: false,
            notes: Vec::new(),
        }
    }
}

/// The 16 channels of one track, turning key and pedal events into notes.
#[derive(Debug)]
pub(super) struct Keyboard {
    pedal: SustainPedal,
    channels: Vec<ChannelKeys>,
    /// What was done so far.
    pub events: KeyEvents,
}

impl Keyboard {
    /// A keyboard with every key up and the pedal up on every channel.
    pub fn new(pedal: SustainPedal) -> Self {
        Keyboard {
            pedal,
            channels: vec![ChannelKeys::default(); 16],
            events: KeyEvents::default(),
        }
    }

    /// A note-on with a velocity above 0.
    pub fn key_down(&mut self, channel: u8, pitch: u8, velocity: u8, now: u32) {
        let keys = &mut self.channels[usize::from(channel & 15)];
        let slot = &mut keys.sounding[usize::from(pitch & 127)];
        let mut replaced_held_key = false;
        if let Some(old) = *slot {
            if old.start == now {
                self.events.duplicate_note_ons += 1;
                return;
            }
            if old.released_at.is_some() {
                self.events.held_by_pedal += 1;
            } else {
                self.events.restruck += 1;
                replaced_held_key = true;
            }
            keys.notes.push(note(pitch, old.start, now, old.velocity));
        }
        *slot = Some(Sounding {
            start: now,
            velocity,
            released_at: None,
            replaced_held_key,
        });
    }

    /// A note-off, or a note-on with velocity 0.
    pub fn key_up(&mut self, channel: u8, pitch: u8, now: u32) {
        let keys = &mut self.channels[usize::from(channel & 15)];
        let slot = &mut keys.sounding[usize::from(pitch & 127)];
        let Some(mut sounding) = *slot else {
            self.events.stray_note_offs += 1;
            return;
        };
        if sounding.released_at.is_some() {
            self.events.stray_note_offs += 1;
        } else if sounding.start == now && sounding.replaced_held_key {
            // The off of the note this one replaced at this very tick.
            sounding.replaced_held_key = false;
            *slot = Some(sounding);
        } else if keys.pedal_down {
            sounding.released_at = Some(now);
            *slot = Some(sounding);
        } else {
            keys.notes
                .push(note(pitch, sounding.start, now, sounding.velocity));
            *slot = None;
        }
    }

    /// Controller 64 set to `value` while `program` is the channel's program.
    pub fn sustain(&mut self, channel: u8, value: u8, program: u8, now: u32) {
        let keys = &mut self.channels[usize::from(channel & 15)];
        if value >= 64 {
            keys.pedal_down = self.pedal.applies(channel, program);
            return;
        }
        keys.pedal_down = false;
        for (pitch, slot) in keys.sounding.iter_mut().enumerate() {
            if let Some(Sounding {
                start,
                velocity,
                released_at: Some(released),
                ..
            }) = *slot
            {
                if now > released {
                    self.events.held_by_pedal += 1;
                }
                keys.notes.push(note(pitch as u8, start, now, velocity));
                *slot = None;
            }
        }
    }

    /// Ends every note still sounding at `end` and returns each channel's notes (index = channel).
    pub fn finish(mut self, end: u32) -> (Vec<Vec<Note>>, KeyEvents) {
        let mut events = self.events;
        let notes = self
            .channels
            .iter_mut()
            .map(|keys| {
                for (pitch, slot) in keys.sounding.iter_mut().enumerate() {
                    if let Some(sounding) = slot.take() {
                        match sounding.released_at {
                            Some(released) if end > released => events.held_by_pedal += 1,
                            Some(_) => {}
                            None => events.ended_by_track_end += 1,
                        }
                        keys.notes
                            .push(note(pitch as u8, sounding.start, end, sounding.velocity));
                    }
                }
                events.notes += keys.notes.len();
                std::mem::take(&mut keys.notes)
            })
            .collect();
        (notes, events)
    }
}

/// A note from `start` to `end` (at least 1 tick long).
fn note(pitch: u8, start: u32, end: u32, velocity: u8) -> Note {
    Note {
        pitch,
        start,
        duration: end.saturating_sub(start).max(1),
        velocity,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(notes: &[Note]) -> Vec<(u8, u32, u32)> {
        let mut out: Vec<_> = notes
            .iter()
            .map(|n| (n.pitch, n.start, n.start + n.duration))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn a_key_struck_again_ends_its_sounding_note() {
        let mut keys = Keyboard::new(SustainPedal::Off);
        keys.key_down(0, 60, 90, 0);
        keys.key_down(0, 60, 80, 10);
        keys.key_up(0, 60, 20);
        keys.key_up(0, 60, 30);
        let (notes, events) = keys.finish(40);
        assert_eq!(spans(&notes[0]), vec![(60, 0, 10), (60, 10, 20)]);
        assert_eq!(events.restruck, 1);
        assert_eq!(events.stray_note_offs, 1);
        assert_eq!(events.notes, 2);
    }

    #[test]
    fn an_off_at_the_restrike_tick_belongs_to_the_old_note() {
        let mut keys = Keyboard::new(SustainPedal::Off);
        keys.key_down(0, 62, 90, 0);
        keys.key_down(0, 62, 90, 8); // new note-on written before the old note-off
        keys.key_up(0, 62, 8);
        keys.key_up(0, 62, 16);
        let (notes, events) = keys.finish(16);
        assert_eq!(spans(&notes[0]), vec![(62, 0, 8), (62, 8, 16)]);
        assert_eq!(events.stray_note_offs, 0);
    }

    #[test]
    fn duplicate_note_ons_are_dropped_and_zero_length_notes_last_a_tick() {
        let mut keys = Keyboard::new(SustainPedal::Off);
        keys.key_down(3, 64, 90, 5);
        keys.key_down(3, 64, 70, 5);
        keys.key_up(3, 64, 9);
        keys.key_down(3, 65, 90, 12);
        keys.key_up(3, 65, 12);
        let (notes, events) = keys.finish(20);
        assert_eq!(spans(&notes[3]), vec![(64, 5, 9), (65, 12, 13)]);
        assert_eq!(events.duplicate_note_ons, 1);
        assert_eq!(notes[3][0].velocity, 90);
    }

    #[test]
    fn the_pedal_holds_released_notes_until_it_lifts_or_the_key_is_struck() {
        let mut keys = Keyboard::new(SustainPedal::Pianos);
        keys.sustain(0, 127, 0, 0);
        keys.key_down(0, 60, 90, 0);
        keys.key_up(0, 60, 4);
        keys.key_down(0, 64, 90, 4);
        keys.key_up(0, 64, 8);
        keys.key_down(0, 60, 90, 10); // struck again while held by the pedal
        keys.key_up(0, 60, 12);
        keys.sustain(0, 0, 0, 20);
        keys.key_down(0, 67, 90, 20);
        keys.key_up(0, 67, 24); // pedal up: ends here
        let (notes, events) = keys.finish(30);
        assert_eq!(
            spans(&notes[0]),
            vec![(60, 0, 10), (60, 10, 20), (64, 4, 20), (67, 20, 24)]
        );
        assert_eq!(events.held_by_pedal, 3);
        assert_eq!(events.restruck, 0);
    }

    #[test]
    fn the_pedal_is_ignored_off_the_piano_on_drums_and_when_off() {
        for (pedal, channel, program) in [
            (SustainPedal::Pianos, 0, 40),
            (SustainPedal::Pianos, 9, 0),
            (SustainPedal::AllPrograms, 9, 40),
            (SustainPedal::Off, 0, 0),
        ] {
            let mut keys = Keyboard::new(pedal);
            keys.sustain(channel, 100, program, 0);
            keys.key_down(channel, 60, 90, 0);
            keys.key_up(channel, 60, 4);
            keys.sustain(channel, 0, program, 50);
            let (notes, events) = keys.finish(60);
            assert_eq!(spans(&notes[usize::from(channel)]), vec![(60, 0, 4)]);
            assert_eq!(events.held_by_pedal, 0, "{pedal:?} {channel} {program}");
        }
        assert!(SustainPedal::AllPrograms.applies(0, 40));
        assert!(SustainPedal::Pianos.applies(1, 7));
    }

    #[test]
    fn notes_without_an_off_end_with_the_track() {
        let mut keys = Keyboard::new(SustainPedal::Pianos);
        keys.key_down(1, 50, 90, 3);
        keys.sustain(1, 64, 0, 5);
        keys.key_down(1, 52, 90, 6);
        keys.key_up(1, 52, 8);
        let (notes, events) = keys.finish(40);
        assert_eq!(spans(&notes[1]), vec![(50, 3, 40), (52, 6, 40)]);
        assert_eq!(events.ended_by_track_end, 1);
        assert_eq!(events.held_by_pedal, 1);
    }
}

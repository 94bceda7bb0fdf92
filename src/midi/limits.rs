//! Sanity limits that keep a damaged or hostile file from exhausting memory or time.

/// Largest MIDI file read by default: 16 MiB (real music files are rarely over 1 MiB).
pub const MAX_MIDI_BYTES: usize = 16 * 1024 * 1024;

/// Most events (notes, controllers, meta events, ...) read from one file by default.
pub const MAX_MIDI_EVENTS: usize = 5_000_000;

/// Latest tick an event may fall on (2^31 - 1); anything later means corrupt delta times.
pub const MAX_MIDI_TICK: u32 = i32::MAX as u32;

/// Limits applied while reading MIDI; files beyond them are refused with a clear error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MidiLimits {
    /// Largest file size in bytes ([`MAX_MIDI_BYTES`] by default).
    pub max_bytes: usize,
    /// Most events over all tracks ([`MAX_MIDI_EVENTS`] by default).
    pub max_events: usize,
    /// Latest tick any event may fall on ([`MAX_MIDI_TICK`] by default, which is also the most
    /// allowed).
    pub max_tick: u32,
}

impl Default for MidiLimits {
    fn default() -> Self {
        MidiLimits {
            max_bytes: MAX_MIDI_BYTES,
            max_events: MAX_MIDI_EVENTS,
            max_tick: MAX_MIDI_TICK,
        }
    }
}

impl MidiLimits {
    /// The default limits with a different file-size cap.
    pub fn with_max_bytes(max_bytes: usize) -> Self {
        MidiLimits {
            max_bytes,
            ..MidiLimits::default()
        }
    }

    /// The tick limit actually enforced: `max_tick`, but never above [`MAX_MIDI_TICK`], so that
    /// every note end fits in a `u32`.
    pub(crate) fn tick_limit(&self) -> u32 {
        self.max_tick.min(MAX_MIDI_TICK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_size_cap_keeps_the_other_defaults() {
        let limits = MidiLimits::with_max_bytes(1000);
        assert_eq!(limits.max_bytes, 1000);
        assert_eq!(limits.max_events, MAX_MIDI_EVENTS);
        assert_eq!(limits.tick_limit(), MAX_MIDI_TICK);
    }

    #[test]
    fn tick_limit_never_exceeds_the_hard_cap() {
        let limits = MidiLimits {
            max_tick: u32::MAX,
            ..MidiLimits::default()
        };
        assert_eq!(limits.tick_limit(), MAX_MIDI_TICK);
    }
}

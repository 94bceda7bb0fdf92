//! Sample data for tests, benchmarks and notebooks: damaged MIDI files, hand-built files, and
//! synthetic scores.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::limits::MAX_MIDI_BYTES;
pub use crate::score::synthetic_score;

/// The damaged files [`write_damaged_midi_fixtures`] writes: file name, and the start of the
/// reason the reader gives for refusing it.
pub const DAMAGED_MIDI_FIXTURES: [(&str, &str); 19] = [
    ("empty.mid", "empty file"),
    ("random_garbage.mid", "not a MIDI file"),
    ("text_renamed.mid", "not a MIDI file"),
    ("riff_magic.mid", "not a MIDI file"),
    ("truncated_header.mid", "truncated file"),
    ("short_header_chunk.mid", "bad header"),
    ("unknown_format.mid", "bad header"),
    ("format_2.mid", "unsupported format"),
    ("smpte_timing.mid", "unsupported timing"),
    ("zero_ticks_per_quarter.mid", "bad header"),
    ("declares_1_track_has_0.mid", "truncated file"),
    ("truncated_track.mid", "truncated file"),
    ("track_length_past_eof.mid", "truncated file"),
    ("cut_chunk_header.mid", "truncated file"),
    ("absurd_delta_times.mid", "absurd timing"),
    ("invalid_status_byte.mid", "corrupt track"),
    ("data_byte_over_127.mid", "corrupt track"),
    ("data_without_status.mid", "corrupt track"),
    ("over_size_cap.mid", "file too large"),
];

/// A minimal valid track: middle C for one quarter (at 96 ticks per quarter), then end of track.
const GOOD_TRACK: [u8; 12] = [
    0x00, 0x90, 60, 80, 0x60, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00,
];

/// Writes one file of each kind in [`DAMAGED_MIDI_FIXTURES`] into `dir` (which must exist) and
/// returns their paths in that order.
///
/// Every file must be refused by [`read_midi_file`](super::read_midi_file) with a clear reason.
/// The over-size file is sparse: it claims `MAX_MIDI_BYTES + 1` bytes but takes little disk space
/// on most file systems.
///
/// # Errors
/// A file cannot be written; the message names it.
pub fn write_damaged_midi_fixtures(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::with_capacity(DAMAGED_MIDI_FIXTURES.len());
    for (name, _) in DAMAGED_MIDI_FIXTURES {
        let path = dir.join(name);
        write_fixture(name, &path)
            .with_context(|| format!("cannot write fixture {}", path.display()))?;
        paths.push(path);
    }
    Ok(paths)
}

fn write_fixture(name: &str, path: &Path) -> Result<()> {
    if name == "over_size_cap.mid" {
        fs::write(path, raw_smf(0, 96, &[&GOOD_TRACK]))?;
        File::options()
            .write(true)
            .open(path)?
            .set_len(MAX_MIDI_BYTES as u64 + 1)?;
        return Ok(());
    }
    fs::write(path, damaged_bytes(name))?;
    Ok(())
}

/// The content of each damaged fixture (except the over-size one).
fn damaged_bytes(name: &str) -> Vec<u8> {
    let good = raw_smf(1, 96, &[&GOOD_TRACK]);
    match name {
        "empty.mid" => Vec::new(),
        "random_garbage.mid" => {
            let mut state = 0x2545_F491_4F6C_DD1Du64;
            (0..512)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 24) as u8
                })
                .collect()
        }
        "text_renamed.mid" => b"X:1\nT:Not a MIDI file\nK:C\nCDEF GABc|\n".to_vec(),
        "riff_magic.mid" => b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00".to_vec(),
        "truncated_header.mid" => good[..10].to_vec(),
        "short_header_chunk.mid" => {
            let mut bytes = good;
            bytes[7] = 4;
            bytes
        }
        "unknown_format.mid" => raw_smf(7, 96, &[&GOOD_TRACK]),
        "format_2.mid" => raw_smf(2, 96, &[&GOOD_TRACK]),
        "smpte_timing.mid" => raw_smf(1, 0xE728, &[&GOOD_TRACK]),
        "zero_ticks_per_quarter.mid" => raw_smf(1, 0, &[&GOOD_TRACK]),
        "declares_1_track_has_0.mid" => good[..14].to_vec(),
        "truncated_track.mid" => good[..good.len() - 5].to_vec(),
        "track_length_past_eof.mid" => {
            let mut bytes = good;
            bytes[18..22].copy_from_slice(&0x7FFF_FFFFu32.to_be_bytes());
            bytes
        }
        "cut_chunk_header.mid" => {
            let mut bytes = raw_smf(1, 96, &[&GOOD_TRACK, &GOOD_TRACK]);
            bytes.truncate(14 + 8 + GOOD_TRACK.len() + 5);
            bytes
        }
        "absurd_delta_times.mid" => {
            let mut track = vec![0x00, 0x90, 60, 80];
            for _ in 0..9 {
                // Largest delta time (2^28 - 1), then a note-off/on pair via running status.
                track.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0x7F, 60, 0]);
            }
            track.extend_from_slice(&[0x00, 0xFF, 0x2F, 0x00]);
            raw_smf(0, 96, &[&track])
        }
        "invalid_status_byte.mid" => raw_smf(0, 96, &[&[0x00, 0x90, 60, 80, 0x10, 0xF4, 0x00]]),
        "data_byte_over_127.mid" => raw_smf(0, 96, &[&[0x00, 0x90, 60, 0x9C, 0x00, 0xFF, 0x2F]]),
        "data_without_status.mid" => raw_smf(0, 96, &[&[0x00, 60, 80, 0x00, 0xFF, 0x2F, 0x00]]),
        _ => good,
    }
}

/// Builds Standard MIDI File bytes by hand: an `MThd` header (`format`, the track count,
/// `division`) and one `MTrk` chunk per entry of `tracks`, copied as given.
///
/// `division` is the raw header word: ticks per quarter, or an SMPTE code when its top bit is set.
/// Meant for small hand-made files: the track count is stored in 16 bits (at most 65535 tracks).
pub fn raw_smf(format: u16, division: u16, tracks: &[&[u8]]) -> Vec<u8> {
    let mut bytes = b"MThd\x00\x00\x00\x06".to_vec();
    bytes.extend_from_slice(&format.to_be_bytes());
    bytes.extend_from_slice(&(tracks.len() as u16).to_be_bytes());
    bytes.extend_from_slice(&division.to_be_bytes());
    for track in tracks {
        bytes.extend_from_slice(b"MTrk");
        bytes.extend_from_slice(&(track.len() as u32).to_be_bytes());
        bytes.extend_from_slice(track);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::midi::{read_midi_bytes, score_to_midi_bytes};

    #[test]
    fn every_fixture_is_written_and_refused_for_the_listed_reason() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = write_damaged_midi_fixtures(dir.path()).expect("fixtures");
        assert_eq!(paths.len(), DAMAGED_MIDI_FIXTURES.len());
        for (path, (_, reason)) in paths.iter().zip(DAMAGED_MIDI_FIXTURES) {
            let err = crate::midi::read_midi_file(path).expect_err("damaged");
            assert!(format!("{err:#}").contains(reason), "{err:#}");
        }
    }

    #[test]
    fn synthetic_scores_round_trip_and_differ_by_seed() {
        let a = synthetic_score(1, 200);
        assert_eq!(a.note_count(), 800);
        assert_ne!(a, synthetic_score(2, 200));
        let back = read_midi_bytes(&score_to_midi_bytes(&a).expect("ok")).expect("readable");
        assert_eq!(back, a);
    }

    #[test]
    fn good_track_fixture_is_valid() {
        let score = read_midi_bytes(&raw_smf(0, 96, &[&GOOD_TRACK])).expect("valid");
        assert_eq!(score.note_count(), 1);
    }
}

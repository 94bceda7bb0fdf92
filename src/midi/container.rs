//! The chunk layer of a Standard MIDI File: header checks and the list of track chunks.
//!
//! midly is lenient about broken chunk structure (it silently reads what it can); this layer
//! turns the cases that lose music (missing or cut-off tracks) into errors that say what is wrong.

use anyhow::{anyhow, bail, Result};
use midly::{Format, Timing};

/// A checked file: resolution and the raw bytes of each track chunk, in file order.
#[derive(Debug)]
pub(crate) struct Container<'a> {
    /// The file's format: 0 (one track) or 1 (tracks played together).
    pub format: u16,
    /// Ticks per quarter note (never 0).
    pub ticks_per_quarter: u16,
    /// Track chunk bodies (without the 8-byte chunk header).
    pub tracks: Vec<&'a [u8]>,
}

/// Checks the header and chunk structure of `bytes` and returns the track chunks.
///
/// Refused: empty or non-MIDI data, cut-off header, format 2, SMPTE timing, 0 ticks per quarter,
/// fewer track chunks than the header declares, a chunk running past the end of the file.
/// Tolerated: unknown chunks, extra track chunks, junk after the last declared track.
pub(crate) fn split_chunks(bytes: &[u8]) -> Result<Container<'_>> {
    if bytes.is_empty() {
        bail!("empty file: 0 bytes");
    }
    let magic = &bytes[..bytes.len().min(4)];
    if magic == b"MThd" {
        check_raw_header(bytes)?;
    } else if magic != b"RIFF" {
        bail!(
            "not a MIDI file: starts with \"{}\" instead of \"MThd\"",
            preview(bytes, 8)
        );
    }
    let (header, tracks) = midly::parse(bytes).map_err(|e| {
        if magic == b"RIFF" {
            anyhow!("not a MIDI file: RIFF data that is not a valid RMID wrapper ({e})")
        } else {
            anyhow!("bad header: {e}")
        }
    })?;
    if header.format == Format::Sequential {
        bail!(format_two_error());
    }
    let ticks_per_quarter = match header.timing {
        Timing::Metrical(tpq) => tpq.as_int(),
        Timing::Timecode(fps, sub) => bail!(smpte_error(fps.as_int(), sub)),
    };
    if ticks_per_quarter == 0 {
        bail!("bad header: 0 ticks per quarter note");
    }
    let declared = tracks.size_hint().0;
    let tracks = track_chunks(tracks.unread(), declared)?;
    let format = match header.format {
        Format::SingleTrack => 0,
        _ => 1,
    };
    Ok(Container {
        format,
        ticks_per_quarter,
        tracks,
    })
}

/// Checks a plain `MThd` header byte by byte, for precise messages.
fn check_raw_header(bytes: &[u8]) -> Result<()> {
    if bytes.len() < 14 {
        bail!(
            "truncated file: the 14-byte header is cut off after {} bytes",
            bytes.len()
        );
    }
    let length = be_u32(&bytes[4..8]);
    if length < 6 {
        bail!("bad header: header chunk declares {length} bytes, at least 6 are needed");
    }
    let format = u16::from_be_bytes([bytes[8], bytes[9]]);
    match format {
        0 | 1 => {}
        2 => bail!(format_two_error()),
        other => bail!("bad header: unknown format {other} (expected 0, 1 or 2)"),
    }
    let division = u16::from_be_bytes([bytes[12], bytes[13]]);
    if division & 0x8000 != 0 {
        let fps = (bytes[12] as i8).unsigned_abs();
        bail!(smpte_error(fps, bytes[13]));
    }
    Ok(())
}

/// Walks the chunks after the header, keeping `MTrk` bodies.
fn track_chunks(mut rest: &[u8], declared: usize) -> Result<Vec<&[u8]>> {
    let mut tracks = Vec::with_capacity(declared.min(1024));
    let mut chunk_number = 0usize;
    while !rest.is_empty() {
        let complete = tracks.len() >= declared;
        chunk_number += 1;
        if rest.len() < 8 {
            if complete {
                break;
            }
            bail!(
                "truncated file: chunk {chunk_number} after the header is cut off inside its \
                 8-byte chunk header ({} bytes left)",
                rest.len()
            );
        }
        let (id, body) = rest.split_at(4);
        let (length, body) = body.split_at(4);
        let length = be_u32(length) as usize;
        if length > body.len() {
            if complete {
                break;
            }
            bail!(
                "truncated file: chunk {chunk_number} (\"{}\") declares {length} bytes but only {} \
                 remain in the file",
                preview(id, 4),
                body.len()
            );
        }
        let (chunk, after) = body.split_at(length);
        if id == b"MTrk" {
            tracks.push(chunk);
        }
        rest = after;
    }
    if tracks.len() < declared {
        bail!(
            "truncated file: header declares {declared} track(s) but only {} track chunk(s) were \
             found",
            tracks.len()
        );
    }
    Ok(tracks)
}

fn format_two_error() -> anyhow::Error {
    anyhow!("unsupported format: format 2 (independent sequences) is not supported")
}

fn smpte_error(fps: u8, ticks_per_frame: u8) -> anyhow::Error {
    anyhow!(
        "unsupported timing: SMPTE timecode ({fps} fps, {ticks_per_frame} ticks per frame); only \
         metrical timing (ticks per quarter note) is supported"
    )
}

fn be_u32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b))
}

/// The first `n` bytes as escaped ASCII, for messages.
fn preview(bytes: &[u8], n: usize) -> String {
    bytes[..bytes.len().min(n)].escape_ascii().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::midi::raw_smf;

    fn message(bytes: &[u8]) -> String {
        match split_chunks(bytes) {
            Ok(c) => panic!("expected an error, got {} tracks", c.tracks.len()),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn reads_track_chunks_and_skips_unknown_ones() {
        let mut bytes = raw_smf(1, 96, &[&[0x00, 0xFF, 0x2F, 0x00]]);
        bytes.extend_from_slice(b"XYZW\x00\x00\x00\x02ab");
        bytes.extend_from_slice(b"MTrk\x00\x00\x00\x04\x00\xFF\x2F\x00");
        let c = split_chunks(&bytes).expect("valid file");
        assert_eq!(c.ticks_per_quarter, 96);
        assert_eq!(c.tracks.len(), 2);
    }

    #[test]
    fn junk_after_the_declared_tracks_is_ignored() {
        let mut bytes = raw_smf(0, 96, &[&[0x00, 0xFF, 0x2F, 0x00]]);
        bytes.extend_from_slice(b"\x00\x00\x00junk");
        assert_eq!(split_chunks(&bytes).expect("valid").tracks.len(), 1);
    }

    #[test]
    fn structural_damage_is_named() {
        assert!(message(b"").contains("empty file"));
        assert!(message(b"MThd\x00").contains("truncated file"));
        assert!(message(b"hello world").contains("not a MIDI file"));
        let mut missing = raw_smf(1, 96, &[]);
        missing[11] = 2;
        assert!(message(&missing).contains("declares 2 track(s) but only 0"));
        let mut long = raw_smf(0, 96, &[&[0x00, 0xFF, 0x2F, 0x00]]);
        long[21] = 0x40;
        assert!(message(&long).contains("declares 64 bytes but only 4 remain"));
        assert!(message(&raw_smf(2, 96, &[])).contains("format 2"));
        assert!(message(&raw_smf(1, 0xE728, &[])).contains("SMPTE"));
        assert!(message(&raw_smf(1, 0, &[])).contains("0 ticks per quarter"));
        assert!(message(&raw_smf(7, 96, &[])).contains("unknown format 7"));
    }

    #[test]
    fn preview_escapes_binary() {
        assert_eq!(preview(b"RI\x00\xFFxyz", 4), "RI\\x00\\xff");
    }
}

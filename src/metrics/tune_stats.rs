//! Musical statistics of one melody: pitch-class entropy, scale consistency, pitch range and
//! note density, computed from the notes of a [`Score`].

use crate::score::key::pitch_class_counts;
pub use crate::score::key::pitch_class_entropy;
use crate::score::Score;
use serde::{Deserialize, Serialize};

/// Pitch classes of the major scale on C (the natural minor scales use the same seven sets).
const MAJOR: [u8; 7] = [0, 2, 4, 5, 7, 9, 11];

/// Statistics of the notes of one score (all tracks together).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TuneStats {
    /// Number of notes.
    pub notes: usize,
    /// Shannon entropy, in bits, of the distribution of the notes over the 12 pitch classes
    /// (0 for one pitch class, log2 12 ≈ 3.585 for all twelve equally often).
    pub pitch_class_entropy: f64,
    /// The largest share of notes that fall in one major or natural-minor scale (24 scales; a
    /// natural minor has the notes of its relative major, so 12 distinct sets are tried).
    pub scale_consistency: f64,
    /// Highest minus lowest MIDI pitch, in semitones.
    pub pitch_range: u8,
    /// Notes per quarter note of music (from the first onset to the last note's end).
    pub note_density: f64,
}

/// The statistics of a score's notes; `None` when it has no notes.
pub fn tune_stats(score: &Score) -> Option<TuneStats> {
    let notes: Vec<_> = score.tracks.iter().flat_map(|t| t.notes.iter()).collect();
    if notes.is_empty() {
        return None;
    }
    let counts = pitch_class_counts(notes.iter().copied());
    let lowest = notes.iter().map(|n| n.pitch).min().unwrap_or(0);
    let highest = notes.iter().map(|n| n.pitch).max().unwrap_or(0);
    let first = notes.iter().map(|n| n.start).min().unwrap_or(0);
    let last = notes.iter().map(|n| n.end()).max().unwrap_or(0);
    let quarters =
        f64::from(last.saturating_sub(first)) / f64::from(score.ticks_per_quarter.max(1));
    Some(TuneStats {
        notes: notes.len(),
        pitch_class_entropy: pitch_class_entropy(&counts),
        scale_consistency: scale_consistency(&counts),
        pitch_range: highest - lowest,
        note_density: notes.len() as f64 / quarters.max(f64::MIN_POSITIVE),
    })
}

/// The largest share of the counted notes inside one major (or natural-minor) scale
/// (0 for an empty histogram).
pub fn scale_consistency(counts: &[usize; 12]) -> f64 {
    let total: usize = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    (0..12u8)
        .map(|tonic| {
            MAJOR
                .iter()
                .map(|&step| counts[usize::from((tonic + step) % 12)])
                .sum::<usize>()
        })
        .max()
        .unwrap_or(0) as f64
        / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::{Note, Track};

    fn score(pitches_and_lengths: &[(u8, u32)]) -> Score {
        let mut start = 0;
        let notes = pitches_and_lengths
            .iter()
            .map(|&(pitch, duration)| {
                let note = Note::new(pitch, start, duration);
                start += duration;
                note
            })
            .collect();
        let mut s = Score::new(480);
        s.tracks.push(Track {
            notes,
            ..Track::default()
        });
        s
    }

    #[test]
    fn a_c_major_scale() {
        // C D E F G A B c, eighth notes: 8 notes in 4 quarters, 7 pitch classes, range 12.
        let s = score(&[60, 62, 64, 65, 67, 69, 71, 72].map(|p| (p, 240)));
        let stats = tune_stats(&s).unwrap();
        assert_eq!(stats.notes, 8);
        assert_eq!(stats.pitch_range, 12);
        assert!((stats.note_density - 2.0).abs() < 1e-12);
        assert!((stats.scale_consistency - 1.0).abs() < 1e-12);
        // C twice, six classes once: -(2/8)log2(2/8) - 6 (1/8)log2(1/8) = 0.5 + 2.25.
        assert!((stats.pitch_class_entropy - 2.75).abs() < 1e-12);
    }

    #[test]
    fn entropy_and_scale_fit_of_known_histograms() {
        let mut one = [0; 12];
        one[3] = 5;
        assert_eq!(pitch_class_entropy(&one), 0.0);
        assert_eq!(scale_consistency(&one), 1.0);
        let all = [1; 12];
        assert!((pitch_class_entropy(&all) - 12f64.log2()).abs() < 1e-12);
        assert!((scale_consistency(&all) - 7.0 / 12.0).abs() < 1e-12);
        // The chromatic run C C# D: no major scale has two semitones in a row, so the best fit
        // is two of the three.
        let mut run = [0; 12];
        run[0] = 1;
        run[1] = 1;
        run[2] = 1;
        assert!((scale_consistency(&run) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(pitch_class_entropy(&[0; 12]), 0.0);
    }

    #[test]
    fn a_minor_melody_fits_its_relative_major() {
        // A B C D E F G# A (harmonic minor): G# is outside A natural minor (the notes of C
        // major), which holds the other 7 of 8 notes; no major scale holds all eight.
        let s = score(&[57, 59, 60, 62, 64, 65, 68, 69].map(|p| (p, 480)));
        let stats = tune_stats(&s).unwrap();
        assert!((stats.scale_consistency - 7.0 / 8.0).abs() < 1e-12);
        assert!((stats.note_density - 1.0).abs() < 1e-12);
        assert_eq!(stats.pitch_range, 12);
    }

    #[test]
    fn an_empty_score_has_no_stats() {
        assert!(tune_stats(&Score::default()).is_none());
    }
}

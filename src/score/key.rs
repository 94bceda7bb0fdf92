//! Key finding and transposition: the fix for the seed's "every piece in a different key".
//!
//! [`estimate_key`] correlates a score's duration-weighted pitch-class histogram with the
//! Krumhansl–Kessler major and minor key profiles in all twelve transpositions (the
//! Krumhansl–Schmuckler algorithm); [`transposition_to_c`] gives the smallest shift that moves the
//! estimated tonic to C, and [`transpose_score`] applies a shift.

use super::Score;

/// Krumhansl–Kessler probe-tone ratings for a major key, from the tonic up by semitones.
const MAJOR_PROFILE: [f64; 12] = [
    6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88,
];

/// Krumhansl–Kessler probe-tone ratings for a minor key, from the tonic up by semitones.
const MINOR_PROFILE: [f64; 12] = [
    6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17,
];

/// Total duration in ticks of each pitch class (0 = C) over the score's pitched tracks (drum
/// tracks are left out: their pitches name instruments).
pub fn pitch_class_durations(score: &Score) -> [f64; 12] {
    let mut hist = [0.0; 12];
    for track in score.tracks.iter().filter(|t| !t.is_drum) {
        for note in &track.notes {
            hist[usize::from(note.pitch % 12)] += f64::from(note.duration);
        }
    }
    hist
}

/// Entropy in bits of a histogram of pitch-class counts (0 for an empty one; log2 12 ≈ 3.585
/// for all twelve equally often). The same under any rotation of the histogram, so counts taken
/// from the tonic up give the figure of counts taken from C.
pub fn pitch_class_entropy(counts: &[usize; 12]) -> f64 {
    let total: usize = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total as f64;
            -p * p.log2()
        })
        .sum()
}

/// Number of notes of each pitch class (0 = C) among `notes`, each note once whatever its length.
pub fn pitch_class_counts<'a>(notes: impl IntoIterator<Item = &'a super::Note>) -> [usize; 12] {
    let mut counts = [0usize; 12];
    for note in notes {
        counts[usize::from(note.pitch % 12)] += 1;
    }
    counts
}

/// Pearson correlation of two 12-vectors (0 when either is constant).
fn correlation(a: &[f64; 12], b: &[f64; 12]) -> f64 {
    let mean = |v: &[f64; 12]| v.iter().sum::<f64>() / 12.0;
    let (ma, mb) = (mean(a), mean(b));
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for i in 0..12 {
        let (da, db) = (a[i] - ma, b[i] - mb);
        cov += da * db;
        va += da * da;
        vb += db * db;
    }
    if va <= 0.0 || vb <= 0.0 {
        0.0
    } else {
        cov / (va * vb).sqrt()
    }
}

/// The key of a score by the Krumhansl–Schmuckler algorithm, duration-weighted: returns the
/// tonic's pitch class (0 = C, 7 = G) and whether the key is minor.
///
/// A score with no pitched notes is in C major. Ties go to the major key with the lowest tonic.
pub fn estimate_key(score: &Score) -> (u8, bool) {
    key_of_durations(&pitch_class_durations(score))
}

/// The key whose Krumhansl–Kessler profile best correlates with a pitch-class histogram (0 = C;
/// any weights: durations, frame counts): the tonic's pitch class and whether the key is minor.
/// An empty or flat histogram is C major; ties go to the major key with the lowest tonic.
pub fn key_of_durations(hist: &[f64; 12]) -> (u8, bool) {
    let mut best = (0u8, false);
    let mut best_r = f64::NEG_INFINITY;
    for minor in [false, true] {
        let profile = if minor {
            &MINOR_PROFILE
        } else {
            &MAJOR_PROFILE
        };
        for tonic in 0..12u8 {
            let mut rotated = [0.0; 12];
            for (pc, slot) in rotated.iter_mut().enumerate() {
                *slot = profile[(pc + 12 - usize::from(tonic)) % 12];
            }
            let r = correlation(hist, &rotated);
            if r > best_r + 1e-12 {
                best_r = r;
                best = (tonic, minor);
            }
        }
    }
    best
}

/// The shift in semitones (-6..=5) that moves a tonic pitch class to C by the shorter way.
pub fn shift_to_c(tonic: u8) -> i32 {
    let t = i32::from(tonic % 12);
    if t <= 6 {
        -t
    } else {
        12 - t
    }
}

/// The shift in semitones (-6..=5) that moves the score's estimated tonic to C (a G-major piece
/// goes up a fourth to C major, an E-minor piece down four semitones to C minor).
pub fn transposition_to_c(score: &Score) -> i32 {
    shift_to_c(estimate_key(score).0)
}

/// The score moved by `semitones`; drum tracks are left alone, and notes pushed outside MIDI's
/// 0..=127 are dropped.
pub fn transpose_score(score: &Score, semitones: i32) -> Score {
    let mut out = score.clone();
    if semitones == 0 {
        return out;
    }
    for track in out.tracks.iter_mut().filter(|t| !t.is_drum) {
        track.notes.retain_mut(
            |note| match u8::try_from(i32::from(note.pitch) + semitones) {
                Ok(p) if p <= 127 => {
                    note.pitch = p;
                    true
                }
                _ => false,
            },
        );
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::score::{Note, Track};

    /// A one-track score of quarter notes (480 ticks each) with the given pitches.
    pub(crate) fn melody(pitches: &[u8]) -> Score {
        let mut score = Score::new(480);
        score.tracks.push(Track {
            notes: pitches
                .iter()
                .enumerate()
                .map(|(i, &pitch)| Note::new(pitch, i as u32 * 480, 480))
                .collect(),
            ..Track::default()
        });
        score
    }

    /// G major scale, G4 up to G5.
    pub(crate) const G_MAJOR_SCALE: [u8; 8] = [67, 69, 71, 72, 74, 76, 78, 79];

    #[test]
    fn a_g_major_scale_is_in_g_major_and_goes_up_a_fourth() {
        let score = melody(&G_MAJOR_SCALE);
        assert_eq!(estimate_key(&score), (7, false));
        assert_eq!(transposition_to_c(&score), 5);
        let moved = transpose_score(&score, 5);
        let pitches: Vec<u8> = moved.tracks[0].notes.iter().map(|n| n.pitch).collect();
        assert_eq!(pitches, [72, 74, 76, 77, 79, 81, 83, 84]);
        assert_eq!(estimate_key(&moved), (0, false));
    }

    #[test]
    fn a_minor_arpeggio_is_minor() {
        // A minor: A C E with weight on A and E, and the leading note G#.
        let score = melody(&[57, 60, 64, 69, 64, 60, 57, 56, 57, 64, 62, 60, 59, 57]);
        assert_eq!(estimate_key(&score), (9, true));
        assert_eq!(transposition_to_c(&score), 3);
    }

    #[test]
    fn every_major_scale_is_found() {
        for tonic in 0..12u8 {
            let pitches: Vec<u8> = G_MAJOR_SCALE.iter().map(|p| p - 7 + tonic + 12).collect();
            assert_eq!(estimate_key(&melody(&pitches)), (tonic, false), "{tonic}");
        }
    }

    #[test]
    fn empty_scores_are_c_major_and_drums_do_not_count() {
        assert_eq!(estimate_key(&Score::default()), (0, false));
        let mut score = melody(&G_MAJOR_SCALE);
        score.tracks[0].is_drum = true;
        assert_eq!(estimate_key(&score), (0, false));
        assert_eq!(transpose_score(&score, 3), score, "drums are not moved");
    }

    #[test]
    fn shifts_take_the_short_way_and_drop_notes_out_of_range() {
        assert_eq!(shift_to_c(0), 0);
        assert_eq!(shift_to_c(2), -2);
        assert_eq!(shift_to_c(6), -6);
        assert_eq!(shift_to_c(7), 5);
        assert_eq!(shift_to_c(11), 1);
        let score = melody(&[1, 60, 126]);
        let up = transpose_score(&score, 2);
        let pitches: Vec<u8> = up.tracks[0].notes.iter().map(|n| n.pitch).collect();
        assert_eq!(pitches, [3, 62]);
        let down = transpose_score(&score, -2);
        let pitches: Vec<u8> = down.tracks[0].notes.iter().map(|n| n.pitch).collect();
        assert_eq!(pitches, [58, 124]);
    }
}

//! Measures of a rendering that hold for chords: how alike two renderings' pitch-class content is
//! frame by frame ([`chroma_similarity`]), and whether each written note can be heard in the
//! spectrum while it sounds ([`note_presence`]). Both run on short-time power spectra of
//! [`POLY_WINDOW`] samples every [`POLY_HOP`] (186 ms and 46 ms at 22,050 Hz: fine enough in
//! frequency to tell the semitones of a bass note apart).

use crate::audio::spectrum::power_frames;
use crate::audio::synth::pitch_to_hz;
use crate::score::Score;

/// Window of the polyphonic measures, samples.
pub const POLY_WINDOW: usize = 4096;
/// Hop of the polyphonic measures, samples.
pub const POLY_HOP: usize = 1024;
/// Lowest and highest frequency the chroma reads (A1 to C8), Hz.
const CHROMA_BAND: (f64, f64) = (55.0, 4186.0);
/// Frames of the reference quieter than this (total power in the chroma band, dB re a
/// full-scale sine) do not count for the chroma similarity.
const CHROMA_GATE_DB: f64 = -60.0;
/// A note is heard when [`PARTIALS_HEARD`] of its first [`PARTIALS`] partials each peak this far
/// above the median of the spectrum around them (±[`BACKGROUND_SEMITONES`]), dB...
const STANDS_OUT_DB: f64 = 10.0;
/// ... and above this absolute level, dB re a full-scale sine.
const AUDIBLE_DB: f64 = -70.0;
/// Partials looked at for each note (the fundamental and the next three).
const PARTIALS: usize = 4;
/// Partials that must stand out (of those below the Nyquist frequency): two, so that one partial
/// of another note of the chord at the same frequency (the fifth's third partial is the
/// ninth's fourth) does not make a note that is not played heard.
const PARTIALS_HEARD: usize = 2;
/// Half-width of the band a partial's peak is looked for in, cents.
const PEAK_CENTS: f64 = 35.0;
/// Half-width of the band the background level is the median of, semitones.
const BACKGROUND_SEMITONES: f64 = 3.0;
/// A note's frames start this long after its onset (the attack settles), seconds.
const SETTLE_SECONDS: f64 = 0.03;

/// The pitch-class profile of every power frame (`n_fft` window at `sample_rate`): the power of
/// the bins between A1 and C8 summed per pitch class (each bin to its nearest semitone).
pub fn chroma_frames(power: &[Vec<f32>], sample_rate: u32, n_fft: usize) -> Vec<[f64; 12]> {
    let hz_per_bin = f64::from(sample_rate) / n_fft as f64;
    let classes: Vec<Option<usize>> = (0..=n_fft / 2)
        .map(|bin| {
            let hz = bin as f64 * hz_per_bin;
            (hz >= CHROMA_BAND.0 && hz <= CHROMA_BAND.1).then(|| {
                let midi = 69.0 + 12.0 * (hz / 440.0).log2();
                (midi.round() as i64).rem_euclid(12) as usize
            })
        })
        .collect();
    power
        .iter()
        .map(|frame| {
            let mut chroma = [0f64; 12];
            for (p, class) in frame.iter().zip(&classes) {
                if let Some(class) = class {
                    chroma[*class] += f64::from(*p);
                }
            }
            chroma
        })
        .collect()
}

/// The cosine of two chroma vectors (0 when either is silent).
fn cosine(a: &[f64; 12], b: &[f64; 12]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f64; 12]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let denominator = norm(a) * norm(b);
    if denominator > 0.0 {
        dot / denominator
    } else {
        0.0
    }
}

/// The mean cosine similarity of the two renderings' chroma, over the frames in which the
/// reference sounds (above −60 dB in the chroma band); `None` when it never does. 1 for the
/// reference itself; a silent candidate scores 0.
pub fn chroma_similarity(candidate: &[f32], reference: &[f32], sample_rate: u32) -> Option<f64> {
    let n = candidate.len().max(reference.len());
    let (mut c, mut r) = (candidate.to_vec(), reference.to_vec());
    c.resize(n, 0.0);
    r.resize(n, 0.0);
    let chroma = |s: &[f32]| {
        chroma_frames(
            &power_frames(s, POLY_WINDOW, POLY_HOP),
            sample_rate,
            POLY_WINDOW,
        )
    };
    let (cc, rc) = (chroma(&c), chroma(&r));
    let gate = 10f64.powf(CHROMA_GATE_DB / 10.0);
    let similarities: Vec<f64> = cc
        .iter()
        .zip(&rc)
        .filter(|(_, r)| r.iter().sum::<f64>() > gate)
        .map(|(c, r)| cosine(c, r))
        .collect();
    (!similarities.is_empty()).then(|| similarities.iter().sum::<f64>() / similarities.len() as f64)
}

/// Every (frame, written note) in which the note sounds through the whole window, from
/// [`SETTLE_SECONDS`] after its onset: the frame's index and the note's pitch. Drum tracks are
/// left out.
pub fn sounding_notes(score: &Score, sample_rate: u32, frames: usize) -> Vec<(usize, u8)> {
    let sr = f64::from(sample_rate);
    let half = POLY_WINDOW as f64 / 2.0;
    let mut out = Vec::new();
    for track in score.tracks.iter().filter(|t| !t.is_drum) {
        for note in &track.notes {
            let start = (score.tick_to_seconds(note.start) + SETTLE_SECONDS) * sr;
            let end = score.tick_to_seconds(note.end()) * sr;
            let first = ((start + half) / POLY_HOP as f64).ceil().max(0.0) as usize;
            let mut frame = first;
            while frame < frames && frame as f64 * POLY_HOP as f64 + half <= end {
                out.push((frame, note.pitch));
                frame += 1;
            }
        }
    }
    out.sort_unstable();
    out
}

/// Whether `pitch` stands out of one power frame: two of its first four partials (or all of them
/// below the Nyquist frequency, when fewer) each peak [`STANDS_OUT_DB`] above the median of the
/// spectrum within ±3 semitones of them, and above −70 dB.
fn stands_out(frame: &[f32], pitch: u8, sample_rate: u32) -> bool {
    let hz_per_bin = f64::from(sample_rate) / POLY_WINDOW as f64;
    let nyquist = f64::from(sample_rate) / 2.0;
    let bins = |hz: f64, cents: f64| {
        let ratio = 2f64.powf(cents / 1200.0);
        let low = ((hz / ratio) / hz_per_bin).floor().max(0.0) as usize;
        let high = (((hz * ratio) / hz_per_bin).ceil() as usize).min(frame.len() - 1);
        low..=high
    };
    let f0 = pitch_to_hz(pitch);
    let partials: Vec<f64> = (1..=PARTIALS)
        .map(|k| f0 * k as f64)
        .filter(|&hz| hz < nyquist * 0.95)
        .collect();
    let needed = PARTIALS_HEARD.min(partials.len());
    let standing = partials.iter().filter(|&&hz| {
        let peak = frame[bins(hz, PEAK_CENTS)]
            .iter()
            .copied()
            .fold(0f32, f32::max);
        let mut around: Vec<f32> = frame[bins(hz, 100.0 * BACKGROUND_SEMITONES)].to_vec();
        around.sort_by(f32::total_cmp);
        let median = f64::from(around[around.len() / 2]).max(1e-30);
        let peak = f64::from(peak);
        10.0 * (peak / median).log10() >= STANDS_OUT_DB
            && 10.0 * peak.max(1e-30).log10() >= AUDIBLE_DB
    });
    needed > 0 && standing.count() >= needed
}

/// The share of the written notes' sounding frames ([`sounding_notes`]) in which the note can be
/// heard in the rendering (two of its first four partials stand 10 dB out of the spectrum around
/// them), and the number of (frame, note) pairs counted; `None` when no note sounds through a
/// whole window.
pub fn note_presence(samples: &[f32], score: &Score, sample_rate: u32) -> (Option<f64>, usize) {
    let power = power_frames(samples, POLY_WINDOW, POLY_HOP);
    let pairs = sounding_notes(score, sample_rate, power.len());
    if pairs.is_empty() {
        return (None, 0);
    }
    let heard = pairs
        .iter()
        .filter(|&&(frame, pitch)| stands_out(&power[frame], pitch, sample_rate))
        .count();
    (Some(heard as f64 / pairs.len() as f64), pairs.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::{Note, Track};

    const SR: u32 = 22_050;

    /// Sines of the given pitches (three partials each), `seconds` long.
    fn chord(pitches: &[u8], seconds: f64) -> Vec<f32> {
        let n = (seconds * f64::from(SR)) as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(SR);
                pitches
                    .iter()
                    .flat_map(|&p| {
                        (1..=3).map(move |k| {
                            (std::f64::consts::TAU * pitch_to_hz(p) * k as f64 * t).sin() * 0.1
                                / k as f64
                        })
                    })
                    .sum::<f64>() as f32
            })
            .collect()
    }

    fn score_of(pitches: &[u8], seconds: f64) -> Score {
        let mut score = Score::new(480);
        // 120 quarters a minute: a quarter is half a second.
        let ticks = (seconds * 960.0) as u32;
        score.tracks.push(Track {
            notes: pitches
                .iter()
                .map(|&pitch| Note {
                    pitch,
                    start: 0,
                    duration: ticks,
                    velocity: 90,
                })
                .collect(),
            ..Track::default()
        });
        score
    }

    #[test]
    fn the_notes_of_a_chord_are_heard_and_absent_ones_are_not() {
        let c_major = [48u8, 52, 55, 60, 64];
        let audio = chord(&c_major, 2.0);
        let (heard, pairs) = note_presence(&audio, &score_of(&c_major, 2.0), SR);
        assert!(pairs > 5 * c_major.len(), "{pairs} pairs");
        assert_eq!(heard, Some(1.0));
        // Written notes that do not sound (a D minor chord against C major audio) are mostly not
        // heard; silence hears nothing.
        let d_minor = [50u8, 53, 57];
        let (wrong, _) = note_presence(&audio, &score_of(&d_minor, 2.0), SR);
        assert!(wrong.is_some_and(|w| w < 0.5), "{wrong:?}");
        let silence = vec![0f32; audio.len()];
        assert_eq!(
            note_presence(&silence, &score_of(&c_major, 2.0), SR).0,
            Some(0.0)
        );
    }

    #[test]
    fn chroma_similarity_is_one_for_the_same_chord_and_lower_for_another() {
        let c_major = chord(&[48, 52, 55, 60], 1.5);
        let same = chroma_similarity(&c_major, &c_major, SR).expect("sounds");
        assert!((same - 1.0).abs() < 1e-9, "{same}");
        let louder: Vec<f32> = c_major.iter().map(|s| s * 2.0).collect();
        assert!(chroma_similarity(&louder, &c_major, SR).is_some_and(|s| s > 0.999));
        let f_sharp = chord(&[54, 58, 61, 66], 1.5);
        let other = chroma_similarity(&f_sharp, &c_major, SR).expect("sounds");
        assert!(other < 0.5, "{other}");
        let silence = vec![0f32; c_major.len()];
        assert_eq!(chroma_similarity(&silence, &c_major, SR), Some(0.0));
        assert_eq!(chroma_similarity(&c_major, &silence, SR), None);
    }
}

//! How close a rendering is to a reference rendering of the same notes (the SoundFont's, for
//! neural audio), in four figures, each with its reference points (the built-in synthesizer and
//! silence) computed the same way:
//!
//! - **MR-STFT**: the multi-resolution STFT distance, the DDSP loss itself
//!   ([`crate::model::spectral::mr_stft_distance`]); lower is better, 0 for the reference.
//! - **LSD**: the log-spectral distance in dB (windows of 1024 samples, a frame every 256): per
//!   frame the root mean square over the bins of the difference of the levels in dB (each floored
//!   at −100 dB), averaged over the frames in which either rendering is above the floor.
//! - **Pitch accuracy**: on one-note-at-a-time material, the share of the voiced frames (a single
//!   written note sounding through the whole 64 ms window, from 30 ms after its onset) whose f0,
//!   estimated from the rendering with YIN (de Cheveigné and Kawahara 2002), is within 50 cents of
//!   the written pitch. A frame where no pitch is found counts as wrong.
//! - **Loudness error**: the mean absolute difference in dB of the A-weighted loudness per frame,
//!   over the frames in which either rendering is louder than −70 dB (levels floored at −80 dB).

pub mod polyphony;

use crate::audio::spectrum::power_frames;
use crate::encode::audio::pitch_feature_to_hz;
use crate::encode::audio::pitch_to_feature;
use crate::score::Score;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Window of the frame-level measures (64 ms at 16 kHz).
const WINDOW: usize = 1024;
/// Hop of the frame-level measures.
const HOP: usize = 256;
/// Floor of the log-spectral distance, dB.
const LSD_FLOOR_DB: f64 = -100.0;
/// Floor of loudness, dB.
const LOUDNESS_FLOOR_DB: f64 = -80.0;
/// Frames quieter than this in both renderings do not count for the loudness error, dB.
const LOUDNESS_GATE_DB: f64 = -70.0;

/// The four figures of one rendering against a reference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AudioMetrics {
    /// Multi-resolution STFT distance.
    pub mr_stft: f64,
    /// Log-spectral distance, dB.
    pub lsd_db: f64,
    /// Share of voiced one-note frames within 50 cents (`None` without such frames).
    pub pitch_accuracy: Option<f64>,
    /// Voiced one-note frames counted for the pitch accuracy.
    pub voiced_frames: usize,
    /// Mean absolute A-weighted loudness difference, dB.
    pub loudness_error_db: f64,
}

/// Measures `candidate` against `reference` (mono, same sample rate; the shorter is padded with
/// silence), with `score` the notes both render, for the pitch accuracy.
pub fn audio_metrics(
    candidate: &[f32],
    reference: &[f32],
    score: &Score,
    sample_rate: u32,
) -> AudioMetrics {
    let n = candidate.len().max(reference.len());
    let mut c = candidate.to_vec();
    let mut r = reference.to_vec();
    c.resize(n, 0.0);
    r.resize(n, 0.0);
    let mr_stft =
        crate::model::spectral::mr_stft_distance(&Tensor::from_slice(&c), &Tensor::from_slice(&r));
    let pc = power_frames(&c, WINDOW, HOP);
    let pr = power_frames(&r, WINDOW, HOP);
    let (pitch_accuracy, voiced_frames) = pitch_accuracy(&c, score, sample_rate);
    AudioMetrics {
        mr_stft,
        lsd_db: log_spectral_distance(&pc, &pr),
        pitch_accuracy,
        voiced_frames,
        loudness_error_db: loudness_error(&pc, &pr, sample_rate),
    }
}

/// The log-spectral distance of two sets of power frames, dB (0 when no frame counts).
pub fn log_spectral_distance(a: &[Vec<f32>], b: &[Vec<f32>]) -> f64 {
    let db = |p: f32| (10.0 * f64::from(p).max(1e-30).log10()).max(LSD_FLOOR_DB);
    let mut total = 0.0;
    let mut frames = 0usize;
    for (fa, fb) in a.iter().zip(b) {
        let la: Vec<f64> = fa.iter().map(|&p| db(p)).collect();
        let lb: Vec<f64> = fb.iter().map(|&p| db(p)).collect();
        if la.iter().chain(&lb).all(|&l| l <= LSD_FLOOR_DB) {
            continue;
        }
        let mean_square = la
            .iter()
            .zip(&lb)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            / la.len().max(1) as f64;
        total += mean_square.sqrt();
        frames += 1;
    }
    if frames == 0 {
        0.0
    } else {
        total / frames as f64
    }
}

/// The A-weighting gain (power) at `hz` (IEC 61672), 1 at 1 kHz.
pub fn a_weighting(hz: f64) -> f64 {
    let f2 = hz * hz;
    let ra = 12194f64.powi(2) * f2 * f2
        / ((f2 + 20.6f64.powi(2))
            * ((f2 + 107.7f64.powi(2)) * (f2 + 737.9f64.powi(2))).sqrt()
            * (f2 + 12194f64.powi(2)));
    let at_1k = {
        let f2 = 1e6f64;
        12194f64.powi(2) * f2 * f2
            / ((f2 + 20.6f64.powi(2))
                * ((f2 + 107.7f64.powi(2)) * (f2 + 737.9f64.powi(2))).sqrt()
                * (f2 + 12194f64.powi(2)))
    };
    (ra / at_1k).powi(2)
}

/// A-weighted loudness of each power frame in dB (a full-scale 1 kHz sine is 0 dB), floored.
pub fn loudness_db(frames: &[Vec<f32>], sample_rate: u32) -> Vec<f64> {
    let bins = frames.first().map_or(0, Vec::len);
    let weights: Vec<f64> = (0..bins)
        .map(|k| a_weighting(k as f64 * f64::from(sample_rate) / (2.0 * (bins - 1).max(1) as f64)))
        .collect();
    frames
        .iter()
        .map(|f| {
            // A Hann window spreads a sine over about 1.5 bins of power: divide it back out.
            let power: f64 = f
                .iter()
                .zip(&weights)
                .map(|(&p, w)| f64::from(p) * w)
                .sum::<f64>()
                / 1.5;
            (10.0 * power.max(1e-30).log10()).max(LOUDNESS_FLOOR_DB)
        })
        .collect()
}

fn loudness_error(a: &[Vec<f32>], b: &[Vec<f32>], sample_rate: u32) -> f64 {
    let la = loudness_db(a, sample_rate);
    let lb = loudness_db(b, sample_rate);
    let diffs: Vec<f64> = la
        .iter()
        .zip(&lb)
        .filter(|(x, y)| x.max(**y) > LOUDNESS_GATE_DB)
        .map(|(x, y)| (x - y).abs())
        .collect();
    if diffs.is_empty() {
        0.0
    } else {
        diffs.iter().sum::<f64>() / diffs.len() as f64
    }
}

/// The written pitch in Hz at each analysis frame when exactly one note sounds through the whole
/// window, from 30 ms after its onset; `None` elsewhere.
pub fn one_note_frames(score: &Score, sample_rate: u32, frames: usize) -> Vec<Option<f64>> {
    let sr = f64::from(sample_rate);
    let notes: Vec<(f64, f64, u8)> = score
        .tracks
        .iter()
        .filter(|t| !t.is_drum)
        .flat_map(|t| &t.notes)
        .map(|n| {
            (
                score.tick_to_seconds(n.start),
                score.tick_to_seconds(n.end()),
                n.pitch,
            )
        })
        .collect();
    (0..frames)
        .map(|f| {
            let from = (f * HOP) as f64 / sr;
            let to = from + WINDOW as f64 / sr;
            let sounding: Vec<&(f64, f64, u8)> = notes
                .iter()
                .filter(|(s, e, _)| *s < to && *e > from)
                .collect();
            match sounding.as_slice() {
                [(start, end, pitch)] if *start + 0.03 <= from && *end >= to => {
                    Some(pitch_feature_to_hz(pitch_to_feature(f64::from(*pitch))))
                }
                _ => None,
            }
        })
        .collect()
}

/// The share of one-note frames whose estimated f0 is within 50 cents of the written note, and
/// how many frames there were.
pub fn pitch_accuracy(samples: &[f32], score: &Score, sample_rate: u32) -> (Option<f64>, usize) {
    let frames = samples.len().saturating_sub(WINDOW) / HOP + 1;
    let expected = one_note_frames(score, sample_rate, frames);
    let mut voiced = 0usize;
    let mut right = 0usize;
    for (f, want) in expected.iter().enumerate() {
        let Some(want) = want else { continue };
        let start = f * HOP;
        let Some(window) = samples.get(start..start + WINDOW) else {
            continue;
        };
        voiced += 1;
        if let Some(got) = yin_f0(window, sample_rate) {
            if (1200.0 * (got / want).log2()).abs() < 50.0 {
                right += 1;
            }
        }
    }
    ((voiced > 0).then(|| right as f64 / voiced as f64), voiced)
}

/// The fundamental frequency of `window` by YIN (the cumulative mean normalised difference,
/// threshold 0.15, parabolic interpolation), searched from 50 Hz to 2 kHz; `None` when the window
/// is silent or no period is clear.
pub fn yin_f0(window: &[f32], sample_rate: u32) -> Option<f64> {
    let sr = f64::from(sample_rate);
    let max_lag = ((sr / 50.0) as usize).min(window.len() / 2);
    let min_lag = ((sr / 2000.0) as usize).max(2);
    let len = window.len() - max_lag;
    let x: Vec<f64> = window.iter().map(|&s| f64::from(s)).collect();
    if x.iter().map(|v| v * v).sum::<f64>() / (x.len() as f64) < 1e-10 {
        return None;
    }
    let r = cross_correlation(&x[..len], &x, max_lag);
    let mut prefix = vec![0.0; x.len() + 1];
    for (i, v) in x.iter().enumerate() {
        prefix[i + 1] = prefix[i] + v * v;
    }
    let energy = |from: usize| prefix[from + len] - prefix[from];
    let d: Vec<f64> = (0..=max_lag)
        .map(|tau| (energy(0) + energy(tau) - 2.0 * r[tau]).max(0.0))
        .collect();
    let mut cmnd = vec![1.0; max_lag + 1];
    let mut running = 0.0;
    for tau in 1..=max_lag {
        running += d[tau];
        cmnd[tau] = if running > 0.0 {
            d[tau] * tau as f64 / running
        } else {
            1.0
        };
    }
    let mut tau = (min_lag..max_lag).find(|&t| cmnd[t] < 0.15)?;
    while tau + 1 < max_lag && cmnd[tau + 1] < cmnd[tau] {
        tau += 1;
    }
    let (a, b, c) = (cmnd[tau - 1], cmnd[tau], cmnd[tau + 1]);
    let denominator = a - 2.0 * b + c;
    let shift = if denominator.abs() > 1e-12 {
        0.5 * (a - c) / denominator
    } else {
        0.0
    };
    Some(sr / (tau as f64 + shift.clamp(-1.0, 1.0)))
}

/// `r[τ] = Σ_j a[j] · b[j + τ]` for `τ` in `0..=max_lag`, by FFT.
fn cross_correlation(a: &[f64], b: &[f64], max_lag: usize) -> Vec<f64> {
    use rustfft::{num_complex::Complex, FftPlanner};
    let n = (a.len() + b.len()).next_power_of_two();
    let mut planner = FftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(n);
    let inverse = planner.plan_fft_inverse(n);
    let mut fa: Vec<Complex<f64>> = (0..n)
        .map(|i| Complex::new(a.get(i).copied().unwrap_or(0.0), 0.0))
        .collect();
    let mut fb: Vec<Complex<f64>> = (0..n)
        .map(|i| Complex::new(b.get(i).copied().unwrap_or(0.0), 0.0))
        .collect();
    forward.process(&mut fa);
    forward.process(&mut fb);
    let mut product: Vec<Complex<f64>> = fa.iter().zip(&fb).map(|(x, y)| x.conj() * y).collect();
    inverse.process(&mut product);
    (0..=max_lag)
        .map(|tau| product[tau].re / n as f64)
        .collect()
}

/// A figure as text: three decimals, or `–` for none.
pub fn figure(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{v:.decimals$}"))
}

#[cfg(test)]
mod tests;

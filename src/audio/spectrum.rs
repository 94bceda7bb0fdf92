//! Short-time spectra of audio: the power of every frame ([`power_frames`]) and spectrograms in dB
//! ([`Spectrogram::of`]). Levels are absolute (dB relative to a full-scale sine, from −100 to 0 dB)
//! so that spectra of different renderings compare. Drawing them is the render layer's
//! (`render::spectrogram`); measuring with them is `metrics::audio`'s.

use rustfft::{num_complex::Complex, FftPlanner};

/// Lowest level drawn, in dB relative to a full-scale sine.
pub const FLOOR_DB: f32 = -100.0;

/// The power spectrum of every frame of `samples` (periodic Hann window of `n_fft`, a frame every
/// `hop` samples, the first centred on sample 0, the signal padded with silence): `frames ×
/// (n_fft / 2 + 1)` values, scaled so a full-scale sine has power 1 in its bin.
pub fn power_frames(samples: &[f32], n_fft: usize, hop: usize) -> Vec<Vec<f32>> {
    let n_fft = n_fft.max(2);
    let hop = hop.max(1);
    let window: Vec<f32> = (0..n_fft)
        .map(|i| 0.5 - 0.5 * (std::f32::consts::TAU * i as f32 / n_fft as f32).cos())
        .collect();
    let scale = 2.0 / window.iter().sum::<f32>();
    let fft = FftPlanner::<f32>::new().plan_fft_forward(n_fft);
    let frames = samples.len().div_ceil(hop).max(1);
    let mut buffer = vec![Complex::new(0.0f32, 0.0); n_fft];
    (0..frames)
        .map(|f| {
            let centre = (f * hop) as isize;
            for (i, b) in buffer.iter_mut().enumerate() {
                let at = centre + i as isize - (n_fft / 2) as isize;
                let x = usize::try_from(at)
                    .ok()
                    .and_then(|a| samples.get(a))
                    .copied()
                    .unwrap_or(0.0);
                *b = Complex::new(x * window[i], 0.0);
            }
            fft.process(&mut buffer);
            buffer[..=n_fft / 2]
                .iter()
                .map(|c| (c.norm() * scale).powi(2))
                .collect()
        })
        .collect()
}

/// A spectrogram: levels in dB per frame and bin.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrogram {
    /// Samples per second of the audio.
    pub sample_rate: u32,
    /// Samples between frames.
    pub hop: usize,
    /// Levels in dB (at least [`FLOOR_DB`]), `[frame][bin]`, bins from 0 Hz to the Nyquist
    /// frequency.
    pub db: Vec<Vec<f32>>,
}

impl Spectrogram {
    /// The spectrogram of mono `samples` with windows of `n_fft` every `hop` samples.
    pub fn of(samples: &[f32], sample_rate: u32, n_fft: usize, hop: usize) -> Self {
        let db = power_frames(samples, n_fft, hop)
            .into_iter()
            .map(|frame| {
                frame
                    .into_iter()
                    .map(|p| (10.0 * p.max(1e-12).log10()).max(FLOOR_DB))
                    .collect()
            })
            .collect();
        Spectrogram {
            sample_rate,
            hop,
            db,
        }
    }
}

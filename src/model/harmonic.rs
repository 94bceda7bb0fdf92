//! A harmonic-plus-noise synthesizer written in tensor operations, after DDSP (Engel et al., ICLR
//! 2020): a network predicts its controls frame by frame and the loss on the audio trains the
//! network through it.
//!
//! - **Harmonics**: each voice sums `K` sines at whole multiples of its fundamental, with an
//!   amplitude per harmonic per frame (linearly interpolated across the `hop` samples of a frame).
//!   The phase is accumulated in double precision per frame and wrapped to one cycle before it is
//!   multiplied by the harmonic number, so it does not drift over long pieces; synthesis runs in
//!   chunks that carry the phase, and chunked output equals whole output.
//! - **Noise**: white noise from a fixed table, cut into Hann-windowed frames of `2 × hop` samples
//!   centred on the control frames, each frame's spectrum multiplied by a magnitude response
//!   interpolated from `bands` gains, and overlapped back (the Hann frames at half overlap add up
//!   to one). The noise of a chunk reads its neighbours' samples, so chunked noise is exact too.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

/// DDSP's scaled sigmoid, `2 · σ(x)^ln 10 + 10⁻⁷`: positive, smooth, and up to 2.
pub fn exp_sigmoid(x: &Tensor) -> Tensor {
    x.sigmoid().pow_tensor_scalar(std::f64::consts::LN_10) * 2.0 + 1e-7
}

/// Amplitudes of `K` harmonics `[.., K]` from a voice's overall amplitude `[..]`, the logits of
/// its harmonic distribution `[.., K]` and its fundamental in Hz `[..]`: harmonics at or above
/// the Nyquist frequency are removed and the rest normalised to add up to the amplitude. With
/// `stretch`, partial `k` lies at its stretched frequency ([`super::inharmonic`]).
pub fn harmonic_amplitudes(
    amplitude: &Tensor,
    distribution_logits: &Tensor,
    f0_hz: &Tensor,
    sample_rate: f64,
    stretch: Option<&super::inharmonic::Inharmonicity>,
) -> Tensor {
    let k = distribution_logits.size()[distribution_logits.dim() - 1];
    let numbers = match stretch {
        Some(stretch) => stretch.factors(f0_hz, k).to_kind(Kind::Float),
        None => Tensor::arange_start(1, k + 1, (Kind::Float, f0_hz.device())),
    };
    let audible = (f0_hz.unsqueeze(-1) * numbers)
        .lt(sample_rate / 2.0)
        .to_kind(Kind::Float);
    let weights = exp_sigmoid(distribution_logits) * audible;
    let total = weights.sum_dim_intlist(-1, true, Kind::Float) + 1e-7;
    weights / total * amplitude.unsqueeze(-1)
}

/// Phases of every sample of every frame, in cycles within `[0, 1)`, `[n, T, hop]`, for
/// fundamentals `f0_hz` `[n, T]` constant within a frame, starting from `start` `[n]` (Double,
/// cycles); and the phase after the last frame (Double). The running phase is summed per frame in
/// double precision and wrapped, so a long piece does not drift.
pub fn frame_phases(
    f0_hz: &Tensor,
    start: &Tensor,
    hop: i64,
    sample_rate: f64,
) -> (Tensor, Tensor) {
    let f0 = f0_hz.to_kind(Kind::Double);
    let per_frame = &f0 * (hop as f64 / sample_rate);
    let cumulative = per_frame.cumsum(1, Kind::Double);
    let starts = start.unsqueeze(1) + &cumulative - &per_frame;
    let starts = &starts - starts.floor();
    let last = cumulative.size()[1] - 1;
    let end = start + cumulative.select(1, last.max(0));
    let end = &end - end.floor();
    let within = Tensor::arange(hop, (Kind::Double, f0.device())) / sample_rate;
    let phases = starts.unsqueeze(-1) + f0.unsqueeze(-1) * within;
    let phases = (&phases - phases.floor()).to_kind(Kind::Float);
    (phases, end)
}

/// The sum of harmonics of `n` voices over `T` frames: fundamentals `f0_hz` `[n, T]`, harmonic
/// amplitudes `amplitudes` `[n, T, K]` at each frame's first sample, `next` `[n, K]` those of the
/// frame after the chunk (the target of the last frame's interpolation), `start` the phases `[n]`
/// (Double, cycles). Returns the audio `[n, T × hop]` and the phases after it. Gradients flow into
/// the amplitudes.
pub fn harmonic_chunk(
    f0_hz: &Tensor,
    amplitudes: &Tensor,
    next: &Tensor,
    start: &Tensor,
    hop: i64,
    sample_rate: f64,
) -> (Tensor, Tensor) {
    let k = amplitudes.size()[2];
    weigh_sines(amplitudes, next, hop, || {
        let (phases, end) = frame_phases(f0_hz, start, hop, sample_rate);
        let numbers = Tensor::arange_start(1, k + 1, (Kind::Float, phases.device()));
        let cycles = phases.unsqueeze(-1) * numbers;
        let cycles = &cycles - cycles.floor();
        ((cycles * std::f64::consts::TAU).sin(), end)
    })
}

/// The audio `[n, T × hop]` of a chunk and the phases after it, from `sines`, which makes
/// (without gradients) the sines `[n, T, hop, K]` and those phases: the sines weighed by
/// amplitudes `[n, T, K]` at each frame's first sample, linearly interpolated across the frame
/// towards the next frame's (`next` `[n, K]` after the last). What both [`harmonic_chunk`] and the
/// stretched partials of [`super::inharmonic::stretched_chunk`] do with their sines; gradients
/// flow into the amplitudes.
pub(crate) fn weigh_sines(
    amplitudes: &Tensor,
    next: &Tensor,
    hop: i64,
    sines: impl FnOnce() -> (Tensor, Tensor),
) -> (Tensor, Tensor) {
    let size = amplitudes.size();
    let (n, t) = (size[0], size[1]);
    let (sines, end) = tch::no_grad(sines);
    let following = Tensor::cat(&[amplitudes.narrow(1, 1, t - 1), next.unsqueeze(1)], 1);
    let at_start = sines.matmul(&amplitudes.unsqueeze(-1)).squeeze_dim(-1);
    let at_end = sines.matmul(&following.unsqueeze(-1)).squeeze_dim(-1);
    let ramp = Tensor::arange(hop, (Kind::Float, amplitudes.device())) / hop as f64;
    let audio = at_start * (ramp.ones_like() - &ramp) + at_end * &ramp;
    (audio.reshape([n, t * hop]), end)
}

/// The frames of a chunk for [`harmonic_sum_cpu`], as flat row-major slices: `f0_hz` `[n, T]`,
/// `amplitudes` `[n, T, K]`, `next` `[n, K]` (what [`harmonic_chunk`] takes, as values).
#[derive(Debug, Clone, Copy)]
pub struct HarmonicFrames<'a> {
    /// Fundamentals in Hz, `[n, T]`.
    pub f0_hz: &'a [f32],
    /// Amplitude of each harmonic at each frame's first sample, `[n, T, K]`.
    pub amplitudes: &'a [f32],
    /// Amplitudes of the frame after the chunk, `[n, K]`.
    pub next: &'a [f32],
    /// Voices `n`.
    pub voices: usize,
    /// Frames `T`.
    pub frames: usize,
    /// Harmonics `K`.
    pub harmonics: usize,
}

impl HarmonicFrames<'_> {
    /// The amplitudes of voice `v` at frame `f`'s first sample and at the next frame's (the
    /// targets of the frame's interpolation), and the highest harmonic sounding in either
    /// (`None`: the voice is silent in the frame).
    pub(crate) fn frame(&self, v: usize, f: usize) -> (&[f32], &[f32], Option<usize>) {
        let (t_n, k_n) = (self.frames, self.harmonics);
        let a0 = &self.amplitudes[(v * t_n + f) * k_n..][..k_n];
        let a1 = if f + 1 < t_n {
            &self.amplitudes[(v * t_n + f + 1) * k_n..][..k_n]
        } else {
            &self.next[v * k_n..][..k_n]
        };
        let top = (0..k_n).rev().find(|&k| a0[k] != 0.0 || a1[k] != 0.0);
        (a0, a1, top)
    }
}

/// What [`harmonic_chunk`] computes, summed over the voices, written sample by sample for the
/// CPU when no gradient is needed (rendering): each sample's `K` sines come from one `sin_cos` and
/// the Chebyshev recurrence `sin(kθ) = 2 cos θ · sin((k−1)θ) − sin((k−2)θ)` instead of `K` calls to
/// `sin`, a voice whose amplitudes are all zero in a frame (a silent voice, a rest) is skipped, and
/// so are the harmonics above the highest one sounding in the frame (above the Nyquist frequency
/// they are exactly zero). The phases follow [`frame_phases`] (per frame in double precision,
/// wrapped); `start` holds the voices' phases and is left at the phases after the chunk. The
/// audio is added into `out` (`T × hop` samples). It equals the tensor path to within float
/// rounding (a test checks 1e-4 of the peak); written by hand because libtorch has no such
/// kernel, and `K` sine calls per sample were most of the rendering time.
pub fn harmonic_sum_cpu(
    frames: &HarmonicFrames<'_>,
    start: &mut [f64],
    hop: usize,
    sample_rate: f64,
    out: &mut [f32],
) {
    let t_n = frames.frames;
    for (v, phase_slot) in start.iter_mut().enumerate().take(frames.voices) {
        let mut phase = *phase_slot;
        for f in 0..t_n {
            let f0 = f64::from(frames.f0_hz[v * t_n + f]);
            let per_frame = f0 * hop as f64 / sample_rate;
            let frame_start = phase - phase.floor();
            phase += per_frame;
            let (a0, a1, Some(top)) = frames.frame(v, f) else {
                continue;
            };
            let samples = &mut out[f * hop..][..hop];
            for (i, sample) in samples.iter_mut().enumerate() {
                let p = frame_start + f0 * i as f64 / sample_rate;
                let p = f64::from((p - p.floor()) as f32);
                let (sin1, cos1) = (std::f64::consts::TAU * p).sin_cos();
                let twice_cos = 2.0 * cos1;
                let (mut before, mut sine) = (0.0f64, sin1);
                let (mut at_start, mut at_end) = (0.0f64, 0.0f64);
                for k in 0..=top {
                    at_start += sine * f64::from(a0[k]);
                    at_end += sine * f64::from(a1[k]);
                    let following = twice_cos * sine - before;
                    before = sine;
                    sine = following;
                }
                let ramp = i as f64 / hop as f64;
                *sample += (at_start * (1.0 - ramp) + at_end * ramp) as f32;
            }
        }
        *phase_slot = phase - phase.floor();
    }
}

/// A fixed table of white noise (uniform in ±1) the noise synthesizer reads, the same on every
/// run, so training and generation are reproducible.
#[derive(Debug)]
pub struct NoiseTable {
    table: Tensor,
}

/// Samples in the noise table (8.2 s at 16 kHz).
pub const NOISE_TABLE_LEN: i64 = 1 << 17;

impl NoiseTable {
    /// The table on `device`.
    pub fn new(device: Device) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(0x7e57_0a1d);
        let values: Vec<f32> = (0..NOISE_TABLE_LEN)
            .map(|_| rng.random_range(-1.0f32..1.0))
            .collect();
        NoiseTable {
            table: Tensor::from_slice(&values).to(device),
        }
    }

    /// `len` samples from position `from` (any integer; the table wraps around), for each start
    /// in `from` `[n]`: `[n, len]`.
    pub fn read(&self, from: &[i64], len: i64) -> Tensor {
        let device = self.table.device();
        let starts = Tensor::from_slice(from).to(device).unsqueeze(1);
        let index = (starts + Tensor::arange(len, (Kind::Int64, device)).unsqueeze(0))
            .remainder(NOISE_TABLE_LEN);
        self.table
            .index_select(0, &index.view([-1]))
            .view([from.len() as i64, len])
    }
}

/// Linear interpolation from `bands` gains to the `bins` of a spectrum: `[bands, bins]`, band
/// centres spread evenly from 0 Hz to the Nyquist frequency.
pub fn band_to_bins(bands: i64, bins: i64, device: Device) -> Tensor {
    let mut weights = vec![0f32; (bands * bins) as usize];
    for bin in 0..bins {
        let position = bin as f64 * (bands - 1).max(0) as f64 / (bins - 1).max(1) as f64;
        let low = position.floor() as i64;
        let frac = (position - low as f64) as f32;
        weights[(low * bins + bin) as usize] += 1.0 - frac;
        if low + 1 < bands {
            weights[((low + 1) * bins + bin) as usize] += frac;
        }
    }
    Tensor::from_slice(&weights).view([bands, bins]).to(device)
}

/// Filtered noise for `T` frames: `gains` `[n, T + 1, bands]` (the frames of the chunk and the one
/// after it), `noise` `[n, (T + 2) × hop]` (the chunk's samples with one hop of noise before and
/// after). Returns `[n, T × hop]`; gradients flow into the gains.
pub fn noise_chunk(gains: &Tensor, noise: &Tensor, hop: i64) -> Tensor {
    let n = gains.size()[0];
    let frames = gains.size()[1];
    let n_fft = 2 * hop;
    let window = Tensor::hann_window_periodic(n_fft, true, (Kind::Float, noise.device()));
    let pieces = noise.unfold(1, n_fft, hop) * window;
    let spectrum = pieces.fft_rfft(n_fft, -1, "backward");
    let bins = n_fft / 2 + 1;
    let response = gains.matmul(&band_to_bins(gains.size()[2], bins, gains.device()));
    let filtered = (spectrum * response).fft_irfft(n_fft, -1, "backward");
    let t = frames - 1;
    let second_halves = filtered.narrow(1, 0, t).narrow(2, hop, hop);
    let first_halves = filtered.narrow(1, 1, t).narrow(2, 0, hop);
    (second_halves + first_halves).reshape([n, t * hop])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Random controls of `n` voices over `t` frames of `k` harmonics, fundamentals 60–960 Hz:
    /// `(f0 [n, t], amplitudes [n, t, k], next [n, k])`, with voice 0 silent in frames 2..5 and
    /// voice 1's harmonics from `quiet_from` up silent (what the CPU kernels skip).
    pub(crate) fn random_controls(
        (n, t, k): (i64, i64, i64),
        quiet_from: i64,
        seed: u64,
    ) -> (Tensor, Tensor, Tensor) {
        let _guard = crate::model::torch_rng::hold_seeded(seed);
        let f0 = Tensor::rand([n, t], (Kind::Float, Device::Cpu)) * 900.0 + 60.0;
        let amplitudes = Tensor::rand([n, t, k], (Kind::Float, Device::Cpu));
        let _ = amplitudes.narrow(1, 2, 3).select(0, 0).fill_(0.0);
        let _ = amplitudes
            .select(0, 1)
            .narrow(1, quiet_from, k - quiet_from)
            .fill_(0.0);
        let next = Tensor::rand([n, k], (Kind::Float, Device::Cpu));
        (f0, amplitudes, next)
    }

    /// The largest difference between a kernel's output and the tensor path's audio `[n, T·hop]`
    /// summed over voices, and that audio's peak.
    pub(crate) fn worst_and_peak(tensor_audio: &Tensor, kernel: &[f32]) -> (f32, f32) {
        let expected =
            Vec::<f32>::try_from(tensor_audio.sum_dim_intlist(0, false, Kind::Float)).unwrap();
        let peak = expected.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let worst = expected
            .iter()
            .zip(kernel)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        (worst, peak)
    }

    fn spectrum_peaks(audio: &[f32], sample_rate: f64) -> Vec<(f64, f64)> {
        use rustfft::{num_complex::Complex, FftPlanner};
        let n = audio.len();
        let mut buffer: Vec<Complex<f64>> = audio
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let w = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos();
                Complex::new(f64::from(x) * w, 0.0)
            })
            .collect();
        FftPlanner::new().plan_fft_forward(n).process(&mut buffer);
        let mags: Vec<f64> = buffer[..n / 2]
            .iter()
            .map(|c| c.norm() * 4.0 / n as f64)
            .collect();
        let mut peaks: Vec<(f64, f64)> = (1..mags.len() - 1)
            .filter(|&i| mags[i] > mags[i - 1] && mags[i] >= mags[i + 1] && mags[i] > 1e-3)
            .map(|i| (i as f64 * sample_rate / n as f64, mags[i]))
            .collect();
        peaks.sort_by(|a, b| b.1.total_cmp(&a.1));
        peaks
    }

    #[test]
    fn a_known_harmonic_setting_gives_its_spectral_peaks() {
        // 500 Hz with harmonics 1 and 3 at amplitudes 0.5 and 0.25, one second at 16 kHz.
        let (t, hop, sr) = (250, 64, 16_000.0);
        let f0 = Tensor::full([1, t], 500.0, (Kind::Float, Device::Cpu));
        let mut amps = vec![0f32; 4];
        amps[0] = 0.5;
        amps[2] = 0.25;
        let amps = Tensor::from_slice(&amps).view([1, 1, 4]).repeat([1, t, 1]);
        let start = Tensor::zeros([1], (Kind::Double, Device::Cpu));
        let (audio, _) = harmonic_chunk(&f0, &amps, &amps.select(1, 0), &start, hop, sr);
        let samples = Vec::<f32>::try_from(audio.view([-1])).expect("floats");
        let peaks = spectrum_peaks(&samples, sr);
        assert_eq!(peaks.len(), 2, "{peaks:?}");
        assert!((peaks[0].0 - 500.0).abs() < 1.0 && (peaks[0].1 - 0.5).abs() < 0.01);
        assert!((peaks[1].0 - 1500.0).abs() < 1.0 && (peaks[1].1 - 0.25).abs() < 0.01);
    }

    #[test]
    fn harmonics_above_nyquist_are_removed_and_the_rest_sum_to_the_amplitude() {
        let f0 = Tensor::from_slice(&[3000f32]).view([1]);
        let amps = harmonic_amplitudes(
            &Tensor::from_slice(&[0.8f32]).view([1]),
            &Tensor::zeros([1, 4], (Kind::Float, Device::Cpu)),
            &f0,
            16_000.0,
            None,
        );
        let values = Vec::<f32>::try_from(amps.view([-1])).expect("floats");
        // 3, 6 kHz are below 8 kHz; 9 and 12 kHz are not.
        assert!((values[0] - 0.4).abs() < 1e-4 && (values[1] - 0.4).abs() < 1e-4);
        assert_eq!(&values[2..], &[0.0, 0.0]);
    }

    #[test]
    fn the_cpu_kernel_sums_what_the_tensor_path_sums() {
        let (n, t, k, hop, sr) = (3i64, 9i64, 12i64, 64i64, 16_000.0);
        let (f0, amplitudes, next) = random_controls((n, t, k), 6, 4);
        let start = Tensor::from_slice(&[0.1f64, 0.7, 0.0]);
        let (audio, end) = harmonic_chunk(&f0, &amplitudes, &next, &start, hop, sr);
        let flat = |x: &Tensor| Vec::<f32>::try_from(x.flatten(0, -1)).unwrap();
        let (f0s, amps, nexts) = (flat(&f0), flat(&amplitudes), flat(&next));
        let frames = HarmonicFrames {
            f0_hz: &f0s,
            amplitudes: &amps,
            next: &nexts,
            voices: n as usize,
            frames: t as usize,
            harmonics: k as usize,
        };
        let mut phases = vec![0.1, 0.7, 0.0];
        let mut out = vec![0.0f32; (t * hop) as usize];
        harmonic_sum_cpu(&frames, &mut phases, hop as usize, sr, &mut out);
        let (worst, peak) = worst_and_peak(&audio, &out);
        assert!(
            worst < 1e-4 * peak,
            "worst {worst} against a peak of {peak}"
        );
        let end = Vec::<f64>::try_from(end).unwrap();
        for (a, b) in end.iter().zip(&phases) {
            assert!((a - b).abs() < 1e-9, "{end:?} against {phases:?}");
        }
    }

    #[test]
    fn chunks_carry_the_phase_exactly_and_long_pieces_do_not_drift() {
        let (hop, sr) = (64, 16_000.0);
        // A fundamental that changes every 100 frames, 1000 frames in all.
        let f0: Vec<f32> = (0..1000).map(|i| 220.0 + 37.3 * (i / 100) as f32).collect();
        let f0 = Tensor::from_slice(&f0).view([1, 1000]);
        let amps = Tensor::ones([1, 1000, 3], (Kind::Float, Device::Cpu)) * 0.2;
        let zero = Tensor::zeros([1], (Kind::Double, Device::Cpu));
        let (whole, _) = harmonic_chunk(&f0, &amps, &amps.select(1, 0), &zero, hop, sr);
        let mut phase = zero;
        let mut parts = Vec::new();
        for c in 0..4 {
            let (a, p) = harmonic_chunk(
                &f0.narrow(1, c * 250, 250),
                &amps.narrow(1, c * 250, 250),
                &amps.select(1, 0),
                &phase,
                hop,
                sr,
            );
            parts.push(a);
            phase = p;
        }
        let chunked = Tensor::cat(&parts, 1);
        let diff = (chunked - &whole).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "chunked synthesis differs by {diff}");
        // Ten minutes of 440.3 Hz: the last phase is the exact one.
        let frames = 10 * 60 * 250;
        let f0 = Tensor::full([1, frames], 440.3, (Kind::Float, Device::Cpu));
        let start = Tensor::zeros([1], (Kind::Double, Device::Cpu));
        let (phases, end) = frame_phases(&f0, &start, hop, sr);
        let exact = (440.3f32 as f64 * 600.0).fract();
        assert!((end.double_value(&[0]) - exact).abs() < 1e-9);
        let last = phases.double_value(&[0, frames - 1, hop - 1]);
        let exact_last = (440.3f32 as f64 * (frames * hop - 1) as f64 / sr).fract();
        assert!((last - exact_last).abs() < 1e-5, "{last} vs {exact_last}");
    }

    #[test]
    fn flat_gains_pass_the_noise_and_chunks_match() {
        let (hop, t) = (32, 40);
        let table = NoiseTable::new(Device::Cpu);
        let noise = table.read(&[-hop], (t + 2) * hop);
        let ones = Tensor::ones([1, t + 1, 8], (Kind::Float, Device::Cpu));
        let out = noise_chunk(&ones, &noise, hop);
        let inner = noise.narrow(1, hop, t * hop);
        let diff = (&out - &inner).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "unit gains change the noise by {diff}");
        // Gains that change per frame: two chunks equal one.
        let gains = Tensor::rand([1, t + 1, 8], (Kind::Float, Device::Cpu));
        let whole = noise_chunk(&gains, &noise, hop);
        let first = noise_chunk(&gains.narrow(1, 0, 21), &table.read(&[-hop], 22 * hop), hop);
        let second = noise_chunk(
            &gains.narrow(1, 20, 21),
            &table.read(&[19 * hop], 22 * hop),
            hop,
        );
        let both = Tensor::cat(&[first, second], 1);
        assert!((both - whole).abs().max().double_value(&[]) < 1e-5);
        assert_eq!(
            band_to_bins(3, 5, Device::Cpu)
                .sum_dim_intlist(0, false, Kind::Float)
                .min()
                .double_value(&[]),
            1.0
        );
    }
}

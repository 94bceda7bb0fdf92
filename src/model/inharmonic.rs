//! Stretched partials for [`super::harmonic`]'s synthesizer: a stiff string's partial `k` sounds
//! at `k · f0 · √(1 + B k²)` rather than at `k · f0` (Fletcher, "Normal vibration frequencies of a
//! stiff piano string", JASA 1964), with an inharmonicity coefficient `B` that grows with the
//! pitch. The SoundFont piano the crate renders with has such partials, 10 to 40 cents sharp from
//! the sixth partial up (`examples/soundfont_partials`).
//!
//! Whole multiples share one phase (partial `k`'s is `k` times the fundamental's, wrapped), which
//! is what lets [`super::harmonic::harmonic_sum_cpu`] use the Chebyshev recurrence. Stretched
//! partials do not, so each partial of each voice carries its own phase, accumulated per frame in
//! double precision and wrapped, like the fundamental's in [`super::harmonic::frame_phases`].
//! [`stretched_chunk`] is the tensor path (training, CUDA); [`stretched_sum_cpu`] the CPU kernel
//! for rendering, which turns each partial's phasor by its frame's frequency sample by sample.

use super::harmonic::{weigh_sines, HarmonicFrames};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// How inharmonic the partials are: `B(f0) = at_a4 · per_octave^(log2(f0 / 440 Hz))`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inharmonicity {
    /// `B` at A4 (440 Hz).
    pub at_a4: f64,
    /// The factor `B` grows by per octave up.
    pub per_octave: f64,
}

impl Inharmonicity {
    /// Fitted to the partials of TimGM6mb.sf2's piano (program 0) at seven pitches from A2 to A5
    /// (`examples/soundfont_partials`): a least-squares line through `ln B` against octaves.
    pub const SOUNDFONT_PIANO: Inharmonicity = Inharmonicity {
        at_a4: 5.1e-4,
        per_octave: 2.47,
    };

    /// Checks the coefficients; errors name the field.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.at_a4.is_finite() && (0.0..0.1).contains(&self.at_a4),
            "inharmonicity.at_a4 must be in [0, 0.1), not {}",
            self.at_a4
        );
        anyhow::ensure!(
            self.per_octave.is_finite() && (0.1..=10.0).contains(&self.per_octave),
            "inharmonicity.per_octave must be in [0.1, 10], not {}",
            self.per_octave
        );
        Ok(())
    }

    /// `B` for a fundamental of `f0` Hz (0 for a silent voice, `f0 ≤ 0`).
    pub fn coefficient(&self, f0: f64) -> f64 {
        if f0 <= 0.0 {
            return 0.0;
        }
        self.at_a4 * self.per_octave.powf((f0 / 440.0).log2())
    }

    /// Partial `k`'s frequency over the fundamental, `k · √(1 + B k²)`.
    pub fn factor(&self, f0: f64, k: usize) -> f64 {
        stretched(self.coefficient(f0), k)
    }

    /// The factors of partials `1..=K` for fundamentals `f0_hz` `[..]` (Hz): `[.., K]`, Double.
    pub fn factors(&self, f0_hz: &Tensor, k: i64) -> Tensor {
        let f0 = f0_hz.to_kind(Kind::Double);
        let octaves = (f0.clamp_min(1e-3) / 440.0).log2();
        let b =
            (octaves * self.per_octave.ln()).exp() * self.at_a4 * f0.gt(0.0).to_kind(Kind::Double);
        let numbers = Tensor::arange_start(1, k + 1, (Kind::Double, f0.device()));
        (b.unsqueeze(-1) * numbers.square() + 1.0).sqrt() * numbers
    }
}

/// Partial `k`'s frequency over the fundamental for the coefficient `b`, `k · √(1 + b k²)`.
fn stretched(b: f64, k: usize) -> f64 {
    let k = k as f64;
    k * (1.0 + b * k * k).sqrt()
}

/// [`super::harmonic::harmonic_chunk`] with stretched partials: fundamentals `f0_hz` `[n, T]`,
/// amplitudes `[n, T, K]` at each frame's first sample, `next` `[n, K]`, `start` the phase of
/// every partial `[n, K]` (Double, cycles). Returns the audio `[n, T × hop]` and the partials'
/// phases after it. Gradients flow into the amplitudes.
pub fn stretched_chunk(
    f0_hz: &Tensor,
    amplitudes: &Tensor,
    next: &Tensor,
    start: &Tensor,
    stretch: &Inharmonicity,
    hop: i64,
    sample_rate: f64,
) -> (Tensor, Tensor) {
    let (t, k) = (amplitudes.size()[1], amplitudes.size()[2]);
    weigh_sines(amplitudes, next, hop, || {
        let frequency = f0_hz.to_kind(Kind::Double).unsqueeze(-1) * stretch.factors(f0_hz, k);
        let per_frame = &frequency * (hop as f64 / sample_rate);
        let cumulative = per_frame.cumsum(1, Kind::Double);
        let starts = start.unsqueeze(1) + &cumulative - &per_frame;
        let starts = &starts - starts.floor();
        let end = start + cumulative.select(1, t - 1);
        let end = &end - end.floor();
        // Within a frame the phase moves by less than `hop` samples' worth of cycles, so single
        // precision holds it to 1e-5 of a cycle; the frame starts keep the double sums.
        let within =
            Tensor::arange(hop, (Kind::Float, f0_hz.device())).view([1, 1, hop, 1]) / sample_rate;
        let phases = starts.to_kind(Kind::Float).unsqueeze(2)
            + frequency.to_kind(Kind::Float).unsqueeze(2) * within;
        let phases = &phases - phases.floor();
        ((phases * std::f64::consts::TAU).sin(), end)
    })
}

/// What [`stretched_chunk`] computes, summed over the voices, for the CPU when no gradient is
/// needed (rendering). At each frame every partial's phasor is set from its exact phase (double
/// precision, wrapped, as the tensor path accumulates it) and turned by its frequency sample by
/// sample: four products a partial a sample instead of a `sin`. Silent voices and the partials
/// above the highest sounding one are skipped. `start` holds the phases `[n × K]` and is left at
/// the phases after the chunk; the audio is added into `out` (`T × hop` samples).
pub fn stretched_sum_cpu(
    frames: &HarmonicFrames<'_>,
    start: &mut [f64],
    stretch: &Inharmonicity,
    hop: usize,
    sample_rate: f64,
    out: &mut [f32],
) {
    let (t_n, k_n) = (frames.frames, frames.harmonics);
    let mut rotation = vec![(0.0f64, 0.0f64); k_n];
    let mut phasor = vec![(0.0f64, 0.0f64); k_n];
    for v in 0..frames.voices {
        let phases = &mut start[v * k_n..][..k_n];
        for f in 0..t_n {
            let f0 = f64::from(frames.f0_hz[v * t_n + f]);
            let (a0, a1, top) = frames.frame(v, f);
            let b = stretch.coefficient(f0);
            for (k, phase) in phases.iter_mut().enumerate() {
                let frequency = f0 * stretched(b, k + 1);
                if top.is_some_and(|top| k <= top) {
                    let p = f64::from((*phase - phase.floor()) as f32);
                    let (s, c) = (std::f64::consts::TAU * p).sin_cos();
                    phasor[k] = (c, s);
                    let (s, c) = (std::f64::consts::TAU * frequency / sample_rate).sin_cos();
                    rotation[k] = (c, s);
                }
                *phase += frequency * hop as f64 / sample_rate;
                *phase -= phase.floor();
            }
            let Some(top) = top else {
                continue;
            };
            let samples = &mut out[f * hop..][..hop];
            for (i, sample) in samples.iter_mut().enumerate() {
                let (mut at_start, mut at_end) = (0.0f64, 0.0f64);
                for k in 0..=top {
                    let (c, s) = phasor[k];
                    at_start += s * f64::from(a0[k]);
                    at_end += s * f64::from(a1[k]);
                    let (rc, rs) = rotation[k];
                    phasor[k] = (c * rc - s * rs, c * rs + s * rc);
                }
                let ramp = i as f64 / hop as f64;
                *sample += (at_start * (1.0 - ramp) + at_end * ramp) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::harmonic::tests::{random_controls, worst_and_peak};
    use crate::model::harmonic::{harmonic_chunk, HarmonicFrames};
    use tch::Device;

    fn frames_of<'a>(
        f0: &'a [f32],
        amplitudes: &'a [f32],
        next: &'a [f32],
        (n, t, k): (i64, i64, i64),
    ) -> HarmonicFrames<'a> {
        HarmonicFrames {
            f0_hz: f0,
            amplitudes,
            next,
            voices: n as usize,
            frames: t as usize,
            harmonics: k as usize,
        }
    }

    #[test]
    fn the_coefficient_follows_the_fit_and_stretches_upper_partials_sharp() {
        let piano = Inharmonicity::SOUNDFONT_PIANO;
        assert!((piano.coefficient(440.0) - 5.1e-4).abs() < 1e-12);
        assert!((piano.coefficient(880.0) / piano.coefficient(440.0) - 2.47).abs() < 1e-9);
        assert_eq!(piano.coefficient(0.0), 0.0);
        // Partial 16 of A3: 1200 · log2(√(1 + B·256)) cents sharp, about 40 with B ≈ 2.1e-4.
        let cents = 1200.0 * (piano.factor(220.0, 16) / 16.0).log2();
        assert!((30.0..50.0).contains(&cents), "{cents}");
        assert!(piano.validate().is_ok());
        assert!(Inharmonicity {
            at_a4: -1.0,
            per_octave: 2.0
        }
        .validate()
        .is_err());
        let tensor = piano.factors(&Tensor::from_slice(&[220.0f32, 0.0]), 16);
        let values = Vec::<f64>::try_from(tensor.flatten(0, -1)).unwrap();
        assert!((values[15] - piano.factor(220.0, 16)).abs() < 1e-9);
        assert_eq!(
            values[16 + 15],
            16.0,
            "a silent voice's partials stay whole"
        );
    }

    #[test]
    fn without_stretch_the_partials_are_the_harmonic_synthesizers() {
        let (n, t, k, hop, sr) = (2i64, 5i64, 8i64, 32i64, 16_000.0);
        let _guard = crate::model::torch_rng::hold_seeded(5);
        let f0 = Tensor::rand([n, t], (Kind::Float, Device::Cpu)) * 500.0 + 80.0;
        let amplitudes = Tensor::rand([n, t, k], (Kind::Float, Device::Cpu));
        let next = Tensor::rand([n, k], (Kind::Float, Device::Cpu));
        let none = Inharmonicity {
            at_a4: 0.0,
            per_octave: 2.0,
        };
        let (plain, _) = harmonic_chunk(
            &f0,
            &amplitudes,
            &next,
            &Tensor::zeros([n], (Kind::Double, Device::Cpu)),
            hop,
            sr,
        );
        let (stretched, _) = stretched_chunk(
            &f0,
            &amplitudes,
            &next,
            &Tensor::zeros([n, k], (Kind::Double, Device::Cpu)),
            &none,
            hop,
            sr,
        );
        let worst = (plain - stretched).abs().max().double_value(&[]);
        assert!(worst < 1e-4, "{worst}");
    }

    #[test]
    fn the_cpu_kernel_sums_what_the_tensor_path_sums_and_carries_the_phases() {
        let (n, t, k, hop, sr) = (3i64, 7i64, 12i64, 64i64, 22_050.0);
        let (f0, amplitudes, next) = random_controls((n, t, k), 5, 6);
        let start = Tensor::rand([n, k], (Kind::Double, Device::Cpu));
        let piano = Inharmonicity::SOUNDFONT_PIANO;
        let (audio, end) = stretched_chunk(&f0, &amplitudes, &next, &start, &piano, hop, sr);
        let flat = |x: &Tensor| Vec::<f32>::try_from(x.flatten(0, -1)).unwrap();
        let (f0s, amps, nexts) = (flat(&f0), flat(&amplitudes), flat(&next));
        let mut phases = Vec::<f64>::try_from(start.flatten(0, -1)).unwrap();
        let mut out = vec![0.0f32; (t * hop) as usize];
        let frames = frames_of(&f0s, &amps, &nexts, (n, t, k));
        stretched_sum_cpu(&frames, &mut phases, &piano, hop as usize, sr, &mut out);
        let (worst, peak) = worst_and_peak(&audio, &out);
        assert!(
            worst < 1e-4 * peak,
            "worst {worst} against a peak of {peak}"
        );
        let end = Vec::<f64>::try_from(end.flatten(0, -1)).unwrap();
        for (a, b) in end.iter().zip(&phases) {
            let gap = (a - b).abs();
            assert!(gap.min(1.0 - gap) < 1e-6, "{a} against {b}");
        }
        // Two chunks carrying the phases equal one.
        let (first, middle) = stretched_chunk(
            &f0.narrow(1, 0, 3),
            &amplitudes.narrow(1, 0, 3),
            &amplitudes.select(1, 3),
            &start,
            &piano,
            hop,
            sr,
        );
        let (second, _) = stretched_chunk(
            &f0.narrow(1, 3, t - 3),
            &amplitudes.narrow(1, 3, t - 3),
            &next,
            &middle,
            &piano,
            hop,
            sr,
        );
        let joined = Tensor::cat(&[first, second], 1);
        let worst = (joined - audio).abs().max().double_value(&[]);
        assert!(worst < 1e-4, "{worst}");
    }
}

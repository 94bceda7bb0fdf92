//! Spectral losses on waveforms, in tensor operations so they train a model end to end: the
//! multi-resolution STFT loss of DDSP (Engel et al., ICLR 2020, "Differentiable Digital Signal
//! Processing"): for each FFT size, the mean absolute difference of the STFT magnitudes plus that
//! of their logarithms, summed over the sizes. The metrics layer measures with the same function.

use tch::{Kind, Tensor};

/// FFT sizes of the multi-resolution STFT loss, 2048 down to 64 samples (a quarter of each
/// size between frames, Hann windows).
pub const FFT_SIZES: [i64; 6] = [2048, 1024, 512, 256, 128, 64];

/// Added to magnitudes before the logarithm (the log term's floor).
pub const LOG_EPSILON: f64 = 1e-5;

/// STFT magnitudes of `audio` `[batch, samples]` with a periodic Hann window of `n_fft`, a hop of
/// `n_fft / 4`, no centring: `[batch, n_fft / 2 + 1, frames]`. Audio shorter than one window is
/// padded with silence. The magnitude is `sqrt(re² + im² + 1e-12)`, whose gradient is finite at 0.
pub fn stft_magnitudes(audio: &Tensor, n_fft: i64) -> Tensor {
    let samples = audio.size()[audio.dim() - 1];
    let audio = if samples < n_fft {
        audio.constant_pad_nd([0, n_fft - samples])
    } else {
        audio.shallow_clone()
    };
    let window = Tensor::hann_window_periodic(n_fft, true, (audio.kind(), audio.device()));
    let spec = audio.stft(
        n_fft,
        n_fft / 4,
        n_fft,
        Some(&window),
        false,
        true,
        true,
        false,
    );
    (spec
        .view_as_real()
        .square()
        .sum_dim_intlist(-1, false, audio.kind())
        + 1e-12)
        .sqrt()
}

/// The multi-resolution STFT distance between `predicted` and `target` (`[batch, samples]` or
/// `[samples]`): for each size in `sizes`, `mean |S − Ŝ| + mean |ln(S + ε) − ln(Ŝ + ε)|`, summed.
/// A scalar attached to `predicted`'s graph.
pub fn mr_stft_loss(predicted: &Tensor, target: &Tensor, sizes: &[i64]) -> Tensor {
    let (p, t) = if predicted.dim() == 1 {
        (predicted.unsqueeze(0), target.unsqueeze(0))
    } else {
        (predicted.shallow_clone(), target.shallow_clone())
    };
    let mut total = Tensor::zeros([], (p.kind(), p.device()));
    for &n_fft in sizes {
        let sp = stft_magnitudes(&p, n_fft);
        let st = stft_magnitudes(&t, n_fft);
        let linear = (&sp - &st).abs().mean(p.kind());
        let log = ((&sp + LOG_EPSILON).log() - (&st + LOG_EPSILON).log())
            .abs()
            .mean(p.kind());
        total = total + linear + log;
    }
    total
}

/// [`mr_stft_loss`] over [`FFT_SIZES`], as a number (no gradient).
pub fn mr_stft_distance(predicted: &Tensor, target: &Tensor) -> f64 {
    tch::no_grad(|| {
        mr_stft_loss(
            &predicted.to_kind(Kind::Float),
            &target.to_kind(Kind::Float),
            &FFT_SIZES,
        )
        .double_value(&[])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn sine(freq: f64, amplitude: f64, samples: i64) -> Tensor {
        let t = Tensor::arange(samples, (Kind::Float, Device::Cpu)) / 16_000.0;
        (t * (std::f64::consts::TAU * freq)).sin() * amplitude
    }

    #[test]
    fn a_sine_peaks_in_its_bin_and_distances_order_sensibly() {
        let x = sine(1000.0, 0.5, 16_000).unsqueeze(0);
        let mags = stft_magnitudes(&x, 1024);
        assert_eq!(mags.size(), vec![1, 513, 1 + (16_000 - 1024) / 256]);
        // 1000 Hz in bins of 15.625 Hz: bin 64.
        let peak = mags.get(0).mean_dim(1, false, Kind::Float).argmax(0, false);
        assert_eq!(peak.int64_value(&[]), 64);
        let same = mr_stft_distance(&x, &x);
        let louder = mr_stft_distance(&(&x * 2.0), &x);
        let other = mr_stft_distance(&sine(1500.0, 0.5, 16_000).unsqueeze(0), &x);
        let silence = mr_stft_distance(&x.zeros_like(), &x);
        assert!(same < 1e-6, "a signal against itself: {same}");
        assert!(louder > 0.5 && other > louder, "{louder} {other}");
        assert!(silence > 1.0, "{silence}");
    }

    #[test]
    fn the_loss_has_finite_gradients_near_silence() {
        let noise =
            crate::model::exclusive(|| Tensor::randn([2, 4096], (Kind::Float, Device::Cpu)));
        let x = (noise * 1e-6).set_requires_grad(true);
        let target = sine(440.0, 0.3, 4096).unsqueeze(0).repeat([2, 1]);
        let loss = mr_stft_loss(&x, &target, &FFT_SIZES);
        loss.backward();
        let grad = x.grad();
        assert!(grad.isfinite().all().int64_value(&[]) == 1);
        assert!(grad.abs().sum(Kind::Float).double_value(&[]) > 0.0);
        // Short clips are padded rather than refused.
        let short = mr_stft_loss(&sine(440.0, 0.3, 100), &sine(440.0, 0.3, 100), &FFT_SIZES);
        assert!(short.double_value(&[]).abs() < 1e-6);
    }
}

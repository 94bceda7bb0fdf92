//! Tests of the DDSP-style model: shapes, rendering in chunks, and fitting one clip.

use super::*;
use crate::data::{AudioClips, AudioPair, Batches};
use crate::encode::audio::tests::score_of;
use crate::encode::AudioFeatureConfig;
use crate::train::{evaluate, TrainConfig, Trainer};

fn features_config() -> AudioFeatureConfig {
    AudioFeatureConfig {
        voices: 2,
        ..AudioFeatureConfig::default()
    }
}

/// A one-second clip: two notes rendered by a simple additive "instrument" with a decaying
/// second harmonic and an attack.
pub(crate) fn toy_pair() -> Result<AudioPair> {
    let config = features_config();
    let score = score_of(&[(69, 0, 400), (76, 480, 400)], 100);
    let frames = 250;
    let features = config.features(&score, frames)?;
    let sr = f64::from(config.sample_rate);
    let mut samples = vec![0f32; frames * config.hop];
    for (start, len, f0) in [(0usize, 6667usize, 440.0f64), (8000, 6667, 659.255)] {
        for i in 0..(len + 800).min(samples.len() - start) {
            let t = i as f64 / sr;
            let env = (t / 0.02).min(1.0)
                * if i < len {
                    1.0
                } else {
                    1.0 - (i - len) as f64 / 800.0
                };
            let tone = (std::f64::consts::TAU * f0 * t).sin()
                + 0.5 * (-t / 0.2).exp() * (std::f64::consts::TAU * 2.0 * f0 * t).sin();
            samples[start + i] += (0.2 * env * tone) as f32;
        }
    }
    AudioPair::new("toy", features, samples, config.sample_rate)
}

#[test]
fn shapes_parameters_and_silence_for_unused_voices() -> Result<()> {
    let model = Ddsp::new(DdspConfig::debug(&features_config()), Device::Cpu)?;
    let features = Tensor::zeros([2, 10, 16], (Kind::Float, Device::Cpu));
    let audio = model.synthesize(&features);
    assert_eq!(audio.size(), vec![2, 640]);
    // No voice was ever used: the harmonics are silent and the noise is gated off.
    assert!(audio.abs().max().double_value(&[]) < 1e-6);
    let shown = model.to_string();
    assert!(shown.contains("16 harmonics") && shown.contains(&model.parameter_count().to_string()));
    assert_eq!(
        model.sizes(),
        Sizes::Audio {
            voices: 2,
            hop: 64,
            sample_rate: 16_000
        }
    );
    // Features of another number of voices are one clear error, not a shape panic.
    let wrong = Tensor::zeros([10, 24], (Kind::Float, Device::Cpu));
    let error = model
        .render(&wrong, &mut |_| Ok(0))
        .expect_err("three voices' features for a two-voice model");
    assert!(
        format!("{error:#}").contains("do not fit a model of 2 voices"),
        "{error:#}"
    );
    Ok(())
}

#[test]
fn rendering_in_chunks_equals_one_synthesis() -> Result<()> {
    let _generator = crate::model::torch_rng::hold_seeded(3);
    let model = Ddsp::new(DdspConfig::debug(&features_config()), Device::Cpu)?;
    chunks_cpu_kernel_and_tensor_path_agree(model)
}

#[test]
fn with_stretched_partials_the_kernel_the_chunks_and_one_synthesis_agree() -> Result<()> {
    let _generator = crate::model::torch_rng::hold_seeded(3);
    let config = DdspConfig {
        inharmonicity: Some(crate::model::inharmonic::Inharmonicity::SOUNDFONT_PIANO),
        ..DdspConfig::debug(&features_config())
    };
    let model = Ddsp::new(config, Device::Cpu)?;
    assert!(model.to_string().contains("stretched partials"));
    chunks_cpu_kernel_and_tensor_path_agree(model)
}

#[test]
fn a_config_from_before_stretched_partials_reads_as_harmonic() -> Result<()> {
    let mut json = serde_json::to_value(DdspConfig::debug(&features_config()))?;
    json.as_object_mut()
        .map(|o| o.remove("inharmonicity"))
        .expect("an object");
    let config: DdspConfig = serde_json::from_value(json)?;
    assert_eq!(config.inharmonicity, None);
    let bad = DdspConfig {
        inharmonicity: Some(crate::model::inharmonic::Inharmonicity {
            at_a4: 0.5,
            per_octave: 2.0,
        }),
        ..DdspConfig::debug(&features_config())
    };
    let error = Ddsp::new(bad, Device::Cpu).unwrap_err().to_string();
    assert!(error.contains("inharmonicity.at_a4"), "{error}");
    Ok(())
}

/// Renders 1,200 frames of the toy pair's features with the CPU kernel (the whole piece) and
/// with the tensor path (chunks of 500, 500 and 200 carrying the phase), against one synthesis.
fn chunks_cpu_kernel_and_tensor_path_agree(mut model: Ddsp) -> Result<()> {
    let pair = toy_pair()?;
    // 1200 frames: three chunks of 500, 500 and 200.
    let mut values = Vec::new();
    for _ in 0..5 {
        values.extend_from_slice(&pair.features.values);
    }
    let features = Tensor::from_slice(&values[..1200 * 16]).view([1200, 16]);
    let whole = tch::no_grad(|| model.synthesize(&features.unsqueeze(0))).view([-1]);
    for cpu_kernel in [true, false] {
        model.cpu_kernel = cpu_kernel;
        let rendered = model.render(&features, &mut |_| Ok(0))?;
        assert_eq!(rendered.len(), 1200 * 64);
        let diff = (Tensor::from_slice(&rendered) - &whole)
            .abs()
            .max()
            .double_value(&[]);
        assert!(
            diff < 1e-4,
            "rendering (CPU kernel: {cpu_kernel}) differs by {diff}"
        );
    }
    Ok(())
}

#[test]
fn a_tiny_model_fitted_to_one_clip_halves_its_mr_stft_distance() -> Result<()> {
    let pair = toy_pair()?;
    let clips = AudioClips::new(vec![pair], 250, 1)?;
    let model = crate::train::seeded(7, || {
        Ddsp::new(DdspConfig::debug(&features_config()), Device::Cpu)
    })?;
    let before = evaluate(&model, &clips, usize::MAX).loss;
    let mut trainer = Trainer::new(model, TrainConfig::quiet(40, 1e-2));
    trainer.fit(&clips, &clips)?;
    let after = evaluate(trainer.model(), &clips, usize::MAX).loss;
    assert!(clips.items() == 250);
    assert!(
        after < before / 2.0,
        "MR-STFT distance {before:.3} → {after:.3}"
    );
    Ok(())
}

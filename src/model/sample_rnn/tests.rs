//! Tests of the sample-level model: mu-law, shapes, overfitting a short clip, drawing samples.

use super::*;
use crate::data::{AudioClips, Batches};
use crate::model::ddsp::tests::toy_pair;
use crate::train::{evaluate, seeded, TrainConfig, Trainer};

fn layout() -> AudioFeatureConfig {
    AudioFeatureConfig {
        voices: 2,
        ..AudioFeatureConfig::default()
    }
}

#[test]
fn mu_law_round_trips_within_a_class() {
    let x = Tensor::from_slice(&[-1.0f32, -0.3, -0.01, 0.0, 0.002, 0.07, 0.5, 1.0, 1.7]);
    let classes = mu_law_encode(&x);
    let ids = Vec::<i64>::try_from(&classes).expect("ids");
    assert_eq!((ids[0], ids[3], ids[7], ids[8]), (0, 128, 255, 255));
    assert!(ids.windows(2).all(|w| w[0] <= w[1]));
    let back = mu_law_decode(&classes);
    // Small values come back finely, large ones coarsely (mu-law).
    assert!((back.double_value(&[2]) + 0.01).abs() < 0.001);
    assert!((back.double_value(&[6]) - 0.5).abs() < 0.03);
}

#[test]
fn overfits_a_short_clip_well_below_the_eight_bit_ceiling_and_draws_samples() -> Result<()> {
    // A quarter of a second of the toy clip: 62 frames, 3,968 samples.
    let clip = toy_pair()?.slice(0..62);
    let clips = AudioClips::new(vec![clip.clone()], 62, 1)?;
    let model = seeded(4, || {
        SampleRnn::new(SampleRnnConfig::debug(&layout()), Device::Cpu)
    })?;
    let bits = |m: &dyn Model| evaluate(m, &clips, usize::MAX).loss / std::f64::consts::LN_2;
    let before = bits(&model);
    assert!(
        before > 7.0 && before < 8.5,
        "untrained: {before:.2} bits per sample"
    );
    let mut trainer = Trainer::new(model, TrainConfig::quiet(60, 1e-2));
    trainer.fit(&clips, &clips)?;
    let after = bits(trainer.model());
    assert!(after < 4.0, "{before:.2} → {after:.2} bits per sample");
    assert_eq!(clips.items(), 62);
    // Generation draws every sample through the callback, greedy here.
    let model = trainer.model_as::<SampleRnn>()?;
    let features = Tensor::from_slice(&clip.features.values[..2 * 16]).view([2, 16]);
    let mut draws = 0;
    let samples = model.render(&features, &mut |logits| {
        draws += 1;
        assert_eq!(logits.len(), 256);
        Ok(logits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i))
    })?;
    assert_eq!((samples.len(), draws), (128, 128));
    assert!(samples.iter().all(|s| s.abs() <= 1.0));
    Ok(())
}

use super::*;

#[test]
fn the_cpu_kernel_steps_what_libtorch_steps() -> Result<()> {
    // Every part the kernel copies: an input projection, two layers, the skip path, the
    // within-frame weights and a positive weight, all random; 10 frames drawn both ways.
    let _generator = crate::model::torch_rng::hold_seeded(9);
    let config = FrameLstmConfig {
        num_layers: 2,
        input_projection: Some(12),
        skip_connection: true,
        pitch_autoregression: true,
        positive_weight: Some(2.5),
        ..FrameLstmConfig::debug(20)
    };
    let mut model = FrameLstm::new(config, Device::Cpu)?;
    tch::no_grad(|| {
        for (_, t) in model.named_parameters() {
            let r = Tensor::randn(t.size(), (Kind::Float, Device::Cpu)) * 0.4;
            t.shallow_clone().copy_(&r);
        }
    });
    let mut primer = vec![0f32; 40];
    for cell in [3usize, 7, 20 + 5, 20 + 9] {
        primer[cell] = 1.0;
    }
    let primer = Tensor::from_slice(&primer).view([2, 20]);
    let mut runs = Vec::new();
    for cpu_kernel in [true, false] {
        model.cpu_kernel = cpu_kernel;
        let mut state = model.start(&primer)?;
        let (mut logits, mut frames) = (Vec::new(), Vec::new());
        for _ in 0..10 {
            let frame = model.next_frame(&state, &mut |_, logit| {
                logits.push(logit);
                logit > 0.0
            })?;
            state = model.advance(state, &frame)?;
            frames.push(frame);
        }
        runs.push((logits, frames));
    }
    assert_eq!(runs[0].1, runs[1].1, "the same frames");
    assert!(
        runs[0].1.iter().flatten().any(|&c| c > 0.5),
        "some pitches sound"
    );
    let worst = runs[0]
        .0
        .iter()
        .zip(&runs[1].0)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-4, "largest difference {worst}");
    Ok(())
}
use crate::data::{next_frame_batch, RollBatches};
use crate::model::losses::frame_bce;
use crate::train::{evaluate, TrainConfig, Trainer};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn shapes_parameter_count_and_display() -> Result<()> {
    let mut config = FrameLstmConfig::debug(6);
    config.input_projection = Some(4);
    config.skip_connection = true;
    let model = FrameLstm::new(config, Device::Cpu)?;
    let frames = Tensor::ones([2, 5, 6], (Kind::Float, Device::Cpu));
    let (logits, state) = model.forward(&frames, None, false);
    assert_eq!(logits.size(), vec![2, 5, 6]);
    assert_eq!(state.c.size(), vec![2, 2, 16]);
    // proj 6*4+4; layer0 64*(4+16)+128; layer1 64*(16+16)+128; head 16*6+6; skip 6*6
    let expected = 28 + (64 * 20 + 128) + (64 * 32 + 128) + 102 + 36;
    assert_eq!(model.parameter_count(), expected);
    let shown = model.to_string();
    assert!(shown.contains("LSTM 2×16") && shown.contains(&expected.to_string()));
    Ok(())
}

#[test]
fn stepping_matches_a_whole_sequence() -> Result<()> {
    let _generator = crate::model::torch_rng::hold_seeded(2);
    let model = FrameLstm::new(FrameLstmConfig::debug(5), Device::Cpu)?;
    let frames =
        Tensor::from_slice(&[1f32, 0., 1., 0., 0., 0., 1., 0., 0., 1., 1., 1., 0., 0., 0.])
            .view([1, 3, 5]);
    let (whole, _) = model.forward(&frames, None, false);
    let mut state = None;
    for t in 0..3 {
        let (logits, next) = model.step(&frames.get(0).narrow(0, t, 1), state.as_ref());
        let diff = (logits.squeeze_dim(0) - whole.get(0).get(t))
            .abs()
            .max()
            .double_value(&[]);
        assert!(diff < 1e-5, "step {t} differs by {diff}");
        state = Some(next);
    }
    Ok(())
}

#[test]
fn padding_does_not_change_the_loss_and_the_positive_weight_raises_it() -> Result<()> {
    let _generator = crate::model::torch_rng::hold_seeded(4);
    let model = FrameLstm::new(FrameLstmConfig::debug(4), Device::Cpu)?;
    let long = Tensor::from_slice(&[
        1f32, 0., 0., 1., 0., 1., 0., 0., 1., 1., 0., 0., 0., 0., 1., 0.,
    ])
    .view([4, 4]);
    let short = long.narrow(0, 0, 2);
    let both = next_frame_batch(&[&long, &short]).expect("a batch");
    assert_eq!(both.inputs.size(), vec![2, 3, 4]);
    // By hand: 3 predicted frames of `long` and 1 of `short`, averaged per frame.
    let alone = |piece: &Tensor| -> Result<f64> {
        let batch = next_frame_batch(&[piece]).expect("a batch");
        Ok(model.loss(&batch, false).double_value(&[]))
    };
    let together = model.loss(&both, false).double_value(&[]);
    assert!((together - (3.0 * alone(&long)? + alone(&short)?) / 4.0).abs() < 1e-5);
    let mut config = FrameLstmConfig::debug(4);
    config.positive_weight = Some(5.0);
    let weighted = FrameLstm::new(config, Device::Cpu)?;
    tch::no_grad(|| {
        for ((_, a), (_, b)) in weighted
            .named_parameters()
            .iter()
            .zip(model.named_parameters())
        {
            a.shallow_clone().copy_(&b);
        }
    });
    let plain = weighted.loss(&both, false).double_value(&[]);
    assert!(
        (plain - together).abs() < 1e-6,
        "evaluation ignores the positive weight"
    );
    let train = weighted.loss(&both, true).double_value(&[]);
    assert!(
        train > plain + 0.1,
        "weighted training loss {train} vs {plain}"
    );
    Ok(())
}

/// Trains `config` on `pieces` (pitches 0..n) and returns the NLL per frame on `held_out`.
fn trained_nll(
    config: FrameLstmConfig,
    pieces: Vec<Vec<Vec<u8>>>,
    held_out: Vec<Vec<Vec<u8>>>,
    epochs: usize,
    lr: f64,
) -> Result<(f64, f64)> {
    let n = config.num_pitches as usize;
    let train = RollBatches::from_frames(pieces, 0, n, 0, 4)?;
    let valid = RollBatches::from_frames(held_out, 0, n, 0, 4)?;
    let _generator = crate::model::torch_rng::hold_seeded(0);
    let model = FrameLstm::new(config, Device::Cpu)?;
    let before = evaluate(&model, &valid, usize::MAX).loss;
    let mut trainer = Trainer::new(model, TrainConfig::quiet(epochs, lr));
    trainer.fit(&train, &valid)?;
    Ok((before, evaluate(trainer.model(), &valid, usize::MAX).loss))
}

#[test]
fn learns_a_repeating_arpeggio() -> Result<()> {
    // C, E, G as one-hot frames, repeated.
    let arpeggio: Vec<Vec<u8>> = (0..24).map(|i| vec![(i % 3) as u8]).collect();
    let (before, after) = trained_nll(
        FrameLstmConfig::debug(3),
        vec![arpeggio.clone()],
        vec![arpeggio],
        60,
        3e-2,
    )?;
    assert!(before > 1.5, "untrained NLL {before}");
    assert!(after < 0.3, "trained NLL {after}");
    Ok(())
}

fn autoregressive(pitches: i64) -> FrameLstmConfig {
    FrameLstmConfig {
        pitch_autoregression: true,
        ..FrameLstmConfig::debug(pitches)
    }
}

#[test]
fn pitch_autoregression_gives_a_normalised_distribution_over_frames() -> Result<()> {
    let _generator = crate::model::torch_rng::hold_seeded(5);
    let model = FrameLstm::new(autoregressive(3), Device::Cpu)?;
    // Every weight random, above the diagonal too: the mask must keep those out.
    tch::no_grad(|| {
        for (name, t) in model.named_parameters() {
            if name == "pitch.weight" {
                t.shallow_clone()
                    .copy_(&(Tensor::randn([3, 3], (Kind::Float, Device::Cpu)) * 2.0));
            }
        }
    });
    let history = Tensor::from_slice(&[1f32, 0., 1., 0., 1., 1.]).view([1, 2, 3]);
    let (logits, _) = model.forward(&history, None, false);
    let last = logits.narrow(1, 1, 1);
    let mut total = 0.0;
    for code in 0..8u8 {
        let frame: Vec<f32> = (0..3).map(|bit| f32::from((code >> bit) & 1)).collect();
        let next = Tensor::from_slice(&frame).view([1, 1, 3]);
        let nll = frame_bce(&model.conditional_logits(&last, &next), &next, None);
        total += (-nll.double_value(&[0, 0])).exp();
    }
    assert!(
        (total - 1.0).abs() < 1e-5,
        "probabilities add up to {total}"
    );
    let weights = model.pitch_weights().expect("weights");
    assert_eq!(
        weights.triu(0).abs().sum(Kind::Float).double_value(&[]),
        0.0
    );
    Ok(())
}

#[test]
fn pitch_autoregression_learns_chords_that_independent_pitches_cannot() -> Result<()> {
    // Frames are the chord {0, 2} or the chord {1, 3}, by coin flip: the past says nothing,
    // so independent pitches are stuck at 4 ln 2 = 2.77 nats and chords can reach ln 2 = 0.69.
    let coin_flip_chords = |seed: u64| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let frames: Vec<Vec<u8>> = (0..2000)
            .map(|_| {
                if rng.random::<bool>() {
                    vec![0, 2]
                } else {
                    vec![1, 3]
                }
            })
            .collect();
        vec![frames]
    };
    let independent = trained_nll(
        FrameLstmConfig::debug(4),
        coin_flip_chords(11),
        coin_flip_chords(12),
        100,
        1e-1,
    )?
    .1;
    let chords = trained_nll(
        autoregressive(4),
        coin_flip_chords(11),
        coin_flip_chords(12),
        100,
        1e-1,
    )?
    .1;
    assert!(
        independent > 2.6,
        "independent pitches reached {independent}"
    );
    assert!(chords < 0.9, "pitch autoregression reached {chords}");
    Ok(())
}

#[test]
fn generation_draws_each_pitch_given_the_lower_ones_and_undoes_the_weight() -> Result<()> {
    let mut config = autoregressive(3);
    config.positive_weight = Some(std::f64::consts::E);
    let model = FrameLstm::new(config, Device::Cpu)?;
    tch::no_grad(|| {
        for (name, t) in model.named_parameters() {
            let _ = t.shallow_clone().zero_();
            if name == "pitch.weight" {
                let mut w = [0f32; 9];
                w[2 * 3] = 5.0; // pitch 2 reads pitch 0
                t.shallow_clone()
                    .copy_(&Tensor::from_slice(&w).view([3, 3]));
            }
        }
    });
    let state = model.start(&Tensor::zeros([0, 3], (Kind::Float, Device::Cpu)))?;
    let mut seen = Vec::new();
    let frame = model.next_frame(&state, &mut |j, logit| {
        seen.push((j, logit));
        j == 0
    })?;
    assert_eq!(frame, vec![1.0, 0.0, 0.0]);
    // Logit 0 less ln e = -1 for every pitch; pitch 2 gains 5 from pitch 0.
    assert_eq!(seen.len(), 3);
    assert!((seen[0].1 + 1.0).abs() < 1e-6 && (seen[2].1 - 4.0).abs() < 1e-6);
    let state = model.advance(state, &frame)?;
    assert!(model
        .next_frame(&state, &mut |_, _| false)?
        .iter()
        .all(|&c| c == 0.0));
    Ok(())
}

#[test]
fn rejects_bad_configs() {
    let mut config = FrameLstmConfig::debug(5);
    config.input_dropout = 1.0;
    assert!(FrameLstm::new(config, Device::Cpu).is_err());
    let mut config = FrameLstmConfig::debug(5);
    config.input_projection = Some(0);
    assert!(FrameLstm::new(config, Device::Cpu).is_err());
    let mut config = FrameLstmConfig::debug(5);
    config.positive_weight = Some(-1.0);
    let err = FrameLstm::new(config, Device::Cpu).expect_err("negative weight");
    assert!(format!("{err:#}").contains("positive_weight"));
}

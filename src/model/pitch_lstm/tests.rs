use super::*;
use crate::data::{next_frame_batch, RollBatches};
use crate::model::losses::frame_bce;
use crate::model::{FrameLstm, FrameLstmConfig};
use crate::train::{evaluate, seeded, TrainConfig, Trainer};

/// Sets every parameter to random values of scale `scale` (so no test passes by zeros).
fn randomise(model: &PitchLstm, scale: f64) {
    tch::no_grad(|| {
        for (_, t) in model.named_parameters() {
            let r = Tensor::randn(t.size(), (Kind::Float, Device::Cpu)) * scale;
            t.shallow_clone().copy_(&r);
        }
    });
}

fn frames(cells: &[f32], t: i64, p: i64) -> Tensor {
    Tensor::from_slice(cells).view([1, t, p])
}

#[test]
fn shapes_parameter_count_and_display() -> Result<()> {
    let config = PitchLstmConfig::debug(6);
    // window 2 → 5, classes 12, context 12, beat 2, position 1
    assert_eq!(config.time_features(), 32);
    let model = PitchLstm::new(config, Device::Cpu)?;
    let x = Tensor::ones([2, 5, 6], (Kind::Float, Device::Cpu));
    assert_eq!(model.time_inputs(&x, 0).size(), vec![2, 5, 6, 32]);
    let logits = model.logits(&x, &x, false);
    assert_eq!(logits.size(), vec![2, 5, 6]);
    // time 32*(32+8)+2*32; pitch 24*(8+2+6)+2*24; head 6+1
    let expected = (32 * 40 + 64) + (24 * 16 + 48) + 7;
    assert_eq!(model.parameter_count(), expected);
    let shown = model.to_string();
    assert!(shown.contains("time-axis LSTM 1×8") && shown.contains(&expected.to_string()));
    let narrow = PitchLstm::new(
        PitchLstmConfig {
            key_range: Some([1, 3]),
            ..PitchLstmConfig::debug(6)
        },
        Device::Cpu,
    )?;
    // The same LSTMs, and one logit per key for the keys outside 1..=3.
    assert_eq!(narrow.parameter_count(), expected + 6);
    assert_eq!(narrow.logits(&x, &x, false).size(), vec![2, 5, 6]);
    let (out, _) = narrow.time_axis(&x, 0, None, false);
    assert_eq!(out.size(), vec![2, 5, 3, 8]);
    assert!(narrow.to_string().contains("keys 1..=3 of 6"));
    Ok(())
}

#[test]
fn inputs_are_relative_to_each_key() -> Result<()> {
    let model = PitchLstm::new(PitchLstmConfig::debug(14), Device::Cpu)?;
    // Key 3 (D#4) sounds in frame 0; frame 1 is silent.
    let mut cells = vec![0f32; 28];
    cells[3] = 1.0;
    let x = model.time_inputs(&frames(&cells, 2, 14), 5);
    let row =
        |t: i64, n: i64| -> Vec<f32> { Vec::try_from(x.get(0).get(t).get(n)).unwrap_or_default() };
    // Key 4 sees key 3 one place below its centre (window 2: slots n-2..n+2).
    assert_eq!(&row(0, 4)[..5], &[0., 1., 0., 0., 0.]);
    assert_eq!(&row(0, 1)[..5], &[0., 0., 0., 0., 1.]);
    assert_eq!(&row(0, 3)[..5], &[0., 0., 1., 0., 0.]);
    // Pitch class of key 4 (E): one-hot at 4.
    assert_eq!(row(0, 4)[5 + 4], 1.0);
    // Context relative to key 4 (E): D# is 11 classes up; relative to key 3 it is class 0.
    assert_eq!(row(0, 4)[17 + 11], 1.0);
    assert_eq!(row(0, 3)[17], 1.0);
    // Beat bits of frames 5 (binary 01 → 1, -1 low bit first) and 6 (10).
    assert_eq!(&row(0, 0)[29..31], &[1., -1.]);
    assert_eq!(&row(1, 0)[29..31], &[-1., 1.]);
    // Positions run from -1 to 1.
    assert_eq!((row(0, 0)[31], row(0, 13)[31]), (-1.0, 1.0));
    assert!(row(1, 4)[..5].iter().all(|&v| v == 0.0));
    Ok(())
}

#[test]
fn the_time_axis_is_the_same_in_every_key() -> Result<()> {
    // Without its place on the keyboard, the time axis of a key an octave up, reading the same
    // music an octave up, gives exactly the same outputs: what is learned in one key is known in
    // the others. (Shifts by other intervals change only the pitch-class inputs.)
    let _generator = crate::model::torch_rng::hold_seeded(3);
    let model = PitchLstm::new(PitchLstmConfig::debug(40), Device::Cpu)?;
    randomise(&model, 0.5);
    let position = model.config.time_features() - 1;
    tch::no_grad(|| {
        for (name, t) in model.named_parameters() {
            if name == "time.weight_ih_l0" {
                let _ = t.narrow(1, position, 1).zero_();
            }
        }
    });
    let mut low = vec![0f32; 3 * 40];
    for (t, n) in [(0, 5), (0, 9), (1, 7), (2, 5), (2, 12)] {
        low[t * 40 + n] = 1.0;
    }
    let mut high = vec![0f32; 3 * 40];
    for (i, &v) in low.iter().enumerate() {
        if v > 0.0 {
            high[i + 12] = 1.0;
        }
    }
    let (a, _) = model.time_axis(&frames(&low, 3, 40), 0, None, false);
    let (b, _) = model.time_axis(&frames(&high, 3, 40), 0, None, false);
    let diff = (a.narrow(2, 2, 20) - b.narrow(2, 14, 20))
        .abs()
        .max()
        .double_value(&[]);
    assert!(diff < 1e-6, "shifted outputs differ by {diff}");
    // ...and the place on the keyboard does matter once it is read.
    let other = PitchLstm::new(PitchLstmConfig::debug(40), Device::Cpu)?;
    randomise(&other, 0.5);
    let (a, _) = other.time_axis(&frames(&low, 3, 40), 0, None, false);
    let (b, _) = other.time_axis(&frames(&high, 3, 40), 0, None, false);
    let diff = (a.narrow(2, 2, 20) - b.narrow(2, 14, 20))
        .abs()
        .max()
        .double_value(&[]);
    assert!(diff > 1e-3, "the position input is ignored ({diff})");
    Ok(())
}

#[test]
fn the_probabilities_of_all_frames_add_up_to_one() -> Result<()> {
    let _generator = crate::model::torch_rng::hold_seeded(5);
    let p = 5;
    for key_range in [None, Some([1, 3])] {
        let model = PitchLstm::new(
            PitchLstmConfig {
                pitch_layers: 2,
                key_range,
                ..PitchLstmConfig::debug(p)
            },
            Device::Cpu,
        )?;
        randomise(&model, 1.0);
        all_frames_add_up_to_one(&model, p)?;
    }
    Ok(())
}

fn all_frames_add_up_to_one(model: &PitchLstm, p: i64) -> Result<()> {
    let history = [1f32, 0., 1., 0., 0., 0., 1., 1., 0., 1.];
    let n = 1i64 << p;
    let inputs = frames(&history, 2, p).expand([n, 2, p], false);
    let mut next = vec![0f32; (n * 2 * p) as usize];
    for code in 0..n {
        for bit in 0..p {
            // Frame 0 of the target is the history's frame 1; frame 1 runs over all frames.
            let i = (code * 2 * p) as usize;
            next[i + bit as usize] = history[(p + bit) as usize];
            next[i + (p + bit) as usize] = ((code >> bit) & 1) as f32;
        }
    }
    let next = Tensor::from_slice(&next).view([n, 2, p]);
    let logits = model.logits(&inputs, &next, false);
    let nll = frame_bce(&logits, &next, None);
    let total: f64 = (0..n)
        .map(|code| (-nll.double_value(&[code, 1])).exp())
        .sum();
    assert!(
        (total - 1.0).abs() < 1e-5,
        "probabilities add up to {total}"
    );
    // Not a uniform distribution: the weights matter.
    let first = (-nll.double_value(&[0, 1])).exp();
    assert!(
        (first - 1.0 / n as f64).abs() > 1e-3,
        "p(silence) = {first}"
    );
    Ok(())
}

#[test]
fn sampling_draws_the_conditionals_the_loss_scores() -> Result<()> {
    let _generator = crate::model::torch_rng::hold_seeded(7);
    let p = 6;
    // Both ways of drawing: the pitch axis in the crate's CPU kernel (the default on the CPU) and
    // libtorch step by step (the path on CUDA).
    for (key_range, cpu_kernel) in [
        (None, true),
        (Some([2, 4]), true),
        (None, false),
        (Some([2, 4]), false),
    ] {
        let mut model = PitchLstm::new(
            PitchLstmConfig {
                positive_weight: Some(3.0),
                key_range,
                ..PitchLstmConfig::debug(p)
            },
            Device::Cpu,
        )?;
        model.cpu_kernel = cpu_kernel;
        randomise(&model, 0.7);
        draws_match_the_loss(&model, p)?;
    }
    Ok(())
}

#[test]
fn the_cpu_kernel_draws_what_libtorch_draws() -> Result<()> {
    // A piano-sized model (88 keys, two pitch-axis layers, the keys of a range) drawing 12 frames
    // both ways from the same primer: the same logits to 1e-4 and the same frames.
    let _generator = crate::model::torch_rng::hold_seeded(11);
    let config = PitchLstmConfig {
        key_range: Some([20, 70]),
        positive_weight: Some(2.0),
        ..PitchLstmConfig::piano(32, 2, 24, 2, 0.0)
    };
    let mut model = PitchLstm::new(config, Device::Cpu)?;
    randomise(&model, 0.3);
    let mut primer = vec![0f32; 2 * 88];
    for key in [39usize, 43, 46, 88 + 41, 88 + 45] {
        primer[key] = 1.0;
    }
    let primer = Tensor::from_slice(&primer).view([2, 88]);
    let mut runs = Vec::new();
    for cpu_kernel in [true, false] {
        model.cpu_kernel = cpu_kernel;
        let mut state = model.start(&primer)?;
        let (mut logits, mut frames) = (Vec::new(), Vec::new());
        for _ in 0..12 {
            let frame = model.next_frame(&state, &mut |_, logit| {
                logits.push(logit);
                logit > -0.5
            })?;
            state = model.advance(state, &frame)?;
            frames.push(frame);
        }
        runs.push((logits, frames));
    }
    let (kernel, libtorch) = (&runs[0], &runs[1]);
    assert_eq!(kernel.1, libtorch.1, "the same frames");
    assert!(
        kernel.1.iter().flatten().any(|&c| c > 0.5),
        "some keys sound"
    );
    let worst = kernel
        .0
        .iter()
        .zip(&libtorch.0)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-4, "largest difference {worst}");
    Ok(())
}

#[test]
fn an_untrained_model_draws_no_keys_outside_its_range() -> Result<()> {
    // The keys outside the range are those the training set never sounds. Drawn at the head's
    // starting probability (5% a frame), 58 such keys put almost three stray notes in every
    // frame of an untrained model; they start near zero instead.
    let model = PitchLstm::new(
        PitchLstmConfig {
            key_range: Some([30, 59]),
            ..PitchLstmConfig::piano(16, 1, 8, 1, 0.0)
        },
        Device::Cpu,
    )?;
    let mut uniform = {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        }
    };
    let mut state = model.start(&Tensor::zeros([1, 88], (Kind::Float, Device::Cpu)))?;
    let (mut inside, mut outside) = (0, 0);
    for _ in 0..100 {
        let frame = model.next_frame(&state, &mut |_, logit| {
            uniform() < 1.0 / (1.0 + (-logit).exp())
        })?;
        for (key, &cell) in frame.iter().enumerate() {
            if cell > 0.5 {
                if (30..=59).contains(&key) {
                    inside += 1;
                } else {
                    outside += 1;
                }
            }
        }
        state = model.advance(state, &frame)?;
    }
    assert!(inside > 20, "keys inside the range sound: {inside}");
    assert_eq!(outside, 0, "stray notes outside the range");
    Ok(())
}

fn draws_match_the_loss(model: &PitchLstm, p: i64) -> Result<()> {
    let piece = [
        1f32, 0., 0., 1., 0., 0., //
        0., 1., 0., 1., 0., 1., //
        1., 1., 0., 0., 0., 0., //
        0., 0., 1., 0., 1., 1., //
        1., 0., 0., 0., 0., 1.,
    ];
    let all = frames(&piece, 5, p);
    let logits = model.logits(&all.narrow(1, 0, 4), &all.narrow(1, 1, 4), false);
    let mut state = model.start(&all.get(0).narrow(0, 0, 2))?;
    for t in 1..4i64 {
        let target: Vec<f32> = Vec::try_from(all.get(0).get(t + 1))?;
        let mut seen = Vec::new();
        let frame = model.next_frame(&state, &mut |n, logit| {
            seen.push(logit);
            target[n] > 0.5
        })?;
        assert_eq!(frame, target);
        for (n, logit) in seen.iter().enumerate() {
            // Sampling divides the positive weight out of the odds.
            let expected = logits.double_value(&[0, t, n as i64]) - 3f64.ln();
            assert!(
                (logit - expected).abs() < 1e-4,
                "frame {t} key {n}: {logit} vs {expected}"
            );
        }
        state = model.advance(state, &frame)?;
    }
    assert!(model.advance(state, &[0.0; 3]).is_err());
    Ok(())
}

#[test]
fn padding_does_not_change_the_loss_and_the_weight_only_trains() -> Result<()> {
    let _generator = crate::model::torch_rng::hold_seeded(4);
    let model = PitchLstm::new(PitchLstmConfig::debug(4), Device::Cpu)?;
    let long = Tensor::from_slice(&[
        1f32, 0., 0., 1., 0., 1., 0., 0., 1., 1., 0., 0., 0., 0., 1., 0.,
    ])
    .view([4, 4]);
    let short = long.narrow(0, 1, 2);
    let both = next_frame_batch(&[&long, &short]).expect("a batch");
    let alone = |piece: &Tensor| -> f64 {
        let batch = next_frame_batch(&[piece]).expect("a batch");
        model.loss(&batch, false).double_value(&[])
    };
    let together = model.loss(&both, false).double_value(&[]);
    let by_hand = (3.0 * alone(&long) + alone(&short)) / 4.0;
    assert!((together - by_hand).abs() < 1e-5, "{together} vs {by_hand}");
    let weighted = PitchLstm::new(
        PitchLstmConfig {
            positive_weight: Some(5.0),
            ..PitchLstmConfig::debug(4)
        },
        Device::Cpu,
    )?;
    crate::train::copy_into(&weighted, &model.named_parameters())?;
    let plain = weighted.loss(&both, false).double_value(&[]);
    assert!((plain - together).abs() < 1e-6);
    assert!(weighted.loss(&both, true).double_value(&[]) > plain + 0.1);
    let nll = crate::metrics::frame_nll::roll_nll(
        &model,
        &RollBatches::from_frames(vec![vec![vec![60], vec![63], vec![61]]], 60, 4, 0, 4)?,
    );
    assert!(nll.is_finite() && nll > 0.0, "{nll}");
    Ok(())
}

/// An arpeggio (root, third, fifth, repeated) starting on `root` among 24 keys.
fn arpeggio(root: u8, len: usize) -> Vec<Vec<u8>> {
    (0..len)
        .map(|t| vec![60 + root + [0, 4, 7][t % 3]])
        .collect()
}

/// The NLL per frame on `train` and on `test` of a model trained on `train` for `epochs`.
fn trained_nll(
    model: impl Model,
    train: Vec<Vec<Vec<u8>>>,
    test: Vec<Vec<Vec<u8>>>,
    epochs: usize,
) -> Result<(f64, f64)> {
    let train = RollBatches::from_frames(train, 60, 24, 0, 4)?;
    let test = RollBatches::from_frames(test, 60, 24, 0, 4)?;
    let mut trainer = Trainer::new(model, TrainConfig::quiet(epochs, 3e-2));
    trainer.fit(&train, &train)?;
    Ok((
        evaluate(trainer.model(), &train, usize::MAX).loss,
        evaluate(trainer.model(), &test, usize::MAX).loss,
    ))
}

#[test]
fn a_pattern_learned_in_some_keys_is_known_in_another() -> Result<()> {
    // Train on arpeggios on C, E and A only; test on the C arpeggio an octave up, on keys that
    // never sounded in training: the pitch LSTM does as well there as on its training pieces,
    // the frame LSTM (one weight per key) cannot.
    let train = vec![arpeggio(0, 30), arpeggio(4, 30), arpeggio(9, 30)];
    let test = vec![arpeggio(12, 30)];
    let config = PitchLstmConfig {
        window: 8,
        time_hidden: 16,
        pitch_hidden: 8,
        ..PitchLstmConfig::debug(24)
    };
    let pitch = seeded(1, || PitchLstm::new(config, Device::Cpu))?;
    let frame = seeded(1, || {
        FrameLstm::new(
            FrameLstmConfig {
                pitch_autoregression: true,
                ..FrameLstmConfig::debug(24)
            },
            Device::Cpu,
        )
    })?;
    let (seen, unseen) = trained_nll(pitch, train.clone(), test.clone(), 60)?;
    let (_, fixed) = trained_nll(frame, train, test, 60)?;
    assert!(
        unseen < seen + 0.5,
        "the pitch LSTM: {seen} nats per frame in the keys it saw, {unseen} in a new one"
    );
    assert!(
        fixed > 3.0 * unseen,
        "in the new key the frame LSTM reached {fixed}, the pitch LSTM {unseen}"
    );
    Ok(())
}

#[test]
fn rejects_bad_configs() {
    let bad = [
        PitchLstmConfig {
            chord_window: 0,
            ..PitchLstmConfig::debug(5)
        },
        PitchLstmConfig {
            dropout: 1.0,
            ..PitchLstmConfig::debug(5)
        },
        PitchLstmConfig {
            low_pitch: 130,
            ..PitchLstmConfig::debug(5)
        },
        PitchLstmConfig {
            positive_weight: Some(0.0),
            ..PitchLstmConfig::debug(5)
        },
        PitchLstmConfig {
            key_range: Some([2, 5]),
            ..PitchLstmConfig::debug(5)
        },
        PitchLstmConfig {
            key_range: Some([3, 2]),
            ..PitchLstmConfig::debug(5)
        },
    ];
    for config in bad {
        let err = PitchLstm::new(config.clone(), Device::Cpu).expect_err("a bad config");
        assert!(!format!("{err:#}").is_empty(), "{config:?}");
    }
    let err = crate::model::build(
        "pitch_lstm",
        &serde_json::json!({"num_pitches": 3}),
        Device::Cpu,
    )
    .expect_err("missing fields");
    assert!(format!("{err:#}").contains("window"), "{err:#}");
}

//! Piano-roll generation from a [`FrameLstm`]: frame after frame, each pitch drawn as a Bernoulli
//! with probability `sigmoid(logit / temperature)`, one stateful LSTM step per frame, after an
//! optional primer (frames taken from a MIDI file or any roll). The result is a [`PianoRoll`], so
//! `roll.to_score()` and [`crate::midi::write_midi_file`] make it a `.mid` file.

use crate::encode::piano_roll::{PianoRoll, PianoRollConfig};
use crate::model::{FrameLstm, LstmState};
use anyhow::{ensure, Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::{Kind, Tensor};

/// How much to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RollLength {
    /// This many frames.
    Frames(usize),
    /// This many bars of `numerator / denominator` on the roll's grid.
    Bars {
        /// Bars to generate.
        bars: usize,
        /// Beats per bar (the 3 of 3/4).
        numerator: u8,
        /// Note value of a beat (the 4 of 3/4).
        denominator: u8,
    },
}

impl RollLength {
    /// Number of frames on a grid of `steps_per_quarter` frames per quarter note.
    pub fn frames(&self, steps_per_quarter: u32) -> usize {
        match *self {
            RollLength::Frames(n) => n,
            RollLength::Bars {
                bars,
                numerator,
                denominator,
            } => {
                let per_bar = f64::from(numerator) * 4.0 / f64::from(denominator.max(1))
                    * f64::from(steps_per_quarter);
                (bars as f64 * per_bar).round() as usize
            }
        }
    }
}

/// Sampling settings for [`sample_roll`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollSampleConfig {
    /// Divides the logits: below 1 the likely notes win more often; 0 or less takes each pitch
    /// whose probability is above one half (no sampling).
    pub temperature: f64,
    /// Seed of the random draws (the same seed, model and primer give the same roll).
    pub seed: u64,
    /// Frames to generate after the primer.
    pub length: RollLength,
    /// At most this many notes per frame: only the most probable pitches may sound (`None`: any).
    pub max_notes: Option<usize>,
    /// A model trained with a positive-class weight `w` ([`FrameLstm::pos_weight`]) predicts odds
    /// `w` times too high for every note; with this set, sampling subtracts `ln w` from the logits
    /// and draws from calibrated probabilities. (Missing in JSON: true.)
    #[serde(default = "default_true")]
    pub undo_pos_weight: bool,
}

fn default_true() -> bool {
    true
}

impl Default for RollSampleConfig {
    fn default() -> Self {
        RollSampleConfig {
            temperature: 1.0,
            seed: 0,
            length: RollLength::Bars {
                bars: 8,
                numerator: 4,
                denominator: 4,
            },
            max_notes: None,
            undo_pos_weight: true,
        }
    }
}

/// The first `frames` frames of a MIDI file as a roll on `config`'s grid, for a primer.
///
/// # Errors
/// The file cannot be read as MIDI, or gives no frames.
pub fn primer_from_midi(
    path: impl AsRef<Path>,
    config: &PianoRollConfig,
    frames: usize,
) -> Result<PianoRoll> {
    let path = path.as_ref();
    let score = crate::midi::read_midi_file(path)?;
    let mut roll = PianoRoll::from_score(&score, config)
        .with_context(|| format!("cannot make a piano roll of {}", path.display()))?;
    ensure!(
        !roll.is_empty(),
        "{} has no notes to prime with",
        path.display()
    );
    roll.frames.truncate(frames);
    Ok(roll)
}

/// Generates a roll with `model` on the grid of `roll_config`: the primer's frames (if any) come
/// first and are kept in the result, followed by `config.length` sampled frames. Without a primer
/// the model starts from a silent frame.
///
/// # Errors
/// The model's pitch count differs from the roll's, or the primer uses another grid.
pub fn sample_roll(
    model: &FrameLstm,
    roll_config: PianoRollConfig,
    primer: Option<&PianoRoll>,
    config: &RollSampleConfig,
) -> Result<PianoRoll> {
    roll_config.validate()?;
    let pitches = roll_config.num_pitches;
    ensure!(
        model.config.num_pitches == pitches as i64,
        "the model predicts {} pitches but the roll has {pitches}",
        model.config.num_pitches
    );
    let device = model.device();
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let (mut logits, mut state): (Tensor, LstmState) = tch::no_grad(|| match primer {
        Some(p) if !p.is_empty() => {
            ensure!(
                p.config.num_pitches == pitches && p.config.low_pitch == roll_config.low_pitch,
                "the primer's keyboard differs from the roll's"
            );
            frames.extend(p.frames.iter().cloned());
            let (logits, state) = model.forward(&p.to_tensor(device).unsqueeze(0), None, false);
            Ok((logits.get(0).get(-1), state))
        }
        _ => {
            let silence = Tensor::zeros([1, pitches as i64], (Kind::Float, device));
            let (logits, state) = model.step(&silence, None);
            Ok((logits.get(0), state))
        }
    })?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let steps = config.length.frames(roll_config.steps_per_quarter);
    let offset = match model.pos_weight {
        Some(w) if config.undo_pos_weight && w > 0.0 => w.ln(),
        _ => 0.0,
    };
    let pitch_weights: Option<Vec<f32>> = match model.pitch_weights() {
        Some(w) => Some(
            Vec::<f32>::try_from(
                &w.to_device(tch::Device::Cpu)
                    .to_kind(Kind::Float)
                    .flatten(0, -1),
            )
            .context("cannot read the model's within-frame weights")?,
        ),
        None => None,
    };
    for i in 0..steps {
        let values: Vec<f32> =
            Vec::<f32>::try_from(&logits.to_device(tch::Device::Cpu).to_kind(Kind::Float))
                .context("cannot read the model's logits")?;
        let probability = |l: f64| {
            let l = l - offset;
            if config.temperature > 0.0 {
                1.0 / (1.0 + (-l / config.temperature).exp())
            } else if l > 0.0 {
                1.0
            } else {
                0.0
            }
        };
        let mut cells = vec![0f32; pitches];
        let mut frame = Vec::new();
        match &pitch_weights {
            // Pitch by pitch, low to high: each draw reads the pitches already drawn below it;
            // with `max_notes`, the frame is full once that many notes sound.
            Some(weights) => {
                for j in 0..pitches {
                    let row = &weights[j * pitches..j * pitches + j];
                    let within: f64 = row.iter().zip(&cells).map(|(w, c)| f64::from(w * c)).sum();
                    let p = probability(f64::from(values[j]) + within);
                    let draw: f64 = rng.random();
                    let full = config.max_notes.is_some_and(|k| frame.len() >= k);
                    if !full && draw < p {
                        cells[j] = 1.0;
                        frame.push(roll_config.low_pitch + j as u8);
                    }
                }
            }
            None => {
                let probs: Vec<f64> = values.iter().map(|&l| probability(f64::from(l))).collect();
                let allowed: Vec<bool> = match config.max_notes {
                    Some(k) if k < pitches => {
                        let mut order: Vec<usize> = (0..pitches).collect();
                        order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
                        let mut allowed = vec![false; pitches];
                        for &j in order.iter().take(k) {
                            allowed[j] = true;
                        }
                        allowed
                    }
                    _ => vec![true; pitches],
                };
                for j in 0..pitches {
                    // Draw for every pitch so the random stream does not depend on `max_notes`.
                    let draw: f64 = rng.random();
                    if allowed[j] && draw < probs[j] {
                        cells[j] = 1.0;
                        frame.push(roll_config.low_pitch + j as u8);
                    }
                }
            }
        }
        frames.push(frame);
        if i + 1 < steps {
            let input = Tensor::from_slice(&cells)
                .view([1, pitches as i64])
                .to_device(device);
            let (next_logits, next_state) = tch::no_grad(|| model.step(&input, Some(&state)));
            logits = next_logits.get(0);
            state = next_state;
        }
    }
    Ok(PianoRoll::from_frames(frames, roll_config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FrameLstmConfig;
    use tch::Device;

    fn small_roll_config() -> PianoRollConfig {
        PianoRollConfig {
            steps_per_quarter: 2,
            low_pitch: 60,
            num_pitches: 8,
            transpose_to_c: false,
        }
    }

    #[test]
    fn lengths_in_bars_follow_the_meter_and_grid() {
        let bars = |b, n, d| RollLength::Bars {
            bars: b,
            numerator: n,
            denominator: d,
        };
        assert_eq!(bars(2, 4, 4).frames(4), 32);
        assert_eq!(bars(3, 6, 8).frames(2), 18);
        assert_eq!(RollLength::Frames(7).frames(4), 7);
    }

    #[test]
    fn sampling_is_seeded_keeps_the_primer_and_respects_max_notes() -> Result<()> {
        tch::manual_seed(9);
        let model = FrameLstm::new(FrameLstmConfig::debug(8), Device::Cpu)?;
        let rc = small_roll_config();
        let primer = PianoRoll::from_frames(vec![vec![60, 64], vec![62]], rc);
        let config = RollSampleConfig {
            temperature: 3.0,
            seed: 4,
            length: RollLength::Frames(40),
            max_notes: None,
            undo_pos_weight: true,
        };
        let a = sample_roll(&model, rc, Some(&primer), &config)?;
        assert_eq!(a.len(), 42);
        assert_eq!(&a.frames[..2], &primer.frames[..]);
        assert_eq!(a, sample_roll(&model, rc, Some(&primer), &config)?);
        let other = sample_roll(
            &model,
            rc,
            Some(&primer),
            &RollSampleConfig {
                seed: 5,
                ..config.clone()
            },
        )?;
        assert_ne!(a, other, "another seed gives another roll");
        // At a high temperature an untrained model turns on about half the cells.
        assert!(a.density() > 0.2, "density {}", a.density());
        let capped = sample_roll(
            &model,
            rc,
            None,
            &RollSampleConfig {
                max_notes: Some(1),
                ..config
            },
        )?;
        assert_eq!(capped.len(), 40);
        assert!(capped.frames.iter().all(|f| f.len() <= 1));
        Ok(())
    }

    #[test]
    fn undoing_a_positive_weight_thins_the_notes() -> Result<()> {
        tch::manual_seed(3);
        let mut model = FrameLstm::new(FrameLstmConfig::debug(8), Device::Cpu)?;
        let rc = small_roll_config();
        let config = RollSampleConfig {
            temperature: 1.0,
            seed: 2,
            length: RollLength::Frames(200),
            ..RollSampleConfig::default()
        };
        let plain = sample_roll(&model, rc, None, &config)?.density();
        model.pos_weight = Some(50.0);
        let undone = sample_roll(&model, rc, None, &config)?.density();
        let kept = sample_roll(
            &model,
            rc,
            None,
            &RollSampleConfig {
                undo_pos_weight: false,
                ..config
            },
        )?;
        assert_eq!(
            kept.density(),
            plain,
            "without the correction the weight changes nothing here"
        );
        assert!(
            undone < plain / 4.0,
            "odds divided by 50: density {undone} vs {plain}"
        );
        Ok(())
    }

    #[test]
    fn autoregressive_sampling_reads_the_lower_pitches_of_the_frame() -> Result<()> {
        // Pitch 0 sounds by coin flip; pitch 2 sounds exactly when pitch 0 does (its own logit is
        // -10, +20 when pitch 0 is on); pitches 1 and 3 never sound.
        let config = FrameLstmConfig {
            pitch_autoregression: true,
            ..FrameLstmConfig::debug(4)
        };
        let model = FrameLstm::new(config, Device::Cpu)?;
        tch::no_grad(|| {
            for (name, t) in model.named_parameters() {
                match name.as_str() {
                    "head.weight" => {
                        let _ = t.shallow_clone().zero_();
                    }
                    "head.bias" => {
                        t.shallow_clone()
                            .copy_(&Tensor::from_slice(&[0f32, -10., -10., -10.]));
                    }
                    "pitch.weight" => {
                        let mut w = [0f32; 16];
                        w[2 * 4] = 20.0;
                        t.shallow_clone()
                            .copy_(&Tensor::from_slice(&w).view([4, 4]));
                    }
                    _ => {}
                }
            }
        });
        let roll_config = PianoRollConfig {
            num_pitches: 4,
            ..PianoRollConfig::default()
        };
        let sample = RollSampleConfig {
            length: RollLength::Frames(200),
            seed: 4,
            ..RollSampleConfig::default()
        };
        let roll = sample_roll(&model, roll_config, None, &sample)?;
        let low = roll_config.low_pitch;
        let with_root = roll.frames.iter().filter(|f| f.contains(&low)).count();
        assert!((60..140).contains(&with_root), "{with_root} of 200 frames");
        for frame in &roll.frames {
            let expected: Vec<u8> = if frame.contains(&low) {
                vec![low, low + 2]
            } else {
                Vec::new()
            };
            assert_eq!(frame, &expected);
        }
        let capped = RollSampleConfig {
            max_notes: Some(1),
            ..sample
        };
        let roll = sample_roll(&model, roll_config, None, &capped)?;
        assert!(roll.frames.iter().all(|f| f.len() <= 1));
        Ok(())
    }

    #[test]
    fn a_model_of_another_size_is_refused() -> Result<()> {
        let model = FrameLstm::new(FrameLstmConfig::debug(5), Device::Cpu)?;
        assert!(sample_roll(
            &model,
            small_roll_config(),
            None,
            &RollSampleConfig::default()
        )
        .is_err());
        Ok(())
    }

    #[test]
    fn greedy_sampling_with_temperature_zero_ignores_the_seed() -> Result<()> {
        tch::manual_seed(1);
        let model = FrameLstm::new(FrameLstmConfig::debug(8), Device::Cpu)?;
        let rc = small_roll_config();
        let run = |seed| {
            sample_roll(
                &model,
                rc,
                None,
                &RollSampleConfig {
                    temperature: 0.0,
                    seed,
                    length: RollLength::Frames(10),
                    max_notes: None,
                    undo_pos_weight: true,
                },
            )
        };
        assert_eq!(run(1)?, run(2)?);
        Ok(())
    }
}

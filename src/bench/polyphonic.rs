//! The polyphonic piano-roll benchmark: train a [`FrameLstm`] on a dataset's `train` pieces,
//! choose the epoch by the `valid` NLL, report the `test` NLL per frame in the published unit
//! ([`crate::metrics::frame_nll`]).
//!
//! Training takes batches of whole pieces padded to the longest (the padding is masked out of
//! the loss, so a batch is exactly the sum of its pieces), one Adam step per batch, gradient
//! clipping, a learning rate cut by a factor when the validation NLL has not improved for a
//! while, early stopping, and a time budget. The best weights by validation are restored before
//! the test set is read, once.

use super::bl2012::{piece_tensor, Piece, PolyDataset, NUM_PITCHES};
use crate::metrics::frame_nll::frame_nll_sum;
use crate::model::frame_lstm::next_frame_batch;
use crate::model::{FrameLstm, FrameLstmConfig};
use crate::train::{Adam, AdamConfig};
use anyhow::{ensure, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::time::Instant;
use tch::{Device, Kind, Tensor};

/// How to train for the benchmark. (Missing fields in JSON take their defaults.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolyBenchConfig {
    /// The model.
    pub model: FrameLstmConfig,
    /// Optimizer settings (the learning rate is the starting one).
    pub adam: AdamConfig,
    /// Pieces (or windows, see `window_frames`) per batch.
    pub batch_size: usize,
    /// Train on windows of this many predicted frames cut from the pieces (consecutive windows
    /// share one frame, so every transition is trained on once; each window starts from a zero
    /// state): more, shorter steps per epoch on long pieces. 0 trains on whole pieces.
    /// Validation and test always read whole pieces.
    pub window_frames: usize,
    /// Maximum global gradient norm (0 turns clipping off).
    pub clip_norm: f64,
    /// Most epochs to run.
    pub max_epochs: usize,
    /// Stop (after the epoch in progress is validated) once this many seconds have passed.
    pub max_seconds: Option<f64>,
    /// Epochs without a better validation NLL before the learning rate is cut (0: never cut).
    pub lr_patience: usize,
    /// What the learning rate is multiplied by at a cut.
    pub lr_factor: f64,
    /// Stop after this many cuts (the next plateau ends training); 0 with `lr_patience` 0 means
    /// training runs until `max_epochs` or the time budget.
    pub max_lr_cuts: usize,
    /// Epochs without a better validation NLL before training stops (0: never).
    pub stop_patience: usize,
    /// Seed for the initialisation, the batch order and dropout.
    pub seed: u64,
    /// Print a line per epoch.
    pub verbose: bool,
}

impl Default for PolyBenchConfig {
    fn default() -> Self {
        PolyBenchConfig {
            model: FrameLstmConfig::piano(200, 2, 0.0),
            adam: AdamConfig::default(),
            batch_size: 8,
            window_frames: 0,
            clip_norm: 5.0,
            max_epochs: 200,
            max_seconds: None,
            lr_patience: 0,
            lr_factor: 0.1,
            max_lr_cuts: 2,
            stop_patience: 30,
            seed: 1,
            verbose: true,
        }
    }
}

/// One epoch of a benchmark run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolyEpoch {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss per frame over the epoch (with dropout on).
    pub train_nll: f64,
    /// Validation NLL per frame after the epoch.
    pub valid_nll: f64,
    /// Learning rate used in the epoch.
    pub lr: f64,
    /// Seconds since training started, at the end of this epoch.
    pub elapsed: f64,
}

/// What a benchmark run reached, and what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolyBenchResult {
    /// Dataset name.
    pub dataset: String,
    /// Test NLL per predicted frame (nats) of the weights with the best validation NLL.
    pub test_nll: f64,
    /// The best validation NLL per frame.
    pub best_valid_nll: f64,
    /// The epoch that gave it (1-based).
    pub best_epoch: usize,
    /// Epochs trained.
    pub epochs: usize,
    /// Seconds of training and validation (the test pass not included).
    pub seconds: f64,
    /// Model parameters.
    pub parameters: i64,
    /// The model's description.
    pub model: String,
    /// Every epoch.
    pub history: Vec<PolyEpoch>,
}

/// A split's pieces as `[frames, 88]` tensors.
pub fn split_tensors(pieces: &[Piece], device: Device) -> Vec<Tensor> {
    pieces.iter().map(|p| piece_tensor(p, device)).collect()
}

/// Cuts pieces into windows of `window + 1` frames (the last may be shorter; consecutive windows
/// share a frame), or returns them whole when `window` is 0.
pub fn windows(pieces: &[Tensor], window: usize) -> Vec<Tensor> {
    if window == 0 {
        return pieces.iter().map(Tensor::shallow_clone).collect();
    }
    let w = window as i64;
    let mut out = Vec::new();
    for piece in pieces {
        let len = piece.size()[0];
        let mut start = 0;
        while start + 1 < len {
            out.push(piece.narrow(0, start, (w + 1).min(len - start)));
            start += w;
        }
    }
    out
}

/// NLL per predicted frame of `model` on `pieces` (evaluation mode), in the published unit.
pub fn evaluate_nll(model: &FrameLstm, pieces: &[Tensor]) -> f64 {
    let mut order: Vec<usize> = (0..pieces.len()).collect();
    order.sort_by_key(|&i| pieces[i].size()[0]);
    let (mut sum, mut count) = (0.0, 0.0);
    tch::no_grad(|| {
        for chunk in order.chunks(32) {
            let batch: Vec<&Tensor> = chunk.iter().map(|&i| &pieces[i]).collect();
            if let Some((x, y)) = next_frame_batch(&batch) {
                let (logits, _) = model.forward(&x, None, false);
                let logits = model.conditional_logits(&logits, &y.clamp_min(0.0));
                let mask = crate::metrics::frame_nll::padding_mask(&y);
                let (s, c) = frame_nll_sum(&logits, &y, Some(&mask));
                sum += s;
                count += c;
            }
        }
    });
    if count > 0.0 {
        sum / count
    } else {
        f64::NAN
    }
}

/// The batches of one epoch: pieces shuffled by `(seed, epoch)`, grouped with pieces of similar
/// length (so little is padded), the groups in shuffled order.
fn epoch_batches(pieces: &[Tensor], batch_size: usize, seed: u64, epoch: usize) -> Vec<Vec<usize>> {
    let mut rng =
        ChaCha8Rng::seed_from_u64(seed ^ (epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut order: Vec<usize> = (0..pieces.len()).collect();
    order.shuffle(&mut rng);
    let mut batches = Vec::new();
    for pool in order.chunks(batch_size.max(1) * 16) {
        let mut pool = pool.to_vec();
        pool.sort_by_key(|&i| pieces[i].size()[0]);
        batches.extend(pool.chunks(batch_size.max(1)).map(<[usize]>::to_vec));
    }
    batches.shuffle(&mut rng);
    batches
}

/// Trains a fresh model on `data.train`, keeps the weights with the best `data.valid` NLL, and
/// reports the `data.test` NLL of those weights.
pub fn run_benchmark(
    data: &PolyDataset,
    config: &PolyBenchConfig,
    device: Device,
) -> Result<PolyBenchResult> {
    ensure!(
        config.model.num_pitches == NUM_PITCHES as i64,
        "the benchmark needs a model of {NUM_PITCHES} pitches"
    );
    ensure!(config.batch_size > 0, "batch_size must be positive");
    tch::manual_seed(config.seed as i64);
    let model = FrameLstm::new(config.model.clone(), device)?;
    let train = windows(&split_tensors(&data.train, device), config.window_frames);
    let valid = split_tensors(&data.valid, device);
    let mut optimizer = Adam::new(model.named_parameters(), config.adam);
    let mut best: Option<(f64, usize, Vec<Tensor>)> = None;
    let mut history = Vec::new();
    let (mut since_best, mut since_cut, mut cuts) = (0usize, 0usize, 0usize);
    let started = Instant::now();
    let out_of_time = || {
        config
            .max_seconds
            .is_some_and(|s| started.elapsed().as_secs_f64() >= s)
    };
    let mut step = 0u64;
    for epoch in 1..=config.max_epochs {
        let (mut loss_sum, mut frames) = (0.0, 0.0);
        for batch in epoch_batches(&train, config.batch_size, config.seed, epoch) {
            let pieces: Vec<&Tensor> = batch.iter().map(|&i| &train[i]).collect();
            let Some((x, y)) = next_frame_batch(&pieces) else {
                continue;
            };
            tch::manual_seed(config.seed.wrapping_mul(1_000_003).wrapping_add(step) as i64);
            step += 1;
            let mask = crate::metrics::frame_nll::padding_mask(&y);
            let loss = model.loss(&x, &y.clamp_min(0.0), Some(&mask), None, true);
            optimizer.zero_grad();
            loss.backward();
            if config.clip_norm > 0.0 {
                optimizer.clip_grad_norm(config.clip_norm);
            }
            optimizer.step();
            let n = mask.sum(Kind::Float).double_value(&[]);
            let value = loss.double_value(&[]);
            ensure!(
                value.is_finite(),
                "the training loss became {value} at epoch {epoch}"
            );
            loss_sum += value * n;
            frames += n;
            if out_of_time() {
                break;
            }
        }
        let valid_nll = evaluate_nll(&model, &valid);
        let record = PolyEpoch {
            epoch,
            train_nll: loss_sum / frames.max(1.0),
            valid_nll,
            lr: optimizer.config.lr,
            elapsed: started.elapsed().as_secs_f64(),
        };
        let improved = best.as_ref().is_none_or(|(b, _, _)| valid_nll < *b);
        if config.verbose {
            println!(
                "{} epoch {:>3}  train {:.4}  valid {:.4}{}  lr {:.1e}  {:.0} s",
                data.name,
                epoch,
                record.train_nll,
                valid_nll,
                if improved { " *" } else { "  " },
                record.lr,
                record.elapsed
            );
        }
        history.push(record);
        if improved {
            let weights = tch::no_grad(|| {
                model
                    .named_parameters()
                    .iter()
                    .map(|(_, t)| t.copy())
                    .collect()
            });
            best = Some((valid_nll, epoch, weights));
            since_best = 0;
            since_cut = 0;
        } else {
            since_best += 1;
            since_cut += 1;
        }
        if out_of_time() || (config.stop_patience > 0 && since_best >= config.stop_patience) {
            break;
        }
        if config.lr_patience > 0 && since_cut >= config.lr_patience {
            if cuts >= config.max_lr_cuts {
                break;
            }
            cuts += 1;
            since_cut = 0;
            optimizer.config.lr *= config.lr_factor;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let (best_valid_nll, best_epoch, weights) =
        best.ok_or_else(|| anyhow::anyhow!("no epoch was trained (max_epochs is 0?)"))?;
    tch::no_grad(|| {
        for ((_, p), w) in model.named_parameters().iter().zip(&weights) {
            p.shallow_clone().copy_(w);
        }
    });
    let test = split_tensors(&data.test, device);
    let test_nll = evaluate_nll(&model, &test);
    Ok(PolyBenchResult {
        dataset: data.name.clone(),
        test_nll,
        best_valid_nll,
        best_epoch,
        epochs: history.len(),
        seconds,
        parameters: model.parameter_count(),
        model: model.to_string(),
        history,
    })
}

/// Reference floors on a split, in the same unit: (independent Bernoulli per pitch, per-pitch
/// first-order Markov), both estimated on `train` with add-one smoothing and scored on the
/// predicted frames of `pieces`.
pub fn baseline_nlls(train: &[Piece], pieces: &[Piece]) -> (f64, f64) {
    let p = NUM_PITCHES;
    let mut on = vec![1.0f64; p];
    let mut total = 2.0f64;
    // transitions[prev][pitch]: (count on, count) after the pitch was prev (0 off, 1 on)
    let mut trans = vec![[[1.0f64, 2.0]; 2]; p];
    let cells = |frame: &Vec<u8>| {
        let mut v = vec![false; p];
        for &x in frame {
            v[usize::from(x - super::bl2012::LOW_PITCH)] = true;
        }
        v
    };
    for piece in train {
        let rows: Vec<Vec<bool>> = piece.iter().map(cells).collect();
        for t in 1..rows.len() {
            total += 1.0;
            for j in 0..p {
                let now = rows[t][j];
                on[j] += f64::from(u8::from(now));
                let prev = usize::from(rows[t - 1][j]);
                trans[j][prev][0] += f64::from(u8::from(now));
                trans[j][prev][1] += 1.0;
            }
        }
    }
    let bce = |prob: f64, now: bool| -(if now { prob } else { 1.0 - prob }).ln();
    let (mut bern, mut markov, mut frames) = (0.0, 0.0, 0.0);
    for piece in pieces {
        let rows: Vec<Vec<bool>> = piece.iter().map(cells).collect();
        for t in 1..rows.len() {
            frames += 1.0;
            for j in 0..p {
                let now = rows[t][j];
                bern += bce(on[j] / total, now);
                let [k, n] = trans[j][usize::from(rows[t - 1][j])];
                markov += bce(k / n, now);
            }
        }
    }
    (bern / frames, markov / frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> PolyDataset {
        // A C-major arpeggio that repeats, with a held bass: learnable in a few epochs.
        let piece = |len: usize, shift: usize| -> Piece {
            (0..len)
                .map(|t| vec![48, [60, 64, 67, 72][(t + shift) % 4]])
                .collect()
        };
        PolyDataset {
            name: "toy".into(),
            train: (0..8).map(|i| piece(12 + i, i)).collect(),
            valid: (0..3).map(|i| piece(10 + i, i)).collect(),
            test: (0..3).map(|i| piece(9 + i, i + 1)).collect(),
        }
    }

    #[test]
    fn a_small_model_learns_the_toy_set_and_the_best_epoch_is_kept() -> Result<()> {
        let data = toy();
        let config = PolyBenchConfig {
            model: FrameLstmConfig::piano(24, 1, 0.0),
            adam: AdamConfig {
                lr: 2e-2,
                ..AdamConfig::default()
            },
            batch_size: 4,
            max_epochs: 40,
            verbose: false,
            ..PolyBenchConfig::default()
        };
        let result = run_benchmark(&data, &config, Device::Cpu)?;
        let (bern, markov) = baseline_nlls(&data.train, &data.test);
        assert!(
            result.test_nll < markov.min(bern),
            "test {} vs floors {bern} / {markov}",
            result.test_nll
        );
        let best = result
            .history
            .iter()
            .map(|e| e.valid_nll)
            .fold(f64::INFINITY, f64::min);
        assert_eq!(best, result.best_valid_nll);
        assert_eq!(result.history[result.best_epoch - 1].valid_nll, best);
        Ok(())
    }

    #[test]
    fn windows_keep_every_transition_once() {
        let piece = Tensor::arange(7, (Kind::Float, Device::Cpu)).view([7, 1]);
        let cut = windows(&[piece], 3);
        let rows: Vec<Vec<f32>> = cut
            .iter()
            .map(|t| Vec::<f32>::try_from(&t.view([-1])).expect("floats"))
            .collect();
        assert_eq!(rows, vec![vec![0., 1., 2., 3.], vec![3., 4., 5., 6.]]);
        let transitions: i64 = cut.iter().map(|t| t.size()[0] - 1).sum();
        assert_eq!(transitions, 6);
        assert_eq!(
            windows(&[Tensor::zeros([5, 1], (Kind::Float, Device::Cpu))], 2).len(),
            2
        );
    }

    #[test]
    fn batches_cover_every_piece_once_and_depend_on_the_seed() {
        let pieces: Vec<Tensor> = (1..20)
            .map(|n| Tensor::zeros([n, 88], (Kind::Float, Device::Cpu)))
            .collect();
        let a = epoch_batches(&pieces, 4, 7, 1);
        let mut seen: Vec<usize> = a.iter().flatten().copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..19).collect::<Vec<_>>());
        assert!(a.iter().all(|b| b.len() <= 4));
        assert_eq!(a, epoch_batches(&pieces, 4, 7, 1));
        assert_ne!(a, epoch_batches(&pieces, 4, 7, 2));
    }
}

//! The polyphonic piano-roll benchmark: train a piano-roll model (a [`crate::model::FrameLstm`], or the
//! pitch-invariant [`crate::model::PitchLstm`]) on a dataset's `train` pieces with the common
//! [`Trainer`], choose the epoch by the `valid` NLL, report the `test` NLL per frame in the
//! published unit ([`crate::metrics::frame_nll`]).
//!
//! Training takes batches of whole pieces (or windows of them) padded to the longest, the padding
//! masked out of the loss ([`RollBatches`]); the trainer's policies cut the learning rate on a
//! plateau, stop early and keep the best weights, which are restored before the test set is read,
//! once.

use super::bl2012::{piece_tensor, Piece, PolyDataset, NUM_PITCHES};
use crate::checkpoint::{CheckpointConfig, Checkpointer};
use crate::data::RollBatches;
use crate::encode::PianoRollConfig;
use crate::metrics::frame_nll::{every_frame_nll, first_frames_nll, roll_nll};
use crate::model::{build, frame_lstm, pitch_lstm, FrameLstmConfig, PitchLstmConfig, Sizes};
use crate::train::clock::process_cpu_seconds;
use crate::train::{AdamConfig, LrDecay, LrOnPlateau, TrainConfig, Trainer};
use anyhow::{ensure, Context, Result};
use serde::{Deserialize, Serialize};
use std::time::Instant;
use tch::{Device, Tensor};

/// How to train for the benchmark. (Missing fields in JSON take their defaults.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolyBenchConfig {
    /// The frame model (trained unless `pitch_model` is set).
    pub model: FrameLstmConfig,
    /// The pitch-invariant model to train instead of `model`, when set.
    pub pitch_model: Option<PitchLstmConfig>,
    /// For the pitch model: run its LSTMs over the keys that sound in the `train` split, widened
    /// by this many keys each side ([`PitchLstmConfig::key_range`]; the other keys get a learned
    /// probability each). `None` runs them over all 88 keys (or the config's own range).
    pub key_margin: Option<usize>,
    /// Score the `test` split at the end (off while settings are chosen on `valid`).
    pub score_test: bool,
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
    /// Count `max_seconds` in CPU seconds of the process (validation included) rather than on
    /// the wall clock, so that other processes' load does not move the stopping point.
    pub cpu_budget: bool,
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
    /// Read every piece after one silent frame, in training and evaluation, so the model learns
    /// and is scored on each piece's first frame too ([`RollBatches::with_lead_in`]). The test
    /// NLL is then reported both ways from the same model.
    #[serde(default)]
    pub lead_in: bool,
    /// A learning rate that falls along a half cosine over the budget (`None`: constant, or cut
    /// on plateaus by `lr_patience`). Needs a budget (`max_seconds`).
    #[serde(default)]
    pub lr_decay: Option<LrDecay>,
    /// Move each training window by up to this many semitones each way, drawn anew every epoch
    /// ([`RollBatches::with_transposition`]); 0 trains on the pieces as written.
    #[serde(default)]
    pub transpose: u8,
}

impl Default for PolyBenchConfig {
    fn default() -> Self {
        PolyBenchConfig {
            model: FrameLstmConfig::piano(200, 2, 0.0),
            pitch_model: None,
            key_margin: None,
            score_test: true,
            adam: AdamConfig::default(),
            batch_size: 8,
            window_frames: 0,
            clip_norm: 5.0,
            max_epochs: 200,
            max_seconds: None,
            cpu_budget: true,
            lr_patience: 0,
            lr_factor: 0.1,
            max_lr_cuts: 2,
            stop_patience: 30,
            seed: 1,
            verbose: true,
            lead_in: false,
            lr_decay: None,
            transpose: 0,
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

/// The serde default of a figure a result written before it existed does not have.
fn not_scored() -> f64 {
    f64::NAN
}

/// What a benchmark run reached, and what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolyBenchResult {
    /// Dataset name.
    pub dataset: String,
    /// The architecture trained (`frame_lstm`, `pitch_lstm`).
    #[serde(default)]
    pub architecture: String,
    /// The seed of the run.
    #[serde(default)]
    pub seed: u64,
    /// Test NLL per predicted frame (nats) of the weights with the best validation NLL (`NaN`
    /// when the test split was not scored).
    pub test_nll: f64,
    /// The same test NLL with every frame of every piece scored, each piece's first frame as the
    /// model draws a piece's first frame from no primer (Boulanger-Lewandowski et al. 2012's
    /// convention; [`crate::metrics::first_frames_nll`]). `NaN` when the test split was not scored
    /// or the model does not step frames.
    #[serde(default = "not_scored")]
    pub test_nll_every_frame: f64,
    /// The best validation NLL per frame.
    pub best_valid_nll: f64,
    /// The epoch that gave it (1-based).
    pub best_epoch: usize,
    /// Epochs trained.
    pub epochs: usize,
    /// Seconds of training and validation (the test pass not included), on the wall clock.
    pub seconds: f64,
    /// CPU seconds of the process over the same span (all its threads; what a CPU budget counts).
    #[serde(default)]
    pub cpu_seconds: f64,
    /// Model parameters.
    pub parameters: i64,
    /// The model's description.
    pub model: String,
    /// The model's config as trained (the key range filled in).
    #[serde(default)]
    pub model_config: serde_json::Value,
    /// Every epoch.
    pub history: Vec<PolyEpoch>,
}

/// A split's pieces as batches on the benchmark's keyboard (windows of `window_frames` predicted
/// frames for training, 0 for whole pieces).
pub fn split_batches(
    pieces: &[Piece],
    window_frames: usize,
    batch_size: usize,
) -> Result<RollBatches> {
    RollBatches::from_frames(
        pieces.to_vec(),
        super::bl2012::LOW_PITCH,
        NUM_PITCHES,
        window_frames,
        batch_size,
    )
}

/// [`split_batches`] for a run: each piece read after a silent frame when the run asks for it.
fn run_batches(
    config: &PolyBenchConfig,
    pieces: &[Piece],
    window_frames: usize,
    batch_size: usize,
) -> Result<RollBatches> {
    split_batches(pieces, window_frames, batch_size)?.lead_in_if(config.lead_in)
}

impl PolyBenchConfig {
    /// The pitch-invariant model's settings for a data set (`--preset balstm` of
    /// `examples/bench_polyphonic.rs`), chosen by validation NLL alone (`--valid-only` runs,
    /// docs/benchmarks.md): on JSB (a `dataset` name starting with `jsb`) a 1×96 time axis and a
    /// 1×48 pitch axis, dropout 0.3, 8 windows of 64 frames per step, at lr 3e-3; on Nottingham
    /// (and any other set, whose epochs are longer) the same sizes with dropout 0.35 and 2
    /// windows of 128 frames per step, at lr 6e-3 falling along a half cosine from 30% of the
    /// budget to 5% of itself (the decay needs a budget). On Nottingham, three seeds of 20 CPU
    /// minutes with the trainer keeping freed memory: validation median 1.637 with 4 windows of
    /// 64, against 1.677 for the earlier 1×64 / 1×32 at dropout 0.2 in the same conditions; with
    /// its training windows moved by up to 3 semitones each way
    /// ([`RollBatches::with_transposition`], Nottingham only), 1.632, and by up to 5, 1.623 (each
    /// seed better than with the smaller move); with 2 windows of 128 instead of 4 of 64 (the same
    /// frames a step), 1.574, each seed 0.044 to 0.053 better (the pieces are scored whole, and
    /// longer training windows are closer to that). Both over the keys that sound in `train` ±2. The
    /// budget, epochs, patience and seed are `base`'s.
    pub fn balstm(dataset: &str, base: &PolyBenchConfig) -> PolyBenchConfig {
        let jsb = dataset.to_lowercase().starts_with("jsb");
        let (time, pitch, dropout, batch, window) = if jsb {
            (96, 48, 0.3, 8, 64)
        } else {
            (96, 48, 0.35, 2, 128)
        };
        let transpose = if jsb { 0 } else { 5 };
        let (lr, lr_decay) = if jsb {
            (3e-3, None)
        } else {
            (
                6e-3,
                Some(LrDecay {
                    start: 0.3,
                    floor: 0.05,
                }),
            )
        };
        PolyBenchConfig {
            pitch_model: Some(PitchLstmConfig::piano(time, 1, pitch, 1, dropout)),
            key_margin: Some(2),
            batch_size: batch,
            window_frames: window,
            adam: AdamConfig {
                lr,
                ..AdamConfig::default()
            },
            lr_decay,
            transpose,
            ..base.clone()
        }
    }

    /// The architecture and config of the model this run trains.
    pub fn model_spec(&self) -> Result<(&'static str, serde_json::Value)> {
        Ok(match &self.pitch_model {
            Some(pitch) => (pitch_lstm::ARCHITECTURE, serde_json::to_value(pitch)?),
            None => (frame_lstm::ARCHITECTURE, serde_json::to_value(&self.model)?),
        })
    }

    /// The trainer's settings for this benchmark run.
    pub fn train_config(&self) -> TrainConfig {
        TrainConfig {
            epochs: self.max_epochs,
            adam: self.adam,
            clip_norm: self.clip_norm,
            seed: self.seed,
            max_seconds: self.max_seconds,
            cpu_budget: self.cpu_budget,
            valid_limit: usize::MAX,
            lr_decay: self.lr_decay,
            lr_plateau: (self.lr_patience > 0).then_some(LrOnPlateau {
                patience: self.lr_patience,
                factor: self.lr_factor,
                max_cuts: self.max_lr_cuts,
            }),
            early_stopping: (self.stop_patience > 0).then_some(self.stop_patience),
            keep_best: true,
            verbose: self.verbose,
        }
    }
}

/// Trains a fresh model on `data.train`, keeps the weights with the best `data.valid` NLL, and
/// reports the `data.test` NLL of those weights.
pub fn run_benchmark(
    data: &PolyDataset,
    config: &PolyBenchConfig,
    device: Device,
) -> Result<PolyBenchResult> {
    run_benchmark_checkpointed(data, config, device, None)
}

/// [`run_benchmark`], checkpointing the run when `checkpoint` is given: its folder gets the
/// trainer's checkpoints (each epoch and the best weights, as [`Checkpointer`] keeps them, a
/// folder that holds some resumes from the newest) with the rolls' grid as their encoding, so the
/// trained model can be exported and opened for generation
/// ([`crate::checkpoint::Checkpoint::export_for_generation`], [`crate::generate::open_for_generation`]).
pub fn run_benchmark_checkpointed(
    data: &PolyDataset,
    config: &PolyBenchConfig,
    device: Device,
    checkpoint: Option<(CheckpointConfig, PianoRollConfig)>,
) -> Result<PolyBenchResult> {
    ensure!(config.batch_size > 0, "batch_size must be positive");
    let train = run_batches(config, &data.train, config.window_frames, config.batch_size)
        .map(|batches| batches.with_transposition(config.transpose))
        .with_context(|| format!("{} train split", data.name))?;
    let mut config = config.clone();
    if let (Some(pitch), Some(margin)) = (&mut config.pitch_model, config.key_margin) {
        pitch.key_range = train.key_range(margin);
    }
    let config = &config;
    let (architecture, model_config) = config.model_spec()?;
    let model = crate::train::seeded(config.seed, || build(architecture, &model_config, device))?;
    ensure!(
        model.sizes()
            == (Sizes::Frames {
                pitches: NUM_PITCHES
            }),
        "the benchmark needs a piano-roll model of {NUM_PITCHES} pitches, not one of {}",
        model.sizes()
    );
    let valid = run_batches(config, &data.valid, 0, 32)
        .with_context(|| format!("{} valid split", data.name))?;
    let mut trainer = Trainer::from_boxed(model, config.train_config());
    if let Some((checkpoint, grid)) = checkpoint {
        trainer.add_callback(Checkpointer::new(checkpoint, grid));
    }
    let started = Instant::now();
    let cpu_started = process_cpu_seconds().unwrap_or(f64::NAN);
    trainer.fit(&train, &valid)?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = process_cpu_seconds().unwrap_or(f64::NAN) - cpu_started;
    // A final stop has put the best weights back already; a pause (an interrupt) has not.
    if !trainer.last_stop.is_some_and(|r| r.is_final()) {
        trainer.restore_best()?;
    }
    let best = trainer
        .best
        .as_ref()
        .context("no epoch was validated (max_epochs is 0?)")?;
    let (best_valid_nll, best_epoch) = (best.valid_loss, best.epoch);
    let model = trainer.model();
    let (test_nll, test_nll_every_frame) = if config.score_test {
        let test = run_batches(config, &data.test, 0, 32)
            .with_context(|| format!("{} test split", data.name))?;
        let nll = roll_nll(model, &test);
        let pieces: Vec<Tensor> = data
            .test
            .iter()
            .map(|piece| piece_tensor(piece, model.device()))
            .collect();
        let first = first_frames_nll(model, &pieces)?;
        let after_first: usize = data.test.iter().map(|p| p.len().saturating_sub(1)).sum();
        if config.lead_in {
            // The batches scored every frame; take the first frames out for the other figure.
            let every: usize = data.test.iter().map(Vec::len).sum();
            let skipped = first.map_or(f64::NAN, |(sum, _)| {
                (nll * every as f64 - sum) / after_first as f64
            });
            (skipped, nll)
        } else {
            let every_frame =
                first.map_or(f64::NAN, |f| every_frame_nll(nll, after_first as f64, f));
            (nll, every_frame)
        }
    } else {
        (f64::NAN, f64::NAN)
    };
    let mut elapsed = 0.0;
    let history = trainer
        .history
        .records
        .iter()
        .map(|r| {
            elapsed += r.seconds;
            PolyEpoch {
                epoch: r.epoch,
                train_nll: r.train_loss,
                valid_nll: r.valid_loss,
                lr: r.lr,
                elapsed,
            }
        })
        .collect::<Vec<_>>();
    Ok(PolyBenchResult {
        dataset: data.name.clone(),
        architecture: architecture.to_string(),
        seed: config.seed,
        test_nll,
        test_nll_every_frame,
        best_valid_nll,
        best_epoch,
        epochs: history.len(),
        seconds,
        cpu_seconds,
        parameters: model.parameter_count(),
        model: model.summary(),
        model_config: model.config_json(),
        history,
    })
}

/// Calls `step(before, now)` with the cells (on or off, one a pitch) of every predicted frame of
/// `pieces`, every frame but each piece's first, and of the frame before it.
fn for_each_predicted_frame(pieces: &[Piece], mut step: impl FnMut(&[bool], &[bool])) {
    let cells = |frame: &Vec<u8>| {
        let mut v = vec![false; NUM_PITCHES];
        for &x in frame {
            v[usize::from(x - super::bl2012::LOW_PITCH)] = true;
        }
        v
    };
    for piece in pieces {
        let rows: Vec<Vec<bool>> = piece.iter().map(cells).collect();
        for pair in rows.windows(2) {
            step(&pair[0], &pair[1]);
        }
    }
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
    for_each_predicted_frame(train, |before, now| {
        total += 1.0;
        for j in 0..p {
            on[j] += f64::from(u8::from(now[j]));
            let prev = usize::from(before[j]);
            trans[j][prev][0] += f64::from(u8::from(now[j]));
            trans[j][prev][1] += 1.0;
        }
    });
    let bce = |prob: f64, now: bool| -(if now { prob } else { 1.0 - prob }).ln();
    let (mut bern, mut markov, mut frames) = (0.0, 0.0, 0.0);
    for_each_predicted_frame(pieces, |before, now| {
        frames += 1.0;
        for j in 0..p {
            bern += bce(on[j] / total, now[j]);
            let [k, n] = trans[j][usize::from(before[j])];
            markov += bce(k / n, now[j]);
        }
    });
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

    /// The toy runs' settings: Adam at 2e-2, batches of 4, at most `max_epochs` epochs, quiet.
    fn toy_config(max_epochs: usize) -> PolyBenchConfig {
        PolyBenchConfig {
            adam: AdamConfig {
                lr: 2e-2,
                ..AdamConfig::default()
            },
            batch_size: 4,
            max_epochs,
            verbose: false,
            ..PolyBenchConfig::default()
        }
    }

    #[test]
    fn a_decaying_rate_falls_over_the_budget() -> Result<()> {
        let config = PolyBenchConfig {
            model: FrameLstmConfig::piano(8, 1, 0.0),
            stop_patience: 0,
            max_seconds: Some(1.5),
            lr_decay: Some(LrDecay {
                start: 0.0,
                floor: 0.05,
            }),
            ..toy_config(100_000)
        };
        assert_eq!(config.train_config().lr_decay, config.lr_decay);
        let result = run_benchmark(&toy(), &config, Device::Cpu)?;
        let first = result.history.first().map(|e| e.lr).unwrap_or(0.0);
        let last = result.history.last().map(|e| e.lr).unwrap_or(0.0);
        assert!(result.history.len() > 3, "{} epochs", result.history.len());
        // Each epoch records the rate of its last step, which depends on how long the epochs
        // took (a loaded machine makes the first one slow): what holds whatever the timing is
        // that the rate never rises, never leaves [floor, peak], and ends lower than it began.
        let rates: Vec<f64> = result.history.iter().map(|e| e.lr).collect();
        assert!(
            rates.windows(2).all(|w| w[1] <= w[0] + 1e-15),
            "rates by epoch: {rates:?}"
        );
        assert!(
            rates
                .iter()
                .all(|&r| (0.05 * 2e-2 - 1e-12..=2e-2 + 1e-12).contains(&r)),
            "rates by epoch: {rates:?}"
        );
        assert!(first > last, "the rate did not fall: {rates:?}");
        assert!(
            (0.05 * 2e-2 - 1e-12..0.5e-2).contains(&last),
            "the last epoch's rate {last}"
        );
        Ok(())
    }

    #[test]
    fn a_small_model_learns_the_toy_set_and_the_best_epoch_is_kept() -> Result<()> {
        let data = toy();
        let config = PolyBenchConfig {
            model: FrameLstmConfig::piano(24, 1, 0.0),
            ..toy_config(40)
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
        assert_eq!(result.architecture, "frame_lstm");
        Ok(())
    }

    #[test]
    fn the_pitch_model_runs_on_the_same_benchmark() -> Result<()> {
        let data = toy();
        let config = PolyBenchConfig {
            pitch_model: Some(PitchLstmConfig {
                window: 12,
                ..PitchLstmConfig::piano(12, 1, 8, 1, 0.0)
            }),
            key_margin: Some(2),
            ..toy_config(40)
        };
        let result = run_benchmark(&data, &config, Device::Cpu)?;
        let (bern, markov) = baseline_nlls(&data.train, &data.test);
        assert_eq!(result.architecture, "pitch_lstm");
        // Pitches 48..=72 are keys 27..=51.
        assert_eq!(
            result.model_config["key_range"],
            serde_json::json!([25, 53])
        );
        assert!(result.model.starts_with("PitchLstm"), "{}", result.model);
        assert!(
            result.test_nll < markov.min(bern),
            "test {} vs floors {bern} / {markov}",
            result.test_nll
        );
        let unscored = run_benchmark(
            &data,
            &PolyBenchConfig {
                score_test: false,
                max_epochs: 1,
                ..config
            },
            Device::Cpu,
        )?;
        assert!(unscored.test_nll.is_nan() && unscored.best_valid_nll.is_finite());
        Ok(())
    }

    #[test]
    fn a_lead_in_run_scores_both_conventions_from_one_model() -> Result<()> {
        use crate::checkpoint::{resolve_checkpoint, Checkpoint};
        use crate::metrics::first_frames_nll;
        let data = toy();
        let dir = tempfile::tempdir()?;
        let config = PolyBenchConfig {
            pitch_model: Some(PitchLstmConfig::piano(12, 1, 8, 1, 0.0)),
            key_margin: Some(2),
            lead_in: true,
            ..toy_config(3)
        };
        let grid = PianoRollConfig {
            steps_per_quarter: 1,
            low_pitch: super::super::bl2012::LOW_PITCH,
            num_pitches: NUM_PITCHES,
            transpose_to_c: false,
        };
        let checkpoint = CheckpointConfig {
            verbose: false,
            ..CheckpointConfig::new(dir.path(), "run")
        };
        let result =
            run_benchmark_checkpointed(&data, &config, Device::Cpu, Some((checkpoint, grid)))?;
        let newest = resolve_checkpoint(&dir.path().join("run"))?;
        let exported = Checkpoint::load(&newest)?.export_for_generation(dir.path(), "best")?;
        let model = crate::generate::open_for_generation(&exported, Device::Cpu)?.model;
        // Every frame: the test pieces read after a silent frame, as in training.
        let every = roll_nll(
            model.as_ref(),
            &split_batches(&data.test, 0, 32)?.with_lead_in()?,
        );
        assert!(
            (result.test_nll_every_frame - every).abs() < 1e-6,
            "{result:?} vs {every}"
        );
        // First frames skipped: the same sum without each piece's first frame.
        let pieces: Vec<Tensor> = data
            .test
            .iter()
            .map(|piece| piece_tensor(piece, Device::Cpu))
            .collect();
        let (first, _) = first_frames_nll(model.as_ref(), &pieces)?.context("a frame model")?;
        let frames: usize = data.test.iter().map(Vec::len).sum();
        let skipped = (every * frames as f64 - first) / (frames - data.test.len()) as f64;
        assert!(
            (result.test_nll - skipped).abs() < 1e-6,
            "{} vs {skipped}",
            result.test_nll
        );
        assert!(result.best_valid_nll.is_finite());
        Ok(())
    }
}

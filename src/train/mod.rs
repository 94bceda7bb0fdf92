//! The training loop: many-to-many next-token prediction with Adam, gradient clipping, a
//! validation pass per epoch, a time budget, a loss history, and callbacks (checkpoints, samples,
//! interrupts). Its state (epoch, step, batch within the epoch, running loss) is enough to
//! continue exactly where it stopped.

pub mod adam;
pub mod callback;
pub mod fit;
pub mod history;
pub mod interrupt;
pub mod plot_every;

pub use adam::{Adam, AdamConfig};
pub use callback::{Callback, Control, DataInfo, StopAtStep, StopReason};
pub use fit::{argmax_accuracy, evaluate_batches, fit, Evaluation, FitOptions, Trainable};
pub use history::{EpochRecord, History};
pub use plot_every::PlotEvery;

use crate::data::SequenceBatches;
use crate::model::LstmLm;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::time::Instant;
use tch::Kind;

/// How to train. (Missing fields in JSON take their defaults.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// Epochs to run (a full pass over the training windows each).
    pub epochs: usize,
    /// Sequences per batch.
    pub batch_size: usize,
    /// Tokens per sequence.
    pub seq_len: usize,
    /// Optimizer settings.
    pub adam: AdamConfig,
    /// Maximum global gradient norm (0 turns clipping off).
    pub clip_norm: f64,
    /// Seed for data order and dropout.
    pub seed: u64,
    /// Stop (after validating) once this many seconds of training have passed.
    pub max_seconds: Option<f64>,
    /// Validation uses at most this many tokens.
    pub valid_tokens: usize,
    /// Print a progress line per epoch.
    pub verbose: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 32,
            seq_len: 128,
            adam: AdamConfig {
                lr: 2e-3,
                ..AdamConfig::default()
            },
            clip_norm: 1.0,
            seed: 0,
            max_seconds: None,
            valid_tokens: 100_000,
            verbose: true,
        }
    }
}

/// Where training stands inside the current epoch: enough to continue it exactly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochProgress {
    /// Batches of the current epoch already trained (the next batch's index in the epoch plan).
    pub batch: usize,
    /// Sum of those batches' losses (nats per token).
    pub loss_sum: f64,
    /// Seconds spent training those batches.
    pub seconds: f64,
}

/// A model being trained, its optimizer, and where training stands.
#[derive(Debug)]
pub struct Trainer {
    /// The model (owned, so a notebook can keep the trainer across cells).
    pub model: LstmLm,
    /// The optimizer, whose state is ours to save.
    pub optimizer: Adam,
    /// Training settings.
    pub config: TrainConfig,
    /// Loss per epoch so far.
    pub history: History,
    /// Optimizer steps taken.
    pub step: u64,
    /// Epochs completed.
    pub epoch: usize,
    /// How far the current (unfinished) epoch has got.
    pub progress: EpochProgress,
    /// Why the last `fit` returned (`None` before the first).
    pub last_stop: Option<StopReason>,
    callbacks: Vec<Box<dyn Callback>>,
}

impl Trainer {
    /// Starts training a model from scratch.
    pub fn new(model: LstmLm, config: TrainConfig) -> Self {
        let optimizer = Adam::new(model.named_parameters(), config.adam);
        Trainer {
            model,
            optimizer,
            config,
            history: History::default(),
            step: 0,
            epoch: 0,
            progress: EpochProgress::default(),
            last_stop: None,
            callbacks: Vec::new(),
        }
    }

    /// Adds a callback (run after those added before it).
    pub fn add_callback(&mut self, callback: impl Callback) {
        self.callbacks.push(Box::new(callback));
    }

    /// Adds a callback, builder style.
    pub fn with_callback(mut self, callback: impl Callback) -> Self {
        self.add_callback(callback);
        self
    }

    /// The first callback of type `T`, to read what it recorded.
    pub fn callback<T: Callback>(&self) -> Option<&T> {
        self.callbacks
            .iter()
            .find_map(|c| (c.as_ref() as &dyn Any).downcast_ref::<T>())
    }

    /// The first callback of type `T`, to change it.
    pub fn callback_mut<T: Callback>(&mut self) -> Option<&mut T> {
        self.callbacks
            .iter_mut()
            .find_map(|c| (c.as_mut() as &mut dyn Any).downcast_mut::<T>())
    }

    /// Trains until `config.epochs` epochs are done, the time budget runs out, a signal arrives or
    /// a callback stops it; returns the history. Called again, it continues where it stopped (in
    /// the middle of an epoch too); [`Trainer::last_stop`] says why it returned.
    pub fn fit(&mut self, train: &SequenceBatches, valid: &SequenceBatches) -> Result<&History> {
        let mut callbacks = std::mem::take(&mut self.callbacks);
        let result = self.run(&mut callbacks, train, valid);
        callbacks.append(&mut self.callbacks);
        self.callbacks = callbacks;
        let reason = result?;
        self.last_stop = Some(reason);
        Ok(&self.history)
    }

    fn run(
        &mut self,
        callbacks: &mut [Box<dyn Callback>],
        train: &SequenceBatches,
        valid: &SequenceBatches,
    ) -> Result<StopReason> {
        let data = DataInfo {
            tokens: train.len(),
            fingerprint: train.fingerprint(),
            batches_per_epoch: train.batches_per_epoch(),
        };
        for cb in callbacks.iter_mut() {
            cb.on_train_begin(self, &data)?;
        }
        let started = Instant::now();
        let budget = self.config.max_seconds;
        let reason = loop {
            if self.epoch >= self.config.epochs {
                break StopReason::Completed;
            }
            let plan = train.epoch_plan(self.config.seed, self.epoch);
            let mut stop = None;
            while self.progress.batch < data.batches_per_epoch {
                let step_start = Instant::now();
                let (x, y) = train.batch(&plan, self.progress.batch, self.model.device());
                let loss = self.train_step(&x, &y);
                self.progress.batch += 1;
                self.progress.loss_sum += loss;
                self.progress.seconds += step_start.elapsed().as_secs_f64();
                for cb in callbacks.iter_mut() {
                    if let Control::Stop(reason) = cb.on_step_end(self, &data)? {
                        stop = stop.or(Some(reason));
                    }
                }
                if stop.is_none() && budget.is_some_and(|b| started.elapsed().as_secs_f64() >= b) {
                    stop = Some(StopReason::TimeBudget);
                }
                if stop.is_some() {
                    break;
                }
            }
            // A stop other than the time budget leaves the epoch open, to be continued exactly.
            if stop.is_some_and(|r| r != StopReason::TimeBudget) {
                break stop.unwrap_or(StopReason::Requested);
            }
            self.finish_epoch(train, valid);
            for cb in callbacks.iter_mut() {
                if let Control::Stop(reason) = cb.on_epoch_end(self, &data)? {
                    stop = stop.or(Some(reason));
                }
            }
            if let Some(reason) = stop {
                if reason == StopReason::TimeBudget && self.config.verbose {
                    println!("time budget of {:.0} s reached", budget.unwrap_or(0.0));
                }
                break reason;
            }
        };
        for cb in callbacks.iter_mut() {
            cb.on_train_end(self, &data, reason)?;
        }
        Ok(reason)
    }

    /// Validates, records the epoch in the history and starts the next one.
    fn finish_epoch(&mut self, train: &SequenceBatches, valid: &SequenceBatches) {
        let p = std::mem::take(&mut self.progress);
        let record = EpochRecord {
            epoch: self.epoch + 1,
            train_loss: p.loss_sum / p.batch.max(1) as f64,
            valid_loss: self.evaluate(valid),
            seconds: p.seconds,
            tokens_per_second: (p.batch * train.batch_size * train.seq_len) as f64
                / p.seconds.max(1e-9),
            fraction: p.batch as f64 / train.batches_per_epoch() as f64,
        };
        if self.config.verbose {
            println!("{record}");
        }
        self.history.records.push(record);
        self.epoch += 1;
    }

    /// One optimizer step on a batch; returns the batch's loss in nats per token.
    pub fn train_step(&mut self, inputs: &tch::Tensor, targets: &tch::Tensor) -> f64 {
        tch::manual_seed(self.config.seed.wrapping_add(self.step) as i64);
        self.optimizer.zero_grad();
        let loss = self.model.loss(inputs, targets, true);
        loss.backward();
        if self.config.clip_norm > 0.0 {
            self.optimizer.clip_grad_norm(self.config.clip_norm);
        }
        self.optimizer.step();
        self.step += 1;
        loss.double_value(&[])
    }

    /// Mean loss (nats per token) over the validation stream, without dropout or gradients.
    pub fn evaluate(&self, valid: &SequenceBatches) -> f64 {
        evaluate(&self.model, valid, self.config.valid_tokens)
    }
}

/// Mean next-token loss of a model over at most `max_tokens` of a stream, in nats per token.
pub fn evaluate(model: &LstmLm, data: &SequenceBatches, max_tokens: usize) -> f64 {
    tch::no_grad(|| {
        let (mut total, mut count) = (0.0, 0i64);
        for (x, y) in data.sequential(max_tokens, model.device()) {
            let n = y.numel() as i64;
            let loss = model
                .loss(&x, &y, false)
                .to_kind(Kind::Double)
                .double_value(&[]);
            total += loss * n as f64;
            count += n;
        }
        total / count.max(1) as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LstmConfig;
    use tch::Device;

    #[test]
    fn a_tiny_model_learns_a_repeating_pattern() -> Result<()> {
        let pattern: Vec<i64> = (0..2000).map(|i| [0, 1, 2, 3, 2, 1][i % 6]).collect();
        let train = SequenceBatches::new(pattern.clone(), 12, 8)?;
        let valid = SequenceBatches::new(pattern, 12, 8)?;
        let model = LstmLm::new(LstmConfig::debug(4), Device::Cpu)?;
        let config = TrainConfig {
            epochs: 8,
            adam: AdamConfig {
                lr: 1e-2,
                ..AdamConfig::default()
            },
            verbose: false,
            ..TrainConfig::default()
        };
        let mut trainer = Trainer::new(model, config);
        let before = trainer.evaluate(&valid);
        trainer.fit(&train, &valid)?;
        let after = trainer
            .history
            .records
            .last()
            .map(|r| r.valid_loss)
            .unwrap_or(f64::NAN);
        assert!(before > 1.0, "an untrained model is uncertain: {before}");
        assert!(
            after < 0.2,
            "the pattern is deterministic given context: {after}"
        );
        assert_eq!(trainer.history.records.len(), 8);
        Ok(())
    }
}

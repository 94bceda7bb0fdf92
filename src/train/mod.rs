//! The training loop: many-to-many next-token prediction with Adam, gradient clipping, a
//! validation pass per epoch, a time budget, and a loss history.

pub mod adam;
pub mod history;

pub use adam::{Adam, AdamConfig};
pub use history::{EpochRecord, History};

use crate::data::SequenceBatches;
use crate::model::LstmLm;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::time::Instant;
use tch::Kind;

/// How to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
        }
    }

    /// Trains until `config.epochs` epochs are done or the time budget runs out; returns the history.
    pub fn fit(&mut self, train: &SequenceBatches, valid: &SequenceBatches) -> Result<&History> {
        let started = Instant::now();
        let budget = self.config.max_seconds;
        while self.epoch < self.config.epochs {
            let epoch_start = Instant::now();
            let plan = train.epoch_plan(self.config.seed, self.epoch);
            let (mut loss_sum, mut batches) = (0.0, 0usize);
            let mut out_of_time = false;
            for index in 0..train.batches_per_epoch() {
                let (x, y) = train.batch(&plan, index, self.model.device());
                loss_sum += self.train_step(&x, &y);
                batches += 1;
                if budget.is_some_and(|b| started.elapsed().as_secs_f64() >= b) {
                    out_of_time = true;
                    break;
                }
            }
            let seconds = epoch_start.elapsed().as_secs_f64();
            let record = EpochRecord {
                epoch: self.epoch + 1,
                train_loss: loss_sum / batches.max(1) as f64,
                valid_loss: self.evaluate(valid),
                seconds,
                tokens_per_second: (batches * train.batch_size * train.seq_len) as f64
                    / seconds.max(1e-9),
                fraction: batches as f64 / train.batches_per_epoch() as f64,
            };
            if self.config.verbose {
                println!("{record}");
            }
            self.history.records.push(record);
            self.epoch += 1;
            if out_of_time {
                if self.config.verbose {
                    println!("time budget of {:.0} s reached", budget.unwrap_or(0.0));
                }
                break;
            }
        }
        Ok(&self.history)
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

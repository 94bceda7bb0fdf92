//! THE training loop, for every model: Adam with gradient clipping over the batches of any
//! [`Batches`], a validation pass per epoch, a time budget, a loss history, and callbacks
//! (checkpoints, samples, plots, learning-rate cuts, early stopping, the best weights,
//! interrupts). Its state (epoch, step, batch within the epoch, running loss, best weights) is
//! enough to continue exactly where it stopped.
//!
//! ```no_run
//! # use tunesmith::prelude::*;
//! # fn f(model: WindowLstm, train: WindowBatches, valid: WindowBatches) -> Result<()> {
//! let mut trainer = Trainer::new(model, TrainConfig { epochs: 20, ..TrainConfig::default() });
//! trainer.fit(&train, &valid)?;
//! # Ok(()) }
//! ```

pub mod adam;
pub mod callback;
pub mod clock;
pub mod history;
pub mod interrupt;

pub use crate::model::seeded;
pub use adam::{Adam, AdamConfig};
pub use callback::{
    Callback, Control, DataInfo, EarlyStopping, InterruptAt, KeepBest, LrOnPlateau, Plateau,
    StopAtStep, StopReason,
};
pub use history::{EpochRecord, History};

use crate::data::{Batch, Batches};
use crate::model::Model;
use anyhow::{bail, ensure, Context, Result};
use clock::BudgetClock;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::time::Instant;
use tch::{Kind, Tensor};

/// How to train. (Missing fields in JSON take their defaults; an unknown field is an error.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Epochs to run (a full pass over the training batches each).
    pub epochs: usize,
    /// Optimizer settings (the learning rate is the starting one).
    pub adam: AdamConfig,
    /// Maximum global gradient norm (0 turns clipping off).
    pub clip_norm: f64,
    /// Seed for data order and dropout.
    pub seed: u64,
    /// Stop (after validating the epoch in progress) once this many seconds of training have
    /// passed.
    pub max_seconds: Option<f64>,
    /// Count `max_seconds` in CPU seconds of this process (all its threads, validation
    /// included) instead of wall-clock seconds, so that other processes' load on the machine
    /// does not change where training stops.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cpu_budget: bool,
    /// Validation reads at most this many items (tokens, windows or pieces).
    pub valid_limit: usize,
    /// Cut the learning rate when the validation loss stops improving.
    pub lr_plateau: Option<LrOnPlateau>,
    /// Lower the learning rate along a cosine over the time budget (`max_seconds`); ignored
    /// without a budget. Do not combine with `lr_plateau` (the decay sets the rate every step).
    pub lr_decay: Option<LrDecay>,
    /// Stop when the validation loss has not improved for this many epochs.
    pub early_stopping: Option<usize>,
    /// Keep the weights of the best epoch (by validation loss) and put them back when training
    /// ends as configured.
    pub keep_best: bool,
    /// Print a progress line per epoch.
    pub verbose: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            adam: AdamConfig {
                lr: 2e-3,
                ..AdamConfig::default()
            },
            clip_norm: 1.0,
            seed: 0,
            max_seconds: None,
            cpu_budget: false,
            valid_limit: 100_000,
            lr_plateau: None,
            lr_decay: None,
            early_stopping: None,
            keep_best: false,
            verbose: true,
        }
    }
}

impl TrainConfig {
    /// Silent training for `epochs` at learning rate `lr` (tests, small demonstrations).
    pub fn quiet(epochs: usize, lr: f64) -> Self {
        TrainConfig {
            epochs,
            adam: AdamConfig {
                lr,
                ..AdamConfig::default()
            },
            verbose: false,
            ..TrainConfig::default()
        }
    }

    /// The loop's own policies, as callbacks, in the order they run.
    fn policies(&self) -> Vec<Box<dyn Callback>> {
        let mut out: Vec<Box<dyn Callback>> = Vec::new();
        if self.keep_best {
            out.push(Box::new(KeepBest));
        }
        if let Some(plateau) = self.lr_plateau {
            out.push(Box::new(plateau));
        }
        if let Some(patience) = self.early_stopping {
            out.push(Box::new(EarlyStopping { patience }));
        }
        out
    }
}

/// A learning rate that falls with the time spent: constant until `start` of the budget, then
/// along a half cosine to `floor` times the starting rate at the end of the budget. (Missing
/// fields in JSON take their defaults.)
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LrDecay {
    /// Share of the budget before the rate starts falling.
    pub start: f64,
    /// The rate at the end of the budget, as a share of the starting rate.
    pub floor: f64,
}

impl Default for LrDecay {
    fn default() -> Self {
        LrDecay {
            start: 0.3,
            floor: 0.05,
        }
    }
}

impl LrDecay {
    /// The multiplier of the starting rate when `spent` of the budget (0 to 1) has passed.
    pub fn factor(&self, spent: f64) -> f64 {
        let t = ((spent - self.start) / (1.0 - self.start).max(1e-9)).clamp(0.0, 1.0);
        self.floor + (1.0 - self.floor) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
    }
}

/// Where training stands inside the current epoch: enough to continue it exactly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochProgress {
    /// Batches of the current epoch already trained (the next batch's index in the epoch plan).
    pub batch: usize,
    /// Sum of those batches' losses.
    pub loss_sum: f64,
    /// Seconds spent training those batches.
    pub seconds: f64,
    /// Targets (tokens, windows or frames) in those batches.
    #[serde(default)]
    pub targets: f64,
}

/// The weights of the epoch with the lowest validation loss.
#[derive(Debug)]
pub struct BestWeights {
    /// The epoch (1-based).
    pub epoch: usize,
    /// Its validation loss.
    pub valid_loss: f64,
    /// Copies of the parameters, by name.
    pub weights: Vec<(String, Tensor)>,
}

/// Mean loss (and accuracy) over batches, weighted by the predictions in each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean loss per prediction (nats).
    pub loss: f64,
    /// Share of targets ranked first, when the model reports accuracy.
    pub accuracy: Option<f64>,
    /// Predictions counted.
    pub count: f64,
}

/// Evaluates a model on batches without dropout or gradients (`NaN` loss for no predictions).
pub fn evaluate_batches(model: &dyn Model, batches: &[Batch]) -> Evaluation {
    tch::no_grad(|| {
        let (mut loss, mut correct, mut count) = (0.0, 0.0, 0.0);
        let mut has_accuracy = true;
        for batch in batches.iter().filter(|b| b.count > 0.0) {
            loss += model
                .loss(batch, false)
                .to_kind(Kind::Double)
                .double_value(&[])
                * batch.count;
            match model.accuracy(batch) {
                Some(a) => correct += a * batch.count,
                None => has_accuracy = false,
            }
            count += batch.count;
        }
        if count == 0.0 {
            return Evaluation {
                loss: f64::NAN,
                accuracy: None,
                count,
            };
        }
        Evaluation {
            loss: loss / count,
            accuracy: has_accuracy.then_some(correct / count),
            count,
        }
    })
}

/// Evaluates a model on at most `limit` items of `data`.
pub fn evaluate(model: &dyn Model, data: &dyn Batches, limit: usize) -> Evaluation {
    evaluate_batches(model, &data.evaluation_batches(limit, model.device()))
}

/// A model being trained, its optimizer, and where training stands.
#[derive(Debug)]
pub struct Trainer {
    model: Box<dyn Model>,
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
    /// The best weights so far, kept when `config.keep_best` is set.
    pub best: Option<BestWeights>,
    callbacks: Vec<Box<dyn Callback>>,
}

impl Trainer {
    /// Starts training a model from scratch.
    pub fn new(model: impl Model, config: TrainConfig) -> Self {
        Self::from_boxed(Box::new(model), config)
    }

    /// Starts training a model of any kind (one made by [`crate::model::build`]). Asks the C
    /// allocator to keep freed memory for the next step ([`crate::device::keep_freed_memory`]).
    pub fn from_boxed(model: Box<dyn Model>, config: TrainConfig) -> Self {
        // A step's large tensors reuse the memory the last step freed (see the function).
        crate::device::keep_freed_memory();
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
            best: None,
            callbacks: Vec::new(),
        }
    }

    /// The model being trained.
    pub fn model(&self) -> &dyn Model {
        self.model.as_ref()
    }

    /// The model as its own type; an error names both types when it is another.
    pub fn model_as<M: Model>(&self) -> Result<&M> {
        self.model.downcast_ref::<M>().with_context(|| {
            format!(
                "the trainer holds a {} model, not a {}",
                self.model.architecture(),
                std::any::type_name::<M>()
            )
        })
    }

    /// Ends training and hands the model back as its own type.
    pub fn into_model<M: Model>(self) -> Result<M> {
        let architecture = self.model.architecture();
        let any: Box<dyn Any> = self.model;
        any.downcast::<M>().map(|m| *m).map_err(|_| {
            anyhow::anyhow!(
                "the trainer holds a {architecture} model, not a {}",
                std::any::type_name::<M>()
            )
        })
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

    /// Keeps a copy of the current weights as the best, from `epoch` with `valid_loss`.
    pub fn keep_current_as_best(&mut self, epoch: usize, valid_loss: f64) {
        let weights = tch::no_grad(|| {
            self.model
                .named_parameters()
                .into_iter()
                .map(|(n, t)| (n, t.copy()))
                .collect()
        });
        self.best = Some(BestWeights {
            epoch,
            valid_loss,
            weights,
        });
    }

    /// Puts the best weights kept so far into the model (nothing when none are kept).
    pub fn restore_best(&mut self) -> Result<()> {
        if let Some(best) = &self.best {
            copy_into(self.model.as_ref(), &best.weights)?;
            if self.config.verbose {
                println!(
                    "restored the weights of epoch {} (validation loss {:.4})",
                    best.epoch, best.valid_loss
                );
            }
        }
        Ok(())
    }

    /// Trains until `config.epochs` epochs are done, the time budget runs out, a signal arrives or
    /// a callback stops it; returns the history. Called again, it continues where it stopped (in
    /// the middle of an epoch too); [`Trainer::last_stop`] says why it returned.
    pub fn fit(&mut self, train: &dyn Batches, valid: &dyn Batches) -> Result<&History> {
        let mut callbacks = self.config.policies();
        let policies = callbacks.len();
        callbacks.append(&mut self.callbacks);
        let result = self.run(&mut callbacks, train, valid);
        // Callbacks added while training ran go after the ones that were there.
        let added = std::mem::take(&mut self.callbacks);
        self.callbacks = callbacks.split_off(policies);
        self.callbacks.extend(added);
        // One message with every cause: a notebook shows only an error's first line.
        let reason = result.map_err(|e| anyhow::anyhow!("{e:#}"))?;
        self.last_stop = Some(reason);
        Ok(&self.history)
    }

    fn run(
        &mut self,
        callbacks: &mut [Box<dyn Callback>],
        train: &dyn Batches,
        valid: &dyn Batches,
    ) -> Result<StopReason> {
        let data = DataInfo {
            items: train.items(),
            fingerprint: train.fingerprint(),
            batches_per_epoch: train.batches_per_epoch(),
            settings: train.settings(),
        };
        ensure!(
            data.batches_per_epoch > 0,
            "the training data gives no batches"
        );
        for cb in callbacks.iter_mut() {
            cb.on_train_begin(self, &data)?;
        }
        let clock = BudgetClock::start(self.config.cpu_budget);
        let budget = self.config.max_seconds;
        let device = self.model.device();
        let reason = loop {
            if self.epoch >= self.config.epochs {
                break StopReason::Completed;
            }
            let plan = train.epoch_plan(self.config.seed, self.epoch);
            ensure!(
                plan.len() == data.batches_per_epoch,
                "the data planned {} batches for epoch {}, not the {} it announced",
                plan.len(),
                self.epoch + 1,
                data.batches_per_epoch
            );
            let mut stop = None;
            while self.progress.batch < data.batches_per_epoch {
                let step_start = Instant::now();
                if let (Some(decay), Some(budget)) = (self.config.lr_decay, budget) {
                    let spent = clock.seconds() / budget.max(1e-9);
                    self.optimizer.config.lr = self.config.adam.lr * decay.factor(spent);
                }
                let batch = train.batch(&plan[self.progress.batch], device);
                let loss = self.train_step(&batch)?;
                self.progress.batch += 1;
                self.progress.loss_sum += loss;
                self.progress.targets += batch.count;
                self.progress.seconds += step_start.elapsed().as_secs_f64();
                for cb in callbacks.iter_mut() {
                    if let Control::Stop(reason) = cb.on_step_end(self, &data)? {
                        stop = stop.or(Some(reason));
                    }
                }
                if stop.is_none() && budget.is_some_and(|b| clock.seconds() >= b) {
                    stop = Some(StopReason::TimeBudget);
                }
                if stop.is_some() {
                    break;
                }
            }
            // A stop other than the time budget leaves the epoch open, to be continued exactly.
            if let Some(reason) = stop.filter(|&r| r != StopReason::TimeBudget) {
                break reason;
            }
            self.finish_epoch(valid, data.batches_per_epoch);
            for cb in callbacks.iter_mut() {
                if let Control::Stop(reason) = cb.on_epoch_end(self, &data)? {
                    stop = stop.or(Some(reason));
                }
            }
            if let Some(reason) = stop {
                if reason == StopReason::TimeBudget && self.config.verbose {
                    println!(
                        "time budget of {:.0} {} s reached",
                        budget.unwrap_or(0.0),
                        if self.config.cpu_budget {
                            "CPU"
                        } else {
                            "wall-clock"
                        }
                    );
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
    fn finish_epoch(&mut self, valid: &dyn Batches, batches_per_epoch: usize) {
        let p = std::mem::take(&mut self.progress);
        let eval = evaluate(self.model.as_ref(), valid, self.config.valid_limit);
        let record = EpochRecord {
            epoch: self.epoch + 1,
            train_loss: p.loss_sum / p.batch.max(1) as f64,
            valid_loss: eval.loss,
            seconds: p.seconds,
            tokens_per_second: p.targets / p.seconds.max(1e-9),
            fraction: p.batch as f64 / batches_per_epoch.max(1) as f64,
            lr: self.optimizer.config.lr,
            valid_accuracy: eval.accuracy,
        };
        if self.config.verbose {
            println!("{record}");
        }
        self.history.records.push(record);
        self.epoch += 1;
    }

    /// One optimizer step on a batch; returns the batch's mean loss. Dropout is seeded from
    /// `(seed, step)`, so a resumed run draws the same masks.
    pub fn train_step(&mut self, batch: &Batch) -> Result<f64> {
        let loss = seeded(self.config.seed.wrapping_add(self.step), || {
            self.optimizer.zero_grad();
            let loss = self.model.loss(batch, true);
            loss.backward();
            loss
        });
        if self.config.clip_norm > 0.0 {
            self.optimizer.clip_grad_norm(self.config.clip_norm);
        }
        self.optimizer.step();
        self.step += 1;
        let value = loss.double_value(&[]);
        if !value.is_finite() {
            bail!(
                "the training loss became {value} at epoch {}, step {}: lower the learning rate or check the data",
                self.epoch + 1,
                self.step
            );
        }
        Ok(value)
    }

    /// Mean validation loss (and accuracy) of the model now.
    pub fn evaluate(&self, valid: &dyn Batches) -> Evaluation {
        evaluate(self.model.as_ref(), valid, self.config.valid_limit)
    }
}

/// Copies tensors into a model's parameters by name; every parameter must be there with its shape.
pub fn copy_into(model: &dyn Model, saved: &[(String, Tensor)]) -> Result<()> {
    let params = model.named_parameters();
    for (name, _) in saved {
        ensure!(
            params.iter().any(|(n, _)| n == name),
            "tensor {name} is not a parameter of the {} model",
            model.architecture()
        );
    }
    for (name, param) in params {
        let tensor = saved
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t)
            .with_context(|| format!("no tensor {name}"))?;
        ensure!(
            tensor.size() == param.size(),
            "tensor {name} has shape {:?}, the model config needs {:?}",
            tensor.size(),
            param.size()
        );
        tch::no_grad(|| param.shallow_clone().copy_(tensor));
    }
    Ok(())
}

#[cfg(test)]
mod tests;

//! Hooks into the training loop: a [`Callback`] sees the trainer after every step and epoch and can
//! ask the loop to stop. Checkpointing ([`crate::checkpoint::Checkpointer`]) is one.

use super::Trainer;
use anyhow::Result;
use std::any::Any;
use std::fmt::Debug;

/// What the training data looks like, as a callback needs to know it (to save or check where the
/// data order stands).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataInfo {
    /// Tokens in the training stream.
    pub tokens: usize,
    /// A fingerprint of the training stream ([`crate::data::SequenceBatches::fingerprint`]).
    pub fingerprint: u64,
    /// Whole batches per epoch.
    pub batches_per_epoch: usize,
}

/// Why [`Trainer::fit`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Every epoch asked for in the config is done.
    Completed,
    /// The time budget (`max_seconds`) ran out; the epoch was closed early.
    TimeBudget,
    /// SIGINT or SIGTERM arrived; the step in progress was finished (and saved by a checkpointer).
    Interrupted,
    /// A callback asked to stop.
    Requested,
}

/// A callback's answer after a step or an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Go on training.
    Continue,
    /// Stop after this step or epoch, for the given reason.
    Stop(StopReason),
}

/// Code that runs inside the training loop. Every method has a default that does nothing.
///
/// Callbacks run in the order they were added. An error from a callback ends `fit` with that error.
pub trait Callback: Any + Debug {
    /// Before the first step of a `fit` call; may change the trainer (for example, resume it).
    fn on_train_begin(&mut self, _trainer: &mut Trainer, _data: &DataInfo) -> Result<()> {
        Ok(())
    }

    /// After every optimizer step (`trainer.step` already counts it).
    fn on_step_end(&mut self, _trainer: &Trainer, _data: &DataInfo) -> Result<Control> {
        Ok(Control::Continue)
    }

    /// After an epoch is validated and recorded in the history (`trainer.epoch` counts it).
    fn on_epoch_end(&mut self, _trainer: &Trainer, _data: &DataInfo) -> Result<Control> {
        Ok(Control::Continue)
    }

    /// When `fit` is about to return, with the reason.
    fn on_train_end(
        &mut self,
        _trainer: &Trainer,
        _data: &DataInfo,
        _reason: StopReason,
    ) -> Result<()> {
        Ok(())
    }
}

/// Stops training after a given number of optimizer steps in total (for demonstrations and tests;
/// a checkpointer saves the state it stopped in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopAtStep(pub u64);

impl Callback for StopAtStep {
    fn on_step_end(&mut self, trainer: &Trainer, _data: &DataInfo) -> Result<Control> {
        Ok(if trainer.step >= self.0 {
            Control::Stop(StopReason::Requested)
        } else {
            Control::Continue
        })
    }
}

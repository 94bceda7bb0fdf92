//! Hooks into the training loop: a [`Callback`] sees the trainer after every step and epoch and can
//! ask the loop to stop. The loop's own policies are callbacks too, made from the
//! [`super::TrainConfig`] at every `fit`: learning-rate cuts on a plateau ([`LrOnPlateau`]), early
//! stopping ([`EarlyStopping`]) and keeping the best weights ([`KeepBest`]). Their decisions are
//! functions of the loss history (which checkpoints save), so a resumed run takes the same ones.
//! Checkpointing, samples every N epochs and loss plots are callbacks of the later layers.

use super::Trainer;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::fmt::Debug;

/// What the training data looks like, as a callback needs to know it (to save or check where the
/// data order stands).
#[derive(Debug, Clone, PartialEq)]
pub struct DataInfo {
    /// Items in the training data (tokens, windows or frames).
    pub items: usize,
    /// A fingerprint of the training data ([`crate::data::Batches::fingerprint`]).
    pub fingerprint: u64,
    /// Batches per epoch.
    pub batches_per_epoch: usize,
    /// What the batches are and the settings that shape them.
    pub settings: serde_json::Value,
}

/// Why [`Trainer::fit`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopReason {
    /// Every epoch asked for in the config is done.
    Completed,
    /// The time budget (`max_seconds`) ran out; the epoch was closed early.
    TimeBudget,
    /// SIGINT or SIGTERM arrived; the step in progress was finished (and saved by a checkpointer).
    Interrupted,
    /// A callback asked to stop.
    Requested,
    /// The validation loss stopped improving (early stopping, or a plateau after the last
    /// learning-rate cut).
    NoImprovement,
}

impl StopReason {
    /// True when training is over as configured (not paused to be continued).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            StopReason::Completed | StopReason::TimeBudget | StopReason::NoImprovement
        )
    }
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
/// Callbacks run in the order they were added, after the loop's own policies. An error from a
/// callback ends `fit` with that error.
pub trait Callback: Any + Debug {
    /// Before the first step of a `fit` call; may change the trainer (for example, resume it).
    fn on_train_begin(&mut self, _trainer: &mut Trainer, _data: &DataInfo) -> Result<()> {
        Ok(())
    }

    /// After every optimizer step (`trainer.step` already counts it).
    fn on_step_end(&mut self, _trainer: &Trainer, _data: &DataInfo) -> Result<Control> {
        Ok(Control::Continue)
    }

    /// After an epoch is validated and recorded in the history (`trainer.epoch` counts it); may
    /// change the trainer (the learning rate, the best weights).
    fn on_epoch_end(&mut self, _trainer: &mut Trainer, _data: &DataInfo) -> Result<Control> {
        Ok(Control::Continue)
    }

    /// When `fit` is about to return, with the reason.
    fn on_train_end(
        &mut self,
        _trainer: &mut Trainer,
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

/// Sends SIGINT to this process after a given optimizer step, as Ctrl-C in a terminal would: for
/// demonstrations of an interrupted run (a checkpointer added after it saves and stops training).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterruptAt(pub u64);

impl Callback for InterruptAt {
    fn on_step_end(&mut self, trainer: &Trainer, _data: &DataInfo) -> Result<Control> {
        if trainer.step == self.0 {
            if trainer.config.verbose {
                println!(
                    "(step {}: sending SIGINT to this process, as Ctrl-C would)",
                    trainer.step
                );
            }
            super::interrupt::send_sigint_to_self()?;
        }
        Ok(Control::Continue)
    }
}

/// Cuts the learning rate when the validation loss has not improved for a while. (Missing fields
/// in JSON take their defaults.)
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LrOnPlateau {
    /// Epochs without a better validation loss before a cut.
    pub patience: usize,
    /// What the learning rate is multiplied by at a cut.
    pub factor: f64,
    /// Cuts allowed; the plateau after the last one ends training.
    pub max_cuts: usize,
}

impl Default for LrOnPlateau {
    fn default() -> Self {
        LrOnPlateau {
            patience: 5,
            factor: 0.1,
            max_cuts: 2,
        }
    }
}

/// What the validation losses so far say: epochs since the best, and the plateau schedule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Plateau {
    /// Epochs since the lowest validation loss (0: the last epoch was the best).
    pub since_best: usize,
    /// Epochs since the best or the last cut.
    pub since_cut: usize,
    /// Cuts made so far.
    pub cuts: usize,
    /// The last epoch calls for a cut.
    pub cut_now: bool,
    /// The last epoch ends a plateau with no cut left.
    pub exhausted: bool,
}

impl Plateau {
    /// Replays the schedule over validation losses in epoch order (a pure function of them, so a
    /// resumed run decides as the uninterrupted one did).
    pub fn of(losses: &[f64], schedule: Option<&LrOnPlateau>) -> Plateau {
        let mut p = Plateau::default();
        let mut best = f64::INFINITY;
        for &loss in losses {
            p.cut_now = false;
            p.exhausted = false;
            if loss < best {
                best = loss;
                p.since_best = 0;
                p.since_cut = 0;
            } else {
                p.since_best += 1;
                p.since_cut += 1;
            }
            if let Some(s) = schedule.filter(|s| s.patience > 0) {
                if p.since_cut >= s.patience {
                    if p.cuts >= s.max_cuts {
                        p.exhausted = true;
                    } else {
                        p.cuts += 1;
                        p.since_cut = 0;
                        p.cut_now = true;
                    }
                }
            }
        }
        p
    }
}

fn valid_losses(trainer: &Trainer) -> Vec<f64> {
    trainer
        .history
        .records
        .iter()
        .map(|r| r.valid_loss)
        .collect()
}

impl Callback for LrOnPlateau {
    fn on_epoch_end(&mut self, trainer: &mut Trainer, _data: &DataInfo) -> Result<Control> {
        let plateau = Plateau::of(&valid_losses(trainer), Some(self));
        if plateau.exhausted {
            if trainer.config.verbose {
                println!(
                    "no improvement for {} epochs after {} learning-rate cuts: stopping",
                    self.patience, self.max_cuts
                );
            }
            return Ok(Control::Stop(StopReason::NoImprovement));
        }
        if plateau.cut_now {
            trainer.optimizer.config.lr *= self.factor;
            if trainer.config.verbose {
                println!(
                    "no improvement for {} epochs: learning rate cut to {:.1e}",
                    self.patience, trainer.optimizer.config.lr
                );
            }
        }
        Ok(Control::Continue)
    }
}

/// Stops when the validation loss has not improved for `patience` epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarlyStopping {
    /// Epochs without a better validation loss before training stops.
    pub patience: usize,
}

impl Callback for EarlyStopping {
    fn on_epoch_end(&mut self, trainer: &mut Trainer, _data: &DataInfo) -> Result<Control> {
        let plateau = Plateau::of(&valid_losses(trainer), None);
        if self.patience > 0 && plateau.since_best >= self.patience {
            if trainer.config.verbose {
                println!(
                    "no improvement for {} epochs: stopping early",
                    plateau.since_best
                );
            }
            return Ok(Control::Stop(StopReason::NoImprovement));
        }
        Ok(Control::Continue)
    }
}

/// Keeps a copy of the weights of the epoch with the lowest validation loss in
/// [`Trainer::best`] (checkpoints save it), and puts them back into the model when training ends
/// as configured ([`StopReason::is_final`]); a pause (an interrupt, a requested stop) keeps the
/// latest weights, so the run can go on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeepBest;

impl Callback for KeepBest {
    fn on_epoch_end(&mut self, trainer: &mut Trainer, _data: &DataInfo) -> Result<Control> {
        let Some(record) = trainer.history.records.last() else {
            return Ok(Control::Continue);
        };
        let (epoch, loss) = (record.epoch, record.valid_loss);
        if loss.is_finite() && trainer.best.as_ref().is_none_or(|b| loss < b.valid_loss) {
            trainer.keep_current_as_best(epoch, loss);
        }
        Ok(Control::Continue)
    }

    fn on_train_end(
        &mut self,
        trainer: &mut Trainer,
        _data: &DataInfo,
        reason: StopReason,
    ) -> Result<()> {
        if reason.is_final() {
            trainer.restore_best()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plateau_replays_cuts_and_the_end() {
        let schedule = LrOnPlateau {
            patience: 2,
            factor: 0.5,
            max_cuts: 1,
        };
        let losses = [3.0, 2.0, 2.5, 2.4];
        let p = Plateau::of(&losses, Some(&schedule));
        assert!(p.cut_now && !p.exhausted);
        assert_eq!((p.cuts, p.since_best, p.since_cut), (1, 2, 0));
        let p = Plateau::of(&[3.0, 2.0, 2.5, 2.4, 2.2, 2.1], Some(&schedule));
        assert!(p.exhausted && !p.cut_now, "{p:?}");
        let p = Plateau::of(&[3.0, 2.0, 2.5, 2.4, 1.0], Some(&schedule));
        assert_eq!((p.since_best, p.cuts, p.exhausted), (0, 1, false));
        assert_eq!(Plateau::of(&losses, None).cuts, 0);
    }
}

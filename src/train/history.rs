//! Loss per epoch, as a table and a plot.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What one epoch achieved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (nats per token).
    pub train_loss: f64,
    /// Validation loss after the epoch (nats per token).
    pub valid_loss: f64,
    /// Wall time of the epoch's training, in seconds.
    pub seconds: f64,
    /// Training targets (tokens, windows or frames) per second.
    pub tokens_per_second: f64,
    /// Share of the epoch's batches that ran (below 1 when a time budget cut it short).
    pub fraction: f64,
    /// Learning rate of the epoch (0 in checkpoints written before it was recorded).
    #[serde(default)]
    pub lr: f64,
    /// Share of validation targets ranked first, for models where accuracy means something.
    #[serde(default)]
    pub valid_accuracy: Option<f64>,
}

#[cfg(test)]
impl EpochRecord {
    /// A record of `epoch` with these losses, for tests: a whole epoch of one second at one target
    /// a second, a learning rate of 1e-3 and no accuracy.
    pub(crate) fn with_losses(epoch: usize, train_loss: f64, valid_loss: f64) -> Self {
        EpochRecord {
            epoch,
            train_loss,
            valid_loss,
            seconds: 1.0,
            tokens_per_second: 1.0,
            fraction: 1.0,
            lr: 1e-3,
            valid_accuracy: None,
        }
    }
}

impl fmt::Display for EpochRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "epoch {:>3}  train {:.4}  valid {:.4}  ({:.2} bits)",
            self.epoch,
            self.train_loss,
            self.valid_loss,
            self.valid_loss / std::f64::consts::LN_2,
        )?;
        if let Some(a) = self.valid_accuracy {
            write!(f, "  valid accuracy {:.1}%", 100.0 * a)?;
        }
        write!(
            f,
            "  lr {:.1e}  {:.1} s  {:.0} targets/s",
            self.lr, self.seconds, self.tokens_per_second
        )?;
        if self.fraction < 1.0 {
            write!(f, "  ({:.0}% of the epoch)", self.fraction * 100.0)?;
        }
        Ok(())
    }
}

/// The loss history of a training run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// One record per epoch, in order.
    pub records: Vec<EpochRecord>,
}

impl History {
    /// The lowest validation loss so far.
    pub fn best_valid_loss(&self) -> Option<f64> {
        self.records
            .iter()
            .map(|r| r.valid_loss)
            .min_by(f64::total_cmp)
    }

    /// The epoch (1-based) with the lowest validation loss so far (the first of equals).
    pub fn best_epoch(&self) -> Option<usize> {
        let best = self.best_valid_loss()?;
        self.records
            .iter()
            .find(|r| r.valid_loss == best)
            .map(|r| r.epoch)
    }

    /// The last epoch's validation loss.
    pub fn last_valid_loss(&self) -> Option<f64> {
        self.records.last().map(|r| r.valid_loss)
    }
}

impl fmt::Display for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.records {
            writeln!(f, "{r}")?;
        }
        Ok(())
    }
}

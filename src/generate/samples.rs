//! Music every N epochs while a model trains: a training callback that generates a few pieces
//! from the model as it stands and writes them into the run's `samples/` folder (`.abc` for a
//! character model, `.mid` for the others), as the seed's author did by hand every ten epochs.

use super::{generate_many, Piece, Primer, SampleConfig};
use crate::encode::Encoding;
use crate::train::{Callback, Control, DataInfo, Trainer};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Writes `count` pieces every `every` epochs into `dir` as `epoch-0010-1.abc` (or `.mid`), …
/// A failure to generate or write is reported and training goes on.
#[derive(Debug, Clone)]
pub struct SampleEvery {
    /// Epochs between samples (at least 1).
    pub every: usize,
    /// Pieces each time (seeds `config.seed`, `config.seed + 1`, …).
    pub count: usize,
    /// How to sample.
    pub config: SampleConfig,
    /// What each piece starts from.
    pub primer: Primer,
    /// The encoding the model reads.
    pub encoding: Encoding,
    /// Where the files go (a run's `samples/` folder).
    pub dir: PathBuf,
    /// Files written so far.
    pub written: Vec<PathBuf>,
    /// The pieces of the last time.
    pub last: Vec<Piece>,
    /// Print a line each time.
    pub verbose: bool,
}

impl SampleEvery {
    /// Four pieces every `every` epochs into `dir`, sampled with the default settings from no
    /// primer (set [`SampleEvery::primer`] for models that need one).
    pub fn new(every: usize, dir: impl Into<PathBuf>, encoding: impl Into<Encoding>) -> Self {
        SampleEvery {
            every: every.max(1),
            count: 4,
            config: SampleConfig::default(),
            primer: Primer::none(),
            encoding: encoding.into(),
            dir: dir.into(),
            written: Vec::new(),
            last: Vec::new(),
            verbose: true,
        }
    }

    /// Sets how many pieces each time.
    pub fn with_count(mut self, count: usize) -> Self {
        self.count = count;
        self
    }

    /// Sets how to sample.
    pub fn with_config(mut self, config: SampleConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets what each piece starts from.
    pub fn with_primer(mut self, primer: Primer) -> Self {
        self.primer = primer;
        self
    }

    /// Samples into `run_dir/samples/`.
    pub fn into_run(every: usize, run_dir: &Path, encoding: impl Into<Encoding>) -> Self {
        Self::new(every, run_dir.join("samples"), encoding)
    }

    /// Generates and writes the pieces for the trainer's model now; returns the paths.
    pub fn write_now(&mut self, trainer: &Trainer) -> Result<Vec<PathBuf>> {
        let pieces = generate_many(
            trainer.model(),
            &self.encoding,
            self.count,
            &self.primer,
            &self.config,
        )?;
        let mut paths = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            paths.push(piece.write(&self.dir, &format!("epoch-{:04}-{}", trainer.epoch, i + 1))?);
        }
        if self.verbose {
            println!(
                "samples: {} pieces after epoch {} in {}",
                paths.len(),
                trainer.epoch,
                self.dir.display()
            );
        }
        self.written.extend(paths.iter().cloned());
        self.last = pieces;
        Ok(paths)
    }
}

impl Callback for SampleEvery {
    fn on_epoch_end(&mut self, trainer: &mut Trainer, _data: &DataInfo) -> Result<Control> {
        if trainer.epoch.is_multiple_of(self.every) {
            if let Err(e) = self.write_now(trainer) {
                eprintln!(
                    "warning: cannot write samples after epoch {}: {e:#}",
                    trainer.epoch
                );
            }
        }
        Ok(Control::Continue)
    }
}

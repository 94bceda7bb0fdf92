//! The auto-checkpoint callback, for every model and encoding: resumes a run at the start of
//! training, saves at every epoch end (and optionally every N steps or M minutes), saves and stops
//! on SIGINT/SIGTERM, keeps the last K checkpoints and the best, and survives a failing drive: a
//! failed save is reported and tried again at the next checkpoint while training goes on. (Music
//! every N epochs comes from the sampler's callback, `generate::SampleEvery`.)

use super::resume::{resume, ResumeReport};
use super::save::{clean_leftovers, SaveHooks};
use super::snapshot::{check_encoding, save_trainer};
use super::store::retain;
use crate::encode::Encoding;
use crate::train::interrupt::{self, Listening};
use crate::train::{Callback, Control, DataInfo, StopReason, Trainer};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;

/// Where and when to checkpoint. (Missing fields in JSON take their defaults; an unknown field is
/// an error.)
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckpointConfig {
    /// The folder that holds runs (a mounted drive, for example).
    pub dir: PathBuf,
    /// The run's name: checkpoints go to `dir/run/`.
    pub run: String,
    /// Also save every this many steps inside an epoch.
    pub every_steps: Option<u64>,
    /// Also save when this many minutes have passed since the last save.
    pub every_minutes: Option<f64>,
    /// Keep the newest this many checkpoints (0 keeps all).
    pub keep_last: usize,
    /// Also keep the epoch checkpoint with the lowest validation loss.
    pub keep_best: bool,
    /// Continue from the newest valid checkpoint when training starts from scratch.
    pub resume: bool,
    /// Resume even when the checkpoint was written with a different setup.
    pub allow_config_change: bool,
    /// On SIGINT or SIGTERM, finish the step, save and return.
    pub handle_signals: bool,
    /// Print a line per save, resume and failure.
    pub verbose: bool,
    /// Test and debugging hooks (not saved).
    #[serde(skip)]
    #[doc(hidden)]
    pub hooks: SaveHooks,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        CheckpointConfig {
            dir: PathBuf::from("checkpoints"),
            run: "run".into(),
            every_steps: None,
            every_minutes: None,
            keep_last: 3,
            keep_best: true,
            resume: true,
            allow_config_change: false,
            handle_signals: true,
            verbose: true,
            hooks: SaveHooks::default(),
        }
    }
}

impl CheckpointConfig {
    /// Checkpoints into `dir/run/` with the defaults (every epoch, keep 3 and the best, resume).
    pub fn new(dir: impl Into<PathBuf>, run: impl Into<String>) -> Self {
        CheckpointConfig {
            dir: dir.into(),
            run: run.into(),
            ..CheckpointConfig::default()
        }
    }

    /// The run's folder.
    pub fn run_dir(&self) -> PathBuf {
        self.dir.join(&self.run)
    }
}

/// A save that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveFailure {
    /// The step it was for.
    pub step: u64,
    /// What went wrong (with the path).
    pub error: String,
}

/// The auto-checkpoint [`Callback`]: add it to a [`Trainer`] and call `fit`.
#[derive(Debug)]
pub struct Checkpointer {
    /// Settings.
    pub config: CheckpointConfig,
    /// The encoding saved with each checkpoint.
    pub encoding: Encoding,
    /// Checkpoints saved by this checkpointer, in order.
    pub saved: Vec<PathBuf>,
    /// Saves that failed (each retried at the next checkpoint).
    pub failures: Vec<SaveFailure>,
    /// What the resume at the start of training did (`None`: nothing to resume from).
    pub resumed: Option<ResumeReport>,
    last_saved_step: Option<u64>,
    last_save: Instant,
    failing: bool,
    resume_checked: bool,
    listening: Option<Listening>,
}

impl Checkpointer {
    /// A checkpointer for a run whose model reads this encoding (a vocabulary or a piano-roll
    /// config: anything that converts into an [`Encoding`]).
    pub fn new(config: CheckpointConfig, encoding: impl Into<Encoding>) -> Self {
        Checkpointer {
            config,
            encoding: encoding.into(),
            saved: Vec::new(),
            failures: Vec::new(),
            resumed: None,
            last_saved_step: None,
            last_save: Instant::now(),
            failing: false,
            resume_checked: false,
            listening: None,
        }
    }

    /// The run's folder.
    pub fn run_dir(&self) -> PathBuf {
        self.config.run_dir()
    }

    fn say(&self, text: &str) {
        if self.config.verbose {
            println!("checkpoint: {text}");
        }
    }

    /// Resumes the trainer from the newest valid checkpoint of the run, if any (see
    /// [`super::resume::resume`]); damaged checkpoints passed over are reported as warnings.
    pub fn resume(
        &mut self,
        trainer: &mut Trainer,
        data: &DataInfo,
    ) -> Result<Option<&ResumeReport>> {
        let run_dir = self.run_dir();
        let report = resume(
            &run_dir,
            trainer,
            &self.encoding,
            data,
            self.config.allow_config_change,
        )?;
        if let Some(report) = &report {
            for skipped in &report.skipped {
                eprintln!(
                    "warning: a newer checkpoint is damaged, falling back to the one before \
                     (the damaged one is set aside as {}): {}",
                    skipped.path.display(),
                    skipped.reason
                );
            }
            for difference in &report.differences {
                eprintln!("warning: resuming with a changed setup: {difference}");
            }
            self.say(&report.to_string());
            self.last_saved_step = Some(report.step);
        }
        self.resumed = report;
        self.resume_checked = true;
        Ok(self.resumed.as_ref())
    }

    /// Saves the trainer's state now. On failure the error is recorded, reported and returned;
    /// the previous checkpoints are untouched.
    pub fn save(&mut self, trainer: &Trainer, data: &DataInfo) -> Result<PathBuf> {
        let started = Instant::now();
        let run_dir = self.run_dir();
        let result = save_trainer(&run_dir, trainer, data, &self.encoding, &self.config.hooks);
        self.last_save = Instant::now();
        match result {
            Ok(path) => {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                let recovered = if self.failing {
                    " (the checkpoint folder is writable again)"
                } else {
                    ""
                };
                self.say(&format!(
                    "saved {name} in {:.2} s{recovered}",
                    started.elapsed().as_secs_f64()
                ));
                self.failing = false;
                self.last_saved_step = Some(trainer.step);
                self.saved.push(path.clone());
                match retain(&run_dir, self.config.keep_last, self.config.keep_best) {
                    Ok(removed) => {
                        self.saved.retain(|p| !removed.contains(p));
                    }
                    Err(e) => eprintln!("warning: cannot remove old checkpoints: {e:#}"),
                }
                Ok(path)
            }
            Err(e) => {
                let error = format!("{e:#}");
                eprintln!(
                    "warning: checkpoint at step {} failed: {error}. Training goes on; the next \
                     checkpoint will try again, and the earlier ones are untouched.",
                    trainer.step
                );
                self.failing = true;
                self.failures.push(SaveFailure {
                    step: trainer.step,
                    error,
                });
                Err(e)
            }
        }
    }

    fn save_if_new(&mut self, trainer: &Trainer, data: &DataInfo) {
        if trainer.step > 0 && self.last_saved_step != Some(trainer.step) {
            let _ = self.save(trainer, data);
        }
    }

    fn due_inside_epoch(&self, trainer: &Trainer, data: &DataInfo) -> bool {
        if trainer.progress.batch >= data.batches_per_epoch {
            return false; // the epoch checkpoint follows at once
        }
        let by_steps = self
            .config
            .every_steps
            .is_some_and(|n| n > 0 && trainer.step.is_multiple_of(n));
        let by_time = self
            .config
            .every_minutes
            .is_some_and(|m| self.last_save.elapsed().as_secs_f64() >= m * 60.0);
        by_steps || by_time
    }
}

impl Callback for Checkpointer {
    fn on_train_begin(&mut self, trainer: &mut Trainer, data: &DataInfo) -> Result<()> {
        let run_dir = self.run_dir();
        check_encoding(trainer.model(), &self.encoding)
            .with_context(|| format!("cannot checkpoint into {}", run_dir.display()))?;
        clean_leftovers(&run_dir);
        if self.config.resume && !self.resume_checked && trainer.step == 0 {
            self.resume(trainer, data)
                .with_context(|| format!("cannot resume from {}", run_dir.display()))?;
        }
        self.resume_checked = true;
        if self.config.handle_signals && self.listening.is_none() {
            self.listening = Some(interrupt::listen()?);
        }
        self.last_save = Instant::now();
        Ok(())
    }

    fn on_step_end(&mut self, trainer: &Trainer, data: &DataInfo) -> Result<Control> {
        self.config.hooks.marker(&format!("step {}", trainer.step));
        if self.listening.is_some() && interrupt::requested() {
            interrupt::clear();
            self.say(&format!(
                "interrupted: stopping after step {} and saving",
                trainer.step
            ));
            self.save_if_new(trainer, data);
            return Ok(Control::Stop(StopReason::Interrupted));
        }
        if self.due_inside_epoch(trainer, data) {
            let _ = self.save(trainer, data);
        }
        Ok(Control::Continue)
    }

    fn on_epoch_end(&mut self, trainer: &mut Trainer, data: &DataInfo) -> Result<Control> {
        let _ = self.save(trainer, data);
        if self.listening.is_some() && interrupt::requested() {
            interrupt::clear();
            self.say("interrupted at the end of an epoch");
            return Ok(Control::Stop(StopReason::Interrupted));
        }
        Ok(Control::Continue)
    }

    fn on_train_end(
        &mut self,
        trainer: &mut Trainer,
        data: &DataInfo,
        _: StopReason,
    ) -> Result<()> {
        // Whatever stopped training, leave its state on disk (this also retries a failed save).
        self.save_if_new(trainer, data);
        self.listening = None;
        Ok(())
    }
}

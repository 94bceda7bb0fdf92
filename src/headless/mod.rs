//! Headless training runs of any model: one JSON config names the corpus (ABC or a folder of MIDI
//! files), the encoding, the model, the batches, the training settings, the checkpoint folder and
//! the music to write every few epochs. The `tunesmith` binary runs it (for long runs under
//! `nohup` or on a cluster); it writes the same checkpoints a notebook resumes from, and running it
//! again continues the run.
//!
//! The log's own workflow, the notes-and-chords window model on MIDI files:
//!
//! ```json
//! { "corpus": {"midi": "my_midi_files"},
//!   "encoding": {"kind": "notes", "min_count": 2},
//!   "model": {"architecture": "window_lstm", "window": 100, "hidden_size": 256, "attention": true},
//!   "batches": {"batch_size": 64},
//!   "train": {"epochs": 200, "seed": 1},
//!   "checkpoint": {"dir": "/mnt/drive/runs", "run": "notes", "every_minutes": 10},
//!   "samples": {"every_epochs": 10, "count": 4, "sampling": {"length": {"notes": 100}}} }
//! ```
//!
//! Relative paths are taken from the config file's folder. Model settings not given take the
//! architecture's defaults; the vocabulary size or pitch count comes from the encoding. Every
//! unknown or bad field is one error line naming it.

pub mod data;

pub use data::{prepare_data, EncodingSpec, RunData};

use crate::abc::CleanOptions;
use crate::checkpoint::save::SaveHooks;
use crate::checkpoint::{CheckpointConfig, Checkpointer};
use crate::generate::{Primer, SampleConfig, SampleEvery};
use crate::midi::SustainPedal;
use crate::train::{StopReason, TrainConfig, Trainer};
use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use tch::Device;

/// Where the pieces come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Corpus {
    /// The ABC collections inside the music21 package.
    Default,
    /// Every `.abc` file under a folder.
    Abc(PathBuf),
    /// Every `.mid` file under a folder.
    Midi(PathBuf),
}

/// How batches are cut. (Missing fields take their defaults; an unknown field is an error.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatchSpec {
    /// Examples per batch (sequences, windows or pieces).
    pub batch_size: usize,
    /// Tokens per sequence (`lstm_lm`).
    pub seq_len: usize,
    /// Predicted frames per training window (piano-roll models; 0 trains on whole pieces).
    pub window_frames: usize,
    /// `lstm_lm`: cut the training stream into one lane per batch row, read in order, so the
    /// model can carry its state from batch to batch (with the model's `carry_state`).
    pub carry_state: bool,
    /// `lstm_lm`: join the pieces of each slice into its stream in a seeded shuffled order (by
    /// `split_seed`) instead of the corpus's. A corpus whose collections come in runs otherwise
    /// teaches a model that carries its state to read a tune's style from the tunes before it,
    /// which a tune sampled from a zero state does not have.
    pub shuffle_pieces: bool,
    /// Piano-roll models: read every piece after one silent frame, so the model learns how pieces
    /// begin and a piece generated from no primer does not open with silence
    /// ([`crate::data::RollBatches::with_lead_in`]). Off by default so that runs begun before it
    /// resume unchanged: set `"lead_in": true` in the `batches` of a new piano-roll run.
    pub lead_in: bool,
    /// Piano-roll models: move each training window by up to this many semitones each way, drawn
    /// anew every epoch within the training pieces' range
    /// ([`crate::data::RollBatches::with_transposition`]): augmentation across keys. 0 (the
    /// default) trains on the pieces as written.
    pub transpose: u8,
}

impl Default for BatchSpec {
    fn default() -> Self {
        BatchSpec {
            batch_size: 32,
            seq_len: 128,
            window_frames: 64,
            carry_state: false,
            shuffle_pieces: false,
            lead_in: false,
            transpose: 0,
        }
    }
}

/// Music written into the run's `samples/` folder while it trains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplesSpec {
    /// Epochs between samples (0: none).
    pub every_epochs: usize,
    /// Pieces each time.
    pub count: usize,
    /// How to sample.
    pub sampling: SampleConfig,
    /// What pieces start from: `"none"`, `"valid"` (the opening of the first validation piece),
    /// `{"abc": "M:6/8\nK:G\n"}` or `{"midi": "opening.mid"}`.
    pub primer: Value,
    /// Steps of the primer to use (tokens, characters or frames).
    pub primer_steps: usize,
}

impl Default for SamplesSpec {
    fn default() -> Self {
        SamplesSpec {
            every_epochs: 0,
            count: 4,
            sampling: SampleConfig {
                temperature: 0.9,
                max_steps: 1500,
                ..SampleConfig::default()
            },
            primer: Value::String("valid".into()),
            primer_steps: 32,
        }
    }
}

/// How pieces are divided into training and validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitKind {
    /// A seeded shuffle (`valid_fraction`, `split_seed`).
    #[default]
    Random,
    /// ABC only: the fixed benchmark split ([`crate::metrics::split`], `fnv1a64-mod20-v1`): the
    /// train part trains, the valid part validates, the test part is never read, so the bits per
    /// character of `bench_abc_bpc --checkpoint` compare with every version's.
    Benchmark,
}

/// A whole training run, as read from a JSON file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// The corpus.
    pub corpus: Corpus,
    /// How ABC tunes are cleaned.
    pub clean: CleanOptions,
    /// When the sustain pedal holds the notes of a MIDI corpus: `"pianos"` (the default, General
    /// MIDI programs 0–7), `"all_programs"` or `"off"`.
    pub sustain_pedal: SustainPedal,
    /// Share of pieces held out for validation.
    pub valid_fraction: f64,
    /// Seed of the train/validation split.
    pub split_seed: u64,
    /// `"random"` (the default) or `"benchmark"` (the fixed split of the ABC benchmark).
    pub split: SplitKind,
    /// Train on at most this many pieces.
    pub train_pieces: Option<usize>,
    /// Validate on at most this many pieces.
    pub valid_pieces: Option<usize>,
    /// The encoding: `{"kind": "chars"}`, `{"kind": "notes", …}`, `{"kind": "events", …}` or
    /// `{"kind": "piano_roll", …}` (settings over the encoding's defaults).
    pub encoding: Value,
    /// The model: `{"architecture": "lstm_lm" | "window_lstm" | "frame_lstm" | "pitch_lstm", …}` (settings over
    /// the architecture's defaults; `"positive_weight": "auto"` weights a piano-roll model's on
    /// cells by the training rolls' off/on ratio).
    pub model: Value,
    /// How batches are cut.
    pub batches: BatchSpec,
    /// Training settings.
    pub train: TrainConfig,
    /// Checkpoint folder, run name, frequency and retention.
    pub checkpoint: CheckpointConfig,
    /// Music every few epochs.
    pub samples: SamplesSpec,
    /// CPU threads for libtorch (its default when absent).
    pub threads: Option<i32>,
    /// `cpu`, `cuda`, or `auto` for CUDA when present.
    pub device: String,
    /// Start from the weights of this checkpoint (fine-tuning): its architecture and encoding
    /// must be the run's, and its model (sizes, dropout) is used as saved, whatever `model`
    /// says. A run that already has checkpoints of its own resumes from them instead.
    pub init_from: Option<std::path::PathBuf>,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            corpus: Corpus::Default,
            clean: CleanOptions::default(),
            sustain_pedal: SustainPedal::default(),
            valid_fraction: 0.1,
            split_seed: 42,
            split: SplitKind::Random,
            train_pieces: None,
            valid_pieces: None,
            encoding: json!({"kind": "chars"}),
            model: json!({"architecture": "lstm_lm"}),
            batches: BatchSpec::default(),
            train: TrainConfig::default(),
            checkpoint: CheckpointConfig::default(),
            samples: SamplesSpec::default(),
            threads: None,
            device: "auto".into(),
            init_from: None,
        }
    }
}

/// The settings an architecture starts from in a run config.
fn model_defaults(architecture: &str) -> Result<Value> {
    Ok(match architecture {
        "lstm_lm" => json!({"embed_dim": 48, "hidden_size": 256, "num_layers": 2, "dropout": 0.1,
                           "tie_weights": false, "weight_drop": 0.0, "carry_state": false}),
        "window_lstm" => json!({"window": 100, "embed_dim": 64, "hidden_size": 256,
                                "num_layers": 2, "dropout": 0.2, "attention": true}),
        "frame_lstm" => json!({"hidden_size": 256, "num_layers": 1, "dropout": 0.2,
                               "input_dropout": 0.1, "input_projection": null,
                               "skip_connection": true, "pitch_autoregression": true,
                               "positive_weight": null}),
        "pitch_lstm" => json!({"window": 12, "beat_bits": 4, "pitch_class_context": true,
                               "time_hidden": 128, "time_layers": 2, "pitch_hidden": 64,
                               "pitch_layers": 1, "chord_window": 12, "dropout": 0.3,
                               "positive_weight": null}),
        other => bail!(
            "model.architecture: unknown architecture {other:?} (use lstm_lm, window_lstm, frame_lstm or pitch_lstm)"
        ),
    })
}

impl RunConfig {
    /// Reads a config file; relative paths in it are resolved against its folder. Every error is
    /// one line naming the file and the field.
    pub fn load(path: &Path) -> Result<RunConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        let mut config: RunConfig = serde_json::from_str(&text)
            .with_context(|| format!("bad config {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        match &mut config.corpus {
            Corpus::Abc(dir) | Corpus::Midi(dir) => *dir = base.join(&*dir),
            Corpus::Default => {}
        }
        config.checkpoint.dir = base.join(&config.checkpoint.dir);
        if let Some(init) = &mut config.init_from {
            *init = base.join(&*init);
        }
        if let Some(midi) = config.samples.primer.get_mut("midi") {
            if let Some(p) = midi.as_str() {
                *midi = Value::String(base.join(p).display().to_string());
            }
        }
        config
            .check()
            .with_context(|| format!("bad config {}", path.display()))?;
        Ok(config)
    }

    /// Checks the sections that are read lazily (encoding, model, sampling), so a bad field is
    /// reported before any data is loaded.
    pub fn check(&self) -> Result<()> {
        EncodingSpec::from_value(&self.encoding)?;
        // Build the model once with placeholder sizes, so its own checks run now.
        let mut settings = self.model_settings(Some(1.0))?;
        match self.architecture()? {
            "frame_lstm" | "pitch_lstm" => settings["num_pitches"] = json!(2),
            _ => settings["vocab_size"] = json!(2),
        }
        crate::model::build(self.architecture()?, &settings, Device::Cpu).context("model")?;
        self.samples
            .sampling
            .validate()
            .context("samples.sampling")?;
        self.device()?;
        Ok(())
    }

    /// The model's architecture name.
    pub fn architecture(&self) -> Result<&str> {
        self.model
            .get("architecture")
            .and_then(Value::as_str)
            .context(
                "model.architecture is missing (lstm_lm, window_lstm, frame_lstm or pitch_lstm)",
            )
    }

    /// The window of a window model.
    pub fn window(&self) -> Result<usize> {
        let settings = self.model_settings(None)?;
        settings
            .get("window")
            .and_then(Value::as_u64)
            .map(|w| w as usize)
            .context("model.window must be a positive whole number")
    }

    /// The model's settings over the architecture's defaults (without the sizes the encoding
    /// gives); `positive_weight: "auto"` becomes `auto_weight` (1 when unknown).
    fn model_settings(&self, auto_weight: Option<f64>) -> Result<Value> {
        let architecture = self.architecture()?;
        let mut user = self.model.clone();
        if let Some(map) = user.as_object_mut() {
            map.remove("architecture");
            if map.get("positive_weight").and_then(Value::as_str) == Some("auto") {
                map.insert("positive_weight".into(), json!(auto_weight.unwrap_or(1.0)));
            }
        }
        data::overlay("model", model_defaults(architecture)?, &user)
    }

    /// The model config for [`crate::model::build`], sizes filled in from the data.
    pub fn model_config(&self, data: &RunData) -> Result<Value> {
        let mut settings = self.model_settings(data.positive_weight)?;
        match data.encoding.vocab_size() {
            Some(vocab) => settings["vocab_size"] = json!(vocab),
            None => {
                settings["num_pitches"] = json!(data.encoding.num_pitches().unwrap_or(0));
                if let (crate::encode::Encoding::PianoRoll(roll), "pitch_lstm") =
                    (&data.encoding, self.architecture()?)
                {
                    settings["low_pitch"] = json!(roll.low_pitch);
                }
            }
        }
        Ok(settings)
    }

    fn device(&self) -> Result<Device> {
        match self.device.as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            "auto" => Ok(crate::device::best_device()),
            other => bail!("device: unknown device {other:?} (use \"cpu\", \"cuda\" or \"auto\")"),
        }
    }

    /// What samples start from.
    fn primer(&self, data: &RunData) -> Result<Primer> {
        let primer = match &self.samples.primer {
            Value::String(s) if s == "none" => Primer::none(),
            Value::String(s) if s == "valid" => match (&data.encoding, &data.first_valid) {
                (crate::encode::Encoding::Chars(_), _) | (_, None) => Primer::none(),
                (_, Some(score)) => Primer::score(score.clone()),
            },
            Value::Object(map) => match (map.get("abc"), map.get("midi")) {
                (Some(Value::String(text)), None) => Primer::abc(text.clone()),
                (None, Some(Value::String(path))) => Primer::midi(path),
                _ => bail!("samples.primer: use \"none\", \"valid\", {{\"abc\": text}} or {{\"midi\": path}}"),
            },
            other => bail!("samples.primer: {other} is not \"none\", \"valid\", {{\"abc\": …}} or {{\"midi\": …}}"),
        };
        Ok(match primer.source {
            crate::generate::PrimerSource::Nothing => primer,
            _ => primer.first(self.samples.primer_steps),
        })
    }
}

/// How a run ended.
#[derive(Debug)]
pub struct RunOutcome {
    /// Why training returned.
    pub reason: StopReason,
    /// Epochs completed.
    pub epoch: usize,
    /// Steps taken.
    pub step: u64,
    /// The newest checkpoint saved in this process, if any.
    pub last_checkpoint: Option<PathBuf>,
    /// Saves that failed.
    pub failed_saves: usize,
    /// Sample files written in this process.
    pub samples: Vec<PathBuf>,
}

/// Runs (or continues) the training a config describes. `force` resumes even when the
/// checkpoint was written with a different setup. Test hooks come from the environment
/// ([`SaveHooks::from_env`]).
pub fn run_training(config: &RunConfig, force: bool) -> Result<RunOutcome> {
    if let Some(threads) = config.threads {
        tch::set_num_threads(threads);
    }
    let device = config.device()?;
    let data = prepare_data(config)?;
    let architecture = config.architecture()?;
    let model_config = config.model_config(&data)?;
    let model = match &config.init_from {
        Some(path) => {
            let loaded = crate::checkpoint::load_model(path, device)
                .with_context(|| format!("init_from: {}", path.display()))?;
            ensure!(
                loaded.model.architecture() == architecture,
                "init_from: {} holds a {} model, and the run's architecture is {architecture}",
                path.display(),
                loaded.model.architecture()
            );
            ensure!(
                loaded.encoding == data.encoding,
                "init_from: {} was trained on another encoding (vocabulary) than this run's",
                path.display()
            );
            println!("starting from the weights of {}", path.display());
            loaded.model
        }
        None => crate::model::seeded(config.train.seed, || {
            crate::model::build(architecture, &model_config, device)
        })
        .context("model")?,
    };
    println!("{}", model.summary());
    let mut checkpoint = config.checkpoint.clone();
    checkpoint.allow_config_change |= force;
    checkpoint.hooks = SaveHooks::from_env();
    let run_dir = checkpoint.run_dir();
    let mut trainer = Trainer::from_boxed(model, config.train.clone())
        .with_callback(Checkpointer::new(checkpoint, data.encoding.clone()));
    if config.samples.every_epochs > 0 {
        let mut samples =
            SampleEvery::into_run(config.samples.every_epochs, &run_dir, data.encoding.clone());
        samples.count = config.samples.count;
        samples.config = config.samples.sampling.clone();
        samples.primer = config.primer(&data)?;
        trainer.add_callback(samples);
    }
    trainer.fit(data.train.as_ref(), data.valid.as_ref())?;
    let reason = trainer.last_stop.unwrap_or(StopReason::Completed);
    let (last_checkpoint, failed_saves) = trainer
        .callback::<Checkpointer>()
        .map(|c| (c.saved.last().cloned(), c.failures.len()))
        .unwrap_or_default();
    let samples = trainer
        .callback::<SampleEvery>()
        .map(|s| s.written.clone())
        .unwrap_or_default();
    Ok(RunOutcome {
        reason,
        epoch: trainer.epoch,
        step: trainer.step,
        last_checkpoint,
        failed_saves,
        samples,
    })
}

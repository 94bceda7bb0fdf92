//! The sampling settings fitted to a model, kept in its folder beside its weights.
//!
//! A shipped model's figures are measured at the settings chosen for it on the validation tunes
//! (a temperature, a tilt fitted to its own biases). Those belong to the model, not to every
//! model: `sampling.json` in a checkpoint folder holds them, as the fields of [`SampleConfig`]
//! that differ from its defaults (a missing field takes its default; an unknown one is an error).
//! [`open_for_generation`](super::open_for_generation) reads it into
//! [`Generator::sampling`](super::Generator::sampling), and `tunesmith generate` starts from it.
//!
//! ```json
//! {"temperature": 0.95, "tilt": {"ends_on_tonic": 4.63, "pitch_class_entropy": 6.07}}
//! ```

use super::SampleConfig;
use anyhow::{Context, Result};
use std::path::Path;

/// The file in a model's folder that holds the sampling settings fitted to it.
pub const SAMPLING_FILE: &str = "sampling.json";

/// The sampling settings of the model in folder `dir`: [`SampleConfig::default`] with the
/// fields of `dir/sampling.json` put over it, or the defaults when the folder has no such file.
/// A file that cannot be read, is not a sampling config (an unknown field, a wrong type) or holds
/// a setting out of range is an error naming the file.
pub fn model_sampling(dir: &Path) -> Result<SampleConfig> {
    let path = dir.join(SAMPLING_FILE);
    if !path.is_file() {
        return Ok(SampleConfig::default());
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the sampling settings {}", path.display()))?;
    let config: SampleConfig = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a sampling config", path.display()))?;
    config
        .validate()
        .with_context(|| format!("{} holds a bad setting", path.display()))?;
    Ok(config)
}

/// The sampling settings of a model opened from `named` (a checkpoint folder, or a run folder)
/// whose checkpoint folder is `checkpoint`: the checkpoint folder's `sampling.json` when it has
/// one, else the named folder's (a run folder's settings serve each of its checkpoints), else the
/// defaults.
pub fn model_sampling_of(checkpoint: &Path, named: &Path) -> Result<SampleConfig> {
    if checkpoint.join(SAMPLING_FILE).is_file() {
        model_sampling(checkpoint)
    } else {
        model_sampling(named)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::Tilt;

    fn folder_with(text: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temporary folder");
        if let Some(text) = text {
            std::fs::write(dir.path().join(SAMPLING_FILE), text).expect("writes");
        }
        dir
    }

    #[test]
    fn a_folder_without_the_file_samples_at_the_defaults() -> Result<()> {
        let dir = folder_with(None);
        assert_eq!(model_sampling(dir.path())?, SampleConfig::default());
        Ok(())
    }

    #[test]
    fn the_file_sets_only_the_fields_it_names() -> Result<()> {
        let dir = folder_with(Some(
            r#"{"temperature": 0.95, "tilt": {"ends_on_tonic": 4.5, "pitch_class_entropy": 6.0}}"#,
        ));
        let config = model_sampling(dir.path())?;
        assert_eq!(config.temperature, 0.95);
        assert_eq!(
            config.tilt,
            Tilt::from_weights([4.5, 0.0, 6.0]),
            "the tilt's missing weight is 0"
        );
        let defaults = SampleConfig::default();
        assert_eq!(config.candidates, defaults.candidates);
        assert_eq!(config.copy_memory, defaults.copy_memory);
        assert_eq!(config.form, defaults.form);
        Ok(())
    }

    #[test]
    fn a_run_folder_serves_its_checkpoints_unless_the_checkpoint_has_its_own() -> Result<()> {
        let run = folder_with(Some(r#"{"temperature": 0.8}"#));
        let checkpoint = run.path().join("epoch-0003");
        std::fs::create_dir_all(&checkpoint)?;
        assert_eq!(
            model_sampling_of(&checkpoint, run.path())?.temperature,
            0.8,
            "the run folder's settings"
        );
        std::fs::write(checkpoint.join(SAMPLING_FILE), r#"{"temperature": 0.9}"#)?;
        assert_eq!(
            model_sampling_of(&checkpoint, run.path())?.temperature,
            0.9,
            "the checkpoint's own settings"
        );
        let plain = folder_with(None);
        assert_eq!(
            model_sampling_of(plain.path(), plain.path())?,
            SampleConfig::default()
        );
        Ok(())
    }

    #[test]
    fn a_bad_file_is_an_error_naming_it() {
        for (text, problem) in [
            (r#"{"temprature": 0.95}"#, "is not a sampling config"),
            (r#"{"temperature": "warm"}"#, "is not a sampling config"),
            (r#"{"temperature": -1}"#, "holds a bad setting"),
            ("{", "is not a sampling config"),
        ] {
            let dir = folder_with(Some(text));
            let error = format!("{:#}", model_sampling(dir.path()).expect_err(text));
            assert!(
                error.contains(SAMPLING_FILE) && error.contains(problem),
                "{text}: {error}"
            );
        }
    }
}

//! What every tutorial repeats, as one helper: where its files go, settings read from the
//! environment (so tests run it short), a folder standing for the mounted drive, and the summary
//! file its test reads.

use anyhow::{Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A tutorial's run: its output folder and the figures it records.
///
/// - files go to `$TUNESMITH_OUT` (the test harness and `make demo` set it), else `../out/<name>`;
/// - [`NotebookRun::epochs`] reads `TUNESMITH_EPOCHS`, [`NotebookRun::setting`] any variable;
/// - [`NotebookRun::drive`] is `$TUNESMITH_DRIVE`, else `<out>/drive`: point it at a mounted
///   drive and checkpoints survive the runtime;
/// - [`NotebookRun::record`] collects figures, [`NotebookRun::write_summary`] writes them to
///   `summary.json`.
#[derive(Debug, Clone)]
pub struct NotebookRun {
    /// The tutorial's name.
    pub name: String,
    /// Where its files go.
    pub out_dir: PathBuf,
    /// The figures recorded so far.
    pub summary: serde_json::Map<String, serde_json::Value>,
}

impl NotebookRun {
    /// Starts a run: finds and creates the output folder.
    pub fn start(name: &str) -> Result<Self> {
        let out_dir = std::env::var_os("TUNESMITH_OUT")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new("..").join("out").join(name));
        std::fs::create_dir_all(&out_dir)
            .with_context(|| format!("cannot create the output folder {}", out_dir.display()))?;
        Ok(NotebookRun {
            name: name.to_string(),
            out_dir,
            summary: serde_json::Map::new(),
        })
    }

    /// A file in the output folder.
    pub fn path(&self, file: &str) -> PathBuf {
        self.out_dir.join(file)
    }

    /// A setting from the environment variable `var`, or `default` when it is unset; a value that
    /// does not parse is an error naming the variable.
    pub fn setting<T: FromStr>(&self, var: &str, default: T) -> Result<T> {
        match std::env::var(var) {
            Ok(text) => text
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{var}={text:?} is not a valid value")),
            Err(_) => Ok(default),
        }
    }

    /// Epochs to train: `TUNESMITH_EPOCHS`, or `default`.
    pub fn epochs(&self, default: usize) -> Result<usize> {
        self.setting("TUNESMITH_EPOCHS", default)
    }

    /// The folder that stands for the mounted drive checkpoints go to: `TUNESMITH_DRIVE`, or
    /// `drive/` in the output folder.
    pub fn drive(&self) -> Result<PathBuf> {
        let dir = std::env::var_os("TUNESMITH_DRIVE")
            .map(PathBuf::from)
            .unwrap_or_else(|| self.out_dir.join("drive"));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the drive folder {}", dir.display()))?;
        Ok(dir)
    }

    /// Records a figure for the summary.
    pub fn record(&mut self, key: &str, value: impl Serialize) -> Result<()> {
        let value = serde_json::to_value(value)
            .with_context(|| format!("cannot record {key} in the summary"))?;
        self.summary.insert(key.to_string(), value);
        Ok(())
    }

    /// Records every field of a JSON object of figures, then writes the summary.
    pub fn finish(&mut self, figures: serde_json::Value) -> Result<PathBuf> {
        match figures {
            serde_json::Value::Object(map) => self.summary.extend(map),
            other => anyhow::bail!("the summary figures must be a JSON object, not {other}"),
        }
        self.write_summary()
    }

    /// Writes the figures to `summary.json` in the output folder (atomically), prints them and
    /// returns the path.
    pub fn write_summary(&self) -> Result<PathBuf> {
        let path = self.path("summary.json");
        let text = serde_json::to_string_pretty(&self.summary)?;
        crate::fsutil::write_atomic(&path, text.as_bytes())?;
        println!("{text}");
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_or_name_the_variable() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let mut run = NotebookRun {
            name: "t".into(),
            out_dir: dir.path().to_path_buf(),
            summary: serde_json::Map::new(),
        };
        assert_eq!(run.setting("TUNESMITH_TEST_UNSET_VARIABLE", 7usize)?, 7);
        std::env::set_var("TUNESMITH_TEST_BAD_NUMBER", "seven");
        let err = run
            .setting("TUNESMITH_TEST_BAD_NUMBER", 7usize)
            .expect_err("not a number");
        assert!(format!("{err:#}").contains("TUNESMITH_TEST_BAD_NUMBER"));
        run.record("loss", 1.5)?;
        let path = run.write_summary()?;
        let back: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
        assert_eq!(back["loss"], 1.5);
        Ok(())
    }
}

//! The sweep file: a base run config, the settings to vary (a grid, a list, seeds) and the Slurm
//! resources every run asks for; and its expansion into one set of settings per run.
//!
//! ```json
//! { "name": "lr",
//!   "base": "run.json",
//!   "dir": "/shared/me/sweeps/lr",
//!   "grid": {"train.adam.lr": [0.01, 0.003], "model.hidden_size": [128, 256]},
//!   "seeds": [1, 2],
//!   "slurm": {"partition": "gpu", "account": "mylab", "time": "04:00:00",
//!             "cpus_per_task": 4, "mem": "16G", "gpus": 1} }
//! ```
//!
//! A setting is a dotted path into the run config (`train.adam.lr`, `model.dropout`,
//! `batches.batch_size`) and a JSON value. Runs are every entry of `list` (one empty entry when
//! there is no list) crossed with every combination of `grid` (keys in sorted order, the first
//! varying slowest) crossed with every seed (`train.seed`; the base config's seed when there are
//! none). Relative paths are taken from the sweep file's folder.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The most runs one sweep may have (Slurm's default `MaxArraySize` allows indices up to 1000).
pub const MAX_RUNS: usize = 1000;

/// A sweep file, as read from JSON. An unknown field is an error naming it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// The sweep's name: the prefix of its run names and the Slurm job name (letters, digits,
    /// `-`, `_`, `.`; the sweep file's name without `.json` when absent).
    #[serde(default)]
    pub name: Option<String>,
    /// The base run config (`tunesmith train --config`) every run starts from.
    pub base: PathBuf,
    /// The sweep's folder on shared storage: run configs, the batch script, logs and state files
    /// (`<sweep file folder>/<name>` when absent).
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Where the runs' checkpoint folders go, on shared storage (`<dir>/runs` when absent).
    #[serde(default)]
    pub checkpoint_dir: Option<PathBuf>,
    /// Settings to cross: each dotted path with its values.
    #[serde(default)]
    pub grid: BTreeMap<String, Vec<Value>>,
    /// Settings to take as they are: one entry per run (crossed with the grid and the seeds).
    #[serde(default)]
    pub list: Vec<BTreeMap<String, Value>>,
    /// Seeds (`train.seed`) to repeat every point with.
    #[serde(default)]
    pub seeds: Vec<u64>,
    /// What every run asks Slurm for.
    #[serde(default)]
    pub slurm: SlurmSpec,
}

/// The resources and options of every task of the job array. (Missing fields take their
/// defaults; an unknown field is an error.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlurmSpec {
    /// `--partition` (the cluster's default when absent).
    pub partition: Option<String>,
    /// `--account` to charge (the user's default when absent).
    pub account: Option<String>,
    /// `--qos`.
    pub qos: Option<String>,
    /// `--time`, the time limit of each task (`D-HH:MM:SS`, `HH:MM:SS` or minutes).
    pub time: String,
    /// `--cpus-per-task`; also the run's libtorch threads unless its config sets `threads`.
    pub cpus_per_task: u32,
    /// `--mem` per task (`16G`, `4000M`); the cluster's default when absent.
    pub mem: Option<String>,
    /// `--gres=gpu:…` per task: a count (`1`) or a type and count (`"a100:1"`); none when absent.
    pub gpus: Option<Value>,
    /// At most this many tasks at once (`--array=0-N%max_parallel`).
    pub max_parallel: Option<u32>,
    /// Seconds before the time limit at which the task is told to save and requeue itself
    /// (`--signal=B:USR1@N`; Slurm may send it up to a minute early).
    pub signal_seconds: u32,
    /// Shell lines run before training (`module load cuda`, `source ~/venv/bin/activate`).
    pub setup: Vec<String>,
    /// More `#SBATCH` options, each written as given (`--constraint=a100`).
    pub extra: Vec<String>,
    /// The `tunesmith` binary the tasks run, as the compute nodes see it (this binary when absent).
    pub binary: Option<PathBuf>,
}

impl Default for SlurmSpec {
    fn default() -> Self {
        SlurmSpec {
            partition: None,
            account: None,
            qos: None,
            time: "01:00:00".into(),
            cpus_per_task: 1,
            mem: None,
            gpus: None,
            max_parallel: None,
            signal_seconds: 120,
            setup: Vec::new(),
            extra: Vec::new(),
            binary: None,
        }
    }
}

/// One run of a sweep: its settings over the base config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Dotted path → value, in the order they are applied.
    pub settings: BTreeMap<String, Value>,
}

impl Point {
    /// `path=value` pairs joined by spaces (strings without quotes).
    pub fn label(&self) -> String {
        self.settings
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn check_word(what: &str, text: &str) -> Result<()> {
    let ok = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !text.starts_with('.');
    if !ok {
        bail!("{what}: {text:?} must be letters, digits, '-', '_' or '.' (not starting with '.')");
    }
    Ok(())
}

/// Checks a value that goes into an `#SBATCH` line: one line, no quotes or shell specials.
fn check_option(what: &str, text: &str) -> Result<()> {
    if text.is_empty()
        || text
            .chars()
            .any(|c| c.is_control() || "\"'`$\\;".contains(c))
    {
        bail!("{what}: {text:?} must be non-empty, on one line, without quotes, '$', '\\' or ';'");
    }
    Ok(())
}

impl SweepSpec {
    /// Reads a sweep file; relative paths in it are made absolute against its folder. Every error
    /// is one line naming the file (and the field).
    pub fn load(path: &Path) -> Result<SweepSpec> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the sweep file {}", path.display()))?;
        let mut spec: SweepSpec = serde_json::from_str(&text)
            .with_context(|| format!("bad sweep file {}", path.display()))?;
        let folder = std::path::absolute(path)
            .with_context(|| format!("cannot resolve {}", path.display()))?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"));
        if spec.name.is_none() {
            spec.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        }
        spec.base = folder.join(&spec.base);
        let name = spec.name.clone().unwrap_or_default();
        spec.dir = Some(folder.join(spec.dir.take().unwrap_or_else(|| PathBuf::from(&name))));
        spec.checkpoint_dir = spec.checkpoint_dir.take().map(|d| folder.join(d));
        if let Some(binary) = spec.slurm.binary.take() {
            spec.slurm.binary = Some(folder.join(binary));
        }
        spec.check()
            .with_context(|| format!("bad sweep file {}", path.display()))?;
        Ok(spec)
    }

    /// The sweep's name.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("sweep")
    }

    /// Checks names, settings paths and Slurm options.
    pub fn check(&self) -> Result<()> {
        check_word("name", self.name())?;
        for (key, values) in &self.grid {
            check_path(&format!("grid.{key}"), key)?;
            if values.is_empty() {
                bail!("grid.{key}: no values (give at least one)");
            }
            if self.list.iter().any(|entry| entry.contains_key(key)) {
                bail!("grid.{key}: also set in list; set it in one place");
            }
        }
        for (i, entry) in self.list.iter().enumerate() {
            for key in entry.keys() {
                check_path(&format!("list[{i}].{key}"), key)?;
            }
        }
        if !self.seeds.is_empty() {
            let in_grid = self.grid.contains_key("train.seed");
            if in_grid || self.list.iter().any(|e| e.contains_key("train.seed")) {
                bail!("seeds: train.seed is also set in the grid or list; set it in one place");
            }
        }
        let s = &self.slurm;
        for (what, value) in [
            ("slurm.partition", &s.partition),
            ("slurm.account", &s.account),
            ("slurm.qos", &s.qos),
            ("slurm.mem", &s.mem),
        ] {
            if let Some(v) = value {
                check_option(what, v)?;
            }
        }
        check_option("slurm.time", &s.time)?;
        for (i, extra) in s.extra.iter().enumerate() {
            check_option(&format!("slurm.extra[{i}]"), extra)?;
            if !extra.starts_with('-') {
                bail!("slurm.extra[{i}]: {extra:?} is not an sbatch option (--name=value)");
            }
        }
        if s.cpus_per_task == 0 {
            bail!("slurm.cpus_per_task must be at least 1");
        }
        if s.signal_seconds == 0 {
            bail!("slurm.signal_seconds must be at least 1 (120 leaves time to save)");
        }
        if s.max_parallel == Some(0) {
            bail!("slurm.max_parallel must be at least 1");
        }
        if let Some(gpus) = &s.gpus {
            self.gres().with_context(|| format!("slurm.gpus: {gpus}"))?;
        }
        let runs = self.points().len();
        if runs > MAX_RUNS {
            bail!("{runs} runs: a sweep has at most {MAX_RUNS} (split it in two)");
        }
        Ok(())
    }

    /// The `--gres` value for the GPUs asked for, if any.
    pub fn gres(&self) -> Result<Option<String>> {
        Ok(match &self.slurm.gpus {
            None => None,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(0) => None,
                Some(k) => Some(format!("gpu:{k}")),
                None => bail!("a GPU count must be a whole number"),
            },
            Some(Value::String(s)) => {
                check_option("slurm.gpus", s)?;
                Some(format!("gpu:{s}"))
            }
            Some(_) => bail!("use a count (1) or a type and count (\"a100:1\")"),
        })
    }

    /// Every run's settings, in array order.
    pub fn points(&self) -> Vec<Point> {
        let list = if self.list.is_empty() {
            vec![BTreeMap::new()]
        } else {
            self.list.clone()
        };
        let mut combos: Vec<BTreeMap<String, Value>> = vec![BTreeMap::new()];
        for (key, values) in &self.grid {
            combos = combos
                .iter()
                .flat_map(|c| {
                    values.iter().map(move |v| {
                        let mut c = c.clone();
                        c.insert(key.clone(), v.clone());
                        c
                    })
                })
                .collect();
        }
        let seeds: Vec<Option<u64>> = if self.seeds.is_empty() {
            vec![None]
        } else {
            self.seeds.iter().copied().map(Some).collect()
        };
        let mut points = Vec::new();
        for entry in &list {
            for combo in &combos {
                for seed in &seeds {
                    let mut settings = entry.clone();
                    settings.extend(combo.clone());
                    if let Some(seed) = seed {
                        settings.insert("train.seed".into(), Value::from(*seed));
                    }
                    points.push(Point { settings });
                }
            }
        }
        points
    }
}

fn check_path(what: &str, path: &str) -> Result<()> {
    if path.split('.').any(|part| part.is_empty()) {
        bail!("{what}: a setting is a dotted path into the run config, such as train.adam.lr");
    }
    Ok(())
}

/// Sets the dotted `path` in `config` to `value`, making missing (or null) sections objects.
pub fn apply_setting(config: &mut Value, path: &str, value: &Value) -> Result<()> {
    let parts: Vec<&str> = path.split('.').collect();
    let mut at = config;
    for (i, part) in parts.iter().enumerate() {
        if at.is_null() {
            *at = Value::Object(Default::default());
        }
        let section = || match i {
            0 => "the config".to_string(),
            _ => parts[..i].join("."),
        };
        let map = match at {
            Value::Object(map) => map,
            other => bail!(
                "{path}: {} is {other}, not a section of settings",
                section()
            ),
        };
        if i + 1 == parts.len() {
            map.insert(part.to_string(), value.clone());
            break;
        }
        at = map.entry(part.to_string()).or_insert(Value::Null);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(value: Value) -> SweepSpec {
        serde_json::from_value(value).expect("a sweep spec")
    }

    #[test]
    fn grid_list_and_seeds_cross_in_order() {
        let s = spec(json!({
            "base": "run.json",
            "grid": {"train.adam.lr": [0.1, 0.2], "model.hidden_size": [8, 16]},
            "list": [{"model.dropout": 0.0}, {"model.dropout": 0.5}],
            "seeds": [1, 2, 3],
        }));
        let points = s.points();
        assert_eq!(points.len(), 2 * 2 * 2 * 3);
        // list slowest, then the grid keys in sorted order, then seeds.
        assert_eq!(
            points[0].label(),
            "model.dropout=0.0 model.hidden_size=8 train.adam.lr=0.1 train.seed=1"
        );
        assert_eq!(
            points[1].settings["train.seed"],
            json!(2),
            "seeds vary fastest"
        );
        assert_eq!(points[3].settings["train.adam.lr"], json!(0.2));
        assert_eq!(points[6].settings["model.hidden_size"], json!(16));
        assert_eq!(points[12].settings["model.dropout"], json!(0.5));
        let plain = spec(json!({"base": "run.json"}));
        assert_eq!(plain.points().len(), 1, "no settings: one run of the base");
        assert!(plain.points()[0].settings.is_empty());
    }

    #[test]
    fn bad_specs_are_named() {
        let cases = [
            (
                json!({"base": "r.json", "grid": {"train.lr": []}}),
                "grid.train.lr: no values",
            ),
            (
                json!({"base": "r.json", "grid": {"a": [1]}, "list": [{"a": 2}]}),
                "also set in list",
            ),
            (
                json!({"base": "r.json", "grid": {"a..b": [1]}}),
                "dotted path",
            ),
            (
                json!({"base": "r.json", "seeds": [1], "grid": {"train.seed": [1]}}),
                "seeds: train.seed",
            ),
            (json!({"base": "r.json", "name": "a b"}), "name: \"a b\""),
            (
                json!({"base": "r.json", "slurm": {"partition": "gpu; rm"}}),
                "slurm.partition",
            ),
            (
                json!({"base": "r.json", "slurm": {"gpus": [1]}}),
                "slurm.gpus",
            ),
            (
                json!({"base": "r.json", "slurm": {"extra": ["x"]}}),
                "slurm.extra[0]",
            ),
            (
                json!({"base": "r.json", "grid": {"a": (0..40).collect::<Vec<_>>(), "b": (0..40).collect::<Vec<_>>()}}),
                "at most 1000",
            ),
        ];
        for (value, expected) in cases {
            let err = format!("{:#}", spec(value.clone()).check().unwrap_err());
            assert!(err.contains(expected), "{value}: {err}");
        }
        let err = serde_json::from_value::<SweepSpec>(json!({"base": "r.json", "gird": {}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `gird`"), "{err}");
        let err =
            serde_json::from_value::<SweepSpec>(json!({"base": "r.json", "slurm": {"cpus": 2}}))
                .unwrap_err()
                .to_string();
        assert!(err.contains("unknown field `cpus`"), "{err}");
    }

    #[test]
    fn gpus_become_gres() -> Result<()> {
        let with = |gpus: Value| spec(json!({"base": "r.json", "slurm": {"gpus": gpus}}));
        assert_eq!(with(json!(2)).gres()?, Some("gpu:2".into()));
        assert_eq!(with(json!("a100:1")).gres()?, Some("gpu:a100:1".into()));
        assert_eq!(with(json!(0)).gres()?, None);
        assert!(with(json!(1.5)).gres().is_err());
        Ok(())
    }

    #[test]
    fn settings_are_set_by_dotted_path() -> Result<()> {
        let mut config = json!({"train": {"adam": {"lr": 0.1}, "lr_plateau": null}, "threads": 2});
        apply_setting(&mut config, "train.adam.lr", &json!(0.5))?;
        apply_setting(&mut config, "model.hidden_size", &json!(64))?;
        apply_setting(&mut config, "train.lr_plateau.patience", &json!(3))?;
        assert_eq!(config["train"]["adam"]["lr"], json!(0.5));
        assert_eq!(config["model"]["hidden_size"], json!(64));
        assert_eq!(config["train"]["lr_plateau"]["patience"], json!(3));
        let err = apply_setting(&mut config, "threads.x", &json!(1)).unwrap_err();
        assert!(format!("{err}").contains("threads.x"), "{err}");
        Ok(())
    }
}

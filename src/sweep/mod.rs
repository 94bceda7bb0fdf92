//! Sweeps of headless runs on a Slurm cluster: many runs of [`crate::headless`] over settings and
//! seeds, each a task of one job array, surviving preemption and time limits.
//!
//! `tunesmith sweep SWEEP.json` reads a sweep file ([`spec`]), writes one run config per point
//! and a batch script ([`slurm`]) into the sweep's folder on shared storage, and with `--submit`
//! hands the script to `sbatch`. `tunesmith sweep status DIR` reads the runs' checkpoint folders
//! and the small state files the tasks append to ([`status`]), so it works from any machine that
//! mounts the storage; a notebook shows the same table and the runs' loss curves.
//!
//! ```text
//! <dir>/manifest.json       the manifest: every run's name, settings and config ([`Manifest`])
//!       sweep.sbatch        the job-array script (`sbatch --array`, `--requeue`, `--signal`)
//!       configs/<run>.json  one run config per point (`tunesmith train --config`)
//!       state/<run>.jsonl   one line per task start, end and self-requeue
//!       logs/task-<i>.out   each task's output, appended across restarts
//!       jobs.txt            the job ids `--submit` got
//!       runs/<run>/         the checkpoints (unless the sweep file names another checkpoint_dir)
//! ```
//!
//! This module sits beside [`crate::headless`] (it imports it to validate every run config, and
//! [`crate::checkpoint`] to read runs); the notebook layer imports [`status`] to display it.

pub mod slurm;
pub mod spec;
pub mod status;

pub use spec::{apply_setting, Point, SlurmSpec, SweepSpec};
pub use status::{RunState, RunStatus, SweepStatus};

use crate::headless::{run_training, Corpus, RunConfig, RunOutcome};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The manifest's file name in a sweep folder.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The batch script's file name.
pub const SCRIPT_FILE: &str = "sweep.sbatch";
/// The folder of run configs.
pub const CONFIGS_DIR: &str = "configs";
/// The folder of state files (`<run>.jsonl`).
pub const STATE_DIR: &str = "state";
/// The folder of task logs.
pub const LOGS_DIR: &str = "logs";
/// The file `--submit` appends job ids to.
pub const JOBS_FILE: &str = "jobs.txt";
/// The `format` field of a manifest.
pub const MANIFEST_FORMAT: &str = "tunesmith-sweep";

/// One run of a sweep, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEntry {
    /// Its task index in the job array.
    pub index: usize,
    /// Its name: the checkpoint folder under the checkpoint dir.
    pub name: String,
    /// Its settings over the base config.
    pub settings: BTreeMap<String, Value>,
    /// Its run config, relative to the sweep folder.
    pub config: PathBuf,
    /// The epochs it trains.
    pub epochs: usize,
}

/// What `tunesmith sweep` wrote: the sweep's runs and where everything is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// The manifest's version (1).
    pub version: u32,
    /// The tunesmith that wrote it.
    pub crate_version: String,
    /// The sweep's name.
    pub name: String,
    /// When it was written (Unix seconds).
    pub created_unix: u64,
    /// The base run config it was made from.
    pub base: PathBuf,
    /// Where the runs' checkpoint folders go (relative to the sweep folder when inside it).
    pub checkpoint_dir: PathBuf,
    /// The binary the tasks run.
    pub binary: PathBuf,
    /// The Slurm options of every task.
    pub slurm: SlurmSpec,
    /// The runs, in array order.
    pub runs: Vec<RunEntry>,
}

impl Manifest {
    /// Reads `<dir>/manifest.json`.
    pub fn read(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{} is not a sweep folder: cannot read {}",
                dir.display(),
                path.display()
            )
        })?;
        let manifest: Manifest = serde_json::from_str(&text)
            .with_context(|| format!("bad sweep manifest {}", path.display()))?;
        if manifest.format != MANIFEST_FORMAT || manifest.version != 1 {
            bail!(
                "{} is not a version 1 tunesmith sweep manifest (format {:?}, version {})",
                path.display(),
                manifest.format,
                manifest.version
            );
        }
        Ok(manifest)
    }

    /// The checkpoint folder that holds the runs, for a sweep folder at `dir`.
    pub fn checkpoint_dir_in(&self, dir: &Path) -> PathBuf {
        dir.join(&self.checkpoint_dir)
    }

    /// The run with this name.
    pub fn run(&self, name: &str) -> Option<&RunEntry> {
        self.runs.iter().find(|r| r.name == name)
    }
}

/// A sweep written to its folder.
#[derive(Debug, Clone)]
pub struct WrittenSweep {
    /// The sweep folder.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// The batch script.
    pub script: PathBuf,
}

/// The `tunesmith` binary the tasks run when the sweep file names none: this process's own when
/// it is `tunesmith`, else `tunesmith` found on the nodes' `PATH`.
pub fn default_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .filter(|p| p.file_stem().is_some_and(|s| s == "tunesmith"))
        .and_then(|p| std::fs::canonicalize(&p).ok().or(Some(p)))
        .unwrap_or_else(|| PathBuf::from("tunesmith"))
}

/// Creates `dir` (and its parents) and checks a file can be written in it.
fn writable_folder(what: &str, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the {what} {}", dir.display()))?;
    tempfile::Builder::new()
        .prefix(".tunesmith-probe-")
        .tempfile_in(dir)
        .with_context(|| format!("the {what} {} is not writable", dir.display()))?;
    Ok(())
}

fn check_corpus(config: &RunConfig) -> Result<()> {
    match &config.corpus {
        Corpus::Abc(dir) | Corpus::Midi(dir) if !dir.is_dir() => bail!(
            "corpus: the folder {} does not exist (the compute nodes must see it at this path)",
            dir.display()
        ),
        _ => Ok(()),
    }
}

/// The run config of one point: the base with the point's settings, checkpointing into
/// `checkpoint_dir/name`, with libtorch's threads set to the CPUs asked for unless given.
fn point_config(
    base: &Value,
    point: &Point,
    name: &str,
    checkpoint_dir: &Path,
    cpus: u32,
) -> Result<Value> {
    let mut value = base.clone();
    for (path, setting) in &point.settings {
        apply_setting(&mut value, path, setting)?;
    }
    apply_setting(
        &mut value,
        "checkpoint.dir",
        &Value::from(checkpoint_dir.display().to_string()),
    )?;
    apply_setting(&mut value, "checkpoint.run", &Value::from(name))?;
    if value.get("threads").is_none_or(Value::is_null) {
        value["threads"] = Value::from(cpus);
    }
    Ok(value)
}

/// Checks every setting of a point is a field of the run config: some sections take unknown
/// fields silently, so each path must still be there when the config is written back.
fn known_settings(config: &RunConfig, point: &Point) -> Result<()> {
    let back = serde_json::to_value(config)?;
    for path in point.settings.keys() {
        let found = path
            .split('.')
            .try_fold(&back, |at, part| at.as_object().and_then(|m| m.get(part)));
        if found.is_none() {
            bail!("{path}: unknown field (the run config has no such setting)");
        }
    }
    Ok(())
}

/// `path` relative to `dir` when inside it, else as it is.
fn relative_to(path: &Path, dir: &Path) -> PathBuf {
    path.strip_prefix(dir)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Writes a sweep: validates the base config with every point's settings (each error names the
/// run and its settings), checks the shared folders can be written, and writes the run configs,
/// the manifest and the batch script into the sweep folder (`out`, or the sweep file's `dir`).
/// Writing the same sweep again refreshes its files; a folder that holds a different sweep is
/// refused.
pub fn write_sweep(spec: &SweepSpec, out: Option<&Path>) -> Result<WrittenSweep> {
    spec.check()?;
    let base = RunConfig::load(&spec.base).context("base config")?;
    check_corpus(&base).context("base config")?;
    let dir = match out.map(Path::to_path_buf).or_else(|| spec.dir.clone()) {
        Some(d) => std::path::absolute(&d)
            .with_context(|| format!("cannot resolve the sweep folder {}", d.display()))?,
        None => bail!("no sweep folder: give --out DIR or \"dir\" in the sweep file"),
    };
    let checkpoint_dir = spec
        .checkpoint_dir
        .clone()
        .unwrap_or_else(|| dir.join("runs"));
    let base_value = serde_json::to_value(&base).context("base config")?;
    let points = spec.points();
    let width = (points.len().saturating_sub(1)).to_string().len().max(3);
    let mut runs = Vec::new();
    let mut configs = Vec::new();
    for (index, point) in points.iter().enumerate() {
        let name = format!("{}-{index:0width$}", spec.name());
        let what = || {
            let label = point.label();
            if label.is_empty() {
                format!("run {name}")
            } else {
                format!("run {name} ({label})")
            }
        };
        let value = point_config(
            &base_value,
            point,
            &name,
            &checkpoint_dir,
            spec.slurm.cpus_per_task,
        )
        .with_context(what)?;
        let config: RunConfig = serde_json::from_value(value.clone()).with_context(what)?;
        known_settings(&config, point).with_context(what)?;
        config.check().with_context(what)?;
        check_corpus(&config).with_context(what)?;
        let file = Path::new(CONFIGS_DIR).join(format!("{name}.json"));
        runs.push(RunEntry {
            index,
            name,
            settings: point.settings.clone(),
            config: file.clone(),
            epochs: config.train.epochs,
        });
        configs.push((file, value));
    }
    writable_folder("shared sweep folder", &dir)?;
    writable_folder("shared checkpoint folder", &checkpoint_dir)?;
    for sub in [CONFIGS_DIR, STATE_DIR, LOGS_DIR] {
        writable_folder("shared sweep folder", &dir.join(sub))?;
    }
    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        version: 1,
        crate_version: env!("CARGO_PKG_VERSION").into(),
        name: spec.name().into(),
        created_unix: status::now_unix(),
        base: spec.base.clone(),
        checkpoint_dir: relative_to(&checkpoint_dir, &dir),
        binary: spec.slurm.binary.clone().unwrap_or_else(default_binary),
        slurm: spec.slurm.clone(),
        runs,
    };
    if dir.join(MANIFEST_FILE).exists() {
        let old = Manifest::read(&dir)?;
        let same = |m: &Manifest| -> Vec<(String, BTreeMap<String, Value>)> {
            m.runs
                .iter()
                .map(|r| (r.name.clone(), r.settings.clone()))
                .collect()
        };
        if same(&old) != same(&manifest) || old.checkpoint_dir != manifest.checkpoint_dir {
            bail!(
                "{} already holds a different sweep ({} runs); choose another folder (--out) or \
                 remove it",
                dir.display(),
                old.runs.len()
            );
        }
    }
    for (file, value) in &configs {
        let text = serde_json::to_string_pretty(value)?;
        crate::fsutil::write_atomic(&dir.join(file), text.as_bytes())?;
    }
    let script = dir.join(SCRIPT_FILE);
    let text = slurm::batch_script(&manifest, &dir, spec.gres()?)?;
    crate::fsutil::write_atomic(&script, text.as_bytes())?;
    set_executable(&script)?;
    let text = serde_json::to_string_pretty(&manifest)?;
    crate::fsutil::write_atomic(&dir.join(MANIFEST_FILE), text.as_bytes())?;
    Ok(WrittenSweep {
        dir,
        manifest,
        script,
    })
}

fn set_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}

/// Submits a written sweep's script with `sbatch` and records the job id in `jobs.txt`.
pub fn submit(sweep: &WrittenSweep) -> Result<String> {
    let job = slurm::submit(&sweep.script)?;
    append_line(
        &sweep.dir.join(JOBS_FILE),
        &format!("{job} {}", status::now_unix()),
    )?;
    Ok(job)
}

fn append_line(path: &Path, line: &str) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {} to append", path.display()))?;
    writeln!(file, "{line}").with_context(|| format!("cannot append to {}", path.display()))
}

/// Trains one run of a sweep here, in this process, as its Slurm task would (for a machine
/// without Slurm, or a notebook): records the start and the end in its state file, so the status
/// shows it like any other.
pub fn run_task(dir: &Path, run: &str) -> Result<RunOutcome> {
    let manifest = Manifest::read(dir)?;
    let entry = manifest
        .run(run)
        .with_context(|| format!("the sweep in {} has no run {run:?}", dir.display()))?;
    let state = dir.join(STATE_DIR).join(format!("{}.jsonl", entry.name));
    let event = |event: status::Event| -> Result<()> {
        append_line(&state, &serde_json::to_string(&event)?)
    };
    let mut start = status::Event::now("start");
    start.job = format!("local_{}", entry.index);
    event(start.clone())?;
    let result = RunConfig::load(&dir.join(&entry.config)).and_then(|c| run_training(&c, false));
    let mut end = status::Event {
        event: "exit".into(),
        ..start
    };
    end.time = status::now_unix();
    match &result {
        Ok(outcome) => {
            end.code = Some(0);
            if outcome.reason == crate::train::StopReason::Interrupted {
                end.signal = Some("INT".into());
            }
        }
        Err(e) => {
            end.code = Some(1);
            end.error = Some(format!("{e:#}").replace('\n', " "));
        }
    }
    event(end)?;
    result
}

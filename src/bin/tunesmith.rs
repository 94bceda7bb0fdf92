//! `tunesmith`: headless training and generation.
//!
//! ```text
//! tunesmith train --config FILE [--force]     train or continue the run FILE describes
//! tunesmith generate --checkpoint PATH [--count N] [--temperature T] [--seed S] [--max-len N]
//! tunesmith list RUN_DIR                      the run's checkpoints, oldest first
//! ```
//!
//! `train` checkpoints as the config says; run it again (after a crash, a kill, Ctrl-C) and it
//! continues from the newest valid checkpoint. SIGINT or SIGTERM finish the step, save and exit 0.

use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use tunesmith::checkpoint::{open_for_generation, store};
use tunesmith::generate::{generate_tunes, SampleConfig};
use tunesmith::headless::{run_training, RunConfig};
use tunesmith::train::StopReason;

const USAGE: &str = "usage:
  tunesmith train --config FILE [--force]
  tunesmith generate --checkpoint PATH [--count N] [--temperature T] [--seed S] [--max-len N]
  tunesmith list RUN_DIR";

/// Command-line options: `--name value` pairs, bare flags, and positional arguments.
struct Args {
    words: Vec<String>,
}

impl Args {
    fn value(&self, name: &str) -> Option<&str> {
        let at = self.words.iter().position(|w| w == name)?;
        self.words.get(at + 1).map(String::as_str)
    }

    fn flag(&self, name: &str) -> bool {
        self.words.iter().any(|w| w == name)
    }

    fn parsed<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T> {
        match self.value(name) {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| anyhow::anyhow!("{name} {text:?} is not a valid value")),
        }
    }
}

fn train(args: &Args) -> Result<()> {
    let path = PathBuf::from(
        args.value("--config")
            .context("train needs --config FILE")?,
    );
    let config = RunConfig::load(&path)?;
    let outcome = run_training(&config, args.flag("--force"))?;
    let saved = outcome
        .last_checkpoint
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "nothing new".into());
    match outcome.reason {
        StopReason::Interrupted => println!(
            "interrupted at step {} (epoch {}); saved {saved}; run the same command to continue",
            outcome.step, outcome.epoch
        ),
        reason => println!(
            "finished ({reason:?}): {} epochs, {} steps; last checkpoint {saved}",
            outcome.epoch, outcome.step
        ),
    }
    if outcome.failed_saves > 0 {
        eprintln!("warning: {} checkpoint saves failed", outcome.failed_saves);
    }
    Ok(())
}

fn generate(args: &Args) -> Result<()> {
    let path = PathBuf::from(
        args.value("--checkpoint")
            .context("generate needs --checkpoint PATH")?,
    );
    let (model, vocab, meta) = open_for_generation(&path, tch::Device::Cpu)?;
    eprintln!(
        "{} (epoch {}, step {}, tunesmith {})",
        meta.name, meta.progress.epoch, meta.progress.step, meta.crate_version
    );
    let config = SampleConfig {
        temperature: args.parsed("--temperature", 0.8)?,
        seed: args.parsed("--seed", 0)?,
        max_len: args.parsed("--max-len", 1500)?,
        ..SampleConfig::default()
    };
    let count = args.parsed("--count", 4usize)?;
    for (i, tune) in generate_tunes(&model, &vocab, count, &config)?
        .iter()
        .enumerate()
    {
        println!("X:{}\nT:{} sample {}\n{tune}", i + 1, meta.name, i + 1);
    }
    Ok(())
}

fn list(args: &Args) -> Result<()> {
    let dir = PathBuf::from(args.words.get(1).context("list needs RUN_DIR")?);
    println!(
        "{:<16} {:>6} {:>10} {:>11}  status",
        "checkpoint", "epoch", "step", "valid loss"
    );
    for entry in store::list(&dir)? {
        match &entry.meta {
            Ok(m) => println!(
                "{:<16} {:>6} {:>10} {:>11}  ok",
                entry.name(),
                m.progress.epoch,
                m.progress.step,
                m.valid_loss.map_or("-".into(), |l| format!("{l:.4}"))
            ),
            Err(e) => println!(
                "{:<16} {:>6} {:>10} {:>11}  damaged: {e}",
                entry.name(),
                "?",
                "?",
                "?"
            ),
        }
    }
    Ok(())
}

fn main() -> Result<()> {
    let args = Args {
        words: std::env::args().skip(1).collect(),
    };
    match args.words.first().map(String::as_str) {
        Some("train") => train(&args),
        Some("generate") => generate(&args),
        Some("list") => list(&args),
        _ => bail!("{USAGE}"),
    }
}

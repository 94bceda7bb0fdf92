//! `tunesmith`: headless training and generation for every model.
//!
//! ```text
//! tunesmith train --config run.json [--force]     train or continue the run the config describes
//! tunesmith generate --checkpoint PATH [--out DIR] [--count N] [--temperature T] …
//! tunesmith render --checkpoint PATH --score FILE [--out FILE.wav]   notes to audio, neural synth
//! tunesmith list RUN_DIR                          a run's checkpoints, oldest first
//! tunesmith sweep SWEEP.json [--out DIR] [--submit]  run configs and a Slurm job-array script
//! tunesmith sweep status DIR [--json]             every run of a sweep: state, epoch, best loss
//! ```
//!
//! `train` checkpoints as the config says; run it again (after a crash, a kill, Ctrl-C) and it
//! continues from the newest valid checkpoint. SIGINT or SIGTERM finish the step, save and exit 0.
//! Every error is one line on standard error, and the exit status is 1 (2 for a bad command line).

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tunesmith::checkpoint::store;
use tunesmith::generate::{open_for_generation, Form, Length, Primer, SampleConfig};
use tunesmith::headless::{run_training, RunConfig};
use tunesmith::sweep::{SweepSpec, SweepStatus};
use tunesmith::train::StopReason;

/// Music deep learning, headless: train any tunesmith model from a JSON config, generate from
/// any checkpoint.
#[derive(Parser, Debug)]
#[command(name = "tunesmith", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of the `Generate` variant's flags costs nothing worth boxing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    /// Train (or continue) the run a JSON config describes; run it again to resume.
    Train {
        /// The run config (JSON): corpus, encoding, model, batches, train, checkpoint, samples.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Resume even when the newest checkpoint was written with a different setup.
        #[arg(long)]
        force: bool,
    },
    /// Write pieces from a checkpoint: `.abc` for a character model, `.mid` for the others.
    Generate {
        /// A checkpoint folder, or a run folder (its newest valid checkpoint).
        #[arg(long, value_name = "PATH")]
        checkpoint: PathBuf,
        /// Where the files go.
        #[arg(long, value_name = "DIR", default_value = "generated")]
        out: PathBuf,
        /// How many pieces (seeds SEED, SEED+1, …).
        #[arg(long, default_value_t = 4)]
        count: usize,
        /// Softmax temperature; 0 is greedy. By default the model's own (its folder's
        /// `sampling.json`; 0.95 for the shipped `models/abc_folk`, at which its figures in
        /// docs/benchmarks.md were measured), else `SampleConfig`'s (1).
        #[arg(long)]
        temperature: Option<f64>,
        /// Keep only the k most likely tokens (0 keeps all). By default the model's own, else 0.
        #[arg(long)]
        top_k: Option<usize>,
        /// Nucleus sampling: the most likely tokens whose probabilities reach P. By default the
        /// model's own, else 1 (all).
        #[arg(long)]
        top_p: Option<f64>,
        /// Seed of the first piece.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// How long: end, steps:N, notes:N, bars:N or seconds:S. By default the model's own,
        /// else `end`.
        #[arg(long)]
        length: Option<Length>,
        /// The most tokens or frames to write per piece. By default the model's own, else
        /// `SampleConfig`'s (2,000).
        #[arg(long)]
        max_steps: Option<usize>,
        /// Character models: the form of each tune: `learned` (one of the corpus's common forms
        /// for its meter, the model choosing which), `drawn` (one drawn from the corpus's mix for
        /// its meter), `free` (no form), or bars per part such as `8,8`. By default the model's
        /// own, else `learned`.
        #[arg(long)]
        form: Option<Form>,
        /// Start from this `.abc` or `.mid` file.
        #[arg(long, value_name = "FILE")]
        primer: Option<PathBuf>,
        /// Use at most this many steps of the primer.
        #[arg(long)]
        primer_steps: Option<usize>,
        /// Piano-roll models: at most this many notes at once. By default the model's own, else
        /// no limit.
        #[arg(long)]
        max_notes_per_frame: Option<usize>,
        /// Piano-roll models: a key less likely than this never sounds (0: every key is drawn
        /// with its probability). By default the model's own, else 0.
        #[arg(long)]
        min_note_probability: Option<f64>,
        /// Character models under the ABC constraint: draw this many candidates per tune and
        /// keep one by the share of the model's probability the mask left it (1: the first draw).
        /// By default the model's own, else `SampleConfig`'s (8).
        #[arg(long)]
        candidates: Option<usize>,
        /// Token models: sample the model alone, without the copy memory.
        #[arg(long)]
        no_copy_memory: bool,
        /// Token models: sharpen the copy memory's fitted weights by this exponent (1: the
        /// weights that read held-out tunes best; more copies more, so tunes repeat more bars).
        /// By default the model's own copy memory, else `SampleConfig`'s (the fitted weights
        /// sharpened by 1.3).
        #[arg(long)]
        copy_sharpness: Option<f64>,
        /// Character models without a primer: let the model write its `M:` and `L:` lines instead
        /// of drawing them from the corpus's mix (by default the model's own choice, else the
        /// mix).
        #[arg(long)]
        model_header: bool,
        /// Character models drawn from candidates: choose among them by the mask alone, without
        /// the tilt towards the corpus's share of tunes ending on the tonic and its evenness of
        /// pitch classes (the model's own tilt when its folder's `sampling.json` has one, else
        /// `SampleConfig`'s).
        #[arg(long)]
        no_tilt: bool,
    },
    /// Play the notes of a score with a neural synthesizer's checkpoint into a WAV file.
    Render {
        /// A neural synthesizer's checkpoint folder, or its run folder (the newest valid one).
        #[arg(long, value_name = "PATH")]
        checkpoint: PathBuf,
        /// The notes: an `.abc` tune or a `.mid` file.
        #[arg(long, value_name = "FILE")]
        score: PathBuf,
        /// The WAV file to write (16-bit mono, at the model's sample rate).
        #[arg(long, value_name = "FILE", default_value = "rendered.wav")]
        out: PathBuf,
        /// Seed of the model's random draws (a sample-level model draws every sample).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Softmax temperature of those draws; 0 is greedy.
        #[arg(long, default_value_t = 0.9)]
        temperature: f64,
    },
    /// Write a trained model for shipping: its best weights and `meta.json`, without the
    /// training state (a few MB instead of four times as much), as `OUT/NAME`, atomically. Over
    /// an earlier export, its other files (README, recipe) are kept.
    Export {
        /// A checkpoint folder, or a run folder (its newest valid checkpoint).
        #[arg(long, value_name = "PATH")]
        checkpoint: PathBuf,
        /// The folder the exported checkpoint goes into.
        #[arg(long, value_name = "DIR", default_value = "models")]
        out: PathBuf,
        /// The exported checkpoint's folder name.
        #[arg(long)]
        name: String,
    },
    /// List a run's checkpoints, oldest first, with damaged ones marked.
    List {
        /// The run folder.
        run_dir: PathBuf,
    },
    /// Many runs on a Slurm cluster: from a sweep file (a base config, a grid or list of
    /// settings, seeds, Slurm resources) write one run config per point and a job-array batch
    /// script; `sweep status DIR` shows where every run stands.
    Sweep(SweepArgs),
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct SweepArgs {
    #[command(subcommand)]
    action: Option<SweepAction>,
    /// The sweep file (JSON): base, grid, list, seeds, slurm, dir, checkpoint_dir, name.
    #[arg(value_name = "SWEEP_FILE", required = true)]
    file: Option<PathBuf>,
    /// The sweep folder, on storage the compute nodes share (default: the sweep file's `dir`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Also submit the job array with sbatch.
    #[arg(long)]
    submit: bool,
}

#[derive(Subcommand, Debug)]
enum SweepAction {
    /// Every run of a sweep (pending, running, finished, failed; epoch, best validation loss),
    /// read from its folder and the runs' checkpoint folders.
    Status {
        /// The sweep folder (it holds manifest.json).
        dir: PathBuf,
        /// Print the status as JSON (with each run's loss history).
        #[arg(long)]
        json: bool,
    },
}

fn sweep(args: SweepArgs) -> Result<()> {
    match (args.action, args.file) {
        (Some(SweepAction::Status { dir, json }), _) => {
            let status = SweepStatus::read(&dir)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{}", status.table());
            }
            Ok(())
        }
        (None, Some(file)) => {
            let spec = SweepSpec::load(&file)?;
            let written = tunesmith::sweep::write_sweep(&spec, args.out.as_deref())
                .with_context(|| format!("sweep file {}", file.display()))?;
            let m = &written.manifest;
            println!(
                "sweep {}: {} runs; configs in {}, checkpoints into {}",
                m.name,
                m.runs.len(),
                written.dir.join(tunesmith::sweep::CONFIGS_DIR).display(),
                m.checkpoint_dir_in(&written.dir).display()
            );
            println!("batch script {}", written.script.display());
            if args.submit {
                let job = tunesmith::sweep::submit(&written)?;
                println!("submitted job array {job} ({} tasks)", m.runs.len());
            } else {
                println!("submit with: sbatch {}", written.script.display());
            }
            println!("status: tunesmith sweep status {}", written.dir.display());
            Ok(())
        }
        (None, None) => anyhow::bail!("give a sweep file, or `sweep status DIR`"),
    }
}

fn train(config: PathBuf, force: bool) -> Result<()> {
    let config = RunConfig::load(&config)?;
    let outcome = run_training(&config, force)?;
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
    if !outcome.samples.is_empty() {
        println!("wrote {} sample files", outcome.samples.len());
    }
    if outcome.failed_saves > 0 {
        eprintln!("warning: {} checkpoint saves failed", outcome.failed_saves);
    }
    Ok(())
}

fn primer_from_file(path: Option<PathBuf>, steps: Option<usize>) -> Result<Primer> {
    let primer = match path {
        None => Primer::none(),
        Some(path) => music_file(&path, "primer")?,
    };
    Ok(match steps {
        Some(n) => primer.first(n),
        None => primer,
    })
}

/// The music of an `.abc` or `.mid` file (the `role` it plays names it in errors).
fn music_file(path: &Path, role: &str) -> Result<Primer> {
    Ok(match path.extension().and_then(|e| e.to_str()) {
        Some("abc") => Primer::abc(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the {role} {}", path.display()))?,
        ),
        Some("mid" | "midi") => Primer::midi(path),
        _ => anyhow::bail!("the {role} {} is neither .abc nor .mid", path.display()),
    })
}

fn render(
    checkpoint: PathBuf,
    score_path: PathBuf,
    out: PathBuf,
    seed: u64,
    temperature: f64,
) -> Result<()> {
    let generator = open_for_generation(&checkpoint, tunesmith::device::best_device())?;
    let score = music_file(&score_path, "score")?
        .as_score()
        .with_context(|| format!("cannot read the notes of {}", score_path.display()))?
        .context("a score file holds music")?;
    let config = SampleConfig {
        temperature,
        seed,
        ..SampleConfig::default()
    };
    let (audio, rendered) = tunesmith::render::neural::neural_audio(
        generator.model.as_ref(),
        &generator.encoding,
        &score,
        &config,
    )
    .with_context(|| format!("cannot render {}", score_path.display()))?;
    audio.write_wav(&out)?;
    println!(
        "{}  ({:.2} s of audio at {} Hz, rendered in {:.2} s)",
        out.display(),
        rendered.seconds(),
        rendered.sample_rate,
        rendered.seconds_taken
    );
    Ok(())
}

fn list(run_dir: PathBuf) -> Result<()> {
    println!(
        "{:<16} {:>6} {:>10} {:>11}  status",
        "checkpoint", "epoch", "step", "valid loss"
    );
    for entry in store::list(&run_dir)? {
        match &entry.meta {
            Ok(m) => println!(
                "{:<16} {:>6} {:>10} {:>11}  ok ({})",
                entry.name(),
                m.progress.epoch,
                m.progress.step,
                m.valid_loss.map_or("-".into(), |l| format!("{l:.4}")),
                m.what()
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

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train { config, force } => train(config, force),
        Command::Generate {
            checkpoint,
            out,
            count,
            temperature,
            top_k,
            top_p,
            seed,
            length,
            max_steps,
            form,
            primer,
            primer_steps,
            max_notes_per_frame,
            min_note_probability,
            candidates,
            no_copy_memory,
            copy_sharpness,
            model_header,
            no_tilt,
        } => {
            if let Some(k) = copy_sharpness {
                anyhow::ensure!(
                    k.is_finite() && k > 0.0,
                    "--copy-sharpness must be a positive number, not {k}"
                );
            }
            let generator = open_for_generation(&checkpoint, tunesmith::device::best_device())?;
            if let Some(meta) = &generator.meta {
                eprintln!(
                    "{}: {} (epoch {}, step {}, tunesmith {})",
                    meta.name,
                    meta.what(),
                    meta.progress.epoch,
                    meta.progress.step,
                    meta.crate_version
                );
            }
            let config = SampleConfig {
                temperature: temperature.unwrap_or(generator.sampling.temperature),
                top_k: top_k.unwrap_or(generator.sampling.top_k),
                top_p: top_p.unwrap_or(generator.sampling.top_p),
                seed,
                length: length.unwrap_or(generator.sampling.length),
                max_steps: max_steps.unwrap_or(generator.sampling.max_steps),
                max_notes_per_frame: max_notes_per_frame.or(generator.sampling.max_notes_per_frame),
                min_note_probability: min_note_probability
                    .unwrap_or(generator.sampling.min_note_probability),
                form: form.unwrap_or_else(|| generator.sampling.form.clone()),
                candidates: candidates.unwrap_or(generator.sampling.candidates),
                copy_memory: match (no_copy_memory, copy_sharpness) {
                    (true, _) => tunesmith::model::CopyMemory::off(),
                    (false, Some(k)) => tunesmith::model::CopyMemory::fitted().sharpened(k),
                    (false, None) => generator.sampling.copy_memory.clone(),
                },
                header: if model_header {
                    tunesmith::generate::Header::Model
                } else {
                    generator.sampling.header.clone()
                },
                tilt: if no_tilt {
                    tunesmith::generate::Tilt::off()
                } else {
                    generator.sampling.tilt
                },
                ..generator.sampling.clone()
            };
            let primer = primer_from_file(primer, primer_steps)?;
            let pieces = generator.generate_many(count, &primer, &config)?;
            let paths = tunesmith::generate::write_pieces(&out, "piece", &pieces)?;
            for (path, piece) in paths.iter().zip(&pieces) {
                let form = piece
                    .form
                    .as_ref()
                    .map(|parts| format!(", form {parts:?}"))
                    .unwrap_or_default();
                let cut = if piece.reached_step_cap {
                    ", CUT at --max-steps before its end"
                } else {
                    ""
                };
                println!(
                    "{}  ({} new steps, {} notes{form}{cut})",
                    path.display(),
                    piece.new_steps(),
                    piece.note_count()
                );
            }
            Ok(())
        }
        Command::Render {
            checkpoint,
            score,
            out,
            seed,
            temperature,
        } => render(checkpoint, score, out, seed, temperature),
        Command::Export {
            checkpoint,
            out,
            name,
        } => {
            let dir = tunesmith::checkpoint::resolve_checkpoint(&checkpoint)?;
            let full = tunesmith::checkpoint::Checkpoint::load(&dir)?;
            let path = full.export_for_generation(&out, &name)?;
            println!("{} (from {})", path.display(), dir.display());
            Ok(())
        }
        Command::List { run_dir } => list(run_dir),
        Command::Sweep(args) => sweep(args),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                print!("{e}");
                return ExitCode::SUCCESS;
            }
            let text = e.render().to_string();
            // The first line, with the next one when it ends in a colon (a list of what is missing).
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            let mut first = lines.next().unwrap_or("bad command line").to_string();
            if first.ends_with(':') {
                if let Some(next) = lines.next() {
                    first = format!("{first} {next}");
                }
            }
            eprintln!("{first} (see tunesmith --help)");
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

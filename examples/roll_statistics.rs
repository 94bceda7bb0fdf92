//! Pieces sampled from a [`PitchLstm`] trained on JSB's chorales (or another set of the polyphonic
//! benchmark, such as Nottingham), held against the same set's test pieces with
//! [`RollStatistics`] (issue 21): prints the comparison as Markdown, a distance per statistic, and
//! which statistics are within 15% of the test pieces'.
//!
//!     cargo run --release --example roll_statistics -- DATA [--run-dir runs/roll_statistics_jsb]
//!         [--budget-minutes 20] [--pieces 50] [--bars 32] [--temperature 1] [--seed 1]
//!         [--min-probability P]
//!         [--threads 1] [--retrain] [--against test|valid|train]
//!
//! DATA is `JSB_Chorales.json` of the polyphonic benchmark (../shared/data/README.md) or the
//! folder holding it, or another file of the benchmark (`Nottingham.json`, whose frames are eighth
//! notes where JSB's are quarter notes; the data carry no meter, so bars are read as 4/4 on both
//! sides of the comparison). Unless the run folder already has an exported model beside it (`RUN-DIR-best`), the
//! example trains one with the benchmark's `--preset balstm` settings for the set
//! ([`PolyBenchConfig::balstm`]), each piece read after a silent frame so that the model learns
//! how pieces begin (`lead_in`), for at most `--budget-minutes` CPU minutes of the process,
//! keeping the epoch with the best validation NLL, checkpointing into RUN-DIR (`runs/` is not
//! versioned) and exporting the best weights to `RUN-DIR-best`; `--retrain` trains afresh. Then it
//! samples `--pieces` pieces of `--bars` bars of 4/4 (four frames a bar for JSB, eight for
//! Nottingham) from no
//! primer, seeds `--seed`, `--seed + 1`, …, every pitch drawn from the model's probability at
//! `--temperature`, with no cap on the notes per frame, keys less likely than `--min-probability`
//! left silent (`SampleConfig::min_note_probability`; by default 0.03 for JSB and none for
//! Nottingham, each chosen on the set's validation pieces: docs/benchmarks.md, "Stray keys left
//! silent" and "Nottingham's pieces against their corpus"). `--against valid` compares them with the
//! validation pieces instead of the test pieces, to choose sampling settings without the test set.
//!
//! [`PitchLstm`]: tunesmith::model::PitchLstm

use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use tunesmith::bench::polyphonic::split_batches;
use tunesmith::bench::{run_benchmark_checkpointed, PolyBenchConfig, PolyDataset};
use tunesmith::checkpoint::{resolve_checkpoint, Checkpoint, CheckpointConfig};
use tunesmith::encode::{PianoRoll, PianoRollConfig};
use tunesmith::generate::{open_for_generation, Length, Primer, SampleConfig};
use tunesmith::metrics::{silence_calibration, RollStatistics, RollStatisticsConfig};

/// The share of statistics the check allows: each within 15% of the test pieces'.
const WITHIN: f64 = 0.15;

struct Args {
    data: PathBuf,
    run_dir: PathBuf,
    budget_minutes: f64,
    pieces: usize,
    bars: usize,
    temperature: f64,
    /// Keys less likely than this stay silent; `None`: the set's own floor ([`default_floor`]).
    min_probability: Option<f64>,
    seed: u64,
    threads: i32,
    retrain: bool,
    /// The held-out split the pieces are compared with: `test` or `valid`.
    against: String,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        data: PathBuf::new(),
        run_dir: PathBuf::from("runs/roll_statistics_jsb"),
        budget_minutes: 20.0,
        pieces: 50,
        bars: 32,
        temperature: 1.0,
        min_probability: None,
        seed: 1,
        threads: 1,
        retrain: false,
        against: "test".to_string(),
    };
    let mut it = std::env::args().skip(1);
    let mut data = None;
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--run-dir" => args.run_dir = PathBuf::from(value(&arg)?),
            "--budget-minutes" => args.budget_minutes = value(&arg)?.parse()?,
            "--pieces" => args.pieces = value(&arg)?.parse()?,
            "--bars" => args.bars = value(&arg)?.parse()?,
            "--temperature" => args.temperature = value(&arg)?.parse()?,
            "--min-probability" => args.min_probability = Some(value(&arg)?.parse()?),
            "--seed" => args.seed = value(&arg)?.parse()?,
            "--threads" => args.threads = value(&arg)?.parse()?,
            "--retrain" => args.retrain = true,
            "--against" => {
                args.against = value(&arg)?;
                if !["test", "valid", "train"].contains(&args.against.as_str()) {
                    bail!("--against takes test, valid or train, not {}", args.against);
                }
            }
            other if other.starts_with("--") => bail!("unknown option {other}"),
            path => data = Some(PathBuf::from(path)),
        }
    }
    let data = data.context(
        "usage: roll_statistics DATA (JSB_Chorales.json or its folder) [--run-dir D] \
         [--budget-minutes 20] [--pieces 50] [--bars 32] [--temperature 1] [--seed 1] \
         [--threads 1] [--retrain] [--against test|valid|train]",
    )?;
    args.data = if data.is_dir() {
        data.join("JSB_Chorales.json")
    } else {
        data
    };
    Ok(args)
}

/// The set's grid: one frame per quarter note (JSB) or per eighth note (Nottingham,
/// ../shared/data/README.md), the benchmark's 88 keys, in the data's own keys.
fn grid(data: &PolyDataset) -> PianoRollConfig {
    let eighth_notes = data.name.to_lowercase().starts_with("nottingham");
    PianoRollConfig {
        steps_per_quarter: if eighth_notes { 2 } else { 1 },
        low_pitch: tunesmith::bench::bl2012::LOW_PITCH,
        num_pitches: tunesmith::bench::bl2012::NUM_PITCHES,
        transpose_to_c: false,
    }
}

/// The run folder's parent and name.
fn run_parts(args: &Args) -> Result<(PathBuf, String)> {
    let parent = args.run_dir.parent().unwrap_or(std::path::Path::new("."));
    let run = args
        .run_dir
        .file_name()
        .context("--run-dir names no folder")?;
    Ok((parent.to_path_buf(), run.to_string_lossy().into_owned()))
}

/// The folder the trained model is exported to: `RUN-DIR-best`, beside the run folder.
fn exported_dir(args: &Args) -> Result<PathBuf> {
    let (parent, run) = run_parts(args)?;
    Ok(parent.join(format!("{run}-best")))
}

/// Trains the model into `args.run_dir` and exports its best weights beside it.
fn train(args: &Args, data: &PolyDataset) -> Result<()> {
    let base = PolyBenchConfig {
        max_seconds: Some(args.budget_minutes * 60.0),
        cpu_budget: true,
        seed: args.seed,
        ..PolyBenchConfig::default()
    };
    // Read every piece after a silent frame, so the model learns how pieces begin: the pieces
    // below are drawn from no primer.
    let config = PolyBenchConfig {
        lead_in: true,
        ..PolyBenchConfig::balstm(&data.name, &base)
    };
    let (parent, run) = run_parts(args)?;
    if args.retrain {
        let _ = std::fs::remove_dir_all(&args.run_dir);
        let _ = std::fs::remove_dir_all(exported_dir(args)?);
    }
    let checkpoint = CheckpointConfig::new(&parent, &run);
    let result = run_benchmark_checkpointed(
        data,
        &config,
        tch::Device::Cpu,
        Some((checkpoint, grid(data))),
    )?;
    println!(
        "Trained {} ({} parameters): best validation NLL {:.3} at epoch {} of {}, test NLL {:.3} \
         per frame; {:.1} CPU minutes.",
        result.model,
        result.parameters,
        result.best_valid_nll,
        result.best_epoch,
        result.epochs,
        result.test_nll,
        result.cpu_seconds / 60.0
    );
    let newest = resolve_checkpoint(&args.run_dir)?;
    let exported =
        Checkpoint::load(&newest)?.export_for_generation(&parent, &format!("{run}-best"))?;
    println!("Exported {} from {}", exported.display(), newest.display());
    Ok(())
}

/// The lowest and highest pitch that sounds in the training pieces.
fn training_pitch_range(data: &PolyDataset) -> (u8, u8) {
    let pitches = data.train.iter().flatten().flatten().copied();
    let lowest = pitches.clone().min().unwrap_or(0);
    (lowest, pitches.max().unwrap_or(127))
}

/// The floor under which keys stay silent when `--min-probability` is not given, chosen on each
/// set's validation pieces (docs/benchmarks.md): 0.03 for JSB ("Stray keys left silent"), none for
/// Nottingham, where any floor thins the chords under the tune ("Nottingham's pieces against
/// their corpus").
fn default_floor(data: &PolyDataset) -> f64 {
    if data.name.to_lowercase().starts_with("nottingham") {
        0.0
    } else {
        0.03
    }
}

fn main() -> Result<()> {
    let args = parse_args()?;
    tch::set_num_threads(args.threads);
    let data = PolyDataset::load(&args.data)?;
    let min_probability = args.min_probability.unwrap_or_else(|| default_floor(&data));
    let exported = exported_dir(&args)?;
    if args.retrain || !exported.exists() {
        train(&args, &data)?;
    }
    let generator = open_for_generation(&exported, tch::Device::Cpu)?;
    let sampling = SampleConfig {
        temperature: args.temperature,
        min_note_probability: min_probability,
        seed: args.seed,
        length: Length::Bars(args.bars),
        ..SampleConfig::default()
    };
    let started = std::time::Instant::now();
    let pieces = generator.generate_many(args.pieces, &Primer::none(), &sampling)?;
    let generated: Vec<PianoRoll> = pieces
        .iter()
        .map(|p| p.roll.clone().context("a piano-roll model writes rolls"))
        .collect::<Result<_>>()?;
    let seconds = started.elapsed().as_secs_f64();
    let held_out_pieces = match args.against.as_str() {
        "valid" => &data.valid,
        "train" => &data.train,
        _ => &data.test,
    };
    let test: Vec<PianoRoll> = held_out_pieces
        .iter()
        .map(|piece| PianoRoll::from_frames(piece.clone(), grid(&data)))
        .collect();
    let config = RollStatisticsConfig::default();
    let held_out = RollStatistics::of_rolls(&test, &config)?;
    let comparison =
        RollStatistics::compare(&RollStatistics::of_rolls(&generated, &config)?, &held_out)?;
    let frames: usize = generated.iter().map(PianoRoll::len).sum();
    println!(
        "\n{} pieces of {} bars ({frames} frames) sampled at temperature {} in {seconds:.1} s, \
         keys below probability {} left silent, against the {} {} pieces of {}; 4/4, key windows of {} bars.\n",
        generated.len(),
        args.bars,
        args.temperature,
        min_probability,
        test.len(),
        args.against,
        data.name,
        config.key_window_bars
    );
    println!("{}", comparison.markdown());
    // A range can only grow with a piece's length, and the held-out pieces are shorter than
    // `--bars`: the same pieces cut to the held-out pieces' lengths (piece i to held-out piece i's,
    // cycling), as a diagnostic beside the check.
    let cut: Vec<PianoRoll> = generated
        .iter()
        .zip(test.iter().cycle())
        .map(|(piece, held)| {
            let frames = piece.frames[..piece.len().min(held.len())].to_vec();
            PianoRoll::from_frames(frames, piece.config)
        })
        .collect();
    let cut_comparison =
        RollStatistics::compare(&RollStatistics::of_rolls(&cut, &config)?, &held_out)?;
    if let Some(row) = cut_comparison
        .rows
        .iter()
        .find(|row| row.name.starts_with("pitch range"))
    {
        println!(
            "Cut to the held-out pieces' lengths: {} {} against {} (distance {:.3}).\n",
            row.name,
            row.generated.display(),
            row.held_out.display(),
            row.distance
        );
    }
    let (lowest, highest) = training_pitch_range(&data);
    let notes = |rolls: &[PianoRoll], keep: &dyn Fn(u8) -> bool| -> usize {
        rolls
            .iter()
            .flat_map(|roll| roll.frames.iter().flatten())
            .filter(|&&pitch| keep(pitch))
            .count()
    };
    let outside = |pitch: u8| pitch < lowest || pitch > highest;
    let leading_silence: usize = generated
        .iter()
        .map(|roll| roll.frames.iter().take_while(|f| f.is_empty()).count())
        .sum();
    let silent: usize = generated
        .iter()
        .map(|roll| roll.frames.iter().filter(|f| f.is_empty()).count())
        .sum();
    println!(
        "Silent generated frames: {silent}, of which {leading_silence} before a piece's first note.\n"
    );
    // Does the model give silence the chance it has in the held-out pieces? Each piece read after
    // a silent frame, as the model was trained.
    let held_out_batches = split_batches(held_out_pieces, 0, 8)?.with_lead_in()?;
    if let Some(c) = silence_calibration(generator.model.as_ref(), &held_out_batches) {
        println!(
            "Silent frames the model expects in the {} pieces, each frame given the piece's own \
             past: {:.1}; silent there: {} of {} frames.\n",
            args.against, c.expected, c.observed, c.frames
        );
    }
    println!(
        "Sounding cells outside the training pieces' pitches {lowest}..={highest}: generated {} of \
         {}, held out {} of {}.\n",
        notes(&generated, &outside),
        notes(&generated, &|_| true),
        notes(&test, &outside),
        notes(&test, &|_| true),
    );
    let (near, far): (Vec<_>, Vec<_>) = comparison
        .rows
        .iter()
        .partition(|row| row.distance <= WITHIN);
    let names = |rows: &[&tunesmith::metrics::tune_statistics::ComparisonRow]| {
        rows.iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    };
    println!("Within 15% ({}): {}", near.len(), names(&near));
    println!("Beyond 15% ({}): {}", far.len(), names(&far));
    Ok(())
}

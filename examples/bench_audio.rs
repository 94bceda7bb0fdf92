//! The neural-audio benchmark: a DDSP-style model (`Ddsp`) trained within a time budget on tunes of
//! the default ABC corpus rendered with the SoundFont (dry, mono, 16 kHz), then the metrics table on
//! held-out tunes (never heard in training) against the SoundFont renderings, beside the built-in
//! synthesizer (loudness-matched) and silence; the real-time factor of generation; and the audio
//! frames and samples per second in training.
//!
//! The budget is CPU time of the process (all its threads together, counted from the first
//! training step), so other work on a shared machine does not change how much training a run
//! gets; the epoch in progress is closed early and validated when it runs out.
//!
//!     cargo run --release --example bench_audio -- [--cpu-minutes 20] [--train-tunes 120]
//!         [--test-tunes 8] [--max-seconds 20] [--clip-seconds 1] [--batch 8] [--hidden 128]
//!         [--layers 1] [--harmonics 40] [--bands 32] [--voices 3] [--program 73] [--lr 3e-3]
//!         [--sample-rate 16000] [--hop 64] [--material PATH]
//!         [--seed 1] [--threads N] [--out out/bench_audio] [--json results.json]
//!         [--inharmonicity piano|AT_A4,PER_OCTAVE] [--allow-setup-change]
//!
//! A run resumes from the checkpoints under `--out`; `--allow-setup-change` lets it resume with
//! other settings (a lower `--lr` to finish a run), listing what changed.
//!
//! `--material PATH` trains and tests on the pieces of a polyphonic data set instead (a file of
//! `../shared/data/bl2012/`, e.g. `JSB_Chorales.json`: its own train, valid and test splits, a
//! quarter note a frame at 120 quarters a minute), for a piano synthesizer with `--program 0`.
//! The table then also gives the chroma similarity and the share of written notes heard, for the
//! SoundFont itself too.
//!
//! `--out` receives each held-out tune's three renderings as WAV files, the first tune's
//! spectrograms, the table in Markdown and the checkpoints of the run. Timings depend on the
//! machine and its load; they are printed, never checked.

use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::time::Instant;
use tunesmith::bench::audio::{
    audio_data, audio_tune_sets, evaluate_audio, poly_tune_sets, TuneSelection,
};
use tunesmith::bench::PolyDataset;
use tunesmith::checkpoint::{CheckpointConfig, Checkpointer};
use tunesmith::corpus::load_default_abc_corpus;
use tunesmith::encode::{AudioFeatureConfig, Encoding};
use tunesmith::model::inharmonic::Inharmonicity;
use tunesmith::model::{Ddsp, DdspConfig};
use tunesmith::prelude::CleanOptions;
use tunesmith::render::spectrogram::spectrogram_svg;
use tunesmith::train::{
    seeded, AdamConfig, Callback, Control, DataInfo, StopReason, TrainConfig, Trainer,
};

/// Seconds of CPU time this process has used, all threads together.
fn process_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Stops training (closing the epoch, as the wall-clock budget does) once the process has used
/// `seconds` of CPU time since the first step.
#[derive(Debug)]
struct CpuBudget {
    seconds: f64,
    started: f64,
    used: f64,
}

impl Callback for CpuBudget {
    fn on_train_begin(&mut self, _: &mut Trainer, _: &DataInfo) -> Result<()> {
        self.started = process_cpu_seconds();
        Ok(())
    }

    fn on_step_end(&mut self, _: &Trainer, _: &DataInfo) -> Result<Control> {
        self.used = process_cpu_seconds() - self.started;
        Ok(if self.used >= self.seconds {
            Control::Stop(StopReason::TimeBudget)
        } else {
            Control::Continue
        })
    }
}

struct Args {
    cpu_minutes: f64,
    selection: TuneSelection,
    clip_seconds: f64,
    batch: usize,
    hidden: i64,
    layers: i64,
    harmonics: i64,
    bands: i64,
    layout: AudioFeatureConfig,
    lr: f64,
    seed: u64,
    threads: Option<i32>,
    out: PathBuf,
    json: Option<PathBuf>,
    material: Option<PathBuf>,
    inharmonicity: Option<Inharmonicity>,
    /// Resume from a checkpoint written with other settings (a lower `--lr`), keeping these.
    allow_setup_change: bool,
}

fn parse() -> Result<Args> {
    let mut a = Args {
        cpu_minutes: 20.0,
        selection: TuneSelection::default(),
        clip_seconds: 1.0,
        batch: 8,
        hidden: 128,
        layers: 1,
        harmonics: 40,
        bands: 32,
        layout: AudioFeatureConfig::default(),
        lr: 3e-3,
        seed: 1,
        threads: None,
        out: PathBuf::from("out/bench_audio"),
        json: None,
        material: None,
        inharmonicity: None,
        allow_setup_change: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--allow-setup-change" {
            a.allow_setup_change = true;
            continue;
        }
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--cpu-minutes" => a.cpu_minutes = value()?.parse()?,
            "--train-tunes" => a.selection.train = value()?.parse()?,
            "--valid-tunes" => a.selection.valid = value()?.parse()?,
            "--test-tunes" => a.selection.test = value()?.parse()?,
            "--max-seconds" => a.selection.max_seconds = value()?.parse()?,
            "--clip-seconds" => a.clip_seconds = value()?.parse()?,
            "--batch" => a.batch = value()?.parse()?,
            "--hidden" => a.hidden = value()?.parse()?,
            "--layers" => a.layers = value()?.parse()?,
            "--harmonics" => a.harmonics = value()?.parse()?,
            "--bands" => a.bands = value()?.parse()?,
            "--voices" => a.layout.voices = value()?.parse()?,
            "--program" => a.layout.program = value()?.parse()?,
            "--sample-rate" => a.layout.sample_rate = value()?.parse()?,
            "--hop" => a.layout.hop = value()?.parse()?,
            "--material" => a.material = Some(PathBuf::from(value()?)),
            "--lr" => a.lr = value()?.parse()?,
            "--seed" => a.seed = value()?.parse()?,
            "--threads" => a.threads = Some(value()?.parse()?),
            "--out" => a.out = PathBuf::from(value()?),
            "--json" => a.json = Some(PathBuf::from(value()?)),
            "--inharmonicity" => {
                a.inharmonicity = Some(match value()?.as_str() {
                    "piano" => Inharmonicity::SOUNDFONT_PIANO,
                    pair => {
                        let (at_a4, per_octave) = pair
                            .split_once(',')
                            .context("--inharmonicity takes piano or AT_A4,PER_OCTAVE")?;
                        Inharmonicity {
                            at_a4: at_a4.trim().parse()?,
                            per_octave: per_octave.trim().parse()?,
                        }
                    }
                })
            }
            other => bail!(
                "unknown option {other} (see the comment at the top of examples/bench_audio.rs)"
            ),
        }
    }
    Ok(a)
}

fn main() -> Result<()> {
    let args = parse()?;
    if let Some(n) = args.threads {
        tch::set_num_threads(n);
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let started = Instant::now();
    let sets = match &args.material {
        Some(path) => poly_tune_sets(&PolyDataset::load(path)?, &args.selection),
        None => {
            let corpus = load_default_abc_corpus(&CleanOptions::default())?;
            audio_tune_sets(&corpus.tunes, &args.selection)
        }
    };
    let data = audio_data(&sets, &args.layout, args.clip_seconds, args.batch, None)?;
    println!(
        "data: {} train tunes ({} clips, {:.0} s), {} valid tunes ({} clips), {} test tunes; {}; made in {:.1} s",
        sets.train.len(),
        data.train.len(),
        data.train.seconds(),
        sets.valid.len(),
        data.valid.len(),
        sets.test.len(),
        args.layout.describe(),
        started.elapsed().as_secs_f64()
    );
    let config = DdspConfig {
        harmonics: args.harmonics,
        noise_bands: args.bands,
        inharmonicity: args.inharmonicity,
        ..DdspConfig::for_features(&args.layout, args.hidden, args.layers)
    };
    let model = seeded(args.seed, || Ddsp::new(config, tch::Device::Cpu))?;
    println!("{model}");
    let encoding = Encoding::from(args.layout.clone());
    let train_config = TrainConfig {
        epochs: 10_000,
        adam: AdamConfig {
            lr: args.lr,
            ..AdamConfig::default()
        },
        seed: args.seed,
        keep_best: true,
        valid_limit: 250 * 60,
        ..TrainConfig::default()
    };
    let ckpt = CheckpointConfig {
        every_minutes: Some(5.0),
        allow_config_change: args.allow_setup_change,
        ..CheckpointConfig::new(args.out.join("drive"), "ddsp")
    };
    let budget = CpuBudget {
        seconds: args.cpu_minutes * 60.0,
        started: 0.0,
        used: 0.0,
    };
    let mut trainer = Trainer::new(model, train_config)
        .with_callback(budget)
        .with_callback(Checkpointer::new(ckpt, encoding.clone()));
    let trained = Instant::now();
    trainer.fit(&data.train, &data.valid)?;
    trainer.restore_best()?;
    let train_seconds = trained.elapsed().as_secs_f64();
    let cpu_used = trainer.callback::<CpuBudget>().map_or(0.0, |b| b.used);
    let records = &trainer.history.records;
    let step_seconds: f64 = records.iter().map(|r| r.seconds).sum();
    let frames: f64 = records
        .iter()
        .map(|r| r.tokens_per_second * r.seconds)
        .sum();
    let frames_per_second = frames / step_seconds.max(1e-9);
    let frames_per_cpu_second = frames / cpu_used.max(1e-9);
    println!(
        "{:.0} audio frames per CPU second in training ({:.1}× real time per CPU second, validation included)",
        frames_per_cpu_second,
        frames_per_cpu_second / args.layout.frame_rate()
    );
    println!(
        "trained {} steps ({} epochs) in {:.1} CPU min ({:.1} min wall, {} threads); {:.0} audio frames/s = {:.0} samples/s in training wall-clock ({:.1}× real time)",
        trainer.step,
        records.len(),
        cpu_used / 60.0,
        train_seconds / 60.0,
        tch::get_num_threads(),
        frames_per_second,
        frames_per_second * args.layout.hop as f64,
        frames_per_second / args.layout.frame_rate()
    );
    let (table, renderings) = evaluate_audio(trainer.model(), &encoding, &data.test, None)?;
    let markdown = table.to_markdown();
    println!("\n{markdown}\n{} held-out tunes, {:.0} s of audio; neural rendering {:.1}× real time on the CPU", table.tunes, table.seconds, table.real_time_factor);
    std::fs::write(args.out.join("table.md"), &markdown)?;
    for (i, r) in renderings.iter().enumerate() {
        for (kind, audio) in [
            ("soundfont", &r.soundfont),
            ("neural", &r.neural),
            ("builtin", &r.builtin),
        ] {
            audio.write_wav(args.out.join(format!("test_{:02}_{kind}.wav", i + 1)))?;
            if i == 0 {
                spectrogram_svg(audio, &format!("{} ({kind})", r.name))?
                    .save(args.out.join(format!("test_01_{kind}.svg")))?;
            }
        }
    }
    if let Some(path) = &args.json {
        let summary = serde_json::json!({
            "table": table, "steps": trainer.step, "epochs": records.len(), "train_minutes": train_seconds / 60.0,
            "frames_per_second": frames_per_second, "frames_per_cpu_second": frames_per_cpu_second, "samples_per_second": frames_per_second * args.layout.hop as f64,
            "parameters": trainer.model().parameter_count(), "cpu_minutes_budget": args.cpu_minutes, "cpu_minutes_used": cpu_used / 60.0,
            "train_tunes": sets.train.len(), "train_seconds_of_audio": data.train.seconds(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&summary)?)?;
    }
    Ok(())
}

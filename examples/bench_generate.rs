//! Generation speed of the notebook-01 character LSTM (embedding 48, LSTM 2×256, vocabulary 83),
//! side by side in one run: today's per-step libtorch sampler (`sample_ids`: one libtorch LSTM
//! step per character, the reference and the baseline), the crate's fused CPU kernel on one
//! stream (on one core, and on two with `model::fused::Pair`), and the fused kernel sampling 64
//! streams at once, on one core and on every core (the lanes shared out among rayon's threads);
//! then whole ABC tunes under the ABC constraint, per-step against batched. Every method samples
//! (temperature 0.8) and runs each measurement `REPEATS` times, alternating the methods; the
//! table gives characters per second.
//!
//! Usage: `cargo run --release --example bench_generate -- [TOKENS] [LANES] [REPEATS] [THREADS]`
//! (defaults 400 characters per stream, 64 lanes, 3 repeats, 1 libtorch thread; weights are
//! random, which does not change speed). `RAYON_NUM_THREADS` sets the cores of the "every core"
//! rows (all of them by default).

use anyhow::{Context, Result};
use std::time::Instant;
use tch::Device;
use tunesmith::encode::{CharVocab, Encoding};
use tunesmith::generate::batch::{sample_lanes_in_groups, Lane};
use tunesmith::generate::tokens::sample_ids;
use tunesmith::generate::{generate_many, Length, Primer, SampleConfig};
use tunesmith::model::{FusedLm, LstmConfig, LstmLm};

/// 83 characters, as the default corpus's vocabulary has.
const ALPHABET: &str =
    "\n !\"#'(),-./0123456789:<=>ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_abcdefghijklmnopqrstuvwxyz{|}~";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let tokens: usize = arg(0, "400").parse().context("TOKENS")?;
    let lanes: usize = arg(1, "64").parse().context("LANES")?;
    let repeats: usize = arg(2, "3").parse().context("REPEATS")?;
    tch::set_num_threads(arg(3, "1").parse().context("THREADS")?);
    let vocab = CharVocab::from_texts([ALPHABET]);
    tch::manual_seed(0);
    let config = LstmConfig {
        embed_dim: 48,
        dropout: 0.1,
        ..LstmConfig::two_layer(vocab.len(), 256)
    };
    let model = LstmLm::new(config, Device::Cpu)?;
    let fused = FusedLm::new(&model)?;
    let context = vocab.encode("\n\nM:6/8\nL:1/8\nK:G\n")?;
    let sampling = SampleConfig {
        temperature: 0.8,
        length: Length::Steps(tokens),
        max_steps: tokens,
        ..SampleConfig::default()
    };
    let per_step =
        || -> Result<usize> { Ok(sample_ids(&model, &context, &sampling, &mut |_| false)?.len()) };
    let fused_lanes = |n: usize, groups: usize| -> Result<usize> {
        let configs: Vec<SampleConfig> = (0..n)
            .map(|i| SampleConfig {
                seed: i as u64,
                ..sampling.clone()
            })
            .collect();
        let batch = configs
            .iter()
            .map(|config| Lane {
                context: context.clone(),
                config,
                constraint: None,
                limit: tokens,
                stop: Box::new(|_: &[i64]| false),
            })
            .collect();
        Ok(sample_lanes_in_groups(&fused, batch, groups)?
            .iter()
            .map(Vec::len)
            .sum())
    };
    let encoding = Encoding::from(vocab.clone());
    let tunes = |fused: bool, n: usize| -> Result<usize> {
        let config = SampleConfig {
            temperature: 0.8,
            max_steps: 600,
            fused,
            ..SampleConfig::default()
        };
        let pieces = generate_many(&model, &encoding, n, &Primer::none(), &config)?;
        Ok(pieces.iter().map(|p| p.new_steps()).sum())
    };
    let cores = rayon::current_num_threads();
    // Inside a pool of one thread one lane gets no second core (`model::fused::Pair`).
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .context("a pool of one thread")?;
    fused_lanes(2, 1)?; // warm-up
    println!(
        "generation speed, LSTM 2x256 (embed 48, vocab {}), temperature 0.8, CPU, {} libtorch \
         thread(s), {} rayon thread(s) for every core; {tokens} characters per stream, {lanes} \
         lanes",
        vocab.len(),
        tch::get_num_threads(),
        cores
    );
    println!("| method | repeat | characters | seconds | characters/s |");
    println!("|---|---|---|---|---|");
    type Run<'a> = (&'static str, Box<dyn Fn() -> Result<usize> + 'a>);
    let runs: [Run; 7] = [
        (
            "per-step libtorch sampler (sample_ids), 1 stream",
            Box::new(per_step),
        ),
        (
            "fused kernel, 1 stream, one core",
            Box::new(|| one_thread.install(|| fused_lanes(1, 1))),
        ),
        (
            "fused kernel, 1 stream, two cores (Pair)",
            Box::new(|| fused_lanes(1, 1)),
        ),
        (
            "fused kernel, batched lanes, one core",
            Box::new(|| fused_lanes(lanes, 1)),
        ),
        (
            "fused kernel, batched lanes, every core",
            Box::new(|| fused_lanes(lanes, cores)),
        ),
        (
            "ABC tunes, constraint on, per-step libtorch (4 tunes)",
            Box::new(|| tunes(false, 4)),
        ),
        (
            "ABC tunes, constraint on, fused and batched (lanes tunes), every core",
            Box::new(|| tunes(true, lanes)),
        ),
    ];
    let mut best = vec![0f64; runs.len()];
    for repeat in 1..=repeats {
        for (k, (name, run)) in runs.iter().enumerate() {
            let start = Instant::now();
            let chars = run()?;
            let seconds = start.elapsed().as_secs_f64();
            let rate = chars as f64 / seconds;
            best[k] = best[k].max(rate);
            println!("| {name} | {repeat} | {chars} | {seconds:.3} | {rate:.0} |");
        }
    }
    println!();
    println!("best of {repeats}, against the per-step libtorch sampler on one stream:");
    for (k, (name, _)) in runs.iter().enumerate() {
        println!(
            "  {name}: {:.0} characters/s ({:.1}x)",
            best[k],
            best[k] / best[0]
        );
    }
    println!(
        "  ABC tunes: fused and batched / per-step = {:.1}x",
        best[6] / best[5]
    );
    Ok(())
}

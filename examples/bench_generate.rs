//! Generation speed of the notebook-01 LSTM: stateful stepping (one LSTM step per new token,
//! carrying the state) against re-running the last 100-token window from a zero state for every
//! new token, and the crate's sampler end to end. Prints a table; each measurement is repeated.
//!
//! Usage: `cargo run --release --example bench_generate -- [TOKENS] [HIDDEN] [REPEATS] [THREADS]`
//! (defaults 400 tokens, hidden 256, 2 repeats, libtorch's thread count; weights are random,
//! which does not change speed).

use anyhow::{Context, Result};
use std::time::Instant;
use tch::{Device, Tensor};
use tunesmith::generate::tokens::sample_ids;
use tunesmith::generate::{Length, SampleConfig};
use tunesmith::model::{LstmConfig, LstmLm};

const VOCAB: i64 = 83;
const WINDOW: usize = 100;

/// A named way of generating `tokens` tokens.
type Run<'a> = (&'static str, Box<dyn Fn() -> Result<()> + 'a>);

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let tokens: usize = arg(0, "400").parse().context("TOKENS")?;
    let hidden: i64 = arg(1, "256").parse().context("HIDDEN")?;
    let repeats: usize = arg(2, "2").parse().context("REPEATS")?;
    if let Some(threads) = args.get(3) {
        tch::set_num_threads(threads.parse().context("THREADS")?);
    }
    tch::manual_seed(0);
    let config = LstmConfig {
        embed_dim: 48,
        dropout: 0.1,
        ..LstmConfig::two_layer(VOCAB as usize, hidden)
    };
    let model = LstmLm::new(config, Device::Cpu)?;
    let primer: Vec<i64> = (0..WINDOW as i64).map(|i| i % VOCAB).collect();
    // Warm-up.
    stateful(&model, &primer, 20);
    windowed(&model, &primer, 5);

    println!(
        "generation speed, LSTM 2x{hidden} (embed 48, vocab {VOCAB}), batch 1, {tokens} new tokens, \
         greedy choice, CPU, {} threads",
        tch::get_num_threads()
    );
    println!("| method | repeat | seconds | tokens/s |");
    println!("|---|---|---|---|");
    let mut rates: Vec<(&str, f64)> = Vec::new();
    for repeat in 1..=repeats {
        let runs: [Run; 3] = [
            (
                "stateful step (one LSTM step per token)",
                Box::new(|| {
                    stateful(&model, &primer, tokens);
                    Ok(())
                }),
            ),
            (
                "re-run a 100-token window per token",
                Box::new(|| {
                    windowed(&model, &primer, tokens);
                    Ok(())
                }),
            ),
            (
                "tunesmith::generate::tokens::sample_ids (stateful, sampling, temperature 0.8)",
                Box::new(|| {
                    let config = SampleConfig {
                        temperature: 0.8,
                        length: Length::Steps(tokens),
                        max_steps: tokens,
                        ..SampleConfig::default()
                    };
                    let ids = sample_ids(&model, &primer, &config, &mut |_| false)?;
                    anyhow::ensure!(ids.len() == tokens, "sampler stopped early");
                    Ok(())
                }),
            ),
        ];
        for (name, run) in &runs {
            let start = Instant::now();
            run()?;
            let seconds = start.elapsed().as_secs_f64();
            let rate = tokens as f64 / seconds;
            println!("| {name} | {repeat} | {seconds:.3} | {rate:.0} |");
            rates.push((name, rate));
        }
    }
    let best = |prefix: &str| {
        rates
            .iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .map(|r| r.1)
            .fold(0.0, f64::max)
    };
    println!(
        "stateful / windowed tokens per second (best of {repeats}): {:.1}",
        best("stateful") / best("re-run")
    );
    Ok(())
}

/// Greedy generation carrying the LSTM state: one step per token after reading the primer.
fn stateful(model: &LstmLm, primer: &[i64], n: usize) -> Vec<i64> {
    tch::no_grad(|| {
        let (logits, mut state) =
            model.forward(&Tensor::from_slice(primer).view([1, -1]), None, false);
        let mut next = logits.select(1, -1).argmax(-1, false);
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(next.int64_value(&[0]));
            let (logits, s) = model.step(&next, Some(&state));
            state = s;
            next = logits.argmax(-1, false);
        }
        out
    })
}

/// Greedy generation re-running the last `WINDOW` tokens from a zero state for every new token.
fn windowed(model: &LstmLm, primer: &[i64], n: usize) -> Vec<i64> {
    tch::no_grad(|| {
        let mut context = primer.to_vec();
        for _ in 0..n {
            let window = &context[context.len().saturating_sub(WINDOW)..];
            let (logits, _) = model.forward(&Tensor::from_slice(window).view([1, -1]), None, false);
            let id = logits.select(1, -1).argmax(-1, false).int64_value(&[0]);
            context.push(id);
        }
        context.split_off(primer.len())
    })
}

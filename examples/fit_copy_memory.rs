//! Fits the copy memory's weights ([`tunesmith::model::copy_memory`]) for a character model on
//! the validation tunes of the default corpus's fixed split, each tune read from a zero state, and
//! reports bits per character with and without the memory on the validation and test tunes, and
//! per band of match length how often the copied character is right and what the model gave it.
//!
//! Usage: `cargo run --release --example fit_copy_memory -- [CHECKPOINT]` (default
//! `models/abc_folk`).

use anyhow::{Context, Result};
use std::path::PathBuf;
use tunesmith::abc::CleanOptions;
use tunesmith::corpus::load_default_abc_corpus;
use tunesmith::encode::{CharVocab, Encoding};
use tunesmith::generate::open_for_generation;
use tunesmith::metrics::{fixed_split, SPLIT_VERSION};
use tunesmith::model::copy_memory::{band, mixed_log_likelihood, propose, BAND_UPPER};
use tunesmith::model::{CopyMemory, FusedLm, Stepper};

/// For every character of every tune after its first: (band of the copy proposal's match length,
/// the model's probability of the true character, whether the proposal was the true character).
fn observations(
    fused: &FusedLm,
    vocab: &CharVocab,
    tunes: &[&str],
) -> Result<Vec<(usize, f64, bool)>> {
    let mut rows = Vec::new();
    let mut logits = Vec::new();
    for tune in tunes {
        let ids = vocab.encode_tunes([format!("\n\n{tune}").as_str()])?;
        let mut state = fused.zero_state(1);
        for t in 0..ids.len() - 1 {
            fused.step_with(&mut state, &[ids[t]], &mut logits, None)?;
            let top = logits.iter().copied().fold(f32::MIN, f32::max);
            let total: f64 = logits.iter().map(|&l| f64::from(l - top).exp()).sum();
            let target = ids[t + 1];
            let p = f64::from(logits[target as usize] - top).exp() / total;
            let proposal = propose(&ids[..=t]);
            rows.push((
                proposal.map_or(0, |p| band(p.length)),
                p,
                proposal.is_some_and(|p| p.token == target),
            ));
        }
    }
    Ok(rows)
}

/// The texts as string slices.
fn as_strs(texts: &[String]) -> Vec<&str> {
    texts.iter().map(String::as_str).collect()
}

/// Bits per character of the observations under the memory.
fn bits(rows: &[(usize, f64, bool)], memory: &CopyMemory) -> f64 {
    let nats: f64 = rows
        .iter()
        .map(|&(b, p, right)| -mixed_log_likelihood(&[(p, right)], memory.weights[b]))
        .sum();
    nats / rows.len() as f64 / std::f64::consts::LN_2
}

fn main() -> Result<()> {
    let checkpoint = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "models/abc_folk".into()),
    );
    let corpus = load_default_abc_corpus(&CleanOptions::default())?;
    let split = fixed_split(&corpus.tunes, |t| t.text.as_str());
    let generator = open_for_generation(&checkpoint, tch::Device::Cpu)?;
    let Encoding::Chars(vocab) = &generator.encoding else {
        anyhow::bail!("{} is not a character model", checkpoint.display());
    };
    let Stepper::Tokens(stepper) = generator.model.stepper() else {
        anyhow::bail!("{} is not a token model", checkpoint.display());
    };
    let fused = stepper
        .lanes()?
        .context("the model has no CPU kernel to read tunes with")?;
    let texts = |tunes: &[tunesmith::abc::CleanTune]| -> Vec<String> {
        tunes.iter().map(|t| t.text.clone()).collect()
    };
    let (valid, test) = (texts(&split.valid), texts(&split.test));
    let valid_rows = observations(&fused, vocab, &as_strs(&valid))?;
    let test_rows = observations(&fused, vocab, &as_strs(&test))?;
    let fitted = CopyMemory::fit(&valid_rows);
    println!(
        "{} (split {SPLIT_VERSION}): {} validation and {} test characters, each tune from a zero state",
        checkpoint.display(),
        valid_rows.len(),
        test_rows.len()
    );
    println!("fitted weights on validation: {:?}", fitted.weights);
    println!("| band (match length) | characters | copy right | model's probability of the right character | weight |");
    println!("|---|---|---|---|---|");
    for (b, weight) in fitted.weights.iter().enumerate() {
        let in_band: Vec<_> = valid_rows.iter().filter(|r| r.0 == b).collect();
        let n = in_band.len().max(1) as f64;
        let lower = if b == 0 { 0 } else { BAND_UPPER[b - 1] + 1 };
        let upper = BAND_UPPER[b];
        let range = match (b, upper) {
            (0, _) => "no match".to_string(),
            (_, usize::MAX) => format!("{lower}+"),
            _ if lower == upper => format!("{upper}"),
            _ => format!("{lower}–{upper}"),
        };
        println!(
            "| {range} | {} | {:.3} | {:.3} | {weight:.3} |",
            in_band.len(),
            in_band.iter().filter(|r| r.2).count() as f64 / n,
            in_band.iter().map(|r| r.1).sum::<f64>() / n,
        );
    }
    println!("\n| memory | valid | test |\n|---|---|---|");
    for (name, memory) in [
        ("none (the model alone)", CopyMemory::off()),
        ("fitted here on validation", fitted.clone()),
        ("the crate's fitted weights", CopyMemory::fitted()),
        (
            "the crate's sampling default (fitted, sharpened)",
            CopyMemory::default(),
        ),
    ] {
        println!(
            "| {name} | {:.3} | {:.3} |",
            bits(&valid_rows, &memory),
            bits(&test_rows, &memory)
        );
    }
    Ok(())
}

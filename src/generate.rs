//! Sampling from a trained language model: temperature, top-k, primer, seed, maximum length, and
//! stateful stepping (one LSTM step per new token, never re-running a window). Scores from token
//! encodings (notes and chords, events) with top-p and MIDI primers: [`tokens`].

pub mod tokens;

pub use tokens::{
    bar_count, generate_piece, keep_top_k, keep_top_p, next_token_distribution,
    primer_ids_from_midi, sample_token_ids, GeneratedPiece, NextTokenModel, SlidingWindow,
    TokenSampleConfig,
};

use crate::encode::CharVocab;
use crate::model::LstmLm;
use anyhow::{ensure, Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::{Kind, Tensor};

/// How to sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleConfig {
    /// Softmax temperature: below 1 is more conservative, above 1 more adventurous.
    pub temperature: f64,
    /// Keep only the k most likely tokens at each step (0 keeps all).
    pub top_k: usize,
    /// Seed for the sampler (the same seed gives the same output).
    pub seed: u64,
    /// Stop after this many new tokens.
    pub max_len: usize,
    /// Text the sample starts with; it is part of the output.
    pub primer: String,
    /// Stop as soon as the output ends with this text (the end of a tune: a blank line).
    pub stop_at: Option<String>,
}

impl Default for SampleConfig {
    fn default() -> Self {
        SampleConfig {
            temperature: 0.8,
            top_k: 0,
            seed: 0,
            max_len: 1500,
            primer: "M:".to_string(),
            stop_at: Some("\n\n".to_string()),
        }
    }
}

/// Samples ids from `model`, starting after `primer` ids; returns only the new ids.
pub fn sample_ids(
    model: &LstmLm,
    primer: &[i64],
    config: &SampleConfig,
    stop: &[i64],
) -> Result<Vec<i64>> {
    ensure!(
        !primer.is_empty(),
        "the primer must hold at least one token"
    );
    ensure!(config.temperature > 0.0, "temperature must be positive");
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let device = model.device();
    tch::no_grad(|| {
        let (mut logits, mut state) = model.forward(
            &Tensor::from_slice(primer).view([1, -1]).to(device),
            None,
            false,
        );
        logits = logits.select(1, -1).squeeze_dim(0);
        let mut out = Vec::new();
        for _ in 0..config.max_len {
            let id = sample_from_logits(&logits, config, &mut rng)?;
            out.push(id);
            if !stop.is_empty() && out.ends_with(stop) {
                break;
            }
            let (next, next_state) =
                model.step(&Tensor::from_slice(&[id]).to(device), Some(&state));
            logits = next.squeeze_dim(0);
            state = next_state;
        }
        Ok(out)
    })
}

fn sample_from_logits(logits: &Tensor, config: &SampleConfig, rng: &mut ChaCha8Rng) -> Result<i64> {
    let scaled = (logits.to_kind(Kind::Double) / config.temperature).to_device(tch::Device::Cpu);
    let mut scores: Vec<f64> = Vec::<f64>::try_from(&scaled).context("logits to probabilities")?;
    if config.top_k > 0 && config.top_k < scores.len() {
        let mut sorted = scores.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let cutoff = sorted[config.top_k - 1];
        for s in &mut scores {
            if *s < cutoff {
                *s = f64::NEG_INFINITY;
            }
        }
    }
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
    let total: f64 = weights.iter().sum();
    let mut target = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        target -= w;
        if target <= 0.0 {
            return Ok(i as i64);
        }
    }
    Ok(weights.len() as i64 - 1)
}

/// Samples text from a character model: the primer followed by new characters.
pub fn sample_text(model: &LstmLm, vocab: &CharVocab, config: &SampleConfig) -> Result<String> {
    // Start from the state after a tune boundary, as in training, then read the primer.
    let mut context = vocab.encode("\n\n").unwrap_or_default();
    context.extend(vocab.encode(&config.primer).context("the primer")?);
    let stop = match &config.stop_at {
        Some(s) => vocab.encode(s).context("the stop text")?,
        None => Vec::new(),
    };
    let ids = sample_ids(model, &context, config, &stop)?;
    Ok(format!("{}{}", config.primer, vocab.decode(&ids)?))
}

/// Samples `n` tunes with seeds `config.seed`, `config.seed + 1`, …, trimmed of trailing blank lines.
pub fn generate_tunes(
    model: &LstmLm,
    vocab: &CharVocab,
    n: usize,
    config: &SampleConfig,
) -> Result<Vec<String>> {
    (0..n)
        .map(|i| {
            let config = SampleConfig {
                seed: config.seed.wrapping_add(i as u64),
                ..config.clone()
            };
            Ok(format!(
                "{}\n",
                sample_text(model, vocab, &config)?.trim_end()
            ))
        })
        .collect()
}

/// Writes tunes as `.abc` files named `{prefix}_{NNN}.abc` in `dir`, each given an `X:` number and a
/// title; returns the paths. Each file is written atomically.
pub fn write_abc_tunes(dir: &Path, prefix: &str, tunes: &[String]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    tunes
        .iter()
        .enumerate()
        .map(|(i, tune)| {
            let path = dir.join(format!("{prefix}_{:03}.abc", i + 1));
            let text = format!("X:{}\nT:{prefix} {}\n{}", i + 1, i + 1, tune);
            crate::fsutil::write_atomic(&path, text.as_bytes())?;
            Ok(path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LstmConfig;
    use tch::Device;

    #[test]
    fn same_seed_same_text_and_stops_at_the_end_marker() -> Result<()> {
        tch::manual_seed(0);
        let vocab = CharVocab::from_texts(["M:6/8\nK:G\nabc|\n\n"]);
        let model = LstmLm::new(LstmConfig::debug(vocab.len()), Device::Cpu)?;
        let config = SampleConfig {
            max_len: 200,
            seed: 5,
            temperature: 1.5,
            ..SampleConfig::default()
        };
        let a = sample_text(&model, &vocab, &config)?;
        assert_eq!(a, sample_text(&model, &vocab, &config)?);
        assert!(a.starts_with("M:"));
        assert!(a.chars().count() <= 202);
        if a.chars().count() < 202 {
            assert!(
                a.ends_with("\n\n"),
                "stopped early only at the end marker: {a:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn top_k_one_is_greedy() -> Result<()> {
        let logits = Tensor::from_slice(&[0.1f32, 2.0, 0.5]);
        let config = SampleConfig {
            top_k: 1,
            ..SampleConfig::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        for _ in 0..20 {
            assert_eq!(sample_from_logits(&logits, &config, &mut rng)?, 1);
        }
        Ok(())
    }

    #[test]
    fn writes_numbered_abc_files() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let paths = write_abc_tunes(
            dir.path(),
            "generated",
            &["M:3/4\nL:1/8\nK:D\nDEF|\n".to_string()],
        )?;
        let text = std::fs::read_to_string(&paths[0])?;
        assert!(text.starts_with("X:1\nT:generated 1\nM:3/4"));
        Ok(())
    }
}

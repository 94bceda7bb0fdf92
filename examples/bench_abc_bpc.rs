//! ABC bits per character on the fixed held-out split of the default corpus.
//!
//! Trains the notebook-01 model (embedding 48 → LSTM 2×256 → dropout 0.1 → linear; Adam lr 3e-3,
//! clip 1.0, batch 32 × 100 characters, seed 42) on the train part of the split
//! ([`tunesmith::metrics::split`]) until the time budget runs out (the epoch in progress is
//! cut short), keeps the weights of the epoch with the best validation loss, and prints valid and
//! test bits per character (each tune read from a zero state after a blank line, and the whole
//! streams with the state carried, 16 lanes × 100-character chunks)
//! beside two baselines: the unigram entropy of the training characters and the unigram model's
//! cross-entropy on test. Then it samples tunes and prints their quality against the corpus.
//!
//! Usage: `cargo run --release --example bench_abc_bpc -- [SECONDS] [HIDDEN] [SAMPLES]`
//! (defaults 600 s, 256, 100). Writes `bench_abc_bpc.json` and the samples to
//! `$TUNESMITH_OUT` (default `out/bench_abc_bpc`).

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Instant;
use tunesmith::abc::CleanOptions;
use tunesmith::corpus::load_default_abc_corpus;
use tunesmith::data::SequenceBatches;
use tunesmith::encode::{CharVocab, Encoding};
use tunesmith::generate::{generate_many, write_pieces, Length, Primer, SampleConfig};
use tunesmith::metrics::{
    fixed_split, nats_to_bits, quality_markdown, sample_quality, sequences_nll, stream_nll,
    CopyIndex, SPLIT_VERSION,
};
use tunesmith::model::{LstmConfig, LstmLm};
use tunesmith::train::{seeded, AdamConfig, TrainConfig, Trainer};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let seconds: f64 = arg(0, "600").parse().context("SECONDS")?;
    let hidden: i64 = arg(1, "256").parse().context("HIDDEN")?;
    let samples: usize = arg(2, "100").parse().context("SAMPLES")?;
    let out_dir = PathBuf::from(
        std::env::var("TUNESMITH_OUT").unwrap_or_else(|_| "out/bench_abc_bpc".into()),
    );
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let device = tunesmith::device::best_device();

    let corpus = load_default_abc_corpus(&CleanOptions::default())?;
    let split = fixed_split(&corpus.tunes, |t| t.text.as_str());
    let texts = |tunes: &[tunesmith::abc::CleanTune]| -> Vec<String> {
        tunes.iter().map(|t| t.text.clone()).collect()
    };
    let (train_texts, valid_texts, test_texts) =
        (texts(&split.train), texts(&split.valid), texts(&split.test));
    // The character set of the whole corpus (so test characters are encodable); the unigram
    // baselines use training counts only.
    let vocab = CharVocab::from_texts(corpus.tunes.iter().map(|t| t.text.as_str()));
    let train_vocab = CharVocab::from_texts(train_texts.iter().map(String::as_str));
    let encode = |t: &[String]| vocab.encode_tunes(t.iter().map(String::as_str));
    let (train_ids, valid_ids, test_ids) = (
        encode(&train_texts)?,
        encode(&valid_texts)?,
        encode(&test_texts)?,
    );
    let unigram_test = unigram_cross_entropy_bits(&train_vocab, &vocab, &test_ids);
    println!(
        "split {SPLIT_VERSION}: train {} tunes / {} chars, valid {} / {}, test {} / {}; vocab {}",
        train_texts.len(),
        train_ids.len(),
        valid_texts.len(),
        valid_ids.len(),
        test_texts.len(),
        test_ids.len(),
        vocab.len()
    );

    let seq_len = 100;
    let train = SequenceBatches::new(train_ids, seq_len, 32)?;
    let valid = SequenceBatches::new(valid_ids.clone(), seq_len, 32)?;
    let config = LstmConfig {
        vocab_size: vocab.len() as i64,
        embed_dim: 48,
        hidden_size: hidden,
        num_layers: 2,
        dropout: 0.1,
    };
    let model = seeded(42, || LstmLm::new(config, device))?;
    // The best epoch's weights are kept and put back when the budget runs out.
    let train_config = TrainConfig {
        epochs: 1000,
        adam: AdamConfig {
            lr: 3e-3,
            ..AdamConfig::default()
        },
        clip_norm: 1.0,
        seed: 42,
        max_seconds: Some(seconds),
        valid_limit: usize::MAX,
        keep_best: true,
        verbose: true,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(model, train_config);
    println!(
        "training {} for {seconds:.0} s, {} threads",
        trainer.model().summary(),
        tch::get_num_threads()
    );
    let started = Instant::now();
    trainer.fit(&train, &valid)?;
    let train_seconds = started.elapsed().as_secs_f64();
    // The weights now in the model are the best epoch's (none is kept when every validation
    // loss was not finite; then the last weights stay, and the best epoch prints as 0).
    let best_epoch = trainer.best.as_ref().map_or(0, |b| b.epoch);
    let model = trainer.model_as::<LstmLm>()?;

    let chunk = 100;
    let lanes = 16;
    let valid_nll = stream_nll(model, &valid_ids, chunk, lanes)?;
    let test_nll = stream_nll(model, &test_ids, chunk, lanes)?;
    let per_tune = |texts: &[String]| -> Result<Vec<Vec<i64>>> {
        texts
            .iter()
            .map(|t| vocab.encode_tunes([format!("\n\n{t}").as_str()]))
            .collect()
    };
    let valid_tunes = sequences_nll(model, &per_tune(&valid_texts)?)?;
    let test_tunes = sequences_nll(model, &per_tune(&test_texts)?)?;
    let unigram_train = nats_to_bits(train_vocab.unigram_entropy());
    println!();
    println!(
        "ABC bits per character, split {SPLIT_VERSION}, LSTM 2×{hidden} trained {train_seconds:.0} s \
         ({} steps, {:.2} epochs; best epoch {} of {})",
        trainer.step,
        trainer
            .history
            .records
            .iter()
            .map(|r| r.fraction)
            .sum::<f64>(),
        best_epoch,
        trainer.history.records.len()
    );
    println!("| measure | valid | test |");
    println!("|---|---|---|");
    println!(
        "| LSTM, each tune from a zero state | {:.4} | {:.4} |",
        valid_tunes.bits_per_token(),
        test_tunes.bits_per_token()
    );
    println!(
        "| LSTM, whole stream, state carried (16 lanes) | {:.4} | {:.4} |",
        valid_nll.bits_per_token(),
        test_nll.bits_per_token()
    );
    println!("| unigram entropy of train characters | {unigram_train:.4} | {unigram_train:.4} |");
    println!("| unigram model (train counts, add-one) on test | – | {unigram_test:.4} |");
    println!(
        "| characters scored | {} | {} |",
        valid_nll.tokens, test_nll.tokens
    );

    let sampling = SampleConfig {
        temperature: 0.8,
        seed: 7,
        length: Length::End,
        max_steps: 1200,
        ..SampleConfig::default()
    };
    let gen_started = Instant::now();
    let pieces = generate_many(
        trainer.model(),
        &Encoding::from(vocab.clone()),
        samples,
        &Primer::abc("M:"),
        &sampling,
    )?;
    let gen_seconds = gen_started.elapsed().as_secs_f64();
    write_pieces(&out_dir, "generated", &pieces)?;
    let tunes: Vec<String> = pieces
        .iter()
        .map(|p| {
            p.abc
                .clone()
                .context("a character model's piece has no ABC text")
        })
        .collect::<Result<_>>()?;
    let index = CopyIndex::new(train_texts.iter().map(String::as_str));
    let generated = sample_quality(&tunes, Some(&index));
    let held_out = sample_quality(&test_texts, Some(&index));
    let training = sample_quality(&train_texts, None);
    println!();
    println!(
        "sample quality: {samples} tunes at temperature 0.8 (seeds 7…) in {gen_seconds:.1} s, \
         against the corpus (copies measured against the train part)"
    );
    print!(
        "{}",
        quality_markdown(&[
            ("generated", &generated),
            ("test tunes", &held_out),
            ("train tunes", &training),
        ])
    );
    let summary = serde_json::json!({
        "split": SPLIT_VERSION,
        "hidden": hidden, "seconds_budget": seconds, "train_seconds": train_seconds,
        "steps": trainer.step, "best_epoch": best_epoch,
        "device": format!("{device:?}"), "threads": tch::get_num_threads(),
        "valid_bpc": valid_tunes.bits_per_token(), "test_bpc": test_tunes.bits_per_token(),
        "valid_bpc_stream": valid_nll.bits_per_token(), "test_bpc_stream": test_nll.bits_per_token(),
        "unigram_entropy_train_bits": unigram_train, "unigram_test_bits": unigram_test,
        "history": trainer.history,
        "quality": {"generated": generated, "test": held_out, "train": training},
    });
    let path = out_dir.join("bench_abc_bpc.json");
    tunesmith::fsutil::write_atomic(&path, serde_json::to_string_pretty(&summary)?.as_bytes())?;
    println!("\nwrote {}", path.display());
    Ok(())
}

/// Cross-entropy in bits per character of `ids` (ids of `vocab`) under the unigram model of
/// `train_vocab`'s counts with add-one smoothing over `vocab`'s characters.
fn unigram_cross_entropy_bits(train_vocab: &CharVocab, vocab: &CharVocab, ids: &[i64]) -> f64 {
    let count = |c: char| {
        train_vocab
            .id(c)
            .map_or(0, |i| train_vocab.counts[i as usize])
    };
    let total: u64 = train_vocab.counts.iter().sum::<u64>() + vocab.len() as u64;
    let bits: Vec<f64> = vocab
        .chars
        .iter()
        .map(|&c| -(((count(c) + 1) as f64) / total as f64).log2())
        .collect();
    ids.iter().map(|&i| bits[i as usize]).sum::<f64>() / ids.len().max(1) as f64
}

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
//! The samples are drawn twice, with the ABC constraint on (the default) and off, and judged by
//! the crate's reader and by music21 (`metrics::oracle`; skipped with a note when no Python with
//! music21 is found), beside the held-out test tunes and the training tunes.
//!
//! Usage: `cargo run --release --example bench_abc_bpc -- [SECONDS] [HIDDEN] [SAMPLES]`
//! (defaults 600 s, 256, 100), or `-- --checkpoint DIR [SAMPLES]` to measure a model trained
//! elsewhere (`tunesmith train --config configs/abc_whole_corpus.json`) without training. Writes
//! `bench_abc_bpc.json` and the samples to `$TUNESMITH_OUT` (default `out/bench_abc_bpc`).

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Instant;
use tunesmith::abc::CleanOptions;
use tunesmith::corpus::load_default_abc_corpus;
use tunesmith::data::SequenceBatches;
use tunesmith::encode::{CharVocab, Encoding};
use tunesmith::generate::{
    generate_many, open_for_generation, write_pieces, Length, Primer, SampleConfig,
};
use tunesmith::metrics::oracle::find_python_with_music21;
use tunesmith::metrics::quality::with_music21;
use tunesmith::metrics::{
    fixed_split, nats_to_bits, quality_markdown, sample_quality, sequences_nll, stream_nll,
    CopyIndex, SampleQuality, SPLIT_VERSION,
};
use tunesmith::model::{LstmConfig, LstmLm, Model};
use tunesmith::train::{seeded, AdamConfig, TrainConfig, Trainer};

/// Where the model comes from.
enum Source {
    Train { seconds: f64, hidden: i64 },
    Checkpoint(PathBuf),
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or_else(|| default.into());
    let (source, samples) = if arg(0, "") == "--checkpoint" {
        let dir = args.get(1).context("--checkpoint needs a folder")?;
        (
            Source::Checkpoint(PathBuf::from(dir)),
            arg(2, "100").parse().context("SAMPLES")?,
        )
    } else {
        (
            Source::Train {
                seconds: arg(0, "600").parse().context("SECONDS")?,
                hidden: arg(1, "256").parse().context("HIDDEN")?,
            },
            arg(2, "100").parse().context("SAMPLES")?,
        )
    };
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

    let (model, how, history): (Box<dyn Model>, String, serde_json::Value) = match source {
        Source::Train { seconds, hidden } => {
            let (trainer, how) = train(&vocab, train_ids, &valid_ids, seconds, hidden, device)?;
            let history = serde_json::to_value(&trainer.history)?;
            (into_boxed(trainer)?, how, history)
        }
        Source::Checkpoint(dir) => {
            let generator = open_for_generation(&dir, device)?;
            anyhow::ensure!(
                generator.encoding == Encoding::from(vocab.clone()),
                "the checkpoint's vocabulary is not the default corpus's"
            );
            let how = format!(
                "checkpoint {} ({})",
                dir.display(),
                generator.model.summary()
            );
            let history = generator
                .meta
                .as_ref()
                .map(|m| serde_json::to_value(&m.history))
                .transpose()?
                .unwrap_or_default();
            (generator.model, how, history)
        }
    };
    let lm = model
        .downcast_ref::<LstmLm>()
        .context("the model is not a character LSTM")?;

    let chunk = 100;
    let lanes = 16;
    let valid_nll = stream_nll(lm, &valid_ids, chunk, lanes)?;
    let test_nll = stream_nll(lm, &test_ids, chunk, lanes)?;
    let per_tune = |texts: &[String]| -> Result<Vec<Vec<i64>>> {
        texts
            .iter()
            .map(|t| vocab.encode_tunes([format!("\n\n{t}").as_str()]))
            .collect()
    };
    let valid_tunes = sequences_nll(lm, &per_tune(&valid_texts)?)?;
    let test_tunes = sequences_nll(lm, &per_tune(&test_texts)?)?;
    let unigram_train = nats_to_bits(train_vocab.unigram_entropy());
    println!();
    println!("ABC bits per character, split {SPLIT_VERSION}, {how}");
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

    let python = find_python_with_music21();
    if python.is_none() {
        println!("(no Python with music21 found: the music21 rows are left out)");
    }
    let index = CopyIndex::new(train_texts.iter().map(String::as_str));
    let judge = |tunes: &[String], copies: Option<&CopyIndex>| -> Result<SampleQuality> {
        let q = sample_quality(tunes, copies);
        match &python {
            Some(p) => with_music21(q, tunes, p),
            None => Ok(q),
        }
    };
    let encoding = Encoding::from(vocab.clone());
    let mut columns = Vec::new();
    let mut seconds = Vec::new();
    for (name, constrained) in [("constraint on", true), ("constraint off", false)] {
        let sampling = SampleConfig {
            temperature: 0.8,
            seed: 7,
            length: Length::End,
            max_steps: 1200,
            abc_constraints: constrained,
            ..SampleConfig::default()
        };
        let started = Instant::now();
        let pieces = generate_many(
            model.as_ref(),
            &encoding,
            samples,
            &Primer::abc("M:"),
            &sampling,
        )?;
        seconds.push(started.elapsed().as_secs_f64());
        let prefix = if constrained { "constrained" } else { "free" };
        write_pieces(&out_dir, prefix, &pieces)?;
        let tunes: Vec<String> = pieces
            .iter()
            .map(|p| {
                p.abc
                    .clone()
                    .context("a character model's piece has no ABC text")
            })
            .collect::<Result<_>>()?;
        let off = pieces.iter().filter(|p| p.constraint_off.is_some()).count();
        if constrained && off > 0 {
            println!("(the constraint stepped aside in {off} of {samples} tunes)");
        }
        columns.push((format!("generated, {name}"), judge(&tunes, Some(&index))?));
    }
    let held_out = judge(&test_texts, Some(&index))?;
    let training = sample_quality(&train_texts, None);
    println!();
    println!(
        "sample quality: {samples} tunes at temperature 0.8 (seeds 7…), primer \"M:\", with the ABC \
         constraint ({:.1} s) and without ({:.1} s), against the corpus (copies looked for in the \
         train part; music21 reads the generated and test tunes)",
        seconds[0], seconds[1]
    );
    let mut table: Vec<(&str, &SampleQuality)> =
        columns.iter().map(|(n, q)| (n.as_str(), q)).collect();
    table.push(("test tunes", &held_out));
    table.push(("train tunes", &training));
    print!("{}", quality_markdown(&table));
    let summary = serde_json::json!({
        "split": SPLIT_VERSION, "model": how,
        "device": format!("{device:?}"), "threads": tch::get_num_threads(),
        "valid_bpc": valid_tunes.bits_per_token(), "test_bpc": test_tunes.bits_per_token(),
        "valid_bpc_stream": valid_nll.bits_per_token(), "test_bpc_stream": test_nll.bits_per_token(),
        "unigram_entropy_train_bits": unigram_train, "unigram_test_bits": unigram_test,
        "history": history,
        "quality": {"constrained": columns[0].1, "free": columns[1].1,
                    "test": held_out, "train": training},
    });
    let path = out_dir.join("bench_abc_bpc.json");
    tunesmith::fsutil::write_atomic(&path, serde_json::to_string_pretty(&summary)?.as_bytes())?;
    println!("\nwrote {}", path.display());
    Ok(())
}

/// Trains the notebook-01 model on the train part for `seconds`; the best epoch's weights are
/// kept. Returns the trainer and a line saying what was trained.
fn train(
    vocab: &CharVocab,
    train_ids: Vec<i64>,
    valid_ids: &[i64],
    seconds: f64,
    hidden: i64,
    device: tch::Device,
) -> Result<(Trainer, String)> {
    let seq_len = 100;
    let train = SequenceBatches::new(train_ids, seq_len, 32)?;
    let valid = SequenceBatches::new(valid_ids.to_vec(), seq_len, 32)?;
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
    let how = format!(
        "LSTM 2×{hidden} trained {train_seconds:.0} s ({} steps, {:.2} epochs; best epoch {} of {})",
        trainer.step,
        trainer.history.records.iter().map(|r| r.fraction).sum::<f64>(),
        best_epoch,
        trainer.history.records.len()
    );
    Ok((trainer, how))
}

/// The trained model, boxed.
fn into_boxed(trainer: Trainer) -> Result<Box<dyn Model>> {
    Ok(Box::new(trainer.into_model::<LstmLm>()?))
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

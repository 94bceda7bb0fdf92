//! Token encodings of scores (notes and chords, events) through both model shapes: many-to-many
//! (`LstmLm` + `SequenceBatches` + `Trainer`) and many-to-one (`WindowLstm` + `WindowBatches` +
//! `fit`), then generation back to MIDI.

use anyhow::Result;
use tch::Device;
use tunesmith::abc::abc_to_score;
use tunesmith::data::{SequenceBatches, WindowBatches};
use tunesmith::encode::{EventConfig, EventVocab, NoteVocab, NoteVocabConfig, TokenEncoding};
use tunesmith::generate::{generate_piece, primer_ids_from_midi, TokenSampleConfig};
use tunesmith::midi::{read_midi_file, write_midi_file};
use tunesmith::model::{LstmConfig, LstmLm, WindowConfig, WindowLstm};
use tunesmith::score::Score;
use tunesmith::train::{evaluate_batches, fit, AdamConfig, FitOptions, TrainConfig, Trainer};

/// Small tunes built from a few repeated figures, so a tiny model can learn them in seconds.
fn tunes() -> Result<Vec<Score>> {
    // Tiny models run fastest on one thread, and tests run side by side.
    tch::set_num_threads(1);
    let bodies = [
        "CDEF GABc|cBAG FEDC|CDEF G2G2|[CEG]4 z4|",
        "EFGA Bcde|edcB AGFE|EFGA B2B2|[EGB]4 z4|",
        "GABc defg|gfed cBAG|GABc d2d2|[GBd]4 z4|",
        "CEGc CEGc|cGEC cGEC|C2E2 G2c2|[CEGc]8|",
    ];
    bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let abc = format!(
                "X:{}\nT:figure {i}\nM:4/4\nL:1/8\nK:C\n{body}{body}{body}\n",
                i + 1
            );
            abc_to_score(&abc)
        })
        .collect()
}

fn encode_all(encoding: &dyn TokenEncoding, scores: &[Score]) -> Result<Vec<Vec<i64>>> {
    scores.iter().map(|s| encoding.encode_score(s)).collect()
}

/// Trains an `LstmLm` many-to-many on the pieces' ids; returns the model and (loss before, after).
fn train_many_to_many(
    vocab_size: usize,
    pieces: &[Vec<i64>],
    epochs: usize,
) -> Result<(LstmLm, f64, f64)> {
    tch::manual_seed(0);
    let stream: Vec<i64> = pieces.concat();
    let train = SequenceBatches::new(stream.clone(), 8, 4)?;
    let valid = SequenceBatches::new(stream, 8, 4)?;
    let model = LstmLm::new(LstmConfig::debug(vocab_size), Device::Cpu)?;
    let config = TrainConfig {
        epochs,
        batch_size: 4,
        seq_len: 8,
        adam: AdamConfig {
            lr: 1e-2,
            ..AdamConfig::default()
        },
        verbose: false,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(model, config);
    let before = trainer.evaluate(&valid);
    trainer.fit(&train, &valid)?;
    let after = trainer.evaluate(&valid);
    Ok((trainer.model, before, after))
}

#[test]
fn note_vocabulary_ids_train_a_many_to_many_lstm_and_generate_midi() -> Result<()> {
    let scores = tunes()?;
    let vocab = NoteVocab::build(&scores, &NoteVocabConfig::default())?;
    let pieces = encode_all(&vocab, &scores)?;
    let (model, before, after) = train_many_to_many(vocab.vocab_size(), &pieces, 40)?;
    assert!(
        after < before * 0.6,
        "loss fell from {before:.3} to {after:.3}"
    );
    let dir = tempfile::tempdir()?;
    let primer_path = dir.path().join("primer.mid");
    write_midi_file(&scores[0], &primer_path)?;
    let primer = primer_ids_from_midi(&vocab, &primer_path, 8)?;
    assert_eq!(primer, pieces[0][..8]);
    let config = TokenSampleConfig {
        temperature: 0.8,
        top_p: 0.9,
        max_tokens: 200,
        max_notes: Some(24),
        banned: vec![tunesmith::encode::notes::UNK_ID],
        seed: 3,
        ..TokenSampleConfig::default()
    };
    let piece = generate_piece(&model, &vocab, &primer, &config)?;
    assert!(piece.continuation.note_count() >= 24, "stopped at 24 notes");
    assert!(!piece.ids.contains(&tunesmith::encode::notes::UNK_ID));
    let out = dir.path().join("generated.mid");
    piece.write_midi(&out)?;
    assert_eq!(read_midi_file(&out)?.note_count(), piece.score.note_count());
    Ok(())
}

#[test]
fn event_ids_train_a_many_to_many_lstm_and_generate_midi() -> Result<()> {
    let scores = tunes()?;
    let events = EventVocab::new(EventConfig::default());
    let pieces = encode_all(&events, &scores)?;
    for (ids, score) in pieces.iter().zip(&scores) {
        let back = events.decode_ids(ids)?;
        assert_eq!(
            back.note_count(),
            score.note_count(),
            "events keep every note"
        );
    }
    let (model, before, after) = train_many_to_many(events.vocab_size(), &pieces, 6)?;
    assert!(
        after < before * 0.6,
        "loss fell from {before:.3} to {after:.3}"
    );
    let config = TokenSampleConfig {
        temperature: 0.9,
        top_k: 20,
        max_tokens: 400,
        max_bars: Some(2),
        seed: 1,
        ..TokenSampleConfig::default()
    };
    let piece = generate_piece(&model, &events, &pieces[1][..12], &config)?;
    assert_eq!(piece.primer, pieces[1][..12]);
    assert!(piece.score.note_count() > 0);
    let dir = tempfile::tempdir()?;
    piece.write_midi(&dir.path().join("events.mid"))?;
    Ok(())
}

#[test]
fn note_vocabulary_windows_train_the_many_to_one_model() -> Result<()> {
    let scores = tunes()?;
    let vocab = NoteVocab::build(&scores, &NoteVocabConfig::default())?;
    let pieces = encode_all(&vocab, &scores)?;
    let window = 8;
    let data = WindowBatches::from_pieces(pieces.clone(), window, 16)?;
    tch::manual_seed(0);
    let model = WindowLstm::new(
        WindowConfig {
            vocab_size: vocab.vocab_size() as i64,
            embed_dim: 16,
            hidden_size: 32,
            num_layers: 1,
            dropout: 0.0,
            attention: true,
        },
        Device::Cpu,
    )?;
    let valid = data.sequential(usize::MAX, Device::Cpu);
    let before = evaluate_batches(&model, &valid);
    let options = FitOptions {
        epochs: 25,
        adam: AdamConfig {
            lr: 1e-2,
            ..AdamConfig::default()
        },
        verbose: false,
        ..FitOptions::default()
    };
    let history = fit(
        &model,
        &options,
        &mut |epoch| data.epoch_batches(7, epoch, Device::Cpu),
        &valid,
    )?;
    let after = evaluate_batches(&model, &valid);
    assert_eq!(history.records.len(), 25);
    assert!(after.loss < before.loss * 0.5, "{before:?} → {after:?}");
    let accuracy = after.accuracy.unwrap_or(0.0);
    assert!(accuracy > 0.8, "accuracy on the training tunes {accuracy}");
    let config = TokenSampleConfig {
        temperature: 0.5,
        max_tokens: 30,
        seed: 2,
        ..TokenSampleConfig::default()
    };
    let piece = generate_piece(
        &model.sliding(window),
        &vocab,
        &pieces[2][..window],
        &config,
    )?;
    assert_eq!(piece.ids.len(), 30);
    assert!(piece.continuation.note_count() > 0);
    Ok(())
}

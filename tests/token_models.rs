//! Token encodings of scores (notes and chords, events) through both model shapes, on the one
//! trainer: many-to-many (`LstmLm` + `SequenceBatches`) and many-to-one (`WindowLstm` +
//! `WindowBatches`), then generation back to MIDI with the one sampler.

use anyhow::Result;
use tch::Device;
use tunesmith::abc::abc_to_score;
use tunesmith::data::{SequenceBatches, WindowBatches};
use tunesmith::encode::{
    Encoding, EventConfig, EventVocab, NoteVocab, NoteVocabConfig, TokenEncoding,
};
use tunesmith::generate::{generate, Length, Primer, SampleConfig};
use tunesmith::midi::{read_midi_file, write_midi_file};
use tunesmith::model::{LstmConfig, LstmLm, WindowConfig, WindowLstm};
use tunesmith::score::Score;
use tunesmith::train::{evaluate, seeded, TrainConfig, Trainer};

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
    let stream: Vec<i64> = pieces.concat();
    let train = SequenceBatches::new(stream.clone(), 8, 4)?;
    let valid = SequenceBatches::new(stream, 8, 4)?;
    let model = seeded(0, || {
        LstmLm::new(LstmConfig::debug(vocab_size), Device::Cpu)
    })?;
    let mut trainer = Trainer::new(model, TrainConfig::quiet(epochs, 1e-2));
    let before = trainer.evaluate(&valid).loss;
    trainer.fit(&train, &valid)?;
    let after = trainer.evaluate(&valid).loss;
    Ok((trainer.into_model()?, before, after))
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
    let config = SampleConfig {
        temperature: 0.8,
        top_p: 0.9,
        max_steps: 200,
        length: Length::Notes(24),
        banned: vec![tunesmith::encode::notes::UNK_ID],
        seed: 3,
        ..SampleConfig::default()
    };
    let encoding = Encoding::from(vocab.clone());
    let piece = generate(
        &model,
        &encoding,
        &Primer::midi(&primer_path).first(8),
        &config,
    )?;
    assert_eq!(piece.ids[..8], pieces[0][..8]);
    let new = vocab.decode_ids(piece.new_ids())?;
    assert!(new.note_count() >= 24, "stopped at 24 new notes");
    assert!(piece.new_steps() < 200, "stopped before max_steps");
    assert!(!piece.ids.contains(&tunesmith::encode::notes::UNK_ID));
    let out = piece.write(dir.path(), "generated")?;
    assert_eq!(read_midi_file(&out)?.note_count(), piece.note_count());
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
    let config = SampleConfig {
        temperature: 0.9,
        top_k: 20,
        max_steps: 400,
        length: Length::Bars(2),
        seed: 1,
        ..SampleConfig::default()
    };
    let primer = Primer::ids(pieces[1][..12].to_vec());
    let piece = generate(&model, &Encoding::from(events), &primer, &config)?;
    assert_eq!(piece.ids[..12], pieces[1][..12]);
    assert!(piece.note_count() > 0);
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
    let model = seeded(0, || {
        WindowLstm::new(
            WindowConfig {
                vocab_size: vocab.vocab_size() as i64,
                window,
                embed_dim: 16,
                hidden_size: 32,
                num_layers: 1,
                dropout: 0.0,
                attention: true,
            },
            Device::Cpu,
        )
    })?;
    let before = evaluate(&model, &data, usize::MAX);
    let mut trainer = Trainer::new(model, TrainConfig::quiet(25, 1e-2));
    trainer.fit(&data, &data)?;
    let after = trainer.evaluate(&data);
    assert_eq!(trainer.history.records.len(), 25);
    assert!(after.loss < before.loss * 0.5, "{before:?} → {after:?}");
    let accuracy = after.accuracy.unwrap_or(0.0);
    assert!(accuracy > 0.8, "accuracy on the training tunes {accuracy}");
    let config = SampleConfig {
        temperature: 0.5,
        length: Length::Steps(30),
        seed: 2,
        ..SampleConfig::default()
    };
    let primer = Primer::ids(pieces[2][..window].to_vec());
    let piece = generate(trainer.model(), &Encoding::from(vocab), &primer, &config)?;
    assert_eq!(piece.new_steps(), 30);
    assert!(piece.note_count() > 0);
    Ok(())
}

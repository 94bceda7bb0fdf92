//! The data of a headless run, built the same way every time from its config: the corpus (ABC or
//! MIDI), the train/validation split, the encoding (a vocabulary built from the training pieces,
//! or a fixed layout) and the batches the model trains on.

use super::{Corpus, RunConfig, SplitKind};
use crate::abc::abc_to_score;
use crate::corpus::{load_abc_dirs, load_default_abc_corpus};
use crate::data::{split_train_valid, Batches, RollBatches, SequenceBatches, WindowBatches};
use crate::encode::{
    positive_weight, CharVocab, Encoding, EventConfig, EventVocab, NoteVocab, NoteVocabConfig,
    PianoRoll, PianoRollConfig,
};
use crate::midi::{load_midi_corpus_with_options, MidiReadOptions};
use crate::score::Score;
use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

/// The encoding a run asks for (`{"kind": "notes", "min_count": 2}`), its settings over the
/// encoding's defaults.
#[derive(Debug, Clone, PartialEq)]
pub enum EncodingSpec {
    /// ABC characters.
    Chars,
    /// Notes and chords.
    Notes(NoteVocabConfig),
    /// Events.
    Events(EventConfig),
    /// Piano rolls.
    PianoRoll(PianoRollConfig),
}

impl EncodingSpec {
    /// Reads the `encoding` section; unknown kinds and fields are errors naming them.
    pub fn from_value(value: &Value) -> Result<Self> {
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .context("encoding: \"kind\" is missing (chars, notes, events or piano_roll)")?;
        let mut fields = value.clone();
        if let Some(map) = fields.as_object_mut() {
            map.remove("kind");
        }
        let parse = |defaults: Value| overlay("encoding", defaults, &fields);
        Ok(match kind {
            "chars" => {
                overlay("encoding", serde_json::json!({}), &fields)?;
                EncodingSpec::Chars
            }
            "notes" => EncodingSpec::Notes(serde_json::from_value(parse(serde_json::to_value(
                NoteVocabConfig::default(),
            )?)?)?),
            "events" => EncodingSpec::Events(serde_json::from_value(parse(
                serde_json::to_value(EventConfig::default())?,
            )?)?),
            "piano_roll" => EncodingSpec::PianoRoll(serde_json::from_value(parse(
                serde_json::to_value(PianoRollConfig::default())?,
            )?)?),
            other => bail!(
                "encoding.kind: unknown encoding {other:?} (use chars, notes, events or piano_roll)"
            ),
        })
    }
}

/// `defaults` with the fields of `user` put over them; a field the defaults do not have is an
/// error naming `section.field`.
pub(crate) fn overlay(section: &str, defaults: Value, user: &Value) -> Result<Value> {
    let mut out = defaults;
    let Some(fields) = user.as_object() else {
        bail!("{section}: expected an object of settings, found {user}");
    };
    let known: Vec<String> = out
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    for (key, value) in fields {
        if !known.contains(key) {
            bail!(
                "{section}.{key}: unknown field (known: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
        }
        out[key] = value.clone();
    }
    Ok(out)
}

/// What a run trains on.
pub struct RunData {
    /// The encoding (saved in every checkpoint).
    pub encoding: Encoding,
    /// Training batches.
    pub train: Box<dyn Batches>,
    /// Validation batches.
    pub valid: Box<dyn Batches>,
    /// The first validation piece, to prime samples with.
    pub first_valid: Option<Score>,
    /// Off cells per on cell in the training rolls (piano rolls only).
    pub positive_weight: Option<f64>,
}

impl std::fmt::Debug for RunData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunData")
            .field("encoding", &self.encoding.describe())
            .field("train_items", &self.train.items())
            .field("valid_items", &self.valid.items())
            .finish()
    }
}

/// The pieces of a corpus: ABC tunes (as text and, when they parse, as scores) or MIDI scores.
enum Pieces {
    Abc(Vec<(String, String)>),
    Scores(Vec<(String, Score)>),
}

impl EncodingSpec {
    /// Grid steps per quarter note that the encoding rounds onsets to (characters: 12, the grid
    /// of the notes vocabulary, for the report only).
    pub fn steps_per_quarter(&self) -> u32 {
        match self {
            EncodingSpec::PianoRoll(c) => c.steps_per_quarter,
            EncodingSpec::Events(c) => c.steps_per_quarter,
            EncodingSpec::Chars | EncodingSpec::Notes(_) => crate::encode::notes::GRID_PER_QUARTER,
        }
    }
}

fn load_corpus(config: &RunConfig, spec: &EncodingSpec) -> Result<Pieces> {
    Ok(match &config.corpus {
        Corpus::Default | Corpus::Abc(_) => {
            let corpus = match &config.corpus {
                Corpus::Abc(dir) => load_abc_dirs(std::slice::from_ref(dir), &config.clean)?,
                _ => load_default_abc_corpus(&config.clean)?,
            };
            if !corpus.report.skipped.is_empty() {
                eprintln!(
                    "corpus: {} tunes skipped ({})",
                    corpus.report.skipped.len(),
                    corpus
                        .report
                        .reasons()
                        .into_iter()
                        .map(|(r, n)| format!("{n}× {r}"))
                        .take(3)
                        .collect::<Vec<_>>()
                        .join("; ")
                );
            }
            Pieces::Abc(
                corpus
                    .tunes
                    .into_iter()
                    .map(|t| (t.label, t.text))
                    .collect(),
            )
        }
        Corpus::Midi(dir) => {
            let options = MidiReadOptions {
                sustain_pedal: config.sustain_pedal,
                ..MidiReadOptions::default()
            };
            let corpus = load_midi_corpus_with_options(dir, &options)?;
            for line in corpus.summary(spec.steps_per_quarter()).to_string().lines() {
                eprintln!("corpus: {line}");
            }
            Pieces::Scores(
                corpus
                    .scores
                    .into_iter()
                    .map(|(p, s)| (p.display().to_string(), s))
                    .collect(),
            )
        }
    })
}

/// Splits items and cuts each side to the configured counts.
fn split<T: Clone>(config: &RunConfig, items: &[T]) -> Result<(Vec<T>, Vec<T>)> {
    ensure!(
        items.len() >= 2,
        "the corpus has {} usable pieces; at least 2 are needed",
        items.len()
    );
    let (mut train, mut valid) = split_train_valid(items, config.valid_fraction, config.split_seed);
    train.truncate(config.train_pieces.unwrap_or(usize::MAX));
    valid.truncate(config.valid_pieces.unwrap_or(usize::MAX));
    Ok((train, valid))
}

fn scores_of(pieces: Pieces) -> Vec<(String, Score)> {
    match pieces {
        Pieces::Scores(scores) => scores,
        Pieces::Abc(tunes) => {
            let total = tunes.len();
            let scores: Vec<(String, Score)> = tunes
                .into_iter()
                .filter_map(|(label, text)| abc_to_score(&text).ok().map(|s| (label, s)))
                .collect();
            if scores.len() < total {
                eprintln!(
                    "corpus: {} of {total} ABC tunes do not convert to scores and were skipped",
                    total - scores.len()
                );
            }
            scores
        }
    }
}

/// Batches of token pieces for the architecture: one stream for the many-to-many model, windows
/// inside each piece for the window model.
fn token_batches(
    config: &RunConfig,
    pieces: Vec<Vec<i64>>,
    separator: &[i64],
) -> Result<Box<dyn Batches>> {
    let b = &config.batches;
    Ok(match config.architecture()? {
        "lstm_lm" => {
            let mut pieces = pieces;
            if b.shuffle_pieces {
                use rand::seq::SliceRandom;
                use rand::SeedableRng;
                pieces.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(
                    config.split_seed,
                ));
            }
            let mut stream = Vec::new();
            for piece in pieces {
                stream.extend(piece);
                stream.extend_from_slice(separator);
            }
            if b.carry_state {
                Box::new(SequenceBatches::streams(stream, b.seq_len, b.batch_size)?)
            } else {
                Box::new(SequenceBatches::new(stream, b.seq_len, b.batch_size)?)
            }
        }
        "window_lstm" => Box::new(WindowBatches::from_pieces(
            pieces,
            config.window()?,
            b.batch_size,
        )?),
        other => bail!("model.architecture: a {other} model does not read token ids"),
    })
}

/// Loads the corpus, builds the encoding and cuts the configured slices into batches.
pub fn prepare_data(config: &RunConfig) -> Result<RunData> {
    let spec = EncodingSpec::from_value(&config.encoding)?;
    let pieces = load_corpus(config, &spec)?;
    let architecture = config.architecture()?;
    let needs = match &spec {
        EncodingSpec::PianoRoll(_) => "a piano-roll model (frame_lstm or pitch_lstm)",
        _ => "a token model (lstm_lm or window_lstm)",
    };
    let fits = matches!(
        (&spec, architecture),
        (EncodingSpec::PianoRoll(_), "frame_lstm" | "pitch_lstm")
            | (
                EncodingSpec::Chars | EncodingSpec::Notes(_) | EncodingSpec::Events(_),
                "lstm_lm"
            )
            | (
                EncodingSpec::Chars | EncodingSpec::Notes(_) | EncodingSpec::Events(_),
                "window_lstm"
            )
    );
    ensure!(
        fits,
        "model.architecture: a {architecture} model cannot read this encoding; it needs {needs}"
    );
    let b = &config.batches;
    let data = match spec {
        EncodingSpec::Chars => {
            let Pieces::Abc(tunes) = pieces else {
                bail!("encoding.kind: characters need an ABC corpus, and this one is MIDI");
            };
            let vocab = CharVocab::from_texts(tunes.iter().map(|(_, t)| t.as_str()));
            let (train, valid) = match config.split {
                SplitKind::Random => split(config, &tunes)?,
                SplitKind::Benchmark => {
                    let parts = crate::metrics::fixed_split(&tunes, |(_, t)| t.as_str());
                    let mut train = parts.train;
                    let mut valid = parts.valid;
                    train.truncate(config.train_pieces.unwrap_or(usize::MAX));
                    valid.truncate(config.valid_pieces.unwrap_or(usize::MAX));
                    (train, valid)
                }
            };
            let encode = |set: &[(String, String)]| -> Result<Vec<Vec<i64>>> {
                set.iter()
                    .map(|(label, text)| vocab.encode(text).with_context(|| label.clone()))
                    .collect()
            };
            let newline = vocab.encode(crate::encode::chars::TUNE_SEPARATOR)?;
            let first_valid = valid.first().and_then(|(_, t)| abc_to_score(t).ok());
            RunData {
                train: token_batches(config, encode(&train)?, &newline)
                    .context("the training slice")?,
                valid: token_batches(config, encode(&valid)?, &newline)
                    .context("the validation slice")?,
                encoding: Encoding::Chars(vocab),
                first_valid,
                positive_weight: None,
            }
        }
        _ if config.split == SplitKind::Benchmark => {
            bail!("split: the benchmark split is for ABC characters (encoding.kind \"chars\")")
        }
        EncodingSpec::Notes(_) | EncodingSpec::Events(_) => {
            let scores = scores_of(pieces);
            let (train, valid) = split(config, &scores)?;
            let train_scores: Vec<Score> = train.iter().map(|(_, s)| s.clone()).collect();
            let encoding = match spec {
                EncodingSpec::Notes(c) => Encoding::Notes(NoteVocab::build(&train_scores, &c)?),
                EncodingSpec::Events(c) => {
                    c.validate().context("encoding")?;
                    Encoding::Events(EventVocab::new(c))
                }
                _ => unreachable!("matched above"),
            };
            let tokens = encoding
                .token_encoding()
                .context("a token encoding was built")?;
            let encode = |set: &[(String, Score)]| -> Result<Vec<Vec<i64>>> {
                set.iter()
                    .map(|(label, s)| tokens.encode_score(s).with_context(|| label.clone()))
                    .collect()
            };
            RunData {
                train: token_batches(config, encode(&train)?, &[]).context("the training slice")?,
                valid: token_batches(config, encode(&valid)?, &[])
                    .context("the validation slice")?,
                first_valid: valid.first().map(|(_, s)| s.clone()),
                encoding,
                positive_weight: None,
            }
        }
        EncodingSpec::PianoRoll(roll_config) => {
            roll_config.validate().context("encoding")?;
            let scores = scores_of(pieces);
            let (train, valid) = split(config, &scores)?;
            let rolls = |set: &[(String, Score)]| -> Result<Vec<PianoRoll>> {
                set.iter()
                    .map(|(label, s)| {
                        PianoRoll::from_score(s, &roll_config).with_context(|| label.clone())
                    })
                    .collect()
            };
            let (train_rolls, valid_rolls) = (rolls(&train)?, rolls(&valid)?);
            let led = |batches: RollBatches| batches.lead_in_if(b.lead_in);
            RunData {
                positive_weight: Some(positive_weight(&train_rolls)),
                train: Box::new(
                    RollBatches::new(&train_rolls, b.window_frames, b.batch_size)
                        .and_then(led)
                        .map(|batches| batches.with_transposition(b.transpose))
                        .context("the training slice")?,
                ),
                valid: Box::new(
                    RollBatches::new(&valid_rolls, 0, b.batch_size)
                        .and_then(led)
                        .context("the validation slice")?,
                ),
                first_valid: valid.first().map(|(_, s)| s.clone()),
                encoding: Encoding::PianoRoll(roll_config),
            }
        }
    };
    println!(
        "data: {}; {} training items, {} validation items",
        data.encoding.describe(),
        data.train.items(),
        data.valid.items()
    );
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffled_pieces_make_a_seeded_permutation_of_the_stream() -> Result<()> {
        let pieces: Vec<Vec<i64>> = (1..=40).map(|i| vec![i, i + 100, i + 200]).collect();
        let mut config = RunConfig::default();
        config.batches.batch_size = 2;
        config.batches.seq_len = 8;
        let in_order = token_batches(&config, pieces.clone(), &[0])?;
        config.batches.shuffle_pieces = true;
        let shuffled = token_batches(&config, pieces.clone(), &[0])?;
        let again = token_batches(&config, pieces.clone(), &[0])?;
        config.split_seed += 1;
        let other_seed = token_batches(&config, pieces, &[0])?;
        assert_eq!(shuffled.items(), in_order.items());
        assert_ne!(shuffled.fingerprint(), in_order.fingerprint());
        assert_eq!(shuffled.fingerprint(), again.fingerprint());
        assert_ne!(shuffled.fingerprint(), other_seed.fingerprint());
        Ok(())
    }
}

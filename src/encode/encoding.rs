//! The encoding a model was trained with, as one value: characters, notes and chords, events or
//! piano rolls, with its vocabulary or shape. Checkpoints save it (versioned JSON), and generation
//! uses it to turn primers into model inputs and samples back into music.
//!
//! ```json
//! {"kind": "chars", "vocab": {...}}          {"kind": "notes", "vocab": {...}}
//! {"kind": "events", "vocab": {...}}         {"kind": "piano_roll", "config": {...}}
//! {"kind": "audio", "config": {...}}
//! ```
//! Each inner value is that encoding's own saved JSON, which records its format version.

use super::audio::{AudioFeatureConfig, AUDIO_FEATURES_FORMAT, AUDIO_FEATURES_KIND};
use super::{CharVocab, EventVocab, NoteVocab, PianoRollConfig, TokenEncoding};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Value};

/// The kind of a saved piano-roll config.
pub const PIANO_ROLL_CONFIG_KIND: &str = "tunesmith.piano_roll_config";
/// Its format version.
pub const PIANO_ROLL_CONFIG_FORMAT: u32 = 1;

/// How music becomes model inputs, with everything needed to go back.
#[derive(Debug, Clone, PartialEq)]
pub enum Encoding {
    /// ABC text, one id per character.
    Chars(CharVocab),
    /// Notes and chords as tokens.
    Notes(NoteVocab),
    /// Note-on, note-off, time-shift and velocity tokens.
    Events(EventVocab),
    /// Multi-hot frames on a grid.
    PianoRoll(PianoRollConfig),
    /// Note features per audio frame, for neural synthesizers.
    Audio(AudioFeatureConfig),
}

impl Encoding {
    /// The encoding's name in checkpoints: `chars`, `notes`, `events`, `piano_roll` or `audio`.
    pub fn kind(&self) -> &'static str {
        match self {
            Encoding::Chars(_) => "chars",
            Encoding::Notes(_) => "notes",
            Encoding::Events(_) => "events",
            Encoding::PianoRoll(_) => "piano_roll",
            Encoding::Audio(_) => "audio",
        }
    }

    /// The number of token ids, for token encodings.
    pub fn vocab_size(&self) -> Option<usize> {
        match self {
            Encoding::Chars(v) => Some(v.len()),
            Encoding::Notes(v) => Some(v.vocab_size()),
            Encoding::Events(v) => Some(v.vocab_size()),
            Encoding::PianoRoll(_) | Encoding::Audio(_) => None,
        }
    }

    /// The number of pitches per frame, for piano rolls.
    pub fn num_pitches(&self) -> Option<usize> {
        match self {
            Encoding::PianoRoll(c) => Some(c.num_pitches),
            _ => None,
        }
    }

    /// The layout of note features and audio, for neural synthesizers.
    pub fn audio_features(&self) -> Option<&AudioFeatureConfig> {
        match self {
            Encoding::Audio(c) => Some(c),
            _ => None,
        }
    }

    /// The score-to-tokens encoding, for notes and events.
    pub fn token_encoding(&self) -> Option<&dyn TokenEncoding> {
        match self {
            Encoding::Notes(v) => Some(v),
            Encoding::Events(v) => Some(v),
            _ => None,
        }
    }

    /// One line for people: `characters (83 symbols)`, `notes and chords (269 tokens)`, …
    pub fn describe(&self) -> String {
        match self {
            Encoding::Chars(v) => format!("characters ({} symbols)", v.len()),
            Encoding::Notes(v) => format!("notes and chords ({} tokens)", v.len()),
            Encoding::Events(v) => format!("events ({} ids)", v.vocab_size()),
            Encoding::PianoRoll(c) => format!(
                "piano roll ({} pitches from MIDI {}, {} frames per quarter{})",
                c.num_pitches,
                c.low_pitch,
                c.steps_per_quarter,
                if c.transpose_to_c {
                    ", transposed to C"
                } else {
                    ""
                }
            ),
            Encoding::Audio(c) => c.describe(),
        }
    }

    /// The encoding as JSON: its kind and its own versioned JSON.
    pub fn to_value(&self) -> Result<Value> {
        let parse = |text: String| -> Result<Value> {
            serde_json::from_str(&text).context("cannot write the encoding as JSON")
        };
        Ok(match self {
            Encoding::Chars(v) => json!({"kind": self.kind(), "vocab": parse(v.to_json()?)?}),
            Encoding::Notes(v) => json!({"kind": self.kind(), "vocab": parse(v.to_json()?)?}),
            Encoding::Events(v) => json!({"kind": self.kind(), "vocab": parse(v.to_json()?)?}),
            Encoding::PianoRoll(c) => json!({"kind": self.kind(), "config": parse(
                super::saved::to_json(PIANO_ROLL_CONFIG_KIND, PIANO_ROLL_CONFIG_FORMAT, c)?
            )?}),
            Encoding::Audio(c) => json!({"kind": self.kind(), "config": parse(
                super::saved::to_json(AUDIO_FEATURES_KIND, AUDIO_FEATURES_FORMAT, c)?
            )?}),
        })
    }

    /// Reads what [`Encoding::to_value`] wrote; an unknown kind or a bad vocabulary is an error
    /// that says which.
    pub fn from_value(value: &Value) -> Result<Self> {
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .context("the encoding has no \"kind\"")?;
        let inner = |field: &str| -> Result<String> {
            value
                .get(field)
                .map(Value::to_string)
                .with_context(|| format!("the {kind} encoding has no \"{field}\""))
        };
        Ok(match kind {
            "chars" => Encoding::Chars(
                CharVocab::from_json(&inner("vocab")?).context("bad character vocabulary")?,
            ),
            "notes" => Encoding::Notes(
                NoteVocab::from_json(&inner("vocab")?).context("bad note vocabulary")?,
            ),
            "events" => Encoding::Events(
                EventVocab::from_json(&inner("vocab")?).context("bad event vocabulary")?,
            ),
            "piano_roll" => {
                let config: PianoRollConfig = super::saved::from_json(
                    &inner("config")?,
                    PIANO_ROLL_CONFIG_KIND,
                    PIANO_ROLL_CONFIG_FORMAT,
                )?;
                config.validate()?;
                Encoding::PianoRoll(config)
            }
            "audio" => {
                let config: AudioFeatureConfig = super::saved::from_json(
                    &inner("config")?,
                    AUDIO_FEATURES_KIND,
                    AUDIO_FEATURES_FORMAT,
                )?;
                config.validate()?;
                Encoding::Audio(config)
            }
            other => bail!(
                "unknown encoding {other:?} (this tunesmith knows chars, notes, events, piano_roll, audio)"
            ),
        })
    }
}

impl Serialize for Encoding {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.to_value()
            .map_err(|e| serde::ser::Error::custom(format!("{e:#}")))?
            .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Encoding {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Encoding::from_value(&value).map_err(|e| serde::de::Error::custom(format!("{e:#}")))
    }
}

impl From<CharVocab> for Encoding {
    fn from(v: CharVocab) -> Self {
        Encoding::Chars(v)
    }
}

impl From<NoteVocab> for Encoding {
    fn from(v: NoteVocab) -> Self {
        Encoding::Notes(v)
    }
}

impl From<EventVocab> for Encoding {
    fn from(v: EventVocab) -> Self {
        Encoding::Events(v)
    }
}

impl From<AudioFeatureConfig> for Encoding {
    fn from(c: AudioFeatureConfig) -> Self {
        Encoding::Audio(c)
    }
}

impl From<PianoRollConfig> for Encoding {
    fn from(c: PianoRollConfig) -> Self {
        Encoding::PianoRoll(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{EventConfig, NoteVocabConfig};
    use crate::score::{Note, Score, Track};

    #[test]
    fn every_kind_round_trips_through_json() -> Result<()> {
        let mut score = Score::new(480);
        score.tracks.push(Track {
            notes: (0..8)
                .map(|i| Note::new(60 + i, 480 * u32::from(i), 480))
                .collect(),
            ..Track::default()
        });
        let all = [
            Encoding::from(CharVocab::from_texts(["M:3/4\nK:G\nabc|\n"])),
            Encoding::from(NoteVocab::build(
                std::slice::from_ref(&score),
                &NoteVocabConfig::default(),
            )?),
            Encoding::from(EventVocab::new(EventConfig::default())),
            Encoding::from(PianoRollConfig::default()),
            Encoding::from(AudioFeatureConfig::default()),
        ];
        for encoding in all {
            let value = serde_json::to_value(&encoding)?;
            assert_eq!(value["kind"], encoding.kind());
            let back: Encoding = serde_json::from_value(value)?;
            assert_eq!(back, encoding);
        }
        Ok(())
    }

    #[test]
    fn unknown_kinds_and_bad_vocabularies_are_named() {
        let err = Encoding::from_value(&json!({"kind": "midi_words"})).expect_err("unknown");
        assert!(format!("{err:#}").contains("midi_words"));
        let err = Encoding::from_value(&json!({"kind": "notes", "vocab": {"kind": "x"}}))
            .expect_err("bad vocabulary");
        assert!(format!("{err:#}").contains("note vocabulary"), "{err:#}");
    }
}

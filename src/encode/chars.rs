//! Character vocabulary for ABC text: every distinct character gets an id; counts are kept so the
//! vocabulary can show itself and give the unigram entropy a model has to beat.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Version written into saved vocabularies; loading refuses newer ones.
pub const CHAR_VOCAB_FORMAT: u32 = 1;

/// Written after each tune's text (which ends in a newline), making the blank line that ends a tune.
pub const TUNE_SEPARATOR: &str = "\n";

/// A character vocabulary: ids are positions in `chars`, which is sorted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CharVocab {
    /// Format version of the saved file.
    pub format: u32,
    /// The characters, sorted; a character's id is its index.
    pub chars: Vec<char>,
    /// How often each character occurred in the texts the vocabulary was built from.
    pub counts: Vec<u64>,
    #[serde(skip)]
    index: HashMap<char, i64>,
}

impl CharVocab {
    /// Builds a vocabulary from texts, counting every character.
    pub fn from_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut counts: BTreeMap<char, u64> = BTreeMap::new();
        for text in texts {
            for c in text.chars() {
                *counts.entry(c).or_default() += 1;
            }
        }
        let (chars, counts): (Vec<char>, Vec<u64>) = counts.into_iter().unzip();
        Self::from_parts(chars, counts)
    }

    fn from_parts(chars: Vec<char>, counts: Vec<u64>) -> Self {
        let index = chars
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, i as i64))
            .collect();
        CharVocab {
            format: CHAR_VOCAB_FORMAT,
            chars,
            counts,
            index,
        }
    }

    /// Number of distinct characters.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// True when the vocabulary has no characters.
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The id of a character, if it is in the vocabulary.
    pub fn id(&self, c: char) -> Option<i64> {
        self.index.get(&c).copied()
    }

    /// Encodes text as ids; an error names the first character not in the vocabulary.
    pub fn encode(&self, text: &str) -> Result<Vec<i64>> {
        text.chars()
            .enumerate()
            .map(|(pos, c)| {
                self.id(c).with_context(|| {
                    format!("character {c:?} at position {pos} is not in the vocabulary")
                })
            })
            .collect()
    }

    /// Encodes tunes as one stream, each tune followed by [`TUNE_SEPARATOR`] (so tunes end in a
    /// blank line, the end-of-tune marker the sampler stops at).
    pub fn encode_tunes<'a>(&self, tunes: impl IntoIterator<Item = &'a str>) -> Result<Vec<i64>> {
        let mut ids = Vec::new();
        for (i, tune) in tunes.into_iter().enumerate() {
            ids.extend(self.encode(tune).with_context(|| format!("tune {i}"))?);
            ids.extend(self.encode(TUNE_SEPARATOR).context("the tune separator")?);
        }
        Ok(ids)
    }

    /// Decodes ids back to text; an error names the first id out of range.
    pub fn decode(&self, ids: &[i64]) -> Result<String> {
        ids.iter()
            .map(|&id| {
                usize::try_from(id)
                    .ok()
                    .and_then(|i| self.chars.get(i).copied())
                    .with_context(|| format!("id {id} is outside the vocabulary of {}", self.len()))
            })
            .collect()
    }

    /// Entropy of the character distribution in nats: the loss of a model that ignores context.
    pub fn unigram_entropy(&self) -> f64 {
        super::unigram_entropy(self.counts.iter().copied())
    }

    /// The vocabulary as JSON text.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// Reads a vocabulary from JSON text, checking its format and consistency.
    pub fn from_json(json: &str) -> Result<Self> {
        let raw: CharVocab = serde_json::from_str(json).context("not a character vocabulary")?;
        if raw.format > CHAR_VOCAB_FORMAT {
            bail!(
                "vocabulary format {} is newer than this tunesmith understands ({CHAR_VOCAB_FORMAT})",
                raw.format
            );
        }
        if raw.chars.len() != raw.counts.len() {
            bail!(
                "vocabulary has {} characters but {} counts",
                raw.chars.len(),
                raw.counts.len()
            );
        }
        let vocab = Self::from_parts(raw.chars, raw.counts);
        if vocab.index.len() != vocab.chars.len() {
            bail!("vocabulary lists a character twice");
        }
        Ok(vocab)
    }

    /// Saves the vocabulary as JSON, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::fsutil::write_atomic(path, self.to_json()?.as_bytes())
    }

    /// Loads a vocabulary saved with [`CharVocab::save`]; errors name the file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read vocabulary {}", path.display()))?;
        Self::from_json(&text).with_context(|| format!("bad vocabulary file {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() -> Result<()> {
        let vocab = CharVocab::from_texts(["M:6/8\nK:G\nGAB|", "abc|]"]);
        let text = "GAB|abc";
        let ids = vocab.encode(text)?;
        assert_eq!(vocab.decode(&ids)?, text);
        assert_eq!(vocab.len(), 15);
        Ok(())
    }

    #[test]
    fn tunes_are_joined_with_a_blank_line() -> Result<()> {
        let vocab = CharVocab::from_texts(["K:C\nC|\n"]);
        let ids = vocab.encode_tunes(["K:C\nC|\n", "K:C\nCC|\n"])?;
        assert_eq!(vocab.decode(&ids)?, "K:C\nC|\n\nK:C\nCC|\n\n");
        Ok(())
    }

    #[test]
    fn unknown_characters_and_ids_are_errors() {
        let vocab = CharVocab::from_texts(["abc"]);
        assert!(vocab.encode("abz").unwrap_err().to_string().contains("'z'"));
        assert!(vocab.decode(&[7]).is_err());
        assert!(vocab.decode(&[-1]).is_err());
    }

    #[test]
    fn save_and_load_round_trip() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("vocab.json");
        let vocab = CharVocab::from_texts(["hello world\n"]);
        vocab.save(&path)?;
        let loaded = CharVocab::load(&path)?;
        assert_eq!(loaded, vocab);
        assert_eq!(loaded.encode("low")?, vocab.encode("low")?);
        Ok(())
    }

    #[test]
    fn bad_files_are_refused_with_the_path() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("v.json");
        std::fs::write(&path, "{ not json")?;
        let err = format!("{:#}", CharVocab::load(&path).unwrap_err());
        assert!(err.contains("v.json"), "{err}");
        std::fs::write(&path, r#"{"format":99,"chars":["a"],"counts":[1]}"#)?;
        assert!(format!("{:#}", CharVocab::load(&path).unwrap_err()).contains("newer"));
        Ok(())
    }

    #[test]
    fn entropy_of_two_equal_characters_is_ln2() {
        let vocab = CharVocab::from_texts(["abab"]);
        assert!((vocab.unigram_entropy() - 2f64.ln()).abs() < 1e-12);
    }
}

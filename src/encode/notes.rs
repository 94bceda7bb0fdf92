//! The seed's notes-and-chords vocabulary (as in Classical-Piano-Composer), with what it lost put
//! back as options.
//!
//! A score becomes a sequence of *elements*, one per distinct onset: a single note is named like
//! `E4`, notes starting together form a chord `C4.E4.G4` (lowest first), and silence between
//! notes is `rest`. Optionally a token also carries the element's duration (`E4:1/2`, in quarter
//! notes) and its offset to the next element (`E4:1/2@1`), so that rhythm survives. Each distinct
//! token gets an id (for a learned embedding, not the seed's normalised scalar); tokens seen fewer
//! than `min_count` times share the `<unk>` id.
//!
//! Times are quantised to [`GRID_PER_QUARTER`] steps per quarter note (sixteenths and triplets
//! both fit). Decoding places elements one after another: each advances time by its offset when
//! the token has one, else by its duration, else by [`FIXED_STEP`] (an eighth note, as the seed).
//!
//! ```
//! use tunesmith::encode::{NoteVocab, NoteVocabConfig, TokenEncoding};
//! let score = tunesmith::abc::abc_to_score("X:1\nL:1/8\nK:C\nE2 [CEG]2 z2 G2|]\n").unwrap();
//! let vocab = NoteVocab::build(&[score.clone()], &NoteVocabConfig::seed()).unwrap();
//! let ids = vocab.encode_score(&score).unwrap();
//! let names: Vec<String> = ids.iter().map(|&id| vocab.token_name(id)).collect();
//! assert_eq!(names, ["E4", "C4.E4.G4", "rest", "G4"]);
//! ```

use anyhow::{bail, ensure, Context, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::TokenEncoding;
use crate::score::key::{transpose_score, transposition_to_c};
use crate::score::{Note, Score, DEFAULT_TICKS_PER_QUARTER};
use html_escape::encode_text as esc;

/// Format version of saved note vocabularies.
pub const NOTE_VOCAB_FORMAT: u32 = 1;

/// The `kind` written into saved note vocabularies.
pub const NOTE_VOCAB_KIND: &str = "tunesmith.note_vocab";

/// Time grid of the tokens: steps per quarter note (12: sixteenths and eighth-note triplets).
pub const GRID_PER_QUARTER: u32 = 12;

/// How far decoding advances after a token that carries no duration or offset, in grid steps
/// (6: an eighth note, the seed's fixed 0.5 offset).
pub const FIXED_STEP: u32 = 6;

/// The token that stands for silence.
pub const REST: &str = "rest";

/// The token for anything not in the vocabulary.
pub const UNK: &str = "<unk>";

/// The id of [`UNK`].
pub const UNK_ID: i64 = 0;

/// Most elements tokenised from one score (a guard against absurd files).
pub const MAX_ELEMENTS: usize = 1 << 22;

/// What goes into a token and which tokens are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteVocabConfig {
    /// Add the element's duration in quarter notes: `E4:3/2`.
    pub with_duration: bool,
    /// Add the offset to the next element in quarter notes: `E4:1/2@1`.
    pub with_offset: bool,
    /// Tokens seen fewer times than this when building map to `<unk>` (0 and 1 keep all).
    pub min_count: usize,
    /// Move each score so its estimated tonic is C before tokenising.
    pub transpose_to_c: bool,
}

impl Default for NoteVocabConfig {
    /// Durations and offsets in the token (rhythm survives), every token kept, transposed to C.
    fn default() -> Self {
        NoteVocabConfig {
            with_duration: true,
            with_offset: true,
            min_count: 1,
            transpose_to_c: true,
        }
    }
}

impl NoteVocabConfig {
    /// The seed's (and Classical-Piano-Composer's) vocabulary: pitches and chords only, in the
    /// key the piece was written in.
    pub fn seed() -> Self {
        NoteVocabConfig {
            with_duration: false,
            with_offset: false,
            min_count: 1,
            transpose_to_c: false,
        }
    }
}

/// One element: a note, a chord or a rest, with times in grid steps.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Element {
    /// Sorted distinct pitches; empty for a rest.
    pitches: Vec<u8>,
    /// How long it sounds (the longest note of a chord), at least 1.
    duration: u32,
    /// Steps to the next element's start.
    offset: u32,
}

/// `n` grid steps as quarter notes, a reduced fraction: 12 → `1`, 6 → `1/2`, 4 → `1/3`.
fn format_quarters(n: u32) -> String {
    fn gcd(a: u32, b: u32) -> u32 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let g = gcd(n, GRID_PER_QUARTER).max(1);
    let (num, den) = (n / g, GRID_PER_QUARTER / g);
    if den == 1 {
        num.to_string()
    } else {
        format!("{num}/{den}")
    }
}

/// Parses a quarter-note length written by [`format_quarters`] back to grid steps.
fn parse_quarters(text: &str) -> Option<u32> {
    let (num, den) = match text.split_once('/') {
        Some((n, d)) => (n.parse::<u64>().ok()?, d.parse::<u64>().ok()?),
        None => (text.parse::<u64>().ok()?, 1),
    };
    let scaled = num.checked_mul(u64::from(GRID_PER_QUARTER))?;
    if den == 0 || scaled % den != 0 {
        return None;
    }
    u32::try_from(scaled / den).ok()
}

/// Parses a pitch name such as `C4`, `F#3` or `C-1` into a MIDI pitch.
fn parse_pitch(name: &str) -> Option<u8> {
    let mut chars = name.chars();
    let pc: i32 = match chars.next()? {
        'C' => 0,
        'D' => 2,
        'E' => 4,
        'F' => 5,
        'G' => 7,
        'A' => 9,
        'B' => 11,
        _ => return None,
    };
    let rest = chars.as_str();
    let (pc, octave) = match rest.strip_prefix('#') {
        Some(o) => (pc + 1, o),
        None => (pc, rest),
    };
    let octave: i32 = octave.parse().ok()?;
    u8::try_from((octave + 1) * 12 + pc)
        .ok()
        .filter(|&p| p <= 127)
}

impl Element {
    /// The token text under `config`.
    fn token(&self, config: &NoteVocabConfig) -> String {
        let mut text = if self.pitches.is_empty() {
            REST.to_string()
        } else {
            self.pitches
                .iter()
                .map(|&p| crate::score::pitch_name(i32::from(p)))
                .collect::<Vec<_>>()
                .join(".")
        };
        if config.with_duration {
            text.push(':');
            text.push_str(&format_quarters(self.duration));
        }
        if config.with_offset {
            text.push('@');
            text.push_str(&format_quarters(self.offset));
        }
        text
    }

    /// Reads a token back: pitches, and the duration and offset when it has them.
    fn parse(token: &str) -> Option<(Vec<u8>, Option<u32>, Option<u32>)> {
        let (rest, offset) = match token.split_once('@') {
            Some((r, o)) => (r, Some(parse_quarters(o)?)),
            None => (token, None),
        };
        let (body, duration) = match rest.split_once(':') {
            Some((b, d)) => (b, Some(parse_quarters(d)?)),
            None => (rest, None),
        };
        let pitches = if body == REST {
            Vec::new()
        } else {
            body.split('.')
                .map(parse_pitch)
                .collect::<Option<Vec<u8>>>()?
        };
        Some((pitches, duration, offset))
    }
}

/// Rounds `tick` to the nearest step of the token grid.
fn to_grid(tick: u32, tpq: u16) -> u64 {
    let tpq = u64::from(tpq.max(1));
    (u64::from(tick) * u64::from(GRID_PER_QUARTER) * 2 + tpq) / (2 * tpq)
}

/// The score's pitched notes (all tracks but drums) as elements on the grid.
fn elements(score: &Score) -> Result<Vec<Element>> {
    let tpq = score.ticks_per_quarter;
    // onset → (pitches, longest duration)
    let mut onsets: BTreeMap<u64, (Vec<u8>, u64)> = BTreeMap::new();
    for note in score
        .tracks
        .iter()
        .filter(|t| !t.is_drum)
        .flat_map(|t| &t.notes)
    {
        let start = to_grid(note.start, tpq);
        let duration = to_grid(note.end(), tpq).saturating_sub(start).max(1);
        let entry = onsets.entry(start).or_default();
        entry.0.push(note.pitch);
        entry.1 = entry.1.max(duration);
    }
    ensure!(
        onsets.len() <= MAX_ELEMENTS,
        "{} note onsets is more than the {MAX_ELEMENTS} allowed",
        onsets.len()
    );
    let step = |n: u64| u32::try_from(n).context("a note or a gap is too long to tokenise");
    let mut out: Vec<Element> = Vec::with_capacity(onsets.len());
    let mut starts: Vec<u64> = Vec::with_capacity(onsets.len());
    let mut sounding_until = 0u64;
    for (start, (mut pitches, duration)) in onsets {
        if start > sounding_until {
            out.push(Element {
                pitches: Vec::new(),
                duration: step(start - sounding_until)?,
                offset: 0,
            });
            starts.push(sounding_until);
        }
        pitches.sort_unstable();
        pitches.dedup();
        out.push(Element {
            pitches,
            duration: step(duration)?,
            offset: 0,
        });
        starts.push(start);
        sounding_until = sounding_until.max(start + duration);
    }
    for i in 0..out.len() {
        out[i].offset = match starts.get(i + 1) {
            Some(next) => step(next - starts[i])?,
            None => out[i].duration,
        };
    }
    Ok(out)
}

/// The tokens of a score under `config` (transposed to C first when the config says so), before
/// any vocabulary lookup.
pub fn score_tokens(score: &Score, config: &NoteVocabConfig) -> Result<Vec<String>> {
    let moved;
    let score = if config.transpose_to_c {
        moved = transpose_score(score, transposition_to_c(score));
        &moved
    } else {
        score
    };
    Ok(elements(score)?.iter().map(|e| e.token(config)).collect())
}

/// A notes-and-chords vocabulary: ids are positions in the token list, `<unk>` first, then the
/// tokens from most to least frequent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteVocab {
    /// What the tokens hold.
    config: NoteVocabConfig,
    /// The tokens; a token's id is its index; index 0 is `<unk>`.
    tokens: Vec<String>,
    /// How often each token occurred in the scores it was built from (for `<unk>`: the
    /// occurrences of the tokens left out by `min_count`).
    counts: Vec<usize>,
    #[serde(skip)]
    index: HashMap<String, i64>,
}

impl NoteVocab {
    /// Builds the vocabulary from scores (tokenised in parallel).
    ///
    /// # Errors
    /// A score too long to tokenise (the error names its index), or scores without any note.
    pub fn build(scores: &[Score], config: &NoteVocabConfig) -> Result<Self> {
        let per_score: Vec<Result<HashMap<String, usize>>> = scores
            .par_iter()
            .enumerate()
            .map(|(i, score)| {
                let mut counts = HashMap::new();
                for token in score_tokens(score, config).with_context(|| format!("score {i}"))? {
                    *counts.entry(token).or_insert(0) += 1;
                }
                Ok(counts)
            })
            .collect();
        let mut counts: HashMap<String, usize> = HashMap::new();
        for map in per_score {
            for (token, n) in map? {
                *counts.entry(token).or_insert(0) += n;
            }
        }
        if counts.is_empty() {
            bail!(
                "cannot build a note vocabulary: the {} scores have no notes",
                scores.len()
            );
        }
        let mut sorted: Vec<(String, usize)> = counts.into_iter().collect();
        sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let min = config.min_count.max(1);
        let dropped: usize = sorted
            .iter()
            .filter(|(_, n)| *n < min)
            .map(|(_, n)| n)
            .sum();
        let (tokens, counts): (Vec<String>, Vec<usize>) =
            std::iter::once((UNK.to_string(), dropped))
                .chain(sorted.into_iter().filter(|(_, n)| *n >= min))
                .unzip();
        Ok(Self::from_parts(*config, tokens, counts))
    }

    fn from_parts(config: NoteVocabConfig, tokens: Vec<String>, counts: Vec<usize>) -> Self {
        let index = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as i64))
            .collect();
        NoteVocab {
            config,
            tokens,
            counts,
            index,
        }
    }

    /// Number of tokens, `<unk>` included.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Never true: the vocabulary always holds `<unk>`.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// What the tokens hold.
    pub fn config(&self) -> &NoteVocabConfig {
        &self.config
    }

    /// The tokens in id order.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// Each token with its count, in id order (`<unk>` first, then most frequent first).
    pub fn counts(&self) -> Vec<(String, usize)> {
        self.tokens
            .iter()
            .cloned()
            .zip(self.counts.iter().copied())
            .collect()
    }

    /// The id of a token, if it is in the vocabulary.
    pub fn id(&self, token: &str) -> Option<i64> {
        self.index.get(token).copied()
    }

    /// The token with this id, if any.
    pub fn token(&self, id: i64) -> Option<&str> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.tokens.get(i))
            .map(String::as_str)
    }

    /// Entropy in nats of the token distribution the vocabulary was built from: the loss of a
    /// model that ignores context.
    pub fn unigram_entropy(&self) -> f64 {
        super::unigram_entropy(self.counts.iter().map(|&n| n as u64))
    }

    /// The vocabulary as JSON text (with format and crate versions).
    pub fn to_json(&self) -> Result<String> {
        super::saved::to_json(NOTE_VOCAB_KIND, NOTE_VOCAB_FORMAT, self)
    }

    /// Reads a vocabulary from JSON text, checking that it is consistent.
    pub fn from_json(json: &str) -> Result<Self> {
        let raw: NoteVocab = super::saved::from_json(json, NOTE_VOCAB_KIND, NOTE_VOCAB_FORMAT)?;
        Self::checked(raw)
    }

    fn checked(raw: NoteVocab) -> Result<Self> {
        ensure!(
            raw.tokens.len() == raw.counts.len(),
            "note vocabulary has {} tokens but {} counts",
            raw.tokens.len(),
            raw.counts.len()
        );
        ensure!(
            raw.tokens.first().map(String::as_str) == Some(UNK),
            "note vocabulary must start with {UNK}"
        );
        for token in &raw.tokens[1..] {
            ensure!(
                Element::parse(token).is_some(),
                "note vocabulary holds a token that is not a note, chord or rest: {token:?}"
            );
        }
        let vocab = Self::from_parts(raw.config, raw.tokens, raw.counts);
        ensure!(
            vocab.index.len() == vocab.tokens.len(),
            "note vocabulary lists a token twice"
        );
        Ok(vocab)
    }

    /// Saves the vocabulary as JSON, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        super::saved::save(path, NOTE_VOCAB_KIND, NOTE_VOCAB_FORMAT, self)
    }

    /// Loads a vocabulary saved with [`NoteVocab::save`]; errors name the file.
    pub fn load(path: &Path) -> Result<Self> {
        let raw: NoteVocab = super::saved::load(path, NOTE_VOCAB_KIND, NOTE_VOCAB_FORMAT)?;
        Self::checked(raw).with_context(|| format!("bad note vocabulary file {}", path.display()))
    }

    /// An HTML summary with the `top` most frequent tokens and their counts.
    pub fn to_html_top(&self, top: usize) -> String {
        let total: usize = self.counts.iter().sum();
        let share = |n: usize| 100.0 * n as f64 / total.max(1) as f64;
        let rows: String = self
            .counts()
            .into_iter()
            .enumerate()
            .skip(1)
            .take(top)
            .map(|(id, (token, n))| {
                format!(
                    "<tr><td>{id}</td><td><code>{}</code></td><td>{n}</td><td>{:.2}%</td></tr>",
                    esc(&token),
                    share(n)
                )
            })
            .collect();
        let c = &self.config;
        let yes_no = |b: bool, yes: &str, no: &str| if b { yes } else { no }.to_string();
        format!(
            "<div><b>Note vocabulary</b>: {} tokens ({}, {}, min count {}, {}), {total} occurrences, {:.2}% unknown, unigram entropy {:.3} nats<table class=\"tunesmith\"><thead><tr><th>id</th><th>token</th><th>count</th><th>share</th></tr></thead><tbody>{rows}</tbody></table>{}</div>",
            self.len(),
            yes_no(c.with_duration, "with durations", "no durations"),
            yes_no(c.with_offset, "with offsets", "no offsets"),
            c.min_count,
            yes_no(c.transpose_to_c, "transposed to C", "original keys"),
            share(self.counts.first().copied().unwrap_or(0)),
            self.unigram_entropy(),
            if self.len() > top + 1 {
                format!("<p>{} more tokens not shown</p>", self.len() - top - 1)
            } else {
                String::new()
            }
        )
    }
}

impl NoteVocab {
    /// The vocabulary as HTML: the 40 most frequent tokens.
    pub fn to_html(&self) -> String {
        self.to_html_top(40)
    }
}

impl TokenEncoding for NoteVocab {
    fn vocab_size(&self) -> usize {
        self.len()
    }

    /// The score's tokens as ids; tokens not in the vocabulary become [`UNK_ID`].
    fn encode_score(&self, score: &Score) -> Result<Vec<i64>> {
        Ok(score_tokens(score, &self.config)?
            .iter()
            .map(|t| self.id(t).unwrap_or(UNK_ID))
            .collect())
    }

    /// Places the tokens one after another in a one-track score at 480 ticks per quarter.
    /// `<unk>` is a rest of [`FIXED_STEP`].
    ///
    /// # Errors
    /// An id outside the vocabulary.
    fn decode_ids(&self, ids: &[i64]) -> Result<Score> {
        let per_step = u32::from(DEFAULT_TICKS_PER_QUARTER) / GRID_PER_QUARTER;
        let mut notes = Vec::new();
        let mut time = 0u64;
        for (pos, &id) in ids.iter().enumerate() {
            let token = self.token(id).with_context(|| {
                format!(
                    "id {id} at position {pos} is outside the note vocabulary of {}",
                    self.len()
                )
            })?;
            let (pitches, duration, offset) = if id == UNK_ID {
                (Vec::new(), None, None)
            } else {
                Element::parse(token)
                    .with_context(|| format!("token {token:?} at position {pos} is malformed"))?
            };
            let sounds = duration.or(offset).unwrap_or(FIXED_STEP).max(1);
            let advance = offset.or(duration).unwrap_or(FIXED_STEP);
            let start =
                u32::try_from(time * u64::from(per_step)).context("decoded piece is too long")?;
            for pitch in pitches {
                notes.push(Note::new(pitch, start, sounds.saturating_mul(per_step)));
            }
            time += u64::from(advance);
        }
        Ok(Score::one_track(
            DEFAULT_TICKS_PER_QUARTER,
            "notes and chords",
            notes,
        ))
    }

    fn token_name(&self, id: i64) -> String {
        self.token(id)
            .map_or_else(|| format!("<invalid {id}>"), str::to_string)
    }
}

#[cfg(test)]
mod tests;

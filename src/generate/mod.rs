//! One way to generate music from any model: one seeded sampler ([`sampler`]) with one meaning of
//! temperature (0 is greedy everywhere), top-k and top-p; one way to say how long a piece is
//! ([`Length`]: steps, notes, bars, seconds, or until the encoding's end marker); primers from ABC
//! or MIDI for every model ([`Primer`]); and one call, [`generate`] (or [`Generator::generate`]),
//! always `(primer, config)` in that order. The result is a [`Piece`]: its ids or frames, its ABC
//! text for a character model, its [`Score`], written as `.abc` or `.mid`.
//!
//! ```no_run
//! # use tunesmith::prelude::*;
//! # fn f() -> Result<()> {
//! let generator = open_for_generation("drive/runs/notes".as_ref(), Device::Cpu)?;
//! let config = SampleConfig { temperature: 0.9, top_p: 0.92, length: Length::Notes(64), ..SampleConfig::default() };
//! let piece = generator.generate(&Primer::midi("opening.mid").first(32), &config)?;
//! piece.write("generated".as_ref(), "piece")?; // generated/piece.mid
//! # Ok(()) }
//! ```

pub mod abc_constraint;
pub mod audio;
pub mod batch;
pub mod form;
pub mod frames;
pub mod model_sampling;
pub mod resample;
pub mod sampler;
pub mod samples;
pub mod tilt;
pub mod tokens;

pub use audio::{render_audio, render_primer, RenderedAudio};
pub use form::{default_form_table, Form, Header};
pub use model_sampling::{model_sampling, model_sampling_of, SAMPLING_FILE};
pub use sampler::{keep_top_k, keep_top_p, next_token_distribution, sample_index};
pub use samples::SampleEvery;
pub use tilt::Tilt;

use crate::checkpoint::{load_model, Meta};
use crate::encode::{Encoding, PianoRoll};
use crate::model::{CopyMemory, Model, Stepper};
use crate::score::Score;
use anyhow::{ensure, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::Device;

/// How long a piece is: what the model writes after the primer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Length {
    /// This many tokens (token models) or frames (piano-roll models).
    Steps(usize),
    /// Until the new material holds this many notes.
    Notes(usize),
    /// Until the new material spans this many bars (of the primer's meter, 4/4 without one).
    Bars(usize),
    /// Until the new material lasts this many seconds (at the primer's tempo, 120 BPM without).
    Seconds(f64),
    /// Until the encoding's end marker (the blank line after an ABC tune); encodings without one
    /// stop at `max_steps`.
    End,
}

impl std::str::FromStr for Length {
    type Err = anyhow::Error;

    /// `end`, `steps:N`, `notes:N`, `bars:N` or `seconds:S`.
    fn from_str(text: &str) -> Result<Self> {
        let (kind, value) = text.split_once(':').unwrap_or((text, ""));
        let count = || -> Result<usize> {
            value
                .parse()
                .with_context(|| format!("{kind} needs a whole number, as in {kind}:64"))
        };
        Ok(match kind {
            "end" if value.is_empty() => Length::End,
            "steps" | "tokens" | "frames" => Length::Steps(count()?),
            "notes" => Length::Notes(count()?),
            "bars" => Length::Bars(count()?),
            "seconds" => Length::Seconds(
                value
                    .parse()
                    .context("seconds needs a number, as in seconds:30")?,
            ),
            _ => anyhow::bail!(
                "unknown length {text:?} (use end, steps:N, notes:N, bars:N or seconds:S)"
            ),
        })
    }
}

/// How to sample. (Missing fields in JSON take their defaults; an unknown field is an error.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SampleConfig {
    /// Divides the logits: below 1 is more conservative, above 1 more adventurous; 0 is greedy
    /// (the most likely token; for piano rolls, each pitch more likely on than off).
    pub temperature: f64,
    /// Keep only the k most likely tokens at each step (0 keeps all). Token models only.
    pub top_k: usize,
    /// Keep only the most likely tokens whose probabilities add up to at least `top_p` (nucleus
    /// sampling; 1 keeps all). Token models only.
    pub top_p: f64,
    /// Seed of the sampler (the same seed, model and primer give the same piece).
    pub seed: u64,
    /// How long a piece is.
    pub length: Length,
    /// The most steps (tokens or frames) to write, whatever the length says.
    pub max_steps: usize,
    /// Ids never to sample (for example `<unk>`). Token models only.
    pub banned: Vec<i64>,
    /// At most this many notes sound in a frame (pitches are drawn from low to high, and a frame
    /// is full once it holds this many). Piano-roll models only.
    pub max_notes_per_frame: Option<usize>,
    /// Piano-roll models: a key whose probability (at the temperature, given the past and, for
    /// models that draw a frame key by key, the keys below it) is below this never sounds; the
    /// Bernoulli keys' counterpart of nucleus sampling, which trims the rare stray notes that
    /// widen a piece's range. 0 (the default) draws every key with its probability.
    pub min_note_probability: f64,
    /// Character models: follow the tune with the ABC state machine and never write a character
    /// that would make it invalid (a note overflowing its bar, a bar line before the bar is full,
    /// a tune ending with something left open); see [`abc_constraint`]. On by default. It acts
    /// only on sampling: the model's probabilities are masked, never retrained or rescored.
    pub abc_constraints: bool,
    /// Character models with `abc_constraints` on: the form each tune is written in (parts of a
    /// number of bars, closed by section bar lines, ending when the last part closes); by
    /// default drawn from the corpus's forms for the tune's meter ([`Form::Learned`]).
    pub form: Form,
    /// Character models that offer it (`LstmLm` on the CPU): sample through the crate's fused CPU kernel, all pieces of a
    /// [`generate_many`] at once, with the same distribution as one libtorch step per character
    /// (which `false` selects; that path is the reference the kernel is tested against).
    pub fused: bool,
    /// Character models under the ABC constraint: draw this many candidate tunes for each piece
    /// and keep one, chosen in proportion to how much of the model's probability the mask kept
    /// on it (sampling–importance–resampling, [`resample`]): the mask alone over-samples tunes it
    /// had to force (an end where the model would not end, a bar line where it would write on);
    /// the more candidates, the closer the kept tunes come to the model's own distribution
    /// restricted to valid tunes of the form. 1 keeps the masked sampler's single draw; other
    /// models ignore it. The default, 8, was chosen on the validation tunes (docs/benchmarks.md).
    pub candidates: usize,
    /// Token models: the copy memory mixed into the model's distribution at each step (what
    /// followed the longest earlier match of the recent tokens, trusted more the longer the
    /// match; [`crate::model::copy_memory`]). By default the weights fitted for the shipped
    /// character model on the default corpus, sharpened for sampling
    /// ([`crate::model::copy_memory::SAMPLING_SHARPNESS`]); [`CopyMemory::fitted`] gives the
    /// fitted weights as they are, [`CopyMemory::off`] samples the model alone.
    pub copy_memory: CopyMemory,
    /// Character models sampled without a primer: who writes the tune's `M:` and `L:` lines (by
    /// default drawn from the corpus's mix of headers, [`Header::Learned`]; the model writes the
    /// key and everything after).
    pub header: Header,
    /// Character models drawn from candidates: the tilt of the choice among them towards the
    /// corpus's share of tunes that end on the tonic and its mean pitch-class entropy (and, when
    /// asked, its share of tunes in more than one part; [`tilt`]). By default the tilt fitted for
    /// the shipped character model so that its tunes end on the tonic as often as the default
    /// corpus's training tunes and use their pitch classes as evenly; [`Tilt::off`] weighs
    /// candidates by the mask alone.
    pub tilt: Tilt,
}

impl Default for SampleConfig {
    fn default() -> Self {
        SampleConfig {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            seed: 0,
            length: Length::End,
            max_steps: 2000,
            banned: Vec::new(),
            max_notes_per_frame: None,
            min_note_probability: 0.0,
            abc_constraints: true,
            form: Form::Learned,
            fused: true,
            candidates: resample::DEFAULT_CANDIDATES,
            copy_memory: CopyMemory::default(),
            header: Header::default(),
            tilt: Tilt::default(),
        }
    }
}

impl SampleConfig {
    /// Checks the settings; errors name the field.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.temperature >= 0.0 && self.temperature.is_finite(),
            "temperature must be 0 (greedy) or positive, not {}",
            self.temperature
        );
        ensure!(
            self.top_p > 0.0 && self.top_p <= 1.0,
            "top_p must be in (0, 1], not {}",
            self.top_p
        );
        ensure!(self.max_steps > 0, "max_steps must be positive");
        ensure!(
            (0.0..1.0).contains(&self.min_note_probability),
            "min_note_probability must be in [0, 1), not {}",
            self.min_note_probability
        );
        self.copy_memory.validate()?;
        self.tilt.validate()?;
        ensure!(
            self.candidates >= 1,
            "candidates must be at least 1 (1 keeps the single masked draw)"
        );
        if self.abc_constraints {
            self.form.validate(self.max_steps)?;
        }
        if let Length::Seconds(s) = self.length {
            ensure!(
                s > 0.0 && s.is_finite(),
                "length in seconds must be positive"
            );
        }
        Ok(())
    }
}

/// Where a piece starts.
#[derive(Debug, Clone, PartialEq)]
pub enum PrimerSource {
    /// From nothing: the start of a tune (characters), a silent frame (piano rolls).
    Nothing,
    /// ABC text: the head of a tune (`M:6/8\nK:G\n`) or a whole tune.
    Abc(String),
    /// The notes of a MIDI file.
    Midi(PathBuf),
    /// The notes of a score.
    Score(Score),
    /// Token ids of the model's encoding.
    Ids(Vec<i64>),
    /// Frames of a piano roll.
    Roll(PianoRoll),
}

/// What a piece starts from, for any model: ABC, MIDI, a score, ids or frames, optionally cut to
/// its first steps. The primer is part of the piece.
#[derive(Debug, Clone, PartialEq)]
pub struct Primer {
    /// The material.
    pub source: PrimerSource,
    /// Use at most this many steps of it (tokens, characters or frames).
    pub max_steps: Option<usize>,
}

impl Primer {
    fn of(source: PrimerSource) -> Self {
        Primer {
            source,
            max_steps: None,
        }
    }

    /// No primer.
    pub fn none() -> Self {
        Self::of(PrimerSource::Nothing)
    }

    /// ABC text.
    pub fn abc(text: impl Into<String>) -> Self {
        Self::of(PrimerSource::Abc(text.into()))
    }

    /// A MIDI file.
    pub fn midi(path: impl Into<PathBuf>) -> Self {
        Self::of(PrimerSource::Midi(path.into()))
    }

    /// A score.
    pub fn score(score: Score) -> Self {
        Self::of(PrimerSource::Score(score))
    }

    /// Token ids.
    pub fn ids(ids: Vec<i64>) -> Self {
        Self::of(PrimerSource::Ids(ids))
    }

    /// A piano roll.
    pub fn roll(roll: PianoRoll) -> Self {
        Self::of(PrimerSource::Roll(roll))
    }

    /// Only the first `steps` steps (tokens, characters or frames).
    pub fn first(mut self, steps: usize) -> Self {
        self.max_steps = Some(steps);
        self
    }

    /// The primer as a score, when it is music (ABC, MIDI, a score); `None` for ids, rolls or
    /// nothing.
    pub fn as_score(&self) -> Result<Option<Score>> {
        Ok(match &self.source {
            PrimerSource::Abc(text) => {
                Some(crate::abc::abc_to_score(text).context("the ABC primer does not parse")?)
            }
            PrimerSource::Midi(path) => Some(crate::midi::read_midi_file(path)?),
            PrimerSource::Score(score) => Some(score.clone()),
            _ => None,
        })
    }
}

/// A generated piece: the primer and the new material, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    /// The encoding's kind (`chars`, `notes`, `events`, `piano_roll`).
    pub encoding: &'static str,
    /// Steps (tokens or frames) that came from the primer (for an unprimed ABC tune, the header
    /// drawn for it: [`SampleConfig::header`]).
    pub primer_steps: usize,
    /// Token models: the primer's ids then the new ones.
    pub ids: Vec<i64>,
    /// Piano-roll models: the primer's frames then the new ones.
    pub roll: Option<PianoRoll>,
    /// Character models: the tune's ABC text, primer included.
    pub abc: Option<String>,
    /// The whole piece as a score (`None` when generated ABC does not parse: see `problem`).
    pub score: Option<Score>,
    /// Why there is no score, when there is none.
    pub problem: Option<String>,
    /// Character models with `abc_constraints` on: why the constraint stepped aside (a primer
    /// it cannot follow, a vocabulary without the characters a tune needs), when it did.
    pub constraint_off: Option<String>,
    /// Character models under a form: the bars of each part the tune was written in.
    pub form: Option<Vec<u32>>,
    /// Character models under the ABC constraint: the log of the share of the model's
    /// probability its mask kept, summed over the piece (`log p_model − log p_sampled`; 0 where
    /// the mask never stepped in). [`SampleConfig::candidates`] weighs candidates by it.
    pub log_kept_probability: Option<f64>,
    /// Character models under the ABC constraint: the weight [`SampleConfig::candidates`]
    /// weighs candidates by, in logs (the same sum over the draws where the mask took more than
    /// half of the model's probability; [`abc_constraint::AbcConstraint::resampling_log_weight`]).
    pub resampling_log_weight: Option<f64>,
    /// The piece stopped at `max_steps` before its end (an ABC tune asked to run to its end
    /// without its closing blank line): it is cut off, not finished.
    pub reached_step_cap: bool,
}

impl Piece {
    /// The new steps (tokens or frames) the model wrote.
    pub fn new_steps(&self) -> usize {
        match &self.roll {
            Some(roll) => roll.len() - self.primer_steps,
            None => self.ids.len() - self.primer_steps,
        }
    }

    /// The ids the model chose (token models).
    pub fn new_ids(&self) -> &[i64] {
        &self.ids[self.primer_steps.min(self.ids.len())..]
    }

    /// Notes in the whole piece (0 without a score).
    pub fn note_count(&self) -> usize {
        self.score.as_ref().map_or(0, Score::note_count)
    }

    /// The file extension the piece is written with: `abc` for ABC text, else `mid`.
    pub fn extension(&self) -> &'static str {
        if self.abc.is_some() {
            "abc"
        } else {
            "mid"
        }
    }

    /// The ABC text as a file: an `X:` number and a title before the tune.
    pub fn abc_file_text(&self, number: usize, title: &str) -> Option<String> {
        self.abc
            .as_ref()
            .map(|t| format!("X:{number}\nT:{title}\n{t}\n"))
    }

    /// Writes the piece into `dir` as `{stem}.abc` (character models) or `{stem}.mid`,
    /// atomically; returns the path.
    pub fn write(&self, dir: &Path, stem: &str) -> Result<PathBuf> {
        let path = dir.join(format!("{stem}.{}", self.extension()));
        match self.abc_file_text(1, stem) {
            Some(text) => crate::fsutil::write_atomic(&path, text.as_bytes())?,
            None => self.write_midi(&path)?,
        }
        Ok(path)
    }

    /// Writes the piece as a MIDI file (an error when it has no score).
    pub fn write_midi(&self, path: &Path) -> Result<()> {
        let score = self.score.as_ref().with_context(|| {
            format!(
                "cannot write {}: the piece has no score ({})",
                path.display(),
                self.problem.as_deref().unwrap_or("nothing decoded")
            )
        })?;
        crate::midi::write_midi_file(score, path)
    }
}

/// Generates one piece from `model` reading `encoding`, after `primer`, as `config` says.
pub fn generate(
    model: &dyn Model,
    encoding: &Encoding,
    primer: &Primer,
    config: &SampleConfig,
) -> Result<Piece> {
    config.validate()?;
    crate::checkpoint::check_encoding(model, encoding)?;
    if resample::applies(encoding, config) {
        let mut pieces =
            resample::generate_resampled(model, encoding, primer, std::slice::from_ref(config))?;
        return pieces.pop().context("the resampler kept no piece");
    }
    generate_one(model, encoding, primer, config)
}

/// One draw of one piece, whatever `config.candidates` says (the checks are the caller's).
fn generate_one(
    model: &dyn Model,
    encoding: &Encoding,
    primer: &Primer,
    config: &SampleConfig,
) -> Result<Piece> {
    if let Some(mut pieces) = fused_abc(model, encoding, primer, std::slice::from_ref(config))? {
        return pieces.pop().context("the fused sampler wrote no piece");
    }
    match model.stepper() {
        Stepper::Tokens(stepper) => tokens::generate_tokens(stepper, encoding, primer, config),
        Stepper::Frames(stepper) => frames::generate_frames(stepper, encoding, primer, config),
        Stepper::Audio(_) => anyhow::bail!(
            "the {} model makes audio, not notes: render a score with it (`tunesmith render`, generate::render_audio or render::neural_audio)",
            model.architecture()
        ),
    }
}

/// Generates `n` pieces with seeds `config.seed`, `config.seed + 1`, … (a character model on the
/// fused path writes them all at once).
pub fn generate_many(
    model: &dyn Model,
    encoding: &Encoding,
    n: usize,
    primer: &Primer,
    config: &SampleConfig,
) -> Result<Vec<Piece>> {
    config.validate()?;
    crate::checkpoint::check_encoding(model, encoding)?;
    let configs: Vec<SampleConfig> = (0..n)
        .map(|i| SampleConfig {
            seed: config.seed.wrapping_add(i as u64),
            ..config.clone()
        })
        .collect();
    if resample::applies(encoding, config) {
        return resample::generate_resampled(model, encoding, primer, &configs);
    }
    generate_each(model, encoding, primer, &configs)
}

/// One draw per config (its `candidates` left aside): all at once through the fused kernel when
/// the model offers it, else one after another.
pub(crate) fn generate_each(
    model: &dyn Model,
    encoding: &Encoding,
    primer: &Primer,
    configs: &[SampleConfig],
) -> Result<Vec<Piece>> {
    if let Some(pieces) = fused_abc(model, encoding, primer, configs)? {
        return Ok(pieces);
    }
    let n = configs.len();
    configs
        .iter()
        .enumerate()
        .map(|(i, config)| {
            generate_one(model, encoding, primer, config)
                .with_context(|| format!("piece {} of {n}", i + 1))
        })
        .collect()
}

/// Pieces from a character model through the fused kernel, one lane per config, when the model
/// offers one ([`crate::model::TokenStepper::lanes`]: on the CPU) and every config asks for the
/// fused path; `None` otherwise.
fn fused_abc(
    model: &dyn Model,
    encoding: &Encoding,
    primer: &Primer,
    configs: &[SampleConfig],
) -> Result<Option<Vec<Piece>>> {
    let (Encoding::Chars(vocab), Stepper::Tokens(stepper)) = (encoding, model.stepper()) else {
        return Ok(None);
    };
    if configs.is_empty() || !configs.iter().all(|c| c.fused) {
        return Ok(None);
    }
    let Some(fused) = stepper.lanes()? else {
        return Ok(None);
    };
    batch::generate_abc_lanes(&fused, vocab, primer, configs, rayon::current_num_threads())
        .map(Some)
}

/// A model and its encoding, ready to sample: what [`open_for_generation`] returns.
#[derive(Debug)]
pub struct Generator {
    /// The model.
    pub model: Box<dyn Model>,
    /// The encoding it reads.
    pub encoding: Encoding,
    /// The checkpoint's metadata, when it came from one.
    pub meta: Option<Meta>,
    /// The settings to sample the model at: those fitted to it and kept in its checkpoint's
    /// folder or the folder it was opened from ([`model_sampling_of`]), else
    /// [`SampleConfig::default`]. Start from these and change what
    /// you like: `SampleConfig { seed: 7, ..generator.sampling.clone() }`.
    pub sampling: SampleConfig,
}

impl Generator {
    /// A generator for a model in memory.
    pub fn new(model: impl Model, encoding: impl Into<Encoding>) -> Result<Self> {
        let encoding = encoding.into();
        crate::checkpoint::check_encoding(&model, &encoding)?;
        Ok(Generator {
            model: Box::new(model),
            encoding,
            meta: None,
            sampling: SampleConfig::default(),
        })
    }

    /// One piece.
    pub fn generate(&self, primer: &Primer, config: &SampleConfig) -> Result<Piece> {
        generate(self.model.as_ref(), &self.encoding, primer, config)
    }

    /// The notes of `score` as audio, for a neural synthesizer (see [`render_audio`]).
    pub fn render(&self, score: &Score, config: &SampleConfig) -> Result<RenderedAudio> {
        render_audio(self.model.as_ref(), &self.encoding, score, config)
    }

    /// `n` pieces with seeds `config.seed`, `config.seed + 1`, …
    pub fn generate_many(
        &self,
        n: usize,
        primer: &Primer,
        config: &SampleConfig,
    ) -> Result<Vec<Piece>> {
        generate_many(self.model.as_ref(), &self.encoding, n, primer, config)
    }
}

/// Opens a checkpoint for generation: whichever model was saved, with its encoding, ready to
/// sample, and the sampling settings kept in its folder ([`model_sampling_of`]: the checkpoint
/// folder's, else those of the folder named). `path` is a checkpoint folder, or a run folder (its
/// newest valid checkpoint).
pub fn open_for_generation(path: &Path, device: Device) -> Result<Generator> {
    let loaded = load_model(path, device)?;
    Ok(Generator {
        model: loaded.model,
        encoding: loaded.encoding,
        meta: Some(loaded.meta),
        sampling: model_sampling_of(&loaded.path, path)?,
    })
}

/// Writes pieces into `dir` as `{prefix}_001.abc` (or `.mid`), `{prefix}_002…`; returns the paths.
pub fn write_pieces(dir: &Path, prefix: &str, pieces: &[Piece]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| piece.write(dir, &format!("{prefix}_{:03}", i + 1)))
        .collect()
}

/// Bars a score spans (the end of its last note, rounded up), in its first meter or 4/4.
pub fn bar_count(score: &Score) -> usize {
    (u64::from(score.end_tick())).div_ceil(ticks_per_bar(score)) as usize
}

/// Ticks in a bar of the score's first meter (4/4 without one).
pub(crate) fn ticks_per_bar(score: &Score) -> u64 {
    let (num, den) = score.time_signatures.first().map_or((4, 4), |t| {
        (u32::from(t.numerator), u32::from(t.denominator))
    });
    (u64::from(score.ticks_per_quarter.max(1)) * 4 * u64::from(num.max(1)) / u64::from(den.max(1)))
        .max(1)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_constrained;
#[cfg(test)]
mod tests_fused;

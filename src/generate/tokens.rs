//! Generation from token models: characters of ABC tunes, notes and chords, events. One stateful
//! step per new token ([`crate::model::TokenStepper`]), one draw per step from
//! [`super::sampler::next_token_distribution`], and a stop when the piece is long enough.

use super::abc_constraint::AbcConstraint;
use super::sampler::{next_token_distribution, sample_index};
use super::{bar_count, Length, Piece, Primer, PrimerSource, SampleConfig};
use crate::encode::{CharVocab, Encoding, TokenEncoding};
use crate::model::TokenStepper;
use crate::score::Score;
use anyhow::{bail, ensure, Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The text a character model reads before a tune: a blank line, as between tunes in training.
pub const TUNE_START: &str = "\n\n";

/// Something that restricts which ids may come next while a piece is written (the ABC
/// constraint of [`super::abc_constraint`]): a mask applied to the distribution before each draw.
pub trait TokenConstraint {
    /// Sets `allowed[id]` for every id of the vocabulary; `steps_left` is how many ids may still
    /// be written (including this one). At least one id must be left allowed.
    fn allowed(&mut self, allowed: &mut [bool], steps_left: usize);

    /// Follows the id that was drawn.
    fn push(&mut self, id: i64);

    /// Hears, at each draw, the log of the share of the model's (tempered) probability that the
    /// mask left allowed: summed over a piece, the log of how much likelier the model finds the
    /// piece than the masked sampler made it ([`super::resample`] weighs candidates by it).
    fn record_kept_probability(&mut self, _log_kept: f64) {}
}

/// The distribution of one draw after `history` (every id the model has read, primer included):
/// the copy memory ([`SampleConfig::copy_memory`]) mixed into the model's scores, then bans and
/// the constraint's mask set scores to −∞, then
/// [`next_token_distribution`] (temperature, top-k, top-p). `mask` is scratch space.
pub fn masked_distribution(
    logits: &mut [f64],
    config: &SampleConfig,
    constraint: Option<&mut (dyn TokenConstraint + '_)>,
    steps_left: usize,
    mask: &mut Vec<bool>,
    history: &[i64],
) -> Result<Vec<f64>> {
    config.copy_memory.mix_into_logits(logits, history);
    if let Some(constraint) = constraint {
        mask.clear();
        mask.resize(logits.len(), true);
        constraint.allowed(mask, steps_left);
        if config.temperature > 0.0 {
            constraint.record_kept_probability(log_kept_share(logits, mask, config.temperature));
        }
        for (score, &ok) in logits.iter_mut().zip(mask.iter()) {
            if !ok {
                *score = f64::NEG_INFINITY;
            }
        }
    }
    next_token_distribution(logits, config)
}

/// The log of the share of softmax(`logits` / `temperature`) on the ids `allowed` keeps (0 when
/// it keeps them all; −∞ when the model gives the kept ids no probability at all).
pub fn log_kept_share(logits: &[f64], allowed: &[bool], temperature: f64) -> f64 {
    let top = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !top.is_finite() {
        return 0.0;
    }
    let (mut all, mut kept) = (0.0, 0.0);
    for (&score, &ok) in logits.iter().zip(allowed) {
        let weight = ((score - top) / temperature).exp();
        all += weight;
        if ok {
            kept += weight;
        }
    }
    (kept / all).ln()
}

/// One draw of the one sampler: [`masked_distribution`], then [`sample_index`].
pub(crate) fn draw(
    logits: &mut [f64],
    config: &SampleConfig,
    constraint: Option<&mut (dyn TokenConstraint + '_)>,
    steps_left: usize,
    mask: &mut Vec<bool>,
    history: &[i64],
    rng: &mut ChaCha8Rng,
) -> Result<i64> {
    let probs = masked_distribution(logits, config, constraint, steps_left, mask, history)?;
    Ok(sample_index(&probs, rng))
}

/// Checks a context against the model's vocabulary.
pub(crate) fn check_context(context: &[i64], vocab: usize) -> Result<()> {
    let vocab = vocab as i64;
    if let Some(&bad) = context.iter().find(|&&id| id < 0 || id >= vocab) {
        bail!("primer id {bad} is outside the model's {vocab} ids");
    }
    Ok(())
}

/// Samples new ids after `context` until `max_steps`, or until `stop` (given the new ids so far)
/// says so; returns only the new ids. One libtorch step per id (the reference path; see
/// [`super::fast`] for the fused one).
pub fn sample_ids(
    stepper: &dyn TokenStepper,
    context: &[i64],
    config: &SampleConfig,
    stop: &mut dyn FnMut(&[i64]) -> bool,
) -> Result<Vec<i64>> {
    sample_ids_with(stepper, context, config, None, config.max_steps, stop)
}

/// [`sample_ids`] with an optional constraint on what may come next; `limit` is the most new
/// ids the caller wants (at most `config.max_steps`), which the constraint uses to finish in time.
pub fn sample_ids_with(
    stepper: &dyn TokenStepper,
    context: &[i64],
    config: &SampleConfig,
    mut constraint: Option<&mut dyn TokenConstraint>,
    limit: usize,
    stop: &mut dyn FnMut(&[i64]) -> bool,
) -> Result<Vec<i64>> {
    config.validate()?;
    check_context(context, stepper.vocab_size())?;
    let limit = limit.min(config.max_steps);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    // The last id drawn is never read back.
    let (mut logits, mut state) = stepper.start_for(context, limit.saturating_sub(1))?;
    let mut mask = Vec::new();
    let mut out = Vec::new();
    let mut history = context.to_vec();
    while out.len() < limit {
        let id = draw(
            &mut logits,
            config,
            constraint.as_deref_mut(),
            limit - out.len(),
            &mut mask,
            &history,
            &mut rng,
        )
        .with_context(|| format!("at new token {}", out.len() + 1))?;
        out.push(id);
        history.push(id);
        if let Some(c) = constraint.as_deref_mut() {
            c.push(id);
        }
        if stop(&out) || out.len() == limit {
            break;
        }
        (logits, state) = stepper.advance(state, id)?;
    }
    Ok(out)
}

/// Generates a piece from a token model with its encoding.
pub(crate) fn generate_tokens(
    stepper: &dyn TokenStepper,
    encoding: &Encoding,
    primer: &Primer,
    config: &SampleConfig,
) -> Result<Piece> {
    match encoding {
        Encoding::Chars(vocab) => generate_abc(stepper, vocab, primer, config),
        other => match other.token_encoding() {
            Some(tokens) => generate_score_tokens(stepper, other, tokens, primer, config),
            None => bail!("a token model cannot read the {} encoding", other.kind()),
        },
    }
}

/// How much of a length the new material has reached, given the whole piece and the primer.
fn long_enough(length: Length, new: &Score, new_steps: usize) -> bool {
    match length {
        Length::Steps(n) => new_steps >= n,
        Length::Notes(n) => new.note_count() >= n,
        Length::Bars(n) => bar_count(new) >= n,
        Length::Seconds(s) => new.duration_seconds() >= s,
        Length::End => false,
    }
}

/// The primer of a character model as ABC text.
pub(crate) fn primer_text(primer: &Primer) -> Result<String> {
    let mut text = match &primer.source {
        PrimerSource::Nothing => String::new(),
        PrimerSource::Abc(text) => text.clone(),
        PrimerSource::Midi(_) | PrimerSource::Score(_) => {
            let score = primer.as_score()?.context("the primer has no notes")?;
            let tune = crate::abc::score_to_abc(&score, &crate::abc::ScoreToAbcOptions::default())
                .context("cannot write the primer as ABC for a character model")?;
            abc_as_primer(&tune)
        }
        PrimerSource::Ids(_) | PrimerSource::Roll(_) => {
            bail!("a character model is primed with ABC text, MIDI or a score, not ids or frames")
        }
    };
    if let Some(n) = primer.max_steps {
        text = text.chars().take(n).collect();
    }
    Ok(text)
}

/// A written tune as the head of a tune a character model continues: the fields a cleaned
/// tune keeps (meter, unit, key) and the music, without the final bar line.
fn abc_as_primer(tune: &str) -> String {
    let kept: Vec<&str> = tune
        .lines()
        .filter(|l| !["X:", "T:", "Q:"].iter().any(|f| l.starts_with(f)))
        .collect();
    let text = kept.join("\n");
    let text = text.trim_end();
    match text.strip_suffix("|]") {
        Some(head) => format!("{}|", head.trim_end()),
        None => text.to_string(),
    }
}

/// True when the vocabulary can write `header` and, with the constraint on, the constraint
/// follows it (a corpus header outside its meters or units is left to the model).
fn header_is_writable(vocab: &CharVocab, config: &SampleConfig, header: &str) -> bool {
    if vocab.encode(header).is_err() {
        return false;
    }
    if !config.abc_constraints {
        return true;
    }
    let mut constraint = AbcConstraint::new(vocab).with_form(&config.form);
    constraint.follow(header);
    constraint.off_reason().is_none()
}

/// A tune a character model is about to write: the primer, the context the model reads, the
/// ABC constraint (when on) and the rule that says when the tune is long enough. Shared by the
/// per-step and the batched samplers.
pub(crate) struct AbcJob<'a> {
    vocab: &'a CharVocab,
    config: &'a SampleConfig,
    text: String,
    primer_ids: Vec<i64>,
    /// What the model reads before writing: the blank line before a tune, then the primer.
    pub context: Vec<i64>,
    primer_score: Option<Score>,
    /// The ABC constraint, when `config.abc_constraints` is on.
    pub constraint: Option<AbcConstraint>,
    /// The most new characters to write.
    pub limit: usize,
}

impl<'a> AbcJob<'a> {
    /// Prepares a tune from `primer` as `config` says.
    pub fn new(vocab: &'a CharVocab, primer: &Primer, config: &'a SampleConfig) -> Result<Self> {
        let mut text = primer_text(primer)?;
        if text.trim().is_empty() {
            // A header the vocabulary cannot write is left to the model.
            if let Some(header) = config
                .header
                .draw(&config.form, config.seed)
                .filter(|h| header_is_writable(vocab, config, h))
            {
                text = header;
            }
        }
        let primer_ids = vocab.encode(&text).context("the primer")?;
        let mut context = vocab.encode(TUNE_START).unwrap_or_default();
        context.extend(&primer_ids);
        ensure!(
            !context.is_empty(),
            "the vocabulary has no newline, so an empty primer cannot start a tune"
        );
        let constraint = config.abc_constraints.then(|| {
            let mut constraint = AbcConstraint::new(vocab)
                .with_form(&config.form)
                .with_form_seed(config.seed);
            constraint.follow(&text);
            constraint
        });
        let limit = match config.length {
            Length::Steps(n) => n.min(config.max_steps),
            _ => config.max_steps,
        };
        Ok(AbcJob {
            vocab,
            config,
            primer_score: crate::abc::abc_to_score(&text).ok(),
            text,
            primer_ids,
            context,
            constraint,
            limit,
        })
    }

    fn whole(&self, ids: &[i64]) -> String {
        format!(
            "{}{}",
            self.text,
            self.vocab.decode(ids).unwrap_or_default()
        )
    }

    /// True when the new ids make the tune long enough. With the constraint on, a tune measured
    /// in notes, bars or seconds stops only at a bar line.
    pub fn should_stop(&self, ids: &[i64]) -> bool {
        let tune = self.whole(ids);
        match self.config.length {
            Length::End => return tune.ends_with(TUNE_START),
            Length::Steps(n) => return ids.len() >= n,
            _ => {}
        }
        if self.config.abc_constraints && !tune.ends_with(['|', ']']) {
            return false;
        }
        let (Ok(now), Some(before)) = (crate::abc::abc_to_score(&tune), self.primer_score.as_ref())
        else {
            return false;
        };
        match self.config.length {
            Length::Notes(n) => now.note_count().saturating_sub(before.note_count()) >= n,
            Length::Bars(n) => bar_count(&now).saturating_sub(bar_count(before)) >= n,
            Length::Seconds(s) => now.duration_seconds() - before.duration_seconds() >= s,
            _ => false,
        }
    }

    /// The piece: primer and new characters, read back as a score.
    pub fn finish(self, new: Vec<i64>, constraint: Option<&AbcConstraint>) -> Piece {
        let whole = self.whole(&new);
        let reached_step_cap = self.config.length == Length::End
            && new.len() >= self.limit
            && !whole.ends_with(TUNE_START);
        let tune = format!("{}\n", whole.trim_end());
        let (score, problem) = match crate::abc::abc_to_score(&tune) {
            Ok(score) => (Some(score), None),
            Err(e) => (None, Some(format!("{e:#}"))),
        };
        Piece {
            encoding: "chars",
            primer_steps: self.primer_ids.len(),
            ids: [self.primer_ids, new].concat(),
            roll: None,
            abc: Some(tune),
            score,
            problem,
            constraint_off: constraint.and_then(|c| c.off_reason().map(str::to_string)),
            form: constraint
                .and_then(AbcConstraint::form)
                .map(|parts| parts.iter().map(|&b| u32::from(b)).collect()),
            reached_step_cap,
            log_kept_probability: constraint.map(AbcConstraint::log_kept_probability),
            resampling_log_weight: constraint.map(AbcConstraint::resampling_log_weight),
        }
    }
}

/// An ABC tune from a character model: the primer's text, then characters until the blank line
/// that ends a tune (or the length asked for), under the ABC constraint when it is on.
pub(crate) fn generate_abc(
    stepper: &dyn TokenStepper,
    vocab: &CharVocab,
    primer: &Primer,
    config: &SampleConfig,
) -> Result<Piece> {
    let mut job = AbcJob::new(vocab, primer, config)?;
    let mut constraint = job.constraint.take();
    let new = sample_ids_with(
        stepper,
        &job.context,
        config,
        constraint.as_mut().map(|c| c as &mut dyn TokenConstraint),
        job.limit,
        &mut |ids| job.should_stop(ids),
    )?;
    Ok(job.finish(new, constraint.as_ref()))
}

/// The token a score-token model starts from without a primer: the most frequent note or
/// chord (ids after `<unk>` run from the most frequent), or for events, one step of silence.
fn start_token(encoding: &Encoding) -> Result<Vec<i64>> {
    match encoding {
        Encoding::Notes(vocab) if vocab.len() > 1 => Ok(vec![1]),
        Encoding::Events(vocab) => Ok(vocab
            .id(crate::encode::Event::TimeShift(1))
            .into_iter()
            .collect()),
        _ => bail!(
            "this model needs a primer (the opening of a piece: Primer::midi, Primer::abc, \
             Primer::score or Primer::ids)"
        ),
    }
}

/// The primer of a score-token model as ids.
fn primer_ids(
    encoding: &Encoding,
    tokens: &dyn TokenEncoding,
    primer: &Primer,
) -> Result<Vec<i64>> {
    let mut ids = match &primer.source {
        PrimerSource::Ids(ids) => ids.clone(),
        PrimerSource::Nothing => start_token(encoding)?,
        PrimerSource::Roll(_) => bail!("a token model is not primed with piano-roll frames"),
        _ => {
            let score = primer.as_score()?.context("the primer has no notes")?;
            tokens.encode_score(&score).context("encoding the primer")?
        }
    };
    if let PrimerSource::Midi(path) = &primer.source {
        ensure!(
            !ids.is_empty(),
            "the primer file {} encodes to no tokens",
            path.display()
        );
    }
    if let Some(n) = primer.max_steps {
        ids.truncate(n.max(1));
    }
    ensure!(!ids.is_empty(), "the primer encodes to no tokens");
    Ok(ids)
}

/// A piece from a notes-and-chords or events model: the primer's ids, then ids until the new
/// ones decode to the length asked for.
fn generate_score_tokens(
    stepper: &dyn TokenStepper,
    encoding: &Encoding,
    tokens: &dyn TokenEncoding,
    primer: &Primer,
    config: &SampleConfig,
) -> Result<Piece> {
    let primer_ids = primer_ids(encoding, tokens, primer)?;
    let mut stop = |ids: &[i64]| -> bool {
        if let Length::Steps(n) = config.length {
            return ids.len() >= n;
        }
        // A prefix that does not decode yet (an unfinished event) is not a reason to stop.
        tokens
            .decode_ids(ids)
            .is_ok_and(|new| long_enough(config.length, &new, ids.len()))
    };
    let new = sample_ids(stepper, &primer_ids, config, &mut stop)?;
    let ids = [primer_ids.as_slice(), new.as_slice()].concat();
    let (score, problem) = match tokens.decode_ids(&ids) {
        Ok(score) => (Some(score), None),
        Err(e) => (None, Some(format!("{e:#}"))),
    };
    Ok(Piece {
        encoding: encoding.kind(),
        primer_steps: primer_ids.len(),
        ids,
        roll: None,
        abc: None,
        score,
        problem,
        constraint_off: None,
        form: None,
        reached_step_cap: false,
        log_kept_probability: None,
        resampling_log_weight: None,
    })
}

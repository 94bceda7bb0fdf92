//! Generation from token models: characters of ABC tunes, notes and chords, events. One stateful
//! step per new token ([`crate::model::TokenStepper`]), one draw per step from
//! [`super::sampler::next_token_distribution`], and a stop when the piece is long enough.

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

/// Samples new ids after `context` until `max_steps`, or until `stop` (given the new ids so far)
/// says so; returns only the new ids.
pub fn sample_ids(
    stepper: &dyn TokenStepper,
    context: &[i64],
    config: &SampleConfig,
    stop: &mut dyn FnMut(&[i64]) -> bool,
) -> Result<Vec<i64>> {
    config.validate()?;
    let vocab = stepper.vocab_size() as i64;
    if let Some(&bad) = context.iter().find(|&&id| id < 0 || id >= vocab) {
        bail!("primer id {bad} is outside the model's {vocab} ids");
    }
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let (mut logits, mut state) = stepper.start(context)?;
    let mut out = Vec::new();
    while out.len() < config.max_steps {
        let probs = next_token_distribution(&logits, config)
            .with_context(|| format!("at new token {}", out.len() + 1))?;
        let id = sample_index(&probs, &mut rng);
        out.push(id);
        if stop(&out) || out.len() == config.max_steps {
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

/// An ABC tune from a character model: the primer's text, then characters until the blank line
/// that ends a tune (or the length asked for).
fn generate_abc(
    stepper: &dyn TokenStepper,
    vocab: &CharVocab,
    primer: &Primer,
    config: &SampleConfig,
) -> Result<Piece> {
    let text = primer_text(primer)?;
    let primer_ids = vocab.encode(&text).context("the primer")?;
    let mut context = vocab.encode(TUNE_START).unwrap_or_default();
    context.extend(&primer_ids);
    ensure!(
        !context.is_empty(),
        "the vocabulary has no newline, so an empty primer cannot start a tune"
    );
    let primer_score = crate::abc::abc_to_score(&text).ok();
    let whole =
        |ids: &[i64]| -> String { format!("{text}{}", vocab.decode(ids).unwrap_or_default()) };
    let mut stop = |ids: &[i64]| -> bool {
        let tune = whole(ids);
        if config.length == Length::End {
            return tune.ends_with(TUNE_START);
        }
        if let Length::Steps(n) = config.length {
            return ids.len() >= n;
        }
        let (Ok(now), Some(before)) = (crate::abc::abc_to_score(&tune), primer_score.as_ref())
        else {
            return false;
        };
        match config.length {
            Length::Notes(n) => now.note_count().saturating_sub(before.note_count()) >= n,
            Length::Bars(n) => bar_count(&now).saturating_sub(bar_count(before)) >= n,
            Length::Seconds(s) => now.duration_seconds() - before.duration_seconds() >= s,
            _ => false,
        }
    };
    let new = sample_ids(stepper, &context, config, &mut stop)?;
    let tune = format!("{}\n", whole(&new).trim_end());
    let (score, problem) = match crate::abc::abc_to_score(&tune) {
        Ok(score) => (Some(score), None),
        Err(e) => (None, Some(format!("{e:#}"))),
    };
    Ok(Piece {
        encoding: "chars",
        primer_steps: primer_ids.len(),
        ids: [primer_ids, new].concat(),
        roll: None,
        abc: Some(tune),
        score,
        problem,
    })
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
    })
}

//! Constrained sampling for ABC: while a character model writes a tune, a small ABC state machine
//! ([`machine`]) follows it, and before each draw the characters that would make the tune invalid
//! (a note that overflows its bar, a bar line before the bar is full, a line or tune ending in the
//! middle of a bar or with a bracket, tie, slur, tuplet or repeat left open) get probability 0.
//! The model's scores are not touched otherwise: the constraint is a mask applied to the
//! distribution before the draw, exactly as banned ids are ([`super::sampler`]), so temperature,
//! top-k and top-p then act on the characters that are left.
//!
//! With a form ([`crate::generate::Form`], learned from the corpus by default) it also follows
//! the tune's parts: once the header is written, the forms the tune may take are chosen (the
//! corpus's common ones for its meter and unit length, or the one asked for), and from then on a
//! part may close only with a section bar line where one of those forms has a part of that
//! length, a pick-up only opens a part and its closing bar balances it, every other bar is full,
//! and the tune may end only where a form ends, and must end once none goes on
//! (`machine/form.rs`).
//!
//! Without a form, near the end of the step budget the constraint also steers towards an ending
//! (no new slurs, tuplets, chord symbols, grace notes, decorations, spaces or repeats; a line
//! break after the next bar line, then the blank line; in the last few steps a line break as soon
//! as one may come, leaving a short closing bar), so a tune cut by `max_steps` still ends well.
//! With a form, only the first part of that applies: nothing new is opened.
//!
//! If the primer is text the machine cannot follow (another dialect of ABC), or a vocabulary
//! lacks the characters a tune needs to go on, the constraint steps aside for the rest of the
//! piece and says why ([`AbcConstraint::off_reason`]).
//!
//! ```
//! use tunesmith::encode::CharVocab;
//! use tunesmith::generate::abc_constraint::AbcConstraint;
//! let vocab = CharVocab::from_texts(["M:2/4\nL:1/8\nK:G\nGABc|d4|]\n"]);
//! let mut constraint = AbcConstraint::new(&vocab);
//! constraint.follow("M:2/4\nL:1/8\nK:G\nGA");
//! assert!(constraint.allows('B') && constraint.allows('2'));
//! assert!(!constraint.allows('4'), "GA4 would overflow a bar of four eighths");
//! ```

mod fields;
mod machine;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_bars;
#[cfg(test)]
mod tests_form;

use super::form::FormPlan;
use super::tokens::TokenConstraint;
use crate::encode::CharVocab;
use machine::Machine;
pub(crate) use machine::{MAX_FORMS, MAX_PARTS};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The constraint's own bar accounting of a cleaned `tune` (`M:`, `L:`, `K:` and its music, as
/// the sampler writes them) under `form` ([`Form::Free`](crate::generate::Form::Free) for no
/// form): the length of every bar that holds notes, in whole notes, as the machine has counted it
/// when a bar line closes it, up to the first character it refuses; and the index of that
/// character (`None` when it followed the whole text). The reader's
/// [`bar_check`](crate::abc::to_score::bar_check) must count the same bars the same way.
pub fn bar_lengths(tune: &str, form: &crate::generate::Form) -> (Vec<f64>, Option<usize>) {
    let mut constraint = AbcConstraint::new(&CharVocab::from_texts([tune])).with_form(form);
    let mut lengths = Vec::new();
    for (index, c) in tune.chars().enumerate() {
        let (ticks, closed) = constraint.machine.bar_accounting();
        constraint.push_char(c);
        if constraint.off.is_some() {
            return (lengths, Some(index));
        }
        if constraint.machine.bar_accounting().1 > closed {
            lengths.push(ticks as f64 / fields::WHOLE as f64);
        }
    }
    (lengths, None)
}

/// A tune written after `head` under `form` by the worst possible model, in at most `budget`
/// characters (the head not counted), and the constraint that followed it: each character drawn
/// (seeded by `seed`) uniformly from what the constraint allows, which reaches every corner of the
/// grammar, except that a note of one unit (`c`) is taken with probability `favour_c` where it is
/// allowed (so that forms of many bars are written in a few hundred characters; 0 never favours
/// it). What the tests judge the constraint by, with the crate's reader and with music21. An
/// error where the constraint ever allows nothing.
pub fn random_walk(
    vocab: &CharVocab,
    head: &str,
    form: &crate::generate::Form,
    favour_c: f64,
    seed: u64,
    budget: usize,
) -> anyhow::Result<(String, AbcConstraint)> {
    let mut constraint = AbcConstraint::new(vocab).with_form(form);
    constraint.follow(head);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut allowed = vec![false; vocab.len()];
    let mut text = head.to_string();
    for step in 0..budget {
        constraint.allowed(&mut allowed, budget - step);
        let ids: Vec<usize> = (0..allowed.len()).filter(|&i| allowed[i]).collect();
        if ids.is_empty() || constraint.off_reason().is_some() {
            anyhow::bail!(
                "seed {seed}: dead end after {text:?} ({}) in {:?}",
                constraint.off_reason().unwrap_or("nothing allowed"),
                constraint.machine
            );
        }
        let id = ids
            .iter()
            .copied()
            .find(|&i| vocab.chars[i] == 'c' && favour_c > 0.0 && rng.random_bool(favour_c))
            .unwrap_or_else(|| ids[rng.random_range(0..ids.len())]);
        constraint.push(id as i64);
        text.push(vocab.chars[id]);
        if text.ends_with("\n\n") {
            break;
        }
    }
    Ok((text, constraint))
}

/// Steps before the budget runs out at which the constraint starts steering towards an ending.
pub const FINISH_MARGIN: usize = 160;

/// Characters that open something new; not written while finishing.
const EXPANDING: [char; 12] = ['(', '"', '{', '.', '~', 'T', 'u', 'v', ' ', '>', '<', '-'];

/// The ABC constraint for one piece: the machine following the tune and the vocabulary's
/// characters.
#[derive(Debug, Clone)]
pub struct AbcConstraint {
    chars: Vec<char>,
    machine: Machine,
    off: Option<String>,
    written: usize,
    /// How each tune's form is chosen once its header is written.
    plan: FormPlan,
    /// The header of the tune being written (its `M:` and `L:` choose the learned forms).
    header: String,
    /// The forms the tune being written may take, once its header chose them.
    forms: Option<Vec<Vec<u16>>>,
    /// The bars of each part of the tune written so far (the last tune's, once it ended).
    parts_written: Option<Vec<u16>>,
    /// Steps the piece may still take (a drawn form must fit in them).
    steps_left: usize,
    /// The seed a drawn form ([`crate::generate::Form::Drawn`]) is drawn with.
    form_seed: u64,
    /// The log of the model's probability that the mask kept, summed over the draws so far.
    log_kept: f64,
    /// The same sum over the decisive draws only (see [`AbcConstraint::resampling_log_weight`]).
    log_kept_decisive: f64,
}

impl AbcConstraint {
    /// A constraint for a character model with this vocabulary, at the start of a tune (before
    /// its `M:` line).
    pub fn new(vocab: &CharVocab) -> Self {
        AbcConstraint {
            chars: vocab.chars.clone(),
            machine: Machine::default(),
            off: None,
            written: 0,
            plan: FormPlan::Free,
            header: String::new(),
            forms: None,
            parts_written: None,
            steps_left: usize::MAX,
            form_seed: 0,
            log_kept: 0.0,
            log_kept_decisive: 0.0,
        }
    }

    /// The log of the share of the model's probability the mask kept, summed over every draw so
    /// far: `log p_model(piece) − log p_sampled(piece)` for the piece written under this
    /// constraint (0 when the mask never stepped in).
    pub fn log_kept_probability(&self) -> f64 {
        self.log_kept
    }

    /// The candidate's weight for resampling, in logs: the log of the share the mask kept summed
    /// over the decisive draws only, those where it took most of the model's probability away
    /// (it kept less than [`crate::generate::resample::DECISIVE_KEPT_SHARE`]: a bar line or an
    /// end the model did not want). The small trims on every note near a bar's end are left out:
    /// they fall on each character, so the full product favours tunes of fewer, longer notes.
    pub fn resampling_log_weight(&self) -> f64 {
        self.log_kept_decisive
    }

    /// The same constraint following a form: the forms each tune may take are chosen when its
    /// header is complete (see [`crate::generate::Form`]).
    pub fn with_form(mut self, form: &crate::generate::Form) -> Self {
        self.plan = form.plan();
        self
    }

    /// The same constraint drawing its form ([`crate::generate::Form::Drawn`]) with this seed
    /// (the piece's).
    pub fn with_form_seed(mut self, seed: u64) -> Self {
        self.form_seed = seed;
        self
    }

    /// The forms (bars of each part) the tune being written may take, once its header chose them.
    pub fn forms(&self) -> Option<&[Vec<u16>]> {
        self.forms.as_deref()
    }

    /// The bars of each part of the tune as written so far (of the last tune, once it ended):
    /// under a form, the form it took.
    pub fn form(&self) -> Option<&[u16]> {
        self.parts_written.as_deref()
    }

    /// True when the tune must end now (no form it may take goes on).
    pub fn form_complete(&self) -> bool {
        self.machine.form().must_end()
    }

    /// Follows text that is given, not sampled (the primer). Text the machine cannot read turns
    /// the constraint off for the rest of the piece.
    pub fn follow(&mut self, text: &str) {
        for c in text.chars() {
            self.push_char(c);
        }
    }

    /// Why the constraint stepped aside, if it did.
    pub fn off_reason(&self) -> Option<&str> {
        self.off.as_deref()
    }

    /// True when `c` may come next (always, once the constraint is off).
    pub fn allows(&self, c: char) -> bool {
        self.off.is_some() || self.try_char(c)
    }

    /// Tunes completed so far (each ends with a blank line).
    pub fn tunes_finished(&self) -> u32 {
        self.machine.tunes
    }

    /// True just after a bar line that closed a bar (where a piece may stop early).
    pub fn at_bar_line(&self) -> bool {
        self.machine.at_bar_start() || self.machine.in_bar_line()
    }

    fn push_char(&mut self, c: char) {
        self.written += 1;
        let in_header = self.machine.in_header();
        let tunes = self.machine.tunes;
        if in_header {
            self.header.push(c);
        }
        if self.off.is_none() && !self.machine.feed(c) {
            self.off = Some(format!(
                "character {} ({c:?}) is not ABC the constraint can follow",
                self.written
            ));
        }
        if self.off.is_none() && in_header && !self.machine.in_header() {
            self.choose_forms();
        }
        if self.machine.tunes != tunes {
            self.header.clear();
        } else if self.forms.is_some() && !self.machine.in_header() {
            self.parts_written = Some(self.machine.parts_written());
        }
    }

    /// The header is complete: the plan gives the forms the tune may take.
    fn choose_forms(&mut self) {
        let field = |letter: char| {
            self.header
                .lines()
                .filter_map(crate::abc::tunebook::field_line)
                .filter_map(|(l, value)| (l == letter).then_some(value))
                .next_back()
        };
        let meter = field('M').unwrap_or("").to_string();
        let unit = field('L').map(str::to_string);
        let max_bars = self.steps_left / super::form::MIN_CHARS_PER_BAR;
        self.forms = self
            .plan
            .forms(&meter, unit.as_deref(), max_bars, self.form_seed);
        self.parts_written = None;
        self.machine.set_forms(self.forms.as_deref().unwrap_or(&[]));
    }

    /// Whether `c` may come next when finishing (the steps are nearly used up): nothing that
    /// opens something new, no first ending, no divided note where a whole unit fits.
    fn allows_finishing(&self, c: char) -> bool {
        if EXPANDING.contains(&c)
            || (c == ':' && !self.machine.owes_repeat())
            || (c == '/' && self.machine.unit_fits())
        {
            return false;
        }
        let mut next = self.machine;
        next.feed(c) && !(next.ending() == 1 && self.machine.ending() == 0)
    }

    fn try_char(&self, c: char) -> bool {
        let mut next = self.machine;
        next.feed(c)
    }

    fn fill(&self, allowed: &mut [bool], finishing: bool, steps_left: usize) -> usize {
        let mut count = 0;
        for (slot, &c) in allowed.iter_mut().zip(&self.chars) {
            *slot = if finishing {
                self.allows_finishing(c)
            } else {
                self.try_char(c)
            };
            count += usize::from(*slot);
        }
        if finishing && !self.machine.in_header() && !self.machine.form().active() {
            // Close a slur and a repeat as soon as they may come; end the line after a bar line,
            // then the tune.
            let at_break = self.machine.at_bar_start()
                || self.machine.at_line_start()
                || self.machine.in_bar_line()
                || steps_left <= FINISH_MARGIN / 4;
            for closing in [')', ':', '\n'] {
                if closing == '\n' && !at_break {
                    continue;
                }
                if let Some(id) = self.chars.iter().position(|&c| c == closing) {
                    if allowed[id] {
                        allowed.iter_mut().for_each(|a| *a = false);
                        allowed[id] = true;
                        return 1;
                    }
                }
            }
        }
        count
    }
}

impl TokenConstraint for AbcConstraint {
    fn allowed(&mut self, allowed: &mut [bool], steps_left: usize) {
        self.steps_left = steps_left;
        if self.off.is_some() {
            allowed.iter_mut().for_each(|a| *a = true);
            return;
        }
        let finishing = steps_left <= FINISH_MARGIN;
        if self.fill(allowed, finishing, steps_left) > 0
            || (finishing && self.fill(allowed, false, steps_left) > 0)
        {
            return;
        }
        self.off = Some(format!(
            "no character of the vocabulary can continue the tune after character {}",
            self.written
        ));
        allowed.iter_mut().for_each(|a| *a = true);
    }

    fn record_kept_probability(&mut self, log_kept: f64) {
        self.log_kept += log_kept;
        if log_kept < crate::generate::resample::DECISIVE_KEPT_SHARE.ln() {
            self.log_kept_decisive += log_kept;
        }
    }

    fn push(&mut self, id: i64) {
        match usize::try_from(id).ok().and_then(|i| self.chars.get(i)) {
            Some(&c) => self.push_char(c),
            None => {
                self.off
                    .get_or_insert_with(|| format!("id {id} is not in the vocabulary"));
            }
        }
    }
}

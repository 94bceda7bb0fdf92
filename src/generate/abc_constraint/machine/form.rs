//! The form of a tune, as the machine follows it: parts of a set number of bars, each closed by a
//! section bar line, a pick-up only at the start of a part and balanced by its closing bar, and
//! a tune that ends when its last part is closed.
//!
//! The rules are the reader's (`abc::to_score::tune_form`): a part is the music between two
//! section boundaries (the start of the tune, `||`, `|]`, `|:`, `:|`, the end of the tune); its
//! length in bars is its duration over one bar of the meter, so a part of 8 bars that opens with
//! a pick-up of one eighth closes with a bar one eighth short. In `|: body |1 first :|2 second ||`
//! the part is `body` and `first`, and `body` and `second` again: both endings close the part at
//! the same length. Between the first and last bar of a part, every bar is full.
//!
//! With no form (`parts` empty) none of this applies and the machine behaves as before: short
//! bars beside any section bar line, a tune that may end after any two bars.

use super::{BarTok, Machine};

/// The most parts a form may have.
pub(crate) const MAX_PARTS: usize = 8;

/// The form being followed: the bars of each part and where the tune is in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct FormState {
    /// Bars of each part; the first `count` are used (0: no form).
    parts: [u16; MAX_PARTS],
    count: u8,
    /// The part being written.
    part: u8,
    /// Ticks of the bars of the current part closed so far.
    done: i64,
    /// Bars of the current part closed so far.
    closed: u16,
    /// `done` and `closed` where the first ending began (the second starts there again).
    ending_done: i64,
    ending_closed: u16,
    /// The current part is complete and closed by a plain bar line: a `|:` or the tune's end
    /// must follow.
    awaiting: bool,
}

impl FormState {
    /// A form of these parts (each at least one bar, at most [`MAX_PARTS`] of them).
    pub(crate) fn of(parts: &[u16]) -> Self {
        let mut form = FormState::default();
        for (slot, &bars) in form.parts.iter_mut().zip(parts) {
            *slot = bars;
        }
        form.count = parts.len().min(MAX_PARTS) as u8;
        form
    }
    /// True when a form is being followed.
    pub(crate) fn active(&self) -> bool {
        self.count > 0
    }
    /// The bars of each part.
    pub(crate) fn parts(&self) -> &[u16] {
        &self.parts[..usize::from(self.count)]
    }
    /// Every part is written and closed (the tune may, and must, end).
    pub(crate) fn complete(&self) -> bool {
        self.active() && (self.part >= self.count || (self.awaiting && self.part + 1 == self.count))
    }
    fn target(&self, bar: i64) -> i64 {
        let bars = self.parts.get(usize::from(self.part)).copied().unwrap_or(0);
        i64::from(bars) * bar
    }
    fn close_part(&mut self) {
        self.part = self.part.saturating_add(1);
        self.done = 0;
        self.closed = 0;
        self.awaiting = false;
    }
}

impl Machine {
    /// Follows a form from here on (set once the header is read; empty: no form).
    pub(crate) fn set_form(&mut self, parts: &[u16]) {
        self.form = FormState::of(parts);
    }

    /// The form being followed.
    pub(crate) fn form(&self) -> &FormState {
        &self.form
    }

    /// Ticks the current part still takes after what the current bar holds (`i64::MAX` without a
    /// form; 0 once the part is complete).
    pub(super) fn part_room(&self) -> i64 {
        let form = &self.form;
        if !form.active() {
            return i64::MAX;
        }
        if form.awaiting || form.complete() {
            return 0;
        }
        form.target(self.bar) - form.done - self.pos
    }

    /// With a form: whether a bar line of this kind may close the current (non-empty) bar.
    pub(super) fn form_allows_bar(&self, bar: BarTok) -> bool {
        let form = &self.form;
        let total = form.done + self.pos;
        let target = form.target(self.bar);
        if form.awaiting || form.complete() || total > target {
            return false;
        }
        if total < target {
            // Inside the part: a plain bar line after a full bar, or after the part's pick-up.
            return bar == BarTok::Pipe && (self.pos == self.bar || form.closed == 0);
        }
        // The part is complete: a first ending closes with `:|`; otherwise any section bar line,
        // or, after a full bar, a plain one that a `|:` or the tune's end then follows (a short
        // closing bar needs a section bar line, where readers allow short bars).
        // A repeat opened in the part closes with it; the last part leaves no slur or tie open,
        // since nothing but the tune's end may follow it.
        let last = form.part + 1 == form.count;
        let kind_ok = match self.ending {
            1 => bar == BarTok::RepEnd,
            _ if self.repeat_open => bar == BarTok::RepEnd,
            _ => bar != BarTok::Pipe || self.pos == self.bar,
        };
        kind_ok && !(last && (self.slurs > 0 || self.tie || bar == BarTok::RepStart))
    }

    /// Slurs that may be open at once: one under a form (so that one `)` right after the last
    /// note can close it), two without.
    pub(super) fn max_slurs(&self) -> u8 {
        if self.form.active() {
            1
        } else {
            2
        }
    }

    /// With a form: a space may come here. Not between a part closed by a plain bar line and
    /// the `|:` or line break that must follow it, nor where a slur must close.
    pub(super) fn form_allows_space(&self) -> bool {
        !(self.form.active() && self.form.awaiting) && !self.slur_must_close()
    }

    /// With a form: the last part's music is all written and a slur is still open, so the next
    /// character must be the `)` that closes it (right after its note).
    pub(super) fn slur_must_close(&self) -> bool {
        let form = &self.form;
        form.active() && self.slurs > 0 && form.part + 1 == form.count && self.part_room() == 0
    }

    /// With a form: a tie may follow the element just written only while its part goes on.
    pub(super) fn form_allows_tie(&self) -> bool {
        !self.form.active() || self.part_room() > 0
    }

    /// With a form: whether the tune may end here (its last part complete, its closing bar
    /// closed by a bar line or left open at the end of the last line).
    pub(super) fn form_ends_here(&self) -> bool {
        let form = &self.form;
        form.complete()
            || (form.part + 1 == form.count
                && !form.awaiting
                && self.ending != 1
                && self.pos > 0
                && form.done + self.pos == form.target(self.bar))
    }

    /// With a form: whether an empty bar may be closed by `|:` here (opening the next part after
    /// one closed by a plain bar line, or at the start of the tune).
    pub(super) fn form_allows_open(&self) -> bool {
        let form = &self.form;
        !form.complete() && (form.awaiting || (form.done == 0 && form.closed == 0))
    }

    /// Accounts a bar line that closed a bar of `pos` ticks (0 for an empty bar).
    pub(super) fn form_bar(&mut self, bar: BarTok) {
        if !self.form.active() {
            return;
        }
        let target = self.form.target(self.bar);
        let form = &mut self.form;
        if self.pos == 0 {
            if bar == BarTok::RepStart && form.awaiting {
                form.close_part();
            }
            return;
        }
        form.done += self.pos;
        form.closed = form.closed.saturating_add(1);
        if form.done < target {
            return;
        }
        match (bar, self.ending) {
            // The first time through: the second ending starts the part's end again.
            (BarTok::RepEnd, 1) => {}
            (BarTok::Pipe, _) => form.awaiting = true,
            _ => form.close_part(),
        }
    }

    /// A first ending begins (after its bar line): remember where, for the second.
    pub(super) fn form_first_ending(&mut self) {
        self.form.ending_done = self.form.done;
        self.form.ending_closed = self.form.closed;
    }

    /// The second ending begins: the part's end is written again from where the first began.
    pub(super) fn form_second_ending(&mut self) {
        self.form.done = self.form.ending_done;
        self.form.closed = self.form.ending_closed;
    }
}

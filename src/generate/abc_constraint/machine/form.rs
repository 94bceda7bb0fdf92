//! The form of a tune, as the machine follows it: parts whose lengths in bars follow one of a set
//! of forms, each part closed by a section bar line, a pick-up only at the start of a part and
//! balanced by its closing bar, and a tune that ends only where one of the forms ends.
//!
//! The rules are the reader's (`abc::to_score::tune_form`): a part is the music between two
//! section boundaries (the start of the tune, `||`, `|]`, `|:`, `:|`, the end of the tune); its
//! length in bars is its duration over one bar of the meter, so a part of 8 bars that opens with
//! a pick-up of one eighth closes with a bar one eighth short. In `|: body |1 first :|2 second ||`
//! the part is `body` and `first`, and `body` and `second` again: both endings close the part at
//! the same length. Between the first and last bar of a part, every bar is full.
//!
//! The machine holds up to [`MAX_FORMS`] forms (one for [`crate::generate::Form::Parts`], the
//! corpus's common forms for the meter for [`crate::generate::Form::Learned`]). The model writes
//! as it likes within them: a part may close wherever one of the forms still possible has a part
//! of that length, must close at the longest, and the tune may end where a form ends (and must,
//! once no form goes on). Which form the tune takes is the model's choice.
//!
//! Without forms none of this applies and the machine behaves as before: short bars beside any
//! section bar line, a tune that may end after any two bars.

use super::{BarTok, Machine};

/// The most parts a form may have.
pub(crate) const MAX_PARTS: usize = 8;

/// The most forms the machine follows at once.
pub(crate) const MAX_FORMS: usize = 16;

/// The forms being followed and where the tune is in them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct FormState {
    /// Bars of each part of each form; form `f` has `lens[f]` parts.
    forms: [[u16; MAX_PARTS]; MAX_FORMS],
    lens: [u8; MAX_FORMS],
    /// Forms held (0: no form).
    count: u8,
    /// Forms whose first parts are the parts closed so far (a bit per form).
    alive: u16,
    /// The part being written.
    part: u8,
    /// Ticks of the bars of the current part closed so far.
    done: i64,
    /// Bars of the current part closed so far.
    closed: u16,
    /// `done` and `closed` where the first ending began (the second starts there again).
    ending_done: i64,
    ending_closed: u16,
    /// Ticks at which the first ending closed the part: the second must close it there too
    /// (0: none).
    fixed: i64,
    /// Bars of each part closed so far.
    written: [u16; MAX_PARTS],
    /// The part's short closing bar was closed by a plain bar line (`…G3 G2|`): the part is
    /// complete, and only the `|:` of the next part (on the next line) may follow.
    closed_by_plain: bool,
}

impl FormState {
    /// These forms (each at least one part of at least one bar; at most [`MAX_FORMS`] forms of
    /// at most [`MAX_PARTS`] parts are kept).
    pub(crate) fn of(forms: &[Vec<u16>]) -> Self {
        let mut state = FormState::default();
        for form in forms
            .iter()
            .filter(|f| !f.is_empty() && f.len() <= MAX_PARTS && f.iter().all(|&b| b > 0))
            .take(MAX_FORMS)
        {
            let f = usize::from(state.count);
            state.forms[f][..form.len()].copy_from_slice(form);
            state.lens[f] = form.len() as u8;
            state.count += 1;
        }
        state.alive = if state.count == 0 {
            0
        } else {
            (1u32 << state.count).wrapping_sub(1) as u16
        };
        state
    }
    /// True when forms are being followed.
    pub(crate) fn active(&self) -> bool {
        self.count > 0
    }
    /// The forms still possible, as indices.
    fn alive(&self, mask: u16) -> impl Iterator<Item = usize> + '_ {
        (0..usize::from(self.count)).filter(move |&f| mask & (1 << f) != 0)
    }
    /// The forms of `mask` whose part `part` has `bars` bars.
    fn with_part(&self, mask: u16, part: u8, bars: i64) -> u16 {
        self.alive(mask)
            .filter(|&f| self.lens[f] > part && i64::from(self.forms[f][usize::from(part)]) == bars)
            .fold(0, |m, f| m | (1 << f))
    }
    /// Some form of `mask` has more than `parts` parts.
    fn goes_on(&self, mask: u16, parts: u8) -> bool {
        self.alive(mask).any(|f| self.lens[f] > parts)
    }
    /// Some form of `mask` has exactly `parts` parts.
    fn ends_at(&self, mask: u16, parts: u8) -> bool {
        self.alive(mask).any(|f| self.lens[f] == parts)
    }
    /// At the start of a part that no form has: the tune must end now.
    pub(crate) fn must_end(&self) -> bool {
        self.active() && self.done == 0 && self.closed == 0 && !self.goes_on(self.alive, self.part)
    }
    /// The forms left if the current part closed after `ticks` (0 when it cannot close there).
    fn closing_at(&self, ticks: i64, bar: i64) -> u16 {
        if ticks <= 0 || ticks % bar != 0 || (self.fixed > 0 && ticks != self.fixed) {
            return 0;
        }
        self.with_part(self.alive, self.part, ticks / bar)
    }
    /// The most ticks the current part may take.
    fn longest(&self, bar: i64) -> i64 {
        if self.fixed > 0 {
            return self.fixed;
        }
        self.alive(self.alive)
            .filter(|&f| self.lens[f] > self.part)
            .map(|f| i64::from(self.forms[f][usize::from(self.part)]) * bar)
            .max()
            .unwrap_or(0)
    }
    fn close_part(&mut self, mask: u16, bar: i64) {
        if let Some(slot) = self.written.get_mut(usize::from(self.part)) {
            *slot = u16::try_from(self.done / bar.max(1)).unwrap_or(u16::MAX);
        }
        self.alive = mask;
        self.part = self.part.saturating_add(1);
        self.done = 0;
        self.closed = 0;
        self.fixed = 0;
        self.closed_by_plain = false;
    }
}

impl Machine {
    /// Follows these forms from here on (set once the header is read; none: no form).
    pub(crate) fn set_forms(&mut self, forms: &[Vec<u16>]) {
        self.form = FormState::of(forms);
    }

    /// The forms being followed.
    pub(crate) fn form(&self) -> &FormState {
        &self.form
    }

    /// The bars of each part written so far, the open part included where it could close now
    /// (empty without forms).
    pub(crate) fn parts_written(&self) -> Vec<u16> {
        let form = &self.form;
        let mut parts: Vec<u16> = form.written[..usize::from(form.part).min(MAX_PARTS)].to_vec();
        let open = form.done + self.pos();
        if form.active() && open > 0 && open % self.bar() == 0 {
            parts.push(u16::try_from(open / self.bar()).unwrap_or(u16::MAX));
        }
        parts
    }

    /// Ticks the current part may still take after what the current bar holds (`i64::MAX`
    /// without forms).
    pub(super) fn part_room(&self) -> i64 {
        if !self.form.active() {
            return i64::MAX;
        }
        if self.form.closed_by_plain {
            return 0;
        }
        (self.form.longest(self.bar()) - self.form.done - self.pos()).max(0)
    }

    /// With forms: whether a bar line of this kind may close the current (non-empty) bar.
    pub(super) fn form_allows_bar(&self, bar: BarTok) -> bool {
        let form = &self.form;
        let total = form.done + self.pos();
        if self.slurs > 0 || total > form.longest(self.bar()) {
            return false;
        }
        let barred = self.repeat_open || self.ending == 1 || self.tie;
        if bar == BarTok::Pipe && self.pos() < self.bar() && form.closed > 0 {
            // A short bar after the part's first: its closing bar, balancing its pick-up, closed
            // by a plain bar line. Only `|:` on the next line may follow (as in `…G3 G2|` then
            // `|:d|…`), which the reader and music21 read as a section edge, so the part must be
            // able to close here with another after it.
            let after = form.closing_at(total, self.bar());
            return after != 0 && form.goes_on(after, form.part + 1) && !barred;
        }
        if bar == BarTok::Pipe {
            // Inside the part: after a full bar, or after the part's pick-up. A plain bar line
            // that leaves the part no room must be followed by `|:` or the tune's end, so not
            // with a repeat or first ending to close, or a tie to carry on.
            let full = total == form.longest(self.bar());
            return (self.account.is_full() || form.closed == 0) && !(full && barred);
        }
        // A section bar line closes the part: at a length one of the forms has, a first ending
        // with `:|`, a repeat opened in the part with `:|`, `|:` only where a part follows, and
        // no tie into what may be the tune's end.
        let after = form.closing_at(total, self.bar());
        let goes_on = form.goes_on(after, form.part + 1);
        after != 0
            && match self.ending {
                1 => bar == BarTok::RepEnd,
                _ if self.repeat_open => bar == BarTok::RepEnd,
                _ => bar != BarTok::RepStart || goes_on,
            }
            && (!self.tie || goes_on)
    }

    /// With forms: whether an empty bar may be closed by `|:` here: at the start of a part, or
    /// after a plain bar line where the part may close and another follow.
    pub(super) fn form_allows_open(&self) -> bool {
        let form = &self.form;
        if form.done == 0 && form.closed == 0 {
            return !form.must_end();
        }
        let after = form.closing_at(form.done, self.bar());
        after != 0 && form.goes_on(after, form.part + 1) && self.ending != 1
    }

    /// With forms: whether the tune may end here (a part closed where a form ends, or the open
    /// part closing here, by its last bar line or at the end of its last line).
    pub(super) fn form_ends_here(&self) -> bool {
        let form = &self.form;
        if form.done == 0 && form.closed == 0 && self.account.is_empty() {
            return form.ends_at(form.alive, form.part);
        }
        let after = form.closing_at(form.done + self.pos(), self.bar());
        self.ending != 1 && form.ends_at(after, form.part + 1)
    }

    /// Accounts a bar line that closed a bar of `pos` ticks (0 for an empty bar).
    pub(super) fn form_bar(&mut self, bar: BarTok) {
        if !self.form.active() {
            return;
        }
        let total = self.form.done + self.pos();
        let after = self.form.closing_at(total, self.bar());
        if self.account.is_empty() {
            // `|:` after a plain bar line that ended a part.
            if bar == BarTok::RepStart && (self.form.done > 0 || self.form.closed > 0) {
                self.form.close_part(after, self.bar());
            }
            return;
        }
        let (pos, bar_ticks) = (self.pos(), self.bar());
        let form = &mut self.form;
        form.done = total;
        form.closed = form.closed.saturating_add(1);
        match (bar, self.ending) {
            (BarTok::Pipe, _) => {
                form.closed_by_plain = pos < bar_ticks && form.closed > 1;
            }
            // The first time through: the second ending must close the part at the same length.
            (BarTok::RepEnd, 1) => form.fixed = total,
            _ => form.close_part(after, bar_ticks),
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

    /// With forms: a space may come here. Not after a bar line where the part has no room left
    /// (only `|:` or a line break may follow, and neither after a space), nor where a slur must
    /// close.
    pub(super) fn form_allows_space(&self) -> bool {
        let no_room_after_bar_line =
            self.form.active() && self.account.is_empty() && self.part_room() == 0;
        !(no_room_after_bar_line || self.slur_must_close())
    }

    /// With forms: the bar (or the part) is full and a slur is open, so the next character must
    /// be the `)` that closes it (slurs close before any bar line).
    pub(super) fn slur_must_close(&self) -> bool {
        self.form.active() && self.slurs > 0 && self.room() <= 0
    }

    /// With forms: a tie may follow the element just written only while its part goes on.
    pub(super) fn form_allows_tie(&self) -> bool {
        !self.form.active() || self.part_room() > 0
    }

    /// Slurs that may be open at once: one with forms (so that one `)` right after the last
    /// note can close it), two without.
    pub(super) fn max_slurs(&self) -> u8 {
        if self.form.active() {
            1
        } else {
            2
        }
    }
}

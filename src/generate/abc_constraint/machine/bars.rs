//! Bar lines, repeats and endings: whether a bar line may close the bar, and what it opens.

use super::{BarTok, Machine, Prev, Tok};
use crate::abc::to_score::grammar::{BarSign, CharToken};

impl Machine {
    /// A character after a bar line in progress: it continues the sign as the reader reads it
    /// ([`BarSign::step`]), or it is an ending number (`|1`, `:|2`), or the bar line ends before
    /// it (`None`: it is read afresh).
    pub(super) fn extend_bar(&mut self, sign: BarSign, c: char) -> Option<bool> {
        let bar = BarTok::of(sign)?;
        if let (BarTok::Pipe, '1') | (BarTok::RepEnd, '2') = (bar, c) {
            return Some(self.finish_token() && self.ending_number(c));
        }
        let Some(next) = sign.step(c) else {
            // A lone `:` is no bar line: only `:|` may follow.
            return (bar == BarTok::Colon).then_some(false);
        };
        self.tok = Tok::Bar(next);
        Some(BarTok::of(next).is_some_and(|next| self.bar_reachable(next)))
    }
    /// An ending number right after a bar line: a first ending after a plain bar line (`|1`,
    /// `|[1`; music21 loses a `|:` just before one), a second straight after the `:|` that
    /// closes the first (`:|2`, `:|[2`).
    pub(super) fn ending_number(&mut self, c: char) -> bool {
        let ok = self.prev == Prev::Bar
            && self.account.is_empty()
            && match c {
                '1' => {
                    self.ending == 0
                        && !self.needs_second
                        && self.last_bar == BarTok::Pipe
                        && self.part_room() > 0
                }
                _ => self.needs_second,
            };
        if c == '1' {
            self.form_first_ending();
        } else {
            self.form_second_ending();
        }
        self.ending = if c == '1' { 1 } else { 2 };
        self.needs_second = false;
        self.tok = Tok::None;
        ok
    }
    /// True when a bar line of this kind may close the bar now: the bar is full, or short where
    /// short bars may be; an empty bar only before `|:`; repeats and endings in order.
    pub(super) fn bar_acceptable(&self, bar: BarTok) -> bool {
        let section = bar.closes_section();
        let fits = if self.account.is_empty() {
            // An empty bar: only `|:` opening a section (`|` then `|:` on the next line).
            bar == BarTok::RepStart
                && matches!(self.prev, Prev::Bar | Prev::LineStart)
                && (!self.form.active() || self.form_allows_open())
        } else if self.form.active() {
            self.form_allows_bar(bar)
        } else {
            self.account.may_close(section)
        };
        let repeat_ok = bar != BarTok::RepStart || !self.repeat_open;
        let ending_ok = self.ending != 1 || !section || bar == BarTok::RepEnd;
        fits && repeat_ok && ending_ok && !self.needs_second
    }
    /// True when a bar line token written so far can still become an acceptable bar line.
    pub(super) fn bar_reachable(&self, bar: BarTok) -> bool {
        let ok = |b| self.bar_acceptable(b);
        match bar {
            BarTok::Pipe => ok(BarTok::Pipe) || ok(BarTok::Double) || ok(BarTok::RepStart),
            BarTok::Colon => ok(BarTok::RepEnd),
            other => ok(other),
        }
    }
    /// A bar line is complete: it closes the bar (see [`Machine::bar_acceptable`]).
    pub(super) fn finish_bar(&mut self, bar: BarTok) -> bool {
        let ok = self.bar_acceptable(bar);
        let section = bar.closes_section();
        match bar {
            BarTok::RepStart => self.repeat_open = true,
            BarTok::RepEnd => self.repeat_open = false,
            _ => {}
        }
        if self.ending == 1 && bar == BarTok::RepEnd {
            self.needs_second = true;
        } else if self.ending == 2 && section {
            self.ending = 0;
        }
        self.form_bar(bar);
        if !self.account.is_empty() {
            self.bars += 1;
        }
        if !section {
            self.plain_bars += 1;
        }
        self.account = self.account.next(section);
        self.tok = Tok::None;
        self.prev = Prev::Bar;
        self.last_bar = bar;
        ok
    }
}

//! Repeat expansion: the order in which tokens are played.

use super::lexer::{Bar, TokKind, Token};
use anyhow::{bail, Result};

/// Upper bound on how many times longer than the written tune the expansion may get.
const MAX_GROWTH: usize = 64;

/// Token indices in playing order, with `|: :|`, `::` and numbered endings expanded.
///
/// A repeat without `|:` goes back to the start of the tune, the last double bar or
/// the last `:|`.
pub(super) fn play_order(tokens: &[Token]) -> Result<Vec<usize>> {
    let mut player = Player {
        tokens,
        order: Vec::new(),
        jumped: vec![false; tokens.len()],
        ..Player::default()
    };
    player.run()?;
    Ok(player.order)
}

#[derive(Default)]
struct Player<'a> {
    tokens: &'a [Token],
    order: Vec<usize>,
    /// Whether the `:|` at an index has already sent playback back.
    jumped: Vec<bool>,
    /// Index playback goes back to.
    start: usize,
    /// The section began at an explicit `|:` (a double bar then does not move `start`).
    explicit: bool,
    /// 1 on the first time through a section, 2 on the second...
    pass: u32,
    /// Inside a numbered ending.
    in_ending: bool,
}

impl Player<'_> {
    fn run(&mut self) -> Result<()> {
        self.pass = 1;
        let limit = MAX_GROWTH * self.tokens.len() + 64;
        let mut i = 0;
        while i < self.tokens.len() {
            if self.order.len() > limit {
                bail!("repeat structure does not terminate");
            }
            i = match &self.tokens[i].kind {
                TokKind::Bar(bar) => self.bar(i, *bar),
                TokKind::Ending(list) => self.ending(i, list),
                _ => {
                    self.order.push(i);
                    i + 1
                }
            };
        }
        Ok(())
    }

    /// Plays a bar line; returns the next index.
    fn bar(&mut self, i: usize, bar: Bar) -> usize {
        self.order.push(i);
        if bar.repeat_end {
            if self.should_jump(i) {
                self.jumped[i] = true;
                self.pass += 1;
                self.in_ending = false;
                return self.start;
            }
            self.new_section(i + 1, false);
        }
        if bar.repeat_start {
            self.new_section(i + 1, true);
        } else if bar.double && (!self.explicit || self.in_ending) {
            self.new_section(i + 1, false);
        }
        i + 1
    }

    fn new_section(&mut self, start: usize, explicit: bool) {
        self.start = start;
        self.explicit = explicit;
        self.pass = 1;
        self.in_ending = false;
    }

    /// At a `:|`: go back the first time through (outside an ending, or in a first
    /// ending), and again while a later ending awaits the next pass.
    fn should_jump(&self, i: usize) -> bool {
        if self.in_ending && self.later_ending_exists(i, self.pass + 1) {
            return true;
        }
        !self.jumped[i] && (!self.in_ending || self.pass == 1)
    }

    /// True if an ending for `pass` appears after `i` before the section ends.
    fn later_ending_exists(&self, i: usize, pass: u32) -> bool {
        for token in &self.tokens[i + 1..] {
            match &token.kind {
                TokKind::Ending(list) if list.contains(&pass) => return true,
                TokKind::Bar(b) if b.repeat_start => return false,
                _ => {}
            }
        }
        false
    }

    /// True if the token at `j` is an ending for the current pass.
    fn ending_follows(&self, j: usize) -> bool {
        matches!(self.tokens.get(j).map(|t| &t.kind), Some(TokKind::Ending(l)) if l.contains(&self.pass))
    }

    /// At an ending marker: play it if it is for this pass, else skip to the next one that is.
    fn ending(&mut self, i: usize, list: &[u32]) -> usize {
        if list.is_empty() || list.contains(&self.pass) {
            self.in_ending = true;
            return i + 1;
        }
        let mut j = i + 1;
        while j < self.tokens.len() {
            match &self.tokens[j].kind {
                TokKind::Ending(l) if l.contains(&self.pass) => return j,
                TokKind::Bar(b) if b.repeat_start || b.double => {
                    self.in_ending = true;
                    return j;
                }
                TokKind::Bar(b) if b.repeat_end => {
                    if self.ending_follows(j + 1) {
                        return j + 1;
                    }
                    self.new_section(j + 1, false);
                    return j + 1;
                }
                _ => {}
            }
            j += 1;
        }
        // No end to the skipped ending: sloppy tunes mean it to be played.
        self.in_ending = true;
        i + 1
    }
}

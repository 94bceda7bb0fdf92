//! Bars as written, measured against the meter: does each bar of a tune add up?
//!
//! The tune is read once in written order (repeats are not played out) and cut at its bar lines.
//! Each bar's notes and rests are timed exactly as [`abc_to_score`](super::abc_to_score) times
//! them (unit length, broken rhythm, tuplets) and summed. A bar at the edge of a section (the
//! first or last bar of the tune, or a bar beside a repeat sign, a double bar or a numbered
//! ending) may be shorter than the meter: that is where pick-ups and their complements go. Every
//! other bar must fill the meter exactly, and no bar may be longer.
//!
//! ```
//! use tunesmith::abc::to_score::bar_check;
//! let check = bar_check("M:3/4\nL:1/4\nK:C\nC|DEF|GAB|c2|]\n").unwrap();
//! assert!(check.adds_up());
//! assert!(!bar_check("M:3/4\nL:1/4\nK:C\nDEF|GA|Bcd|]\n").unwrap().adds_up());
//! ```

use super::fields::{parse_meter, parse_unit};
use super::frac::Frac;
pub use super::grammar::BarFit;
use super::grammar::{self, BarAccount};
use super::interp::{interpret, Context, Element};
use super::key::parse_key;
use super::lexer::{Bar, TokKind, Token};
use super::{first_voice, lex_body, lines, pos_err, read_header};
use anyhow::Result;
use serde::{Deserialize, Serialize};

/// One written bar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WrittenBar {
    /// 1-based line of the tune on which the bar starts.
    pub line: usize,
    /// Length of the bar's notes and rests, in whole notes.
    pub length: f64,
    /// Length of a bar of the meter in force, in whole notes (`None` when unmetered).
    pub meter_length: Option<f64>,
    /// How the length compares with the meter.
    pub fit: BarFit,
    /// The bar is the tune's first or last, or borders a repeat sign, double bar or ending.
    pub at_section_edge: bool,
}

impl WrittenBar {
    /// A full bar, or a short one where short bars are allowed (at a section edge).
    pub fn is_acceptable(&self) -> bool {
        grammar::bar_may_close(self.fit, self.at_section_edge)
    }
}

/// The bars of one tune's first voice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BarCheck {
    /// Bars that hold at least one note or rest, in written order.
    pub bars: Vec<WrittenBar>,
}

impl BarCheck {
    /// True when the tune has bars and every one of them is acceptable
    /// (see [`WrittenBar::is_acceptable`]).
    pub fn adds_up(&self) -> bool {
        !self.bars.is_empty() && self.bars.iter().all(WrittenBar::is_acceptable)
    }

    /// Number of bars that are not acceptable.
    pub fn wrong_bars(&self) -> usize {
        self.bars.iter().filter(|b| !b.is_acceptable()).count()
    }
}

/// A bar being collected: its tokens, the context it starts in, its edges and the numbered
/// ending that starts with it.
struct Pending {
    tokens: Vec<Token>,
    start: Context,
    line: usize,
    opens_section: bool,
    ending: Option<Vec<u32>>,
}

impl Pending {
    fn new(start: Context, line: usize, opens_section: bool) -> Pending {
        Pending {
            tokens: Vec::new(),
            start,
            line,
            opens_section,
            ending: None,
        }
    }
}

/// A bar as the scan finds it: what [`bar_check`] reports, and what the form of a tune
/// ([`super::form`]) is built from.
#[derive(Debug, Clone)]
pub(super) struct ScannedBar {
    /// The bar as [`bar_check`] reports it.
    pub written: WrittenBar,
    /// Its notes and rests, timed (empty when unreadable).
    pub elements: Vec<Element>,
    /// The length of its notes and rests (`None` when unreadable).
    pub length: Option<Frac>,
    /// One bar of the meter in force (times the bars of a multi-bar rest); `None` when unmetered.
    pub meter: Option<Frac>,
    /// The bar line that ends it (`None` when it ends at the end of a line or of the tune);
    /// the flags of a bar line after an empty bar (`|` then `|:`) are merged into it.
    pub closing: Option<Bar>,
    /// A section boundary follows: a bar line with a repeat sign or a double bar (after it or
    /// after an empty bar that follows it), or the end of the tune.
    pub closes_section: bool,
    /// The numbered ending (`[1`, `|2`, `:|2`...) that starts with this bar.
    pub ending: Option<Vec<u32>>,
}

/// Measures every bar of a tune against its meter. Errors are those of reading the header and
/// lexing the music (the same as [`abc_to_score`](super::abc_to_score)'s).
pub fn bar_check(tune: &str) -> Result<BarCheck> {
    Ok(BarCheck {
        bars: scan(tune)?.into_iter().map(|b| b.written).collect(),
    })
}

/// Reads the tune's first voice once, in written order, and cuts it into timed bars.
pub(super) fn scan(tune: &str) -> Result<Vec<ScannedBar>> {
    let lines = lines::split_tune(tune)?;
    let header = read_header(&lines.header)?;
    let tokens = first_voice(lex_body(&lines.body)?);
    let mut ctx = header.context;
    let mut bars: Vec<ScannedBar> = Vec::new();
    let mut pending = Pending::new(ctx, tokens.first().map_or(1, |t| t.pos.line), true);
    for token in tokens {
        match &token.kind {
            TokKind::Bar(bar) => {
                let closes = bar.closes_section();
                let next_line = token.pos.line;
                let carried = finish(&mut bars, pending, ctx, Some(*bar));
                pending = Pending::new(ctx, next_line, closes);
                pending.ending = carried;
            }
            TokKind::Ending(list) => {
                pending.opens_section = true;
                pending.ending = Some(list.clone());
                if let Some(last) = bars.last_mut() {
                    last.written.at_section_edge = true;
                }
            }
            kind => {
                // A line of music that ends on a full bar ends that bar, bar line or not (as
                // the Essen transcriptions write phrases); a shorter one runs on into the next line.
                let new_line = pending
                    .tokens
                    .last()
                    .is_some_and(|t| t.pos.line != token.pos.line);
                if new_line && !matches!(kind, TokKind::Field(..)) && is_full(&pending, ctx) {
                    let line = token.pos.line;
                    let carried = finish(&mut bars, pending, ctx, None);
                    pending = Pending::new(ctx, line, false);
                    pending.ending = carried;
                }
                if let TokKind::Field(letter, value) = kind {
                    apply_field(&mut ctx, *letter, value)
                        .map_err(|e| pos_err(token.pos.line, token.pos.col, &e.to_string()))?;
                }
                if pending.tokens.is_empty() {
                    pending.line = token.pos.line;
                }
                pending.tokens.push(token);
            }
        }
    }
    finish(&mut bars, pending, ctx, None);
    if let Some(last) = bars.last_mut() {
        last.written.at_section_edge = true;
        last.closes_section = true;
    }
    if let Some(first) = bars.first_mut() {
        first.written.at_section_edge = true;
    }
    Ok(bars)
}

/// The notes and rests of a bar, as `abc_to_score` times them.
fn bar_elements(pending: &Pending) -> Result<Vec<Element>> {
    let order: Vec<usize> = (0..pending.tokens.len()).collect();
    Ok(interpret(&pending.tokens, &order, pending.start)?.elements)
}

/// The total length of timed elements.
fn total_length(elements: &[Element]) -> Frac {
    elements
        .iter()
        .fold(Frac::ZERO, |sum, element| sum + element.length)
}

/// True when the bar collected so far fills the meter exactly.
fn is_full(pending: &Pending, ctx: Context) -> bool {
    let mut account = BarAccount::new(ctx.meter.map(|m| m.bar_length()), pending.opens_section);
    match bar_elements(pending) {
        Ok(elements) => {
            account.add(total_length(&elements));
            account.is_full()
        }
        Err(_) => false,
    }
}

/// Times a finished bar and appends it. A bar without notes or rests is dropped: the flags of
/// the bar line that ends it go to the bar before, and its numbered ending, if any, is returned
/// for the next bar.
fn finish(
    bars: &mut Vec<ScannedBar>,
    pending: Pending,
    end: Context,
    closing: Option<Bar>,
) -> Option<Vec<u32>> {
    let closes_section = closing.is_some_and(Bar::closes_section);
    let has_sound = pending.tokens.iter().any(|t| {
        matches!(
            t.kind,
            TokKind::Note(_) | TokKind::Chord(..) | TokKind::Rest(_) | TokKind::MeasureRest(_)
        )
    });
    if !has_sound {
        if closes_section {
            if let (Some(last), Some(bar)) = (bars.last_mut(), closing) {
                last.written.at_section_edge = true;
                last.closes_section = true;
                let before = last.closing.unwrap_or_default();
                last.closing = Some(Bar {
                    repeat_end: before.repeat_end || bar.repeat_end,
                    repeat_start: before.repeat_start || bar.repeat_start,
                    double: before.double || bar.double,
                });
            }
        }
        return pending.ending;
    }
    let multi_rest: u32 = pending
        .tokens
        .iter()
        .map(|t| match t.kind {
            TokKind::MeasureRest(n) => n.saturating_sub(1),
            _ => 0,
        })
        .sum();
    let meter = end
        .meter
        .map(|m| m.bar_length() * Frac::int(1 + i64::from(multi_rest)));
    let elements = bar_elements(&pending).ok();
    let length = elements.as_deref().map(total_length);
    let mut account = BarAccount::new(meter, pending.opens_section);
    let fit = match length {
        None => BarFit::Unreadable,
        Some(len) => {
            account.add(len);
            account.fit()
        }
    };
    bars.push(ScannedBar {
        written: WrittenBar {
            line: pending.line,
            length: length.map_or(f64::NAN, Frac::to_f64),
            meter_length: meter.map(Frac::to_f64),
            fit,
            at_section_edge: account.at_section_edge(closes_section),
        },
        elements: elements.unwrap_or_default(),
        length,
        meter,
        closing,
        closes_section,
        ending: pending.ending,
    });
    None
}

/// Follows `K:`, `M:` and `L:` fields in the body as the interpreter does.
fn apply_field(ctx: &mut Context, letter: char, value: &str) -> Result<()> {
    match letter {
        'K' => {
            if let Some(key) = parse_key(value)? {
                ctx.key = key;
            }
        }
        'M' => ctx.meter = parse_meter(value)?,
        'L' => ctx.unit = parse_unit(value)?,
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fits(tune: &str) -> Vec<BarFit> {
        bar_check(tune)
            .expect("the tune reads")
            .bars
            .iter()
            .map(|b| b.fit)
            .collect()
    }

    #[test]
    fn full_bars_in_simple_and_compound_meters() {
        use BarFit::*;
        assert_eq!(fits("M:4/4\nL:1/8\nK:G\nGABc d2e2|f4 g4|]\n"), [Full, Full]);
        assert_eq!(fits("M:6/8\nL:1/8\nK:D\nDFA dAF|G3 E3|]\n"), [Full, Full]);
        // C is 4/4; the unit length defaults to 1/8 under a 4/4 meter.
        assert_eq!(fits("M:C\nK:C\nCDEF GABc|]\n"), [Full]);
    }

    #[test]
    fn lengths_follow_broken_rhythm_tuplets_and_unit_changes() {
        use BarFit::*;
        // A>B is 3/16 + 1/16; (3CDE is three eighths in the time of two.
        assert_eq!(fits("M:2/4\nL:1/8\nK:C\nA>B (3CDE|]\n"), [Full]);
        assert_eq!(
            fits("M:2/4\nL:1/8\nK:C\nABcd|\nL:1/4\nAB|]\n"),
            [Full, Full]
        );
        assert_eq!(fits("M:3/4\nL:1/4\nK:C\n[CEG]2 z|]\n"), [Full]);
    }

    #[test]
    fn pickups_at_section_edges_are_allowed() {
        let check = bar_check("M:3/4\nL:1/4\nK:C\nC|DEF|GAB|c2:|\n|:d|efg|a2|]\n").unwrap();
        assert_eq!(check.bars.len(), 7);
        assert!(check.adds_up(), "{check:?}");
        let edges: Vec<bool> = check.bars.iter().map(|b| b.at_section_edge).collect();
        assert_eq!(edges, [true, false, false, true, true, false, true]);
    }

    #[test]
    fn a_short_or_long_bar_inside_a_section_is_wrong() {
        let short = bar_check("M:3/4\nL:1/4\nK:C\nDEF|GA|Bcd|]\n").unwrap();
        assert_eq!(short.wrong_bars(), 1);
        assert!(!short.adds_up());
        let long = bar_check("M:3/4\nL:1/4\nK:C\nDEFG|]\n").unwrap();
        assert_eq!(long.bars[0].fit, BarFit::Long);
        assert!(!long.adds_up());
        assert!((long.bars[0].length - 1.0).abs() < 1e-12);
        assert_eq!(long.bars[0].meter_length, Some(0.75));
    }

    #[test]
    fn meter_changes_and_endings() {
        use BarFit::*;
        assert_eq!(
            fits("M:2/4\nL:1/8\nK:C\nABcd|[M:3/4]ABcdef|]\n"),
            [Full, Full]
        );
        let check = bar_check("M:2/4\nL:1/8\nK:C\n|:ABcd|[1 AB:|[2 cd|]\n").unwrap();
        assert_eq!(check.bars.len(), 3);
        assert!(check.adds_up(), "{check:?}");
    }

    #[test]
    fn unmetered_tunes_and_empty_bodies_do_not_add_up() {
        let free = bar_check("M:none\nL:1/8\nK:C\nABcd|]\n").unwrap();
        assert_eq!(free.bars[0].fit, BarFit::Unmetered);
        assert!(!free.adds_up());
        assert!(!bar_check("M:2/4\nK:C\n|]\n").unwrap().adds_up());
    }

    #[test]
    fn a_line_that_ends_on_a_full_bar_ends_the_bar() {
        use BarFit::*;
        // Essen style: phrases end at line ends without a bar line.
        assert_eq!(
            fits("M:3/4\nL:1/4\nK:C\nC2C | DEF\nGAB | c3\n"),
            [Full, Full, Full, Full]
        );
        // A line that ends inside a bar runs on: A4G2 and AB make one 4/4 bar.
        assert_eq!(fits("M:4/4\nL:1/8\nK:C\nA4G2\nAB | c8 |]\n"), [Full, Full]);
        // Without the rule, DEF and GAB would make one bar of 6/4.
        let check = bar_check("M:3/4\nL:1/4\nK:C\nDEF\nGAB|]\n").unwrap();
        assert_eq!(check.bars.len(), 2);
        assert!(check.adds_up());
    }

    #[test]
    fn multi_bar_rests_count_as_that_many_bars() {
        use BarFit::*;
        assert_eq!(fits("M:2/4\nL:1/8\nK:C\nZ4|ABcd|]\n"), [Full, Full]);
    }
}

//! The form a tune is written in: its parts and how many bars of the meter each part lasts.
//!
//! Built on the bars [`bar_check`](super::bar_check) reads: the first voice, in written order
//! (repeats are not played out), each bar timed exactly as [`abc_to_score`](super::abc_to_score)
//! times it (unit length, broken rhythm, tuplets), with exact fractions. A line of music that
//! ends on a full bar ends that bar even without a bar line (as the Essen transcriptions write).
//!
//! **Section boundaries** are the start of the tune, every bar line with a repeat sign or a
//! double bar (`||`, `|]`, `[|`, `|:`, `:|`, `::`), and the end of the tune. Bars without notes
//! or rests are not bars: in `…|\n|: …` the empty bar between `|` and `|:` is dropped and the
//! boundary falls on the bar before it, so the next part starts at `|:`.
//!
//! A **part** is the music between two section boundaries, with two refinements:
//!
//! - *Numbered endings.* In `|: body |1 first :|2 second ||`, the part is `body` followed by
//!   `first` (the music played once through; the length counts once). The first ending starts at
//!   a `[1` or `|1` mark (any list holding 1, such as `[1,3`); each later ending (`:|2`, `:|[2`,
//!   `|2`, `[2`: a list without 1) runs from its mark to the next section boundary and belongs to
//!   the part before it. [`PartForm::endings`] counts the endings (0 when none).
//! - *A pick-up before the opening repeat.* When the tune's first part is a single short bar
//!   (`d|:g2…`), that bar is the pick-up of the part after it and not a part of its own.
//!
//! A part's **length in bars** is the sum over its bars (body and first ending) of each bar's
//! length divided by one bar of the meter in force in that bar: with one meter, the part's
//! total duration divided by the bar. The part is **regular** when
//!
//! 1. every bar is metered and readable, and that length is a whole number ≥ 1;
//! 2. no bar is longer than the meter, and no bar other than the part's first (a pick-up) and
//!    its last (the closing bar) is shorter;
//! 3. every later ending has the same length in bars as the first (its lengths exactly equal).
//!
//! The **pick-up** is the part's first bar when that is shorter than the meter (its length in
//! whole notes), else 0. A part is **repeated** when its last bar (the first ending's last, when
//! it has endings) closes with a repeat sign (`:|`, `::`).
//!
//! An unmetered tune (`M:none`, a free meter, no `M:`) is read without error: its parts are
//! listed, none is regular, and [`TuneForm::meter`] is `None`.
//!
//! ```
//! use tunesmith::abc::to_score::tune_form;
//! let form = tune_form("M:2/4\nL:1/8\nK:G\n|:GABc|dedB|1 cBAG:|2 cBA2||\n|:d2 dB|c2 cA|GABc|d4:|\n")
//!     .unwrap();
//! assert_eq!(form.part_lengths(), Some(vec![3, 4]));
//! assert_eq!(form.parts[0].endings, 2);
//! assert!(form.parts.iter().all(|p| p.repeated));
//! ```

use super::bars::{scan, ScannedBar};
use super::fields::parse_meter;
use super::frac::Frac;
use super::interp::Sound;
use super::lines::{self, Line};
use super::BarFit;
use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// One part of a tune (see the module documentation for the definitions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartForm {
    /// Length in bars of the meter; `None` when the part is not regular.
    pub bars: Option<u32>,
    /// Length of the pick-up (a short first bar) in whole notes; 0 when there is none.
    pub pickup: f64,
    /// The part closes with a repeat sign.
    pub repeated: bool,
    /// Number of numbered endings (0 when none).
    pub endings: u8,
    /// Index of the part's first bar among the tune's bars (as [`bar_check`](super::bar_check)
    /// lists them).
    pub first_bar: usize,
    /// Written bars of the part, later endings included.
    pub written_bars: usize,
}

/// The form of a tune: its meter and its parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneForm {
    /// The header's meter as (numerator, denominator) (`C` is 4/4); `None` when unmetered.
    pub meter: Option<(u32, u32)>,
    /// The header's `M:` value as written (trimmed), if any.
    pub meter_text: Option<String>,
    /// The header's `L:` value as written (trimmed), if any.
    pub unit_text: Option<String>,
    /// One bar of the header's meter, in whole notes (for display; regularity is decided with
    /// exact fractions).
    pub bar_length: Option<f64>,
    /// The parts in written order.
    pub parts: Vec<PartForm>,
    /// The tune is metered, has parts, and every part is regular.
    pub regular: bool,
}

impl TuneForm {
    /// The length in bars of each part, when the form is regular.
    pub fn part_lengths(&self) -> Option<Vec<u32>> {
        if !self.regular {
            return None;
        }
        self.parts.iter().map(|p| p.bars).collect()
    }
}

/// The form of a tune. Errors are those of reading the header and lexing the music (the same
/// as [`bar_check`](super::bar_check)'s).
pub fn tune_form(tune: &str) -> Result<TuneForm> {
    let lines = lines::split_tune(tune)?;
    let field = |letter: char| {
        lines.header.iter().rev().find_map(|line| match *line {
            Line::Field(l, value, _) if l == letter => Some(value.trim().to_string()),
            _ => None,
        })
    };
    let (meter_text, unit_text) = (field('M'), field('L'));
    let meter = match &meter_text {
        Some(text) => parse_meter(text).context("reading the M: field")?,
        None => None,
    };
    let bars = scan(tune)?;
    let parts = parts_of(&bars);
    let regular = meter.is_some() && !parts.is_empty() && parts.iter().all(|p| p.bars.is_some());
    Ok(TuneForm {
        meter: meter.map(|m| (u32::from(m.numerator), u32::from(m.denominator))),
        meter_text,
        unit_text,
        bar_length: meter.map(|m| m.bar_length().to_f64()),
        parts,
        regular,
    })
}

/// One note, chord or rest of a bar, timed in whole notes; fractions are reduced
/// (numerator, denominator) pairs, so equal times compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BarEvent {
    /// MIDI pitches sounding (empty for a rest).
    pub pitches: Vec<u8>,
    /// Onset from the start of the bar.
    pub onset: (i64, i64),
    /// Length.
    pub length: (i64, i64),
}

/// The notes and rests of each bar of the tune (the bars of [`bar_check`](super::bar_check),
/// each read on its own; an unreadable bar has no events).
pub fn bar_events(tune: &str) -> Result<Vec<Vec<BarEvent>>> {
    Ok(scan(tune)?
        .iter()
        .map(|bar| {
            let mut onset = Frac::ZERO;
            bar.elements
                .iter()
                .map(|element| {
                    let pitches = match &element.sound {
                        Sound::Rest => Vec::new(),
                        Sound::Notes(notes) => notes.iter().map(|(p, _)| *p).collect(),
                    };
                    let event = BarEvent {
                        pitches,
                        onset: onset.parts(),
                        length: element.length.parts(),
                    };
                    onset = onset + element.length;
                    event
                })
                .collect()
        })
        .collect())
}

/// A part being assembled: its bars played once (body and first ending), the start of its
/// first ending, and its later endings.
struct RawPart {
    main: Range<usize>,
    first_ending: Option<usize>,
    later: Vec<Range<usize>>,
}

/// Cuts the bars into chunks at section boundaries and before every ending mark, then groups
/// the chunks into parts.
fn parts_of(bars: &[ScannedBar]) -> Vec<PartForm> {
    let mut chunks: Vec<Range<usize>> = Vec::new();
    for i in 0..bars.len() {
        if i == 0 || bars[i - 1].closes_section || bars[i].ending.is_some() {
            chunks.push(i..i + 1);
        } else if let Some(last) = chunks.last_mut() {
            last.end = i + 1;
        }
    }
    let mut raw: Vec<RawPart> = Vec::new();
    for chunk in chunks {
        let ending = bars[chunk.start].ending.as_deref();
        let cut_by_mark = chunk.start > 0 && !bars[chunk.start - 1].closes_section;
        match (ending, raw.last_mut()) {
            (Some(list), Some(part)) if !list.contains(&1) && part.first_ending.is_some() => {
                part.later.push(chunk);
            }
            (Some(list), Some(part))
                if list.contains(&1) && part.first_ending.is_none() && cut_by_mark =>
            {
                part.first_ending = Some(chunk.start);
                part.main.end = chunk.end;
            }
            (Some(list), _) if list.contains(&1) => raw.push(RawPart {
                first_ending: Some(chunk.start),
                main: chunk,
                later: Vec::new(),
            }),
            _ => raw.push(RawPart {
                main: chunk,
                first_ending: None,
                later: Vec::new(),
            }),
        }
    }
    // A lone short bar before the first part's opening repeat is that part's pick-up.
    if raw.len() > 1 && raw[0].main.len() == 1 && raw[0].first_ending.is_none() {
        let bar = &bars[raw[0].main.start];
        if bar.written.fit == BarFit::Short {
            raw[1].main.start = raw[0].main.start;
            raw.remove(0);
        }
    }
    raw.iter().map(|part| part_form(bars, part)).collect()
}

/// Length in bars of the meter of a run of bars (`None` when a bar is unmetered or unreadable).
fn bars_of_meter(bars: &[ScannedBar]) -> Option<Frac> {
    bars.iter().try_fold(Frac::ZERO, |sum, bar| {
        let (length, meter) = (bar.length?, bar.meter?);
        (meter != Frac::ZERO).then(|| sum + length / meter)
    })
}

/// Measures one part.
fn part_form(bars: &[ScannedBar], part: &RawPart) -> PartForm {
    let main = &bars[part.main.clone()];
    let first = &main[0];
    let last = &main[main.len() - 1];
    let pickup = match (first.written.fit, first.length) {
        (BarFit::Short, Some(length)) => length.to_f64(),
        _ => 0.0,
    };
    let inner_full = main.len() < 3
        || main[1..main.len() - 1]
            .iter()
            .all(|b| b.written.fit == BarFit::Full);
    let none_long = main
        .iter()
        .chain(part.later.iter().flat_map(|r| &bars[r.clone()]))
        .all(|b| matches!(b.written.fit, BarFit::Full | BarFit::Short));
    let first_ending = part
        .first_ending
        .and_then(|start| bars_of_meter(&bars[start..part.main.end]));
    let endings_agree = part
        .later
        .iter()
        .all(|r| first_ending.is_some() && bars_of_meter(&bars[r.clone()]) == first_ending);
    let length = bars_of_meter(main)
        .and_then(Frac::whole)
        .filter(|&n| n >= 1)
        .and_then(|n| u32::try_from(n).ok());
    let regular = inner_full && none_long && endings_agree;
    PartForm {
        bars: length.filter(|_| regular),
        pickup,
        repeated: last.closing.is_some_and(|b| b.repeat_end),
        endings: if part.first_ending.is_some() {
            u8::try_from(1 + part.later.len()).unwrap_or(u8::MAX)
        } else {
            0
        },
        first_bar: part.main.start,
        written_bars: main.len() + part.later.iter().map(|r| r.len()).sum::<usize>(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(tune: &str) -> TuneForm {
        tune_form(tune).expect("the tune reads")
    }

    #[test]
    fn essen_style_one_part_with_a_balanced_pickup() {
        // A pick-up of one quarter, phrases ending at line ends, a short last bar of two.
        let f = form("M:3/4\nL:1/4\nK:G\nD | GAB | c2B\nAGF | G2\n");
        assert_eq!(f.part_lengths(), Some(vec![4]));
        assert_eq!(f.parts[0].pickup, 0.25);
        assert!(!f.parts[0].repeated);
        assert_eq!(f.meter, Some((3, 4)));
        assert_eq!(f.meter_text.as_deref(), Some("3/4"));
        assert_eq!(f.unit_text.as_deref(), Some("1/4"));
    }

    #[test]
    fn a_tune_whose_last_line_has_no_bar_line() {
        let f = form("M:2/4\nL:1/8\nK:C\nCDEF | GABc\ncBAG | F2E2\n");
        assert_eq!(f.part_lengths(), Some(vec![4]));
        assert_eq!(f.parts[0].pickup, 0.0);
        assert_eq!(f.parts[0].written_bars, 4);
    }

    #[test]
    fn aabb_with_repeat_signs() {
        let f = form(
            "M:6/8\nL:1/8\nK:D\n|:DFA dAF|GBd gdB|AFD EFG|A3 D3:|\n|:dfa afd|gfe dcB|ABc def|d3 D3:|\n",
        );
        assert_eq!(f.part_lengths(), Some(vec![4, 4]));
        assert!(f.parts.iter().all(|p| p.repeated && p.endings == 0));
        assert_eq!(f.parts[1].first_bar, 4);
    }

    #[test]
    fn first_and_second_endings() {
        let f = form("M:2/4\nL:1/8\nK:G\n|:GABc|dedB|1 cBAG:|2 cBA2||\n|:d2 dB|c2 cA|GABc|d4:|\n");
        assert_eq!(f.part_lengths(), Some(vec![3, 4]));
        assert_eq!(f.parts[0].endings, 2);
        assert_eq!(f.parts[0].written_bars, 4);
        assert_eq!(f.parts[1].first_bar, 4);
        // The same with bracketed endings, and a second ending of the wrong length.
        let f = form("M:2/4\nL:1/8\nK:G\n|:GABc|dedB|[1 cBAG:|[2 cBA2||\n");
        assert_eq!(f.part_lengths(), Some(vec![3]));
        let f = form("M:2/4\nL:1/8\nK:G\n|:GABc|dedB|[1 cBAG:|[2 cBA2|G4||\n");
        assert!(!f.regular);
        assert_eq!(f.parts[0].bars, None);
        assert_eq!(f.parts[0].endings, 2);
    }

    #[test]
    fn an_unbalanced_pickup_or_a_short_inner_bar_is_irregular() {
        // Pick-up of one quarter, full last bar: 4 1/3 bars.
        let f = form("M:3/4\nL:1/4\nK:C\nC|DEF|GAB|cde|f3|]\n");
        assert!(!f.regular);
        assert_eq!(f.parts[0].bars, None);
        assert_eq!(f.part_lengths(), None);
        // A short bar inside the part.
        assert!(!form("M:3/4\nL:1/4\nK:C\nDEF|GA|Bcd|e|]\n").regular);
        // A long bar.
        assert!(!form("M:3/4\nL:1/4\nK:C\nDEFG|AB|]\n").regular);
    }

    #[test]
    fn a_bar_line_then_an_opening_repeat_on_the_next_line() {
        let f = form("M:4/4\nL:1/8\nK:G\nGABc d4|e8|\n|:g8|f8:|\n");
        assert_eq!(f.part_lengths(), Some(vec![2, 2]));
        assert!(!f.parts[0].repeated);
        assert!(f.parts[1].repeated);
        assert_eq!(f.parts[1].first_bar, 2);
    }

    #[test]
    fn a_pickup_before_the_opening_repeat_belongs_to_the_first_part() {
        let f = form("M:6/8\nL:1/8\nK:G\nD|:GAB c2d|e3 d2:|\n");
        assert_eq!(f.parts.len(), 1);
        assert_eq!(f.parts[0].pickup, 0.125);
        // 1/6 + 1 + 5/6 of a bar.
        assert_eq!(f.part_lengths(), Some(vec![2]));
    }

    #[test]
    fn unmetered_tunes_have_no_regular_form() {
        let f = form("M:none\nL:1/8\nK:C\nABcd|efga|]\n");
        assert_eq!(f.meter, None);
        assert!(!f.regular);
        assert_eq!(f.parts.len(), 1);
        assert_eq!(f.parts[0].bars, None);
        assert!(!form("L:1/8\nK:C\nABcd|]\n").regular);
    }

    #[test]
    fn bar_events_time_each_bar_exactly() {
        let bars = bar_events("M:2/4\nL:1/8\nK:C\n(3CDE z2|[CE]4|]\n").unwrap();
        assert_eq!(bars.len(), 2);
        assert_eq!(bars[0][1].onset, (1, 12));
        assert_eq!(bars[0][1].length, (1, 12));
        assert_eq!(bars[0][3].pitches, Vec::<u8>::new());
        assert_eq!(bars[0][3].onset, (1, 4));
        assert_eq!(bars[1][0].pitches, vec![60, 64]);
        assert_eq!(bars[1][0].length, (1, 2));
    }
}

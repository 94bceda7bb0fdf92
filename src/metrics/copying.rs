//! How much of a generated tune is copied from the training data: the longest run of
//! consecutive bars that also occurs, bar for bar, in one training tune.
//!
//! Bars are compared as written: the text between two bar lines with whitespace removed and the
//! repeat and ending marks at its edges (`:`, `[1`, `2`, `]`) taken off, so `|: ABc d2e :|` and
//! `|ABcd2e|` are the same bar.

use crate::abc::tunebook::field_line;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The bars of an ABC tune's body (the lines after the first `K:` field), normalised as the
/// module describes; empty bars (between `||`, `|]`, `|:`…) are dropped.
pub fn written_bars(text: &str) -> Vec<String> {
    let mut bars = Vec::new();
    let mut current = String::new();
    let mut in_body = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('%') {
            continue;
        }
        if let Some((letter, _)) = field_line(line) {
            in_body |= letter == 'K';
            continue;
        }
        if !in_body {
            continue;
        }
        let music = line.split('%').next().unwrap_or("");
        for c in music.chars().filter(|c| !c.is_whitespace()) {
            if c == '|' {
                push_bar(&mut bars, &mut current);
            } else if c != '\\' {
                current.push(c);
            }
        }
    }
    push_bar(&mut bars, &mut current);
    bars
}

fn push_bar(bars: &mut Vec<String>, current: &mut String) {
    let mut bar = current.as_str();
    bar = bar.trim_start_matches([':', ']']);
    if let Some(rest) = bar.strip_prefix('[') {
        if rest.starts_with(|c: char| c.is_ascii_digit()) {
            bar = rest;
        }
    }
    bar = bar.trim_start_matches(|c: char| c.is_ascii_digit() || c == ',' || c == '-');
    bar = bar.trim_end_matches([':', '[']);
    if !bar.is_empty() {
        bars.push(bar.to_string());
    }
    current.clear();
}

/// Where a generated tune's longest copied run of bars comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopiedRun {
    /// Number of consecutive bars (0 when no bar at all occurs in the training data).
    pub bars: usize,
    /// Index of the training tune it was found in.
    pub tune: Option<usize>,
    /// Index of the run's first bar in that training tune.
    pub start: usize,
}

/// The training tunes' bars, indexed for finding copied runs.
#[derive(Debug, Clone, Default)]
pub struct CopyIndex {
    ids: HashMap<String, u32>,
    tunes: Vec<Vec<u32>>,
    /// For each bar id, every (tune, position) it occurs at.
    occurrences: Vec<Vec<(u32, u32)>>,
}

impl CopyIndex {
    /// Indexes the bars of the given training tunes (ABC text, header included).
    pub fn new<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut index = CopyIndex::default();
        for text in texts {
            let tune = index.tunes.len() as u32;
            let mut ids = Vec::new();
            for (pos, bar) in written_bars(text).into_iter().enumerate() {
                let next = index.ids.len() as u32;
                let id = *index.ids.entry(bar).or_insert(next);
                if id == next {
                    index.occurrences.push(Vec::new());
                }
                index.occurrences[id as usize].push((tune, pos as u32));
                ids.push(id);
            }
            index.tunes.push(ids);
        }
        index
    }

    /// Number of training tunes indexed.
    pub fn len(&self) -> usize {
        self.tunes.len()
    }

    /// True when no tune is indexed.
    pub fn is_empty(&self) -> bool {
        self.tunes.is_empty()
    }

    /// The longest run of consecutive bars of `text` that occurs in one training tune.
    pub fn longest_copied_run(&self, text: &str) -> CopiedRun {
        let query: Vec<Option<u32>> = written_bars(text)
            .iter()
            .map(|b| self.ids.get(b).copied())
            .collect();
        let mut best = CopiedRun {
            bars: 0,
            tune: None,
            start: 0,
        };
        for (i, id) in query.iter().enumerate() {
            let Some(id) = *id else { continue };
            for &(tune, pos) in &self.occurrences[id as usize] {
                let bars = &self.tunes[tune as usize];
                let pos = pos as usize;
                // Only runs that cannot be extended to the left: each maximal run is walked once.
                if i > 0 && pos > 0 && query[i - 1] == Some(bars[pos - 1]) {
                    continue;
                }
                let run = query[i..]
                    .iter()
                    .zip(&bars[pos..])
                    .take_while(|(q, b)| **q == Some(**b))
                    .count();
                if run > best.bars {
                    best = CopiedRun {
                        bars: run,
                        tune: Some(tune as usize),
                        start: pos,
                    };
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_normalised() {
        let bars =
            written_bars("X:1\nM:2/4\nK:G\n|: AB c2 :|[1 de f2|]\n% comment\n|2 [CE]G z2||\n");
        assert_eq!(bars, ["ABc2", "def2", "[CE]Gz2"]);
        assert_eq!(
            written_bars("K:C\n[CE]2 G2|[1 [DF]4:|"),
            ["[CE]2G2", "[DF]4"]
        );
        assert_eq!(written_bars("K:C\n"), Vec::<String>::new());
        // Header lines never count as music.
        assert_eq!(written_bars("T:a|b\nK:C\nCD|"), ["CD"]);
    }

    #[test]
    fn finds_the_longest_run_in_one_tune() {
        let training = [
            "M:2/4\nK:C\nAB|cd|ef|ga|\n",
            "M:2/4\nK:C\nxx|AB|cd|ef|gg|\n",
        ];
        let index = CopyIndex::new(training);
        assert_eq!(index.len(), 2);
        // AB cd ef is in both; AB cd ef ga only in the first.
        let run = index.longest_copied_run("M:2/4\nK:C\nzz|AB|cd|ef|ga|zz|\n");
        assert_eq!((run.bars, run.tune, run.start), (4, Some(0), 0));
        // Bars copied from two tunes do not join into one run.
        let run = index.longest_copied_run("M:2/4\nK:C\nxx|AB|ga|\n");
        assert_eq!(run.bars, 2);
        assert_eq!(run.tune, Some(1));
        // Nothing in common.
        let none = index.longest_copied_run("M:2/4\nK:C\nC4|D4|\n");
        assert_eq!((none.bars, none.tune), (0, None));
    }

    #[test]
    fn a_training_tune_copies_itself_entirely() {
        let tune = "M:3/4\nK:D\nd2 e|f2 g|a3|]\n";
        let index = CopyIndex::new([tune, "M:3/4\nK:D\nd2e|\n"]);
        assert_eq!(index.longest_copied_run(tune).bars, 3);
    }
}

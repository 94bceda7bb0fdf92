//! Statistics of a set of ABC tunes, to hold generated tunes against held-out ones: their
//! length, how their bars fill the meter, their form, how much they repeat themselves, and the
//! pitches, intervals and durations of their notes.
//!
//! Every tune is read by the crate's own reader, the first voice as written (repeats not played
//! out): [`abc_to_score_with`] for the notes, [`bar_check`] for the bars, [`tune_form`] for the
//! parts, [`bar_events`] for the contents of each bar, and the tonic from the header's `K:` field
//! ([`header_tonic`]). A tune that any of them refuses, or that has no notes, is skipped and
//! counted ([`TuneStatistics::unreadable`]). Per tune ([`TuneFigures`]):
//!
//! - length in written bars, and in characters of the body (the text after the `K:` line);
//! - interior bars (all but the first and last): how many are full, how many short, and how
//!   many have a meter at all (an `M:none` tune's bars are neither full nor short, so the share
//!   of full interior bars is taken over the metered ones);
//! - parts, each one's length in bars (or irregular), repeated parts, numbered endings;
//! - bars that repeat an earlier bar of the tune: the same (pitches, onset in the bar, length)
//!   sequence, compared with exact fractions;
//! - notes (each pitch of a chord counts; tied notes are one), notes per quarter (from the first
//!   onset to the last note's end), pitch range;
//! - pitch classes relative to the tonic; melodic intervals between consecutive onsets (the
//!   highest pitch of each); note lengths in quarters; whether the last onset's highest pitch is
//!   the tonic's pitch class. Tunes whose `K:` names no tonic (`K:none`, `K:Hp`) add nothing to
//!   the pitch-class distribution nor to the share ending on the tonic.
//!
//! For the set ([`TuneStatistics`]), means and 90th percentiles (nearest rank) are taken over
//! tunes, shares over the pooled bars, parts or tunes they name, and distributions over the
//! pooled notes, intervals, parts or tunes. [`TuneStatistics::compare`] sets two sets side by
//! side ([`StatisticsComparison`]), and [`distinguishability`] asks how well a classifier tells
//! them apart from per-tune figures.

mod compare;
mod distinguish;

pub use compare::{ComparisonRow, DistanceKind, SetStatistics, StatisticsComparison};
pub use distinguish::{
    classifier_features, distinguishability, distinguishability_over_draws, draws_report,
    Distinguishability, FEATURES,
};

use crate::abc::to_score::{
    abc_to_score_with, bar_check, bar_events, ends_on_tonic, header_tonic, tune_form,
    AbcToScoreOptions, BarFit,
};
use crate::abc::tunebook::field_line;
use crate::metrics::tune_stats::pitch_class_entropy;
use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// Upper bins of the part-count distribution: `1` … `6`, then `7+`.
const MAX_PARTS_BIN: usize = 7;
/// Part lengths get bins `1` … `32`, then `33+` and `irregular`.
const MAX_PART_LENGTH_BIN: u32 = 32;
/// Melodic intervals get bins `-12` … `12` and one beyond on each side.
const MAX_INTERVAL: i32 = 12;
/// Note lengths in quarters, as (numerator, denominator), each a bin; anything else is `other`.
pub const DURATION_BINS: [(u32, u32); 9] = [
    (1, 4),
    (1, 3),
    (1, 2),
    (3, 4),
    (1, 1),
    (3, 2),
    (2, 1),
    (3, 1),
    (4, 1),
];

/// The figures of one tune.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneFigures {
    /// The tune's position in the set given.
    pub index: usize,
    /// Written bars (with notes or rests).
    pub bars: usize,
    /// Characters of the body (after the `K:` line, trimmed).
    pub body_chars: usize,
    /// Interior bars (all but the first and the last).
    pub interior_bars: usize,
    /// Interior bars that fill the meter.
    pub full_interior_bars: usize,
    /// Interior bars shorter than the meter.
    pub short_interior_bars: usize,
    /// Interior bars with a meter to fill (full, short or long; not unmetered or unreadable).
    #[serde(default)]
    pub metered_interior_bars: usize,
    /// Each part's length in bars (`None`: irregular), as [`tune_form`] reads them.
    pub parts: Vec<Option<u32>>,
    /// The form is regular.
    pub regular_form: bool,
    /// Parts that close with a repeat sign.
    pub repeated_parts: usize,
    /// Some part has numbered endings.
    pub has_endings: bool,
    /// Bars that have contents (readable bars).
    pub timed_bars: usize,
    /// Bars whose contents equal those of an earlier bar.
    pub repeated_bars: usize,
    /// Notes (each pitch of a chord; tied notes once).
    pub notes: usize,
    /// Quarters from the first onset to the end of the last note.
    pub quarters: f64,
    /// Highest minus lowest pitch, in semitones.
    pub pitch_range: u8,
    /// The tonic's pitch class (C = 0), when `K:` names one.
    pub tonic: Option<u8>,
    /// Notes per pitch class, counted in semitones above the tonic (C = 0 when there is no tonic).
    pub pitch_classes: [usize; 12],
    /// Melodic intervals: bin 0 is below −12, bins 1..=25 are −12..=12, bin 26 above 12.
    pub intervals: [usize; 27],
    /// Note lengths per [`DURATION_BINS`] bin, the last one `other`.
    pub durations: [usize; 10],
    /// The last onset's highest pitch is the tonic (`None` when there is no tonic).
    pub ends_on_tonic: Option<bool>,
}

impl TuneFigures {
    /// Notes per quarter note.
    pub fn notes_per_quarter(&self) -> f64 {
        self.notes as f64 / self.quarters.max(f64::MIN_POSITIVE)
    }

    /// Share of interior bars that are full (1 when there are none).
    pub fn full_interior_share(&self) -> f64 {
        ratio(self.full_interior_bars, self.interior_bars, 1.0)
    }

    /// Share of timed bars that repeat an earlier bar.
    pub fn repeated_bar_share(&self) -> f64 {
        ratio(self.repeated_bars, self.timed_bars, 0.0)
    }

    /// Entropy in bits of the pitch-class distribution.
    pub fn pitch_class_entropy(&self) -> f64 {
        pitch_class_entropy(&self.pitch_classes)
    }

    /// Share of notes shorter than a quarter.
    pub fn short_note_share(&self) -> f64 {
        let short: usize = self.durations[..4].iter().sum();
        ratio(short, self.durations.iter().sum(), 0.0)
    }

    /// Mean absolute melodic interval in semitones (the outer bins count as 13).
    pub fn mean_abs_interval(&self) -> f64 {
        let total: usize = self.intervals.iter().sum();
        let sum: f64 = self
            .intervals
            .iter()
            .enumerate()
            .map(|(bin, &n)| (bin as f64 - 13.0).abs() * n as f64)
            .sum();
        if total == 0 {
            0.0
        } else {
            sum / total as f64
        }
    }
}

/// `num / den`, or `empty` when `den` is 0.
pub(crate) fn ratio(num: usize, den: usize, empty: f64) -> f64 {
    if den == 0 {
        empty
    } else {
        num as f64 / den as f64
    }
}

/// The body of a tune: the text after its first `K:` line, trimmed.
fn body_of(tune: &str) -> &str {
    let mut offset = 0;
    for line in tune.split_inclusive('\n') {
        offset += line.len();
        if field_line(line.trim()).is_some_and(|(letter, _)| letter == 'K') {
            return tune[offset..].trim();
        }
    }
    ""
}

/// The bin of a note length in ticks at `tpq` ticks per quarter.
fn duration_bin(ticks: u32, tpq: u32) -> usize {
    DURATION_BINS
        .iter()
        .position(|&(n, d)| u64::from(ticks) * u64::from(d) == u64::from(n) * u64::from(tpq))
        .unwrap_or(DURATION_BINS.len())
}

/// The figures of one tune as the module describes; errors for a tune the reader refuses or one
/// without notes.
pub fn tune_figures(tune: &str, index: usize) -> Result<TuneFigures> {
    let options = AbcToScoreOptions {
        expand_repeats: false,
        ..AbcToScoreOptions::default()
    };
    let score = abc_to_score_with(tune, &options).context("reading the notes")?;
    let check = bar_check(tune).context("reading the bars")?;
    let form = tune_form(tune).context("reading the form")?;
    let contents = bar_events(tune).context("reading the bars' contents")?;
    let track = score.tracks.first().context("the tune has no voice")?;
    anyhow::ensure!(!track.notes.is_empty(), "the tune has no notes");
    let tpq = u32::from(score.ticks_per_quarter.max(1));
    let mut notes = track.notes.clone();
    notes.sort_by_key(|n| (n.start, n.pitch));
    let interior = check.bars.len().saturating_sub(2);
    let inner = check
        .bars
        .get(1..check.bars.len().saturating_sub(1))
        .unwrap_or(&[]);
    let tonic = header_tonic(tune);
    let mut pitch_classes = [0usize; 12];
    let mut durations = [0usize; 10];
    for note in &notes {
        let pc = (i32::from(note.pitch) - i32::from(tonic.unwrap_or(0))).rem_euclid(12);
        pitch_classes[pc as usize] += 1;
        durations[duration_bin(note.duration, tpq)] += 1;
    }
    // The melody: the highest pitch of each onset.
    let mut melody: BTreeMap<u32, u8> = BTreeMap::new();
    for note in &notes {
        let top = melody.entry(note.start).or_insert(note.pitch);
        *top = (*top).max(note.pitch);
    }
    let tops: Vec<i32> = melody.values().map(|&p| i32::from(p)).collect();
    let mut intervals = [0usize; 27];
    for pair in tops.windows(2) {
        let step = pair[1] - pair[0];
        let bin = (step.clamp(-MAX_INTERVAL - 1, MAX_INTERVAL + 1) + MAX_INTERVAL + 1) as usize;
        intervals[bin] += 1;
    }
    let mut seen = HashSet::new();
    let timed: Vec<_> = contents.iter().filter(|bar| !bar.is_empty()).collect();
    let repeated_bars = timed
        .iter()
        .filter(|bar| !seen.insert(bar.as_slice()))
        .count();
    let first = notes.iter().map(|n| n.start).min().unwrap_or(0);
    let last = notes.iter().map(|n| n.end()).max().unwrap_or(0);
    let lowest = notes.iter().map(|n| n.pitch).min().unwrap_or(0);
    let highest = notes.iter().map(|n| n.pitch).max().unwrap_or(0);
    Ok(TuneFigures {
        index,
        bars: check.bars.len(),
        body_chars: body_of(tune).chars().count(),
        interior_bars: interior,
        full_interior_bars: inner.iter().filter(|b| b.fit == BarFit::Full).count(),
        short_interior_bars: inner.iter().filter(|b| b.fit == BarFit::Short).count(),
        metered_interior_bars: inner
            .iter()
            .filter(|b| matches!(b.fit, BarFit::Full | BarFit::Short | BarFit::Long))
            .count(),
        parts: form.parts.iter().map(|p| p.bars).collect(),
        regular_form: form.regular,
        repeated_parts: form.parts.iter().filter(|p| p.repeated).count(),
        has_endings: form.parts.iter().any(|p| p.endings > 0),
        timed_bars: timed.len(),
        repeated_bars,
        notes: notes.len(),
        quarters: f64::from(last - first) / f64::from(tpq),
        pitch_range: highest - lowest,
        tonic,
        pitch_classes,
        intervals,
        durations,
        ends_on_tonic: ends_on_tonic(tune, &score),
    })
}

/// A distribution over named bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// The bins' names.
    pub labels: Vec<String>,
    /// Each bin's share (summing to 1; all 0 when nothing was counted).
    pub shares: Vec<f64>,
    /// How many things were counted.
    pub total: usize,
}

impl Distribution {
    /// The distribution of counts over bins named by `labels`.
    pub fn of_counts(labels: Vec<String>, counts: &[usize]) -> Distribution {
        let total: usize = counts.iter().sum();
        Distribution {
            labels,
            shares: counts.iter().map(|&c| ratio(c, total, 0.0)).collect(),
            total,
        }
    }

    /// Total variation distance, half the sum of the absolute differences of the shares (0 for
    /// two empty distributions, 1 when only one is empty); bins are matched by position.
    pub fn total_variation(&self, other: &Distribution) -> f64 {
        match (self.total, other.total) {
            (0, 0) => 0.0,
            (0, _) | (_, 0) => 1.0,
            _ => {
                0.5 * self
                    .shares
                    .iter()
                    .zip(&other.shares)
                    .map(|(a, b)| (a - b).abs())
                    .sum::<f64>()
            }
        }
    }

    /// The largest bins, as `label 45%, label 30%…`.
    pub fn summary(&self, bins: usize) -> String {
        if self.total == 0 {
            return "none".into();
        }
        let mut order: Vec<usize> = (0..self.shares.len()).collect();
        order.sort_by(|&a, &b| self.shares[b].total_cmp(&self.shares[a]).then(a.cmp(&b)));
        let shown: Vec<String> = order
            .iter()
            .take(bins)
            .filter(|&&i| self.shares[i] > 0.0)
            .map(|&i| format!("{} {:.0}%", self.labels[i], 100.0 * self.shares[i]))
            .collect();
        shown.join(", ")
    }
}

/// One statistic of a set: a mean or percentile over tunes, a share, or a distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Figure {
    /// A mean, percentile or count per tune.
    Mean(f64),
    /// A share between 0 and 1.
    Share(f64),
    /// A distribution over bins.
    Distribution(Distribution),
}

impl Figure {
    /// The figure as a number (`None` for a distribution).
    pub fn value(&self) -> Option<f64> {
        match self {
            Figure::Mean(v) | Figure::Share(v) => Some(*v),
            Figure::Distribution(_) => None,
        }
    }

    /// The figure as text.
    pub fn display(&self) -> String {
        match self {
            Figure::Mean(v) => format!("{v:.2}"),
            Figure::Share(v) => format!("{:.1}%", 100.0 * v),
            Figure::Distribution(d) => d.summary(4),
        }
    }
}

/// The statistics of a set of tunes (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneStatistics {
    /// Tunes given.
    pub tunes: usize,
    /// Tunes skipped because the reader refuses them or they have no notes.
    pub unreadable: usize,
    /// The figures of each tune read, in the order given.
    pub per_tune: Vec<TuneFigures>,
}

/// The nearest-rank percentile `p` (0..=1) of the values (0 when there are none).
fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// The mean of the values (0 when there are none).
pub(crate) fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// Labels `lo..=hi` as text.
pub(crate) fn labels(range: std::ops::RangeInclusive<i64>) -> Vec<String> {
    range.map(|i| i.to_string()).collect()
}

impl TuneStatistics {
    /// Reads every tune (in parallel) and keeps the figures of those the reader reads.
    pub fn of_tunes(tunes: &[impl AsRef<str> + Sync]) -> TuneStatistics {
        let per_tune: Vec<TuneFigures> = tunes
            .par_iter()
            .enumerate()
            .filter_map(|(i, t)| tune_figures(t.as_ref(), i).ok())
            .collect();
        TuneStatistics {
            tunes: tunes.len(),
            unreadable: tunes.len() - per_tune.len(),
            per_tune,
        }
    }

    /// Every statistic, by name, in a fixed order (the rows of [`TuneStatistics::compare`]).
    pub fn figures(&self) -> Vec<(&'static str, Figure)> {
        let t = &self.per_tune;
        let per_tune = |f: fn(&TuneFigures) -> f64| t.iter().map(f).collect::<Vec<f64>>();
        let sum = |f: fn(&TuneFigures) -> usize| t.iter().map(f).sum::<usize>();
        let tunes_where = |f: fn(&TuneFigures) -> bool| t.iter().filter(|x| f(x)).count();
        let bars = per_tune(|x| x.bars as f64);
        let chars = per_tune(|x| x.body_chars as f64);
        let mut part_counts = vec![0usize; MAX_PARTS_BIN];
        let bins = MAX_PART_LENGTH_BIN as usize + 2;
        let mut part_lengths = vec![0usize; bins];
        for x in t {
            part_counts[x.parts.len().clamp(1, MAX_PARTS_BIN) - 1] += 1;
            for part in &x.parts {
                let bin = match part {
                    Some(n) => (*n).clamp(1, MAX_PART_LENGTH_BIN + 1) as usize - 1,
                    None => bins - 1,
                };
                part_lengths[bin] += 1;
            }
        }
        let mut part_count_labels = labels(1..=MAX_PARTS_BIN as i64 - 1);
        part_count_labels.push(format!("{MAX_PARTS_BIN}+"));
        let mut length_labels = labels(1..=i64::from(MAX_PART_LENGTH_BIN));
        length_labels.extend([format!("{}+", MAX_PART_LENGTH_BIN + 1), "irregular".into()]);
        let with_tonic: Vec<&TuneFigures> = t.iter().filter(|x| x.tonic.is_some()).collect();
        let mut pitch_classes = [0usize; 12];
        for x in &with_tonic {
            for (total, n) in pitch_classes.iter_mut().zip(x.pitch_classes) {
                *total += n;
            }
        }
        let mut intervals = [0usize; 27];
        let mut durations = [0usize; 10];
        for x in t {
            intervals
                .iter_mut()
                .zip(x.intervals)
                .for_each(|(a, n)| *a += n);
            durations
                .iter_mut()
                .zip(x.durations)
                .for_each(|(a, n)| *a += n);
        }
        let mut interval_labels = vec![format!("<-{MAX_INTERVAL}")];
        interval_labels.extend(labels(-i64::from(MAX_INTERVAL)..=i64::from(MAX_INTERVAL)));
        interval_labels.push(format!(">{MAX_INTERVAL}"));
        let mut duration_labels: Vec<String> = DURATION_BINS
            .iter()
            .map(|&(n, d)| {
                if d == 1 {
                    n.to_string()
                } else {
                    format!("{n}/{d}")
                }
            })
            .collect();
        duration_labels.push("other".into());
        let on_tonic = with_tonic
            .iter()
            .filter(|x| x.ends_on_tonic == Some(true))
            .count();
        let parts_total = sum(|x| x.parts.len());
        vec![
            (
                "share of tunes read",
                Figure::Share(ratio(t.len(), self.tunes, 0.0)),
            ),
            ("length in bars (mean)", Figure::Mean(mean(&bars))),
            (
                "length in bars (90th percentile)",
                Figure::Mean(percentile(&bars, 0.9)),
            ),
            ("body characters (mean)", Figure::Mean(mean(&chars))),
            (
                "body characters (90th percentile)",
                Figure::Mean(percentile(&chars, 0.9)),
            ),
            (
                "share of full interior bars",
                Figure::Share(ratio(
                    sum(|x| x.full_interior_bars),
                    sum(|x| x.metered_interior_bars),
                    0.0,
                )),
            ),
            (
                "share of interior bars without a meter",
                Figure::Share(ratio(
                    sum(|x| x.interior_bars - x.metered_interior_bars.min(x.interior_bars)),
                    sum(|x| x.interior_bars),
                    0.0,
                )),
            ),
            (
                "short interior bars per tune (mean)",
                Figure::Mean(mean(&per_tune(|x| x.short_interior_bars as f64))),
            ),
            (
                "number of parts",
                Figure::Distribution(Distribution::of_counts(part_count_labels, &part_counts)),
            ),
            (
                "part lengths in bars",
                Figure::Distribution(Distribution::of_counts(length_labels, &part_lengths)),
            ),
            (
                "share of tunes with a regular form",
                Figure::Share(ratio(tunes_where(|x| x.regular_form), t.len(), 0.0)),
            ),
            (
                "share of parts repeated",
                Figure::Share(ratio(sum(|x| x.repeated_parts), parts_total, 0.0)),
            ),
            (
                "share of tunes with numbered endings",
                Figure::Share(ratio(tunes_where(|x| x.has_endings), t.len(), 0.0)),
            ),
            (
                "share of bars that repeat an earlier bar",
                Figure::Share(ratio(sum(|x| x.repeated_bars), sum(|x| x.timed_bars), 0.0)),
            ),
            (
                "notes per quarter (mean)",
                Figure::Mean(mean(&per_tune(TuneFigures::notes_per_quarter))),
            ),
            (
                "pitch range in semitones (mean)",
                Figure::Mean(mean(&per_tune(|x| f64::from(x.pitch_range)))),
            ),
            (
                "pitch classes above the tonic",
                Figure::Distribution(Distribution::of_counts(labels(0..=11), &pitch_classes)),
            ),
            (
                "melodic intervals in semitones",
                Figure::Distribution(Distribution::of_counts(interval_labels, &intervals)),
            ),
            (
                "note lengths in quarters",
                Figure::Distribution(Distribution::of_counts(duration_labels, &durations)),
            ),
            (
                "share of tunes ending on the tonic",
                Figure::Share(ratio(on_tonic, with_tonic.len(), 0.0)),
            ),
        ]
    }

    /// One statistic by name.
    pub fn figure(&self, name: &str) -> Option<Figure> {
        SetStatistics::figure(self, name)
    }

    /// `generated` set beside `held_out`, statistic by statistic.
    pub fn compare(generated: &TuneStatistics, held_out: &TuneStatistics) -> StatisticsComparison {
        StatisticsComparison::new(generated, held_out)
    }

    /// The statistics as rows of text (name, value).
    pub fn rows(&self) -> Vec<Vec<String>> {
        SetStatistics::rows(self)
    }

    /// An HTML table of the statistics.
    pub fn to_html(&self) -> String {
        SetStatistics::to_html(self)
    }
}

#[cfg(test)]
pub(crate) mod test_figures;
#[cfg(test)]
mod tests;

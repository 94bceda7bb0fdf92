//! Two sets side by side, statistic by statistic, with a distance for each: tunes
//! ([`TuneStatistics`]) or piano rolls ([`crate::metrics::RollStatistics`]), any set whose
//! statistics implement [`SetStatistics`].

use super::{Figure, TuneStatistics};
use crate::metrics::table::{figures_markdown, figures_table};
use serde::{Deserialize, Serialize};

/// How a row's distance is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DistanceKind {
    /// Total variation distance between two distributions (0 to 1).
    TotalVariation,
    /// `|generated − held-out| / |held-out|`.
    RelativeDifference,
    /// `|generated − held-out|`, where the held-out value is 0.
    AbsoluteDifference,
}

impl DistanceKind {
    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            DistanceKind::TotalVariation => "total variation",
            DistanceKind::RelativeDifference => "relative difference",
            DistanceKind::AbsoluteDifference => "absolute difference",
        }
    }
}

/// The statistics of a set, as [`StatisticsComparison`] reads them.
pub trait SetStatistics {
    /// What the set holds, in the plural (`"tunes"`, `"pieces"`), for the tables' header line.
    const ITEMS: &'static str;

    /// Items whose figures were taken, and items given.
    fn counted(&self) -> (usize, usize);

    /// Every statistic, by name, in a fixed order (the same names for every set of a kind).
    fn figures(&self) -> Vec<(&'static str, Figure)>;

    /// One statistic by name.
    fn figure(&self, name: &str) -> Option<Figure> {
        self.figures()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| f)
    }

    /// The statistics as rows of text (name, value), after the items read and given.
    fn rows(&self) -> Vec<Vec<String>> {
        let (read, given) = self.counted();
        let mut rows = vec![vec![
            format!("{} read / given", Self::ITEMS),
            format!("{read} / {given}"),
        ]];
        rows.extend(
            self.figures()
                .into_iter()
                .map(|(name, figure)| vec![name.to_string(), figure.display()]),
        );
        rows
    }

    /// An HTML table of the statistics.
    fn to_html(&self) -> String {
        figures_table(&["statistic", "value"], &self.rows()).0
    }
}

impl SetStatistics for TuneStatistics {
    const ITEMS: &'static str = "tunes";

    fn counted(&self) -> (usize, usize) {
        (self.per_tune.len(), self.tunes)
    }

    fn figures(&self) -> Vec<(&'static str, Figure)> {
        TuneStatistics::figures(self)
    }
}

/// One statistic of both sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRow {
    /// The statistic's name (as [`SetStatistics::figures`] names it).
    pub name: String,
    /// Its value for the generated tunes.
    pub generated: Figure,
    /// Its value for the held-out tunes.
    pub held_out: Figure,
    /// The distance between the two.
    pub distance: f64,
    /// How the distance is measured.
    pub kind: DistanceKind,
}

/// A generated set against a held-out set (see [`TuneStatistics::compare`] and
/// [`crate::metrics::RollStatistics::compare`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatisticsComparison {
    /// What the sets hold, in the plural ([`SetStatistics::ITEMS`]).
    pub items: String,
    /// Generated items read / given.
    pub generated_items: (usize, usize),
    /// Held-out items read / given.
    pub held_out_items: (usize, usize),
    /// One row per statistic.
    pub rows: Vec<ComparisonRow>,
}

/// The distance between two figures of the same statistic, and its kind.
fn distance(a: &Figure, b: &Figure) -> (f64, DistanceKind) {
    match (a, b) {
        (Figure::Distribution(p), Figure::Distribution(q)) => {
            (p.total_variation(q), DistanceKind::TotalVariation)
        }
        (Figure::Mean(x) | Figure::Share(x), Figure::Mean(y) | Figure::Share(y)) => {
            if *y == 0.0 {
                ((x - y).abs(), DistanceKind::AbsoluteDifference)
            } else {
                ((x - y).abs() / y.abs(), DistanceKind::RelativeDifference)
            }
        }
        // The two sets name their statistics alike, so kinds never differ; were they to,
        // the rows would be as far apart as can be.
        _ => (f64::INFINITY, DistanceKind::AbsoluteDifference),
    }
}

impl StatisticsComparison {
    /// Compares statistic by statistic (the rows of `generated`, matched by position).
    pub fn new<S: SetStatistics>(generated: &S, held_out: &S) -> StatisticsComparison {
        let rows = generated
            .figures()
            .into_iter()
            .zip(held_out.figures())
            .map(|((name, a), (_, b))| {
                let (distance, kind) = distance(&a, &b);
                ComparisonRow {
                    name: name.to_string(),
                    generated: a,
                    held_out: b,
                    distance,
                    kind,
                }
            })
            .collect();
        StatisticsComparison {
            items: S::ITEMS.to_string(),
            generated_items: generated.counted(),
            held_out_items: held_out.counted(),
            rows,
        }
    }

    /// The row of a statistic, by name (e.g. `"share of bars that repeat an earlier bar"`).
    pub fn row(&self, name: &str) -> Option<&ComparisonRow> {
        self.rows.iter().find(|r| r.name == name)
    }

    /// The rows whose distance is above `threshold`.
    pub fn above(&self, threshold: f64) -> Vec<&ComparisonRow> {
        self.rows
            .iter()
            .filter(|r| r.distance > threshold)
            .collect()
    }

    fn table_rows(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.generated.display(),
                    r.held_out.display(),
                    format!("{:.3}", r.distance),
                    r.kind.name().to_string(),
                ]
            })
            .collect()
    }

    const HEADERS: [&'static str; 5] = ["statistic", "generated", "held out", "distance", "kind"];

    /// The comparison as a Markdown table (for `docs/benchmarks.md`), with the items read.
    pub fn markdown(&self) -> String {
        let (g, gn) = self.generated_items;
        let (h, hn) = self.held_out_items;
        format!(
            "Generated: {g} of {gn} {} read; held out: {h} of {hn}.\n\n{}",
            self.items,
            figures_markdown(&Self::HEADERS, &self.table_rows())
        )
    }

    /// The comparison as an HTML table.
    pub fn to_html(&self) -> String {
        figures_table(&Self::HEADERS, &self.table_rows()).0
    }
}

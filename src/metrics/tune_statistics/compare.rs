//! Two sets of tunes side by side, statistic by statistic, with a distance for each.

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

/// One statistic of both sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonRow {
    /// The statistic's name (as [`TuneStatistics::figures`] names it).
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

/// Generated tunes against held-out tunes (see [`TuneStatistics::compare`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatisticsComparison {
    /// Generated tunes read / given.
    pub generated_tunes: (usize, usize),
    /// Held-out tunes read / given.
    pub held_out_tunes: (usize, usize),
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
    /// Compares statistic by statistic.
    pub fn new(generated: &TuneStatistics, held_out: &TuneStatistics) -> StatisticsComparison {
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
            generated_tunes: (generated.per_tune.len(), generated.tunes),
            held_out_tunes: (held_out.per_tune.len(), held_out.tunes),
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

    /// The comparison as a Markdown table (for `docs/benchmarks.md`), with the tunes read.
    pub fn markdown(&self) -> String {
        let (g, gn) = self.generated_tunes;
        let (h, hn) = self.held_out_tunes;
        format!(
            "Generated: {g} of {gn} tunes read; held out: {h} of {hn}.\n\n{}",
            figures_markdown(&Self::HEADERS, &self.table_rows())
        )
    }

    /// The comparison as an HTML table.
    pub fn to_html(&self) -> String {
        figures_table(&Self::HEADERS, &self.table_rows()).0
    }
}

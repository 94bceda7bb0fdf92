//! Measures of models and samples: bits per token, the shape of generated ABC, the fixed ABC
//! benchmark split ([`split`]), the loss of a whole stream ([`stream_nll`]), and sample quality
//! ([`quality`], built on [`tune_stats`] and [`copying`]), and the distances of neural audio from
//! its reference ([`audio`]); the statistics of a set of tunes held against held-out tunes
//! ([`tune_statistics`]), and of a set of piano rolls held against held-out pieces
//! ([`roll_statistics`]).

pub mod audio;
pub mod copying;
pub mod frame_nll;
pub mod oracle;
pub mod quality;
pub mod roll_statistics;
pub mod split;
pub mod stream_nll;
pub mod table;
pub mod tune_statistics;
pub mod tune_stats;

pub use audio::{audio_metrics, AudioMetrics};
pub use copying::{written_bars, CopiedRun, CopyIndex};
pub use frame_nll::{
    every_frame_nll, first_frames_nll, frame_nll, frame_nll_sum, roll_nll, silence_calibration,
    SilenceCalibration,
};
pub use quality::{quality_markdown, quality_table, sample_quality, SampleQuality, Summary};
pub use roll_statistics::{RollFigures, RollStatistics, RollStatisticsConfig};
pub use split::{fixed_split, part_of, HeldOutSplit, Part, SPLIT_VERSION};
pub use stream_nll::{sequences_nll, stream_nll, StreamNll};
pub use table::{figures_markdown, figures_table};
pub use tune_statistics::{
    classifier_features, distinguishability, distinguishability_over_draws, draws_report,
    Distinguishability, SetStatistics, StatisticsComparison, TuneFigures, TuneStatistics,
    FEATURES as CLASSIFIER_FEATURES,
};
pub use tune_stats::{tune_stats, TuneStats};

use crate::abc::tunebook::field_line;
use serde::{Deserialize, Serialize};

/// Converts a loss in nats per token to bits per token.
pub fn nats_to_bits(nats: f64) -> f64 {
    nats / std::f64::consts::LN_2
}

/// What a generated ABC tune has of the shape of a real one: header fields, bar lines and notes.
/// Only the shape: whether the tune is music (its bars add up, a reader parses it) is what
/// [`bars_add_up_share`], [`quality`] and [`oracle`] measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbcShape {
    /// A `M:` header line before the music.
    pub has_meter: bool,
    /// An `L:` header line before the music.
    pub has_unit: bool,
    /// A `K:` header line before the music.
    pub has_key: bool,
    /// Bar lines in the body.
    pub bars: usize,
    /// Note letters in the body.
    pub notes: usize,
}

impl AbcShape {
    /// Headers `M:`, `L:`, `K:` present and a body with notes and at least one bar line (the
    /// shape of a tune, not a check that its bars add up).
    pub fn has_headers_and_bars(&self) -> bool {
        self.has_meter && self.has_unit && self.has_key && self.bars > 0 && self.notes > 0
    }
}

/// Reads the header fields and counts bars and notes of an ABC tune's text.
pub fn abc_shape(text: &str) -> AbcShape {
    let mut shape = AbcShape {
        has_meter: false,
        has_unit: false,
        has_key: false,
        bars: 0,
        notes: 0,
    };
    let mut in_body = false;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match field_line(line) {
            Some((letter, _)) if !in_body => match letter {
                'M' => shape.has_meter = true,
                'L' => shape.has_unit = true,
                'K' => {
                    shape.has_key = true;
                    in_body = true;
                }
                _ => {}
            },
            Some(_) => {}
            None if in_body => {
                shape.bars += line.matches('|').count().min(line.split('|').count());
                shape.notes += line
                    .chars()
                    .filter(|c| matches!(c, 'A'..='G' | 'a'..='g'))
                    .count();
            }
            None => {}
        }
    }
    shape
}

/// Share of tunes with the shape of a tune: `M:`, `L:` and `K:` lines, notes and a bar line
/// ([`AbcShape::has_headers_and_bars`]). Not a measure of whether they are music: see
/// [`bars_add_up_share`].
pub fn abc_shape_share(tunes: &[String]) -> f64 {
    share(tunes, |t| abc_shape(t).has_headers_and_bars())
}

/// The old name of [`abc_shape_share`], which checks only the shape of a tune.
#[deprecated(
    note = "only checks the M:, L:, K: lines and a bar line: use abc_shape_share for that, or \
            bars_add_up_share for tunes whose bars add up"
)]
pub fn well_formed_share(tunes: &[String]) -> f64 {
    abc_shape_share(tunes)
}

/// Share of tunes that the crate's reader parses and whose every bar adds up to the meter
/// ([`crate::abc::to_score::bar_check`]: pick-ups and closing bars may be short). For a reader
/// independent of the crate, see [`oracle`].
pub fn bars_add_up_share(tunes: &[String]) -> f64 {
    share(tunes, |t| {
        crate::abc::abc_to_score(t).is_ok()
            && crate::abc::to_score::bar_check(t).is_ok_and(|c| c.adds_up())
    })
}

fn share(tunes: &[String], good: impl Fn(&str) -> bool) -> f64 {
    if tunes.is_empty() {
        return 0.0;
    }
    tunes.iter().filter(|t| good(t)).count() as f64 / tunes.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_a_well_formed_tune() {
        let shape = abc_shape("M:6/8\nL:1/8\nK:G\nGAB c2d|efg a3|]\n");
        assert!(shape.has_headers_and_bars());
        assert_eq!(shape.notes, 9);
        assert!(shape.bars >= 2);
    }

    #[test]
    fn missing_headers_or_bars_are_not_well_formed() {
        assert!(!abc_shape("M:6/8\nK:G\nGAB|\n").has_headers_and_bars());
        assert!(!abc_shape("M:6/8\nL:1/8\nK:G\nGAB\n").has_headers_and_bars());
        assert!(!abc_shape("GAB|c|\n").has_headers_and_bars());
        assert_eq!(
            abc_shape_share(&["M:1\nL:1\nK:C\nC|\n".into(), "x".into()]),
            0.5
        );
        // The shape is not the music: a bar of five quarters in 4/4 has the shape.
        let long_bar = "M:4/4\nL:1/4\nK:C\nCDEFG|CDEF|]\n".to_string();
        let good = "M:4/4\nL:1/4\nK:C\nCDEF|GABc|]\n".to_string();
        assert_eq!(abc_shape_share(&[long_bar.clone(), good.clone()]), 1.0);
        assert_eq!(bars_add_up_share(&[long_bar, good]), 0.5);
    }

    #[test]
    fn bits_from_nats() {
        assert!((nats_to_bits(std::f64::consts::LN_2) - 1.0).abs() < 1e-12);
    }
}

//! Measures of models and samples: bits per token, the shape of generated ABC, the fixed ABC
//! benchmark split ([`split`]), the loss of a whole stream ([`stream_nll`]), and sample quality
//! ([`quality`], built on [`tune_stats`] and [`copying`]), and the distances of neural audio from
//! its reference ([`audio`]).

pub mod audio;
pub mod copying;
pub mod frame_nll;
pub mod quality;
pub mod split;
pub mod stream_nll;
pub mod table;
pub mod tune_stats;

pub use audio::{audio_metrics, AudioMetrics};
pub use copying::{written_bars, CopiedRun, CopyIndex};
pub use frame_nll::{frame_nll, frame_nll_sum, roll_nll};
pub use quality::{quality_markdown, quality_table, sample_quality, SampleQuality, Summary};
pub use split::{fixed_split, part_of, HeldOutSplit, Part, SPLIT_VERSION};
pub use stream_nll::{sequences_nll, stream_nll, StreamNll};
pub use table::{figures_markdown, figures_table};
pub use tune_stats::{tune_stats, TuneStats};

use crate::abc::tunebook::field_line;
use serde::{Deserialize, Serialize};

/// Converts a loss in nats per token to bits per token.
pub fn nats_to_bits(nats: f64) -> f64 {
    nats / std::f64::consts::LN_2
}

/// What a generated ABC tune has of the shape of a real one.
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
    /// Headers `M:`, `L:`, `K:` present and a body with notes and at least one bar line.
    pub fn is_well_formed(&self) -> bool {
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

/// Share of tunes that are well formed (see [`AbcShape::is_well_formed`]).
pub fn well_formed_share(tunes: &[String]) -> f64 {
    if tunes.is_empty() {
        return 0.0;
    }
    let good = tunes
        .iter()
        .filter(|t| abc_shape(t).is_well_formed())
        .count();
    good as f64 / tunes.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_a_well_formed_tune() {
        let shape = abc_shape("M:6/8\nL:1/8\nK:G\nGAB c2d|efg a3|]\n");
        assert!(shape.is_well_formed());
        assert_eq!(shape.notes, 9);
        assert!(shape.bars >= 2);
    }

    #[test]
    fn missing_headers_or_bars_are_not_well_formed() {
        assert!(!abc_shape("M:6/8\nK:G\nGAB|\n").is_well_formed());
        assert!(!abc_shape("M:6/8\nL:1/8\nK:G\nGAB\n").is_well_formed());
        assert!(!abc_shape("GAB|c|\n").is_well_formed());
        assert_eq!(
            well_formed_share(&["M:1\nL:1\nK:C\nC|\n".into(), "x".into()]),
            0.5
        );
    }

    #[test]
    fn bits_from_nats() {
        assert!((nats_to_bits(std::f64::consts::LN_2) - 1.0).abs() < 1e-12);
    }
}

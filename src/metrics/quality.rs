//! Sample quality of a set of ABC tunes (generated ones, or the training data as the reference):
//! the share that the crate's ABC reader converts fully, the share whose bars add up to the meter,
//! the musical statistics of [`tune_stats`](super::tune_stats), and the longest run of bars copied
//! from a training tune; with [`with_music21`], the same questions answered by music21, a reader
//! independent of the crate's ([`super::oracle`]): the figures to trust when the crate's own
//! sampler wrote the tunes.

use super::copying::CopyIndex;
use super::oracle::{music21_quality_of, OracleQuality};
use super::tune_stats::{tune_stats, TuneStats};
use crate::abc::to_score::{abc_to_score_with, bar_check, AbcToScoreOptions};
use crate::render::Html;
use html_escape::encode_text as esc;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// What one tune gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneQuality {
    /// `abc_to_score` converted the whole tune without an error.
    pub parses: bool,
    /// It parses and every bar adds up to the meter (see [`bar_check`]).
    pub bars_add_up: bool,
    /// Statistics of its notes (when it parses and has notes).
    pub stats: Option<TuneStats>,
    /// Longest run of consecutive bars found in one training tune (when an index was given).
    pub copied_bars: Option<usize>,
}

/// Measures one tune; `copies` is the index of the training tunes, if copying is to be measured.
pub fn tune_quality(text: &str, copies: Option<&CopyIndex>) -> TuneQuality {
    let options = AbcToScoreOptions {
        expand_repeats: false,
        ..AbcToScoreOptions::default()
    };
    let score = abc_to_score_with(text, &options).ok();
    let parses = score.is_some();
    let bars_add_up = parses && bar_check(text).is_ok_and(|c| c.adds_up());
    TuneQuality {
        parses,
        bars_add_up,
        stats: score.as_ref().and_then(tune_stats),
        copied_bars: copies.map(|index| index.longest_copied_run(text).bars),
    }
}

/// Mean, standard deviation and extremes of one statistic over tunes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of values.
    pub n: usize,
    /// Their mean (NaN when there are none).
    pub mean: f64,
    /// Their population standard deviation (NaN when there are none).
    pub std: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
}

impl Summary {
    /// Summarises the values.
    pub fn of(values: &[f64]) -> Summary {
        let n = values.len();
        if n == 0 {
            return Summary {
                n,
                mean: f64::NAN,
                std: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        Summary {
            n,
            mean,
            std: var.sqrt(),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }

    /// `mean ± std`, with the given number of decimals.
    pub fn mean_std(&self, decimals: usize) -> String {
        if self.n == 0 {
            return "–".into();
        }
        format!("{:.d$} ± {:.d$}", self.mean, self.std, d = decimals)
    }
}

/// The quality of a set of tunes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleQuality {
    /// Number of tunes measured.
    pub tunes: usize,
    /// Share that `abc_to_score` converts without an error.
    pub parse_share: f64,
    /// Share that parse and whose bars all add up to the meter.
    pub bars_add_up_share: f64,
    /// Pitch-class entropy in bits, over tunes that parse and have notes.
    pub pitch_class_entropy: Summary,
    /// Best fit to a major/minor scale, over tunes that parse and have notes.
    pub scale_consistency: Summary,
    /// Pitch range in semitones, over tunes that parse and have notes.
    pub pitch_range: Summary,
    /// Notes per quarter note, over tunes that parse and have notes.
    pub note_density: Summary,
    /// Longest run of bars copied from one training tune, over all tunes (when measured).
    pub copied_bars: Option<Summary>,
    /// music21's reading of the same tunes (when measured, by [`with_music21`]).
    #[serde(default)]
    pub oracle: Option<OracleQuality>,
}

/// Adds music21's reading of `tunes` (the tunes `quality` measured) to it, with `python`.
pub fn with_music21<S: AsRef<str>>(
    mut quality: SampleQuality,
    tunes: &[S],
    python: &std::path::Path,
) -> anyhow::Result<SampleQuality> {
    quality.oracle = Some(music21_quality_of(python, tunes)?.summary());
    Ok(quality)
}

/// Measures every tune (in parallel) and summarises; `copies` as in [`tune_quality`].
pub fn sample_quality<S: AsRef<str> + Sync>(
    tunes: &[S],
    copies: Option<&CopyIndex>,
) -> SampleQuality {
    let each: Vec<TuneQuality> = tunes
        .par_iter()
        .map(|t| tune_quality(t.as_ref(), copies))
        .collect();
    summarise(&each)
}

/// Summarises measured tunes.
pub fn summarise(each: &[TuneQuality]) -> SampleQuality {
    let share = |f: fn(&TuneQuality) -> bool| {
        if each.is_empty() {
            0.0
        } else {
            each.iter().filter(|q| f(q)).count() as f64 / each.len() as f64
        }
    };
    let stats: Vec<&TuneStats> = each.iter().filter_map(|q| q.stats.as_ref()).collect();
    let of =
        |f: fn(&TuneStats) -> f64| Summary::of(&stats.iter().map(|s| f(s)).collect::<Vec<_>>());
    let copied: Vec<f64> = each
        .iter()
        .filter_map(|q| q.copied_bars.map(|b| b as f64))
        .collect();
    SampleQuality {
        tunes: each.len(),
        parse_share: share(|q| q.parses),
        bars_add_up_share: share(|q| q.bars_add_up),
        pitch_class_entropy: of(|s| s.pitch_class_entropy),
        scale_consistency: of(|s| s.scale_consistency),
        pitch_range: of(|s| f64::from(s.pitch_range)),
        note_density: of(|s| s.note_density),
        copied_bars: (!copied.is_empty()).then(|| Summary::of(&copied)),
        oracle: None,
    }
}

impl SampleQuality {
    /// The rows of a comparison table: (measure, formatted value); music21's rows first when
    /// `music21` is set (`–` where this set was not read by music21).
    pub fn rows_with(&self, music21: bool) -> Vec<(&'static str, String)> {
        let mut rows = Vec::new();
        if music21 {
            let o = self.oracle.as_ref();
            let share =
                |f: fn(&OracleQuality) -> f64| o.map_or("–".into(), |o| format!("{:.3}", f(o)));
            rows.push(("music21: parses (share)", share(|o| o.parse_share)));
            rows.push((
                "music21: every bar adds up (share)",
                share(|o| o.bars_add_up_share),
            ));
            rows.push((
                "music21: regular phrases, 4·n bars or repeats (share)",
                share(|o| o.regular_phrase_share),
            ));
            rows.push((
                "music21: pitch-class entropy (bits)",
                o.map_or("–".into(), |o| o.pitch_class_entropy.mean_std(2)),
            ));
            rows.push((
                "music21: scale consistency",
                o.map_or("–".into(), |o| o.scale_consistency.mean_std(3)),
            ));
        }
        rows.extend(self.rows());
        rows
    }

    /// The rows of a comparison table: (measure, formatted value), by the crate's own reader.
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let copied = self.copied_bars.map_or("–".to_string(), |c| {
            format!("{} (max {:.0})", c.mean_std(1), c.max)
        });
        vec![
            ("tunes", self.tunes.to_string()),
            ("parse fully (share)", format!("{:.3}", self.parse_share)),
            (
                "bars add up (share)",
                format!("{:.3}", self.bars_add_up_share),
            ),
            (
                "pitch-class entropy (bits)",
                self.pitch_class_entropy.mean_std(2),
            ),
            ("scale consistency", self.scale_consistency.mean_std(3)),
            ("pitch range (semitones)", self.pitch_range.mean_std(1)),
            (
                "note density (notes per quarter)",
                self.note_density.mean_std(2),
            ),
            ("longest copied run (bars)", copied),
        ]
    }
}

/// Side-by-side columns of named [`SampleQuality`]s as a Markdown table.
pub fn quality_markdown(columns: &[(&str, &SampleQuality)]) -> String {
    let music21 = columns.iter().any(|c| c.1.oracle.is_some());
    let mut out = String::from("| measure |");
    for (name, _) in columns {
        out.push_str(&format!(" {name} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(columns.len()));
    out.push('\n');
    let rows: Vec<Vec<(&str, String)>> = columns.iter().map(|c| c.1.rows_with(music21)).collect();
    for (i, (measure, _)) in rows.first().cloned().unwrap_or_default().iter().enumerate() {
        out.push_str(&format!("| {measure} |"));
        for row in &rows {
            out.push_str(&format!(" {} |", row[i].1));
        }
        out.push('\n');
    }
    out
}

/// Side-by-side columns of named [`SampleQuality`]s as an HTML table (shown inline in a notebook).
pub fn quality_table(columns: &[(&str, &SampleQuality)]) -> Html {
    let mut html = String::from("<table class=\"tunesmith-quality\"><thead><tr><th>measure</th>");
    for (name, _) in columns {
        html.push_str(&format!("<th>{}</th>", esc(name)));
    }
    html.push_str("</tr></thead><tbody>");
    let music21 = columns.iter().any(|c| c.1.oracle.is_some());
    let rows: Vec<Vec<(&str, String)>> = columns.iter().map(|c| c.1.rows_with(music21)).collect();
    for (i, (measure, _)) in rows.first().cloned().unwrap_or_default().iter().enumerate() {
        html.push_str(&format!("<tr><td>{}</td>", esc(measure)));
        for row in &rows {
            html.push_str(&format!("<td>{}</td>", esc(&row[i].1)));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    Html(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "M:4/4\nL:1/8\nK:C\nCDEF GABc|c2B2 A2G2|]\n";
    const BAD_BARS: &str = "M:4/4\nL:1/8\nK:C\nCDEF GABc|c2B2 A2|G2 F2 E2 D2|C8|]\n";
    const UNREADABLE: &str = "M:4/4\nL:1/8\nK:Q\nCDEF|\n";

    #[test]
    fn shares_of_parsing_and_adding_up() {
        let q = sample_quality(&[GOOD, BAD_BARS, UNREADABLE, GOOD], None);
        assert_eq!(q.tunes, 4);
        assert!((q.parse_share - 0.75).abs() < 1e-12);
        assert!((q.bars_add_up_share - 0.5).abs() < 1e-12);
        assert_eq!(q.pitch_range.n, 3);
        assert!(q.copied_bars.is_none());
    }

    #[test]
    fn statistics_of_a_known_tune() {
        let q = tune_quality(GOOD, None);
        assert!(q.parses && q.bars_add_up);
        let s = q.stats.unwrap();
        // C D E F G A B c c B A G: 12 notes over 8 quarters, range C4..C5.
        assert_eq!(s.notes, 12);
        assert_eq!(s.pitch_range, 12);
        assert!((s.note_density - 1.5).abs() < 1e-12);
        assert!((s.scale_consistency - 1.0).abs() < 1e-12);
    }

    #[test]
    fn copying_is_measured_against_the_index() {
        let index = CopyIndex::new([GOOD]);
        let q = sample_quality(&[GOOD, BAD_BARS], Some(&index));
        let copied = q.copied_bars.unwrap();
        // GOOD copies both of its bars; BAD_BARS shares only its first bar.
        assert_eq!((copied.max, copied.min), (2.0, 1.0));
    }

    #[test]
    fn summaries_and_tables() {
        let s = Summary::of(&[1.0, 3.0]);
        assert_eq!((s.mean, s.std, s.min, s.max), (2.0, 1.0, 1.0, 3.0));
        assert!(Summary::of(&[]).mean.is_nan());
        let q = sample_quality(&[GOOD], None);
        let md = quality_markdown(&[("generated", &q), ("training", &q)]);
        assert!(md.starts_with("| measure | generated | training |\n|---|---|---|\n"));
        assert!(md.contains("| bars add up (share) | 1.000 | 1.000 |"));
        let html = quality_table(&[("a<b", &q)]).0;
        assert!(html.contains("<th>a&lt;b</th>") && html.contains("<td>parse fully (share)</td>"));
        assert!(!md.contains("music21"));
        // With music21's reading in one column, its rows appear, with – where it is missing.
        let judged = SampleQuality {
            oracle: Some(OracleQuality {
                tunes: 1,
                parse_share: 1.0,
                bars_add_up_share: 0.5,
                regular_phrase_share: 0.25,
                pitch_class_entropy: Summary::of(&[2.0]),
                scale_consistency: Summary::of(&[1.0]),
            }),
            ..q.clone()
        };
        let md = quality_markdown(&[("generated", &judged), ("training", &q)]);
        assert!(
            md.contains("| music21: every bar adds up (share) | 0.500 | – |"),
            "{md}"
        );
    }
}

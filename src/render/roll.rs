//! Piano rolls drawn and described: the first frames as a picture, the shape and density as text.

use super::{piano_roll_svg, pitch_name, Svg};
use crate::encode::piano_roll::{PianoRoll, DISPLAY_FRAMES};
use anyhow::Result;

impl PianoRoll {
    /// The first [`DISPLAY_FRAMES`] frames drawn as a piano roll (pitch names on the y axis,
    /// beats on the x axis).
    pub fn to_svg(&self, title: &str) -> Result<Svg> {
        let shown = PianoRoll {
            config: self.config,
            frames: self.frames.iter().take(DISPLAY_FRAMES).cloned().collect(),
        };
        piano_roll_svg(&shown.to_score(), title)
    }

    /// The roll as HTML: shape, density and the drawing.
    pub fn to_html(&self) -> String {
        let (frames, pitches) = self.shape();
        let quarters = frames as f64 / f64::from(self.config.steps_per_quarter.max(1));
        let shown = if frames > DISPLAY_FRAMES {
            format!(" (first {DISPLAY_FRAMES} frames drawn)")
        } else {
            String::new()
        };
        let svg = self.to_svg("").map(|s| s.0).unwrap_or_else(|e| {
            format!(
                "<p>no drawing: {}</p>",
                html_escape::encode_text(&format!("{e:#}"))
            )
        });
        format!(
            "<div><b>Piano roll</b>: {frames} frames × {pitches} pitches ({}–{}), {} steps per quarter ({quarters:.1} quarter notes), density {:.2}% ({} of {} cells on){shown}{svg}</div>",
            pitch_name(i32::from(self.config.low_pitch)),
            pitch_name(i32::from(self.config.high_pitch())),
            self.config.steps_per_quarter,
            100.0 * self.density(),
            self.on_cells(),
            frames * pitches,
        )
    }
}

//! Listening to and looking at music in notebooks: rendering a [`Score`](crate::score::Score)
//! to audio ([`render_score`]) with a SoundFont or a built-in synth, audio players
//! ([`Audio::to_html`], compressed for notebooks by [`preview`]), SVG piano rolls and heatmaps
//! ([`piano_roll_svg`], [`heatmap_svg`]), loss curves, sheet music engraved by Verovio
//! ([`engrave_abc`], [`sheet_music_html`]), and the HTML fragments every display is made of
//! ([`html`]). The notebook layer shows them inline.

/// The audio buffer, kept under this name too (it lives in [`crate::audio`]).
pub use crate::audio::wave as audio;
pub mod engrave;
pub mod grand_staff;
pub mod html;
pub mod listen;
pub mod loss;
pub mod neural;
pub mod plot;
pub mod preview;
pub mod roll;
pub mod spectrogram;
/// The score synthesizers, kept under this name too (they live in [`crate::audio`]).
pub use crate::audio::synth;

#[cfg(test)]
mod tests;

pub use crate::audio::Audio;
pub use engrave::{engrave_abc, engrave_score, sheet_music_html};
pub use grand_staff::{engrave_grand_staff, split_hands, HandSplit};
pub use html::{classed_table, pre, table, Html, Svg, ToHtml};
pub use listen::{listen, listen_abc, listen_midi};
pub use loss::{loss_curve_svg, loss_curves_svg};
pub use plot::{bar_ticks, heatmap_svg, piano_roll_svg, pitch_name};
pub use synth::{
    find_soundfont, pitch_to_hz, render_score, render_score_builtin, render_score_soundfont,
    RenderOptions, SOUNDFONT_ENV,
};

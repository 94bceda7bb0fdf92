//! One-call players: a Score, a MIDI file or an ABC tune rendered to [`Audio`] with the default
//! synthesizer choice (a SoundFont when one is found, else the built-in synth).

use super::{render_score, Audio, RenderOptions};
use crate::score::Score;
use anyhow::{Context, Result};
use std::path::Path;

/// Renders a score with default options (44.1 kHz, SoundFont when available).
pub fn listen(score: &Score) -> Result<Audio> {
    render_score(score, &RenderOptions::default())
}

/// Reads a MIDI file and renders it; errors name the file.
pub fn listen_midi(path: &Path) -> Result<Audio> {
    let score = crate::midi::read_midi_file(path)?;
    listen(&score).with_context(|| format!("rendering {}", path.display()))
}

/// Converts one ABC tune (header and body) to a score and renders it.
pub fn listen_abc(tune: &str) -> Result<Audio> {
    let score = crate::abc::abc_to_score(tune).context("converting the ABC tune")?;
    listen(&score)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_abc_tune_becomes_audio_of_the_right_length() -> Result<()> {
        // Four quarter notes at 120 BPM: two seconds of music plus the release tail.
        let audio = listen_abc("X:1\nM:4/4\nL:1/4\nQ:1/4=120\nK:C\nCDEF|\n")?;
        assert!(
            audio.duration_seconds() >= 2.0,
            "{}",
            audio.duration_seconds()
        );
        assert!(audio.peak() > 0.1);
        Ok(())
    }

    #[test]
    fn a_missing_midi_file_is_named_in_the_error() {
        let err = listen_midi(Path::new("/no/such/file.mid")).expect_err("missing file");
        assert!(format!("{err:#}").contains("/no/such/file.mid"));
    }
}

//! The polyphonic-music datasets of Boulanger-Lewandowski, Bengio and Vincent (ICML 2012) as JSON:
//! `{"train": [piece, ...], "valid": [...], "test": [...]}`, a piece a list of frames, a frame a
//! list of the MIDI pitches (21..=108) sounding at that step.

use anyhow::{bail, ensure, Context, Result};
use serde::Deserialize;
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// Lowest pitch of the benchmark's keyboard (A0).
pub const LOW_PITCH: u8 = 21;
/// Number of pitches per frame (A0..C8).
pub const NUM_PITCHES: usize = 88;

/// One piece: for each frame, the MIDI pitches sounding in it.
pub type Piece = Vec<Vec<u8>>;

/// A dataset's three splits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolyDataset {
    /// The file's name without `.json` (e.g. `JSB_Chorales`).
    pub name: String,
    /// Pieces to train on.
    pub train: Vec<Piece>,
    /// Pieces to choose hyper-parameters and the stopping epoch by.
    pub valid: Vec<Piece>,
    /// Pieces reported on.
    pub test: Vec<Piece>,
}

#[derive(Deserialize)]
struct RawDataset {
    train: Vec<Vec<Vec<f64>>>,
    valid: Vec<Vec<Vec<f64>>>,
    test: Vec<Vec<Vec<f64>>>,
}

impl PolyDataset {
    /// Reads a dataset from its JSON file.
    ///
    /// # Errors
    /// A missing or unreadable file, text that is not the expected JSON, or a pitch outside
    /// 21..=108 (each error names the file, and the split, piece and frame where it applies).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the benchmark file {}", path.display()))?;
        let raw: RawDataset = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a polyphonic benchmark file ({{\"train\": [[[pitch, ...], ...], ...], \"valid\": ..., \"test\": ...}})",
                path.display()
            )
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let convert = |split: &str, pieces: Vec<Vec<Vec<f64>>>| -> Result<Vec<Piece>> {
            pieces
                .into_iter()
                .enumerate()
                .map(|(i, piece)| {
                    piece
                        .into_iter()
                        .enumerate()
                        .map(|(t, frame)| {
                            frame
                                .into_iter()
                                .map(|p| {
                                    let ok = p.fract() == 0.0
                                        && (f64::from(LOW_PITCH)..(f64::from(LOW_PITCH) + NUM_PITCHES as f64)).contains(&p);
                                    if !ok {
                                        bail!(
                                            "{}: {split} piece {i} frame {t} has pitch {p}, outside {}..={}",
                                            path.display(),
                                            LOW_PITCH,
                                            usize::from(LOW_PITCH) + NUM_PITCHES - 1
                                        );
                                    }
                                    Ok(p as u8)
                                })
                                .collect()
                        })
                        .collect()
                })
                .collect()
        };
        let data = PolyDataset {
            name,
            train: convert("train", raw.train)?,
            valid: convert("valid", raw.valid)?,
            test: convert("test", raw.test)?,
        };
        ensure!(
            !data.train.is_empty() && !data.valid.is_empty() && !data.test.is_empty(),
            "{}: a split is empty (train {}, valid {}, test {} pieces)",
            path.display(),
            data.train.len(),
            data.valid.len(),
            data.test.len()
        );
        Ok(data)
    }

    /// Frames in each split (train, valid, test).
    pub fn frame_counts(&self) -> (usize, usize, usize) {
        let count = |s: &[Piece]| s.iter().map(Vec::len).sum();
        (count(&self.train), count(&self.valid), count(&self.test))
    }
}

/// A piece as a `[frames, 88]` Float tensor of 0s and 1s on `device`.
pub fn piece_tensor(piece: &Piece, device: Device) -> Tensor {
    let mut cells = vec![0f32; piece.len() * NUM_PITCHES];
    for (t, frame) in piece.iter().enumerate() {
        for &p in frame {
            cells[t * NUM_PITCHES + usize::from(p - LOW_PITCH)] = 1.0;
        }
    }
    Tensor::from_slice(&cells)
        .view([piece.len() as i64, NUM_PITCHES as i64])
        .to_kind(Kind::Float)
        .to_device(device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(text.as_bytes()).expect("write");
        f
    }

    #[test]
    fn reads_a_small_file_and_makes_tensors() -> Result<()> {
        let f = write(r#"{"train":[[[60,64],[],[108]]],"valid":[[[21]]],"test":[[[60.0],[62]]]}"#);
        let data = PolyDataset::load(f.path())?;
        assert_eq!(data.train[0], vec![vec![60, 64], vec![], vec![108]]);
        assert_eq!(data.frame_counts(), (3, 1, 2));
        let t = piece_tensor(&data.train[0], Device::Cpu);
        assert_eq!(t.size(), vec![3, 88]);
        assert_eq!(t.sum(Kind::Float).double_value(&[]), 3.0);
        assert_eq!(t.double_value(&[0, 39]), 1.0);
        assert_eq!(t.double_value(&[2, 87]), 1.0);
        Ok(())
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let missing = PolyDataset::load("/nonexistent/JSB.json").unwrap_err();
        assert!(format!("{missing:#}").contains("/nonexistent/JSB.json"));
        let bad = write("{\"train\": [");
        let err = format!("{:#}", PolyDataset::load(bad.path()).unwrap_err());
        assert!(
            err.contains(&bad.path().display().to_string()) && err.contains("not a polyphonic"),
            "{err}"
        );
        let range = write(r#"{"train":[[[60]]],"valid":[[[20]]],"test":[[[60]]]}"#);
        let err = format!("{:#}", PolyDataset::load(range.path()).unwrap_err());
        assert!(err.contains("valid piece 0 frame 0 has pitch 20"), "{err}");
        let empty = write(r#"{"train":[],"valid":[[[60]]],"test":[[[60]]]}"#);
        assert!(PolyDataset::load(empty.path()).is_err());
    }
}

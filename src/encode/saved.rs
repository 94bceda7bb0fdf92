//! The JSON envelope every saved encoding uses: what it is, its format version and the crate
//! version that wrote it, around the encoding's own data.
//!
//! ```json
//! { "kind": "tunesmith.note_vocab", "format": 1, "tunesmith_version": "0.1.0", "data": { ... } }
//! ```

use anyhow::{bail, Context, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The crate version written into every saved file.
pub const CRATE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A saved encoding: kind, versions and data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// What the file holds, e.g. `tunesmith.note_vocab`.
    pub kind: String,
    /// Format version of `data`; loading refuses versions newer than the reader knows.
    pub format: u32,
    /// Version of tunesmith that wrote the file.
    pub tunesmith_version: String,
    /// The encoding itself.
    pub data: T,
}

/// Serialises `data` wrapped in an [`Envelope`] as pretty JSON text.
pub fn to_json<T: Serialize>(kind: &str, format: u32, data: &T) -> Result<String> {
    let envelope = Envelope {
        kind: kind.to_string(),
        format,
        tunesmith_version: CRATE_VERSION.to_string(),
        data,
    };
    serde_json::to_string_pretty(&envelope).with_context(|| format!("cannot serialise {kind}"))
}

/// Reads JSON text written by [`to_json`], checking the kind and that the format is at most
/// `format` (the newest this crate writes).
pub fn from_json<T: DeserializeOwned>(json: &str, kind: &str, format: u32) -> Result<T> {
    // Read the header first, so that a file of another kind or a newer format gets that message
    // rather than a field error from the data.
    #[derive(Deserialize)]
    struct Header {
        kind: String,
        format: u32,
        #[serde(default)]
        tunesmith_version: String,
    }
    let header: Header =
        serde_json::from_str(json).with_context(|| format!("not a saved {kind} (bad JSON)"))?;
    if header.kind != kind {
        bail!("holds a {}, not a {kind}", header.kind);
    }
    if header.format > format {
        bail!(
            "{kind} format {} (written by tunesmith {}) is newer than this tunesmith {CRATE_VERSION} understands ({format})",
            header.format,
            header.tunesmith_version
        );
    }
    let envelope: Envelope<T> =
        serde_json::from_str(json).with_context(|| format!("bad {kind} data"))?;
    Ok(envelope.data)
}

/// Saves `data` as an enveloped JSON file, atomically.
pub fn save<T: Serialize>(path: &Path, kind: &str, format: u32, data: &T) -> Result<()> {
    let json = to_json(kind, format, data)?;
    crate::fsutil::write_atomic(path, json.as_bytes())
        .with_context(|| format!("cannot save {kind} to {}", path.display()))
}

/// Loads an enveloped JSON file saved with [`save`]; every error names the file.
pub fn load<T: DeserializeOwned>(path: &Path, kind: &str, format: u32) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {kind} file {}", path.display()))?;
    from_json(&text, kind, format).with_context(|| format!("bad {kind} file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_records_versions() -> Result<()> {
        let json = to_json("tunesmith.test", 2, &vec![1u32, 2, 3])?;
        let value: serde_json::Value = serde_json::from_str(&json)?;
        assert_eq!(value["format"], 2);
        assert_eq!(value["tunesmith_version"], CRATE_VERSION);
        let back: Vec<u32> = from_json(&json, "tunesmith.test", 2)?;
        assert_eq!(back, [1, 2, 3]);
        Ok(())
    }

    #[test]
    fn other_kinds_newer_formats_and_garbage_are_refused() -> Result<()> {
        let json = to_json("tunesmith.a", 3, &1u8)?;
        let err = format!(
            "{:#}",
            from_json::<u8>(&json, "tunesmith.b", 3).unwrap_err()
        );
        assert!(err.contains("not a tunesmith.b"), "{err}");
        let err = format!(
            "{:#}",
            from_json::<u8>(&json, "tunesmith.a", 2).unwrap_err()
        );
        assert!(err.contains("newer"), "{err}");
        assert!(from_json::<u8>("{", "tunesmith.a", 3).is_err());
        let wrong_data = to_json("tunesmith.a", 1, &"text")?;
        assert!(from_json::<u8>(&wrong_data, "tunesmith.a", 1).is_err());
        Ok(())
    }

    #[test]
    fn load_errors_name_the_file() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("broken-encoding.json");
        std::fs::write(&path, "{ nope")?;
        let err = format!("{:#}", load::<u8>(&path, "tunesmith.a", 1).unwrap_err());
        assert!(err.contains("broken-encoding.json"), "{err}");
        let missing = dir.path().join("missing.json");
        let err = format!("{:#}", load::<u8>(&missing, "tunesmith.a", 1).unwrap_err());
        assert!(err.contains("missing.json"), "{err}");
        Ok(())
    }
}

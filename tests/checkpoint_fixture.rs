//! Compatibility: the checkpoint committed in `tests/fixtures/checkpoint-v1/` (written by
//! `examples/make_checkpoint_fixture.rs`) loads and generates in this and every later version.
//! Damaged copies of it (truncated, wrong shape, newer format, a pickle, garbage) are refused
//! with an error naming the file.

use anyhow::Result;
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};
use tunesmith::checkpoint::save::digest;
use tunesmith::checkpoint::{open_for_generation, tensors, Checkpoint};
use tunesmith::generate::{sample_text, SampleConfig};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checkpoint-v1")
}

fn checkpoint() -> PathBuf {
    fixture().join("epoch-0008")
}

/// A copy of the fixture checkpoint to damage.
fn copy() -> Result<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir()?;
    let target = dir.path().join("epoch-0008");
    std::fs::create_dir(&target)?;
    for file in ["weights.safetensors", "optimizer.safetensors", "meta.json"] {
        std::fs::copy(checkpoint().join(file), target.join(file))?;
    }
    Ok((dir, target))
}

fn error_of(dir: &Path) -> String {
    match Checkpoint::load(dir).and_then(|c| c.model(Device::Cpu).map(|_| ())) {
        Ok(()) => "loaded".into(),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn the_v1_fixture_loads_and_generates_its_recorded_sample() -> Result<()> {
    let (model, vocab, meta) = open_for_generation(&checkpoint(), Device::Cpu)?;
    assert_eq!(meta.format_version, 1);
    assert_eq!(meta.progress.epoch, 8);
    assert_eq!(model.parameter_count(), meta.model.parameters);
    let sampling = SampleConfig {
        top_k: 1,
        max_len: 60,
        ..SampleConfig::default()
    };
    let expected = std::fs::read_to_string(fixture().join("expected-sample.txt"))?;
    assert_eq!(sample_text(&model, &vocab, &sampling)?, expected);
    // The whole training state loads too, and the run folder finds the checkpoint by itself.
    let full = Checkpoint::load(&checkpoint())?;
    assert_eq!(
        full.optimizer.map(|o| o.len()),
        Some(2 * full.weights.len())
    );
    let (_, _, by_run) = open_for_generation(&fixture(), Device::Cpu)?;
    assert_eq!(by_run.name, "epoch-0008");
    Ok(())
}

#[test]
fn a_truncated_file_is_refused_naming_it() -> Result<()> {
    let (_dir, ckpt) = copy()?;
    let path = ckpt.join("optimizer.safetensors");
    let bytes = std::fs::read(&path)?;
    std::fs::write(&path, &bytes[..bytes.len() - 100])?;
    let err = error_of(&ckpt);
    assert!(
        err.contains("optimizer.safetensors") && err.contains("truncated"),
        "{err}"
    );
    Ok(())
}

#[test]
fn a_wrong_shape_tensor_is_refused_naming_it() -> Result<()> {
    let (_dir, ckpt) = copy()?;
    let path = ckpt.join("weights.safetensors");
    let mut weights = tensors::from_bytes(&std::fs::read(&path)?)?;
    for (name, t) in &mut weights {
        if name == "head.bias" {
            *t = Tensor::zeros([3], (Kind::Float, Device::Cpu));
        }
    }
    let bytes = tensors::to_bytes(&weights, &[])?;
    std::fs::write(&path, &bytes)?;
    // Keep meta.json's checksum in step, so only the shape is wrong.
    let meta_path = ckpt.join("meta.json");
    let mut meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&meta_path)?)?;
    meta["files"]["weights.safetensors"] = serde_json::to_value(digest(&bytes))?;
    std::fs::write(&meta_path, serde_json::to_string(&meta)?)?;
    let err = error_of(&ckpt);
    assert!(
        err.contains("weights.safetensors") && err.contains("head.bias has shape [3]"),
        "{err}"
    );
    Ok(())
}

#[test]
fn a_newer_format_version_is_refused_naming_the_file() -> Result<()> {
    let (_dir, ckpt) = copy()?;
    let meta_path = ckpt.join("meta.json");
    let text = std::fs::read_to_string(&meta_path)?;
    std::fs::write(
        &meta_path,
        text.replace("\"format_version\": 1", "\"format_version\": 2"),
    )?;
    let err = error_of(&ckpt);
    assert!(
        err.contains("meta.json") && err.contains("format version 2 is newer"),
        "{err}"
    );
    Ok(())
}

#[test]
fn a_pickle_or_garbage_in_place_of_a_checkpoint_file_is_refused() -> Result<()> {
    // What `pickle.dumps(os.system)` and `torch.save` would leave: never unpickled, only named.
    let pickle: &[u8] =
        b"\x80\x04\x95\x15\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94.";
    let cases: [(&str, &[u8], &str); 5] = [
        ("weights.safetensors", pickle, "Python pickle"),
        (
            "optimizer.safetensors",
            b"PK\x03\x04archive/data.pkl",
            "zip archive",
        ),
        (
            "weights.safetensors",
            b"\x00garbage that is not a tensor file",
            "not a safetensors file",
        ),
        ("meta.json", pickle, "Python pickle"),
        (
            "meta.json",
            b"{\"format\": \"tunesmith-checkpoint\", \"format_version\": 1}",
            "does not match checkpoint format",
        ),
    ];
    for (file, bytes, expected) in cases {
        let (_dir, ckpt) = copy()?;
        std::fs::write(ckpt.join(file), bytes)?;
        let err = error_of(&ckpt);
        assert!(
            err.contains(file) && err.contains(expected),
            "{file}: {err}"
        );
        let generation = open_for_generation(&ckpt, Device::Cpu);
        if file != "optimizer.safetensors" {
            assert!(generation.is_err(), "{file}");
        }
    }
    Ok(())
}

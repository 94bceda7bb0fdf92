//! Compatibility: the checkpoints committed in `tests/fixtures/` load and generate in this and
//! every later version: `checkpoint-v1/` (tunesmith 0.1's character model) and one checkpoint of
//! each model kind in `checkpoint-v2/` (written by `examples/make_checkpoint_fixtures.rs`), each
//! giving the greedy piece it recorded, in the library and through `tunesmith generate` (the
//! waveform model, `ddsp-audio`, the waveform it recorded for its tune; the binary refuses to
//! write notes with it, naming the way to render audio instead, and `tunesmith render` plays a
//! tune with it into a WAV file). Damaged
//! copies (truncated, wrong shape, newer format, a pickle, garbage) are refused with an error
//! naming the file.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use tch::{Device, Kind, Tensor};
use tunesmith::checkpoint::save::digest;
use tunesmith::checkpoint::{tensors, Checkpoint};
use tunesmith::generate::{open_for_generation, Length, Primer, SampleConfig};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checkpoint-v1")
}

fn checkpoint() -> PathBuf {
    fixture().join("epoch-0008")
}

/// A copy of the fixture checkpoint to damage or to add files to.
fn copy() -> Result<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir()?;
    let target = dir.path().join("epoch-0008");
    std::fs::create_dir(&target)?;
    for file in ["weights.safetensors", "optimizer.safetensors", "meta.json"] {
        std::fs::copy(checkpoint().join(file), target.join(file))?;
    }
    Ok((dir, target))
}

/// Asserts that loading the checkpoint in `dir` (its training state and its model) is refused
/// with an error that names `file` and says `reason`.
fn assert_refused(dir: &Path, file: &str, reason: &str) {
    let err = match Checkpoint::load(dir).and_then(|c| c.model(Device::Cpu).map(|_| ())) {
        Ok(()) => "loaded".into(),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains(file) && err.contains(reason),
        "{file} ({reason}): {err}"
    );
}

#[test]
fn the_v1_fixture_loads_and_generates_its_recorded_sample() -> Result<()> {
    let generator = open_for_generation(&checkpoint(), Device::Cpu)?;
    let meta = generator.meta.clone().context("opened from a checkpoint")?;
    assert_eq!(meta.format_version, 1);
    assert_eq!(meta.progress.epoch, 8);
    assert_eq!(meta.model.architecture, "lstm_lm");
    assert_eq!(generator.model.parameter_count(), meta.model.parameters);
    // Greedy, from the primer "M:", until the blank line (at most 60 characters): what tunesmith
    // 0.1 recorded with top-k 1 (before the ABC constraint existed, so without it).
    let sampling = SampleConfig {
        temperature: 0.0,
        length: Length::End,
        max_steps: 60,
        abc_constraints: false,
        ..SampleConfig::default()
    };
    let expected = std::fs::read_to_string(fixture().join("expected-sample.txt"))?;
    let piece = generator.generate(&Primer::abc("M:"), &sampling)?;
    assert_eq!(piece.abc, Some(format!("{}\n", expected.trim_end())));
    // The whole training state loads too, and the run folder finds the checkpoint by itself.
    let full = Checkpoint::load(&checkpoint())?;
    assert_eq!(
        full.optimizer.map(|o| o.len()),
        Some(2 * full.weights.len())
    );
    let by_run = open_for_generation(&fixture(), Device::Cpu)?;
    assert_eq!(by_run.meta.map(|m| m.name), Some("epoch-0008".into()));
    Ok(())
}

/// The current format's fixtures, one folder per model kind.
fn v2_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checkpoint-v2")
}

fn v2_fixtures() -> Result<Vec<PathBuf>> {
    let root = v2_root();
    let mut runs: Vec<PathBuf> = std::fs::read_dir(&root)
        .with_context(|| format!("{}", root.display()))?
        .map(|e| Ok(e?.path()))
        .collect::<Result<_>>()?;
    runs.sort();
    Ok(runs)
}

fn recorded_primer(value: &serde_json::Value) -> Result<Primer> {
    Ok(match value {
        serde_json::Value::Object(map) if map.contains_key("abc") => {
            Primer::abc(map["abc"].as_str().unwrap_or_default())
        }
        serde_json::Value::Object(map) if map.contains_key("ids") => {
            Primer::ids(serde_json::from_value(map["ids"].clone())?)
        }
        serde_json::Value::Object(map) if map.contains_key("frames") => {
            Primer::roll(tunesmith::encode::PianoRoll::from_frames(
                serde_json::from_value(map["frames"].clone())?,
                serde_json::from_value(map["config"].clone())?,
            ))
        }
        _ => Primer::none(),
    })
}

/// The waveform a neural-synthesizer fixture renders for its tune is the one it recorded.
fn check_recorded_audio(
    generator: &tunesmith::generate::Generator,
    expected: &serde_json::Value,
    sampling: &SampleConfig,
) -> Result<()> {
    let score = tunesmith::abc::abc_to_score(expected["abc"].as_str().context("abc")?)?;
    let rendered = generator.render(&score, sampling)?;
    assert_eq!(
        Some(rendered.samples.len() as u64),
        expected["samples"].as_u64()
    );
    let stride = expected["stride"].as_u64().context("stride")? as usize;
    let recorded: Vec<f32> = serde_json::from_value(expected["every_stride"].clone())?;
    let ours: Vec<f32> = rendered.samples.iter().step_by(stride).copied().collect();
    assert_eq!(ours.len(), recorded.len());
    let loudest = recorded.iter().fold(0f32, |m, x| m.max(x.abs()));
    assert!(
        loudest > 1e-3,
        "the recorded waveform is not silent ({loudest})"
    );
    let worst = ours
        .iter()
        .zip(&recorded)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        worst <= 1e-6,
        "rendering differs from the recording by {worst}"
    );
    Ok(())
}

#[test]
fn a_fixture_of_every_model_kind_loads_and_gives_its_recorded_piece() -> Result<()> {
    let runs = v2_fixtures()?;
    let kinds: Vec<String> = runs
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(
        kinds,
        [
            "ddsp-audio",
            "frame_lstm-piano_roll",
            "lstm_lm-chars",
            "lstm_lm-events",
            "pitch_lstm-piano_roll",
            "window_lstm-notes"
        ]
    );
    for run in runs {
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("expected.json"))?)?;
        let generator = open_for_generation(&run, Device::Cpu)?;
        let meta = generator.meta.clone().context("from a checkpoint")?;
        assert_eq!(meta.format_version, 2);
        let name = run.file_name().map(|n| n.to_string_lossy().into_owned());
        assert_eq!(
            name,
            Some(format!(
                "{}-{}",
                meta.model.architecture,
                meta.encoding.kind()
            ))
        );
        let mut sampling: SampleConfig = serde_json::from_value(expected["sampling"].clone())?;
        if meta.encoding.kind() == "audio" {
            check_recorded_audio(&generator, &expected, &sampling)?;
            continue;
        }
        // Recorded before the ABC constraint, the copy memory and the drawn header existed (the
        // sampler is otherwise the same).
        sampling.abc_constraints = false;
        sampling.copy_memory = tunesmith::model::CopyMemory::off();
        sampling.header = tunesmith::generate::Header::Model;
        let piece = generator.generate(&recorded_primer(&expected["primer"])?, &sampling)?;
        assert_eq!(
            serde_json::to_value(&piece.ids)?,
            expected["ids"],
            "{}",
            run.display()
        );
        assert_eq!(serde_json::to_value(&piece.abc)?, expected["abc"]);
        let frames = piece.roll.as_ref().map(|r| r.frames.clone());
        assert_eq!(serde_json::to_value(&frames)?, expected["frames"]);
        assert!(
            piece.note_count() > 0,
            "{}: the piece has notes",
            run.display()
        );
        // Its whole training state loads as well.
        let full = Checkpoint::load(&tunesmith::checkpoint::resolve_checkpoint(&run)?)?;
        assert!(full.optimizer.is_some());
    }
    Ok(())
}

#[test]
fn the_binary_generates_abc_or_midi_from_every_fixture() -> Result<()> {
    let mut runs = v2_fixtures()?;
    runs.push(fixture());
    for run in runs {
        let out = tempfile::tempdir()?;
        let output = Command::new(env!("CARGO_BIN_EXE_tunesmith"))
            .args([
                "generate",
                "--count",
                "2",
                "--temperature",
                "0.8",
                "--seed",
                "3",
            ])
            .args(["--max-steps", "80", "--checkpoint"])
            .arg(&run)
            .arg("--out")
            .arg(out.path())
            .env_remove("LD_LIBRARY_PATH")
            .output()?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if run.ends_with("ddsp-audio") {
            // A neural synthesizer makes audio, not notes: refused, saying so.
            assert!(!output.status.success());
            assert!(stderr.contains("makes audio, not notes"), "{stderr}");
            continue;
        }
        assert!(output.status.success(), "{}: {stderr}", run.display());
        let mut files: Vec<PathBuf> = std::fs::read_dir(out.path())?
            .map(|e| Ok(e?.path()))
            .collect::<Result<_>>()?;
        files.sort();
        assert_eq!(files.len(), 2, "{}", run.display());
        let chars = run.ends_with("lstm_lm-chars") || run == fixture();
        for file in files {
            let extension = file.extension().and_then(|e| e.to_str());
            if chars {
                assert_eq!(extension, Some("abc"));
                let text = std::fs::read_to_string(&file)?;
                assert!(text.starts_with("X:1\nT:piece_00"), "{text}");
            } else {
                assert_eq!(extension, Some("mid"));
                tunesmith::midi::read_midi_file(&file)?;
            }
        }
    }
    Ok(())
}

/// `tunesmith generate`'s `--max-steps` defaults to the model folder's own `sampling.json`, as
/// its other sampling flags do, and the flag still wins.
#[test]
fn the_binary_takes_the_step_cap_from_the_model_unless_told() -> Result<()> {
    let (dir, model) = copy()?;
    std::fs::write(model.join("sampling.json"), r#"{"max_steps": 30}"#)?;
    // The new steps of each piece, from the lines the binary prints.
    let steps = |flags: &[&str]| -> Result<Vec<usize>> {
        let out = dir.path().join(format!("out{}", flags.len()));
        let output = Command::new(env!("CARGO_BIN_EXE_tunesmith"))
            .args(["generate", "--count", "4", "--seed", "1", "--checkpoint"])
            .arg(&model)
            .arg("--out")
            .arg(&out)
            .args(flags)
            .env_remove("LD_LIBRARY_PATH")
            .output()?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
            .lines()
            .map(|line| {
                let count = line
                    .split_once("  (")
                    .and_then(|(_, rest)| rest.split_once(" new steps"))
                    .with_context(|| format!("no step count in {line:?}"))?
                    .0;
                Ok(count.parse()?)
            })
            .collect()
    };
    let own = steps(&[])?;
    assert_eq!(own.len(), 4);
    assert!(own.iter().all(|&n| n <= 30), "the model's cap: {own:?}");
    assert!(
        own.contains(&30),
        "some piece runs to the model's cap: {own:?}"
    );
    let told = steps(&["--max-steps", "45"])?;
    assert!(told.iter().all(|&n| n <= 45), "{told:?}");
    assert!(told.iter().any(|&n| n > 30), "the flag wins: {told:?}");
    Ok(())
}

#[test]
fn the_binary_renders_a_tune_to_wav_with_the_neural_synthesizer_fixture() -> Result<()> {
    let run = v2_root().join("ddsp-audio");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("expected.json"))?)?;
    let out = tempfile::tempdir()?;
    let tune = out.path().join("tune.abc");
    std::fs::write(&tune, expected["abc"].as_str().context("abc")?)?;
    let render = |checkpoint: &Path, score: &Path, wav: &Path| -> Result<std::process::Output> {
        Ok(Command::new(env!("CARGO_BIN_EXE_tunesmith"))
            .arg("render")
            .arg("--checkpoint")
            .arg(checkpoint)
            .arg("--score")
            .arg(score)
            .arg("--out")
            .arg(wav)
            .args(["--temperature", "0"])
            .env_remove("LD_LIBRARY_PATH")
            .output()?)
    };
    let wav = out.path().join("tune.wav");
    let output = render(&run, &tune, &wav)?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reader = hound::WavReader::open(&wav)?;
    let spec = reader.spec();
    assert_eq!((spec.channels, spec.bits_per_sample), (1, 16));
    assert_eq!(Some(u64::from(reader.len())), expected["samples"].as_u64());
    let samples: Vec<i16> = reader.into_samples::<i16>().collect::<Result<_, _>>()?;
    assert!(
        samples.iter().any(|s| s.unsigned_abs() > 30),
        "the rendering is not silent"
    );
    // A note model's checkpoint writes notes, not audio; a score that is not a score is named.
    let notes_model = v2_root().join("window_lstm-notes");
    let refused = render(&notes_model, &tune, &out.path().join("no.wav"))?;
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("writes notes, not audio"), "{stderr}");
    let text = out.path().join("notes.txt");
    std::fs::write(&text, "not a score")?;
    let refused = render(&run, &text, &out.path().join("no.wav"))?;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("notes.txt"),
        "{stderr}"
    );
    assert!(
        !out.path().join("no.wav").exists(),
        "nothing written on a refusal"
    );
    Ok(())
}

#[test]
fn a_truncated_file_is_refused_naming_it() -> Result<()> {
    let (_dir, ckpt) = copy()?;
    let path = ckpt.join("optimizer.safetensors");
    let bytes = std::fs::read(&path)?;
    std::fs::write(&path, &bytes[..bytes.len() - 100])?;
    assert_refused(&ckpt, "optimizer.safetensors", "truncated");
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
    assert_refused(&ckpt, "weights.safetensors", "head.bias has shape [3]");
    Ok(())
}

#[test]
fn a_newer_format_version_is_refused_naming_the_file() -> Result<()> {
    let (_dir, ckpt) = copy()?;
    let meta_path = ckpt.join("meta.json");
    let text = std::fs::read_to_string(&meta_path)?;
    std::fs::write(
        &meta_path,
        text.replace("\"format_version\": 1", "\"format_version\": 3"),
    )?;
    assert_refused(&ckpt, "meta.json", "format version 3 is newer");
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
        assert_refused(&ckpt, file, expected);
        let generation = open_for_generation(&ckpt, Device::Cpu);
        if file != "optimizer.safetensors" {
            assert!(generation.is_err(), "{file}");
        }
    }
    Ok(())
}

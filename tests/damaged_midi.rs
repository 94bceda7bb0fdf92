//! Damaged MIDI files give clear errors naming the file, never panics; a corpus skips and reports
//! them while loading the good files.

use std::fs;
use std::path::{Path, PathBuf};

use tunesmith::midi::{
    load_midi_corpus, read_midi_bytes, read_midi_file, score_to_midi_bytes, synthetic_score,
    write_damaged_midi_fixtures, write_midi_file, DAMAGED_MIDI_FIXTURES,
};

#[test]
fn at_least_ten_kinds_of_damage_are_covered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = write_damaged_midi_fixtures(dir.path()).expect("fixtures written");
    assert!(paths.len() >= 10, "only {} fixtures", paths.len());
    let mut kinds: Vec<_> = DAMAGED_MIDI_FIXTURES.iter().map(|(_, r)| *r).collect();
    kinds.sort();
    kinds.dedup();
    assert!(kinds.len() >= 8, "reasons: {kinds:?}");
}

#[test]
fn each_damaged_file_gives_a_clear_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = write_damaged_midi_fixtures(dir.path()).expect("fixtures written");
    for (path, (name, reason)) in paths.iter().zip(DAMAGED_MIDI_FIXTURES) {
        assert_eq!(path.file_name().and_then(|n| n.to_str()), Some(name));
        let message = format!("{:#}", read_midi_file(path).expect_err(name));
        assert!(
            message.contains(&path.display().to_string()),
            "{name}: {message}"
        );
        assert!(
            message.contains(reason),
            "{name}: expected {reason:?} in {message}"
        );
        // The same bytes from memory fail for the same reason.
        let bytes = fs::read(path).expect("readable fixture");
        let message = format!("{:#}", read_midi_bytes(&bytes).expect_err(name));
        assert!(message.starts_with(reason), "{name}: {message}");
    }
}

#[test]
fn missing_file_error_names_it() {
    let path = Path::new("/definitely/not/here/song.mid");
    let message = format!("{:#}", read_midi_file(path).expect_err("missing"));
    assert!(
        message.contains("/definitely/not/here/song.mid"),
        "{message}"
    );
}

#[test]
fn every_truncation_fails_and_byte_flips_never_panic() {
    let good = score_to_midi_bytes(&synthetic_score(5, 20)).expect("encodable");
    for len in 0..good.len() {
        assert!(
            read_midi_bytes(&good[..len]).is_err(),
            "cut at {len} is noticed"
        );
    }
    for i in 0..good.len() {
        for flip in [0x01u8, 0x80, 0xFF] {
            let mut bytes = good.clone();
            bytes[i] ^= flip;
            if let Ok(score) = read_midi_bytes(&bytes) {
                assert!(score
                    .tracks
                    .iter()
                    .all(|t| t.notes.iter().all(|n| n.duration > 0)));
            }
        }
    }
}

/// Writes good files in nested folders with mixed extension case; returns their paths.
fn write_good_files(root: &Path) -> Vec<PathBuf> {
    let names = ["a.mid", "b.MID", "sub/c.midi", "sub/deeper/d.Midi", "z.mid"];
    names
        .iter()
        .enumerate()
        .map(|(seed, name)| {
            let path = root.join(name);
            fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
            write_midi_file(&synthetic_score(seed as u64, 40), &path).expect("written");
            path
        })
        .collect()
}

#[test]
fn corpus_loads_good_files_and_reports_each_bad_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = write_good_files(dir.path());
    let broken_dir = dir.path().join("broken");
    fs::create_dir(&broken_dir).expect("mkdir");
    let broken = write_damaged_midi_fixtures(&broken_dir).expect("fixtures");
    fs::write(dir.path().join("notes.txt"), b"not MIDI, not looked at").expect("write");
    fs::write(dir.path().join("song.mid.bak"), b"ignored too").expect("write");

    let corpus = load_midi_corpus(dir.path()).expect("folder exists");

    let mut expected_good = good.clone();
    expected_good.sort();
    let read_paths: Vec<_> = corpus.scores.iter().map(|(p, _)| p.clone()).collect();
    assert_eq!(read_paths, expected_good, "good files, sorted by path");
    for (path, score) in &corpus.scores {
        let seed = good.iter().position(|g| g == path).expect("a good file") as u64;
        assert_eq!(score, &synthetic_score(seed, 40), "{}", path.display());
    }

    let report = &corpus.report;
    assert_eq!(report.files, good.len() + broken.len());
    assert_eq!(report.read, good.len());
    assert_eq!(report.skipped.len(), broken.len());
    for (path, (name, reason)) in broken.iter().zip(DAMAGED_MIDI_FIXTURES) {
        let skip = report
            .skipped
            .iter()
            .find(|s| &s.path == path)
            .unwrap_or_else(|| panic!("{name} not reported"));
        assert!(skip.reason.starts_with(reason), "{name}: {}", skip.reason);
        assert!(skip.item.is_empty());
    }
    let grouped: usize = report.reasons().iter().map(|(_, count)| count).sum();
    assert_eq!(grouped, broken.len());
    let summary = report.to_string();
    assert!(summary.starts_with(&format!(
        "{} files, {} read, {} skipped",
        report.files,
        report.read,
        broken.len()
    )));
    let json = serde_json::to_string(report).expect("serializable");
    assert!(json.contains("truncated file"));
}

#[test]
fn corpus_load_is_deterministic() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_good_files(dir.path());
    write_damaged_midi_fixtures(dir.path()).expect("fixtures");
    let first = load_midi_corpus(dir.path()).expect("loads");
    let second = load_midi_corpus(dir.path()).expect("loads");
    assert_eq!(first, second);
}

#[test]
fn empty_folder_gives_an_empty_corpus() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = load_midi_corpus(dir.path()).expect("loads");
    assert!(corpus.scores.is_empty());
    assert_eq!(corpus.report.files, 0);
}

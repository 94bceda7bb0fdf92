//! An ABC corpus written out as a MIDI corpus: each tune through
//! [`abc_to_score`] to its own `.mid` file, tunes that cannot be
//! converted skipped with their reason. (It uses both file formats, so it lives here above them,
//! not in `midi`: `abc` and `midi` import neither each other nor the corpora.)

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rayon::prelude::*;

use crate::abc::{abc_to_score, CleanOptions, CleanTune, Tune};
use crate::report::LoadReport;

/// An ABC tune in any of the forms the crate holds tunes in.
pub trait AbcSource {
    /// The tune as ABC text, header (with `K:`) then body.
    fn abc_text(&self) -> String;
    /// The title, for the file name (may be empty).
    fn abc_title(&self) -> String;
    /// Where the tune came from, for the report: the file and which tune in it.
    fn abc_origin(&self) -> (PathBuf, String);
}

impl AbcSource for Tune {
    fn abc_text(&self) -> String {
        self.to_abc()
    }
    fn abc_title(&self) -> String {
        self.title().to_string()
    }
    fn abc_origin(&self) -> (PathBuf, String) {
        (
            self.source.clone(),
            format!("line {} (X:{})", self.line, self.field('X').unwrap_or("?")),
        )
    }
}

impl AbcSource for CleanTune {
    fn abc_text(&self) -> String {
        self.to_abc_file_text(1)
    }
    fn abc_title(&self) -> String {
        self.title.clone()
    }
    fn abc_origin(&self) -> (PathBuf, String) {
        (PathBuf::new(), self.label.clone())
    }
}

impl AbcSource for String {
    fn abc_text(&self) -> String {
        self.clone()
    }
    fn abc_title(&self) -> String {
        self.as_str().abc_title()
    }
    fn abc_origin(&self) -> (PathBuf, String) {
        self.as_str().abc_origin()
    }
}

impl AbcSource for &str {
    fn abc_text(&self) -> String {
        self.to_string()
    }
    fn abc_title(&self) -> String {
        self.lines()
            .find_map(|l| l.strip_prefix("T:"))
            .unwrap_or("")
            .trim()
            .to_string()
    }
    fn abc_origin(&self) -> (PathBuf, String) {
        let x = self
            .lines()
            .find_map(|l| l.strip_prefix("X:"))
            .unwrap_or("?")
            .trim();
        (PathBuf::new(), format!("X:{x}"))
    }
}

/// A file-name-safe form of a title: lower-case ASCII letters and digits joined by `-`, at most
/// 40 characters, `untitled` when nothing is left.
fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 40 {
            break;
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "untitled".into()
    } else {
        out.to_string()
    }
}

/// Converts one tune and writes it to `path`; the error is the reason it is skipped.
fn write_one(tune: &impl AbcSource, path: &Path) -> Result<(), String> {
    let score = abc_to_score(&tune.abc_text()).map_err(|e| format!("cannot convert ABC: {e:#}"))?;
    if score.note_count() == 0 {
        return Err("no notes: the tune has only rests or nothing".into());
    }
    crate::midi::write_midi_file(&score, path).map_err(|e| format!("cannot write MIDI: {e:#}"))
}

/// Writes up to `limit` tunes as MIDI files into `dir` (created if needed), named
/// `NNNNN-title.mid` after each tune's position in `tunes`, converting in parallel.
///
/// Tunes are tried in order until `limit` files are written or the tunes run out; a tune that
/// fails to convert, has no notes or cannot be written is skipped with its reason. The report
/// counts the tunes tried (`files`), the files written (`read`) and each skip. Existing files of
/// the same names are replaced; others in `dir` are left alone.
///
/// # Errors
/// Only when `dir` cannot be created.
pub fn write_midi_corpus_from_abc<T: AbcSource + Sync>(
    tunes: &[T],
    dir: &Path,
    limit: usize,
) -> Result<LoadReport> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create MIDI corpus folder {}", dir.display()))?;
    let mut report = LoadReport::default();
    let mut next = 0;
    while report.read < limit && next < tunes.len() {
        let end = (next + limit - report.read).min(tunes.len());
        let results: Vec<Result<(), String>> = tunes[next..end]
            .par_iter()
            .enumerate()
            .map(|(i, tune)| {
                let name = format!("{:05}-{}.mid", next + i, slug(&tune.abc_title()));
                write_one(tune, &dir.join(name))
            })
            .collect();
        for (tune, result) in tunes[next..end].iter().zip(results) {
            report.files += 1;
            match result {
                Ok(()) => report.read += 1,
                Err(reason) => {
                    let (path, item) = tune.abc_origin();
                    report.skip(path, item, reason);
                }
            }
        }
        next = end;
    }
    Ok(report)
}

/// Writes up to `limit` tunes of the default ABC corpus (music21's collections, see
/// [`load_default_abc_corpus`](crate::corpus::load_default_abc_corpus)) as MIDI files into `dir`.
/// The report includes the tunes skipped while reading the ABC files.
///
/// # Errors
/// The ABC corpus cannot be found, or `dir` cannot be created.
pub fn write_default_midi_corpus(dir: &Path, limit: usize) -> Result<LoadReport> {
    let corpus = super::load_default_abc_corpus(&CleanOptions::default())?;
    let mut report = write_midi_corpus_from_abc(&corpus.tunes, dir, limit)?;
    report.skipped.extend(corpus.report.skipped);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "X:1\nT:Scale & Chord\nL:1/4\nK:G\nGABc|[GBd]2z2|]\n";
    const SECOND: &str = "X:2\nT:Second\nL:1/8\nK:D\nd2f2a4|]\n";
    const NO_KEY: &str = "X:3\nT:Broken\nCDE|\n";
    const SILENT: &str = "X:4\nT:Silent\nK:C\nz4|]\n";

    #[test]
    fn tunes_become_midi_files_and_bad_ones_are_skipped() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let tunes = [GOOD, NO_KEY, SILENT, SECOND];
        let report = write_midi_corpus_from_abc(&tunes, dir.path(), 100)?;
        assert_eq!((report.files, report.read, report.skipped.len()), (4, 2, 2));
        assert_eq!(report.skipped[0].item, "X:3");
        assert!(
            report.skipped[0].reason.starts_with("cannot convert ABC"),
            "{report}"
        );
        assert!(report.skipped[1].reason.starts_with("no notes"), "{report}");

        let corpus = crate::midi::load_midi_corpus(dir.path())?;
        let names: Vec<String> = corpus
            .scores
            .iter()
            .filter_map(|(p, _)| p.file_name()?.to_str().map(String::from))
            .collect();
        assert_eq!(names, ["00000-scale-chord.mid", "00003-second.mid"]);
        let expected = abc_to_score(GOOD)?;
        let notes = |s: &crate::score::Score| -> Vec<(u8, u32, u32)> {
            s.tracks
                .iter()
                .flat_map(|t| &t.notes)
                .map(|n| (n.pitch, n.start, n.duration))
                .collect()
        };
        assert_eq!(notes(&corpus.scores[0].1), notes(&expected));
        Ok(())
    }

    #[test]
    fn the_limit_counts_files_written() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let tunes = vec![NO_KEY.to_string(), GOOD.to_string(), SECOND.to_string()];
        let report = write_midi_corpus_from_abc(&tunes, dir.path(), 1)?;
        assert_eq!((report.files, report.read), (2, 1));
        assert_eq!(std::fs::read_dir(dir.path())?.count(), 1);
        let none = write_midi_corpus_from_abc(&tunes, &dir.path().join("empty"), 0)?;
        assert_eq!((none.files, none.read), (0, 0));
        Ok(())
    }

    #[test]
    fn parsed_tunes_and_clean_tunes_convert_too() -> Result<()> {
        let tunes: Vec<Tune> = crate::abc::split_tunebook(GOOD, Path::new("book.abc"))
            .into_iter()
            .collect::<Result<_>>()?;
        let dir = tempfile::tempdir()?;
        assert_eq!(write_midi_corpus_from_abc(&tunes, dir.path(), 5)?.read, 1);
        let clean: Vec<CleanTune> = tunes
            .iter()
            .map(|t| crate::abc::clean_tune(t, &CleanOptions::default()))
            .collect::<Result<_>>()?;
        assert_eq!(write_midi_corpus_from_abc(&clean, dir.path(), 5)?.read, 1);
        Ok(())
    }

    #[test]
    fn an_uncreatable_folder_is_an_error_naming_it() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("plain-file");
        std::fs::write(&file, b"x")?;
        let err = write_midi_corpus_from_abc(&[GOOD], &file.join("sub"), 1).unwrap_err();
        assert!(err.to_string().contains("plain-file"), "{err}");
        Ok(())
    }

    #[test]
    fn slugs_are_safe_file_names() {
        assert_eq!(slug("The Lark's Nest / Jig"), "the-lark-s-nest-jig");
        assert_eq!(slug("  ??  "), "untitled");
        assert!(slug(&"a".repeat(100)).len() <= 40);
    }
}

//! Sheet music: ABC tunes (and, through MIDI, any [`Score`]) engraved as SVG by
//! [Verovio](https://www.verovio.org/), the engraver of the music-encoding community, which the
//! `verovio` package on PyPI ships with Python bindings.
//!
//! tunesmith does not engrave anything itself: it runs a small script with the Python of the
//! project's environment (`.venv/`, where `make setup` installs `verovio`), hands it the ABC text
//! on standard input and reads the SVG back. When no Python with `verovio` is found,
//! [`sheet_music_html`] returns a short note that says how to get one, so displays still show
//! everything else.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use super::grand_staff::{engrave_grand_staff, wants_grand_staff, HandSplit};
use super::Svg;
use crate::score::Score;

/// Environment variable naming the Python interpreter to engrave with (one whose environment has
/// the `verovio` package). When set, it is used as is, so a wrong path gives an error naming it.
pub const ENGRAVER_PYTHON_ENV: &str = "TUNESMITH_ENGRAVER_PYTHON";

/// What to tell a person who has no engraver.
pub const ENGRAVER_HINT: &str = "install Verovio into the Python environment tunesmith uses \
     (`make setup` does: it puts `verovio` in .venv/), or `pip install verovio` and set \
     TUNESMITH_ENGRAVER_PYTHON to that Python";

/// The error when no engraver is installed: displays turn it into [`ENGRAVER_HINT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoEngraver;

impl std::fmt::Display for NoEngraver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no engraver found: {ENGRAVER_HINT}")
    }
}

impl std::error::Error for NoEngraver {}

/// The script the engraver's Python runs. Arguments: the input kind (`abc` or `midi`) and the
/// Verovio options as JSON; the input on standard input; page 1 as SVG on standard output.
const ENGRAVE_PY: &str = r#"
import json, sys
import verovio
kind, options = sys.argv[1], json.loads(sys.argv[2])
data = sys.stdin.buffer.read()
if kind in ("midi", "piano"):
    # Verovio reads no MIDI: music21 (already in tunesmith's environment for the ABC corpus)
    # quantizes the MIDI file and writes it as MusicXML, which Verovio reads. A Score has no key,
    # so music21's key finding picks the signature the notes are spelled in. "piano": the file's
    # two tracks are the right and left hands, on treble and bass staves joined by a brace.
    import music21
    from music21.musicxml.m21ToXml import GeneralObjectExporter
    stream = music21.converter.parse(data, format="midi")
    sharps = stream.analyze("key").sharps
    parts = list(stream.parts)
    for index, part in enumerate(parts):
        for old in list(part.recurse().getElementsByClass(music21.key.KeySignature)):
            old.activeSite.remove(old)
        first = part.getElementsByClass(music21.stream.Measure).first()
        (first or part).insert(0, music21.key.KeySignature(sharps))
        if kind == "piano" and index < 2:
            for old in list(part.recurse().getElementsByClass(music21.clef.Clef)):
                old.activeSite.remove(old)
            clef = music21.clef.TrebleClef() if index == 0 else music21.clef.BassClef()
            (first or part).insert(0, clef)
        for inst in part.recurse().getElementsByClass(music21.instrument.Instrument):
            inst.partName = inst.partAbbreviation = None
    if kind == "piano":
        stream.insert(0, music21.layout.StaffGroup(parts[:2], symbol="brace", barTogether=True))
    text = GeneralObjectExporter(stream).parse().decode("utf-8")
else:
    text = data.decode("utf-8")
    options["inputFrom"] = "abc"
verovio.enableLog(verovio.LOG_OFF)
tk = verovio.toolkit()
tk.setOptions(options)
if not tk.loadData(text):
    sys.exit("Verovio could not read the " + kind + " input")
pages = tk.getPageCount()
if pages < 1:
    sys.exit("Verovio engraved no page")
sys.stdout.write(tk.renderToSVG(1))
"#;

/// Verovio options: about 840 pixels wide, one tall page (whose height is cut to the music),
/// no header or footer, and each note's pitch name, octave and note value (and each chord's note
/// value) written on its SVG element (`data-pname`, `data-oct`, `data-dur`) so tests and scripts
/// can read the notes back.
fn verovio_options() -> serde_json::Value {
    serde_json::json!({
        "pageWidth": 2100,
        "pageHeight": 60000,
        "adjustPageHeight": true,
        "scale": 40,
        "header": "none",
        "footer": "none",
        "breaks": "auto",
        "svgAdditionalAttribute": ["note@pname", "note@oct", "note@dur", "chord@dur"],
    })
}

/// Finds a Python that can engrave: `$TUNESMITH_ENGRAVER_PYTHON` when set, else the `python` of
/// the first virtual environment that has the `verovio` package, looking at `$VIRTUAL_ENV`,
/// then `.venv` in the current folder or any parent, then `$TUNESMITH_ROOT/.venv`.
pub fn find_engraver() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(ENGRAVER_PYTHON_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let mut venvs: Vec<PathBuf> = std::env::var_os("VIRTUAL_ENV")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Ok(cwd) = std::env::current_dir() {
        venvs.extend(cwd.ancestors().map(|a| a.join(".venv")));
    }
    if let Some(root) = std::env::var_os("TUNESMITH_ROOT") {
        venvs.push(PathBuf::from(root).join(".venv"));
    }
    venvs.iter().find_map(|v| python_with_verovio(v))
}

/// The venv's `bin/python` when its `site-packages` holds `verovio`.
fn python_with_verovio(venv: &Path) -> Option<PathBuf> {
    let python = venv.join("bin/python");
    let has_verovio = std::fs::read_dir(venv.join("lib"))
        .ok()?
        .filter_map(|e| e.ok())
        .any(|e| e.path().join("site-packages/verovio").is_dir());
    (has_verovio && python.exists()).then_some(python)
}

/// Runs the engraving script on `input` of `kind` (`abc`, `midi`, or `piano`: a MIDI file whose
/// first two tracks are the right and left hands).
pub(super) fn run_engraver(kind: &str, input: &[u8]) -> Result<Svg> {
    let python = find_engraver().ok_or(NoEngraver)?;
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(ENGRAVE_PY)
        .arg(kind)
        .arg(verovio_options().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start the engraver {}", python.display()))?;
    // Write on another thread, so a child that fails early (and stops reading) cannot leave this
    // one blocked on a full pipe.
    let mut stdin = child
        .stdin
        .take()
        .context("the engraver's standard input")?;
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child
        .wait_with_output()
        .with_context(|| format!("running the engraver {}", python.display()))?;
    // A write error means the child stopped reading: its exit status below says why.
    let _ = writer.join();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        bail!(
            "the engraver ({} with verovio) failed ({}): {last}",
            python.display(),
            out.status
        );
    }
    let svg = String::from_utf8(out.stdout).context("the engraver's SVG is not UTF-8")?;
    anyhow::ensure!(
        svg.trim_start().starts_with("<svg"),
        "the engraver wrote no SVG"
    );
    Ok(Svg(svg))
}

/// Engraves one ABC tune (header fields and music) as sheet music: the SVG of its first page
/// (a page holds far more than a tune). A tune without an `X:` line gets `X:1`, as Verovio wants.
/// Every note is a `<g class="note">` with its pitch in `data-pname` (`c`…`b`) and `data-oct`.
///
/// # Errors
/// When no engraver is installed (see [`find_engraver`]) or Verovio cannot read the tune.
pub fn engrave_abc(abc: &str) -> Result<Svg> {
    let abc = with_reference_number(abc);
    run_engraver("abc", abc.as_bytes()).context("engraving an ABC tune")
}

/// Engraves a [`Score`] as sheet music. A score whose pitched notes sound together (chords, a
/// held note under moving ones, several parts) goes on a grand staff, its notes shared between
/// the hands chord by chord ([`engrave_grand_staff`] with [`HandSplit::PerChord`]). A melody is
/// written as ABC by [`crate::abc::score_to_abc`] (quantised to a sixteenth grid, bars by the
/// meter, the key estimated from the notes) and engraved from that; a melody the ABC writer
/// refuses goes through MIDI instead (music21 reads it and writes MusicXML for Verovio).
///
/// # Errors
/// When no engraver is installed, or no route gives notation.
pub fn engrave_score(score: &Score) -> Result<Svg> {
    if wants_grand_staff(score) {
        return engrave_grand_staff(score, HandSplit::PerChord).context("engraving a score");
    }
    match crate::abc::score_to_abc(score, &crate::abc::ScoreToAbcOptions::default()) {
        Ok(abc) => engrave_abc(&abc).context("engraving a score"),
        Err(_) => {
            let midi =
                crate::midi::score_to_midi_bytes(score).context("writing the score as MIDI")?;
            run_engraver("midi", &midi).context("engraving a score")
        }
    }
}

/// Puts `X:1` in front of a tune that does not start with a reference number.
fn with_reference_number(abc: &str) -> String {
    let starts_with_x = abc
        .lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.trim_start().starts_with("X:"));
    if starts_with_x {
        abc.to_string()
    } else {
        format!("X:1\n{abc}")
    }
}

/// An engraving (or, when there is none, a short reason) as an HTML fragment for displays.
fn sheet_html(result: Result<Svg>) -> String {
    match result {
        Ok(svg) => format!("<div class=\"tunesmith-sheet\">{svg}</div>"),
        Err(e) if e.downcast_ref::<NoEngraver>().is_some() => format!(
            "<p class=\"tunesmith-sheet-missing\">No sheet music: {}.</p>",
            html_escape::encode_text(ENGRAVER_HINT)
        ),
        Err(e) => format!(
            "<p class=\"tunesmith-sheet-error\">No sheet music: {}</p>",
            html_escape::encode_text(&format!("{e:#}"))
        ),
    }
}

/// The tune's sheet music as an HTML fragment (`<div class="tunesmith-sheet"><svg…></div>`), for
/// displays. When no engraver is installed it is a short note saying how to get one; when Verovio
/// cannot read the tune, a note saying why. Never fails, so a display always shows the rest.
pub fn sheet_music_html(abc: &str) -> String {
    sheet_html(engrave_abc(abc))
}

/// The most notes a score may have to be engraved inline by [`score_sheet_music_html`] (longer
/// ones make pages of notation too large for a notebook: call [`engrave_score`] for them).
pub const INLINE_SHEET_MAX_NOTES: usize = 1500;

/// [`sheet_music_html`] for a [`Score`] (through [`engrave_score`]); a score with more than
/// [`INLINE_SHEET_MAX_NOTES`] notes gets a note saying how to engrave it instead.
pub fn score_sheet_music_html(score: &Score) -> String {
    if score.note_count() > INLINE_SHEET_MAX_NOTES {
        return format!(
            "<p class=\"tunesmith-sheet-skipped\">{} notes: too many to engrave inline; \
             <code>engrave_score(&amp;score)?</code> makes the sheet music.</p>",
            score.note_count()
        );
    }
    sheet_html(engrave_score(score))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The notes of an engraving, in order: pitch name and octave from each note element.
    fn notes_in(svg: &str) -> Result<Vec<String>> {
        let doc = roxmltree::Document::parse(svg).context("parsing the SVG")?;
        Ok(doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("note"))
            .map(|n| {
                format!(
                    "{}{}",
                    n.attribute("data-pname").unwrap_or("?"),
                    n.attribute("data-oct").unwrap_or("?")
                )
            })
            .collect())
    }

    #[test]
    fn a_known_tune_is_engraved_with_its_notes() -> Result<()> {
        // G major: the F is sharp by the key, the c' is an octave up, the z is a rest.
        let svg = engrave_abc("T:Scale\nM:4/4\nL:1/4\nK:G\nGABc|def g|z4|]\n")?;
        assert_eq!(
            notes_in(svg.as_str())?,
            ["g4", "a4", "b4", "c5", "d5", "e5", "f5", "g5"]
        );
        assert!(
            svg.as_str().contains("Engraved by Verovio"),
            "not Verovio's"
        );
        Ok(())
    }

    #[test]
    fn a_score_is_engraved_with_its_key() -> Result<()> {
        let score = crate::abc::abc_to_score("X:1\nM:3/4\nL:1/4\nK:C\nCEG|c3|]\n")?;
        let svg = engrave_score(&score)?;
        assert_eq!(notes_in(svg.as_str())?, ["c4", "e4", "g4", "c5"]);
        // A score has no key: the signature comes from the notes (D major: two sharps), so the
        // F sharps and C sharps need no accidentals of their own.
        let d_major = crate::abc::abc_to_score("X:1\nM:4/4\nL:1/4\nK:D\nDEFG|ABcd|]\n")?;
        let svg = engrave_score(&d_major)?;
        let doc = roxmltree::Document::parse(svg.as_str())?;
        // Drawn symbols only: Verovio leaves an empty group for an accidental the key implies.
        let drawn = |class: &str| {
            doc.descendants()
                .filter(|n| n.attribute("class") == Some(class))
                .filter(|n| n.children().any(|c| c.is_element()))
                .count()
        };
        assert_eq!(drawn("keyAccid"), 2, "two sharps in the key signature");
        assert_eq!(drawn("accid"), 0, "no accidentals on the notes");
        Ok(())
    }

    #[test]
    fn display_html_wraps_the_engraving() {
        let html = sheet_music_html("M:2/4\nL:1/8\nK:D\nd2 A2|]\n");
        assert!(
            html.starts_with("<div class=\"tunesmith-sheet\"><svg")
                && html.contains("class=\"note\""),
            "{html}"
        );
    }

    #[test]
    fn without_an_engraver_the_display_says_how_to_get_one() {
        let html = sheet_html(Err(
            anyhow::Error::new(NoEngraver).context("engraving an ABC tune")
        ));
        assert!(
            html.contains("tunesmith-sheet-missing") && html.contains("verovio"),
            "{html}"
        );
        assert!(!html.contains("<svg"), "{html}");
    }

    #[test]
    fn unreadable_input_is_an_error_with_a_reason() {
        let err = run_engraver("midi", b"not a MIDI file").expect_err("garbage is not MIDI");
        assert!(format!("{err:#}").contains("engraver"), "{err:#}");
    }

    #[test]
    fn a_reference_number_is_added_only_when_missing() {
        assert_eq!(with_reference_number("K:C\nC|\n"), "X:1\nK:C\nC|\n");
        assert_eq!(with_reference_number("\nX:7\nK:C\n"), "\nX:7\nK:C\n");
    }
}

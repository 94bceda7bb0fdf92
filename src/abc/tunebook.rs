//! Splitting an ABC tunebook into tunes and reading their header fields.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One tune of a tunebook, as written: its header fields in order and its body lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tune {
    /// The file the tune came from (empty for text given directly).
    pub source: PathBuf,
    /// Line number (1-based) of the tune's `X:` line in its file.
    pub line: usize,
    /// Header fields in order, as (field letter, value with whitespace trimmed).
    pub header: Vec<(char, String)>,
    /// Body lines after the `K:` field, as written (trailing whitespace removed).
    pub body: Vec<String>,
}

impl Tune {
    /// The first value of a header field, e.g. `tune.field('T')` for the title.
    pub fn field(&self, letter: char) -> Option<&str> {
        self.header
            .iter()
            .find(|(l, _)| *l == letter)
            .map(|(_, v)| v.as_str())
    }

    /// The reference number from `X:`, if it parses.
    pub fn number(&self) -> Option<u32> {
        self.field('X').and_then(|x| x.trim().parse().ok())
    }

    /// The title (`T:`), or an empty string.
    pub fn title(&self) -> &str {
        self.field('T').unwrap_or("")
    }

    /// A short name for messages: file, line and tune number.
    pub fn label(&self) -> String {
        format!(
            "{}:{} (X:{})",
            self.source.display(),
            self.line,
            self.field('X').unwrap_or("?")
        )
    }

    /// The tune written back as ABC text (header then body).
    pub fn to_abc(&self) -> String {
        let mut out = String::new();
        for (letter, value) in &self.header {
            out.push_str(&format!("{letter}:{value}\n"));
        }
        for line in &self.body {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

/// True for a line of the form `L:value`, where L is an ASCII letter (a field line).
pub fn field_line(line: &str) -> Option<(char, &str)> {
    let mut chars = line.chars();
    let letter = chars.next()?;
    if letter.is_ascii_alphabetic() && chars.next() == Some(':') {
        Some((letter, line[2..].trim()))
    } else {
        None
    }
}

/// Splits a tunebook's text into tunes at each `X:` line.
///
/// Text before the first `X:` (the file header) is ignored. A tune's header runs from `X:` to the
/// first `K:` field; everything after it until a blank line or the next `X:` is the body. A tune
/// whose header never reaches a `K:` field is returned as an error item naming the line, so a
/// caller can skip it and go on.
pub fn split_tunebook(text: &str, source: &Path) -> Vec<Result<Tune>> {
    let mut tunes = Vec::new();
    let mut current: Option<(Tune, bool)> = None; // (tune, header finished)
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let lineno = index + 1;
        if let Some(('X', value)) = field_line(line.trim_start()) {
            if let Some(done) = current.take() {
                tunes.push(finish(done));
            }
            let tune = Tune {
                source: source.to_path_buf(),
                line: lineno,
                header: vec![('X', value.to_string())],
                body: Vec::new(),
            };
            current = Some((tune, false));
            continue;
        }
        let Some((tune, in_body)) = current.as_mut() else {
            continue;
        };
        if !*in_body {
            if line.trim().is_empty() {
                // A blank line inside a header ends the tune (it had no K: field).
                if let Some(done) = current.take() {
                    tunes.push(finish(done));
                }
                continue;
            }
            let trimmed = line.trim_start();
            if trimmed.starts_with('%') {
                continue;
            }
            match field_line(trimmed) {
                Some((letter, value)) => {
                    tune.header.push((letter, value.to_string()));
                    if letter == 'K' {
                        *in_body = true;
                    }
                }
                None => {
                    // Music before K: is malformed; keep reading so the error can name it.
                    tune.header.push(('?', trimmed.to_string()));
                }
            }
        } else if line.trim().is_empty() {
            if let Some(done) = current.take() {
                tunes.push(finish(done));
            }
        } else {
            tune.body.push(line.to_string());
        }
    }
    if let Some(done) = current.take() {
        tunes.push(finish(done));
    }
    tunes
}

fn finish((tune, had_key): (Tune, bool)) -> Result<Tune> {
    if !had_key {
        bail!(
            "{}: tune header has no K: field (music must follow a K: line)",
            tune.label()
        );
    }
    if let Some((_, stray)) = tune.header.iter().find(|(l, _)| *l == '?') {
        bail!(
            "{}: line {:?} in the header is not a field (music before the K: line)",
            tune.label(),
            stray
        );
    }
    Ok(tune)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOK: &str = "% a tunebook\nX:1\nT:First\nM:6/8\nL:1/8\nK:G\nGAB c2d|\nefg a3|]\n\nX:2\nT:No key\nM:3/4\n\nX:3\nT:Third\nK:D\nDEF|\n";

    #[test]
    fn splits_at_x_and_reads_fields() {
        let tunes = split_tunebook(BOOK, Path::new("book.abc"));
        assert_eq!(tunes.len(), 3);
        let first = tunes[0].as_ref().expect("first tune parses");
        assert_eq!(first.title(), "First");
        assert_eq!(first.field('M'), Some("6/8"));
        assert_eq!(first.body, vec!["GAB c2d|", "efg a3|]"]);
        assert_eq!(first.number(), Some(1));
        let err = tunes[1].as_ref().expect_err("tune without K: is an error");
        let msg = err.to_string();
        assert!(
            msg.contains("book.abc:10") && msg.contains("no K:"),
            "{msg}"
        );
        assert_eq!(tunes[2].as_ref().expect("third").body, vec!["DEF|"]);
    }

    #[test]
    fn music_before_key_is_an_error() {
        let tunes = split_tunebook("X:1\nT:t\nABC|\nK:C\nC|\n", Path::new("x.abc"));
        let err = tunes[0].as_ref().expect_err("stray music");
        assert!(err.to_string().contains("not a field"));
    }

    #[test]
    fn garbage_gives_no_tunes_and_no_panic() {
        let tunes = split_tunebook("\u{0}\u{1}garbage\n:::\nX:\n", Path::new("g.abc"));
        assert_eq!(tunes.len(), 1);
        assert!(tunes[0].is_err());
    }
}

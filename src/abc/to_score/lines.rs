//! Splits a tune's text into header fields and body lines.

use super::pos_err;
use anyhow::Result;

/// One line of a tune with comments and the line-continuation backslash removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Line<'a> {
    /// A field such as `K:G`: the letter, the value, the 1-based line number.
    Field(char, &'a str, usize),
    /// A line of music and its 1-based line number.
    Music(&'a str, usize),
}

/// The lines of a tune, split at the first `K:` field.
#[derive(Debug)]
pub(super) struct TuneLines<'a> {
    /// Fields up to and including the first `K:`.
    pub header: Vec<Line<'a>>,
    /// Everything after it.
    pub body: Vec<Line<'a>>,
}

/// Classifies the lines of `tune` and splits header from body.
pub(super) fn split_tune(tune: &str) -> Result<TuneLines<'_>> {
    let mut header = Vec::new();
    let mut body = Vec::new();
    let mut in_header = true;
    for (index, raw) in tune.lines().enumerate() {
        let number = index + 1;
        let Some(line) = classify(raw, number) else {
            continue;
        };
        if in_header {
            match line {
                Line::Field('X', ..) if !header.is_empty() => break,
                Line::Field('K', ..) => in_header = false,
                Line::Field(..) => {}
                Line::Music(_, n) => {
                    let col = raw.len() - raw.trim_start().len() + 1;
                    let msg = "music before the K: field (the header must end with K:)";
                    return Err(pos_err(n, col, msg));
                }
            }
            header.push(line);
        } else {
            if let Line::Field('X', ..) = line {
                break;
            }
            body.push(line);
        }
    }
    if in_header {
        anyhow::bail!("no K: field: an ABC tune header must end with a K: (key) line");
    }
    Ok(TuneLines { header, body })
}

/// Turns a raw line into a [`Line`]; `None` for blank lines, comments, directives and lyrics.
fn classify(raw: &str, number: usize) -> Option<Line<'_>> {
    let text = strip_comment(raw);
    let text = text.trim_end();
    let text = text.strip_suffix('\\').unwrap_or(text).trim_end();
    if text.trim().is_empty() {
        return None;
    }
    if let Some((letter, value)) = field_parts(text) {
        return match letter {
            'w' | 'W' | '+' => None,
            _ => Some(Line::Field(letter, value.trim(), number)),
        };
    }
    Some(Line::Music(text, number))
}

/// `Some((letter, value))` when `text` is a field line such as `T:title`.
fn field_parts(text: &str) -> Option<(char, &str)> {
    let mut chars = text.chars();
    let letter = chars.next()?;
    if !(letter.is_ascii_alphabetic() || letter == '+') || chars.next()? != ':' {
        return None;
    }
    let value = &text[2..];
    // `G:|` is a bar of music that happens to start with a note, not a field.
    if value.starts_with('|') {
        return None;
    }
    Some((letter, value))
}

/// The line without a `%` comment (a `\%` is kept as text); `%%` directives become empty.
fn strip_comment(raw: &str) -> &str {
    let bytes = raw.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'%' && (i == 0 || bytes[i - 1] != b'\\') {
            return &raw[..i];
        }
    }
    raw
}

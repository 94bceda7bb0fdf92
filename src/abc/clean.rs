//! The cleaning the seed did by hand: keep the meter, unit length, key and the music; drop titles,
//! notes, origins, sources, histories, lyrics and comments; normalise whitespace.

use super::tunebook::{field_line, Tune};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// What the cleaner keeps and removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanOptions {
    /// Remove quoted annotations such as `"^rit."` or fingerings `"4"`, keeping chord symbols (`"Am"`).
    pub strip_annotations: bool,
    /// Remove decorations written as `!trill!` or `+fermata+`.
    pub strip_decorations: bool,
    /// Remove chord symbols such as `"Am7"` as well.
    pub strip_chord_symbols: bool,
    /// Skip tunes whose cleaned text is longer than this many characters.
    pub max_chars: usize,
}

impl Default for CleanOptions {
    fn default() -> Self {
        CleanOptions {
            strip_annotations: true,
            strip_decorations: true,
            strip_chord_symbols: false,
            max_chars: 4000,
        }
    }
}

/// A cleaned tune: `M:`, `L:` and `K:` header lines followed by the music, one string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanTune {
    /// Where it came from (file, line, X: number), for messages.
    pub label: String,
    /// The title, kept for display only (not part of `text`).
    pub title: String,
    /// `M:..\nL:..\nK:..\n` then the body lines, each ending in `\n`.
    pub text: String,
}

impl CleanTune {
    /// The cleaned tune as a complete ABC tune with reference number `x` (for writing `.abc` files).
    pub fn to_abc_file_text(&self, x: usize) -> String {
        let title = if self.title.is_empty() {
            "Untitled"
        } else {
            &self.title
        };
        format!("X:{x}\nT:{title}\n{}", self.text)
    }
}

/// Header fields that are music and stay in the body when they appear there.
const MUSIC_FIELDS: [char; 3] = ['K', 'M', 'L'];

/// Cleans one tune; an error says why the tune cannot be used.
pub fn clean_tune(tune: &Tune, options: &CleanOptions) -> Result<CleanTune> {
    let meter = tune
        .field('M')
        .map(normalise_spaces)
        .unwrap_or_else(|| "none".to_string());
    let unit = match tune.field('L') {
        Some(l) => normalise_spaces(l),
        None => default_unit_length(&meter).to_string(),
    };
    let key = normalise_spaces(tune.field('K').unwrap_or(""));
    if key.is_empty() {
        bail!("empty K: field");
    }
    let mut text = format!("M:{meter}\nL:{unit}\nK:{key}\n");
    let mut has_note = false;
    let decoded = super::quoted_printable::decode_lines(tune.body.iter().map(String::as_str));
    for line in join_continuations(decoded.as_deref().unwrap_or(&tune.body)) {
        let Some(clean) = clean_body_line(&line, options) else {
            continue;
        };
        has_note |= clean.chars().any(|c| matches!(c, 'A'..='G' | 'a'..='g'))
            && field_line(&clean).is_none();
        text.push_str(&clean);
        text.push('\n');
    }
    if !has_note {
        bail!("no notes in the body");
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !c.is_ascii() || (c.is_ascii_control() && *c != '\n'))
    {
        bail!("non-ASCII or control character {bad:?} in the music");
    }
    if text.len() > options.max_chars {
        bail!(
            "too long: {} characters (limit {})",
            text.len(),
            options.max_chars
        );
    }
    Ok(CleanTune {
        label: tune.label(),
        title: tune.title().to_string(),
        text,
    })
}

/// The ABC standard's default unit note length: 1/16 when the meter is below 3/4, else 1/8.
pub fn default_unit_length(meter: &str) -> &'static str {
    let value = match meter.trim() {
        "C" => Some(1.0),
        "C|" => Some(1.0),
        m => m.split_once('/').and_then(|(n, d)| {
            let n: f64 = n
                .trim()
                .split('+')
                .filter_map(|x| x.trim().parse::<f64>().ok())
                .sum();
            let d: f64 = d.trim().parse().ok()?;
            (d > 0.0).then_some(n / d)
        }),
    };
    match value {
        Some(v) if v < 0.75 => "1/16",
        _ => "1/8",
    }
}

fn normalise_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Joins lines ending in `\` with the line after them.
fn join_continuations(body: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in body {
        let without_comment = strip_comment(line);
        let trimmed = without_comment.trim_end();
        if let Some(head) = trimmed.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
        } else {
            pending.push_str(trimmed);
            out.push(std::mem::take(&mut pending));
        }
    }
    if !pending.trim().is_empty() {
        out.push(pending);
    }
    out
}

fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%' && (i == 0 || bytes[i - 1] != b'\\') {
            return &line[..i];
        }
    }
    line
}

/// Cleans one body line; `None` when nothing musical is left.
fn clean_body_line(line: &str, options: &CleanOptions) -> Option<String> {
    let trimmed = line.trim();
    if let Some((letter, value)) = field_line(trimmed) {
        return MUSIC_FIELDS
            .contains(&letter)
            .then(|| format!("{letter}:{}", normalise_spaces(value)));
    }
    let mut out = String::with_capacity(trimmed.len());
    let mut chars = trimmed.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let quoted: String = chars.by_ref().take_while(|&q| q != '"').collect();
                if keep_quoted(&quoted, options) {
                    out.push('"');
                    out.push_str(&quoted);
                    out.push('"');
                }
            }
            '!' | '+' if options.strip_decorations => {
                let rest: String = chars.clone().take_while(|&q| q != c).collect();
                let closed = chars.clone().nth(rest.chars().count()) == Some(c);
                if closed
                    && !rest.is_empty()
                    && rest
                        .chars()
                        .all(|q| q.is_ascii_alphanumeric() || "<>().-_".contains(q))
                {
                    for _ in 0..=rest.chars().count() {
                        chars.next();
                    }
                } else {
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    let normalised = normalise_spaces(&out);
    (!normalised.is_empty()).then_some(normalised)
}

fn keep_quoted(text: &str, options: &CleanOptions) -> bool {
    let is_chord = text
        .chars()
        .next()
        .is_some_and(|c| matches!(c, 'A'..='G' | '('));
    if is_chord {
        !options.strip_chord_symbols
    } else {
        !options.strip_annotations
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abc::tunebook::split_tunebook;
    use std::path::Path;

    fn one(text: &str) -> Tune {
        split_tunebook(text, Path::new("t.abc"))
            .into_iter()
            .next()
            .expect("a tune")
            .expect("parses")
    }

    #[test]
    fn keeps_meter_length_key_and_music_only() {
        let tune = one("X:3\nT:Title\nN:note\nO:Europe\nS:source\nH:history\nM: 6/8\nL: 1/8\nR:jig\nK: G\n\"^rit.\"GAB  \"Am\"c2d | % comment\nw: la la\n!trill!e+fermata+fg a3 |]\n");
        let clean = clean_tune(&tune, &CleanOptions::default()).expect("cleans");
        assert_eq!(
            clean.text,
            "M:6/8\nL:1/8\nK:G\nGAB \"Am\"c2d |\nefg a3 |]\n"
        );
        assert_eq!(clean.title, "Title");
        assert!(clean.to_abc_file_text(1).starts_with("X:1\nT:Title\nM:6/8"));
    }

    #[test]
    fn fills_in_missing_meter_and_unit_length() {
        let tune = one("X:1\nM:2/4\nK:D\nDE FG|\n");
        assert!(clean_tune(&tune, &CleanOptions::default())
            .expect("ok")
            .text
            .starts_with("M:2/4\nL:1/16\n"));
        let tune = one("X:1\nK:D\nDE FG|\n");
        assert!(clean_tune(&tune, &CleanOptions::default())
            .expect("ok")
            .text
            .starts_with("M:none\nL:1/8\nK:D\n"));
    }

    #[test]
    fn joins_continuations_and_keeps_inline_key_changes() {
        let tune = one("X:1\nM:C\nL:1/8\nK:D\nAB \\\ncd|\nK:G\nP:B\nga|\n");
        let clean = clean_tune(&tune, &CleanOptions::default()).expect("ok");
        assert_eq!(clean.text, "M:C\nL:1/8\nK:D\nAB cd|\nK:G\nga|\n");
    }

    #[test]
    fn decodes_tunes_that_went_through_e_mail() {
        let tune = one("X:1\nM:C\nL:1/8\nK:D\nAB =3Dc d |=20\ncd e=\nf|\n");
        let clean = clean_tune(&tune, &CleanOptions::default()).expect("ok");
        assert_eq!(clean.text, "M:C\nL:1/8\nK:D\nAB =c d |\ncd ef|\n");
    }

    #[test]
    fn rejects_tunes_without_notes_or_with_non_ascii() {
        let tune = one("X:1\nK:D\nz4|\n");
        assert!(clean_tune(&tune, &CleanOptions::default())
            .unwrap_err()
            .to_string()
            .contains("no notes"));
        let tune = one("X:1\nK:D\nAB\u{e9}|\n");
        assert!(clean_tune(&tune, &CleanOptions::default())
            .unwrap_err()
            .to_string()
            .contains("non-ASCII"));
    }

    #[test]
    fn default_unit_length_follows_the_standard() {
        assert_eq!(default_unit_length("2/4"), "1/16");
        assert_eq!(default_unit_length("3/4"), "1/8");
        assert_eq!(default_unit_length("C"), "1/8");
        assert_eq!(default_unit_length("none"), "1/8");
    }
}

//! Tunes that went through e-mail as quoted-printable text (RFC 2045), as some of Ryan's Mammoth
//! Collection in music21's corpus did: `=3D` for `=`, `=20` for a trailing space, and a line
//! ending in `=` (a "soft" line break) running on into the next. Read as ABC, `=3D` would be a
//! natural sign before a digit and a soft break a natural sign on the next line's first note, so
//! such tunes are decoded before they are read or cleaned. The decoding itself is the
//! `quoted_printable` crate's; this module decides which tunes are encoded and keeps line numbers.

use super::tunebook::field_line;
use std::borrow::Cow;

/// Whether the lines show quoted-printable encoding: `=3D` (an encoded `=`) anywhere, or a line
/// of music ending in `=20` (an encoded trailing space) or in `=` (a soft line break). ABC gives
/// none of these a meaning (`Q:1/4=20` and the like are fields, and not looked at for endings).
pub fn is_encoded<'a>(lines: impl IntoIterator<Item = &'a str>) -> bool {
    lines.into_iter().any(|line| {
        let line = line.trim_end();
        line.contains("=3D")
            || (field_line(line.trim_start()).is_none()
                && (line.ends_with("=20") || line.ends_with('=')))
    })
}

/// The lines decoded when [`is_encoded`] finds them encoded, else `None`. There are as many lines
/// out as in: a line joined to the next by a soft break is left empty and the joined text stands
/// at the next line's place, so line numbers still point into the file.
pub fn decode_lines<'a>(lines: impl IntoIterator<Item = &'a str> + Clone) -> Option<Vec<String>> {
    if !is_encoded(lines.clone()) {
        return None;
    }
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in lines {
        let line = line.trim_end();
        let soft_break = line.ends_with('=');
        // The decoder drops the `=` of a soft break, and keeps the spaces before it.
        pending.push_str(&decode(line));
        if soft_break {
            out.push(String::new());
        } else {
            out.push(std::mem::take(&mut pending));
        }
    }
    if let Some(last) = out.last_mut().filter(|_| !pending.is_empty()) {
        *last = pending;
    }
    Some(out)
}

/// A tune's text decoded when it is encoded (see [`decode_lines`]), else as it is.
pub fn decode_tune(text: &str) -> Cow<'_, str> {
    match decode_lines(text.lines()) {
        Some(lines) => Cow::Owned(lines.join("\n") + "\n"),
        None => Cow::Borrowed(text),
    }
}

/// One line decoded, leniently: an `=` not followed by two hex digits stays as it is.
fn decode(line: &str) -> String {
    match quoted_printable::decode(line, quoted_printable::ParseMode::Robust) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_encoded_tunes_are_decoded() {
        assert!(is_encoded(["|=3Df g|"]));
        assert!(is_encoded(["abc def |=20"]));
        assert!(is_encoded(["abc d =", "f"]));
        assert!(!is_encoded(["Q:1/4=20", "[Q:1/4=60] =f =A"]));
        assert!(!is_encoded(["N: a note ending =", "abc"]));
        assert_eq!(decode_tune("K:G\n[Q:1/4=60] =f\n"), "K:G\n[Q:1/4=60] =f\n");
    }

    #[test]
    fn soft_breaks_join_lines_and_keep_the_count() {
        let lines = decode_lines(["N:x=20", "ab =", "cd=3De", "f"]).expect("encoded");
        assert_eq!(lines, ["N:x ", "", "ab cd=e", "f"]);
        let ends_on_a_break = decode_lines(["ab=", "c="]).expect("encoded");
        assert_eq!(ends_on_a_break, ["", "abc"]);
    }
}

//! Key signatures from `K:` fields.

use anyhow::{anyhow, bail, Result};

/// Alteration in semitones for each letter, indexed C, D, E, F, G, A, B.
pub(super) type KeySig = [i8; 7];

/// Letters in order of sharps (F C G D A E B) as indices into a [`KeySig`].
const SHARP_ORDER: [usize; 7] = [3, 0, 4, 1, 5, 2, 6];

/// Clef names that older tunes write in `K:` without `clef=`.
const CLEF_WORDS: [&str; 6] = ["treble", "bass", "alto", "tenor", "perc", "none"];

/// Index of a note letter (either case) in a [`KeySig`].
pub(super) fn letter_index(c: char) -> Option<usize> {
    "CDEFGAB".find(c.to_ascii_uppercase())
}

/// Parses a `K:` value. `Ok(None)` means the field changes no key (e.g. only `clef=bass`).
pub(super) fn parse_key(value: &str) -> Result<Option<KeySig>> {
    let words: Vec<&str> = value.split_whitespace().collect();
    let Some(&first) = words.first() else {
        return Ok(Some([0; 7]));
    };
    if let Some((key, glued)) = glued_accidentals(first) {
        let mut sig = base_key(key, None)?;
        apply_explicit_accidentals(&mut sig, &glued)?;
        apply_explicit_accidentals(&mut sig, &words[1..])?;
        return Ok(Some(sig));
    }
    if first.contains('=') || CLEF_WORDS[..5].contains(&first.to_ascii_lowercase().as_str()) {
        return Ok(None);
    }
    let mut sig = base_key(first, words.get(1).copied())?;
    apply_explicit_accidentals(&mut sig, &words[1..])?;
    Ok(Some(sig))
}

/// `Dmix=c` or `G^c_B`: a key with its explicit accidentals written on without spaces, as some
/// transcriptions in Ryan's Mammoth do; the key and each accidental, when the key is one.
fn glued_accidentals(first: &str) -> Option<(&str, Vec<&str>)> {
    let at = first.find(['^', '_', '='])?;
    let (key, rest) = first.split_at(at);
    if key.is_empty() || base_key(key, None).is_err() {
        return None;
    }
    let bytes = rest.as_bytes();
    let (mut parts, mut start, mut i) = (Vec::new(), 0, 0);
    while i < bytes.len() {
        while i < bytes.len() && matches!(bytes[i], b'^' | b'_' | b'=') {
            i += 1;
        }
        if !bytes
            .get(i)
            .is_some_and(|b| matches!(b.to_ascii_lowercase(), b'a'..=b'g'))
        {
            return None;
        }
        i += 1;
        parts.push(&rest[start..i]);
        start = i;
    }
    Some((key, parts))
}

/// The pitch class of the tonic the tune's first `K:` field names ([`key_tonic`]); `None` when
/// there is no `K:` or it names no tonic.
pub fn header_tonic(tune: &str) -> Option<u8> {
    tune.lines()
        .find_map(|line| {
            crate::abc::tunebook::field_line(line.trim()).filter(|(letter, _)| *letter == 'K')
        })
        .and_then(|(_, value)| key_tonic(value))
}

/// Whether a tune ends on its tonic: the highest pitch of the last onset of `score`'s first
/// track (the tune read from `tune`) has the pitch class of [`header_tonic`]. `None` when the
/// header names no tonic or the score has no notes. One definition for the statistics of a set
/// of tunes and for the sampler's tilt towards the corpus's tonic endings.
pub fn ends_on_tonic(tune: &str, score: &crate::score::Score) -> Option<bool> {
    let tonic = header_tonic(tune)?;
    let notes = &score.tracks.first()?.notes;
    let last_onset = notes.iter().map(|n| n.start).max()?;
    let top = notes
        .iter()
        .filter(|n| n.start == last_onset)
        .map(|n| n.pitch)
        .max()?;
    Some(top % 12 == tonic)
}

/// The pitch class (C = 0 ... B = 11) of the tonic a `K:` value names (`G`, `Bb`, `F#m`,
/// `Ador`, `Dmix=c`); `None` for a value that names no tonic (`none`, the bagpipe keys `HP` and
/// `Hp`, a clef alone) or one the reader does not know.
pub fn key_tonic(value: &str) -> Option<u8> {
    let first = value.split_whitespace().next()?;
    let first = first.find(['^', '_', '=']).map_or(first, |at| &first[..at]);
    if first.starts_with(['H', 'h']) || first.eq_ignore_ascii_case("none") {
        return None;
    }
    let mut chars = first.chars();
    let letter = chars
        .next()
        .filter(char::is_ascii_uppercase)
        .and_then(letter_index)?;
    let rest = chars.as_str();
    let (alter, mode) = match rest.chars().next() {
        Some('#') => (1, &rest[1..]),
        Some('b') => (-1, &rest[1..]),
        _ => (0, rest),
    };
    if !mode.is_empty() && mode_offset(mode).is_none() {
        return None;
    }
    const SEMITONES: [i32; 7] = [0, 2, 4, 5, 7, 9, 11];
    Some((SEMITONES[letter] + alter).rem_euclid(12) as u8)
}

/// The signature named by the first word (and maybe a separate mode word).
fn base_key(first: &str, next: Option<&str>) -> Result<KeySig> {
    match first {
        "HP" => return Ok([0; 7]),
        "Hp" => return Ok(signature(2)),
        _ if first.eq_ignore_ascii_case("none") => return Ok([0; 7]),
        _ => {}
    }
    let unknown = || anyhow!("unknown key {first:?}");
    let mut chars = first.chars();
    let tonic = chars.next().and_then(letter_index);
    let tonic = tonic.ok_or_else(unknown)?;
    let rest = chars.as_str();
    let (accidental, mode_text) = match rest.chars().next() {
        Some('#') => (7, &rest[1..]),
        Some('b') => (-7, &rest[1..]),
        _ => (0, rest),
    };
    let mode = if mode_text.is_empty() {
        next.and_then(mode_offset).unwrap_or(0)
    } else {
        mode_offset(mode_text).ok_or_else(unknown)?
    };
    const TONIC_FIFTHS: [i32; 7] = [0, 2, 4, -1, 1, 3, 5];
    Ok(signature(TONIC_FIFTHS[tonic] + accidental + mode))
}

/// Fifths to add to the major key for a mode name (`m`, `min`, `Dorian`, `mix`...).
pub(super) fn mode_offset(text: &str) -> Option<i32> {
    let lower = text.to_ascii_lowercase();
    if lower == "m" {
        return Some(-3);
    }
    if lower.len() < 3 || !lower.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    match &lower[..3] {
        "maj" | "ion" => Some(0),
        "min" | "aeo" => Some(-3),
        "mix" => Some(-1),
        "dor" => Some(-2),
        "phr" => Some(-4),
        "lyd" => Some(1),
        "loc" => Some(-5),
        _ => None,
    }
}

/// The signature with `fifths` sharps (negative: flats); beyond 7 letters get doubled.
pub(super) fn signature(fifths: i32) -> KeySig {
    let mut sig = [0i8; 7];
    for (i, &letter) in SHARP_ORDER.iter().enumerate() {
        let i = i as i32;
        sig[letter] = if fifths > i {
            ((fifths - i + 6) / 7) as i8
        } else {
            0
        };
    }
    for (i, &letter) in SHARP_ORDER.iter().rev().enumerate() {
        let i = i as i32;
        if -fifths > i {
            sig[letter] = -(((-fifths - i + 6) / 7) as i8);
        }
    }
    sig
}

/// Applies words like `^f _b =c` after the key; `exp` makes them the only accidentals.
fn apply_explicit_accidentals(sig: &mut KeySig, words: &[&str]) -> Result<()> {
    if words.iter().any(|w| w.eq_ignore_ascii_case("exp")) {
        *sig = [0; 7];
    }
    for word in words {
        let Some(body) = word.strip_prefix(['^', '_', '=']) else {
            continue;
        };
        let alter = match word.as_bytes() {
            [b'^', b'^', ..] => 2,
            [b'_', b'_', ..] => -2,
            [b'^', ..] => 1,
            [b'_', ..] => -1,
            _ => 0,
        };
        let letter = body.trim_start_matches(['^', '_']).chars().next();
        match letter.and_then(letter_index) {
            Some(i) => sig[i] = alter,
            None => bail!("unrecognised accidental {word:?} in key"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tonics_of_key_fields() {
        assert_eq!(key_tonic("G"), Some(7));
        assert_eq!(key_tonic("Bb"), Some(10));
        assert_eq!(key_tonic("F#m"), Some(6));
        assert_eq!(key_tonic("Ador"), Some(9));
        assert_eq!(key_tonic("D mix"), Some(2));
        assert_eq!(key_tonic("Dmix=c"), Some(2));
        assert_eq!(key_tonic("Cb"), Some(11));
        assert_eq!(key_tonic("none"), None);
        assert_eq!(key_tonic("Hp"), None);
        assert_eq!(key_tonic("clef=bass"), None);
        assert_eq!(key_tonic("Gxyz"), None);
        assert_eq!(key_tonic(""), None);
    }
}

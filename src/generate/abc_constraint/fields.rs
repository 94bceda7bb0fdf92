//! What the constrained sampler lets a tune write in its fields and quoted chord symbols: the
//! meters, unit lengths and keys both ABC readers (the crate's and music21's) take, as whitelists
//! checked prefix by prefix, and a small grammar of chord symbols. What the fields mean (the length
//! of a bar, the unit, the default unit, the mode names) is the reader's, from
//! [`crate::abc::to_score::grammar`].

use crate::abc::to_score::grammar;

/// Meters a generated tune may use (no `M:none`: a free meter has no bars to add up).
pub(super) const METERS: [&str; 20] = [
    "2/4", "4/4", "3/4", "6/8", "C|", "C", "3/8", "4/2", "6/4", "9/8", "3/2", "2/2", "12/8", "4/8",
    "5/8", "5/4", "7/8", "3/1", "4/1", "6/2",
];

/// Unit note lengths a generated tune may use.
pub(super) const UNITS: [&str; 5] = ["1/8", "1/16", "1/4", "1/2", "1/32"];

/// Modes a key may name after its tonic (empty: major): the short names, all of them modes to the
/// reader ([`grammar::is_mode`]).
const MODES: [&str; 11] = [
    "", "m", "min", "maj", "mix", "dor", "phr", "lyd", "aeo", "loc", "ion",
];

/// Ticks in a whole note: every length the machine accepts (units down to 1/32, divisions down
/// to 1/16, triplets, duplets, quadruplets and broken rhythm) is a whole number of ticks.
pub(super) const WHOLE: i64 = 36_864;

/// Ticks in a bar of a whitelisted meter, as the reader measures it.
pub(super) fn meter_ticks(meter: &str) -> Option<i64> {
    METERS
        .contains(&meter)
        .then(|| grammar::meter_ticks(meter, WHOLE))
        .flatten()
}

/// Ticks in a whitelisted unit length, as the reader measures it.
pub(super) fn unit_ticks(unit: &str) -> Option<i64> {
    UNITS
        .contains(&unit)
        .then(|| grammar::unit_ticks(unit, WHOLE))
        .flatten()
}

/// The unit length the ABC standard gives a meter without `L:`, by the reader's rule (1/16
/// below 3/4, else 1/8).
pub(super) fn default_unit_ticks(bar: i64) -> i64 {
    grammar::default_unit_ticks(bar, WHOLE)
}

/// True when `value` is a whole key: a tonic `A`–`G`, an optional `#` or `b`, and a mode.
pub(super) fn is_key(value: &str) -> bool {
    key_tail(value).is_some_and(|mode| MODES.contains(&mode) && grammar::is_mode(mode))
}

/// True when `value` can still grow into a key.
pub(super) fn is_key_prefix(value: &str) -> bool {
    if value.is_empty() {
        return true;
    }
    match key_tail(value) {
        Some(mode) => MODES.iter().any(|m| m.starts_with(mode)),
        None => false,
    }
}

/// The mode part of a key after its tonic and accidental.
fn key_tail(value: &str) -> Option<&str> {
    let mut chars = value.chars();
    if !matches!(chars.next(), Some('A'..='G')) {
        return None;
    }
    let rest = chars.as_str();
    Some(
        rest.strip_prefix('#')
            .or_else(|| rest.strip_prefix('b'))
            .unwrap_or(rest),
    )
}

/// True when `value` is one of `list` or, with `prefix`, the start of one.
pub(super) fn in_list(list: &[&str], value: &str, prefix: bool) -> bool {
    list.iter().any(|m| {
        if prefix {
            m.starts_with(value)
        } else {
            *m == value
        }
    })
}

/// Chord qualities a chord symbol may name after its root.
const QUALITIES: [&str; 14] = [
    "", "m", "7", "m7", "maj7", "dim", "dim7", "aug", "6", "m6", "9", "sus4", "sus2", "7sus4",
];

/// A chord symbol being written between quotes: root, accidental, quality, `/` and a bass note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Symbol {
    /// 0: expects the root; 1: after the root (or its accidental); 2: after `/`; 3: after the
    /// bass note (or its accidental).
    stage: u8,
    /// An accidental follows the root or bass already.
    sharp_or_flat: bool,
    quality: [u8; 5],
    quality_len: u8,
}

impl Symbol {
    fn quality(&self) -> &str {
        std::str::from_utf8(&self.quality[..usize::from(self.quality_len)]).unwrap_or("")
    }

    /// Takes the next character inside the quotes; false when it cannot be part of a symbol.
    pub(super) fn push(&mut self, c: char) -> bool {
        match (self.stage, c) {
            (0 | 2, 'A'..='G') => {
                self.stage += 1;
                self.sharp_or_flat = false;
                true
            }
            (1 | 3, '#' | 'b')
                if !self.sharp_or_flat && (self.stage == 3 || self.quality_len == 0) =>
            {
                self.sharp_or_flat = true;
                true
            }
            (1, '/') if self.is_complete() => {
                self.stage = 2;
                true
            }
            (1, c) if c.is_ascii_alphanumeric() && usize::from(self.quality_len) < 5 => {
                self.quality[usize::from(self.quality_len)] = c as u8;
                self.quality_len += 1;
                let q = self.quality();
                QUALITIES.iter().any(|x| x.starts_with(q))
            }
            _ => false,
        }
    }

    /// True when the closing quote may come now.
    pub(super) fn is_complete(&self) -> bool {
        match self.stage {
            1 => QUALITIES.contains(&self.quality()),
            3 => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_their_prefixes() {
        for key in ["G", "Bb", "F#m", "Dmix", "Ador", "Eb", "Bphr", "Amin"] {
            assert!(is_key(key), "{key}");
        }
        for bad in ["H", "Gx", "g", "B#b", ""] {
            assert!(!is_key(bad), "{bad}");
        }
        assert!(is_key_prefix("D") && is_key_prefix("Dm") && is_key_prefix("Dmi"));
        assert!(!is_key_prefix("Dq") && !is_key_prefix("x"));
    }

    #[test]
    fn meters_and_units_in_ticks() {
        assert_eq!(meter_ticks("6/8"), Some(WHOLE * 6 / 8));
        assert_eq!(meter_ticks("C|"), Some(WHOLE));
        assert_eq!(meter_ticks("none"), None);
        assert_eq!(meter_ticks("7/4"), None);
        assert_eq!(unit_ticks("1/16"), Some(WHOLE / 16));
        assert_eq!(unit_ticks("3/8"), None);
        assert_eq!(default_unit_ticks(WHOLE / 2), WHOLE / 16);
        assert_eq!(default_unit_ticks(WHOLE * 3 / 4), WHOLE / 8);
        assert!(in_list(&METERS, "12", true) && !in_list(&METERS, "12", false));
    }

    #[test]
    fn chord_symbols_follow_the_grammar() {
        let read = |text: &str| {
            let mut s = Symbol::default();
            text.chars().all(|c| s.push(c)) && s.is_complete()
        };
        for good in [
            "G", "Am", "D7", "F#m7", "Bbmaj7", "C/E", "D/F#", "Esus4", "Gdim7",
        ] {
            assert!(read(good), "{good}");
        }
        for bad in ["", "H", "Gx", "Am/", "G##", "Gmaj", "G/x", "Gm#"] {
            assert!(!read(bad), "{bad}");
        }
    }
}

//! Values of the `M:`, `L:` and `Q:` fields.

use super::frac::Frac;
use anyhow::{anyhow, bail, Result};

/// A meter as written: `numerator / denominator` (C = 4/4, C| = 2/2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Meter {
    pub numerator: u8,
    pub denominator: u8,
}

impl Meter {
    /// The length of one bar in whole notes.
    pub fn bar_length(self) -> Frac {
        Frac::new(i64::from(self.numerator), i64::from(self.denominator))
    }

    /// The meter whose bar lasts `bar_ticks` of `whole` ticks a whole note, as `n/d` in lowest
    /// terms (what the default unit length depends on); `None` when it does not fit a `u8`.
    pub fn of_ticks(bar_ticks: i64, whole: i64) -> Option<Meter> {
        let (num, den) = Frac::new(bar_ticks, whole).parts();
        Some(Meter {
            numerator: u8::try_from(num).ok()?,
            denominator: u8::try_from(den).ok()?,
        })
    }

    /// True for compound meters (6/8, 9/8, 12/8...), which change tuplet defaults.
    pub fn is_compound(self) -> bool {
        self.numerator.is_multiple_of(3) && self.numerator > 3
    }
}

/// Parses an `M:` value; `Ok(None)` for `M:none`, an empty value, or a free meter as the Essen
/// collection writes it (`FREI4/4`: "free", nominally 4/4, its bars of any length).
pub(super) fn parse_meter(value: &str) -> Result<Option<Meter>> {
    let v = value.trim();
    let v = v.split_whitespace().next().unwrap_or("");
    let free = v.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("frei"));
    if free && parse_meter(&v[4..]).is_ok_and(|m| m.is_some()) {
        return Ok(None);
    }
    match v {
        "" => return Ok(None),
        "C" => {
            return Ok(Some(Meter {
                numerator: 4,
                denominator: 4,
            }))
        }
        "C|" => {
            return Ok(Some(Meter {
                numerator: 2,
                denominator: 2,
            }))
        }
        _ if v.eq_ignore_ascii_case("none") => return Ok(None),
        _ => {}
    }
    let (num, den) = v
        .split_once('/')
        .ok_or_else(|| anyhow!("unrecognised meter {v:?} (expected e.g. 6/8, C, C| or none)"))?;
    let num = num.trim_matches(|c| c == '(' || c == ')');
    let mut total: u32 = 0;
    for part in num.split('+') {
        total += part
            .trim()
            .parse::<u32>()
            .map_err(|_| anyhow!("unrecognised meter {v:?}"))?;
    }
    let den: u32 = den
        .trim()
        .parse()
        .map_err(|_| anyhow!("unrecognised meter {v:?}"))?;
    if total == 0 || den == 0 || total > 255 || den > 255 {
        bail!("meter {v:?} is out of range");
    }
    Ok(Some(Meter {
        numerator: total as u8,
        denominator: den as u8,
    }))
}

/// The default unit note length for a meter, per the standard.
pub(super) fn default_unit(meter: Option<Meter>) -> Frac {
    match meter {
        Some(m) if m.bar_length().to_f64() < 0.75 => Frac::new(1, 16),
        _ => Frac::new(1, 8),
    }
}

/// Parses a positive fraction such as `1/8`, `3/8` or `1`.
pub(super) fn parse_fraction(text: &str) -> Option<Frac> {
    let t = text.trim();
    let (num, den) = match t.split_once('/') {
        Some((n, d)) => (n.trim().parse::<i64>().ok()?, d.trim().parse::<i64>().ok()?),
        None => (t.parse::<i64>().ok()?, 1),
    };
    (num > 0 && den > 0).then(|| Frac::new(num, den))
}

/// Parses an `L:` value.
pub(super) fn parse_unit(value: &str) -> Result<Frac> {
    let v = value.split_whitespace().next().unwrap_or("");
    parse_fraction(v)
        .ok_or_else(|| anyhow!("unrecognised unit note length {v:?} (expected e.g. 1/8)"))
}

/// Parses a `Q:` value into microseconds per quarter note.
///
/// `unit` is the `L:` length used when no beat is written (`Q:120`).
/// Returns `Ok(None)` for a purely textual tempo such as `Q:"Allegro"`.
pub(super) fn parse_tempo(value: &str, unit: Frac) -> Result<Option<u32>> {
    let text = strip_quoted(value);
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let (beat, bpm) = match text.split_once('=') {
        Some((left, right)) => (parse_beats(left).unwrap_or(unit), right),
        None => (unit, text),
    };
    let bpm_text = bpm.split_whitespace().next().unwrap_or("");
    let bpm: f64 = match bpm_text.parse() {
        Ok(b) if b > 0.0 => b,
        _ if !text.contains('=') => return Ok(None),
        _ => bail!("unrecognised tempo {value:?} (expected e.g. 1/4=120)"),
    };
    let quarters_per_minute = bpm * beat.to_f64() * 4.0;
    let micros = (60_000_000.0 / quarters_per_minute).round();
    Ok(Some(micros.clamp(1.0, f64::from(u32::MAX)) as u32))
}

/// The sum of the beat fractions left of `=` (e.g. `1/8 3/8`); `None` if any is not a fraction.
fn parse_beats(left: &str) -> Option<Frac> {
    let mut total = Frac::ZERO;
    let mut any = false;
    for word in left.split_whitespace() {
        total = total + parse_fraction(word)?;
        any = true;
    }
    any.then_some(total)
}

/// The text with every `"..."` string removed.
fn strip_quoted(text: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in text.chars() {
        if c == '"' {
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

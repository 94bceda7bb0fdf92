//! The form of a generated ABC tune: how many parts, of how many bars each.
//!
//! The ABC constraint ([`super::abc_constraint`]) follows it as a mask, like everything else it
//! knows: a part closes with a section bar line (`||`, `|]`, `:|`, or `|` then `|:`) exactly when
//! its bars are written, a pick-up may open a part and is then balanced by a short closing bar,
//! every other bar is full, first and second endings both close the part at its length, and the
//! tune ends (and must end) when its last part is closed. The model's probabilities are never
//! changed otherwise.
//!
//! [`Form::Learned`], the default, lets each tune take any of the default corpus's common forms
//! for the meter and unit length the model wrote in its header ([`default_form_table`]: those of
//! at least [`MIN_FORM_SHARE`] of its tunes, at most 16): the model chooses where its parts end
//! among them, and so which form the tune takes. [`Form::LearnedFrom`] does the same with another
//! corpus's table; [`Form::Drawn`] draws each tune's form from the corpus's own mix for its
//! header instead, so that the tunes take the corpus's forms as often as its tunes do;
//! [`Form::Parts`] asks for one form;
//! [`Form::Free`] is the constraint without a form (bars that add up, a tune that may end after
//! any two bars).

use super::abc_constraint::{MAX_FORMS, MAX_PARTS};
use crate::abc::to_score::FormTable;
use anyhow::{bail, ensure, Result};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};

/// Characters a bar takes at the least (a note, its length and the bar line: `c8|`), used to
/// refuse a form the step cap cannot hold.
pub const MIN_CHARS_PER_BAR: usize = 3;

/// Characters the header takes at the most (`M:12/8\nL:1/16\nK:F#mix\n` and a little more).
const HEADER_CHARS: usize = 32;

/// The most bars a form may have for a tune of at most `max_steps` characters (what
/// [`Form::validate`] accepts).
pub(crate) fn max_bars_within(max_steps: usize) -> usize {
    max_steps.saturating_sub(HEADER_CHARS) / MIN_CHARS_PER_BAR
}

/// The most bars one part may have.
pub const MAX_PART_BARS: u32 = 256;

/// The form of a generated tune (character models with the ABC constraint on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// Each tune takes one of the default corpus's common forms for its meter and unit length,
    /// the model choosing which as it writes.
    #[default]
    Learned,
    /// The same with the forms of this table (for example, a table of the training tunes).
    LearnedFrom(FormTable),
    /// One of the default corpus's common forms for the tune's meter and unit length, drawn with
    /// the piece's seed in proportion to the corpus's tunes in that form (the candidates of one
    /// piece share it when its header is drawn). The tunes then have as many parts as the
    /// corpus's; the model no longer chooses which.
    Drawn,
    /// These parts, each of this many bars (`vec![8, 8]`: two parts of eight).
    Parts(Vec<u32>),
    /// No form: bars that add up, short bars beside any section bar line, an end after any two
    /// bars.
    Free,
}

/// Who writes the header (`M:` and `L:`) of a character model's tune sampled without a primer.
///
/// A character model trained on the corpus read as one stream with its state carried (how the
/// crate trains them) learns a header from the tunes before it: reels follow reels. From a zero
/// state it is then far from the corpus's mix of headers: stage 1 of the shipped model starts 1.4% of its
/// tunes with `M:C` or `M:C|` where 9% of the corpus's tunes have them, and so almost never writes
/// a reel in two repeated parts. [`Header::Learned`] draws the header from the corpus's own mix
/// instead, and the model writes the key and the tune from there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Header {
    /// Drawn, with the piece's seed, from the headers of the tunes the form is learned from (the
    /// table of [`Form::LearnedFrom`], else the default corpus's), in proportion to their tunes.
    #[default]
    Learned,
    /// Written by the model, from its zero state.
    Model,
    /// These header lines (`"M:6/8\nL:1/8\n"`): what the candidates of one resampled piece
    /// share ([`super::SampleConfig::candidates`]), so that they differ only in what the model
    /// writes.
    Lines(String),
}

impl Header {
    /// Mixed into the piece's seed for the header's draw.
    const SEED_MIX: u64 = 0x6A09_E667_F3BC_C909;

    /// The header lines to start an unprimed tune with (`"M:6/8\nL:1/8\n"`), or `None` when the
    /// model writes its own.
    pub fn draw(&self, form: &Form, seed: u64) -> Option<String> {
        use rand::SeedableRng;
        match self {
            Header::Model => return None,
            Header::Lines(lines) => return Some(lines.clone()),
            Header::Learned => {}
        }
        let table = match form {
            Form::LearnedFrom(table) => Arc::new(table.clone()),
            _ => default_form_table(),
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ Self::SEED_MIX);
        let (meter, unit) = table.draw_header(&mut rng)?;
        Some(match unit {
            Some(unit) => format!("M:{meter}\nL:{unit}\n"),
            None => format!("M:{meter}\n"),
        })
    }
}

impl std::str::FromStr for Form {
    type Err = anyhow::Error;

    /// `learned`, `drawn`, `free`, or the bars of each part separated by commas (`8,8`).
    fn from_str(text: &str) -> Result<Self> {
        Ok(match text.trim() {
            "learned" => Form::Learned,
            "drawn" => Form::Drawn,
            "free" => Form::Free,
            parts => Form::Parts(
                parts
                    .split(',')
                    .map(|p| p.trim().parse::<u32>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "unknown form {text:?} (use learned, drawn, free, or bars per part such as 8,8)"
                        )
                    })?,
            ),
        })
    }
}

impl Form {
    /// Checks the form against the step cap; the error says what cannot be met.
    pub fn validate(&self, max_steps: usize) -> Result<()> {
        let parts = match self {
            Form::Parts(parts) => parts,
            Form::LearnedFrom(table) => {
                ensure!(
                    table.tunes() > 0,
                    "the form table has no tunes with a regular form to learn from"
                );
                return Ok(());
            }
            Form::Learned | Form::Drawn | Form::Free => return Ok(()),
        };
        ensure!(
            !parts.is_empty(),
            "a form needs at least one part (Form::Parts(vec![]) has none; Form::Free has no form)"
        );
        ensure!(
            parts.len() <= MAX_PARTS,
            "a form has at most {MAX_PARTS} parts, not {}",
            parts.len()
        );
        if let Some(i) = parts.iter().position(|&b| b == 0 || b > MAX_PART_BARS) {
            bail!(
                "part {} of the form has {} bars: a part has 1 to {MAX_PART_BARS}",
                i + 1,
                parts[i]
            );
        }
        ensure!(
            parts.iter().sum::<u32>() >= 2,
            "a form of one bar cannot be met: a tune has at least two bars"
        );
        let needed = HEADER_CHARS + MIN_CHARS_PER_BAR * parts.iter().sum::<u32>() as usize;
        ensure!(
            needed <= max_steps,
            "the form {parts:?} needs at least {needed} characters, more than max_steps ({max_steps}) allows"
        );
        Ok(())
    }

    /// What the constraint follows for one tune.
    pub(crate) fn plan(&self) -> FormPlan {
        match self {
            Form::Free => FormPlan::Free,
            Form::Parts(parts) => FormPlan::Fixed(
                parts
                    .iter()
                    .map(|&b| b.min(u32::from(u16::MAX)) as u16)
                    .collect(),
            ),
            Form::Learned => FormPlan::Table(default_form_table()),
            Form::Drawn => FormPlan::Drawn(default_form_table()),
            Form::LearnedFrom(table) => FormPlan::Table(Arc::new(table.clone())),
        }
    }
}

/// The default corpus's forms (the train part of the fixed split of music21's Essen, O'Neill
/// and Ryan collections), counted by `examples/form_table.rs` and compiled into the crate.
const DEFAULT_FORMS: &str = include_str!("default_forms.json");

/// The default corpus's table of forms per meter and unit length (what [`Form::Learned`] draws
/// from).
pub fn default_form_table() -> Arc<FormTable> {
    static TABLE: OnceLock<Arc<FormTable>> = OnceLock::new();
    TABLE
        .get_or_init(|| {
            // The file is the crate's own; were it unreadable, tunes would have no form.
            Arc::new(
                serde_json::from_str(DEFAULT_FORMS)
                    .unwrap_or_else(|_| FormTable::from_tunes(&[] as &[&str]).0),
            )
        })
        .clone()
}

/// The forms one tune may take, or the table they come from once its header is written.
#[derive(Debug, Clone)]
pub(crate) enum FormPlan {
    /// No form.
    Free,
    /// These parts.
    Fixed(Vec<u16>),
    /// The table's common forms for the header's meter and unit length.
    Table(Arc<FormTable>),
    /// One of those, drawn in proportion to its tunes.
    Drawn(Arc<FormTable>),
}

/// Mixed into the piece's seed for the draw of its form ([`Form::Drawn`]).
const FORM_SEED_MIX: u64 = 0xBB67_AE85_84CA_A73B;

/// A form must be this common at its level of the table (share of the level's tunes) to be one
/// a learned tune may take.
pub const MIN_FORM_SHARE: f64 = 0.01;

impl FormPlan {
    /// The forms a tune whose header gave this meter and unit may take (`None`: no form); learned
    /// forms of more than `max_bars` bars are left out (a form asked for is checked against the
    /// step cap when the config is validated). `seed` draws the form of [`FormPlan::Drawn`].
    pub(crate) fn forms(
        &self,
        meter: &str,
        unit: Option<&str>,
        max_bars: usize,
        seed: u64,
    ) -> Option<Vec<Vec<u16>>> {
        use rand::SeedableRng;
        let fits = |parts: &[u32]| parts.iter().sum::<u32>() as usize <= max_bars;
        let as_bars = |parts: &[u32]| -> Vec<u16> {
            parts.iter().map(|&b| b.min(MAX_PART_BARS) as u16).collect()
        };
        let common = |table: &Arc<FormTable>| -> Option<Vec<(Vec<u16>, u32)>> {
            let (_, counts) = table.forms_for(meter, unit)?;
            let total: u32 = counts.iter().map(|c| c.count).sum();
            Some(
                counts
                    .iter()
                    .filter(|c| f64::from(c.count) >= MIN_FORM_SHARE * f64::from(total))
                    .filter(|c| c.parts.len() <= MAX_PARTS && fits(&c.parts))
                    .take(MAX_FORMS)
                    .map(|c| (as_bars(&c.parts), c.count))
                    .collect(),
            )
        };
        let forms: Vec<Vec<u16>> = match self {
            FormPlan::Free => return None,
            FormPlan::Fixed(parts) => vec![parts.clone()],
            FormPlan::Table(table) => common(table)?.into_iter().map(|(f, _)| f).collect(),
            FormPlan::Drawn(table) => {
                let forms = common(table)?;
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ FORM_SEED_MIX);
                crate::abc::to_score::draw_by_count(
                    forms.iter().map(|(form, count)| (form, *count)),
                    &mut rng,
                )
                .into_iter()
                .cloned()
                .collect()
            }
        };
        (!forms.is_empty()).then_some(forms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_parse_and_validate() {
        assert_eq!("learned".parse::<Form>().unwrap(), Form::Learned);
        assert_eq!("free".parse::<Form>().unwrap(), Form::Free);
        assert_eq!("8, 8".parse::<Form>().unwrap(), Form::Parts(vec![8, 8]));
        assert!("eight".parse::<Form>().is_err());
        assert!(Form::Parts(vec![8, 8]).validate(2000).is_ok());
        let zero = Form::Parts(vec![8, 0])
            .validate(2000)
            .unwrap_err()
            .to_string();
        assert!(zero.contains("part 2") && zero.contains("0 bars"), "{zero}");
        let none = Form::Parts(vec![]).validate(2000).unwrap_err().to_string();
        assert!(none.contains("at least one part"), "{none}");
        let long = Form::Parts(vec![200, 200])
            .validate(1000)
            .unwrap_err()
            .to_string();
        assert!(long.contains("max_steps (1000)"), "{long}");
        assert!(Form::Parts(vec![1]).validate(2000).is_err());
        assert!(Form::Parts(vec![4; MAX_PARTS + 1])
            .validate(20_000)
            .is_err());
        assert!(Form::Learned.validate(10).is_ok() && Form::Free.validate(10).is_ok());
    }

    #[test]
    fn a_fixed_plan_gives_its_parts_and_free_none() {
        let plan = Form::Parts(vec![8, 8]).plan();
        assert_eq!(
            plan.forms("6/8", Some("1/8"), 1000, 0),
            Some(vec![vec![8, 8]])
        );
        // A form asked for is kept (the config's validation checked it against max_steps).
        assert_eq!(
            plan.forms("6/8", Some("1/8"), 10, 0),
            Some(vec![vec![8, 8]])
        );
        let short = Form::Learned
            .plan()
            .forms("6/8", Some("1/8"), 10, 0)
            .unwrap();
        assert!(
            short.iter().all(|f| f.iter().sum::<u16>() <= 10),
            "{short:?}"
        );
        assert_eq!(Form::Free.plan().forms("6/8", None, 1000, 0), None);
        // The default table's common forms for a jig: two parts of eight first.
        let jigs = Form::Learned
            .plan()
            .forms("6/8", Some("1/8"), 1000, 0)
            .unwrap();
        assert_eq!(jigs[0], vec![8, 8]);
        assert!(jigs.len() >= 4 && jigs.len() <= MAX_FORMS, "{jigs:?}");
    }

    #[test]
    fn a_drawn_plan_gives_one_common_form_in_proportion_to_its_tunes() {
        assert_eq!("drawn".parse::<Form>().unwrap(), Form::Drawn);
        assert!(Form::Drawn.validate(10).is_ok());
        let common = Form::Learned
            .plan()
            .forms("6/8", Some("1/8"), 1000, 0)
            .unwrap();
        let plan = Form::Drawn.plan();
        let draws: Vec<Vec<u16>> = (0..400)
            .map(|seed| {
                let forms = plan.forms("6/8", Some("1/8"), 1000, seed).unwrap();
                assert_eq!(forms.len(), 1);
                forms[0].clone()
            })
            .collect();
        assert!(draws.iter().all(|f| common.contains(f)), "{draws:?}");
        // The same seed draws the same form.
        assert_eq!(
            plan.forms("6/8", Some("1/8"), 1000, 7).unwrap()[0],
            draws[7]
        );
        // Each form as often as its share of the corpus's tunes among the common forms.
        let table = default_form_table();
        let (_, counts) = table.forms_for("6/8", Some("1/8")).unwrap();
        let count_of = |form: &[u16]| {
            counts
                .iter()
                .find(|c| c.parts.iter().map(|&b| b as u16).eq(form.iter().copied()))
                .map_or(0, |c| c.count)
        };
        let total: u32 = common.iter().map(|f| count_of(f)).sum();
        for form in [vec![8u16, 8], vec![8]] {
            let expected = f64::from(count_of(&form)) / f64::from(total);
            let seen = draws.iter().filter(|f| **f == form).count() as f64 / 400.0;
            assert!(
                (seen - expected).abs() < 0.07,
                "{form:?}: drawn {seen:.3}, corpus {expected:.3}"
            );
        }
        // Forms the step cap cannot hold are never drawn.
        let short = plan.forms("6/8", Some("1/8"), 10, 3).unwrap();
        assert!(short[0].iter().sum::<u16>() <= 10, "{short:?}");
    }
}

//! The form of a generated ABC tune: how many parts, of how many bars each.
//!
//! The ABC constraint ([`super::abc_constraint`]) follows it as a mask, like everything else it
//! knows: a part closes with a section bar line (`||`, `|]`, `:|`, or `|` then `|:`) exactly when
//! its bars are written, a pick-up may open a part and is then balanced by a short closing bar,
//! every other bar is full, first and second endings both close the part at its length, and the
//! tune ends (and must end) when its last part is closed. The model's probabilities are never
//! changed otherwise.
//!
//! [`Form::Learned`], the default, draws each tune's form from the default corpus's forms for the
//! meter and unit length the model wrote in the header ([`default_form_table`]);
//! [`Form::LearnedFrom`] draws from another corpus's table; [`Form::Parts`] asks for one form;
//! [`Form::Free`] is the constraint without a form (bars that add up, a tune that may end after
//! any two bars).

use super::abc_constraint::MAX_PARTS;
use crate::abc::to_score::FormTable;
use anyhow::{bail, ensure, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};

/// Characters a bar takes at the least (a note, its length and the bar line: `c8|`), used to
/// refuse a form the step cap cannot hold.
pub const MIN_CHARS_PER_BAR: usize = 3;

/// Characters the header takes at the most (`M:12/8\nL:1/16\nK:F#mix\n` and a little more).
const HEADER_CHARS: usize = 32;

/// The most bars one part may have.
pub const MAX_PART_BARS: u32 = 256;

/// The form of a generated tune (character models with the ABC constraint on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// Each tune's parts drawn from the default corpus's forms for its meter and unit length.
    #[default]
    Learned,
    /// Each tune's parts drawn from this table (for example, a table of the training tunes).
    LearnedFrom(FormTable),
    /// These parts, each of this many bars (`vec![8, 8]`: two parts of eight).
    Parts(Vec<u32>),
    /// No form: bars that add up, short bars beside any section bar line, an end after any two
    /// bars.
    Free,
}

impl std::str::FromStr for Form {
    type Err = anyhow::Error;

    /// `learned`, `free`, or the bars of each part separated by commas (`8,8`).
    fn from_str(text: &str) -> Result<Self> {
        Ok(match text.trim() {
            "learned" => Form::Learned,
            "free" => Form::Free,
            parts => Form::Parts(
                parts
                    .split(',')
                    .map(|p| p.trim().parse::<u32>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "unknown form {text:?} (use learned, free, or bars per part such as 8,8)"
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
            Form::Learned | Form::Free => return Ok(()),
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

    /// What the constraint follows for one tune, drawing with `seed` when the form is learned.
    pub(crate) fn plan(&self, seed: u64) -> FormPlan {
        // The draw has its own generator, so the sampler's draws are those of a form-free run.
        let rng = ChaCha8Rng::seed_from_u64(seed ^ 0x466f_726d_5f64_7261);
        match self {
            Form::Free => FormPlan::Free,
            Form::Parts(parts) => FormPlan::Fixed(
                parts
                    .iter()
                    .map(|&b| b.min(u32::from(u16::MAX)) as u16)
                    .collect(),
            ),
            Form::Learned => FormPlan::Draw {
                table: default_form_table(),
                rng,
            },
            Form::LearnedFrom(table) => FormPlan::Draw {
                table: Arc::new(table.clone()),
                rng,
            },
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

/// The form one tune follows, or how it will be drawn once its header is written.
#[derive(Debug, Clone)]
pub(crate) enum FormPlan {
    /// No form.
    Free,
    /// These parts.
    Fixed(Vec<u16>),
    /// Drawn from the table for the header's meter and unit length.
    Draw {
        table: Arc<FormTable>,
        rng: ChaCha8Rng,
    },
}

impl FormPlan {
    /// The parts for a tune whose header gave this meter and unit (`None`: no form).
    pub(crate) fn parts(
        &mut self,
        meter: &str,
        unit: Option<&str>,
        max_bars: usize,
    ) -> Option<Vec<u16>> {
        match self {
            FormPlan::Free => None,
            FormPlan::Fixed(parts) => Some(parts.clone()),
            FormPlan::Draw { table, rng } => {
                // A form the steps left cannot hold is drawn again; a few tries, then none.
                (0..8).find_map(|_| {
                    let parts = table.draw(meter, unit, rng)?;
                    let bars: u32 = parts.iter().sum();
                    (bars as usize <= max_bars && !parts.is_empty() && parts.len() <= MAX_PARTS)
                        .then(|| parts.iter().map(|&b| b.min(MAX_PART_BARS) as u16).collect())
                })
            }
        }
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
        let mut plan = Form::Parts(vec![8, 8]).plan(1);
        assert_eq!(plan.parts("6/8", Some("1/8"), 1000), Some(vec![8, 8]));
        assert_eq!(Form::Free.plan(1).parts("6/8", None, 1000), None);
    }
}

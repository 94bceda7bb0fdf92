//! How often each form occurs in a set of tunes, per header, to draw a form for a new tune.
//!
//! A form is the list of its parts' lengths in bars ([`TuneForm::part_lengths`]); only tunes
//! whose form is regular count. Forms are counted at three levels: per header key, the tune's
//! `M:` and `L:` values as written, joined by a space (`"6/8 1/8"`; tunes without `L:` count
//! only at the next two levels); per meter (`"6/8"`); and all tunes pooled. A draw uses the most
//! specific level that has at least [`FormTable::min_tunes`] tunes (else the most specific one
//! that has any), and picks a form in proportion to its count.
//!
//! ```
//! use tunesmith::abc::to_score::FormTable;
//! use rand::SeedableRng;
//! let tunes = ["M:2/4\nL:1/8\nK:C\n|:CDEF|GABc:|\n", "M:2/4\nL:1/8\nK:C\nCDEF|GABc|cBAG|F4|]\n"];
//! let (table, report) = FormTable::from_tunes(&tunes);
//! assert_eq!(report.regular, 2);
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
//! let form = table.draw("2/4", Some("1/8"), &mut rng).unwrap();
//! assert!(form == [2] || form == [4]);
//! ```

use super::form::{tune_form, TuneForm};
use html_escape::encode_text as esc;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The fewest tunes a level needs to be drawn from before a draw falls back to a wider one.
pub const MIN_TUNES: u32 = 20;

/// One form and the number of tunes written in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormCount {
    /// The length in bars of each part.
    pub parts: Vec<u32>,
    /// Number of tunes.
    pub count: u32,
}

/// Which level of a [`FormTable`] a draw uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FormLevel {
    /// The tunes with the same `M:` and `L:` values.
    Header,
    /// The tunes with the same `M:` value.
    Meter,
    /// Every tune.
    Pooled,
}

/// Counts of forms per header key, per meter and pooled (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormTable {
    /// Forms per `"M L"` key, most common first.
    pub by_header: BTreeMap<String, Vec<FormCount>>,
    /// Forms per `M:` value, most common first.
    pub by_meter: BTreeMap<String, Vec<FormCount>>,
    /// Forms of every tune, most common first.
    pub pooled: Vec<FormCount>,
    /// The fewest tunes a level needs to be drawn from ([`MIN_TUNES`] by default).
    pub min_tunes: u32,
    /// Every metered tune's header, as `"M L"` (or `"M"` without `L:`), with its number of
    /// tunes, regular form or not (what [`FormTable::draw_header`] draws from).
    #[serde(default)]
    pub headers: BTreeMap<String, u32>,
}

impl Default for FormTable {
    /// An empty table (every draw gives `None`).
    fn default() -> Self {
        FormTable {
            by_header: BTreeMap::new(),
            by_meter: BTreeMap::new(),
            pooled: Vec::new(),
            min_tunes: MIN_TUNES,
            headers: BTreeMap::new(),
        }
    }
}

/// What [`FormTable::from_tunes`] made of the tunes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FormTableReport {
    /// Tunes given.
    pub tunes: usize,
    /// Tunes whose form is regular (the ones counted).
    pub regular: usize,
    /// Metered tunes whose form is not regular.
    pub irregular: usize,
    /// Tunes without a meter (`M:none`, a free meter, no `M:`).
    pub unmetered: usize,
    /// Tunes the reader cannot read.
    pub unreadable: usize,
}

/// Sums the counts of a level.
fn total(forms: &[FormCount]) -> u32 {
    forms.iter().map(|f| f.count).sum()
}

/// One of `items`, drawn in proportion to its count; `None` when the counts add up to 0.
pub(crate) fn draw_by_count<T, R: rand::Rng + ?Sized>(
    items: impl Iterator<Item = (T, u32)> + Clone,
    rng: &mut R,
) -> Option<T> {
    let total: u32 = items.clone().map(|(_, count)| count).sum();
    if total == 0 {
        return None;
    }
    let mut pick = rng.random_range(0..total);
    for (item, count) in items {
        if pick < count {
            return Some(item);
        }
        pick -= count;
    }
    None
}

/// Counts into a sorted list: most common first, then by the parts.
fn sorted(counts: HashMap<Vec<u32>, u32>) -> Vec<FormCount> {
    let mut forms: Vec<FormCount> = counts
        .into_iter()
        .map(|(parts, count)| FormCount { parts, count })
        .collect();
    forms.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.parts.cmp(&b.parts)));
    forms
}

/// A form written as `8+8`.
pub fn form_label(parts: &[u32]) -> String {
    let labels: Vec<String> = parts.iter().map(u32::to_string).collect();
    labels.join("+")
}

impl FormTable {
    /// Counts the forms of the tunes (ABC text, header included).
    pub fn from_tunes(tunes: &[impl AsRef<str> + Sync]) -> (FormTable, FormTableReport) {
        let forms: Vec<Option<TuneForm>> = tunes
            .par_iter()
            .map(|t| tune_form(t.as_ref()).ok())
            .collect();
        let mut report = FormTableReport {
            tunes: tunes.len(),
            ..FormTableReport::default()
        };
        let mut by_header: BTreeMap<String, HashMap<Vec<u32>, u32>> = BTreeMap::new();
        let mut by_meter: BTreeMap<String, HashMap<Vec<u32>, u32>> = BTreeMap::new();
        let mut pooled: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut headers: BTreeMap<String, u32> = BTreeMap::new();
        for form in &forms {
            let Some(form) = form else {
                report.unreadable += 1;
                continue;
            };
            if let (Some(meter), Some(_)) = (&form.meter_text, form.meter) {
                let key = match &form.unit_text {
                    Some(unit) => format!("{} {}", meter.trim(), unit.trim()),
                    None => meter.trim().to_string(),
                };
                *headers.entry(key).or_default() += 1;
            }
            let (Some(meter), Some(parts)) = (&form.meter_text, form.part_lengths()) else {
                match form.meter {
                    None => report.unmetered += 1,
                    Some(_) => report.irregular += 1,
                }
                continue;
            };
            report.regular += 1;
            if let Some(unit) = &form.unit_text {
                *by_header
                    .entry(format!("{meter} {unit}"))
                    .or_default()
                    .entry(parts.clone())
                    .or_default() += 1;
            }
            *by_meter
                .entry(meter.clone())
                .or_default()
                .entry(parts.clone())
                .or_default() += 1;
            *pooled.entry(parts).or_default() += 1;
        }
        let table = FormTable {
            by_header: by_header.into_iter().map(|(k, v)| (k, sorted(v))).collect(),
            by_meter: by_meter.into_iter().map(|(k, v)| (k, sorted(v))).collect(),
            pooled: sorted(pooled),
            min_tunes: MIN_TUNES,
            headers,
        };
        (table, report)
    }

    /// Number of tunes counted.
    pub fn tunes(&self) -> u32 {
        total(&self.pooled)
    }

    /// The level and forms a draw for this header uses: the most specific level with at least
    /// [`FormTable::min_tunes`] tunes, else the most specific with any; `None` when the table
    /// is empty. `meter` and `unit` are the header's `M:` and `L:` values as written.
    pub fn forms_for(&self, meter: &str, unit: Option<&str>) -> Option<(FormLevel, &[FormCount])> {
        let meter = meter.trim();
        let header = unit.and_then(|u| self.by_header.get(&format!("{meter} {}", u.trim())));
        let levels = [
            (FormLevel::Header, header.map(Vec::as_slice)),
            (
                FormLevel::Meter,
                self.by_meter.get(meter).map(Vec::as_slice),
            ),
            (FormLevel::Pooled, Some(self.pooled.as_slice())),
        ];
        let found = |enough: u32| {
            levels.iter().find_map(|&(level, forms)| {
                forms
                    .filter(|f| total(f) >= enough.max(1))
                    .map(|f| (level, f))
            })
        };
        found(self.min_tunes).or_else(|| found(1))
    }

    /// Draws a form for a tune with this header, in proportion to the forms' counts at the level
    /// [`FormTable::forms_for`] picks; `None` when the table is empty.
    pub fn draw<R: rand::Rng + ?Sized>(
        &self,
        meter: &str,
        unit: Option<&str>,
        rng: &mut R,
    ) -> Option<Vec<u32>> {
        let (_, forms) = self.forms_for(meter, unit)?;
        draw_by_count(forms.iter().map(|f| (&f.parts, f.count)), rng).cloned()
    }

    /// Draws a header in proportion to the tunes written with it: its `M:` value and its `L:`
    /// value when it has one; `None` when the table counted no headers.
    pub fn draw_header<R: rand::Rng + ?Sized>(
        &self,
        rng: &mut R,
    ) -> Option<(String, Option<String>)> {
        let key = draw_by_count(self.headers.iter().map(|(k, &c)| (k, c)), rng)?;
        Some(match key.split_once(' ') {
            Some((meter, unit)) => (meter.to_string(), Some(unit.to_string())),
            None => (key.clone(), None),
        })
    }

    /// An HTML table: for each meter (most tunes first), its tunes and its most common forms.
    pub fn to_html(&self) -> String {
        let mut meters: Vec<(&String, &Vec<FormCount>)> = self.by_meter.iter().collect();
        meters.sort_by_key(|(m, forms)| (std::cmp::Reverse(total(forms)), m.as_str()));
        let mut html = String::from(
            "<table class=\"tunesmith\"><thead><tr><th>M:</th><th>tunes</th>\
             <th>most common forms (bars per part)</th></tr></thead><tbody>",
        );
        for (meter, forms) in meters.iter().take(12) {
            let n = total(forms).max(1);
            let common: Vec<String> = forms
                .iter()
                .take(5)
                .map(|f| {
                    let share = 100.0 * f64::from(f.count) / f64::from(n);
                    format!("{} ({share:.0}%)", form_label(&f.parts))
                })
                .collect();
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(meter.as_str()),
                total(forms),
                esc(&common.join(", "))
            ));
        }
        html.push_str("</tbody></table>");
        html
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const REEL: &str = "M:4/4\nL:1/8\nK:D\n|:DFAd f2ed|cBAG FGAF:|\n";
    const JIG: &str = "M:6/8\nL:1/8\nK:G\nGAB cBA|GAB c3|]\n";

    fn table() -> (FormTable, FormTableReport) {
        let mut tunes: Vec<&str> = vec![REEL; 30];
        tunes.extend([JIG; 5]);
        tunes.push("M:6/8\nL:1/8\nK:G\n|:GAB cBA:|\n|:GAB c3|d6:|\n");
        tunes.push("M:6/8\nK:G\n|:GAB cBA:|\n");
        tunes.push("M:6/8\nL:1/8\nK:G\nGAB|cBA d|]\n"); // irregular
        tunes.push("M:none\nL:1/8\nK:G\nGAB|]\n"); // unmetered
        tunes.push("M:6/8\nL:1/8\nK:G\n[CEG|]\n"); // unreadable
        FormTable::from_tunes(&tunes)
    }

    #[test]
    fn counts_headers_of_every_metered_tune_and_draws_them_by_count() {
        let (table, _) = table();
        // 30 reels; 5 jigs + the two-part jig + the irregular one with L:1/8; one without L:.
        assert_eq!(table.headers.get("4/4 1/8"), Some(&30));
        assert_eq!(table.headers.get("6/8 1/8"), Some(&7));
        assert_eq!(table.headers.get("6/8"), Some(&1));
        assert_eq!(table.headers.len(), 3, "{:?}", table.headers);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let draws: Vec<_> = (0..3800)
            .filter_map(|_| table.draw_header(&mut rng))
            .collect();
        let reels = draws.iter().filter(|(m, _)| m == "4/4").count();
        assert!((2850..3150).contains(&reels), "{reels} of 3800 (30 in 38)");
        assert!(draws.contains(&("6/8".to_string(), None)));
        assert!(FormTable::default().draw_header(&mut rng).is_none());
    }

    #[test]
    fn counts_forms_per_header_meter_and_pooled() {
        let (table, report) = table();
        assert_eq!(
            report,
            FormTableReport {
                tunes: 40,
                regular: 37,
                irregular: 1,
                unmetered: 1,
                unreadable: 1
            }
        );
        assert_eq!(
            table.by_header["4/4 1/8"],
            [FormCount {
                parts: vec![2],
                count: 30
            }]
        );
        let jigs = &table.by_header["6/8 1/8"];
        assert_eq!(
            jigs[0],
            FormCount {
                parts: vec![2],
                count: 5
            }
        );
        assert_eq!(
            jigs[1],
            FormCount {
                parts: vec![1, 2],
                count: 1
            }
        );
        // The tune without L: counts for its meter only.
        assert_eq!(total(&table.by_meter["6/8"]), 7);
        assert_eq!(table.tunes(), 37);
        assert_eq!(
            table.pooled[0],
            FormCount {
                parts: vec![2],
                count: 35
            }
        );
    }

    #[test]
    fn draws_fall_back_to_wider_levels_and_follow_the_counts() {
        let (table, _) = table();
        assert_eq!(
            table.forms_for("4/4", Some("1/8")).unwrap().0,
            FormLevel::Header
        );
        // Only 6 jigs with L:1/8 and 7 in 6/8: fewer than 20, so all tunes pooled.
        assert_eq!(
            table.forms_for("6/8", Some("1/8")).unwrap().0,
            FormLevel::Pooled
        );
        assert_eq!(table.forms_for("3/4", None).unwrap().0, FormLevel::Pooled);
        let mut small = table.clone();
        small.min_tunes = 6;
        assert_eq!(
            small.forms_for("6/8", Some("1/8")).unwrap().0,
            FormLevel::Header
        );
        assert_eq!(
            small.forms_for("6/8", Some("1/4")).unwrap().0,
            FormLevel::Meter
        );
        small.min_tunes = 500;
        assert_eq!(
            small.forms_for("6/8", Some("1/8")).unwrap().0,
            FormLevel::Header
        );
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let draws: Vec<Vec<u32>> = (0..2000)
            .map(|_| small.draw("6/8", Some("1/8"), &mut rng).unwrap())
            .collect();
        let ones = draws.iter().filter(|d| **d == [1, 2]).count();
        // One form in six: about 333 of 2000.
        assert!((250..420).contains(&ones), "{ones}");
        assert!(FormTable::default().draw("6/8", None, &mut rng).is_none());
    }

    #[test]
    fn round_trips_through_json_and_shows_a_table() {
        let (table, _) = table();
        let json = serde_json::to_string(&table).unwrap();
        let back: FormTable = serde_json::from_str(&json).unwrap();
        assert_eq!(back, table);
        let html = table.to_html();
        assert!(
            html.contains("<td>4/4</td><td>30</td><td>2 (100%)</td>"),
            "{html}"
        );
        assert!(html.contains("1+2 (14%)"), "{html}");
    }
}

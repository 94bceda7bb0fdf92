//! The constraint counts bars as the reader does: for random walks (free and under learned forms),
//! the length of every bar at its closing bar line, by the machine ([`super::bar_lengths`]), equals
//! the reader's ([`bar_check`]). The same for the corpus's tunes: `tests/abc_constraint_music21.rs`.

use super::bar_lengths;
use super::tests::{walk, walks_or};
use crate::abc::to_score::bar_check;
use crate::generate::Form;

/// Asserts that the machine's bar lengths of `text` are the reader's, bar for bar; a last bar
/// that ends the tune without a bar line (allowed under a form) is the reader's alone.
pub(super) fn assert_same_bars(text: &str, form: &Form, what: &str) -> usize {
    let tune = text.trim_end();
    let (machine, refused) = bar_lengths(text, form);
    assert_eq!(
        refused, None,
        "{what}: the machine refuses its own walk\n{tune}"
    );
    let reader: Vec<f64> = bar_check(tune)
        .unwrap_or_else(|e| panic!("{what}: {e:#}\n{tune}"))
        .bars
        .iter()
        .map(|b| b.length)
        .collect();
    assert!(
        machine.len() == reader.len() || machine.len() + 1 == reader.len(),
        "{what}: {} bars closed by the machine, {} read\n{tune}",
        machine.len(),
        reader.len()
    );
    for (i, (m, r)) in machine.iter().zip(&reader).enumerate() {
        assert!(
            (m - r).abs() < 1e-9,
            "{what}: bar {} is {m} whole notes to the machine, {r} to the reader\n{tune}",
            i + 1
        );
    }
    machine.len()
}

#[test]
fn random_walks_are_counted_alike_by_the_machine_and_the_reader() {
    let walks = walks_or(300);
    let (mut bars, mut tunes) = (0, 0);
    for (form, favour_c, budget, count) in [
        (Form::Free, 0.0, 400, walks),
        (Form::Learned, 0.6, 1500, walks / 3),
    ] {
        for seed in 0..count {
            let (text, _) = walk("", &form, favour_c, seed, budget);
            // Only whole tunes: a walk cut by its budget may stop inside a chord or a quote.
            if text.ends_with("\n\n") {
                bars += assert_same_bars(&text, &form, &format!("{form:?} walk {seed}"));
                tunes += 1;
            }
        }
    }
    assert!(tunes as u64 > walks, "{tunes} whole tunes compared");
    assert!(bars > 5 * tunes, "{bars} bars compared");
}

#[test]
fn the_machine_reports_its_own_count_and_where_it_stops() {
    // The figures compared are the machine's own: a pick-up of a quarter, then full bars.
    let (lengths, refused) = bar_lengths("M:2/4\nL:1/8\nK:G\nGA|B2 c2|d3 c|B4|]\n\n", &Form::Free);
    assert_eq!(refused, None);
    assert_eq!(lengths, vec![0.25, 0.5, 0.5, 0.5]);
    // After a full bar only a bar line may come: the space after `c2` is refused.
    let (_, refused) = bar_lengths("M:2/4\nL:1/8\nK:G\nGA|B2 c2 d|", &Form::Free);
    assert_eq!(refused, Some(25));
}

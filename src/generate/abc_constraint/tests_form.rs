//! The form under the constraint: parts closed at their length, pick-ups balanced, no short bar
//! elsewhere, a tune that ends when (and only when) its form is complete; and random walks whose
//! form the reader reads back as the one asked for.

use super::tests::{finished_tune, vocab, walks_or};
use super::*;
use crate::abc::to_score::{bar_check, tune_form};
use crate::generate::Form;

/// Feeds `text` to a constraint under `parts`; the position of the first refused character.
fn refused_at(parts: &[u32], text: &str) -> Option<usize> {
    let vocab = vocab();
    let mut constraint = AbcConstraint::new(&vocab).with_form(&Form::Parts(parts.to_vec()));
    for (i, c) in text.chars().enumerate() {
        if !constraint.allows(c) {
            return Some(i);
        }
        constraint.follow(&c.to_string());
    }
    None
}

const HEAD: &str = "M:2/4\nL:1/8\nK:G\n";

fn at(parts: &[u32], body: &str) -> Option<usize> {
    refused_at(parts, &format!("{HEAD}{body}")).map(|i| i - HEAD.len())
}

#[test]
fn parts_close_at_their_length_with_a_section_bar_line() {
    assert_eq!(at(&[2, 2], "GABc|d4||e4|d4|]\n\n"), None);
    assert_eq!(at(&[2, 2], "|:GABc|d4:|\n|:e4|d4:|\n\n"), None);
    // A section bar line inside a part is refused (the second `|` of `||`).
    assert_eq!(at(&[2, 2], "GABc||"), Some(5));
    // Nothing more fits in a part once its bars are written: only a bar line.
    assert_eq!(at(&[2, 2], "GABc|d4e"), Some(7));
    // The tune cannot end before its last part: the blank line after part one is refused.
    assert_eq!(at(&[2, 2], "GABc|d4|]\n\n"), Some(10));
    // Once the form is complete, only the blank line may come.
    assert_eq!(at(&[2], "GABc|d4|]\nA"), Some(10));
    assert_eq!(at(&[2], "GABc|d4|] "), Some(9));
}

#[test]
fn a_pickup_opens_a_part_and_its_closing_bar_balances_it() {
    // Two bars of 2/4 with a pick-up of one eighth: the closing bar holds three eighths.
    assert_eq!(at(&[2], "G|ABcd|e3|]\n\n"), None);
    assert_eq!(at(&[2], "G|ABcd|e4"), Some(8));
    // A short closing bar needs a section bar line, not a plain one then the end.
    assert_eq!(at(&[2], "G|ABcd|e3|\n"), Some(10));
    // A short bar anywhere else is refused: the second bar of the part is not a pick-up.
    assert_eq!(at(&[4], "GABc|d2|"), Some(7));
    // The next part may open with its own pick-up.
    assert_eq!(at(&[2, 2], "G|ABcd|e3||B|c4|d3|]\n\n"), None);
    // A full closing bar may end with a plain bar line, then `|:` opens the next part.
    assert_eq!(at(&[2, 2], "GABc|d4|\n|:e4|d4:|\n\n"), None);
}

#[test]
fn a_short_closing_bar_may_end_with_a_plain_bar_line_before_the_next_parts_repeat() {
    // `e3|` balances the pick-up and closes part one; `|:` on the next line opens part two.
    let tune = "G|ABcd|e3|\n|:B|c4|d3:|\n\n";
    assert_eq!(at(&[2, 2], tune), None);
    let form = tune_form(&format!("{HEAD}{}", tune.trim_end())).expect("the tune reads");
    assert_eq!(form.part_lengths(), Some(vec![2, 2]));
    assert!(bar_check(&format!("{HEAD}{}", tune.trim_end()))
        .expect("the tune reads")
        .adds_up());
    // Nothing but that `|:` may follow: no note, space or first ending, and not `|:` where no
    // form has a part of that length.
    assert_eq!(at(&[2, 2], "G|ABcd|e3|d"), Some(10));
    assert_eq!(at(&[2, 2], "G|ABcd|e3| "), Some(10));
    assert_eq!(at(&[2, 2], "G|ABcd|e3|\nB"), Some(11));
    assert_eq!(at(&[3, 2], "G|ABcd|e3|"), Some(9));
    // Not as the last part's closing bar, nor with a repeat left open.
    assert_eq!(at(&[2], "G|ABcd|e3|\n"), Some(10));
    assert_eq!(at(&[2, 2], "|:G|ABcd|e3|"), Some(11));
}

#[test]
fn both_endings_close_the_part_at_its_length() {
    assert_eq!(at(&[3], "|:GABc|dcBA|1d4:|2e4|]\n\n"), None);
    assert_eq!(at(&[3, 2], "|:GABc|d4|1e4:|2f4||g4|f4|]\n\n"), None);
    // The first ending must close with `:|` at the part's length.
    assert_eq!(at(&[2], "|:GABc|1d4||"), Some(10));
    // The second ending is as long as the first.
    assert_eq!(at(&[3], "|:GABc|1d4|e4:|2f4|]"), Some(19));
}

#[test]
fn the_last_part_leaves_nothing_open() {
    // A repeat opened in a part closes with it.
    assert_eq!(at(&[2], "|:GABc|d4|]"), Some(9));
    // A slur or tie left open at the last bar line is refused there.
    assert_eq!(at(&[2], "GABc|(d4|"), Some(8));
    assert_eq!(at(&[2], "GABc|d4-"), Some(7));
    // Tied across a bar line inside the form is fine.
    assert_eq!(at(&[3], "GABc-|c4|d4|]\n\n"), None);
}

#[test]
fn a_tune_may_end_on_its_closing_bar_without_a_bar_line() {
    assert_eq!(at(&[2], "G|ABcd|e3\n\n"), None);
    assert_eq!(at(&[2], "G|ABcd|e2\n\n"), Some(10));
    // A full last bar may end the tune without its bar line, as the Essen songs end; that line
    // break is then the last (a full bar ending a line inside the tune still needs its bar line).
    assert_eq!(at(&[3], "GABc|dcBA|GABc\n\n"), None);
    assert_eq!(at(&[3], "GABc|dcBA|GABc\nG"), Some(15));
    assert_eq!(at(&[4], "GABc|dcBA|GABc\n"), Some(14));
}

/// A random walk after `head` under `form`, favouring notes of one unit so that parts of eight
/// bars are written in a few hundred characters (it still reaches every other corner).
fn walk(head: &str, form: &Form, seed: u64, budget: usize) -> (String, AbcConstraint) {
    super::tests::walk(head, form, 0.4, seed, budget)
}

#[test]
fn random_walks_write_the_form_asked_for_and_the_reader_reads_it_back() {
    let heads = [
        "M:6/8\nL:1/8\nK:D\n",
        "M:2/4\nL:1/16\nK:Am\n",
        "M:3/4\nK:F\n",
        "M:4/4\nL:1/8\nK:G\n",
    ];
    let forms = [vec![4, 4], vec![8], vec![2, 3, 2]];
    for seed in 0..walks_or(120) {
        let head = heads[seed as usize % heads.len()];
        let parts = &forms[(seed as usize / heads.len()) % forms.len()];
        let (text, constraint) = walk(head, &Form::Parts(parts.clone()), seed, 4000);
        let tune = finished_tune(seed, &text, &constraint);
        let form = tune_form(tune).unwrap_or_else(|e| panic!("seed {seed}: {e:#}\n{tune}"));
        assert_eq!(
            form.part_lengths().as_ref(),
            Some(parts),
            "seed {seed}: {form:?}\n{tune}"
        );
    }
}

#[test]
fn a_learned_form_is_one_of_the_corpus_forms_for_its_meter() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..walks_or(40).max(40) {
        let (text, constraint) = walk("M:6/8\nL:1/8\nK:D\n", &Form::Learned, seed, 6000);
        assert_eq!(constraint.off_reason(), None, "seed {seed}: {text:?}");
        let parts: Vec<u32> = constraint
            .form()
            .expect("the default table has 6/8 tunes")
            .iter()
            .map(|&b| u32::from(b))
            .collect();
        let read = tune_form(text.trim_end()).unwrap().part_lengths();
        assert_eq!(read.as_ref(), Some(&parts), "seed {seed}:\n{text}");
        let allowed = constraint.forms().expect("forms for 6/8");
        assert!(
            allowed
                .iter()
                .any(|f| f.iter().map(|&b| u32::from(b)).eq(parts.iter().copied())),
            "seed {seed}: {parts:?} is not among {allowed:?}"
        );
        seen.insert(parts);
    }
    // The walk chooses among them: several forms over forty tunes.
    assert!(seen.len() >= 3, "{seen:?}");
}

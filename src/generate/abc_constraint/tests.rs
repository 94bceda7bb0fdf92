use super::*;
use crate::abc::to_score::{abc_to_score, abc_to_score_with, bar_check, AbcToScoreOptions};
use crate::generate::tokens::TokenConstraint;

/// Every character the corpus's cleaned tunes use in the style the machine follows.
const ALPHABET: &str = "\n !\"#'(),-./0123456789:<=>ABCDEFGHKLMTZ[]^_abcdefghijlmnoprsuvxyz{|}~";

pub(super) fn vocab() -> CharVocab {
    CharVocab::from_texts([ALPHABET])
}

/// Feeds `text`; returns the position of the first refused character.
fn refused_at(text: &str) -> Option<usize> {
    let mut m = Machine::default();
    text.chars().position(|c| !m.feed(c))
}

fn accepts(text: &str) -> bool {
    refused_at(text).is_none()
}

#[test]
fn follows_tunes_in_the_corpus_style() {
    for tune in [
        "M:2/4\nL:1/8\nK:G\nGA|B2 c2|d>c BA|G2 z2|]\n\n",
        "M:6/8\nL:1/8\nK:Dmix\n|:A|\"D\"dcd ~A2G|FGA d2A|[1 B2c d2:|[2 B2c d2||\n\n",
        "M:4/4\nL:1/8\nK:Bb\n(3ABc d2 {g}e2 f2|_e4 d2-d2|[Bd]4 [Ac]4|\nTB2 .A2 G2 z2|]\n\n",
        "M:C|\nK:Am\nA,2 B,2 C4|E8-|E8|]\n\n",
        "M:3/4\nL:1/4\nK:F\nF|A>G F|(c d) e|f2|]\n\n",
        "M:2/4\nL:1/16\nK:D\nd2e2 f4|a/b/c'/d'/ e'4 g2|f4 e4:|\n|:d8|c8:|\n\n",
    ] {
        assert_eq!(refused_at(tune), None, "{tune:?}");
        // And both readers agree it is a tune whose bars add up.
        let body = tune.trim_end();
        assert!(abc_to_score(body).is_ok(), "{tune:?}");
        assert!(bar_check(body).unwrap().adds_up(), "{tune:?}");
    }
    // The machine counts finished tunes and starts the next header.
    let mut m = Machine::default();
    for c in "M:2/4\nL:1/8\nK:G\nGABc|d4|e4|]\n\nM:".chars() {
        assert!(m.feed(c), "{c:?}");
    }
    assert_eq!(m.tunes, 1);
}

#[test]
fn refuses_what_would_break_a_bar() {
    let head = "M:2/4\nL:1/8\nK:G\n";
    let at = |body: &str| refused_at(&format!("{head}{body}")).map(|i| i - head.len());
    // A note that overflows the bar: "cde" leaves one eighth, so "c2" cannot be written there.
    assert_eq!(at("GAB|cdec2"), Some(8));
    assert_eq!(at("GA|Bc d4"), Some(7));
    // ... but "c3" may, on its way to "c3/2" where an eighth and a half are left.
    assert_eq!(at("GABc|d/e3/2|"), None);
    // A bar line before the bar is full fails when the bar line is complete (`|` may still
    // become `||`); the first bar is a pick-up and may be short.
    assert_eq!(at("G|ABcd|e"), None);
    assert_eq!(at("G|ABc2|d|e"), Some(9));
    // ... and a short bar may close a section.
    assert_eq!(at("G|ABc2|d:|\n"), None);
    assert_eq!(at("G|ABc2|d|]\n"), None);
    // Broken rhythm must fit, and its second note must follow in the bar.
    assert_eq!(at("GABc>d"), Some(4));
    assert_eq!(at("GAB>c|"), None);
    assert_eq!(at("GABc|dA>B|c"), Some(10));
    assert_eq!(at("GABc|dA>|"), Some(8));
    // A tuplet stays within its bar and its notes.
    assert_eq!(at("G(3AB|"), Some(5));
    assert_eq!(at("GA(3Bcd|"), None);
    // Only `(2`, `(3`, `(4`: nothing the reader would read as a longer mark (`(3:2`, `(34`).
    assert_eq!(at("GA(3:"), Some(4));
    assert_eq!(at("GA(34"), Some(4));
    // A line ends after a bar line or in the middle of a bar (which runs on), not on a full
    // bar without its bar line; no trailing spaces.
    assert_eq!(at("GABc\n"), Some(4));
    assert_eq!(at("GA\nBc|d4|\n"), None);
    assert_eq!(at("GA\nBcd|"), Some(5));
    assert_eq!(at("GABc| \n"), Some(6));
    // Open brackets: chords and quotes cannot hold bar lines.
    assert_eq!(at("GA[Bc|"), Some(5));
    assert_eq!(at("GA\"G|"), Some(4));
    // No decorated accidentals, no body fields, tuplet notes of 1, 2 or 4 units.
    assert_eq!(at("~^G"), Some(1));
    assert_eq!(at("GABc|\nM:3/4"), Some(6));
    assert_eq!(at("(3G3"), Some(3));
    // A letter and a colon at the start of a line would make a field line.
    assert_eq!(at("GABc|\nc::d"), Some(7));
    // A rest cannot be tied to, and nothing is tied from a rest.
    assert_eq!(at("GABc-|z4"), Some(6));
    assert_eq!(at("GABz-"), Some(4));
    // Bar lines are read as the reader reads them: `:||` and `:|]` are one bar line to it (so
    // `:|` then `|:` cannot be written as `:||:`), and `::` is not written at all; `:|` then a
    // note, or a line break and `|:`, is.
    assert_eq!(at("|:GABc:||:"), Some(8));
    assert_eq!(at("|:GABc:|]"), Some(8));
    assert_eq!(at("|:GABc::"), Some(7));
    assert_eq!(at("|:GABc:|\n|:d4"), None);
    assert_eq!(at("|:GABc:|d4|"), None);
    // Pitches are read as the reader reads them (`NoteSign`), and the machine writes its
    // whitelist: one kind of accidental, at most two signs (one in a chord or grace notes), no
    // microtone, at most two octave marks in the letter's direction.
    assert_eq!(at("^^F_BGA|"), None);
    assert_eq!(at("^^^F"), Some(2));
    assert_eq!(at("^_F"), Some(1));
    assert_eq!(at("==F"), Some(1));
    assert_eq!(at("^3/4F"), Some(1));
    assert_eq!(at("c''C,,GA|"), None);
    assert_eq!(at("c'''"), Some(3));
    assert_eq!(at("c,"), Some(1));
    assert_eq!(at("C'"), Some(1));
    assert_eq!(at("[^F=Ac'] B2|"), None);
    assert_eq!(at("[^^F"), Some(2));
    assert_eq!(at("[^]"), Some(2));
    assert_eq!(at("[CEGce]"), Some(5));
    assert_eq!(at("{^g,}"), Some(3));
    assert_eq!(at("{^ga}G"), None);
    // A broken rhythm is a single `>` or `<`: the reader reads `>>` as one sign of another value.
    assert_eq!(at("GA>>B"), Some(3));
    assert_eq!(at("GA<B c|"), None);
    // Header values come from the whitelists.
    assert_eq!(refused_at("M:none\n"), Some(2));
    assert_eq!(refused_at("M:2/4\nL:3/8\n"), Some(8));
    assert_eq!(refused_at("M:2/4\nK:H\n"), Some(8));
}

#[test]
fn a_tune_ends_only_when_nothing_is_left_open() {
    let head = "M:2/4\nL:1/8\nK:G\n";
    let ends = |body: &str| accepts(&format!("{head}{body}\n\n"));
    assert!(ends("GABc|B4|d4|]"));
    assert!(
        !ends("GABc||d4|]"),
        "music21 needs two plain bar lines to make measures"
    );
    assert!(!ends("GABc|B4|d4::c4|]"), "no `::`");
    assert!(!ends("GABc|"), "two bars at least");
    assert!(
        ends("GABc|B4|d2\nc2|e2"),
        "a short closing bar, as Essen tunes end"
    );
    assert!(!ends("GABc|B4|(d4|]"), "an open slur");
    assert!(!ends("GABc|B4|d4-|]"), "a tie to nothing");
    assert!(!ends("|:GABc|B4|d4|]"), "a repeat never closed");
    assert!(!ends("GABc|B4|1d4:|"), "a first ending without a second");
    assert!(ends("GABc|B4|1d4:|2d2c2|]"));
    assert!(
        !ends("GABc|B4|1d4||"),
        "a first ending closed by a double bar"
    );
}

/// Draws characters uniformly from what the constraint allows (a worst-case "model" that explores
/// every corner), with `budget` steps, until the blank line that ends the tune.
fn random_tune(seed: u64, budget: usize) -> (String, AbcConstraint) {
    random_tune_after("", seed, budget)
}

/// [`random_tune`] after a given start (the start is not counted in the budget).
fn random_tune_after(start: &str, seed: u64, budget: usize) -> (String, AbcConstraint) {
    walk(start, &crate::generate::Form::Free, 0.0, seed, budget)
}

/// Walks a test makes: `TUNESMITH_WALKS`, else `default`.
pub(super) fn walks_or(default: u64) -> u64 {
    std::env::var("TUNESMITH_WALKS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(default)
}

/// The tune of a finished walk, trimmed, after checking that the constraint stayed on, that the
/// walk ended with a blank line and that the reader finds every bar adding up.
pub(super) fn finished_tune<'t>(seed: u64, text: &'t str, constraint: &AbcConstraint) -> &'t str {
    assert_eq!(constraint.off_reason(), None, "seed {seed}: {text:?}");
    assert!(
        text.ends_with("\n\n"),
        "seed {seed} did not finish: {text:?}"
    );
    let tune = text.trim_end();
    let check = bar_check(tune).unwrap_or_else(|e| panic!("seed {seed}: {e:#}\n{tune}"));
    assert!(check.adds_up(), "seed {seed}: {check:?}\n{tune}");
    tune
}

/// [`random_walk`] with the test alphabet after `start` under `form`; panics, showing the
/// machine, if the constraint ever allows nothing.
pub(super) fn walk(
    start: &str,
    form: &crate::generate::Form,
    favour_c: f64,
    seed: u64,
    budget: usize,
) -> (String, AbcConstraint) {
    random_walk(&vocab(), start, form, favour_c, seed, budget).unwrap_or_else(|e| panic!("{e:#}"))
}

#[test]
fn random_walks_under_the_constraint_always_make_tunes_whose_bars_add_up() {
    let no_repeats = AbcToScoreOptions {
        expand_repeats: false,
        ..AbcToScoreOptions::default()
    };
    let mut lengths = Vec::new();
    for seed in 0..walks_or(300) {
        let (text, constraint) = random_tune(seed, 400);
        let tune = finished_tune(seed, &text, &constraint);
        abc_to_score(tune).unwrap_or_else(|e| panic!("seed {seed}: {e:#}\n{tune}"));
        abc_to_score_with(tune, &no_repeats).unwrap_or_else(|e| panic!("seed {seed}: {e:#}"));
        lengths.push(text.len());
    }
    // The walks are not all trivially short.
    assert!(lengths.iter().any(|&n| n > 200), "{lengths:?}");
}

#[test]
fn with_few_steps_left_the_tune_is_steered_to_an_end() {
    // A tight budget still ends every tune with a blank line (in a common meter and unit: a
    // bar of 7/8 in 1/32 notes takes the random walk more than 120 characters to fill).
    for seed in 0..50 {
        let (text, constraint) = random_tune_after("M:6/8\nL:1/8\nK:G\n", seed, 120);
        assert_eq!(constraint.off_reason(), None);
        assert!(text.ends_with("\n\n"), "seed {seed}: {text:?}");
    }
}

#[test]
fn an_unreadable_primer_turns_the_constraint_off_and_says_why() {
    let mut constraint = AbcConstraint::new(&vocab());
    constraint.follow("M:none\nK:G\n");
    assert!(constraint
        .off_reason()
        .is_some_and(|r| r.contains("character 3")));
    let mut allowed = vec![false; vocab().len()];
    constraint.allowed(&mut allowed, 100);
    assert!(allowed.iter().all(|&a| a));
    // A vocabulary without bar lines cannot finish a bar: the constraint steps aside.
    let small = CharVocab::from_texts(["ABcd"]);
    let mut constraint = AbcConstraint::new(&small);
    constraint.follow("M:2/4\nL:1/8\nK:G\n");
    let mut allowed = vec![false; small.len()];
    for _ in 0..100 {
        constraint.allowed(&mut allowed, 1000);
        let first = allowed.iter().position(|&a| a).unwrap_or(0);
        constraint.push(first as i64);
        if constraint.off_reason().is_some() {
            break;
        }
    }
    assert!(constraint
        .off_reason()
        .is_some_and(|r| r.contains("no character")));
}

#[test]
fn the_resampling_weight_counts_only_the_draws_where_the_mask_took_more_than_half() {
    let mut constraint = AbcConstraint::new(&vocab());
    for share in [0.9_f64, 0.2, 0.6, 0.05] {
        constraint.record_kept_probability(share.ln());
    }
    let exact = (0.9_f64 * 0.2 * 0.6 * 0.05).ln();
    assert!((constraint.log_kept_probability() - exact).abs() < 1e-12);
    let decisive = (0.2_f64 * 0.05).ln();
    assert!((constraint.resampling_log_weight() - decisive).abs() < 1e-12);
}

//! One tiny tune per construct, with hand-written expected notes.

use super::*;

/// (pitch, start, duration) of the melody's notes.
pub(super) type N = (u8, u32, u32);

pub(super) fn convert(tune: &str, opts: &AbcToScoreOptions) -> Vec<N> {
    let score = abc_to_score_with(tune, opts).unwrap_or_else(|e| panic!("{e:#}\n{tune}"));
    score.tracks[0]
        .notes
        .iter()
        .map(|n| (n.pitch, n.start, n.duration))
        .collect()
}

/// Notes of `body` under `X:1 M:4/4 L:1/4 K:C` (one unit = a quarter = 480 ticks).
pub(super) fn q(body: &str) -> Vec<N> {
    convert(
        &format!("X:1\nM:4/4\nL:1/4\nK:C\n{body}\n"),
        &AbcToScoreOptions::default(),
    )
}

/// Notes of `body` under `X:1 M:4/4 L:1/8 K:C` (one unit = an eighth = 240 ticks).
pub(super) fn e(body: &str) -> Vec<N> {
    convert(
        &format!("X:1\nM:4/4\nL:1/8\nK:C\n{body}\n"),
        &AbcToScoreOptions::default(),
    )
}

/// Like [`q`] without repeat expansion.
pub(super) fn q_as_written(body: &str) -> Vec<N> {
    let opts = AbcToScoreOptions {
        expand_repeats: false,
        ..AbcToScoreOptions::default()
    };
    convert(&format!("X:1\nM:4/4\nL:1/4\nK:C\n{body}\n"), &opts)
}

pub(super) fn pitches(notes: &[N]) -> Vec<u8> {
    notes.iter().map(|n| n.0).collect()
}

/// Pitches of `CDEFGAB` in key `key`.
pub(super) fn scale(key: &str) -> Vec<u8> {
    pitches(&convert(
        &format!("X:1\nL:1/4\nK:{key}\nCDEFGAB|\n"),
        &AbcToScoreOptions::default(),
    ))
}

/// Quarter notes of the given pitches, one after another.
pub(super) fn quarters(pitches: &[u8]) -> Vec<N> {
    pitches
        .iter()
        .enumerate()
        .map(|(i, &p)| (p, 480 * i as u32, 480))
        .collect()
}

pub(super) fn error(tune: &str) -> String {
    format!("{:#}", abc_to_score(tune).expect_err("expected an error"))
}

pub(super) fn score(tune: &str) -> Score {
    abc_to_score(tune).unwrap()
}

// ---- notes, octaves, accidentals -------------------------------------------------

#[test]
fn octaves() {
    assert_eq!(q("C c C, c' C,, c''"), quarters(&[60, 72, 48, 84, 36, 96]));
}

#[test]
fn accidentals() {
    assert_eq!(q("^C _D =E ^^F | __B"), quarters(&[61, 61, 64, 67, 69]));
}

#[test]
fn accidental_lasts_to_the_end_of_the_bar() {
    assert_eq!(q("^F F G | F"), quarters(&[66, 66, 67, 65]));
}

#[test]
fn accidental_applies_to_its_octave_only() {
    assert_eq!(q("^c C c C,"), quarters(&[73, 60, 73, 48]));
}

#[test]
fn natural_cancels_the_key_until_the_bar_line() {
    let notes = convert(
        "X:1\nL:1/4\nK:G\nF =F F | F\n",
        &AbcToScoreOptions::default(),
    );
    assert_eq!(notes, quarters(&[66, 65, 65, 66]));
}

#[test]
fn chord_accidentals_carry_to_later_notes() {
    assert_eq!(
        q("[^FA] F"),
        vec![(66, 0, 480), (69, 0, 480), (66, 480, 480)]
    );
}

// ---- lengths ------------------------------------------------------------------------

#[test]
fn lengths() {
    let expected = vec![
        (69, 0, 480),
        (69, 480, 120),
        (69, 600, 120),
        (69, 720, 60),
        (69, 780, 360),
        (69, 1140, 240),
    ];
    assert_eq!(e("A2 A/2 A/ A// A3/2 A"), expected);
}

#[test]
fn broken_rhythm() {
    let expected = vec![
        (69, 0, 360),
        (71, 360, 120),
        (72, 480, 120),
        (74, 600, 360),
        (76, 960, 420),
        (77, 1380, 60),
        (79, 1440, 60),
        (81, 1500, 420),
    ];
    assert_eq!(e("A>B c<d e>>f g<<a"), expected);
}

#[test]
fn broken_rhythm_across_a_line_break_and_decorations() {
    assert_eq!(e("A>\n.B"), vec![(69, 0, 360), (71, 360, 120)]);
}

#[test]
fn rests() {
    assert_eq!(q("z C x2 D"), vec![(60, 480, 480), (62, 1920, 480)]);
}

#[test]
fn multi_measure_rests() {
    assert_eq!(q("Z2 | C | Z | D"), vec![(60, 3840, 480), (62, 6240, 480)]);
    let six_eight = convert(
        "X:1\nM:6/8\nL:1/8\nK:C\nZ | C\n",
        &AbcToScoreOptions::default(),
    );
    assert_eq!(six_eight, vec![(60, 1440, 240)]);
}

// ---- tuplets --------------------------------------------------------------------------

#[test]
fn triplet() {
    assert_eq!(
        e("(3abc' d"),
        vec![(81, 0, 160), (83, 160, 160), (84, 320, 160), (74, 480, 240)]
    );
}

#[test]
fn duplet_and_quintuplet_defaults() {
    assert_eq!(e("(2ab"), vec![(81, 0, 360), (83, 360, 360)]);
    let five = e("(5CDEFG A");
    assert_eq!(pitches(&five), [60, 62, 64, 65, 67, 69]);
    assert_eq!(
        five.iter().map(|n| n.2).collect::<Vec<_>>(),
        [96, 96, 96, 96, 96, 240]
    );
}

#[test]
fn quintuplet_in_compound_meter_takes_three() {
    let notes = convert(
        "X:1\nM:6/8\nL:1/8\nK:C\n(5CDEFG A\n",
        &AbcToScoreOptions::default(),
    );
    assert_eq!(
        notes.iter().map(|n| n.1).collect::<Vec<_>>(),
        [0, 144, 288, 432, 576, 720]
    );
}

#[test]
fn general_tuplet_p_q_r() {
    let notes = e("(3:2:4 CDEF G");
    assert_eq!(
        notes.iter().map(|n| (n.1, n.2)).collect::<Vec<_>>(),
        [(0, 160), (160, 160), (320, 160), (480, 160), (640, 240)]
    );
    assert_eq!(
        e("(3::2 C2D E").iter().map(|n| n.1).collect::<Vec<_>>(),
        [0, 320, 480]
    );
}

#[test]
fn tuplet_counts_rests_and_chords() {
    assert_eq!(
        e("(3z[CE]D F"),
        vec![
            (60, 160, 160),
            (64, 160, 160),
            (62, 320, 160),
            (65, 480, 240)
        ]
    );
}

#[test]
fn tuplet_with_unequal_notes() {
    assert_eq!(e("(3a2b"), vec![(81, 0, 320), (83, 320, 160)]);
}

// ---- ties ------------------------------------------------------------------------------

#[test]
fn tie_merges_notes() {
    assert_eq!(q("C-C D"), vec![(60, 0, 960), (62, 960, 480)]);
    assert_eq!(q("C-C-C"), vec![(60, 0, 1440)]);
}

#[test]
fn tie_across_a_bar_line_and_a_line_break() {
    assert_eq!(q("C2-|C D"), vec![(60, 0, 1440), (62, 1440, 480)]);
    assert_eq!(q("C-\nC"), vec![(60, 0, 960)]);
}

#[test]
fn tie_keeps_the_accidental_across_the_bar() {
    assert_eq!(q("^C-|C C"), vec![(61, 0, 960), (60, 960, 480)]);
}

#[test]
fn an_accidental_at_the_end_of_a_line_goes_to_the_next_note() {
    assert_eq!(pitches(&q("C D ^\nF G")), [60, 62, 66, 67]);
}

#[test]
fn tie_between_different_pitches_is_ignored() {
    assert_eq!(q("C-D"), quarters(&[60, 62]));
}

#[test]
fn ties_in_chords() {
    assert_eq!(q("[CE]-[CE]"), vec![(60, 0, 960), (64, 0, 960)]);
    assert_eq!(
        q("[C-E][CG]"),
        vec![(60, 0, 960), (64, 0, 480), (67, 480, 480)]
    );
}

// ---- chords ------------------------------------------------------------------------------

#[test]
fn chord_lengths() {
    let expected = vec![
        (60, 0, 960),
        (64, 0, 960),
        (67, 0, 960),
        (60, 960, 960),
        (64, 960, 960),
        (60, 1920, 240),
        (64, 1920, 240),
        (60, 2160, 960),
        (64, 2160, 960),
    ];
    assert_eq!(q("[CEG]2 [C2E2] [CE]/ [C2E]"), expected);
}

#[test]
fn chord_length_inside_and_after() {
    assert_eq!(
        q("[C/E/]4 D"),
        vec![(60, 0, 960), (64, 0, 960), (62, 960, 480)]
    );
}

// ---- things that take no time ----------------------------------------------------------------

#[test]
fn grace_notes_take_no_time() {
    assert_eq!(q("{ABc}C {/A}D"), quarters(&[60, 62]));
    // Read by the shared pitch and length tokenizers: accidentals, octave marks and lengths.
    assert_eq!(q("{^f'2e/ _B,,}C {g a}D"), quarters(&[60, 62]));
}

#[test]
fn decorations_are_ignored() {
    let body = "~C .D HE LF MG OA PB SC TD uE vF !trill!G +fermata+A !>!B";
    assert_eq!(
        pitches(&q(body)),
        [60, 62, 64, 65, 67, 69, 71, 60, 62, 64, 65, 67, 69, 71]
    );
}

#[test]
fn chord_symbols_and_annotations_are_ignored() {
    assert_eq!(
        q("\"Am\"A \"^annotation\"B \"G7\"[GB]"),
        vec![(69, 0, 480), (71, 480, 480), (67, 960, 480), (71, 960, 480)]
    );
}

#[test]
fn slurs_are_not_tuplets() {
    assert_eq!(
        e("(AB) (3ABc (d e)")
            .iter()
            .map(|n| n.2)
            .collect::<Vec<_>>(),
        [240, 240, 160, 160, 160, 240, 240]
    );
}

#[test]
fn voice_overlay_is_skipped() {
    assert_eq!(q("C D & E F | G"), quarters(&[60, 62, 67]));
}

// ---- bar lines and repeats ----------------------------------------------------------------

#[test]
fn bar_lines_without_expansion() {
    let notes = q_as_written("C|D||E|]F[|G|:A:|B::c|1d:|2e[1f[2g|]");
    assert_eq!(
        notes,
        quarters(&[60, 62, 64, 65, 67, 69, 71, 72, 74, 76, 77, 79])
    );
}

#[test]
fn simple_repeat() {
    assert_eq!(q("|: C D :| E"), quarters(&[60, 62, 60, 62, 64]));
}

#[test]
fn repeat_without_start_goes_to_the_beginning() {
    assert_eq!(q("C D :| E"), quarters(&[60, 62, 60, 62, 64]));
}

#[test]
fn repeat_without_start_goes_to_the_last_double_bar() {
    assert_eq!(q("C || D E :| F"), quarters(&[60, 62, 64, 62, 64, 65]));
}

#[test]
fn repeat_after_a_repeat_goes_back_to_it() {
    assert_eq!(q("C :| D :|"), quarters(&[60, 60, 62, 62]));
}

#[test]
fn double_colon_ends_and_starts() {
    assert_eq!(q("|: C :: D :|"), quarters(&[60, 60, 62, 62]));
    assert_eq!(q("|: C :|: D :|"), quarters(&[60, 60, 62, 62]));
}

#[test]
fn first_and_second_endings() {
    assert_eq!(q("|: C |1 D :|2 E |] F"), quarters(&[60, 62, 60, 64, 65]));
    assert_eq!(q("|: C [1 D :| [2 E || F"), quarters(&[60, 62, 60, 64, 65]));
}

#[test]
fn endings_for_several_passes() {
    assert_eq!(
        q("|: C |1,2 D :|3 E |]"),
        quarters(&[60, 62, 60, 62, 60, 64])
    );
    assert_eq!(
        q("|: C [1-2 D :| [3 E |]"),
        quarters(&[60, 62, 60, 62, 60, 64])
    );
}

#[test]
fn two_repeated_parts_with_endings() {
    let expected = quarters(&[60, 62, 60, 64, 65, 67, 65, 69]);
    assert_eq!(q("|: C |1 D :|2 E || |: F |1 G :|2 A |]"), expected);
}

#[test]
fn repeat_sign_after_the_last_ending_closes_the_section() {
    let expected = quarters(&[60, 62, 60, 64, 65, 67, 65, 69]);
    assert_eq!(q("C |1 D :|2 E :| F |1 G :|2 A :|"), expected);
}

#[test]
fn second_ending_without_first_time_bar() {
    assert_eq!(q("|: C |1 D :| E"), quarters(&[60, 62, 60, 64]));
}

#[test]
fn repeat_replays_key_changes() {
    assert_eq!(q("|: F [K:G] F :|"), quarters(&[65, 66, 66, 66]));
}

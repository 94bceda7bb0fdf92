//! ABC → Score → ABC → Score gives the same notes, and every written bar adds up.

use super::*;
use crate::abc::abc_to_score;
use crate::abc::to_score::{bar_check, BarFit};
use crate::score::{Note, TimeSignature, Track};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Writes `score`, reads the result back and checks that the notes are the same and that every
/// bar adds up (a short bar only where a pick-up allows one). Returns the written tune.
fn assert_round_trip(score: &Score, options: &ScoreToAbcOptions) -> String {
    let written = score_to_abc(score, options).unwrap_or_else(|e| panic!("{e:#}"));
    let again = abc_to_score(&written).unwrap_or_else(|e| panic!("{e:#}\n{written}"));
    assert_eq!(
        again.note_timings(),
        score.note_timings(),
        "notes changed; written:\n{written}"
    );
    let check = bar_check(&written).unwrap_or_else(|e| panic!("{e:#}\n{written}"));
    assert!(check.adds_up(), "bars do not add up:\n{written}\n{check:?}");
    let short_bars = check.bars.iter().filter(|b| b.fit != BarFit::Full).count();
    let short_allowed = if options.anacrusis_ticks > 0 { 2 } else { 0 };
    assert!(
        short_bars <= short_allowed,
        "{short_bars} short bars:\n{written}"
    );
    written
}

/// [`assert_round_trip`] for a tune read from ABC; the tune must have notes.
fn assert_abc_round_trip(tune: &str, options: &ScoreToAbcOptions) -> String {
    let score = abc_to_score(tune).unwrap_or_else(|e| panic!("{e:#}\n{tune}"));
    assert!(score.note_count() > 0, "the fixture has no notes: {tune}");
    assert_round_trip(&score, options)
}

/// The music lines of a written tune (everything after the `K:` line).
fn music(abc: &str) -> &str {
    abc.split_once("\nK:")
        .and_then(|(_, rest)| rest.split_once('\n'))
        .map_or("", |(_, music)| music)
}

/// A quaver at 480 ticks per quarter.
const EIGHTH: u32 = 240;

#[test]
fn jig_in_six_eight_with_a_pickup_and_repeats() {
    let jig = "X:1\nT:Jig\nM:6/8\nL:1/8\nK:D\n\
               A|dfa afd|gfe dcB|AFA dAF|GEC D2:|\n\
               |:g|fdf afd|gbg ece|faf ged|cAc d2:|\n";
    let options = ScoreToAbcOptions {
        anacrusis_ticks: EIGHTH,
        ..ScoreToAbcOptions::default()
    };
    let written = assert_abc_round_trip(jig, &options);
    assert!(written.contains("M:6/8\nL:1/8\n"), "{written}");
    assert!(written.contains("K:D\n"), "{written}");
    assert!(
        music(&written).starts_with("A | dfa afd | gfe dcB |"),
        "{written}"
    );
    assert!(music(&written).ends_with("cAc d2 |]\n"), "{written}");
}

#[test]
fn waltz_in_three_four_with_a_pickup_a_tie_and_a_natural() {
    let waltz = "X:1\nT:Waltz\nM:3/4\nL:1/8\nK:G\n\
                 D2|G4 B2|d4 B2|c2 B2 A2|G6|=F2 G2 A2|B4 ^A2|B6-|B4|]\n";
    // Pinned: the estimate hears this short tune in B minor.
    let options = ScoreToAbcOptions {
        anacrusis_ticks: 2 * EIGHTH,
        key: KeyChoice::Fixed {
            fifths: 1,
            minor: false,
        },
        ..ScoreToAbcOptions::default()
    };
    let written = assert_abc_round_trip(waltz, &options);
    assert!(written.contains("K:G\n"), "{written}");
    // The pick-up counts as a bar of the line; the last bar is the pick-up's complement. The A
    // sharp comes back as B flat: spelling goes by the key, not by the melody.
    assert!(
        music(&written).ends_with("G6 | =F2 G2 A2 | B4 _B2 | B6- |\nB4 |]\n"),
        "{written}"
    );
}

#[test]
fn reel_in_a_flat_key_with_carried_accidentals_rests_and_dotted_notes() {
    let reel = "X:1\nT:Reel\nM:4/4\nL:1/8\nK:Bb\n\
                B,2DF B2dB|=e2 e2 f2z2|_e/d/c/B/ A>G F2 =B,2|B,8|]\n";
    let options = ScoreToAbcOptions {
        key: KeyChoice::Fixed {
            fifths: -2,
            minor: false,
        },
        accidentals: AccidentalStyle::CarriedInBar,
        ..ScoreToAbcOptions::default()
    };
    let written = assert_abc_round_trip(reel, &options);
    // Mostly sixteenths and dotted eighths: the unit that writes them shortest is 1/16.
    assert!(written.contains("L:1/16\n"), "{written}");
    // The natural holds to the bar line, so the second e needs none; the next bar's e is flat.
    assert!(
        written.contains("=e4 e4 f4 z4 | edcB A3G F4 =B,4"),
        "{written}"
    );
    let in_eighths = ScoreToAbcOptions {
        unit_denominator: Some(8),
        ..options
    };
    let written = assert_abc_round_trip(reel, &in_eighths);
    assert!(
        written.contains("e/2d/2c/2B/2 A3/2G/2 F2 =B,2"),
        "{written}"
    );
}

#[test]
fn minor_key_with_four_flats_chords_and_rests() {
    let tune = "X:1\nT:Chords\nM:2/4\nL:1/16\nK:Fm\n[FAc]4 z2 =A2|[EGB]8|c3d =e4|[Fc]8|]\n";
    let written = assert_abc_round_trip(tune, &ScoreToAbcOptions::default());
    // A natural against the flat of the signature; the rest and the A share the second beat.
    assert!(written.contains("[FAc]4 z2=A2 | [EGB]8"), "{written}");
}

#[test]
fn sharp_keys_double_sharps_and_every_octave() {
    let tune = "X:1\nM:4/4\nL:1/8\nK:E\nE,,2 E,2 E2 e2|e'2 ^^F2 =G2 ^G2|B,,8|]\n";
    let written = assert_abc_round_trip(tune, &ScoreToAbcOptions::default());
    assert!(written.contains("E,,2 E,2 E2 e2 | e'2"), "{written}");
}

#[test]
fn meter_changes_start_a_line_with_an_m_field() {
    let tune = "X:1\nM:2/4\nL:1/8\nK:C\nCDEF|GABc|[M:3/4]c2B2A2|G6|]\n";
    let written = assert_abc_round_trip(tune, &ScoreToAbcOptions::default());
    assert!(written.contains("|\nM:3/4\nc2 B2 A2 | G6 |]"), "{written}");
}

#[test]
fn ties_and_first_and_second_endings() {
    let tune = "X:1\nM:4/4\nL:1/8\nK:Am\n|:A2 c2 e4-|e2 d2 c2 B2|1 A8:|2 A4 z4|]\n";
    assert_abc_round_trip(tune, &ScoreToAbcOptions::default());
}

#[test]
fn triplets_are_rounded_to_the_grid() {
    let tune = "X:1\nM:2/4\nL:1/8\nK:C\n(3CDE F2|G4|]\n";
    let score = abc_to_score(tune).unwrap();
    let written = score_to_abc(&score, &ScoreToAbcOptions::default()).unwrap();
    let again = abc_to_score(&written).unwrap();
    let sixteenth = 120;
    let timings = again.note_timings();
    assert_eq!(timings.len(), 5, "{written}");
    let on_grid = |&(_, start, duration): &(u8, u32, u32)| {
        start.is_multiple_of(sixteenth) && duration.is_multiple_of(sixteenth)
    };
    assert!(timings.iter().all(on_grid), "{written}");
    assert!(bar_check(&written).unwrap().adds_up(), "{written}");
}

/// Random notes on a sixteenth grid: pitches never overlap themselves, chords and notes of
/// different lengths overlap freely, gaps leave rests.
fn random_score(rng: &mut ChaCha8Rng) -> Score {
    const METERS: [(u8, u8); 6] = [(4, 4), (3, 4), (6, 8), (2, 2), (5, 4), (9, 8)];
    let (numerator, denominator) = METERS[rng.random_range(0..METERS.len())];
    let sixteenth = 120;
    let mut free_from = [0u32; 128];
    let mut notes = Vec::new();
    let mut step = 0u32;
    for _ in 0..rng.random_range(1..40) {
        step += rng.random_range(0..6);
        for _ in 0..rng.random_range(1..4) {
            let pitch = rng.random_range(24..=100u8);
            if free_from[usize::from(pitch)] > step {
                continue;
            }
            let length = rng.random_range(1..20u32);
            free_from[usize::from(pitch)] = step + length;
            notes.push(Note::new(pitch, step * sixteenth, length * sixteenth));
        }
    }
    let mut score = Score::new(480);
    score.time_signatures = vec![TimeSignature {
        tick: 0,
        numerator,
        denominator,
    }];
    score.tracks.push(Track {
        notes,
        ..Track::default()
    });
    score.sort();
    score
}

#[test]
fn random_polyphony_survives_in_every_key() {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    for case in 0..300 {
        let score = random_score(&mut rng);
        let key = if case % 4 == 0 {
            KeyChoice::Estimate
        } else {
            KeyChoice::Fixed {
                fifths: rng.random_range(-7..=7),
                minor: rng.random_bool(0.5),
            }
        };
        let accidentals = if case % 2 == 0 {
            AccidentalStyle::Explicit
        } else {
            AccidentalStyle::CarriedInBar
        };
        let options = ScoreToAbcOptions {
            key,
            accidentals,
            bars_per_line: rng.random_range(1..6),
            ..ScoreToAbcOptions::default()
        };
        assert_round_trip(&score, &options);
    }
}

#[test]
fn random_scores_on_a_thirty_second_grid_with_a_fixed_unit() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for _ in 0..50 {
        let mut score = random_score(&mut rng);
        // Shift everything by a thirty-second note: off the sixteenth grid, on the finer one.
        for note in &mut score.tracks[0].notes {
            note.start += 60;
        }
        let options = ScoreToAbcOptions {
            grid_denominator: 32,
            unit_denominator: Some(16),
            ..ScoreToAbcOptions::default()
        };
        let written = assert_round_trip(&score, &options);
        assert!(written.contains("L:1/16\n"), "{written}");
    }
}

#[test]
fn midi_like_scores_keep_every_pitched_onset() {
    for seed in 0..6 {
        let score = crate::score::synthetic_score(seed, 150);
        let sixteenth = u32::from(score.ticks_per_quarter / 4);
        let rounded_onset = |tick: u32| (tick + sixteenth / 2) / sixteenth * sixteenth;
        let mut expected: Vec<(u8, u32)> = score
            .tracks
            .iter()
            .filter(|t| !t.is_drum)
            .flat_map(|t| &t.notes)
            .map(|n| (n.pitch, rounded_onset(n.start)))
            .collect();
        expected.sort_unstable();
        expected.dedup();
        let written = score_to_abc(&score, &ScoreToAbcOptions::default()).unwrap();
        let again = abc_to_score(&written).unwrap_or_else(|e| panic!("{e:#}\n{written}"));
        let onsets: Vec<(u8, u32)> = again.note_timings().iter().map(|n| (n.0, n.1)).collect();
        assert_eq!(onsets, expected, "seed {seed}:\n{written}");
        let check = bar_check(&written).unwrap();
        assert!(check.adds_up(), "seed {seed}:\n{written}");
        assert!(
            written.contains("M:4/4\n") && written.contains("\nM:"),
            "{written}"
        );

        let melody = ScoreToAbcOptions {
            chords: ChordMode::TopNote,
            ..ScoreToAbcOptions::default()
        };
        let written = score_to_abc(&score, &melody).unwrap();
        let mut line = abc_to_score(&written).unwrap().note_timings();
        line.sort_by_key(|&(_, start, _)| start);
        assert!(!written.contains('['), "a melody has no chords:\n{written}");
        assert!(
            line.windows(2).all(|w| w[0].1 + w[0].2 <= w[1].1),
            "{written}"
        );
    }
}

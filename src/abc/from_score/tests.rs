//! Hand-built scores: what is written, note by note, and the errors.

use super::*;
use crate::abc::abc_to_score;
use crate::abc::to_score::{bar_check, BarFit};
use crate::score::{Note, TempoChange, TimeSignature, Track};

const QUARTER: u32 = 480;

fn note(pitch: u8, start: u32, duration: u32) -> Note {
    Note::new(pitch, start, duration)
}

/// A 480-ticks-per-quarter score with one track of these notes and the given meter.
fn score_of(notes: Vec<Note>, meter: Option<(u8, u8)>) -> Score {
    let mut score = Score::new(480);
    score.time_signatures = meter
        .map(|(numerator, denominator)| TimeSignature {
            tick: 0,
            numerator,
            denominator,
        })
        .into_iter()
        .collect();
    score.tracks.push(Track {
        name: "Melody".to_string(),
        notes,
        ..Track::default()
    });
    score.sort();
    score
}

fn in_c() -> ScoreToAbcOptions {
    ScoreToAbcOptions {
        key: KeyChoice::Fixed {
            fifths: 0,
            minor: false,
        },
        ..ScoreToAbcOptions::default()
    }
}

fn write(score: &Score, options: &ScoreToAbcOptions) -> String {
    score_to_abc(score, options).unwrap_or_else(|e| panic!("{e:#}"))
}

/// The music lines of a written tune (everything after the `K:` line).
fn music(abc: &str) -> String {
    abc.split_once("\nK:")
        .and_then(|(_, rest)| rest.split_once('\n'))
        .map_or(String::new(), |(_, music)| music.to_string())
}

fn error(score: &Score, options: &ScoreToAbcOptions) -> String {
    format!(
        "{:#}",
        score_to_abc(score, options).expect_err("expected an error")
    )
}

#[test]
fn chord_rest_and_a_note_across_the_bar_line() {
    let score = score_of(
        vec![
            note(60, 0, QUARTER),
            note(64, 0, QUARTER),
            note(67, 0, QUARTER),
            note(62, 2 * QUARTER, QUARTER),
            note(65, 3 * QUARTER, 2 * QUARTER),
        ],
        None,
    );
    let written = write(&score, &in_c());
    assert_eq!(
        written,
        "X:1\nT:Melody\nM:4/4\nL:1/8\nK:C\n[CEG]2 z2 D2 F2- | F2 z6 |]\n"
    );
    assert_eq!(
        abc_to_score(&written).unwrap().note_timings(),
        score.note_timings()
    );
}

#[test]
fn overlapping_notes_of_different_lengths_keep_their_lengths_through_ties() {
    let score = score_of(
        vec![
            note(60, 0, 2 * QUARTER),
            note(64, 0, QUARTER),
            note(67, QUARTER, QUARTER),
        ],
        Some((2, 4)),
    );
    let written = write(&score, &in_c());
    assert_eq!(music(&written), "[C-E]2 [CG]2 |]\n");
    assert_eq!(
        abc_to_score(&written).unwrap().note_timings(),
        score.note_timings()
    );
}

#[test]
fn a_pitch_starting_again_ends_its_earlier_note() {
    let score = score_of(
        vec![note(60, 0, 2 * QUARTER), note(60, QUARTER, QUARTER)],
        Some((2, 4)),
    );
    let written = write(&score, &in_c());
    assert_eq!(music(&written), "C2 C2 |]\n");
}

#[test]
fn top_note_mode_keeps_the_highest_onset_cut_at_the_next() {
    let score = score_of(
        vec![
            note(60, 0, 2 * QUARTER),
            note(64, 0, 2 * QUARTER),
            note(67, 0, 2 * QUARTER),
            note(62, QUARTER, QUARTER),
        ],
        Some((2, 4)),
    );
    let options = ScoreToAbcOptions {
        chords: ChordMode::TopNote,
        ..in_c()
    };
    assert_eq!(music(&write(&score, &options)), "G2 D2 |]\n");
}

#[test]
fn octaves_from_c_two_to_c_seven() {
    let pitches = [36, 48, 60, 72, 84, 96];
    let notes = (0..6).map(|i| note(pitches[i], i as u32 * QUARTER, QUARTER));
    let written = write(&score_of(notes.collect(), Some((6, 4))), &in_c());
    assert_eq!(music(&written), "C,,2 C,2 C2 c2 c'2 c''2 |]\n");
}

#[test]
fn an_accidental_holds_to_the_bar_line_and_no_further() {
    // C# C# C C | C#, eighth notes in 2/4: carried, the second C# needs no sign; the first C
    // needs a natural.
    let pitches = [61, 61, 60, 60, 61];
    let notes = (0..5).map(|i| note(pitches[i], i as u32 * QUARTER / 2, QUARTER / 2));
    let score = score_of(notes.collect(), Some((2, 4)));
    let carried = ScoreToAbcOptions {
        accidentals: AccidentalStyle::CarriedInBar,
        ..in_c()
    };
    let written = write(&score, &carried);
    assert_eq!(music(&written), "^CC =CC | ^Cz3 |]\n");
    assert_eq!(
        abc_to_score(&written).unwrap().note_timings(),
        score.note_timings()
    );
    // The explicit style repeats the sharp; the natural is needed in both.
    let written = write(&score, &in_c());
    assert_eq!(music(&written), "^C^C =CC | ^Cz3 |]\n");
    assert_eq!(
        abc_to_score(&written).unwrap().note_timings(),
        score.note_timings()
    );
}

#[test]
fn naturals_in_a_flat_key_and_the_minor_leading_note() {
    // B natural then B flat in F major: the flat must be written again inside the bar.
    let notes = vec![note(71, 0, QUARTER), note(70, QUARTER, QUARTER)];
    let f_major = ScoreToAbcOptions {
        key: KeyChoice::Fixed {
            fifths: -1,
            minor: false,
        },
        ..ScoreToAbcOptions::default()
    };
    let written = write(&score_of(notes, Some((2, 4))), &f_major);
    assert!(written.contains("K:F\n=B2 _B2 |]"), "{written}");
    // C sharp in D minor is the raised seventh, not D flat.
    let d_minor = ScoreToAbcOptions {
        key: KeyChoice::Fixed {
            fifths: -1,
            minor: true,
        },
        ..ScoreToAbcOptions::default()
    };
    let written = write(
        &score_of(vec![note(73, 0, QUARTER)], Some((1, 4))),
        &d_minor,
    );
    assert!(written.contains("K:Dm\n^c2 |]"), "{written}");
}

#[test]
fn chromatic_notes_are_spelled_nearest_the_key() {
    let quarters = |pitches: &[u8]| {
        let notes = pitches.iter().enumerate();
        let notes = notes.map(|(i, &p)| note(p, i as u32 * QUARTER, QUARTER));
        score_of(notes.collect(), Some((pitches.len() as u8, 4)))
    };
    let c_major = write(&quarters(&[61, 63, 66, 68, 70]), &in_c());
    assert_eq!(music(&c_major), "^C2 _E2 ^F2 ^G2 _B2 |]\n");
    let d_minor = ScoreToAbcOptions {
        key: KeyChoice::Fixed {
            fifths: -1,
            minor: true,
        },
        ..ScoreToAbcOptions::default()
    };
    let written = write(&quarters(&[66, 73, 71, 63]), &d_minor);
    assert_eq!(music(&written), "^F2 ^c2 =B2 _E2 |]\n");
    // C natural and B sharp are equally far from F sharp minor: the natural wins.
    let f_sharp_minor = ScoreToAbcOptions {
        key: KeyChoice::Fixed {
            fifths: 3,
            minor: true,
        },
        ..ScoreToAbcOptions::default()
    };
    let written = write(&quarters(&[72, 77]), &f_sharp_minor);
    assert!(written.contains("K:F#m\n=c2 ^e2 |]"), "{written}");
}

#[test]
fn a_tied_note_repeats_its_accidental_after_the_bar_line() {
    let score = score_of(vec![note(61, QUARTER, 2 * QUARTER)], Some((2, 4)));
    let written = write(&score, &in_c());
    assert_eq!(music(&written), "z2 ^C2- | ^C2 z2 |]\n");
    assert_eq!(
        abc_to_score(&written).unwrap().note_timings(),
        score.note_timings()
    );
}

#[test]
fn the_estimated_key_is_written() {
    // A D major scale.
    let pitches = [62, 64, 66, 67, 69, 71, 73, 74];
    let notes = (0..8).map(|i| note(pitches[i], i as u32 * QUARTER / 2, QUARTER / 2));
    let written = write(
        &score_of(notes.collect(), None),
        &ScoreToAbcOptions::default(),
    );
    assert!(written.contains("K:D\nDE FG AB cd |]"), "{written}");
}

#[test]
fn header_has_title_meter_unit_and_tempo() {
    let mut score = score_of(vec![note(67, 0, 3 * QUARTER / 2)], Some((6, 8)));
    score.tempos = vec![TempoChange {
        tick: 0,
        micros_per_quarter: 600_000,
    }];
    let options = ScoreToAbcOptions {
        title: Some("Line one\nline two".to_string()),
        ..in_c()
    };
    let written = write(&score, &options);
    assert_eq!(
        written,
        "X:1\nT:Line one line two\nM:6/8\nL:1/8\nQ:1/4=100\nK:C\nG3 z3 |]\n"
    );
}

#[test]
fn sixteenth_note_tunes_get_a_sixteenth_unit_unless_one_is_given() {
    let notes = (0..8).map(|i| note(60 + i as u8, i * QUARTER / 4, QUARTER / 4));
    let score = score_of(notes.collect(), Some((2, 4)));
    let written = write(&score, &in_c());
    assert!(written.contains("L:1/16\n"), "{written}");
    // Chromatic notes are spelled nearest the key on the line of fifths: E flat, not D sharp, in C.
    assert_eq!(music(&written), "C^CD_E =EF^FG |]\n");
    let options = ScoreToAbcOptions {
        unit_denominator: Some(4),
        ..in_c()
    };
    let written = write(&score, &options);
    assert!(written.contains("L:1/4\n"), "{written}");
    assert!(music(&written).starts_with("C/4^C/4D/4_E/4 "), "{written}");
}

#[test]
fn notes_off_the_grid_are_rounded_and_never_vanish() {
    let mut score = Score::new(96);
    score.tracks.push(Track {
        notes: vec![note(60, 25, 2), note(62, 47, 50)],
        ..Track::default()
    });
    let written = write(&score, &in_c());
    let timings = abc_to_score(&written).unwrap().note_timings();
    // 25 ticks is one sixteenth (24 ticks); 2 ticks round to none and keep one sixteenth.
    assert_eq!(timings, [(60, 120, 120), (62, 240, 240)], "{written}");
}

#[test]
fn max_bars_writes_only_the_opening() {
    let notes = (0..16).map(|i| note(60 + (i % 12) as u8, i * QUARTER, QUARTER + QUARTER / 2));
    let score = score_of(notes.collect(), Some((4, 4)));
    let options = ScoreToAbcOptions {
        max_bars: Some(2),
        ..in_c()
    };
    let written = write(&score, &options);
    let check = bar_check(&written).unwrap();
    assert_eq!(check.bars.len(), 2, "{written}");
    let timings = abc_to_score(&written).unwrap().note_timings();
    assert_eq!(timings.len(), 8, "{written}");
    assert_eq!(timings.iter().map(|n| n.1 + n.2).max(), Some(8 * QUARTER));
    // The G that started on the last beat is cut at the bar line, with no tie left hanging.
    assert!(music(&written).ends_with("G |]\n"), "{written}");
}

#[test]
fn lines_hold_the_requested_number_of_bars() {
    let notes = (0..9).map(|i| note(60, i * 4 * QUARTER, 4 * QUARTER));
    let score = score_of(notes.collect(), None);
    let options = ScoreToAbcOptions {
        bars_per_line: 4,
        ..in_c()
    };
    let written = write(&score, &options);
    let text = music(&written);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        ["C8 | C8 | C8 | C8 |", "C8 | C8 | C8 | C8 |", "C8 |]"],
        "{written}"
    );
}

#[test]
fn a_meter_change_inside_a_bar_leaves_that_bar_short() {
    let mut score = score_of(vec![note(60, 0, 6 * QUARTER)], Some((4, 4)));
    score.time_signatures.push(TimeSignature {
        tick: 2 * QUARTER,
        numerator: 3,
        denominator: 4,
    });
    let written = write(&score, &in_c());
    assert_eq!(music(&written), "C4- |\nM:3/4\nC6- | C2 z4 |]\n");
    let fits: Vec<BarFit> = bar_check(&written)
        .unwrap()
        .bars
        .iter()
        .map(|b| b.fit)
        .collect();
    assert_eq!(fits, [BarFit::Short, BarFit::Full, BarFit::Full]);
}

#[test]
fn tracks_are_merged_without_drums_or_chosen_one_by_one() {
    let mut score = score_of(vec![note(60, 0, QUARTER)], Some((1, 4)));
    score.tracks.push(Track {
        name: "Bass".to_string(),
        notes: vec![note(48, 0, QUARTER)],
        ..Track::default()
    });
    score.tracks.push(Track {
        is_drum: true,
        channel: 9,
        notes: vec![note(36, 0, QUARTER)],
        ..Track::default()
    });
    assert_eq!(music(&write(&score, &in_c())), "[C,C]2 |]\n");
    let bass_only = ScoreToAbcOptions {
        tracks: TrackChoice::Only(1),
        ..in_c()
    };
    let written = write(&score, &bass_only);
    assert!(written.contains("T:Bass\n"), "{written}");
    assert_eq!(music(&written), "C,2 |]\n");
    let drums = ScoreToAbcOptions {
        tracks: TrackChoice::Only(2),
        ..in_c()
    };
    assert!(error(&score, &drums).contains("drum track"));
    let missing = ScoreToAbcOptions {
        tracks: TrackChoice::Only(3),
        ..in_c()
    };
    assert!(error(&score, &missing).contains("track 3 does not exist"));
}

#[test]
fn an_empty_score_is_one_bar_of_rest() {
    let written = write(&Score::new(480), &ScoreToAbcOptions::default());
    assert_eq!(written, "X:1\nT:Untitled\nM:4/4\nL:1/8\nK:C\nz8 |]\n");
    let check = bar_check(&written).unwrap();
    assert_eq!(check.bars.len(), 1);
    assert_eq!(check.bars[0].fit, BarFit::Full);
    assert_eq!(abc_to_score(&written).unwrap().note_count(), 0);
}

#[test]
fn bad_scores_and_options_are_clear_errors() {
    let score = score_of(vec![note(60, 0, QUARTER)], Some((3, 4)));
    let zero_resolution = Score {
        ticks_per_quarter: 0,
        ..score.clone()
    };
    let default = ScoreToAbcOptions::default;
    assert!(error(&zero_resolution, &default()).contains("0 ticks per quarter"));
    let cases: [(ScoreToAbcOptions, &str); 6] = [
        (
            ScoreToAbcOptions {
                grid_denominator: 12,
                ..default()
            },
            "grid_denominator 12",
        ),
        (
            ScoreToAbcOptions {
                unit_denominator: Some(3),
                ..default()
            },
            "unit_denominator 3",
        ),
        (
            ScoreToAbcOptions {
                bars_per_line: 0,
                ..default()
            },
            "bars_per_line",
        ),
        (
            ScoreToAbcOptions {
                max_bars: Some(0),
                ..default()
            },
            "max_bars",
        ),
        (
            ScoreToAbcOptions {
                key: KeyChoice::Fixed {
                    fifths: 8,
                    minor: false,
                },
                ..default()
            },
            "-7 to 7 fifths",
        ),
        (
            ScoreToAbcOptions {
                anacrusis_ticks: 3 * QUARTER,
                ..default()
            },
            "pick-up",
        ),
    ];
    for (options, expected) in cases {
        let message = error(&score, &options);
        assert!(message.contains(expected), "{message:?} lacks {expected:?}");
    }
    let mut odd_meter = score.clone();
    odd_meter.time_signatures[0].denominator = 64;
    assert!(error(&odd_meter, &default()).contains("choose a finer grid"));
    odd_meter.time_signatures[0].denominator = 0;
    assert!(error(&odd_meter, &default()).contains("zero part"));
}

mod round_trip;

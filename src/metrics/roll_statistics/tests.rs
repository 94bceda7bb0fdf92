use super::*;
use crate::encode::PianoRollConfig;
use crate::metrics::tune_statistics::test_figures::{bin, dist, number};
use crate::metrics::tune_statistics::DistanceKind;

/// A grid of one frame per quarter (JSB's), not transposed.
const QUARTERS: PianoRollConfig = PianoRollConfig {
    steps_per_quarter: 1,
    low_pitch: 21,
    num_pitches: 88,
    transpose_to_c: false,
};

fn roll(frames: &[&[u8]]) -> PianoRoll {
    PianoRoll::from_frames(frames.iter().map(|f| f.to_vec()).collect(), QUARTERS)
}

/// A C major triad held two beats, a rest, a D, then C with the C an octave up.
fn hand_made() -> PianoRoll {
    roll(&[&[60, 64, 67], &[60, 64, 67], &[], &[62], &[60, 72]])
}

#[test]
fn figures_of_one_roll_by_hand() {
    let x = roll_figures(&hand_made(), 0, &RollStatisticsConfig::default()).unwrap();
    assert_eq!((x.frames, x.silent_frames, x.sounding_cells), (5, 1, 9));
    assert_eq!(x.polyphony, [1, 1, 1, 2, 0, 0, 0]);
    assert_eq!(x.notes_per_sounding_frame(), 9.0 / 4.0);
    assert_eq!(x.silent_share(), 0.2);
    assert_eq!(x.pitch_range, 12);
    assert_eq!((x.tonic, x.minor), (0, false));
    // Notes C E G (two frames each), D, C, C': three of one frame, three of two.
    assert_eq!((x.notes, x.note_frames), (6, 9));
    assert_eq!(x.note_lengths, [3, 3, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(x.pitch_classes, [3, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0]);
    // Major third and minor third in each triad frame, an octave in the last frame.
    let mut intervals = [0; CHORD_INTERVAL_BINS];
    intervals[3] = 2;
    intervals[2] = 2;
    intervals[11] = 1;
    assert_eq!(x.chord_intervals, intervals);
    // Onsets on beat 1 (the triad, then the two Cs of the second bar) and beat 4 (the D).
    assert_eq!(x.onsets_by_position, [5, 0, 0, 1]);
    // Shorter than a window: one window, in its own key.
    assert_eq!((x.key_windows, x.key_windows_agreeing), (1, 1));
}

#[test]
fn a_held_note_struck_again_reads_as_one_note_and_wide_chords_go_to_the_last_bin() {
    let x = roll_figures(
        &roll(&[
            &[40, 60],
            &[40, 60],
            &[40],
            &[40],
            &[40],
            &[40],
            &[40],
            &[40],
            &[40],
            &[40],
        ]),
        0,
        &RollStatisticsConfig::default(),
    )
    .unwrap();
    assert_eq!(x.notes, 2);
    assert_eq!(x.note_lengths[NOTE_LENGTH_BINS - 1], 1, "ten frames: 9+");
    assert_eq!(x.note_lengths[1], 1);
    assert_eq!(
        x.chord_intervals[CHORD_INTERVAL_BINS - 1],
        2,
        "20 semitones: 13+"
    );
    assert_eq!(x.polyphony[1] + x.polyphony[2], 10);
}

#[test]
fn key_consistency_counts_windows_in_the_pieces_key() {
    let c_major: &[u8] = &[60, 64, 67];
    let f_sharp_major: &[u8] = &[66, 70, 73];
    let mut frames = vec![c_major; 12];
    frames.extend([f_sharp_major; 4]);
    let config = RollStatisticsConfig {
        beats_per_bar: 4,
        key_window_bars: 1,
    };
    let x = roll_figures(&roll(&frames), 0, &config).unwrap();
    assert_eq!((x.tonic, x.minor), (0, false));
    assert_eq!((x.key_windows, x.key_windows_agreeing), (4, 3));
    assert_eq!(x.key_consistency(), 0.75);
    // A last window of half a window counts; a shorter one does not; silent windows neither.
    frames.extend([c_major; 2]);
    let y = roll_figures(&roll(&frames), 0, &config).unwrap();
    assert_eq!((y.key_windows, y.key_windows_agreeing), (5, 4));
    frames.truncate(17);
    let short_end = roll_figures(&roll(&frames), 0, &config).unwrap();
    assert_eq!(
        (short_end.key_windows, short_end.key_windows_agreeing),
        (4, 3)
    );
    frames.truncate(16);
    frames.extend([&[][..]; 8]);
    let silent_end = roll_figures(&roll(&frames), 0, &config).unwrap();
    assert_eq!(
        (silent_end.key_windows, silent_end.key_windows_agreeing),
        (4, 3)
    );
}

#[test]
fn onsets_fall_on_positions_of_a_finer_grid() {
    let sixteenths = PianoRollConfig {
        steps_per_quarter: 4,
        ..QUARTERS
    };
    let mut frames = vec![Vec::new(); 16];
    frames[0] = vec![60];
    frames[6] = vec![62];
    frames[8] = vec![64];
    let stats = RollStatistics::of_rolls(
        &[PianoRoll::from_frames(frames, sixteenths)],
        &RollStatisticsConfig::default(),
    )
    .unwrap();
    let onsets = dist(&stats, "onsets by position in the bar");
    assert_eq!(onsets.labels.len(), 16);
    assert_eq!(onsets.labels[0], "beat 1");
    assert_eq!(onsets.labels[6], "2+2/4");
    assert!((bin(&onsets, "beat 1") - 1.0 / 3.0).abs() < 1e-12);
    assert!((bin(&onsets, "2+2/4") - 1.0 / 3.0).abs() < 1e-12);
    assert!((bin(&onsets, "beat 3") - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(number(&stats, "note length in beats (mean)"), 0.25);
    assert_eq!(number(&stats, "share of silent frames"), 13.0 / 16.0);
}

#[test]
fn statistics_of_a_set_pool_frames_and_skip_empty_pieces() {
    let silent = roll(&[&[], &[]]);
    let bass = roll(&[&[48], &[48], &[50], &[52]]);
    let stats = RollStatistics::of_rolls(
        &[hand_made(), silent, bass],
        &RollStatisticsConfig::default(),
    )
    .unwrap();
    assert_eq!(
        (stats.pieces, stats.empty, stats.per_piece.len()),
        (3, 1, 2)
    );
    assert_eq!(stats.per_piece[1].index, 2);
    assert_eq!(number(&stats, "share of pieces with notes"), 2.0 / 3.0);
    // Frames 5 + 4, one silent; cells 9 + 4 over 8 sounding frames.
    assert_eq!(number(&stats, "share of silent frames"), 1.0 / 9.0);
    assert_eq!(
        number(&stats, "notes per sounding frame (mean)"),
        13.0 / 8.0
    );
    assert_eq!(
        number(&stats, "pitch range in semitones (mean)"),
        (12.0 + 4.0) / 2.0
    );
    // Notes 6 + 3 over frames 9 + 4.
    assert_eq!(number(&stats, "note length in beats (mean)"), 13.0 / 9.0);
    let polyphony = dist(&stats, "notes per frame");
    assert_eq!(polyphony.total, 9);
    assert_eq!(polyphony.labels.last().map(String::as_str), Some("6+"));
    assert!((bin(&polyphony, "1") - 5.0 / 9.0).abs() < 1e-12);
    let lengths = dist(&stats, "note lengths in frames");
    assert_eq!(lengths.labels.last().map(String::as_str), Some("9+"));
    assert!((bin(&lengths, "2") - 4.0 / 9.0).abs() < 1e-12);
    assert_eq!(
        dist(&stats, "intervals inside chords in semitones").total,
        5
    );
    assert_eq!(
        number(&stats, "share of key windows in the piece's key"),
        1.0
    );
    let html = stats.to_html();
    assert!(html.contains("pieces read / given") && html.contains("2 / 3"));
}

#[test]
fn identical_sets_are_at_distance_zero_and_different_sets_are_not() {
    let config = RollStatisticsConfig::default();
    let a = RollStatistics::of_rolls(&[hand_made(), hand_made()], &config).unwrap();
    let same = RollStatistics::compare(&a, &a).unwrap();
    assert_eq!(same.rows.len(), a.figures().len());
    assert!(same.rows.iter().all(|r| r.distance == 0.0), "{same:?}");
    let thin = roll(&[&[60], &[62], &[64], &[], &[], &[65], &[67], &[67]]);
    let b = RollStatistics::of_rolls(&[thin], &config).unwrap();
    let apart = RollStatistics::compare(&b, &a).unwrap();
    let row = apart.row("notes per frame").unwrap();
    assert_eq!(row.kind, DistanceKind::TotalVariation);
    assert!(row.distance > 0.3, "{row:?}");
    let silence = apart.row("share of silent frames").unwrap();
    assert_eq!(silence.kind, DistanceKind::RelativeDifference);
    // 2 of 8 against 1 of 5: (0.25 - 0.2) / 0.2.
    assert!((silence.distance - 0.25).abs() < 1e-12, "{silence:?}");
    assert!(
        apart
            .row("intervals inside chords in semitones")
            .unwrap()
            .distance
            > 0.0
    );
    assert!(apart.row("note lengths in frames").unwrap().distance > 0.0);
    let markdown = apart.markdown();
    assert!(markdown.starts_with("Generated: 1 of 1 pieces read; held out: 2 of 2."));
    assert!(markdown.contains("| share of silent frames | 25.0% | 20.0% | 0.250 |"));
    assert!(apart.to_html().contains("onsets by position in the bar"));
}

#[test]
fn sets_on_different_grids_or_bad_configs_are_refused() {
    let config = RollStatisticsConfig::default();
    let quarters = RollStatistics::of_rolls(&[hand_made()], &config).unwrap();
    let fine = PianoRoll::from_frames(
        vec![vec![60]; 8],
        PianoRollConfig {
            steps_per_quarter: 2,
            ..QUARTERS
        },
    );
    let eighths = RollStatistics::of_rolls(std::slice::from_ref(&fine), &config).unwrap();
    assert!(RollStatistics::compare(&eighths, &quarters).is_err());
    assert!(RollStatistics::of_rolls(&[fine, hand_made()], &config).is_err());
    let no_bar = RollStatisticsConfig {
        beats_per_bar: 0,
        ..config
    };
    assert!(RollStatistics::of_rolls(&[hand_made()], &no_bar).is_err());
    let nothing = RollStatistics::of_rolls(&[], &config).unwrap();
    assert!(RollStatistics::compare(&nothing, &quarters).is_ok());
}

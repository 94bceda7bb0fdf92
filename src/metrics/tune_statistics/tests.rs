use super::test_figures::{bin, dist, number as share};
use super::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Four bars of quarters in C: the third bar repeats the first; ends on the tonic.
const T1: &str = "M:4/4\nL:1/4\nK:C\nCDEF|GABc|CDEF|c4|]\n";
/// One repeated part with first and second endings, in G, ending on G.
const T2: &str = "M:6/8\nL:1/8\nK:G\n|:GAB d2B|1 c3 A3:|2 c3 G3|]\n";
/// A pick-up the last bar does not balance (irregular); in D, ending on A.
const T3: &str = "M:3/4\nL:1/4\nK:D\nA|d2f|e2A|]\n";

#[test]
fn figures_of_one_tune_by_hand() {
    let x = tune_figures(T1, 0).unwrap();
    assert_eq!((x.bars, x.interior_bars, x.full_interior_bars), (4, 2, 2));
    assert_eq!(x.body_chars, "CDEF|GABc|CDEF|c4|]".len());
    assert_eq!(x.parts, [Some(4)]);
    assert!(x.regular_form && !x.has_endings && x.repeated_parts == 0);
    assert_eq!((x.timed_bars, x.repeated_bars), (4, 1));
    assert_eq!(x.notes, 13);
    assert_eq!(x.quarters, 16.0);
    assert_eq!(x.notes_per_quarter(), 13.0 / 16.0);
    assert_eq!(x.pitch_range, 12);
    assert_eq!(x.tonic, Some(0));
    assert_eq!(x.pitch_classes, [4, 0, 2, 0, 2, 2, 0, 1, 0, 1, 0, 1]);
    // C D E F G A B c C D E F c: +2 seven times, +1 three times, -12 once, +7 once.
    let at = |step: i32| x.intervals[(step + 13) as usize];
    assert_eq!((at(2), at(1), at(-12), at(7)), (7, 3, 1, 1));
    assert_eq!(x.intervals.iter().sum::<usize>(), 12);
    // Twelve quarters and one whole note.
    assert_eq!(x.durations[4], 12);
    assert_eq!(x.durations[8], 1);
    assert_eq!(x.ends_on_tonic, Some(true));
    assert!((x.mean_abs_interval() - (14.0 + 3.0 + 12.0 + 7.0) / 12.0).abs() < 1e-12);
    assert_eq!(x.short_note_share(), 0.0);
}

#[test]
fn statistics_of_three_tunes_by_hand() {
    let stats = TuneStatistics::of_tunes(&[T1, T2, T3, "not a tune"]);
    assert_eq!((stats.tunes, stats.unreadable), (4, 1));
    let t2 = &stats.per_tune[1];
    assert_eq!(t2.parts, [Some(2)]);
    assert!(t2.has_endings && t2.repeated_parts == 1);
    assert_eq!(t2.tonic, Some(7));
    assert_eq!(t2.ends_on_tonic, Some(true));
    assert_eq!(stats.per_tune[2].parts, [None]);
    assert_eq!(stats.per_tune[2].ends_on_tonic, Some(false));
    assert_eq!(share(&stats, "share of tunes read"), 0.75);
    assert!((share(&stats, "length in bars (mean)") - 10.0 / 3.0).abs() < 1e-12);
    assert_eq!(share(&stats, "length in bars (90th percentile)"), 4.0);
    assert_eq!(share(&stats, "share of full interior bars"), 1.0);
    assert!((share(&stats, "share of tunes with a regular form") - 2.0 / 3.0).abs() < 1e-12);
    assert!((share(&stats, "share of parts repeated") - 1.0 / 3.0).abs() < 1e-12);
    assert!((share(&stats, "share of tunes with numbered endings") - 1.0 / 3.0).abs() < 1e-12);
    // One repeated bar among 4 + 3 + 3.
    assert!((share(&stats, "share of bars that repeat an earlier bar") - 0.1).abs() < 1e-12);
    assert!((share(&stats, "share of tunes ending on the tonic") - 2.0 / 3.0).abs() < 1e-12);
    let lengths = dist(&stats, "part lengths in bars");
    assert!((bin(&lengths, "4") - 1.0 / 3.0).abs() < 1e-12);
    assert!((bin(&lengths, "2") - 1.0 / 3.0).abs() < 1e-12);
    assert!((bin(&lengths, "irregular") - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(bin(&dist(&stats, "number of parts"), "1"), 1.0);
    // T3 in D: A d f e A -> 7 0 4 2 7 above the tonic.
    let t3 = &stats.per_tune[2];
    assert_eq!(t3.pitch_classes[7], 2);
    assert_eq!(t3.pitch_classes[4], 1);
}

#[test]
fn a_set_compared_with_itself_is_at_distance_zero() {
    let stats = TuneStatistics::of_tunes(&[T1, T2, T3]);
    let comparison = TuneStatistics::compare(&stats, &stats);
    assert_eq!(comparison.rows.len(), stats.figures().len());
    for row in &comparison.rows {
        assert_eq!(row.distance, 0.0, "{}", row.name);
    }
    let row = comparison
        .row("share of bars that repeat an earlier bar")
        .unwrap();
    assert_eq!(row.kind, DistanceKind::RelativeDifference);
    assert_eq!(
        comparison.row("note lengths in quarters").unwrap().kind,
        DistanceKind::TotalVariation
    );
    assert!(comparison.above(0.0).is_empty());
    let md = comparison.markdown();
    assert!(
        md.contains(
            "| share of tunes ending on the tonic | 66.7% | 66.7% | 0.000 | relative difference |"
        ),
        "{md}"
    );
    assert!(comparison
        .to_html()
        .contains("<td>share of tunes read</td>"));
    assert!(stats
        .to_html()
        .contains("<td>tunes read / given</td><td>3 / 3</td>"));
}

#[test]
fn distances_of_different_sets() {
    let a = TuneStatistics::of_tunes(&[T1]);
    let b = TuneStatistics::of_tunes(&[T2]);
    let c = TuneStatistics::compare(&a, &b);
    // 4 bars against 3: |4 - 3| / 3.
    let bars = c.row("length in bars (mean)").unwrap();
    assert!((bars.distance - 1.0 / 3.0).abs() < 1e-12);
    // Numbered endings: 0 against 1, relative difference 1.
    assert_eq!(
        c.row("share of tunes with numbered endings")
            .unwrap()
            .distance,
        1.0
    );
    // T1 repeats a bar, T2 none: the held-out share is 0, so the difference is absolute.
    let repeats = c.row("share of bars that repeat an earlier bar").unwrap();
    assert_eq!(repeats.kind, DistanceKind::AbsoluteDifference);
    assert!((repeats.distance - 0.25).abs() < 1e-12);
    // Part lengths 4 against 2: disjoint, total variation 1.
    assert_eq!(c.row("part lengths in bars").unwrap().distance, 1.0);
}

#[test]
fn distributions_and_percentiles() {
    let p = Distribution::of_counts(vec!["a".into(), "b".into()], &[3, 1]);
    let q = Distribution::of_counts(vec!["a".into(), "b".into()], &[1, 1]);
    assert!((p.total_variation(&q) - 0.25).abs() < 1e-12);
    let empty = Distribution::of_counts(vec!["a".into(), "b".into()], &[0, 0]);
    assert_eq!(empty.total_variation(&empty), 0.0);
    assert_eq!(p.total_variation(&empty), 1.0);
    assert_eq!(p.summary(1), "a 75%");
    let values: Vec<f64> = (1..=10).map(f64::from).collect();
    assert_eq!(percentile(&values, 0.9), 9.0);
    assert_eq!(percentile(&values[..1], 0.9), 1.0);
    assert_eq!(percentile(&[], 0.9), 0.0);
}

/// A tune of `bars` bars of 4/4, each of quarters (`eighths` false) or eighths, random pitches.
fn random_tune(rng: &mut ChaCha8Rng, bars: usize, eighths: bool) -> String {
    const LETTERS: [&str; 10] = ["C", "D", "E", "F", "G", "A", "B", "c", "d", "e"];
    let mut body = String::new();
    for _ in 0..bars {
        let (count, len) = if eighths { (8, "") } else { (4, "2") };
        for _ in 0..count {
            body.push_str(LETTERS[rng.random_range(0..LETTERS.len())]);
            body.push_str(len);
        }
        body.push('|');
    }
    format!("M:4/4\nL:1/8\nK:C\n{body}]\n")
}

#[test]
fn a_classifier_tells_different_sets_apart_and_not_halves_of_one() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let short: Vec<String> = (0..50).map(|_| random_tune(&mut rng, 4, false)).collect();
    let long: Vec<String> = (0..50).map(|_| random_tune(&mut rng, 16, true)).collect();
    let apart = distinguishability(&short, &long, 5, 1).unwrap();
    assert!(apart.accuracy > 0.9, "{apart:?}");
    assert_eq!(apart.tunes_per_set, 50);
    assert_eq!(apart.fold_accuracies.len(), 5);
    assert_eq!(apart.weights.len(), FEATURES.len());
    // The same call gives the same result.
    assert_eq!(distinguishability(&short, &long, 5, 1).unwrap(), apart);
    let mixed: Vec<String> = (0..160)
        .map(|_| {
            let bars = rng.random_range(4..=16);
            let eighths = rng.random_bool(0.5);
            random_tune(&mut rng, bars, eighths)
        })
        .collect();
    let halves = distinguishability(&mixed[..80], &mixed[80..], 5, 2).unwrap();
    assert!(halves.accuracy <= 0.65, "{halves:?}");
    assert!(distinguishability(&mixed[..3], &mixed[3..], 5, 2).is_err());
    assert!(distinguishability(&mixed, &mixed, 1, 2).is_err());
    assert!(apart.to_html().contains("cross-validated accuracy"));
    // Over draws: each draw's accuracy, steady for sets this different; with every feature left
    // out the classifier has nothing to go on and is right half the time, exactly.
    let draws = distinguishability_over_draws(&short, &long, 5, 3, &[]).unwrap();
    assert_eq!(draws.len(), 3);
    assert!(draws.iter().all(|&a| a > 0.9), "{draws:?}");
    assert_eq!(
        draws[1],
        distinguishability(&short, &long, 5, 1).unwrap().accuracy
    );
    let blind = distinguishability_over_draws(&short, &long, 5, 2, &FEATURES).unwrap();
    assert_eq!(blind, [0.5, 0.5]);
    let err = distinguishability_over_draws(&short, &long, 5, 2, &["key"]).unwrap_err();
    assert!(err.to_string().contains("\"key\""), "{err}");
    let report = draws_report(&short, &long, 2).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 2, "{report}");
    assert!(
        lines[0].starts_with("all features, over 2 random subsamples: mean accuracy 0.9")
            || lines[0].contains("mean accuracy 1.000"),
        "{report}"
    );
    assert!(lines[1].starts_with("without the tilt's"), "{report}");
    // The features it sees, one row per readable tune.
    let rows = classifier_features(&[short[0].as_str(), "X:1\nK:C\n", long[0].as_str()]);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][0], 4.0, "{:?}", rows[0]);
    assert_eq!(rows[1][0], 16.0, "{:?}", rows[1]);
}

#[test]
fn the_samplers_tilt_reads_a_tune_as_the_statistics_do() {
    // The tilt's features (generate::tilt) and TuneFigures are one reading: the tonic ending,
    // more than one part, and the entropy of the pitch classes as written.
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mut tunes: Vec<String> = (0..40)
        .map(|i| random_tune(&mut rng, 4 + i % 9, i % 2 == 0))
        .collect();
    tunes.push("M:4/4\nL:1/8\nK:G\n|:GABc dBAG|FGAB G4:|\n|:dBdB cAcA|BAGF G4:|\n".into());
    tunes.push("M:6/8\nL:1/8\nK:Dmix\nA|:dcA GEC|DED D2A:|\n|:ded cAG|AGE D2:|]\n".into());
    for tune in &tunes {
        let figures = tune_figures(tune, 0).unwrap();
        let [tonic, several, entropy] = crate::generate::tilt::tune_features(tune);
        assert_eq!(tonic == 1.0, figures.ends_on_tonic == Some(true), "{tune}");
        assert_eq!(several == 1.0, figures.parts.len() > 1, "{tune}");
        assert!(
            (entropy - figures.pitch_class_entropy()).abs() < 1e-12,
            "{tune}"
        );
    }
}

#[test]
fn unmetered_bars_are_left_out_of_the_share_of_full_interior_bars() {
    // Two interior bars without a meter, two metered ones of which one is short (not at a
    // section edge: the tune does not add up, but it reads).
    let free = "M:none\nL:1/8\nK:C\nCDEF|GABc|cBAG|F4|]\n";
    let metered = "M:2/4\nL:1/8\nK:C\nCDEF|GA|Bcde|f4|]\n";
    let x = tune_figures(free, 0).unwrap();
    assert_eq!(
        (
            x.interior_bars,
            x.metered_interior_bars,
            x.full_interior_bars
        ),
        (2, 0, 0)
    );
    let y = tune_figures(metered, 1).unwrap();
    assert_eq!(
        (
            y.interior_bars,
            y.metered_interior_bars,
            y.full_interior_bars
        ),
        (2, 2, 1)
    );
    let stats = TuneStatistics::of_tunes(&[free, metered]);
    assert_eq!(share(&stats, "share of full interior bars"), 0.5);
    assert_eq!(share(&stats, "share of interior bars without a meter"), 0.5);
}

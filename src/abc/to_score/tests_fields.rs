//! One tiny tune per construct, with hand-written expected notes: keys, meter, unit length and
//! tempo, text structure, score options and errors (notes, lengths, tuplets, ties, chords and
//! bars are in `tests.rs`, whose helpers these share).

use super::tests::*;
use super::*;

// ---- keys ------------------------------------------------------------------------------------

#[test]
fn major_keys() {
    assert_eq!(scale("C"), [60, 62, 64, 65, 67, 69, 71]);
    assert_eq!(scale("G"), [60, 62, 64, 66, 67, 69, 71]);
    assert_eq!(scale("D"), [61, 62, 64, 66, 67, 69, 71]);
    assert_eq!(scale("Bb"), [60, 62, 63, 65, 67, 69, 70]);
    assert_eq!(scale("F#"), [61, 63, 65, 66, 68, 70, 71]);
    assert_eq!(scale("C#"), [61, 63, 65, 66, 68, 70, 72]);
    assert_eq!(scale("Cb"), [59, 61, 63, 64, 66, 68, 70]);
    assert_eq!(scale("Ebmaj"), [60, 62, 63, 65, 67, 68, 70]);
}

#[test]
fn minor_keys_and_modes() {
    let c = [60, 62, 64, 65, 67, 69, 71];
    let one_sharp = [60, 62, 64, 66, 67, 69, 71];
    let two_sharps = [61, 62, 64, 66, 67, 69, 71];
    for key in [
        "Am",
        "A minor",
        "Amin",
        "Aaeo",
        "Aaeolian",
        "G Mixolydian",
        "Ddor",
        "Bloc",
        "Flyd",
        "Ephr",
    ] {
        assert_eq!(scale(key), c, "K:{key}");
    }
    for key in ["Em", "Dmix", "Ador", "Bphr", "Clyd", "E Minor"] {
        assert_eq!(scale(key), one_sharp, "K:{key}");
    }
    assert_eq!(scale("Edor"), two_sharps);
    assert_eq!(scale("Gdor"), [60, 62, 64, 65, 67, 69, 70]);
    assert_eq!(scale("Cphr"), [60, 61, 63, 65, 67, 68, 70]);
    assert_eq!(scale("F#m"), [61, 62, 64, 66, 68, 69, 71]);
}

#[test]
fn keys_without_accidentals() {
    let c = [60, 62, 64, 65, 67, 69, 71];
    assert_eq!(scale("none"), c);
    assert_eq!(scale("HP"), c);
    assert_eq!(scale(""), c);
}

#[test]
fn highland_pipe_key_marks_f_and_c_sharp() {
    assert_eq!(scale("Hp"), [61, 62, 64, 66, 67, 69, 71]);
}

#[test]
fn explicit_key_accidentals() {
    assert_eq!(scale("D exp ^f"), [60, 62, 64, 66, 67, 69, 71]);
    assert_eq!(scale("C ^c _b"), [61, 62, 64, 65, 67, 69, 70]);
    // Written on without a space (Ryan's Mammoth: `K:Dmix=c`).
    assert_eq!(scale("Dmix=c"), scale("Dmix =c"));
    assert_eq!(scale("Dmix=c"), [60, 62, 64, 66, 67, 69, 71]);
    assert_eq!(scale("C^c_b"), scale("C ^c _b"));
    // Not a key with accidentals: a clef setting, or a key with something else glued on.
    assert_eq!(pitches(&q("[K:G] F [K:clef=bass] F")), [66, 66]);
    assert_eq!(pitches(&q("[K:G] F [K:Dmix=x] F")), [66, 66]);
}

#[test]
fn trailing_key_words_are_ignored() {
    let g = [60, 62, 64, 66, 67, 69, 71];
    assert_eq!(scale("G clef=bass"), g);
    assert_eq!(scale("G treble"), g);
    assert_eq!(scale("Gmaj middle=d transpose=0"), g);
}

#[test]
fn clef_only_key_field_keeps_the_key() {
    assert_eq!(pitches(&q("[K:G] F [K:clef=bass] F")), [66, 66]);
}

#[test]
fn key_changes_in_the_body() {
    assert_eq!(pitches(&q("F [K:G] F |\nK:F\nB F")), [65, 66, 70, 65]);
}

// ---- meter, unit length, tempo ---------------------------------------------------------------

fn meters(tune: &str) -> Vec<(u32, u8, u8)> {
    score(tune)
        .time_signatures
        .iter()
        .map(|t| (t.tick, t.numerator, t.denominator))
        .collect()
}

#[test]
fn meters_in_the_header() {
    assert_eq!(meters("X:1\nM:6/8\nK:C\nC\n"), [(0, 6, 8)]);
    assert_eq!(meters("X:1\nM:C\nK:C\nC\n"), [(0, 4, 4)]);
    assert_eq!(meters("X:1\nM:C|\nK:C\nC\n"), [(0, 2, 2)]);
    assert_eq!(meters("X:1\nM:none\nK:C\nC\n"), []);
    assert_eq!(meters("X:1\nK:C\nC\n"), []);
    assert_eq!(meters("X:1\nM:2+3/8\nK:C\nC\n"), [(0, 5, 8)]);
}

#[test]
fn meter_changes_in_the_body() {
    let tune = "X:1\nM:4/4\nL:1/4\nK:C\nCDEF|[M:3/4]CDE|\nM:6/8\nC\n";
    assert_eq!(meters(tune), [(0, 4, 4), (1920, 3, 4), (3360, 6, 8)]);
}

#[test]
fn default_unit_length_follows_the_meter() {
    let first_duration = |header: &str| {
        convert(
            &format!("X:1\n{header}K:C\nC\n"),
            &AbcToScoreOptions::default(),
        )[0]
        .2
    };
    assert_eq!(first_duration("M:2/4\n"), 120);
    assert_eq!(first_duration("M:3/4\n"), 240);
    assert_eq!(first_duration("M:6/8\n"), 240);
    assert_eq!(first_duration("M:none\n"), 240);
    assert_eq!(first_duration(""), 240);
    assert_eq!(first_duration("M:2/4\nL:1/4\n"), 480);
    assert_eq!(first_duration("L:1/2\nM:2/4\n"), 960);
}

#[test]
fn inline_unit_length() {
    assert_eq!(
        e("C [L:1/4] C\nL:1/16\nC"),
        vec![(60, 0, 240), (60, 240, 480), (60, 720, 120)]
    );
}

fn tempos(tune: &str) -> Vec<(u32, u32)> {
    score(tune)
        .tempos
        .iter()
        .map(|t| (t.tick, t.micros_per_quarter))
        .collect()
}

#[test]
fn tempo_forms() {
    assert_eq!(tempos("X:1\nQ:1/4=120\nK:C\nC\n"), [(0, 500_000)]);
    assert_eq!(
        tempos("X:1\nQ:\"Allegro\" 1/4=120\nK:C\nC\n"),
        [(0, 500_000)]
    );
    assert_eq!(tempos("X:1\nQ:3/8=40\nK:C\nC\n"), [(0, 1_000_000)]);
    assert_eq!(tempos("X:1\nQ:1/8 3/8=30\nK:C\nC\n"), [(0, 1_000_000)]);
    assert_eq!(tempos("X:1\nQ:\"Andante\"\nK:C\nC\n"), []);
    assert_eq!(tempos("X:1\nK:C\nC\n"), []);
}

#[test]
fn tempo_without_beat_uses_the_unit_length() {
    assert_eq!(tempos("X:1\nL:1/8\nQ:120\nK:C\nC\n"), [(0, 1_000_000)]);
    assert_eq!(tempos("X:1\nQ:120\nL:1/4\nK:C\nC\n"), [(0, 500_000)]);
}

#[test]
fn tempo_changes_in_the_body() {
    let tune = "X:1\nL:1/4\nQ:1/4=120\nK:C\nCD [Q:1/4=60] E\nQ:1/2=60\nF\n";
    assert_eq!(
        tempos(tune),
        [(0, 500_000), (960, 1_000_000), (1440, 500_000)]
    );
}

// ---- text structure ----------------------------------------------------------------------------

#[test]
fn comments_and_continuations() {
    assert_eq!(q("C D % E F\nE \\\nF"), quarters(&[60, 62, 64, 65]));
}

#[test]
fn lyrics_and_other_fields_in_the_body_are_ignored() {
    let body = "C D|\nw: la la la\nW: words\nT:Part two\nP:B\nN:note\n%%MIDI program 1\nI:linebreak $\nE F|";
    assert_eq!(q(body), quarters(&[60, 62, 64, 65]));
}

#[test]
fn music_broken_across_lines() {
    assert_eq!(q("C D\nE\nF"), quarters(&[60, 62, 64, 65]));
}

#[test]
fn sloppy_spacing_crlf_and_no_final_bar_line() {
    let notes = convert(
        "\r\nX: 1\r\nL: 1/4\r\nK: G \r\n  C   D  \r\n\r\nE F\r\n",
        &AbcToScoreOptions::default(),
    );
    assert_eq!(notes, quarters(&[60, 62, 64, 66]));
}

#[test]
fn a_second_tune_is_not_read() {
    assert_eq!(pitches(&q("C\n\nX:2\nK:C\nD")), [60]);
}

#[test]
fn each_voice_becomes_a_track() {
    let tune = "X:1\nT:Duet\nL:1/4\nV:1\nV:2\nK:C\nV:1\nC D|\nV:2\nE F|\nV:1\nG [V:2] A|\n";
    assert_eq!(
        convert(tune, &AbcToScoreOptions::default()),
        quarters(&[60, 62, 67])
    );
    let s = score(tune);
    assert_eq!(s.tracks.len(), 2);
    let second: Vec<(u8, u32)> = s.tracks[1]
        .notes
        .iter()
        .map(|n| (n.pitch, n.start))
        .collect();
    assert_eq!(second, [(64, 0), (65, 480), (69, 960)]);
    assert_eq!(
        (s.tracks[0].name.as_str(), s.tracks[1].name.as_str()),
        ("Duet (V:1)", "Duet (V:2)")
    );
    // Music before any V: is a voice of its own; a field before it belongs to every voice.
    let s = score("X:1\nL:1/4\nK:C\nK:D\nF G|\nV:low\nF,2|\n");
    assert_eq!(s.tracks.len(), 2);
    assert_eq!(s.tracks[0].notes[0].pitch, 66);
    assert_eq!(s.tracks[1].notes[0].pitch, 54);
    assert_eq!(s.tracks[1].name, "V:low");
}

// ---- score and options ---------------------------------------------------------------------------

#[test]
fn score_shape_and_options() {
    let tune = "X:1\nT:My tune\nT:Other title\nL:1/4\nK:C\nC\n";
    let s = score(tune);
    assert_eq!(s.ticks_per_quarter, 480);
    assert_eq!(s.tracks.len(), 1);
    assert_eq!(s.tracks[0].name, "My tune");
    assert_eq!(s.tracks[0].notes[0].velocity, 80);
    let opts = AbcToScoreOptions {
        velocity: 100,
        program: 73,
        expand_repeats: true,
    };
    let s = abc_to_score_with(tune, &opts).unwrap();
    assert_eq!(
        (s.tracks[0].program, s.tracks[0].notes[0].velocity),
        (73, 100)
    );
}

#[test]
fn empty_body_gives_an_empty_track() {
    assert_eq!(score("X:1\nK:C\n").note_count(), 0);
}

// ---- errors ------------------------------------------------------------------------------------

#[test]
fn missing_key_field() {
    assert!(error("X:1\nT:t\nM:4/4\n").contains("no K: field"));
    assert!(error("X:1\nT:t\nCDE|\nK:C\n").contains("line 3, column 1: music before the K: field"));
}

#[test]
fn unbalanced_chord_brackets() {
    let msg = error("X:1\nK:C\nC [CEG D|\n");
    assert!(
        msg.contains("line 3, column 3") && msg.contains("unbalanced chord bracket"),
        "{msg}"
    );
    let msg = error("X:1\nK:C\nC CEG] D|\n");
    assert!(
        msg.contains("line 3, column 6") && msg.contains("unbalanced chord bracket"),
        "{msg}"
    );
}

#[test]
fn unknown_key() {
    let msg = error("X:1\nK:Xyz\nC\n");
    assert!(
        msg.contains("line 2") && msg.contains("unknown key \"Xyz\""),
        "{msg}"
    );
    let msg = error("X:1\nK:C\nC [K:Gfoo] D\n");
    assert!(
        msg.contains("line 3, column 3") && msg.contains("unknown key"),
        "{msg}"
    );
}

#[test]
fn tuplet_with_nothing_after_it() {
    let msg = error("X:1\nK:C\nCDE (3|\n");
    assert!(
        msg.contains("line 3, column 5") && msg.contains("tuplet (3 has no notes after it"),
        "{msg}"
    );
}

#[test]
fn other_malformed_input() {
    let cases = [
        (
            "X:1\nK:C\nC {AB D\n",
            "line 3, column 3: unterminated grace notes",
        ),
        (
            "X:1\nK:C\nC \"Am D\n",
            "line 3, column 3: unterminated chord symbol",
        ),
        (
            "X:1\nK:C\nC § D\n",
            "line 3, column 3: unexpected character",
        ),
        ("X:1\nK:C\nC ^ D\n", "line 3, column 4: accidental"),
        (
            "X:1\nK:C\nC {g^}D\n",
            "line 3, column 6: accidental without a note letter",
        ),
        ("X:1\nK:C\nc'''''''\n", "outside the MIDI range"),
        (
            "X:1\nM:x/y\nK:C\nC\n",
            "line 2, column 1: unrecognised meter",
        ),
        (
            "X:1\nL:0\nK:C\nC\n",
            "line 2, column 1: unrecognised unit note length",
        ),
        (
            "X:1\nQ:1/4=fast\nK:C\nC\n",
            "line 2, column 1: unrecognised tempo",
        ),
        (
            "X:1\nK:C\nC [M:3/4 D\n",
            "line 3, column 3: unterminated inline field",
        ),
        ("X:1\nK:C\nC0\n", "line 3, column 1: note length of zero"),
        ("X:1\nK:C\n(1C\n", "line 3, column 1: invalid tuplet"),
    ];
    for (tune, expected) in cases {
        let msg = error(tune);
        assert!(msg.contains(expected), "{tune:?}: {msg}");
    }
}

#[test]
fn no_panic_on_odd_input() {
    for tune in [
        "",
        "K:",
        "X:1\nK:C\n]]]",
        "X:1\nK:C\n>>>>C",
        "X:1\nK:C\n:|:|::|1|2",
        "X:1\nK:C\n-&&{}[]()",
        "X:1\nK:C\nZ99999999999 C",
    ] {
        let _ = abc_to_score(tune);
    }
    assert!(error("X:1\nK:C\nZ99999999999 C").contains("too long"));
}

// Cases where music21 reads the corpus otherwise and the crate keeps its reading
// (docs/benchmarks.md, "The ABC reader against music21, tune by tune").

#[test]
fn a_note_tied_over_the_bar_line_keeps_its_accidental() {
    // Essen songs write `_B2- | B2`: the tied note is the same B flat, not the key's B.
    assert_eq!(q("_B2- | B2 B2"), vec![(70, 0, 1920), (71, 1920, 960)]);
}

#[test]
fn an_accidental_carries_into_a_later_chord_of_the_bar() {
    assert_eq!(
        q("_E2 [EC]2 | [EC]4"),
        vec![
            (63, 0, 960),
            (60, 960, 960),
            (63, 960, 960),
            (60, 1920, 1920),
            (64, 1920, 1920)
        ]
    );
}

#[test]
fn a_stray_tie_mark_after_a_broken_rhythm_keeps_the_rhythm() {
    // O'Neill's `g>-f`: the tie joins nothing (different pitches), the `>` still dots the g.
    assert_eq!(e("g>-f ga"), e("g>f ga"));
    assert_eq!(e("g>-f")[0].2, 360);
}

#[test]
fn quoted_printable_text_from_e_mail_is_decoded() {
    // Ryan's Mammoth: `=3D` is a natural sign, `=20` a space, a line ending in `=` runs on.
    assert_eq!(e("^f =3Df=20\n"), e("^f =f"));
    assert_eq!(e("^f =3Df"), vec![(78, 0, 240), (77, 240, 240)]);
    assert_eq!(e("c d=\n2 e=20"), e("c d2 e"));
    assert_eq!(
        e("c ^=\nf=20"),
        e("c ^f"),
        "the soft break may split a note"
    );
    assert_eq!(e("^f f=20\n=\nf"), e("^f f f"), "not a natural sign");
    // A tune that ends on a soft break keeps its last line.
    assert_eq!(e("=3DC d e=\n"), e("=C d e"));
    assert_eq!(
        e("^f f =\nf"),
        e("^f f f"),
        "a soft break is no natural sign"
    );
    // Without the encoding's marks, `=` is the natural sign it always was, `[Q:1/4=60]` a tempo.
    assert_eq!(e("^f [Q:1/4=60] =f"), vec![(78, 0, 240), (77, 240, 240)]);
    assert_eq!(
        e("^f =A f"),
        vec![(78, 0, 240), (69, 240, 240), (78, 480, 240)]
    );
}

#[test]
fn essen_free_meter_is_read_as_none() {
    let tune = "X:1\nM:FREI4/4\nL:1/8\nK:G\nG2 A B3 | c2 d |\n";
    let score = abc_to_score(tune).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(score.tracks[0].notes.len(), 5);
    assert!(score.time_signatures.is_empty(), "free: no meter");
    assert!(
        abc_to_score("X:1\nM:FREI\nK:G\nG|\n").is_err(),
        "FREI needs a meter after it"
    );
    assert!(abc_to_score("X:1\nM:FREIx/4\nK:G\nG|\n").is_err());
}

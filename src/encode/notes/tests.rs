use super::*;
use crate::score::key::tests::{melody, G_MAJOR_SCALE};
use crate::score::Track;

fn note(pitch: u8, start: u32, duration: u32) -> Note {
    Note::new(pitch, start, duration)
}

/// Melody with a chord, a rest and a triplet, two tracks (480 ticks per quarter).
fn tune() -> Score {
    let mut score = Score::new(480);
    score.tracks.push(Track {
        notes: vec![
            note(64, 0, 480),
            note(67, 480, 240),
            // rest 720..960
            note(72, 960, 160),
            note(71, 1120, 160),
            note(69, 1280, 160),
            note(67, 1440, 960),
        ],
        ..Track::default()
    });
    score.tracks.push(Track {
        notes: vec![note(48, 1440, 960), note(52, 1440, 960)],
        ..Track::default()
    });
    score
}

fn plain(with_duration: bool, with_offset: bool) -> NoteVocabConfig {
    NoteVocabConfig {
        with_duration,
        with_offset,
        min_count: 1,
        transpose_to_c: false,
    }
}

fn names(vocab: &NoteVocab, ids: &[i64]) -> Vec<String> {
    ids.iter().map(|&id| vocab.token_name(id)).collect()
}

#[test]
fn tokens_name_notes_chords_and_rests() -> Result<()> {
    let score = tune();
    let seed = score_tokens(&score, &NoteVocabConfig::seed())?;
    assert_eq!(seed, ["E4", "G4", "rest", "C5", "B4", "A4", "C3.E3.G4"]);
    let full = score_tokens(&score, &plain(true, true))?;
    assert_eq!(
        full,
        [
            "E4:1@1",
            "G4:1/2@1/2",
            "rest:1/2@1/2",
            "C5:1/3@1/3",
            "B4:1/3@1/3",
            "A4:1/3@1/3",
            "C3.E3.G4:2@2"
        ]
    );
    Ok(())
}

#[test]
fn durations_and_offsets_round_trip_exactly() -> Result<()> {
    let score = tune();
    let vocab = NoteVocab::build(std::slice::from_ref(&score), &plain(true, true))?;
    let ids = vocab.encode_score(&score)?;
    assert!(!ids.contains(&UNK_ID));
    let back = vocab.decode_ids(&ids)?;
    assert_eq!(back.note_timings(), score.note_timings());
    assert_eq!(vocab.encode_score(&back)?, ids);
    Ok(())
}

#[test]
fn seed_tokens_keep_pitches_and_chords_on_a_fixed_step() -> Result<()> {
    let score = tune();
    let vocab = NoteVocab::build(std::slice::from_ref(&score), &NoteVocabConfig::seed())?;
    let back = vocab.decode_ids(&vocab.encode_score(&score)?)?;
    let expected = [
        (64, 0),
        (67, 240),
        (72, 720),
        (71, 960),
        (69, 1200),
        (48, 1440),
        (52, 1440),
        (67, 1440),
    ];
    let got: Vec<(u8, u32)> = back.tracks[0]
        .notes
        .iter()
        .map(|n| (n.pitch, n.start))
        .collect();
    let mut want = expected.to_vec();
    want.sort_by_key(|&(p, s)| (s, p));
    assert_eq!(got, want, "rest takes a step of its own");
    assert!(back.tracks[0].notes.iter().all(|n| n.duration == 240));
    Ok(())
}

#[test]
fn durations_alone_advance_by_the_duration() -> Result<()> {
    let score = melody(&[60, 62]);
    let vocab = NoteVocab::build(std::slice::from_ref(&score), &plain(true, false))?;
    let ids = vocab.encode_score(&score)?;
    assert_eq!(names(&vocab, &ids), ["C4:1", "D4:1"]);
    assert_eq!(
        vocab.decode_ids(&ids)?.note_timings(),
        [(60, 0, 480), (62, 480, 480)]
    );
    Ok(())
}

#[test]
fn transposition_to_c_before_tokenising() -> Result<()> {
    let score = melody(&G_MAJOR_SCALE);
    let config = NoteVocabConfig {
        transpose_to_c: true,
        ..NoteVocabConfig::seed()
    };
    assert_eq!(
        score_tokens(&score, &config)?,
        ["C5", "D5", "E5", "F5", "G5", "A5", "B5", "C6"]
    );
    Ok(())
}

#[test]
fn rare_and_unknown_tokens_map_to_unk() -> Result<()> {
    let config = NoteVocabConfig {
        min_count: 2,
        ..NoteVocabConfig::seed()
    };
    let vocab = NoteVocab::build(&[melody(&[60, 60, 62, 64, 64, 64])], &config)?;
    assert_eq!(
        vocab.counts(),
        [("<unk>".to_string(), 1), ("E4".into(), 3), ("C4".into(), 2)]
    );
    let ids = vocab.encode_score(&melody(&[62, 64, 90]))?;
    assert_eq!(ids, [UNK_ID, 1, UNK_ID]);
    let back = vocab.decode_ids(&ids)?;
    assert_eq!(
        back.note_timings(),
        [(64, 240, 240)],
        "unk is a silent step"
    );
    let err = vocab.decode_ids(&[1, 7]).unwrap_err().to_string();
    assert!(err.contains("id 7 at position 1"), "{err}");
    assert!(vocab.decode_ids(&[-1]).is_err());
    assert_eq!(vocab.token_name(99), "<invalid 99>");
    assert!(NoteVocab::build(&[Score::default()], &config).is_err());
    Ok(())
}

#[test]
fn token_text_parses_back() {
    for n in [1, 2, 3, 4, 6, 8, 9, 12, 18, 24, 100] {
        assert_eq!(parse_quarters(&format_quarters(n)), Some(n), "{n}");
    }
    assert_eq!(format_quarters(18), "3/2");
    assert_eq!(parse_quarters("1/5"), None, "not on the grid");
    assert_eq!(parse_quarters("1/0"), None);
    for p in 0..=127u8 {
        assert_eq!(
            parse_pitch(&crate::score::pitch_name(i32::from(p))),
            Some(p)
        );
    }
    assert_eq!(parse_pitch("H4"), None);
    assert_eq!(parse_pitch("G9"), Some(127));
    assert_eq!(parse_pitch("G#9"), None, "128 is out of range");
    assert_eq!(Element::parse("C4.x"), None);
    assert_eq!(
        Element::parse("rest:1/2@1"),
        Some((Vec::new(), Some(6), Some(12)))
    );
}

#[test]
fn leading_silence_is_a_rest_and_drums_are_left_out() -> Result<()> {
    let mut score = Score::new(480);
    score.tracks.push(Track {
        notes: vec![note(60, 960, 480)],
        ..Track::default()
    });
    score.tracks.push(Track {
        is_drum: true,
        notes: vec![note(36, 0, 120)],
        ..Track::default()
    });
    assert_eq!(
        score_tokens(&score, &plain(true, true))?,
        ["rest:2@2", "C4:1@1"]
    );
    Ok(())
}

#[test]
fn json_round_trip_and_bad_files() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("notes.json");
    let vocab = NoteVocab::build(&[tune()], &NoteVocabConfig::default())?;
    vocab.save(&path)?;
    let loaded = NoteVocab::load(&path)?;
    assert_eq!(loaded, vocab);
    assert_eq!(loaded.encode_score(&tune())?, vocab.encode_score(&tune())?);
    let text = std::fs::read_to_string(&path)?;
    assert!(text.contains("tunesmith_version") && text.contains(NOTE_VOCAB_KIND));

    let bad = dir.path().join("bad-notes.json");
    std::fs::write(&bad, "not json at all")?;
    let err = format!("{:#}", NoteVocab::load(&bad).unwrap_err());
    assert!(err.contains("bad-notes.json"), "{err}");
    std::fs::write(&bad, text.replace("<unk>", "Q9"))?;
    let err = format!("{:#}", NoteVocab::load(&bad).unwrap_err());
    assert!(
        err.contains("bad-notes.json") && err.contains("<unk>"),
        "{err}"
    );
    Ok(())
}

#[test]
fn display_is_a_well_formed_table_of_top_tokens() -> Result<()> {
    let vocab = NoteVocab::build(&[tune()], &plain(false, false))?;
    let html = vocab.to_html_top(3);
    let doc = roxmltree::Document::parse(&html)?;
    let rows = doc.descendants().filter(|n| n.has_tag_name("tr")).count();
    assert_eq!(rows, 4, "header and three tokens");
    assert!(html.contains("more tokens not shown"), "{html}");
    assert!(
        html.contains("<code>A4</code>"),
        "equal counts in token order: {html}"
    );
    roxmltree::Document::parse(&vocab.to_html())?;
    Ok(())
}

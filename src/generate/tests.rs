//! The sampler with each model kind: seeds, lengths, primers, the end marker, greedy sampling.

use super::*;
use crate::encode::{CharVocab, NoteVocab, NoteVocabConfig, PianoRollConfig};
use crate::model::torch_rng::GeneratorHeld;
use crate::model::{FrameLstm, FrameLstmConfig, LstmConfig, LstmLm, WindowConfig, WindowLstm};
use crate::score::{Note, Track};

/// Eight quarter notes C4..C5 in 4/4: every token of its vocabulary (but `<unk>`) is one
/// quarter note.
fn scale() -> Score {
    let mut score = Score::new(480);
    score.tracks.push(Track {
        notes: [60u8, 62, 64, 65, 67, 69, 71, 72]
            .iter()
            .enumerate()
            .map(|(i, &pitch)| Note::new(pitch, 480 * i as u32, 480))
            .collect(),
        ..Track::default()
    });
    score
}

/// The [`scale`] written to the MIDI file `name` in a temporary folder (which holds it while it
/// lives).
fn scale_as_midi(name: &str) -> Result<(tempfile::TempDir, std::path::PathBuf)> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(name);
    crate::midi::write_midi_file(&scale(), &path)?;
    Ok((dir, path))
}

fn quarter_notes() -> Result<Encoding> {
    let config = NoteVocabConfig {
        transpose_to_c: false,
        ..NoteVocabConfig::default()
    };
    Ok(Encoding::from(NoteVocab::build(&[scale()], &config)?))
}

/// An untrained LSTM language model over [`quarter_notes`] with weights drawn from `seed`, and
/// that encoding; libtorch's generator stays held, seeded, while the returned hold lives.
fn seeded_note_lm(seed: u64) -> Result<(GeneratorHeld, LstmLm, Encoding)> {
    let encoding = quarter_notes()?;
    let generator = crate::model::torch_rng::hold_seeded(seed);
    let lm = LstmLm::new(
        LstmConfig::debug(encoding.vocab_size().unwrap_or(0)),
        Device::Cpu,
    )?;
    Ok((generator, lm, encoding))
}

fn no_unk(config: SampleConfig) -> SampleConfig {
    SampleConfig {
        banned: vec![crate::encode::notes::UNK_ID],
        ..config
    }
}

#[test]
fn the_same_seed_gives_the_same_piece_for_both_token_models() -> Result<()> {
    let (_generator, lm, encoding) = seeded_note_lm(0)?;
    let vocab = encoding.vocab_size().unwrap_or(0);
    let window = WindowLstm::new(WindowConfig::debug(vocab, true), Device::Cpu)?;
    let config = no_unk(SampleConfig {
        temperature: 1.5,
        length: Length::Steps(40),
        seed: 9,
        ..SampleConfig::default()
    });
    let other = SampleConfig {
        seed: 10,
        ..config.clone()
    };
    let primer = Primer::ids(vec![1, 2]);
    for model in [&lm as &dyn Model, &window] {
        let a = generate(model, &encoding, &primer, &config)?;
        assert_eq!(a, generate(model, &encoding, &primer, &config)?);
        assert_ne!(a.ids, generate(model, &encoding, &primer, &other)?.ids);
        assert_eq!((a.primer_steps, a.new_steps()), (2, 40));
        assert_eq!(a.note_count(), 42);
        assert_eq!(&a.ids[..2], &[1, 2]);
    }
    Ok(())
}

#[test]
fn lengths_in_notes_bars_and_seconds_stop_at_the_new_material() -> Result<()> {
    let (_generator, lm, encoding) = seeded_note_lm(0)?;
    let with = |length| {
        no_unk(SampleConfig {
            length,
            max_steps: 100,
            ..SampleConfig::default()
        })
    };
    let primer = Primer::ids(vec![3]);
    let piece = generate(&lm, &encoding, &primer, &with(Length::Notes(7)))?;
    assert_eq!(piece.new_steps(), 7);
    // Quarter notes in 4/4: 3 bars are reached by the 9th note (it starts bar 3).
    let piece = generate(&lm, &encoding, &primer, &with(Length::Bars(3)))?;
    assert_eq!(piece.new_steps(), 9);
    // At 120 BPM a quarter note lasts half a second.
    let piece = generate(&lm, &encoding, &primer, &with(Length::Seconds(2.0)))?;
    assert_eq!(piece.new_steps(), 4);
    // No end marker in this encoding: `End` runs to max_steps.
    let piece = generate(&lm, &encoding, &primer, &with(Length::End))?;
    assert_eq!(piece.new_steps(), 100);
    Ok(())
}

#[test]
fn a_midi_primer_is_read_encoded_cut_and_continued() -> Result<()> {
    let (dir, path) = scale_as_midi("primer.mid")?;
    let (_generator, lm, encoding) = seeded_note_lm(0)?;
    let config = no_unk(SampleConfig {
        length: Length::Steps(10),
        ..SampleConfig::default()
    });
    let piece = generate(&lm, &encoding, &Primer::midi(&path).first(5), &config)?;
    assert_eq!((piece.primer_steps, piece.note_count()), (5, 15));
    let score = piece.score.as_ref().expect("decoded");
    let opening: Vec<u8> = score.tracks[0].notes[..5].iter().map(|n| n.pitch).collect();
    assert_eq!(opening, vec![60, 62, 64, 65, 67]);
    let out = piece.write(dir.path(), "piece")?;
    assert_eq!(out.extension().and_then(|e| e.to_str()), Some("mid"));
    assert_eq!(crate::midi::read_midi_file(&out)?.note_count(), 15);
    let err = generate(&lm, &encoding, &Primer::ids(vec![999]), &config).expect_err("bad id");
    assert!(format!("{err:#}").contains("999"));
    let err = generate(
        &lm,
        &encoding,
        &Primer::midi(dir.path().join("no.mid")),
        &config,
    )
    .expect_err("missing file");
    assert!(format!("{err:#}").contains("no.mid"));
    // Without a primer a notes model starts from its most frequent token.
    let start = generate(&lm, &encoding, &Primer::none(), &config)?;
    assert_eq!((start.ids[0], start.primer_steps), (1, 1));
    Ok(())
}

#[test]
fn a_character_model_writes_a_tune_that_ends_at_the_blank_line() -> Result<()> {
    let _generator = crate::model::torch_rng::hold_seeded(0);
    let vocab = CharVocab::from_texts(["M:6/8\nK:G\nabc|\n\n"]);
    let encoding = Encoding::from(vocab.clone());
    let model = LstmLm::new(LstmConfig::debug(vocab.len()), Device::Cpu)?;
    // Unconstrained: the tiny vocabulary cannot write a tune the ABC constraint accepts, and
    // the end marker is tested with a model that writes only newlines.
    let config = SampleConfig {
        max_steps: 200,
        seed: 5,
        temperature: 1.5,
        abc_constraints: false,
        ..SampleConfig::default()
    };
    let a = generate(&model, &encoding, &Primer::abc("M:"), &config)?;
    assert_eq!(a, generate(&model, &encoding, &Primer::abc("M:"), &config)?);
    let text = a.abc.clone().unwrap_or_default();
    assert!(text.starts_with("M:"), "{text:?}");
    assert_eq!(a.primer_steps, 2);
    // A model that writes only newlines: the tune ends at the blank line, after two of them.
    let newline = vocab.id('\n').expect("newline") as usize;
    tch::no_grad(|| {
        for (name, t) in model.named_parameters() {
            if name == "head.weight" {
                let _ = t.shallow_clone().zero_();
            }
            if name == "head.bias" {
                let mut bias = vec![-20f32; vocab.len()];
                bias[newline] = 10.0;
                t.shallow_clone().copy_(&tch::Tensor::from_slice(&bias));
            }
        }
    });
    let ended = generate(&model, &encoding, &Primer::abc("M:6/8\nK"), &config)?;
    assert_eq!(ended.new_ids(), vocab.encode("\n\n")?.as_slice());
    assert_eq!(ended.abc.as_deref(), Some("M:6/8\nK\n"));
    assert_eq!(a.extension(), "abc");
    let dir = tempfile::tempdir()?;
    let written = std::fs::read_to_string(a.write(dir.path(), "tune")?)?;
    assert!(written.starts_with("X:1\nT:tune\nM:"), "{written:?}");
    let greedy = SampleConfig {
        temperature: 0.0,
        ..config.clone()
    };
    let g1 = generate(&model, &encoding, &Primer::abc("M:"), &greedy)?;
    let g2 = generate(
        &model,
        &encoding,
        &Primer::abc("M:"),
        &SampleConfig { seed: 77, ..greedy },
    )?;
    assert_eq!(g1.ids, g2.ids, "greedy sampling ignores the seed");
    Ok(())
}

#[test]
fn a_character_model_is_primed_with_a_midi_file_written_as_abc() -> Result<()> {
    let (_dir, path) = scale_as_midi("scale.mid")?;
    let text = "M:4/4\nL:1/8\nK:C\nCDEF GABc|c2B2 A2G2|^F_B=c z|\n\n";
    let vocab = CharVocab::from_texts([text]);
    let model = LstmLm::new(LstmConfig::debug(vocab.len()), Device::Cpu)?;
    let config = SampleConfig {
        length: Length::Steps(5),
        ..SampleConfig::default()
    };
    let piece = generate(
        &model,
        &Encoding::from(vocab),
        &Primer::midi(&path),
        &config,
    )?;
    let tune = piece.abc.clone().unwrap_or_default();
    assert!(tune.starts_with("M:4/4\nL:1/8\nK:"), "{tune}");
    assert!(!tune.contains("X:") && !tune.contains("|]"), "{tune}");
    assert!(piece.primer_steps > 20 && piece.new_steps() == 5, "{tune}");
    let head = super::tokens::primer_text(&Primer::midi(&path).first(9))?;
    assert_eq!(head.chars().count(), 9);
    Ok(())
}

fn small_roll() -> PianoRollConfig {
    PianoRollConfig {
        steps_per_quarter: 2,
        low_pitch: 60,
        num_pitches: 8,
        transpose_to_c: false,
    }
}

/// An untrained frame model over [`small_roll`]'s 8 pitches with weights drawn from `seed`, and
/// that encoding; libtorch's generator stays held, seeded, while the returned hold lives.
fn seeded_frame_model(seed: u64) -> Result<(GeneratorHeld, FrameLstm, Encoding)> {
    let generator = crate::model::torch_rng::hold_seeded(seed);
    let model = FrameLstm::new(FrameLstmConfig::debug(8), Device::Cpu)?;
    Ok((generator, model, Encoding::from(small_roll())))
}

#[test]
fn piano_roll_sampling_is_seeded_keeps_the_primer_and_caps_the_notes() -> Result<()> {
    let (_generator, model, encoding) = seeded_frame_model(9)?;
    let primer = Primer::roll(PianoRoll::from_frames(
        vec![vec![60, 64], vec![62]],
        small_roll(),
    ));
    let config = SampleConfig {
        temperature: 3.0,
        seed: 4,
        length: Length::Steps(40),
        ..SampleConfig::default()
    };
    let a = generate(&model, &encoding, &primer, &config)?;
    let roll = a.roll.clone().expect("a roll");
    assert_eq!((roll.len(), a.primer_steps), (42, 2));
    assert_eq!(roll.frames[..2], [vec![60, 64], vec![62]]);
    assert_eq!(a, generate(&model, &encoding, &primer, &config)?);
    let other = SampleConfig {
        seed: 5,
        ..config.clone()
    };
    assert_ne!(a.roll, generate(&model, &encoding, &primer, &other)?.roll);
    // At a high temperature an untrained model turns on about half the cells.
    assert!(roll.density() > 0.2, "density {}", roll.density());
    let capped = SampleConfig {
        max_notes_per_frame: Some(1),
        ..config.clone()
    };
    let capped = generate(&model, &encoding, &Primer::none(), &capped)?;
    let frames = capped.roll.expect("a roll").frames;
    assert_eq!(frames.len(), 40);
    assert!(frames.iter().all(|f| f.len() <= 1));
    // Two bars of 4/4 on a grid of 2 frames per quarter: 16 frames.
    let bars = SampleConfig {
        length: Length::Bars(2),
        ..config
    };
    assert_eq!(
        generate(&model, &encoding, &Primer::none(), &bars)?.new_steps(),
        16
    );
    Ok(())
}

#[test]
fn keys_below_the_minimum_probability_stay_silent() -> Result<()> {
    let (_generator, model, encoding) = seeded_frame_model(9)?;
    let with_floor = |floor: f64| -> Result<Vec<Vec<u8>>> {
        let config = SampleConfig {
            temperature: 3.0,
            seed: 4,
            length: Length::Steps(40),
            min_note_probability: floor,
            ..SampleConfig::default()
        };
        Ok(generate(&model, &encoding, &Primer::none(), &config)?
            .roll
            .expect("a roll")
            .frames)
    };
    let free = with_floor(0.0)?;
    // At this temperature the untrained model's keys are all near one half.
    assert!(free.iter().map(Vec::len).sum::<usize>() > 40);
    assert!(with_floor(0.99)?.iter().all(Vec::is_empty));
    // The same draws: a floor only silences keys. The first frame follows the same state, so its
    // keys are a subset, and some key of the 40 frames falls below a floor of one half.
    let half = with_floor(0.5)?;
    assert!(half[0].iter().all(|key| free[0].contains(key)));
    assert!(half.iter().map(Vec::len).sum::<usize>() < free.iter().map(Vec::len).sum::<usize>());
    for bad in [1.0, -0.1, f64::NAN] {
        let config = SampleConfig {
            min_note_probability: bad,
            ..SampleConfig::default()
        };
        assert!(config.validate().is_err(), "{bad}");
    }
    Ok(())
}

#[test]
fn greedy_piano_roll_sampling_ignores_the_seed() -> Result<()> {
    let (_generator, model, encoding) = seeded_frame_model(1)?;
    let run = |seed| {
        let config = SampleConfig {
            temperature: 0.0,
            seed,
            length: Length::Steps(10),
            ..SampleConfig::default()
        };
        generate(&model, &encoding, &Primer::none(), &config)
    };
    assert_eq!(run(1)?.roll, run(2)?.roll);
    Ok(())
}

#[test]
fn autoregressive_sampling_reads_the_lower_pitches_of_the_frame() -> Result<()> {
    // Pitch 0 sounds by coin flip; pitch 2 sounds exactly when pitch 0 does (its own logit is
    // -10, +20 when pitch 0 is on); pitches 1 and 3 never sound.
    let config = FrameLstmConfig {
        pitch_autoregression: true,
        ..FrameLstmConfig::debug(4)
    };
    let model = FrameLstm::new(config, Device::Cpu)?;
    tch::no_grad(|| {
        for (name, t) in model.named_parameters() {
            match name.as_str() {
                "head.weight" => {
                    let _ = t.shallow_clone().zero_();
                }
                "head.bias" => {
                    t.shallow_clone()
                        .copy_(&tch::Tensor::from_slice(&[0f32, -10., -10., -10.]));
                }
                "pitch.weight" => {
                    let mut w = [0f32; 16];
                    w[2 * 4] = 20.0;
                    t.shallow_clone()
                        .copy_(&tch::Tensor::from_slice(&w).view([4, 4]));
                }
                _ => {}
            }
        }
    });
    let roll_config = PianoRollConfig {
        num_pitches: 4,
        ..PianoRollConfig::default()
    };
    let encoding = Encoding::from(roll_config);
    let sample = SampleConfig {
        length: Length::Steps(200),
        seed: 4,
        ..SampleConfig::default()
    };
    let roll = generate(&model, &encoding, &Primer::none(), &sample)?
        .roll
        .expect("a roll");
    let low = roll_config.low_pitch;
    let with_root = roll.frames.iter().filter(|f| f.contains(&low)).count();
    assert!((60..140).contains(&with_root), "{with_root} of 200 frames");
    for frame in &roll.frames {
        let expected: Vec<u8> = if frame.contains(&low) {
            vec![low, low + 2]
        } else {
            Vec::new()
        };
        assert_eq!(frame, &expected);
    }
    Ok(())
}

#[test]
fn a_model_and_an_encoding_that_do_not_fit_are_refused() -> Result<()> {
    let model = FrameLstm::new(FrameLstmConfig::debug(5), Device::Cpu)?;
    let err = generate(
        &model,
        &Encoding::from(small_roll()),
        &Primer::none(),
        &SampleConfig::default(),
    )
    .expect_err("5 pitches against 8");
    assert!(format!("{err:#}").contains("frame_lstm"), "{err:#}");
    let lm = LstmLm::new(LstmConfig::debug(5), Device::Cpu)?;
    assert!(Generator::new(lm, small_roll()).is_err());
    Ok(())
}

#[test]
fn lengths_parse_from_text() -> Result<()> {
    assert_eq!("notes:64".parse::<Length>()?, Length::Notes(64));
    assert_eq!("end".parse::<Length>()?, Length::End);
    assert_eq!("seconds:2.5".parse::<Length>()?, Length::Seconds(2.5));
    assert_eq!("tokens:7".parse::<Length>()?, Length::Steps(7));
    let err = "beats:3".parse::<Length>().expect_err("unknown");
    assert!(format!("{err:#}").contains("beats:3"));
    assert!("notes:x".parse::<Length>().is_err());
    Ok(())
}

#[test]
fn the_copy_memory_makes_a_model_repeat_what_came_after_the_same_context() -> Result<()> {
    let (_generator, lm, encoding) = seeded_note_lm(7)?;
    let share_copied = |copy_memory: CopyMemory| -> Result<f64> {
        let config = no_unk(SampleConfig {
            temperature: 1.5,
            length: Length::Steps(300),
            copy_memory,
            ..SampleConfig::default()
        });
        let ids = generate(&lm, &encoding, &Primer::ids(vec![1, 2]), &config)?.ids;
        let (mut copied, mut proposed) = (0, 0);
        for t in 1..ids.len() {
            if let Some(p) = crate::model::copy_memory::propose(&ids[..t]) {
                proposed += 1;
                copied += usize::from(p.token == ids[t]);
            }
        }
        Ok(copied as f64 / proposed.max(1) as f64)
    };
    let strong = CopyMemory {
        weights: vec![
            0.0, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95,
        ],
    };
    let with = share_copied(strong)?;
    let without = share_copied(CopyMemory::off())?;
    assert!(with > 0.75, "with the memory {with:.2} of steps copy");
    assert!(
        without < with - 0.3,
        "without it {without:.2}, with it {with:.2}"
    );
    Ok(())
}

//! The ABC constraint inside the sampler: it only masks, and a model that knows nothing writes
//! tunes whose bars add up with it.

use super::tokens::{masked_distribution, TokenConstraint};
use super::*;
use crate::abc::to_score::bar_check;
use crate::encode::CharVocab;
use crate::model::{LstmConfig, LstmLm};

/// Allows a fixed set of ids.
struct Only(Vec<usize>);

impl TokenConstraint for Only {
    fn allowed(&mut self, allowed: &mut [bool], _steps_left: usize) {
        for (i, a) in allowed.iter_mut().enumerate() {
            *a = self.0.contains(&i);
        }
    }

    fn push(&mut self, _id: i64) {}
}

/// An untrained debug `LstmLm` over the corpus-style alphabet, and its encoding (the caller
/// seeds libtorch's generator first).
fn untrained_char_model() -> Result<(LstmLm, Encoding)> {
    let vocab = CharVocab::from_texts([ALPHABET]);
    let model = LstmLm::new(LstmConfig::debug(vocab.len()), Device::Cpu)?;
    Ok((model, Encoding::from(vocab)))
}

#[test]
fn the_constraint_only_masks_the_distribution() -> Result<()> {
    let logits = [0.1f64, 0.4, 0.2, 0.3].map(f64::ln);
    let config = SampleConfig {
        temperature: 0.5,
        ..SampleConfig::default()
    };
    let mut mask = Vec::new();
    let masked = masked_distribution(
        &mut logits.to_vec(),
        &config,
        Some(&mut Only(vec![0, 2, 3])),
        10,
        &mut mask,
        &[],
    )?;
    // Temperature 0.5 squares the probabilities: 1, 16, 4, 9; id 1 masked: 1, 4, 9 of 14.
    let expected = [1.0 / 14.0, 0.0, 4.0 / 14.0, 9.0 / 14.0];
    for (p, e) in masked.iter().zip(expected) {
        assert!((p - e).abs() < 1e-12, "{masked:?}");
    }
    // Without a constraint the same call is the plain distribution.
    let plain = masked_distribution(&mut logits.to_vec(), &config, None, 10, &mut mask, &[])?;
    assert!((plain[1] - 16.0 / 30.0).abs() < 1e-12);
    Ok(())
}

/// The characters of the corpus's tunes.
const ALPHABET: &str = "\n !\"#'(),-./0123456789:<=>ABCDEFGHKLMTZ[]^_abcdefghijlmnoprsuvxyz{|}~";

#[test]
fn an_untrained_model_writes_tunes_whose_bars_add_up_under_the_constraint() -> Result<()> {
    let _generator = crate::model::torch_rng::hold_seeded(3);
    let (model, encoding) = untrained_char_model()?;
    let config = SampleConfig {
        temperature: 1.0,
        max_steps: 600,
        seed: 11,
        ..SampleConfig::default()
    };
    let pieces = generate_many(&model, &encoding, 12, &Primer::none(), &config)?;
    for piece in &pieces {
        let tune = piece.abc.as_deref().unwrap_or_default();
        assert_eq!(piece.constraint_off, None, "{tune}");
        assert!(piece.score.is_some(), "{tune}: {:?}", piece.problem);
        assert!(bar_check(tune)?.adds_up(), "{tune}");
        assert!(tune.starts_with("M:"), "{tune}");
    }
    // The same model unconstrained writes no tune at all.
    let free = SampleConfig {
        abc_constraints: false,
        ..config
    };
    let pieces = generate_many(&model, &encoding, 12, &Primer::none(), &free)?;
    let good = pieces
        .iter()
        .filter(|p| bar_check(p.abc.as_deref().unwrap_or_default()).is_ok_and(|c| c.adds_up()))
        .count();
    assert_eq!(good, 0);
    Ok(())
}

#[test]
fn a_primer_the_constraint_cannot_follow_is_reported() -> Result<()> {
    let _generator = crate::model::torch_rng::hold_seeded(3);
    let (model, encoding) = untrained_char_model()?;
    let config = SampleConfig {
        max_steps: 20,
        ..SampleConfig::default()
    };
    let piece = generate(&model, &encoding, &Primer::abc("M:none\nK:G\n"), &config)?;
    assert!(piece
        .constraint_off
        .is_some_and(|r| r.contains("character 3")));
    Ok(())
}

#[test]
fn resampling_keeps_one_candidate_drawn_by_the_probability_the_mask_kept() -> Result<()> {
    let _generator = crate::model::torch_rng::hold_seeded(3);
    let (model, encoding) = untrained_char_model()?;
    let config = SampleConfig {
        max_steps: 300,
        seed: 5,
        candidates: 4,
        ..SampleConfig::default()
    };
    let kept = generate_many(&model, &encoding, 3, &Primer::none(), &config)?;
    let mut chose_other_than_first = false;
    for (i, piece) in kept.iter().enumerate() {
        let seed = config.seed + i as u64;
        let header = config.header.draw(&config.form, seed).map(Header::Lines);
        let candidates: Vec<Piece> = (0..4)
            .map(|j| {
                let one = SampleConfig {
                    seed: resample::candidate_seed(seed, j),
                    candidates: 1,
                    header: header.clone().unwrap_or(Header::Model),
                    ..config.clone()
                };
                generate(&model, &encoding, &Primer::none(), &one)
            })
            .collect::<Result<_>>()?;
        let logs: Vec<f64> = candidates
            .iter()
            .map(|c| {
                c.resampling_log_weight
                    .expect("a constrained tune has a weight")
            })
            .collect();
        assert!(logs.iter().all(|&l| l <= 0.0 && l.is_finite()), "{logs:?}");
        assert!(
            logs.iter().any(|&l| l < -1e-6),
            "the mask stepped in somewhere: {logs:?}"
        );
        // The choice weighs the mask's share and the tilt's factor for each candidate.
        let tilted: Vec<f64> = candidates
            .iter()
            .zip(&logs)
            .map(|(c, l)| l + config.tilt.log_factor(c))
            .collect();
        let chosen = resample::draw_by_log_weight(&tilted, seed);
        assert_eq!(piece, &candidates[chosen]);
        chose_other_than_first |= chosen != 0;
    }
    assert!(
        chose_other_than_first,
        "one of three pieces came from a later candidate"
    );
    Ok(())
}

#[test]
fn an_unprimed_tune_starts_with_a_header_drawn_from_the_corpus_mix() -> Result<()> {
    let _generator = crate::model::torch_rng::hold_seeded(3);
    let (model, encoding) = untrained_char_model()?;
    let table = default_form_table();
    let config = SampleConfig {
        max_steps: 200,
        ..SampleConfig::default()
    };
    let pieces = generate_many(&model, &encoding, 40, &Primer::none(), &config)?;
    let mut headers = std::collections::HashSet::new();
    for piece in &pieces {
        let tune = piece.abc.as_deref().unwrap_or_default();
        let lines: Vec<&str> = tune.lines().take(2).collect();
        let meter = lines[0].strip_prefix("M:").expect("an M: line first");
        let key = match lines[1].strip_prefix("L:") {
            Some(unit) => format!("{meter} {unit}"),
            None => meter.to_string(),
        };
        assert!(
            table.headers.contains_key(&key),
            "{key:?} is not a corpus header"
        );
        assert!(
            piece.primer_steps >= 6,
            "the header counts as given, not written"
        );
        headers.insert(key);
    }
    assert!(
        headers.len() >= 4,
        "forty draws give several headers: {headers:?}"
    );
    // The model writes its own header when asked to: nothing is given.
    let own = SampleConfig {
        header: Header::Model,
        ..config
    };
    let piece = generate(&model, &encoding, &Primer::none(), &own)?;
    assert_eq!(piece.primer_steps, 0);
    Ok(())
}

#[test]
fn a_drawn_form_is_drawn_once_per_piece_and_its_candidates_share_it() -> Result<()> {
    let _generator = crate::model::torch_rng::hold_seeded(4);
    let (model, encoding) = untrained_char_model()?;
    let config = SampleConfig {
        max_steps: 1500,
        seed: 11,
        candidates: 3,
        form: Form::Drawn,
        header: Header::Lines("M:3/4\nL:1/4\n".into()),
        ..SampleConfig::default()
    };
    let pieces = generate_many(&model, &encoding, 4, &Primer::none(), &config)?;
    let table = crate::generate::form::default_form_table();
    let (_, common) = table
        .forms_for("3/4", Some("1/4"))
        .expect("waltzes in the table");
    let mut forms = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let form = piece.form.clone().expect("a tune under a form");
        assert!(
            common.iter().any(|f| f.parts == form),
            "piece {i}: {form:?} is not one of the corpus's"
        );
        // One candidate drawn on its own with the piece's seed writes in the same form.
        let alone = generate(
            &model,
            &encoding,
            &Primer::none(),
            &SampleConfig {
                seed: config.seed + i as u64,
                candidates: 1,
                ..config.clone()
            },
        )?;
        assert_eq!(alone.form.as_ref(), Some(&form), "piece {i}");
        forms.push(form);
    }
    forms.dedup();
    assert!(
        forms.len() > 1,
        "four pieces drew more than one form: {forms:?}"
    );
    Ok(())
}

//! The fused kernel and the batched sampler against the per-step libtorch sampler: the same
//! probabilities at every step, and the same pieces from the same seeds.

use super::*;
use crate::encode::CharVocab;
use crate::model::{FusedLm, LstmConfig, LstmLm, LstmOptions, TokenStepper};

const ALPHABET: &str = "\n !\"#'(),-./0123456789:<=>ABCDEFGHKLMTZ[]^_abcdefghijlmnoprsuvxyz{|}~";

fn model(options: LstmOptions) -> Result<(LstmLm, CharVocab)> {
    let _generator = crate::model::torch_rng::hold_seeded(21);
    let vocab = CharVocab::from_texts([ALPHABET]);
    let config = LstmConfig {
        embed_dim: 12,
        hidden_size: 40,
        ..LstmConfig::debug(vocab.len())
    };
    Ok((LstmLm::with_options(config, options, Device::Cpu)?, vocab))
}

#[test]
fn the_fused_kernel_gives_the_probabilities_libtorch_gives() -> Result<()> {
    for options in [
        LstmOptions::default(),
        LstmOptions {
            tie_weights: true,
            ..LstmOptions::default()
        },
    ] {
        let (lm, vocab) = model(options)?;
        let fused = FusedLm::new(&lm)?;
        let ids = vocab.encode("M:6/8\nL:1/8\nK:G\nGAB c2d|e>dc BAG|\n")?;
        let (mut reference, mut state) = lm.start(&ids[..1])?;
        let mut lane = fused.zero_state(1);
        let mut logits = Vec::new();
        let config = SampleConfig {
            temperature: 0.8,
            top_p: 0.97,
            ..SampleConfig::default()
        };
        let mut worst = 0f64;
        for t in 0..ids.len() {
            fused.step(&mut lane, &ids[t..t + 1], &mut logits)?;
            let ours: Vec<f64> = logits.iter().map(|&x| f64::from(x)).collect();
            let p = next_token_distribution(&ours, &config)?;
            let q = next_token_distribution(&reference, &config)?;
            worst = p
                .iter()
                .zip(&q)
                .map(|(a, b)| (a - b).abs())
                .fold(worst, f64::max);
            if t + 1 < ids.len() {
                (reference, state) = lm.advance(state, ids[t + 1])?;
            }
        }
        assert!(worst < 1e-5, "probabilities differ by {worst}");
    }
    Ok(())
}

#[test]
fn batched_fused_sampling_writes_what_the_per_step_sampler_writes() -> Result<()> {
    let (lm, vocab) = model(LstmOptions::default())?;
    let encoding = Encoding::from(vocab.clone());
    for constrained in [true, false] {
        let config = SampleConfig {
            temperature: 0.9,
            top_k: 40,
            max_steps: 400,
            seed: 3,
            abc_constraints: constrained,
            // One draw per piece: the lanes below are compared draw for draw.
            candidates: 1,
            ..SampleConfig::default()
        };
        let reference = SampleConfig {
            fused: false,
            ..config.clone()
        };
        let primer = Primer::abc("M:2/4\nL:1/8\nK:D\n");
        let fast = generate_many(&lm, &encoding, 5, &primer, &config)?;
        let slow = generate_many(&lm, &encoding, 5, &primer, &reference)?;
        for (a, b) in fast.iter().zip(&slow) {
            assert_eq!(a.abc, b.abc, "constrained: {constrained}");
        }
        // The lanes in 1 group, or in 3 groups of 2, 2 and 1 lanes, write the same.
        let fused = FusedLm::new(&lm)?;
        let configs: Vec<SampleConfig> = (0..5)
            .map(|i| SampleConfig {
                seed: config.seed + i,
                ..config.clone()
            })
            .collect();
        for groups in [1, 3] {
            let split = batch::generate_abc_lanes(&fused, &vocab, &primer, &configs, groups)?;
            assert_eq!(split.len(), slow.len());
            for (a, b) in split.iter().zip(&slow) {
                assert_eq!(a.abc, b.abc, "{groups} groups, constrained: {constrained}");
            }
        }
        // Constrained pieces end at the blank line, at different lengths, so lanes left the
        // batch at different steps.
        let lengths: Vec<usize> = fast.iter().map(|p| p.ids.len()).collect();
        if constrained {
            assert!(lengths.iter().any(|&n| n != lengths[0]), "{lengths:?}");
        }
        // One piece alone is the first lane of the batch.
        let one = generate(&lm, &encoding, &primer, &config)?;
        assert_eq!(one.abc, fast[0].abc);
    }
    Ok(())
}

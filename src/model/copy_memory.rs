//! A copy memory for token models: the model's next-token distribution mixed with "what came
//! next the last time the recent tokens were seen", trusted more the longer that match is.
//!
//! Tunes repeat themselves: about a fifth of the bars of the default corpus's held-out tunes repeat
//! an earlier bar of their tune, and in a repeated phrase the character that followed the same
//! context before is the next one nine times out of ten once the match is 13 characters long. The
//! character LSTM does not use this: on the validation tunes it gives the right character a mean
//! probability of 0.63 there (`examples/fit_copy_memory`), so sampled tunes rarely repeat a bar.
//! The memory is the standard cure for this (a cache language model, Kuhn and De Mori 1990; the
//! continuous cache of Grave et al. 2017 is its neural form), in its simplest, exact form: at each
//! step the longest suffix of the sequence so far that also ends earlier in it, and the token
//! that followed that earlier occurrence (the most recent one on ties). The mixed distribution is
//!
//! `p(x) = (1 − λ(m)) · p_model(x) + λ(m) · [x = copied token]`,
//!
//! with one weight `λ` per band of match length `m`, fitted on held-out sequences by
//! [`CopyMemory::fit`] (each band's weight maximises that band's likelihood, a one-dimensional
//! concave problem). It is written by hand because it is fifty lines on top of the model's logits
//! and no crate offers a cache mixture for an arbitrary model.

use anyhow::{ensure, Result};
use serde::{Deserialize, Serialize};

/// The upper ends of the match-length bands (band `i` holds `UPPER[i-1] < m ≤ UPPER[i]`; the last
/// band holds every longer match).
pub const BAND_UPPER: [usize; 11] = [0, 1, 2, 3, 4, 6, 8, 12, 16, 24, usize::MAX];

/// The longest match the search looks for (longer matches fall in the last band anyway).
const LONGEST_MATCH: usize = 32;

/// The weights fitted for the shipped character model (`models/abc_folk`) on the default
/// corpus's validation tunes (`cargo run --release --example fit_copy_memory -- models/abc_folk`):
/// validation 1.312 → 1.151 bits per character, test 1.310 → 1.153 (each tune from a zero state).
pub const FITTED_FOR_DEFAULT_CORPUS: [f64; 11] = [
    0.0, 0.0, 0.025, 0.065, 0.095, 0.24, 0.49, 0.645, 0.75, 0.805, 0.825,
];

/// A copy memory's weights, one per band of match length ([`BAND_UPPER`]); all zero turns it off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyMemory {
    /// The weight `λ` of the copied token in each band, each in `[0, 1)`.
    pub weights: Vec<f64>,
}

/// The exponent [`CopyMemory::default`] sharpens the fitted weights by for sampling
/// ([`CopyMemory::sharpened`]). The fitted weights are right for reading a held-out tune, whose
/// earlier bars are the tune's own; a sampled tune's history is the model's, its matches shorter
/// and rarer, and 400 tunes sampled with the fitted weights repeat an earlier bar 10.8% of the
/// time against 22.6% in the validation tunes. With the exponent 1.3, chosen on the validation
/// tunes (`docs/benchmarks.md`), 21.8%.
pub const SAMPLING_SHARPNESS: f64 = 1.3;

impl Default for CopyMemory {
    /// The sampling default: the weights fitted on the default corpus
    /// ([`FITTED_FOR_DEFAULT_CORPUS`]) sharpened by [`SAMPLING_SHARPNESS`].
    fn default() -> Self {
        CopyMemory::fitted().sharpened(SAMPLING_SHARPNESS)
    }
}

/// What the memory proposes after a sequence: the token that followed the longest earlier match,
/// and that match's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyProposal {
    /// The token that came next after the earlier occurrence.
    pub token: i64,
    /// How many tokens the match spans (at most 32).
    pub length: usize,
}

/// The longest suffix of `history` that also ends earlier in it, and the token that followed
/// there (the most recent occurrence on ties); `None` when the last token never came before.
pub fn propose(history: &[i64]) -> Option<CopyProposal> {
    let t = history.len().checked_sub(1)?;
    let mut best: Option<CopyProposal> = None;
    for j in (0..t).rev() {
        let mut length = 0;
        while length <= j && length < LONGEST_MATCH && history[j - length] == history[t - length] {
            length += 1;
        }
        if length > best.map_or(0, |b| b.length) {
            best = Some(CopyProposal {
                token: history[j + 1],
                length,
            });
        }
    }
    best
}

/// The band a match of `length` tokens falls in.
pub fn band(length: usize) -> usize {
    BAND_UPPER
        .iter()
        .position(|&upper| length <= upper)
        .unwrap_or(BAND_UPPER.len() - 1)
}

impl CopyMemory {
    /// A memory that never copies (the model alone).
    pub fn off() -> Self {
        CopyMemory {
            weights: vec![0.0; BAND_UPPER.len()],
        }
    }

    /// The weights fitted on the default corpus's validation tunes for the shipped model
    /// ([`FITTED_FOR_DEFAULT_CORPUS`]): the ones that give held-out tunes their best likelihood.
    pub fn fitted() -> Self {
        CopyMemory {
            weights: FITTED_FOR_DEFAULT_CORPUS.to_vec(),
        }
    }

    /// The same memory trusted more: each band's weight `λ` becomes `1 − (1 − λ)^exponent`
    /// (an exponent of 1 leaves it, above 1 copies more, below 1 less; zero weights stay zero).
    pub fn sharpened(&self, exponent: f64) -> Self {
        CopyMemory {
            weights: self
                .weights
                .iter()
                .map(|&w| 1.0 - (1.0 - w).powf(exponent))
                .collect(),
        }
    }

    /// Whether it never copies.
    pub fn is_off(&self) -> bool {
        self.weights.iter().all(|&w| w == 0.0)
    }

    /// Checks the weights; errors name the field.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.weights.len() == BAND_UPPER.len(),
            "copy_memory.weights needs {} weights (one per band of match length), not {}",
            BAND_UPPER.len(),
            self.weights.len()
        );
        ensure!(
            self.weights.iter().all(|w| (0.0..1.0).contains(w)),
            "copy_memory.weights must each be in [0, 1), not {:?}",
            self.weights
        );
        Ok(())
    }

    /// The weight given to the copied token after `history`, with the proposal it applies to.
    pub fn weight_after(&self, history: &[i64]) -> Option<(CopyProposal, f64)> {
        let proposal = propose(history)?;
        let weight = self.weights.get(band(proposal.length)).copied()?;
        (weight > 0.0).then_some((proposal, weight))
    }

    /// Mixes the memory into a model's logits in place: afterwards they are the log
    /// probabilities of the mixture (unchanged when the memory proposes nothing).
    pub fn mix_into_logits(&self, logits: &mut [f64], history: &[i64]) {
        let Some((proposal, weight)) = self.weight_after(history) else {
            return;
        };
        let Some(copied) = usize::try_from(proposal.token)
            .ok()
            .filter(|&i| i < logits.len())
        else {
            return;
        };
        let top = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !top.is_finite() {
            return;
        }
        let log_total = top + logits.iter().map(|&l| (l - top).exp()).sum::<f64>().ln();
        let keep = (1.0 - weight).ln();
        for (i, l) in logits.iter_mut().enumerate() {
            let model = *l - log_total;
            *l = if i == copied {
                (keep.exp() * model.exp() + weight).ln()
            } else {
                keep + model
            };
        }
    }

    /// Fits the weights on held-out observations `(band, model probability of the true token,
    /// whether the copied token was the true one)`: each band's weight maximises that band's
    /// log-likelihood (a grid of 1/200 steps, which is finer than the data can tell apart).
    pub fn fit(observations: &[(usize, f64, bool)]) -> Self {
        let weights = (0..BAND_UPPER.len())
            .map(|b| {
                let seen: Vec<(f64, bool)> = observations
                    .iter()
                    .filter(|o| o.0 == b)
                    .map(|o| (o.1, o.2))
                    .collect();
                (0..200)
                    .map(|k| f64::from(k) / 200.0)
                    .map(|w| (w, mixed_log_likelihood(&seen, w)))
                    .fold((0.0, f64::NEG_INFINITY), |best, next| {
                        if next.1 > best.1 {
                            next
                        } else {
                            best
                        }
                    })
                    .0
            })
            .collect();
        CopyMemory { weights }
    }
}

/// The log-likelihood of observations `(model probability of the true token, copy right)` under
/// the mixture with weight `w`.
pub fn mixed_log_likelihood(seen: &[(f64, bool)], w: f64) -> f64 {
    seen.iter()
        .map(|&(p, right)| ((1.0 - w) * p + if right { w } else { 0.0 }).ln())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_most_recent_match_is_proposed() {
        // a b c d a b c ? → the earlier "a b c" was followed by d.
        let proposal = propose(&[0, 1, 2, 3, 0, 1, 2]).expect("a match");
        assert_eq!(
            proposal,
            CopyProposal {
                token: 3,
                length: 3
            }
        );
        // x y x z x → "x" came before at 2 (then z) and at 0 (then y): the most recent wins.
        assert_eq!(propose(&[7, 8, 7, 9, 7]).map(|p| p.token), Some(9));
        assert_eq!(propose(&[1, 2, 3]), None);
        assert_eq!(propose(&[]), None);
    }

    #[test]
    fn bands_cover_every_length() {
        assert_eq!(band(0), 0);
        assert_eq!(band(4), 4);
        assert_eq!(band(5), 5);
        assert_eq!(band(13), 8);
        assert_eq!(band(1000), 10);
    }

    #[test]
    fn mixing_moves_probability_onto_the_copied_token_and_stays_normalised() {
        let memory = CopyMemory::fitted();
        let history: Vec<i64> = vec![0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2];
        let mut logits = vec![0.0; 5];
        memory.mix_into_logits(&mut logits, &history);
        let probs: Vec<f64> = logits.iter().map(|l| l.exp()).collect();
        let total: f64 = probs.iter().sum();
        assert!((total - 1.0).abs() < 1e-12, "sums to {total}");
        let proposal = propose(&history).expect("a match");
        assert_eq!(
            proposal,
            CopyProposal {
                token: 3,
                length: 7
            }
        );
        let weight = memory.weights[band(7)];
        assert!(weight > 0.3);
        assert!((probs[3] - (0.2 * (1.0 - weight) + weight)).abs() < 1e-12);
        assert!((probs[0] - 0.2 * (1.0 - weight)).abs() < 1e-12);
        let mut untouched = vec![0.5, 0.1];
        CopyMemory::off().mix_into_logits(&mut untouched, &history);
        assert_eq!(untouched, vec![0.5, 0.1]);
    }

    #[test]
    fn fitting_finds_the_weight_the_data_call_for() {
        // In band 7 the copy is right 90% of the time where the model gives 0.5: the best weight
        // is where the derivative vanishes, w = 0.8 for these numbers.
        let mut seen = Vec::new();
        for i in 0..1000 {
            seen.push((7, 0.5, i % 10 != 0));
        }
        let memory = CopyMemory::fit(&seen);
        assert!(
            (memory.weights[7] - 0.8).abs() < 0.011,
            "{:?}",
            memory.weights
        );
        assert_eq!(memory.weights[0], 0.0, "no data leaves the band off");
        assert!(memory.validate().is_ok());
        assert!(CopyMemory {
            weights: vec![1.0; 11]
        }
        .validate()
        .is_err());
        assert!(CopyMemory {
            weights: vec![0.1; 3]
        }
        .validate()
        .is_err());
    }

    #[test]
    fn sharpening_raises_each_weight_and_keeps_zeros_and_the_default_is_the_sharpened_fit() {
        let fitted = CopyMemory::fitted();
        let sharp = fitted.sharpened(1.3);
        for (a, b) in fitted.weights.iter().zip(&sharp.weights) {
            if *a == 0.0 {
                assert_eq!(*b, 0.0);
            } else {
                assert!(b > a && *b < 1.0, "{a} → {b}");
            }
        }
        // 1 − (1 − 0.5)^2 = 0.75.
        let half = CopyMemory {
            weights: vec![0.5; BAND_UPPER.len()],
        };
        assert!((half.sharpened(2.0).weights[3] - 0.75).abs() < 1e-12);
        for (a, b) in fitted.sharpened(1.0).weights.iter().zip(&fitted.weights) {
            assert!((a - b).abs() < 1e-12);
        }
        assert_eq!(CopyMemory::default(), fitted.sharpened(SAMPLING_SHARPNESS));
        assert!(CopyMemory::default().validate().is_ok());
    }
}

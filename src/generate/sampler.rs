//! The one sampler: logits (or a pitch's logit) to a draw, with one meaning of every setting for
//! every model. Temperature divides the logits (0 is greedy: the most likely token, or each pitch
//! whose probability is above one half); banned ids are removed, then top-k keeps the k most
//! likely (ties to the lower id), then top-p keeps the smallest nucleus; the rest is renormalised.

use super::SampleConfig;
use anyhow::{ensure, Result};
use rand::Rng;

/// The probabilities to sample the next id from (see the module docs). Ids filtered out get
/// exactly 0; at temperature 0 the most likely allowed id gets 1.
pub fn next_token_distribution(logits: &[f64], config: &SampleConfig) -> Result<Vec<f64>> {
    config.validate()?;
    let mut scores = logits.to_vec();
    for &id in &config.banned {
        if let Some(s) = usize::try_from(id).ok().and_then(|i| scores.get_mut(i)) {
            *s = f64::NEG_INFINITY;
        }
    }
    if config.temperature == 0.0 {
        let best = ranked(&scores).first().copied();
        let best = best.filter(|&i| scores[i].is_finite());
        ensure!(
            best.is_some(),
            "no token is left to sample (all banned or the model's scores are not finite)"
        );
        let mut probs = vec![0.0; scores.len()];
        probs[best.unwrap_or(0)] = 1.0;
        return Ok(probs);
    }
    scores.iter_mut().for_each(|s| *s /= config.temperature);
    keep_top_k(&mut scores, config.top_k);
    let mut probs = softmax(&scores)?;
    keep_top_p(&mut probs, config.top_p);
    let total: f64 = probs.iter().sum();
    probs.iter_mut().for_each(|p| *p /= total);
    Ok(probs)
}

/// Sets every score outside the `k` highest to −∞ (ties broken towards the lower id, so exactly
/// `k` stay finite when at least `k` were); `k = 0` keeps all.
pub fn keep_top_k(scores: &mut [f64], k: usize) {
    if k == 0 || k >= scores.len() {
        return;
    }
    for i in ranked(scores).into_iter().skip(k) {
        scores[i] = f64::NEG_INFINITY;
    }
}

/// Zeroes every probability outside the nucleus: the smallest set of most likely ids whose
/// probabilities add up to at least `p` (always at least the most likely id). Not renormalised.
pub fn keep_top_p(probs: &mut [f64], p: f64) {
    if p >= 1.0 {
        return;
    }
    let mut total = 0.0;
    let mut keep = true;
    for i in ranked(probs) {
        if keep {
            total += probs[i];
            keep = total < p;
        } else {
            probs[i] = 0.0;
        }
    }
}

/// Ids by decreasing value, ties to the lower id.
fn ranked(values: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    order
}

fn softmax(scores: &[f64]) -> Result<Vec<f64>> {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    ensure!(
        max.is_finite(),
        "no token is left to sample (all banned or the model's scores are not finite)"
    );
    let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
    let total: f64 = weights.iter().sum();
    Ok(weights.into_iter().map(|w| w / total).collect())
}

/// Draws an id from probabilities (which add up to 1).
pub fn sample_index(probs: &[f64], rng: &mut impl Rng) -> i64 {
    let mut target = rng.random::<f64>();
    let mut last = 0;
    for (i, &p) in probs.iter().enumerate() {
        if p > 0.0 {
            last = i;
            target -= p;
            if target < 0.0 {
                return i as i64;
            }
        }
    }
    last as i64
}

/// The probability that a pitch with this logit sounds: `sigmoid(logit / temperature)`, or at
/// temperature 0, 1 when the logit is positive (probability above one half) and 0 otherwise.
pub fn pitch_probability(logit: f64, temperature: f64) -> f64 {
    if temperature > 0.0 {
        1.0 / (1.0 + (-logit / temperature).exp())
    } else if logit > 0.0 {
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-12, "{a:?} != {b:?}");
        }
    }

    fn logs(probs: &[f64]) -> Vec<f64> {
        probs.iter().map(|p| p.ln()).collect()
    }

    fn with(f: impl FnOnce(&mut SampleConfig)) -> SampleConfig {
        let mut config = SampleConfig::default();
        f(&mut config);
        config
    }

    #[test]
    fn top_k_keeps_exactly_the_k_most_likely_and_ties_go_to_the_lower_id() -> Result<()> {
        let logits = logs(&[0.1, 0.4, 0.2, 0.3]);
        close(
            &next_token_distribution(&logits, &with(|c| c.top_k = 2))?,
            &[0.0, 4.0 / 7.0, 0.0, 3.0 / 7.0],
        );
        let mut ties = vec![1.0, 2.0, 2.0, 2.0];
        keep_top_k(&mut ties, 2);
        assert_eq!(ties, vec![f64::NEG_INFINITY, 2.0, 2.0, f64::NEG_INFINITY]);
        let mut all = vec![1.0, 2.0];
        keep_top_k(&mut all, 0);
        assert_eq!(all, vec![1.0, 2.0]);
        Ok(())
    }

    #[test]
    fn top_p_keeps_the_smallest_nucleus() -> Result<()> {
        let logits = logs(&[0.05, 0.5, 0.15, 0.3]);
        let p = |top_p| next_token_distribution(&logits, &with(|c| c.top_p = top_p));
        // 0.5 < 0.6, 0.5 + 0.3 ≥ 0.6: two ids.
        close(&p(0.6)?, &[0.0, 0.625, 0.0, 0.375]);
        // 0.8 < 0.9, 0.95 ≥ 0.9: three ids.
        close(&p(0.9)?, &[0.0, 0.5 / 0.95, 0.15 / 0.95, 0.3 / 0.95]);
        // Below the top probability: the top id alone.
        close(&p(0.2)?, &[0.0, 1.0, 0.0, 0.0]);
        close(&p(1.0)?, &[0.05, 0.5, 0.15, 0.3]);
        assert!(p(0.0).is_err());
        Ok(())
    }

    #[test]
    fn temperature_then_top_k_then_top_p() -> Result<()> {
        // Temperature 0.5 squares the probabilities: 0.1, 0.4, 0.2, 0.3 → 1, 16, 4, 9 (/30).
        let logits = logs(&[0.1, 0.4, 0.2, 0.3]);
        let config = with(|c| {
            c.temperature = 0.5;
            c.top_k = 3;
            c.top_p = 0.85;
            c.banned = vec![1];
        });
        // Banned id 1; top 3 of the rest: ids 0, 2, 3 with 1, 4, 9 (/14); nucleus 0.85: 9/14 =
        // 0.64 < 0.85, 13/14 ≥ 0.85, so ids 3 and 2.
        close(
            &next_token_distribution(&logits, &config)?,
            &[0.0, 0.0, 4.0 / 13.0, 9.0 / 13.0],
        );
        let all_banned = with(|c| c.banned = vec![0, 1, 2, 3]);
        assert!(next_token_distribution(&logits, &all_banned).is_err());
        Ok(())
    }

    #[test]
    fn temperature_zero_is_greedy_and_respects_bans() -> Result<()> {
        let logits = logs(&[0.1, 0.4, 0.4, 0.1]);
        let greedy = with(|c| c.temperature = 0.0);
        close(
            &next_token_distribution(&logits, &greedy)?,
            &[0.0, 1.0, 0.0, 0.0],
        );
        let banned = with(|c| {
            c.temperature = 0.0;
            c.banned = vec![1];
        });
        close(
            &next_token_distribution(&logits, &banned)?,
            &[0.0, 0.0, 1.0, 0.0],
        );
        assert!(next_token_distribution(&logits, &with(|c| c.temperature = -1.0)).is_err());
        assert_eq!(pitch_probability(0.3, 0.0), 1.0);
        assert_eq!(pitch_probability(-0.3, 0.0), 0.0);
        assert!((pitch_probability(0.0, 2.0) - 0.5).abs() < 1e-12);
        Ok(())
    }

    #[test]
    fn sampling_follows_the_distribution() {
        let probs = [0.0, 0.25, 0.0, 0.75];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut counts = [0usize; 4];
        for _ in 0..4000 {
            counts[sample_index(&probs, &mut rng) as usize] += 1;
        }
        assert_eq!((counts[0], counts[2]), (0, 0));
        assert!((900..1100).contains(&counts[1]), "{counts:?}");
    }
}

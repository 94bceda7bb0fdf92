//! Generating music from any token model (notes and chords, events): temperature, top-k and
//! top-p (nucleus) filtering, a seed, a primer (for example the opening of a MIDI file), a length
//! in tokens or a number of notes or bars of the decoded score, and the result as a [`Score`] or a
//! `.mid` file.
//!
//! Models plug in through [`NextTokenModel`]: [`LstmLm`] steps its recurrent state (one LSTM step
//! per new token); [`WindowLstm`] re-reads a sliding window of the last N ids ([`SlidingWindow`]).

use crate::encode::TokenEncoding;
use crate::model::{LstmLm, LstmState, WindowLstm};
use crate::score::Score;
use anyhow::{bail, ensure, Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::{Kind, Tensor};

/// A model that predicts the next token from the ones before it.
pub trait NextTokenModel {
    /// Whatever the model carries from one step to the next.
    type State;

    /// Number of ids the model scores.
    fn vocab_size(&self) -> usize;

    /// Reads the primer (at least one id); returns the logits for the next id and the state.
    fn start(&self, primer: &[i64]) -> Result<(Vec<f64>, Self::State)>;

    /// Reads one more id; returns the logits for the id after it and the new state.
    fn advance(&self, state: Self::State, id: i64) -> Result<(Vec<f64>, Self::State)>;
}

fn logits_to_vec(logits: &Tensor) -> Result<Vec<f64>> {
    let flat = logits
        .to_kind(Kind::Double)
        .to_device(tch::Device::Cpu)
        .view([-1]);
    Vec::<f64>::try_from(&flat).context("reading the model's logits")
}

impl NextTokenModel for LstmLm {
    type State = LstmState;

    fn vocab_size(&self) -> usize {
        self.config.vocab_size as usize
    }

    fn start(&self, primer: &[i64]) -> Result<(Vec<f64>, LstmState)> {
        ensure!(
            !primer.is_empty(),
            "the primer must hold at least one token"
        );
        tch::no_grad(|| {
            let ids = Tensor::from_slice(primer).view([1, -1]).to(self.device());
            let (logits, state) = self.forward(&ids, None, false);
            Ok((logits_to_vec(&logits.select(1, -1))?, state))
        })
    }

    fn advance(&self, state: LstmState, id: i64) -> Result<(Vec<f64>, LstmState)> {
        tch::no_grad(|| {
            let (logits, state) =
                self.step(&Tensor::from_slice(&[id]).to(self.device()), Some(&state));
            Ok((logits_to_vec(&logits)?, state))
        })
    }
}

/// A [`WindowLstm`] generating with a window of the last `window` ids (the window it was trained
/// on); a shorter primer is read as it is.
#[derive(Debug, Clone, Copy)]
pub struct SlidingWindow<'a> {
    /// The model.
    pub model: &'a WindowLstm,
    /// Ids per window.
    pub window: usize,
}

impl WindowLstm {
    /// This model generating with windows of `window` ids.
    pub fn sliding(&self, window: usize) -> SlidingWindow<'_> {
        SlidingWindow {
            model: self,
            window,
        }
    }
}

impl SlidingWindow<'_> {
    fn logits(&self, context: &[i64]) -> Result<Vec<f64>> {
        let ids = Tensor::from_slice(context)
            .view([1, -1])
            .to(self.model.device());
        tch::no_grad(|| logits_to_vec(&self.model.forward(&ids, false)))
    }
}

impl NextTokenModel for SlidingWindow<'_> {
    type State = Vec<i64>;

    fn vocab_size(&self) -> usize {
        self.model.config.vocab_size as usize
    }

    fn start(&self, primer: &[i64]) -> Result<(Vec<f64>, Vec<i64>)> {
        ensure!(
            !primer.is_empty(),
            "the primer must hold at least one token"
        );
        ensure!(self.window > 0, "the window must hold at least one token");
        let context = primer[primer.len().saturating_sub(self.window)..].to_vec();
        Ok((self.logits(&context)?, context))
    }

    fn advance(&self, mut context: Vec<i64>, id: i64) -> Result<(Vec<f64>, Vec<i64>)> {
        context.push(id);
        if context.len() > self.window {
            context.drain(..context.len() - self.window);
        }
        Ok((self.logits(&context)?, context))
    }
}

/// How to generate. (Missing fields in JSON take their defaults.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenSampleConfig {
    /// Softmax temperature: below 1 is more conservative, above 1 more adventurous.
    pub temperature: f64,
    /// Keep only the k most likely ids at each step (0 keeps all).
    pub top_k: usize,
    /// Keep only the most likely ids whose probabilities add up to at least `top_p` (nucleus
    /// sampling; 1 keeps all).
    pub top_p: f64,
    /// Seed for the sampler (the same seed, model and primer give the same output).
    pub seed: u64,
    /// Most new tokens to generate.
    pub max_tokens: usize,
    /// Stop once the new tokens decode to at least this many notes.
    pub max_notes: Option<usize>,
    /// Stop once the new tokens decode to at least this many bars (of the decoded score's
    /// meter, 4/4 when it has none).
    pub max_bars: Option<usize>,
    /// Ids never to sample (for example `<unk>`).
    pub banned: Vec<i64>,
}

impl Default for TokenSampleConfig {
    fn default() -> Self {
        TokenSampleConfig {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            seed: 0,
            max_tokens: 200,
            max_notes: None,
            max_bars: None,
            banned: Vec::new(),
        }
    }
}

impl TokenSampleConfig {
    fn validate(&self) -> Result<()> {
        ensure!(
            self.temperature > 0.0 && self.temperature.is_finite(),
            "temperature must be positive, got {}",
            self.temperature
        );
        ensure!(
            self.top_p > 0.0 && self.top_p <= 1.0,
            "top_p must be in (0, 1], got {}",
            self.top_p
        );
        Ok(())
    }
}

/// The probabilities to sample the next id from: logits divided by the temperature, banned ids
/// removed, then top-k, then top-p filtering, renormalised. Ids filtered out get exactly 0.
pub fn next_token_distribution(logits: &[f64], config: &TokenSampleConfig) -> Result<Vec<f64>> {
    config.validate()?;
    let mut scaled: Vec<f64> = logits.iter().map(|l| l / config.temperature).collect();
    for &id in &config.banned {
        if let Some(s) = usize::try_from(id).ok().and_then(|i| scaled.get_mut(i)) {
            *s = f64::NEG_INFINITY;
        }
    }
    keep_top_k(&mut scaled, config.top_k);
    let mut probs = softmax(&scaled)?;
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
    let mut inside = true;
    for i in ranked(probs) {
        if inside {
            total += probs[i];
            inside = total < p;
        } else {
            probs[i] = 0.0;
        }
    }
}

/// Indices from the highest value to the lowest (the lower index first among equals).
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

/// Samples new ids after `primer` until `max_tokens` or until `stop` (given the new ids so far)
/// says so; returns only the new ids.
pub fn sample_token_ids<M: NextTokenModel>(
    model: &M,
    primer: &[i64],
    config: &TokenSampleConfig,
    stop: &mut dyn FnMut(&[i64]) -> bool,
) -> Result<Vec<i64>> {
    config.validate()?;
    let vocab = model.vocab_size() as i64;
    if let Some(&bad) = primer.iter().find(|&&id| id < 0 || id >= vocab) {
        bail!("primer id {bad} is outside the model's {vocab} ids");
    }
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let (mut logits, mut state) = model.start(primer)?;
    let mut out = Vec::new();
    while out.len() < config.max_tokens {
        let probs = next_token_distribution(&logits, config)
            .with_context(|| format!("at new token {}", out.len() + 1))?;
        let id = sample_index(&probs, &mut rng);
        out.push(id);
        if stop(&out) || out.len() == config.max_tokens {
            break;
        }
        (logits, state) = model.advance(state, id)?;
    }
    Ok(out)
}

/// A generated piece: the primer, the new ids, and both decoded together.
#[derive(Debug, Clone)]
pub struct GeneratedPiece {
    /// The ids the model was primed with.
    pub primer: Vec<i64>,
    /// The ids the model chose.
    pub ids: Vec<i64>,
    /// The primer and the new ids decoded as one score.
    pub score: Score,
    /// The new ids decoded alone.
    pub continuation: Score,
}

impl GeneratedPiece {
    /// The primer and the new ids, in order.
    pub fn all_ids(&self) -> Vec<i64> {
        [self.primer.as_slice(), self.ids.as_slice()].concat()
    }

    /// Writes the whole piece (primer included) as a MIDI file.
    pub fn write_midi(&self, path: &Path) -> Result<()> {
        crate::midi::write_midi_file(&self.score, path)
    }

    /// Shows the piece inline (summary, piano roll, player) in an evcxr notebook.
    pub fn evcxr_display(&self) {
        println!(
            "{} primer tokens + {} new tokens, {} notes in all",
            self.primer.len(),
            self.ids.len(),
            self.score.note_count()
        );
        self.score.evcxr_display();
    }
}

/// Bars a score spans (the end of its last note, rounded up), in its first meter or 4/4.
pub fn bar_count(score: &Score) -> usize {
    let (num, den) = score.time_signatures.first().map_or((4, 4), |t| {
        (u32::from(t.numerator), u32::from(t.denominator))
    });
    let bar = u64::from(score.ticks_per_quarter.max(1)) * 4 * u64::from(num.max(1))
        / u64::from(den.max(1));
    (u64::from(score.end_tick())).div_ceil(bar.max(1)) as usize
}

/// Generates a piece after `primer` ids (encode a MIDI file with [`primer_ids_from_midi`]): samples
/// until `max_tokens`, or until the new ids decode to `max_notes` notes or `max_bars` bars, then
/// decodes the result with the encoding.
pub fn generate_piece<M: NextTokenModel, E: TokenEncoding + ?Sized>(
    model: &M,
    encoding: &E,
    primer: &[i64],
    config: &TokenSampleConfig,
) -> Result<GeneratedPiece> {
    ensure!(
        model.vocab_size() == encoding.vocab_size(),
        "the model scores {} ids but the encoding has {}",
        model.vocab_size(),
        encoding.vocab_size()
    );
    let counting = config.max_notes.is_some() || config.max_bars.is_some();
    let mut stop = |ids: &[i64]| -> bool {
        if !counting {
            return false;
        }
        // A prefix that does not decode yet (an unfinished event) is not a reason to stop.
        let Ok(score) = encoding.decode_ids(ids) else {
            return false;
        };
        config.max_notes.is_some_and(|n| score.note_count() >= n)
            || config.max_bars.is_some_and(|b| bar_count(&score) >= b)
    };
    let ids = sample_token_ids(model, primer, config, &mut stop)?;
    let all = [primer, ids.as_slice()].concat();
    let score = encoding
        .decode_ids(&all)
        .context("decoding the generated piece")?;
    let continuation = encoding
        .decode_ids(&ids)
        .context("decoding the generated tokens")?;
    Ok(GeneratedPiece {
        primer: primer.to_vec(),
        ids,
        score,
        continuation,
    })
}

/// The first `max_tokens` ids of a MIDI file in an encoding, to prime a model with.
pub fn primer_ids_from_midi<E: TokenEncoding + ?Sized>(
    encoding: &E,
    path: &Path,
    max_tokens: usize,
) -> Result<Vec<i64>> {
    let score = crate::midi::read_midi_file(path)?;
    let mut ids = encoding
        .encode_score(&score)
        .with_context(|| format!("encoding the primer file {}", path.display()))?;
    ensure!(
        !ids.is_empty(),
        "the primer file {} encodes to no tokens",
        path.display()
    );
    ids.truncate(max_tokens.max(1));
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LstmConfig, WindowConfig};
    use crate::score::{Note, Track};
    use tch::Device;

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-12, "{a:?} != {b:?}");
        }
    }

    fn logs(probs: &[f64]) -> Vec<f64> {
        probs.iter().map(|p| p.ln()).collect()
    }

    #[test]
    fn top_k_keeps_exactly_the_k_most_likely() -> Result<()> {
        let logits = logs(&[0.1, 0.4, 0.2, 0.3]);
        let config = TokenSampleConfig {
            top_k: 2,
            ..TokenSampleConfig::default()
        };
        close(
            &next_token_distribution(&logits, &config)?,
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
        let with = |top_p| TokenSampleConfig {
            top_p,
            ..TokenSampleConfig::default()
        };
        // 0.5 < 0.6, 0.5 + 0.3 ≥ 0.6: two ids.
        close(
            &next_token_distribution(&logits, &with(0.6))?,
            &[0.0, 0.625, 0.0, 0.375],
        );
        // 0.8 < 0.9, 0.95 ≥ 0.9: three ids.
        close(
            &next_token_distribution(&logits, &with(0.9))?,
            &[0.0, 0.5 / 0.95, 0.15 / 0.95, 0.3 / 0.95],
        );
        // Below the top probability: the top id alone.
        close(
            &next_token_distribution(&logits, &with(0.2))?,
            &[0.0, 1.0, 0.0, 0.0],
        );
        close(
            &next_token_distribution(&logits, &with(1.0))?,
            &[0.05, 0.5, 0.15, 0.3],
        );
        assert!(next_token_distribution(&logits, &with(0.0)).is_err());
        Ok(())
    }

    #[test]
    fn temperature_then_top_k_then_top_p() -> Result<()> {
        // Temperature 0.5 squares the probabilities: 0.1, 0.4, 0.2, 0.3 → 1, 16, 4, 9 (/30).
        let logits = logs(&[0.1, 0.4, 0.2, 0.3]);
        let config = TokenSampleConfig {
            temperature: 0.5,
            top_k: 3,
            top_p: 0.85,
            banned: vec![1],
            ..TokenSampleConfig::default()
        };
        // Banned id 1; top 3 of the rest: ids 0, 2, 3 with 1, 4, 9 (/14); nucleus 0.85: 9/14 =
        // 0.64 < 0.85, 13/14 ≥ 0.85, so ids 3 and 2.
        close(
            &next_token_distribution(&logits, &config)?,
            &[0.0, 0.0, 4.0 / 13.0, 9.0 / 13.0],
        );
        let all_banned = TokenSampleConfig {
            banned: vec![0, 1, 2, 3],
            ..TokenSampleConfig::default()
        };
        assert!(next_token_distribution(&logits, &all_banned).is_err());
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

    /// A toy encoding: id i is a quarter note of pitch 60 + i, one after another.
    struct Steps(usize);

    impl TokenEncoding for Steps {
        fn vocab_size(&self) -> usize {
            self.0
        }
        fn encode_score(&self, score: &Score) -> Result<Vec<i64>> {
            Ok(score
                .tracks
                .iter()
                .flat_map(|t| &t.notes)
                .map(|n| i64::from(n.pitch) - 60)
                .collect())
        }
        fn decode_ids(&self, ids: &[i64]) -> Result<Score> {
            let mut score = Score::new(480);
            let notes = ids
                .iter()
                .enumerate()
                .map(|(i, &id)| Note {
                    pitch: 60 + id as u8,
                    start: 480 * i as u32,
                    duration: 480,
                    velocity: 80,
                })
                .collect();
            score.tracks.push(Track {
                notes,
                ..Track::default()
            });
            Ok(score)
        }
        fn token_name(&self, id: i64) -> String {
            format!("step{id}")
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_piece() -> Result<()> {
        tch::manual_seed(0);
        let lm = LstmLm::new(LstmConfig::debug(6), Device::Cpu)?;
        let window = WindowLstm::new(WindowConfig::debug(6, true), Device::Cpu)?;
        let config = TokenSampleConfig {
            temperature: 1.5,
            max_tokens: 40,
            seed: 9,
            ..TokenSampleConfig::default()
        };
        let other = TokenSampleConfig {
            seed: 10,
            ..config.clone()
        };
        let enc = Steps(6);
        let a = generate_piece(&lm, &enc, &[1, 2], &config)?;
        assert_eq!(a.ids, generate_piece(&lm, &enc, &[1, 2], &config)?.ids);
        assert_ne!(a.ids, generate_piece(&lm, &enc, &[1, 2], &other)?.ids);
        assert_eq!(a.ids.len(), 40);
        assert_eq!(a.score.note_count(), 42);
        let w = window.sliding(4);
        let b = generate_piece(&w, &enc, &[1, 2], &config)?;
        assert_eq!(b.ids, generate_piece(&w, &enc, &[1, 2], &config)?.ids);
        assert_ne!(b.ids, generate_piece(&w, &enc, &[1, 2], &other)?.ids);
        Ok(())
    }

    #[test]
    fn stepping_matches_rereading_the_whole_context() -> Result<()> {
        // The LSTM's stateful stepping and a window as long as the piece see the same context, so
        // their logits agree step by step with a full forward pass.
        tch::manual_seed(2);
        let lm = LstmLm::new(LstmConfig::debug(5), Device::Cpu)?;
        let (mut logits, mut state) = lm.start(&[3, 1])?;
        let mut seen = vec![3, 1];
        for id in [4, 0, 2] {
            let ids = Tensor::from_slice(&seen).view([1, -1]);
            let (full, _) = lm.forward(&ids, None, false);
            let expected = logits_to_vec(&full.select(1, -1))?;
            for (a, b) in logits.iter().zip(&expected) {
                assert!((a - b).abs() < 1e-5);
            }
            (logits, state) = lm.advance(state, id)?;
            seen.push(id);
        }
        let window = WindowLstm::new(WindowConfig::debug(5, false), Device::Cpu)?;
        let sliding = window.sliding(3);
        let (_, context) = sliding.start(&[1, 2, 3, 4])?;
        assert_eq!(context, vec![2, 3, 4]);
        let (_, context) = sliding.advance(context, 0)?;
        assert_eq!(context, vec![3, 4, 0]);
        Ok(())
    }

    #[test]
    fn stops_at_a_number_of_notes_or_bars() -> Result<()> {
        tch::manual_seed(0);
        let lm = LstmLm::new(LstmConfig::debug(6), Device::Cpu)?;
        let enc = Steps(6);
        let notes = TokenSampleConfig {
            max_tokens: 100,
            max_notes: Some(7),
            ..TokenSampleConfig::default()
        };
        let piece = generate_piece(&lm, &enc, &[0], &notes)?;
        assert_eq!(piece.ids.len(), 7);
        assert_eq!(piece.continuation.note_count(), 7);
        // Quarter notes in 4/4: 3 bars take 12 notes (the 9th note starts bar 3).
        let bars = TokenSampleConfig {
            max_tokens: 100,
            max_bars: Some(3),
            ..TokenSampleConfig::default()
        };
        let piece = generate_piece(&lm, &enc, &[0], &bars)?;
        assert_eq!(piece.ids.len(), 9);
        assert_eq!(bar_count(&piece.continuation), 3);
        Ok(())
    }

    #[test]
    fn a_midi_primer_is_read_encoded_and_continued() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("primer.mid");
        let enc = Steps(8);
        let primer_score = enc.decode_ids(&[0, 2, 4, 5, 7, 5, 4])?;
        crate::midi::write_midi_file(&primer_score, &path)?;
        let primer = primer_ids_from_midi(&enc, &path, 5)?;
        assert_eq!(primer, vec![0, 2, 4, 5, 7]);
        tch::manual_seed(0);
        let lm = LstmLm::new(LstmConfig::debug(8), Device::Cpu)?;
        let config = TokenSampleConfig {
            max_tokens: 10,
            ..TokenSampleConfig::default()
        };
        let piece = generate_piece(&lm, &enc, &primer, &config)?;
        assert_eq!(piece.all_ids()[..5], primer[..]);
        assert_eq!(piece.score.note_count(), 15);
        let opening: Vec<u8> = piece.score.tracks[0].notes[..5]
            .iter()
            .map(|n| n.pitch)
            .collect();
        assert_eq!(opening, vec![60, 62, 64, 65, 67]);
        let out = dir.path().join("piece.mid");
        piece.write_midi(&out)?;
        assert_eq!(crate::midi::read_midi_file(&out)?.note_count(), 15);
        // A primer id the model does not know is refused.
        assert!(generate_piece(&lm, &enc, &[9], &config).is_err());
        assert!(primer_ids_from_midi(&enc, &dir.path().join("missing.mid"), 5).is_err());
        Ok(())
    }
}

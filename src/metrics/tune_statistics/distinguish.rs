//! How well a simple classifier tells two sets of tunes apart from per-tune music figures: a
//! logistic regression, cross-validated. About 50% means the figures do not tell them apart;
//! near 100%, some figure gives one set away (the weights say which).

use super::{TuneFigures, TuneStatistics};
use anyhow::{ensure, Context, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// The per-tune figures the classifier sees, in the order of [`Distinguishability::weights`].
pub const FEATURES: [&str; 13] = [
    "length in bars",
    "share of full interior bars",
    "short interior bars",
    "parts",
    "regular form",
    "share of parts repeated",
    "share of bars that repeat an earlier bar",
    "notes per quarter",
    "pitch range",
    "pitch-class entropy",
    "share of notes shorter than a quarter",
    "mean absolute interval",
    "ends on the tonic",
];

/// Full-batch gradient-descent steps per fit.
const STEPS: usize = 400;
/// Learning rate (features are standardised).
const LEARNING_RATE: f64 = 0.5;
/// L2 penalty on the weights.
const L2: f64 = 1e-3;

/// The result of [`distinguishability`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distinguishability {
    /// Share of held-out tunes classified right, over all folds.
    pub accuracy: f64,
    /// The accuracy of each fold.
    pub fold_accuracies: Vec<f64>,
    /// Number of folds.
    pub folds: usize,
    /// Tunes used from each set (the smaller set's readable tunes; the larger is subsampled).
    pub tunes_per_set: usize,
    /// The features, as [`FEATURES`].
    pub features: Vec<String>,
    /// Weight of each standardised feature in a model fitted on all tunes used; positive
    /// weights point to the second set.
    pub weights: Vec<f64>,
    /// That model's bias.
    pub bias: f64,
}

impl Distinguishability {
    /// An HTML table: the accuracy, then the features by the size of their weight.
    pub fn to_html(&self) -> String {
        let mut rows = vec![vec![
            "cross-validated accuracy".to_string(),
            format!(
                "{:.1}% ({} folds, {} tunes per set)",
                100.0 * self.accuracy,
                self.folds,
                self.tunes_per_set
            ),
        ]];
        let mut order: Vec<usize> = (0..self.weights.len()).collect();
        order.sort_by(|&a, &b| self.weights[b].abs().total_cmp(&self.weights[a].abs()));
        rows.extend(
            order
                .iter()
                .map(|&i| vec![self.features[i].clone(), format!("{:+.3}", self.weights[i])]),
        );
        crate::metrics::table::figures_table(&["feature", "weight"], &rows).0
    }
}

/// The features of one tune.
fn features(x: &TuneFigures) -> [f64; FEATURES.len()] {
    let parts = x.parts.len();
    [
        x.bars as f64,
        x.full_interior_share(),
        x.short_interior_bars as f64,
        parts as f64,
        f64::from(u8::from(x.regular_form)),
        if parts == 0 {
            0.0
        } else {
            x.repeated_parts as f64 / parts as f64
        },
        x.repeated_bar_share(),
        x.notes_per_quarter(),
        f64::from(x.pitch_range),
        x.pitch_class_entropy(),
        x.short_note_share(),
        x.mean_abs_interval(),
        match x.ends_on_tonic {
            Some(true) => 1.0,
            Some(false) => 0.0,
            None => 0.5,
        },
    ]
}

/// The classifier's features ([`FEATURES`]) of every tune the crate's reader can read, in order:
/// what [`distinguishability`] sees, for looking at the two sets feature by feature.
pub fn classifier_features(tunes: &[impl AsRef<str> + Sync]) -> Vec<[f64; FEATURES.len()]> {
    TuneStatistics::of_tunes(tunes)
        .per_tune
        .iter()
        .map(features)
        .collect()
}

/// Logistic regression fitted by full-batch gradient descent: (weights, bias).
fn fit(x: &Tensor, y: &Tensor) -> (Tensor, Tensor) {
    let (n, d) = x.size2().unwrap_or((1, 1));
    let options = (Kind::Double, Device::Cpu);
    let mut w = Tensor::zeros([d], options);
    let mut b = Tensor::zeros([1], options);
    let n = n.max(1) as f64;
    for _ in 0..STEPS {
        let error = (x.matmul(&w) + &b).sigmoid() - y;
        let grad_w = x.transpose(0, 1).matmul(&error) / n + &w * (2.0 * L2);
        let grad_b = error.mean(Kind::Double);
        w -= grad_w * LEARNING_RATE;
        b -= grad_b * LEARNING_RATE;
    }
    (w, b)
}

/// Standardises the columns of `x` with the means and deviations of `train`'s rows.
fn standardise(rows: &[[f64; FEATURES.len()]], train: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let d = FEATURES.len();
    let n = train.len().max(1) as f64;
    let mut mean = vec![0.0; d];
    let mut std = vec![0.0; d];
    for j in 0..d {
        mean[j] = train.iter().map(|&i| rows[i][j]).sum::<f64>() / n;
        let var = train
            .iter()
            .map(|&i| (rows[i][j] - mean[j]).powi(2))
            .sum::<f64>()
            / n;
        std[j] = if var > 1e-12 { var.sqrt() } else { 1.0 };
    }
    (mean, std)
}

/// The rows `idx` of `rows`, standardised, as an `n × d` tensor.
fn matrix(rows: &[[f64; FEATURES.len()]], idx: &[usize], mean: &[f64], std: &[f64]) -> Tensor {
    let flat: Vec<f64> = idx
        .iter()
        .flat_map(|&i| (0..FEATURES.len()).map(move |j| (rows[i][j] - mean[j]) / std[j]))
        .collect();
    Tensor::from_slice(&flat).reshape([idx.len() as i64, FEATURES.len() as i64])
}

/// How well a logistic regression on per-tune figures ([`FEATURES`]) tells set `a` from set
/// `b`: `folds`-fold cross-validated accuracy with balanced classes (the larger set's readable
/// tunes are subsampled to the smaller's; each fold holds equally many of each), features
/// standardised on the training folds. Seeded and deterministic. Errors when either set has
/// fewer readable tunes than folds, or `folds` is below 2.
pub fn distinguishability(
    a: &[impl AsRef<str> + Sync],
    b: &[impl AsRef<str> + Sync],
    folds: usize,
    seed: u64,
) -> Result<Distinguishability> {
    let sets = [TuneStatistics::of_tunes(a), TuneStatistics::of_tunes(b)];
    distinguish_sets(&sets, folds, seed, &[])
}

/// [`distinguishability`] over `draws` random balanced subsamples and fold assignments (seeds
/// `0..draws`), the tunes read once, with the features named in `leave_out` left out (a feature
/// some sampler matches by construction says nothing of the rest): each draw's accuracy, in seed
/// order. Their mean is a steadier figure than one draw's when the sets differ in size (one draw's
/// accuracy moves by a few points with the subsample on 400 tunes a set). Errors name a feature
/// that is not one of [`FEATURES`].
pub fn distinguishability_over_draws(
    a: &[impl AsRef<str> + Sync],
    b: &[impl AsRef<str> + Sync],
    folds: usize,
    draws: u64,
    leave_out: &[&str],
) -> Result<Vec<f64>> {
    let left_out: Vec<usize> = leave_out
        .iter()
        .map(|name| {
            FEATURES
                .iter()
                .position(|f| f == name)
                .with_context(|| format!("{name:?} is not one of the classifier's features"))
        })
        .collect::<Result<_>>()?;
    let sets = [TuneStatistics::of_tunes(a), TuneStatistics::of_tunes(b)];
    accuracies_over_draws(&sets, folds, draws, &left_out)
}

/// [`distinguishability_over_draws`] of two sets already read, the features left out by index.
fn accuracies_over_draws(
    sets: &[TuneStatistics; 2],
    folds: usize,
    draws: u64,
    left_out: &[usize],
) -> Result<Vec<f64>> {
    (0..draws)
        .map(|seed| distinguish_sets(sets, folds, seed, left_out).map(|d| d.accuracy))
        .collect()
}

/// The classifier's features that the sampler's default tilt (`generate::tilt`) matches by
/// construction: a figure without them says what the rest of the tunes give away.
pub const TILTED_FEATURES: [&str; 2] = ["ends on the tonic", "pitch-class entropy"];

/// Two lines for a benchmark's log: the mean accuracy of [`distinguishability_over_draws`] with
/// 5 folds over `draws` subsamples, with every feature and without [`TILTED_FEATURES`], each
/// followed by the draws' accuracies.
pub fn draws_report(
    a: &[impl AsRef<str> + Sync],
    b: &[impl AsRef<str> + Sync],
    draws: u64,
) -> Result<String> {
    // Read once for both figures.
    let sets = [TuneStatistics::of_tunes(a), TuneStatistics::of_tunes(b)];
    let tilted: Vec<usize> = FEATURES
        .iter()
        .enumerate()
        .filter(|(_, f)| TILTED_FEATURES.contains(f))
        .map(|(i, _)| i)
        .collect();
    let mut lines = Vec::new();
    for (label, left_out) in [
        ("all features", &[][..]),
        (
            "without the tilt's (tonic ending, pitch-class entropy)",
            &tilted[..],
        ),
    ] {
        let accuracies = accuracies_over_draws(&sets, 5, draws, left_out)?;
        let each: Vec<String> = accuracies.iter().map(|x| format!("{x:.3}")).collect();
        lines.push(format!(
            "{label}, over {draws} random subsamples: mean accuracy {:.3} ({})",
            accuracies.iter().sum::<f64>() / accuracies.len().max(1) as f64,
            each.join(", ")
        ));
    }
    Ok(lines.join("\n"))
}

/// [`distinguishability`] of two sets already read.
fn distinguish_sets(
    sets: &[TuneStatistics; 2],
    folds: usize,
    seed: u64,
    left_out: &[usize],
) -> Result<Distinguishability> {
    ensure!(
        folds >= 2,
        "cross-validation needs at least 2 folds, not {folds}"
    );
    let n = sets[0].per_tune.len().min(sets[1].per_tune.len());
    ensure!(
        n >= folds,
        "too few readable tunes to tell apart: {} and {}, with {folds} folds",
        sets[0].per_tune.len(),
        sets[1].per_tune.len()
    );
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows: Vec<[f64; FEATURES.len()]> = Vec::with_capacity(2 * n);
    let mut labels: Vec<f64> = Vec::with_capacity(2 * n);
    let mut fold_of: Vec<usize> = Vec::with_capacity(2 * n);
    for (class, set) in sets.iter().enumerate() {
        let mut order: Vec<usize> = (0..set.per_tune.len()).collect();
        order.shuffle(&mut rng);
        for (k, &i) in order.iter().take(n).enumerate() {
            let mut row = features(&set.per_tune[i]);
            // A constant column standardises to 0 and keeps a zero weight: left out.
            for &j in left_out {
                row[j] = 0.0;
            }
            rows.push(row);
            labels.push(class as f64);
            fold_of.push(k % folds);
        }
    }
    let mut correct = 0usize;
    let mut fold_accuracies = Vec::with_capacity(folds);
    for fold in 0..folds {
        let train: Vec<usize> = (0..rows.len()).filter(|&i| fold_of[i] != fold).collect();
        let test: Vec<usize> = (0..rows.len()).filter(|&i| fold_of[i] == fold).collect();
        let (mean, std) = standardise(&rows, &train);
        let y: Vec<f64> = train.iter().map(|&i| labels[i]).collect();
        let (w, bias) = fit(&matrix(&rows, &train, &mean, &std), &Tensor::from_slice(&y));
        let scores = Vec::<f64>::try_from(matrix(&rows, &test, &mean, &std).matmul(&w) + &bias)?;
        let right = test
            .iter()
            .zip(&scores)
            .filter(|(&i, &s)| (s > 0.0) == (labels[i] > 0.5))
            .count();
        correct += right;
        fold_accuracies.push(right as f64 / test.len().max(1) as f64);
    }
    let all: Vec<usize> = (0..rows.len()).collect();
    let (mean, std) = standardise(&rows, &all);
    let (w, bias) = fit(
        &matrix(&rows, &all, &mean, &std),
        &Tensor::from_slice(&labels),
    );
    Ok(Distinguishability {
        accuracy: correct as f64 / rows.len() as f64,
        fold_accuracies,
        folds,
        tunes_per_set: n,
        features: FEATURES.iter().map(|f| f.to_string()).collect(),
        weights: Vec::<f64>::try_from(w)?,
        bias: Vec::<f64>::try_from(bias)?.first().copied().unwrap_or(0.0),
    })
}

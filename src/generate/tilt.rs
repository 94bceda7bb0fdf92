//! A tilt of the choice among candidates towards statistics of the corpus.
//!
//! Sampling–importance–resampling ([`super::resample`]) keeps one of a piece's candidates with
//! probability proportional to its weight `w(x)`, and its tunes tend to the model's own
//! distribution over valid tunes in form. Some statistics of that distribution are not the
//! corpus's, and no mask can give them, because they are choices the model makes: the shipped
//! character model ends about half of its tunes on the tonic, where 77% of the corpus's tunes end
//! there, and writes one tune in eight in more than one part, where the corpus has one in four;
//! the tunes it keeps use their scale less evenly than the corpus's (pitch-class entropy 2.46
//! bits against 2.50), the largest tell a classifier found after the form (docs/benchmarks.md).
//!
//! The tilt multiplies each candidate's weight by `exp(λ · φ(x))`, for features `φ` of the whole
//! tune ([`TILT_FEATURES`]). The kept tunes then tend to the distribution `p(x) · exp(λ · φ(x))`
//! over valid tunes. Of all the distributions whose features have given means, that is the one
//! nearest the model (least Kullback–Leibler divergence: Csiszár's I-projection, 1975; used to
//! control language models by Khalifa, Elsahar and Dymetman, "A Distributional Approach to
//! Controlled Text Generation", ICLR 2021). `λ` is fitted ([`fit`], `examples/fit_tilt.rs`) so
//! that the kept tunes' means equal the **training** tunes': the held-out tunes that the
//! benchmarks compare with are never used. Everything else about a tune is left to the model: the
//! tilt only chooses among tunes the model wrote, by a few numbers about each.
//!
//! A feature the tilt matches is matched by construction, so its own figure says nothing about
//! the model. What it is judged by is everything else: the other statistics and a classifier's
//! accuracy against held-out tunes (`docs/benchmarks.md`). Two of the tilt's features are among
//! that classifier's, so the classifier is judged with and without them there.

use super::Piece;
use crate::abc::to_score::{ends_on_tonic, tune_form};
use crate::abc::{abc_to_score_with, AbcToScoreOptions};
use crate::score::key::{pitch_class_counts, pitch_class_entropy};
use anyhow::{ensure, Result};
use serde::{Deserialize, Serialize};

/// How many features the tilt weighs.
pub const TILT_FEATURE_COUNT: usize = 3;

/// The features the tilt weighs, in the order of [`features`] and [`Tilt::weights`].
pub const TILT_FEATURES: [&str; TILT_FEATURE_COUNT] = [
    "ends on the tonic",
    "more than one part",
    "pitch-class entropy",
];

/// The range of each feature's values, in the order of [`TILT_FEATURES`]: the first two hold or
/// do not (0 or 1), the entropy is in bits (log2 12 for all twelve pitch classes equally often).
const FEATURE_RANGES: [(f64, f64); TILT_FEATURE_COUNT] =
    [(0.0, 1.0), (0.0, 1.0), (0.0, 3.584_962_500_721_156)];

/// Weights of the features in a candidate's log weight (0 leaves a feature alone; see the module
/// documentation). Missing fields in JSON are 0 when the tilt is given at all.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tilt {
    /// Added to the log weight of a candidate that ends on its tonic
    /// ([`crate::abc::to_score::ends_on_tonic`]).
    #[serde(default)]
    pub ends_on_tonic: f64,
    /// Added to the log weight of a candidate with more than one part
    /// ([`crate::abc::to_score::tune_form`]).
    #[serde(default)]
    pub several_parts: f64,
    /// Times the entropy in bits of the candidate's pitch classes, as written (repeats not
    /// played out), added to its log weight: a positive weight favours tunes that use more of
    /// their scale, more evenly.
    #[serde(default)]
    pub pitch_class_entropy: f64,
}

impl Default for Tilt {
    /// The tilt fitted for the shipped character model (`models/abc_folk`) at temperature 1
    /// (the shipped model itself samples at the settings in its folder's `sampling.json`: 0.95,
    /// with this tilt refitted there; see [`crate::generate::model_sampling`]), so that its kept
    /// tunes end on the tonic as often as the default corpus's
    /// training tunes (74.9%) and their pitch classes have the training tunes' mean entropy
    /// (2.499 bits): `TILT_FEATURES=tonic,entropy cargo run --release --example fit_tilt --
    /// models/abc_folk 400` gives 4.268 and 2.930 (without the tilt the kept tunes end on the
    /// tonic 51% of the time, with 2.462 bits). The parts' weight is left at 0: fitting it too
    /// matched the number of parts, but the forced multi-part tunes repeat their parts more than
    /// the corpus's, and a classifier told them from the validation tunes no less often
    /// (docs/benchmarks.md).
    fn default() -> Self {
        SHIPPED_MODEL_TILT
    }
}

/// See [`Tilt::default`].
pub const SHIPPED_MODEL_TILT: Tilt = Tilt {
    ends_on_tonic: 4.27,
    several_parts: 0.0,
    pitch_class_entropy: 2.93,
};

impl Tilt {
    /// No tilt: candidates are weighed by the mask alone.
    pub const fn off() -> Self {
        Tilt {
            ends_on_tonic: 0.0,
            several_parts: 0.0,
            pitch_class_entropy: 0.0,
        }
    }

    /// The weights, in the order of [`TILT_FEATURES`].
    pub fn weights(&self) -> [f64; TILT_FEATURE_COUNT] {
        [
            self.ends_on_tonic,
            self.several_parts,
            self.pitch_class_entropy,
        ]
    }

    /// The tilt with these weights, in the order of [`TILT_FEATURES`].
    pub fn from_weights(weights: [f64; TILT_FEATURE_COUNT]) -> Self {
        Tilt {
            ends_on_tonic: weights[0],
            several_parts: weights[1],
            pitch_class_entropy: weights[2],
        }
    }

    /// True when every weight is 0.
    pub fn is_off(&self) -> bool {
        self.weights().iter().all(|&w| w == 0.0)
    }

    /// Checks the weights; errors name the field.
    pub fn validate(&self) -> Result<()> {
        for (name, w) in TILT_FEATURES.iter().zip(self.weights()) {
            ensure!(
                w.is_finite(),
                "tilt: the weight of {name:?} must be a finite number, not {w}"
            );
        }
        Ok(())
    }

    /// What the tilt adds to a candidate's log weight: `λ · φ(piece)`.
    pub fn log_factor(&self, piece: &Piece) -> f64 {
        if self.is_off() {
            return 0.0;
        }
        dot(self.weights(), features(piece))
    }
}

fn dot(a: [f64; TILT_FEATURE_COUNT], b: [f64; TILT_FEATURE_COUNT]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The features of a tune, in the order of [`TILT_FEATURES`], read as `TuneStatistics` reads
/// them (the notes as written, repeats not played out): 1 or 0 for the first two (0 when the tune
/// cannot be read or its header names no tonic), and the entropy of its pitch classes in bits (0
/// for a tune the reader refuses).
pub fn tune_features(abc: &str) -> [f64; TILT_FEATURE_COUNT] {
    let options = AbcToScoreOptions {
        expand_repeats: false,
        ..AbcToScoreOptions::default()
    };
    let score = abc_to_score_with(abc, &options).ok();
    let tonic = score.as_ref().and_then(|s| ends_on_tonic(abc, s)) == Some(true);
    let several = tune_form(abc).is_ok_and(|f| f.parts.len() > 1);
    let entropy = score
        .as_ref()
        .and_then(|s| s.tracks.first())
        .map_or(0.0, |track| {
            pitch_class_entropy(&pitch_class_counts(&track.notes))
        });
    [
        f64::from(u8::from(tonic)),
        f64::from(u8::from(several)),
        entropy,
    ]
}

/// The features of a generated piece ([`tune_features`] of its ABC text; all 0 for a piece that
/// is not an ABC tune).
pub fn features(piece: &Piece) -> [f64; TILT_FEATURE_COUNT] {
    match &piece.abc {
        Some(abc) => tune_features(abc),
        None => [0.0; TILT_FEATURE_COUNT],
    }
}

/// One candidate as the fit sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandidateFeatures {
    /// Its resampling log weight ([`Piece::resampling_log_weight`]).
    pub log_weight: f64,
    /// Its [`features`].
    pub features: [f64; TILT_FEATURE_COUNT],
}

impl CandidateFeatures {
    /// The candidate as the fit sees it.
    pub fn of(piece: &Piece) -> Self {
        CandidateFeatures {
            log_weight: piece.resampling_log_weight.unwrap_or(0.0),
            features: features(piece),
        }
    }
}

/// The chance of each candidate of a group being kept under `tilt`: the draw of
/// [`super::resample::choose`], as shares.
fn kept_shares(group: &[CandidateFeatures], tilt: &Tilt) -> Vec<f64> {
    let logs: Vec<f64> = group
        .iter()
        .map(|c| c.log_weight + dot(tilt.weights(), c.features))
        .collect();
    let weights = super::resample::relative_weights(&logs);
    let total: f64 = weights.iter().sum();
    weights.iter().map(|w| w / total).collect()
}

/// A vector of the features' values.
type Features = [f64; TILT_FEATURE_COUNT];

/// The expected means of the features over the kept tunes, one kept per group, under `tilt`,
/// and their derivative in the weights (the mean over groups of the features' covariance among
/// the group's candidates, as each is kept).
pub fn kept_means(
    groups: &[Vec<CandidateFeatures>],
    tilt: &Tilt,
) -> (Features, [Features; TILT_FEATURE_COUNT]) {
    let mut mean = [0.0; TILT_FEATURE_COUNT];
    let mut jacobian = [[0.0; TILT_FEATURE_COUNT]; TILT_FEATURE_COUNT];
    let groups: Vec<&Vec<CandidateFeatures>> = groups.iter().filter(|g| !g.is_empty()).collect();
    for group in &groups {
        let shares = kept_shares(group, tilt);
        let mut m = [0.0; TILT_FEATURE_COUNT];
        let mut second = [[0.0; TILT_FEATURE_COUNT]; TILT_FEATURE_COUNT];
        for (c, s) in group.iter().zip(&shares) {
            let f = c.features;
            for (i, row) in second.iter_mut().enumerate() {
                m[i] += s * f[i];
                for (j, cell) in row.iter_mut().enumerate() {
                    *cell += s * f[i] * f[j];
                }
            }
        }
        for (i, row) in jacobian.iter_mut().enumerate() {
            mean[i] += m[i];
            for (j, cell) in row.iter_mut().enumerate() {
                *cell += second[i][j] - m[i] * m[j];
            }
        }
    }
    let n = groups.len().max(1) as f64;
    for (value, row) in mean.iter_mut().zip(jacobian.iter_mut()) {
        *value /= n;
        for cell in row.iter_mut() {
            *cell /= n;
        }
    }
    (mean, jacobian)
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting; `None` when `a` is singular.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (above, below) = a.split_at_mut(col + 1);
        let pivot_row = &above[col];
        for (offset, row) in below.iter_mut().enumerate() {
            let factor = row[col] / pivot_row[col];
            for (cell, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *cell -= factor * p;
            }
            b[col + 1 + offset] -= factor * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let tail: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - tail) / a[row][row];
    }
    Some(x)
}

/// The tilt under which the kept tunes' feature means equal `targets` (each in its feature's
/// range: a share in `[0, 1]`, or bits of entropy; `None` leaves that feature's weight at 0),
/// for candidates drawn as in `groups` (each group one piece's candidates): Newton's method on
/// the means, each step halved until it brings them nearer. Errors when a target cannot be
/// reached within 0.005 (no candidate has the feature, say).
pub fn fit(
    groups: &[Vec<CandidateFeatures>],
    targets: [Option<f64>; TILT_FEATURE_COUNT],
) -> Result<Tilt> {
    ensure!(
        groups.iter().any(|g| !g.is_empty()),
        "tilt fit: no candidates"
    );
    for ((name, t), (low, high)) in TILT_FEATURES.iter().zip(targets).zip(FEATURE_RANGES) {
        if let Some(t) = t {
            ensure!(
                (low..=high).contains(&t),
                "tilt fit: the target of {name:?} must be in [{low}, {high:.3}], not {t}"
            );
        }
    }
    let active: Vec<usize> = (0..TILT_FEATURE_COUNT)
        .filter(|&i| targets[i].is_some())
        .collect();
    let residual = |tilt: &Tilt| {
        let (m, j) = kept_means(groups, tilt);
        let r: Vec<f64> = active
            .iter()
            .map(|&i| targets[i].unwrap_or(0.0) - m[i])
            .collect();
        (r, j)
    };
    let error = |tilt: &Tilt| residual(tilt).0.iter().map(|x| x * x).sum::<f64>();
    let mut tilt = Tilt::off();
    for _ in 0..200 {
        let (r, j) = residual(&tilt);
        if r.iter().all(|x| x.abs() < 1e-6) {
            break;
        }
        // Solve (J + εI) Δ = r over the active features; ε keeps the step finite where a
        // feature barely varies.
        let system: Vec<Vec<f64>> = active
            .iter()
            .map(|&a| {
                active
                    .iter()
                    .map(|&b| j[a][b] + if a == b { 1e-6 } else { 0.0 })
                    .collect()
            })
            .collect();
        // The squared error at the current weights, from the residual just computed.
        let before: f64 = r.iter().map(|x| x * x).sum();
        let Some(delta) = solve(system, r) else {
            break;
        };
        let mut step = [0.0; TILT_FEATURE_COUNT];
        for (&i, d) in active.iter().zip(delta) {
            step[i] = d;
        }
        let mut moved = false;
        for _ in 0..40 {
            let w = tilt.weights();
            let next =
                Tilt::from_weights(std::array::from_fn(|i| (w[i] + step[i]).clamp(-30.0, 30.0)));
            if error(&next) < before {
                tilt = next;
                moved = true;
                break;
            }
            step = step.map(|x| x / 2.0);
        }
        if !moved {
            break;
        }
    }
    let (m, _) = kept_means(groups, &tilt);
    for &i in &active {
        let target = targets[i].unwrap_or(0.0);
        ensure!(
            (m[i] - target).abs() < 0.005,
            "tilt fit: the kept tunes' mean of {:?} reaches {:.3}, not the target {:.3}: out of \
             reach of these candidates",
            TILT_FEATURES[i],
            m[i],
            target
        );
    }
    Ok(tilt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(log_weight: f64, tonic: bool, parts: bool) -> CandidateFeatures {
        CandidateFeatures {
            log_weight,
            features: [f64::from(u8::from(tonic)), f64::from(u8::from(parts)), 0.0],
        }
    }

    #[test]
    fn the_features_read_the_tune() {
        let tune = "M:4/4\nL:1/8\nK:G\n|:GABc dBAG|FGAB G4:|\n|:dBdB cAcA|BAGF G4:|\n";
        let [tonic, parts, _] = tune_features(tune);
        assert_eq!((tonic, parts), (1.0, 1.0));
        let tune = "M:4/4\nL:1/8\nK:G\nGABc dBAG|FGAB A4|]\n";
        assert_eq!(tune_features(tune)[..2], [0.0, 0.0]);
        // The highest note of a final chord is the one that counts; K:none has no tonic.
        let tune = "M:4/4\nL:1/8\nK:D\nDEFG ABcd|[Ad]8|]\n";
        assert_eq!(tune_features(tune)[0], 1.0);
        let tune = "M:4/4\nL:1/8\nK:none\nDEFG ABcd|d8|]\n";
        assert_eq!(tune_features(tune)[0], 0.0);
        // Entropy of the pitch classes as written: four notes on four classes are 2 bits, and
        // a repeat sign does not count its part twice (G, G, A, B: 1.5 bits; played out, G four
        // times in six notes would give 1.25).
        let tune = "M:4/4\nL:1/4\nK:C\nCDEF|]\n";
        assert!((tune_features(tune)[2] - 2.0).abs() < 1e-12);
        let tune = "M:2/4\nL:1/4\nK:G\n|:GG:|AB|]\n";
        assert!((tune_features(tune)[2] - 1.5).abs() < 1e-12);
        assert_eq!(tune_features("not a tune"), [0.0, 0.0, 0.0]);
    }

    #[test]
    fn the_fit_reaches_its_targets_and_the_tilt_moves_the_means() {
        // 300 groups of 8 candidates; a quarter of candidates end on the tonic, one in ten has
        // parts, with weights that vary.
        let groups: Vec<Vec<CandidateFeatures>> = (0..300)
            .map(|g| {
                (0..8)
                    .map(|j| {
                        let k = g * 8 + j;
                        candidate(-((k % 7) as f64) * 0.3, k % 4 == 0, k % 10 == 3)
                    })
                    .collect()
            })
            .collect();
        let (untilted, _) = kept_means(&groups, &Tilt::off());
        assert!(untilted[0] < 0.4 && untilted[1] < 0.2, "{untilted:?}");
        let tilt = fit(&groups, [Some(0.75), Some(0.25), None]).unwrap();
        let (m, _) = kept_means(&groups, &tilt);
        assert!(
            (m[0] - 0.75).abs() < 1e-3 && (m[1] - 0.25).abs() < 1e-3,
            "{m:?}"
        );
        assert!(
            tilt.ends_on_tonic > 0.5 && tilt.several_parts > 0.5,
            "{tilt:?}"
        );
        // Targets below the untilted means need negative weights.
        let down = fit(&groups, [Some(0.1), Some(0.02), None]).unwrap();
        assert!(
            down.ends_on_tonic < 0.0 && down.several_parts < 0.0,
            "{down:?}"
        );
        // A feature no candidate has cannot be made common.
        let none: Vec<Vec<CandidateFeatures>> =
            vec![(0..8).map(|_| candidate(0.0, true, false)).collect(); 10];
        let err = fit(&none, [Some(0.5), Some(0.5), None])
            .unwrap_err()
            .to_string();
        assert!(err.contains("out of reach"), "{err}");
        assert!(fit(&groups, [Some(1.5), Some(0.2), None]).is_err());
        // One feature alone: the other weight stays 0 and its mean moves only through the first.
        let tonic_only = fit(&groups, [Some(0.6), None, None]).unwrap();
        assert_eq!(tonic_only.several_parts, 0.0);
        let (m, _) = kept_means(&groups, &tonic_only);
        assert!((m[0] - 0.6).abs() < 1e-3, "{m:?}");
    }

    #[test]
    fn the_fit_reaches_a_mean_entropy() {
        // Candidates whose entropy rises with their index, the likelier ones lower: the fit
        // raises the kept mean to the target with a positive weight, the others left at 0.
        let groups: Vec<Vec<CandidateFeatures>> = (0..200)
            .map(|g| {
                (0..8)
                    .map(|j| CandidateFeatures {
                        log_weight: -0.4 * j as f64,
                        features: [0.0, 0.0, 2.0 + 0.1 * j as f64 + 0.01 * (g % 5) as f64],
                    })
                    .collect()
            })
            .collect();
        let (untilted, _) = kept_means(&groups, &Tilt::off());
        let tilt = fit(&groups, [None, None, Some(2.5)]).unwrap();
        let (m, _) = kept_means(&groups, &tilt);
        assert!(
            untilted[2] < 2.3 && (m[2] - 2.5).abs() < 1e-3,
            "{untilted:?} {m:?}"
        );
        assert!(
            tilt.pitch_class_entropy > 0.0 && tilt.ends_on_tonic == 0.0,
            "{tilt:?}"
        );
        // Beyond what twelve pitch classes can have: refused before fitting.
        let err = fit(&groups, [None, None, Some(4.0)])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("pitch-class entropy") && err.contains("[0, 3.585]"),
            "{err}"
        );
    }

    #[test]
    fn the_solver_solves_and_refuses_a_singular_system() {
        // A pivot is needed: the first row starts with 0.
        let x = solve(
            vec![
                vec![0.0, 2.0, 1.0],
                vec![1.0, 1.0, 0.0],
                vec![2.0, 0.0, 3.0],
            ],
            vec![5.0, 3.0, 13.0],
        )
        .unwrap();
        for (got, want) in x.iter().zip([2.0, 1.0, 3.0]) {
            assert!((got - want).abs() < 1e-12, "{x:?}");
        }
        assert!(solve(vec![vec![1.0, 2.0], vec![2.0, 4.0]], vec![1.0, 2.0]).is_none());
    }

    #[test]
    fn weights_must_be_finite() {
        assert!(Tilt::default().validate().is_ok());
        let bad = Tilt {
            several_parts: f64::NAN,
            ..Tilt::off()
        };
        let infinite = Tilt {
            pitch_class_entropy: f64::INFINITY,
            ..Tilt::off()
        };
        assert!(infinite.validate().is_err());
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains("more than one part"), "{err}");
        assert!(Tilt::off().is_off() && !Tilt::default().is_off());
    }
}

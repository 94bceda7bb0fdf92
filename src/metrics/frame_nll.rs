//! Negative log-likelihood of piano-roll frames in the unit of the polyphonic benchmark
//! (Boulanger-Lewandowski et al. 2012; Bai, Kolter and Koltun 2018): each predicted frame's loss is
//! the binary cross-entropy summed over its pitches, in nats; the figure is the sum of those losses
//! over every predicted frame of every piece, divided by the number of predicted frames (a
//! per-frame average weighted by piece length, not a mean of per-piece means).

pub use crate::data::{padding_mask, PAD_TARGET};
use crate::data::{Batch, Batches, RollBatches};
pub use crate::model::losses::frame_bce;
use crate::model::{Model, Stepper};
use anyhow::{ensure, Result};
use tch::{Device, Kind, Tensor};

/// Sum of the per-frame NLL over the frames where `mask` is 1 (all frames when `None`), and the
/// number of those frames: add these up over batches and divide at the end.
pub fn frame_nll_sum(logits: &Tensor, targets: &Tensor, mask: Option<&Tensor>) -> (f64, f64) {
    tch::no_grad(|| {
        let per_frame = frame_bce(&logits.to_kind(Kind::Double), &targets.clamp_min(0.0), None);
        match mask {
            Some(m) => {
                let m = m.to_kind(Kind::Double);
                (
                    (per_frame * &m).sum(Kind::Double).double_value(&[]),
                    m.sum(Kind::Double).double_value(&[]),
                )
            }
            None => (
                per_frame.sum(Kind::Double).double_value(&[]),
                per_frame.numel() as f64,
            ),
        }
    })
}

/// NLL per predicted frame, in nats: [`frame_nll_sum`]'s sum divided by its count (`NaN` when no
/// frame is counted).
pub fn frame_nll(logits: &Tensor, targets: &Tensor, mask: Option<&Tensor>) -> f64 {
    let (sum, count) = frame_nll_sum(logits, targets, mask);
    if count > 0.0 {
        sum / count
    } else {
        f64::NAN
    }
}

/// NLL per predicted frame of a piano-roll model (any, through [`Model::frame_logits`]) over
/// whole pieces (evaluation mode), summed in double precision: the benchmark's figure. A model
/// without frame logits is scored by its evaluation loss, weighted by each batch's frames.
pub fn roll_nll(model: &dyn Model, data: &RollBatches) -> f64 {
    let (mut sum, mut count) = (0.0, 0.0);
    tch::no_grad(|| {
        for batch in data.evaluation_batches(usize::MAX, model.device()) {
            let mask = padding_mask(&batch.targets);
            let (s, c) = match model.frame_logits(&batch) {
                Some(logits) => frame_nll_sum(&logits, &batch.targets, Some(&mask)),
                None => (
                    model
                        .loss(&batch, false)
                        .to_kind(Kind::Double)
                        .double_value(&[])
                        * batch.count,
                    batch.count,
                ),
            };
            sum += s;
            count += c;
        }
    });
    if count > 0.0 {
        sum / count
    } else {
        f64::NAN
    }
}

/// How many silent frames a piano-roll model expects where it reads held-out pieces, beside how
/// many there are: [`silence_calibration`]'s result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SilenceCalibration {
    /// The sum over the predicted frames of the model's probability that the frame is silent,
    /// given the piece's frames before it.
    pub expected: f64,
    /// The predicted frames that are silent.
    pub observed: usize,
    /// The predicted frames read (padding left out).
    pub frames: usize,
}

/// Whether a piano-roll model gives silence the probability it has in `data`: for every predicted
/// frame, the probability of a frame with no key down given the frames before it, read from the
/// model's frame logits with the frame's targets set silent (a model whose keys depend on the
/// keys below them, as [`crate::model::PitchLstm`]'s do, is then read with every key below
/// silent, so the product of the keys' chances of staying up is the frame's chance of silence,
/// exactly). Summed over the frames, that is the number of silent frames the model expects
/// there, to set beside the number there are. `None` for a model without frame logits.
pub fn silence_calibration(model: &dyn Model, data: &RollBatches) -> Option<SilenceCalibration> {
    let mut calibration = SilenceCalibration {
        expected: 0.0,
        observed: 0,
        frames: 0,
    };
    tch::no_grad(|| {
        for batch in data.evaluation_batches(usize::MAX, model.device()) {
            let mask = padding_mask(&batch.targets).to_kind(Kind::Double);
            let silent_targets = Batch {
                inputs: batch.inputs.shallow_clone(),
                targets: batch.targets.clamp_max(0.0),
                count: batch.count,
                carry: batch.carry,
            };
            let logits = model.frame_logits(&silent_targets)?.to_kind(Kind::Double);
            // A frame's chance of silence is e^−(its NLL as a silent frame).
            let silence = (-frame_bce(&logits, &logits.zeros_like(), None)).exp();
            calibration.expected += (silence * &mask).sum(Kind::Double).double_value(&[]);
            let sounding = batch
                .targets
                .clamp_min(0.0)
                .sum_dim_intlist(-1, false, Kind::Double);
            let silent = sounding.eq(0.0).to_kind(Kind::Double) * &mask;
            calibration.observed += silent.sum(Kind::Double).double_value(&[]).round() as usize;
            calibration.frames += mask.sum(Kind::Double).double_value(&[]).round() as usize;
        }
        Some(calibration)
    })
}

/// `ln(1 + e^x)` without overflow: the BCE of a cell whose logit is `-x` and that sounds.
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// The NLL of each piece's first frame, in nats, as the model draws a piece's first frame from no
/// primer (after one silent frame; [`crate::model::FrameStepper::start`]). These are the frames the
/// benchmark's figure leaves out (its targets start at each piece's second frame); with them, the
/// figure follows the convention that scores every frame of a piece (Boulanger-Lewandowski et al.
/// 2012). Each piece is `[frames, pitches]` of 0/1. Returns the sum over the pieces with frames
/// and how many there were; `None` for a model that does not step frames.
///
/// # Errors
/// A piece whose frames are not as wide as the model's, or a failing model step.
pub fn first_frames_nll(model: &dyn Model, pieces: &[Tensor]) -> Result<Option<(f64, usize)>> {
    let Stepper::Frames(stepper) = model.stepper() else {
        return Ok(None);
    };
    let pitches = stepper.num_pitches();
    let no_primer = Tensor::zeros([0, pitches as i64], (Kind::Float, model.device()));
    // Every piece starts from the same state: read the silent frame once.
    let state = stepper.start(&no_primer)?;
    let (mut sum, mut count) = (0.0, 0);
    for (index, piece) in pieces.iter().enumerate() {
        if piece.size()[0] == 0 {
            continue;
        }
        let first = Vec::<f32>::try_from(piece.get(0).to_kind(Kind::Float).to(Device::Cpu))?;
        ensure!(
            first.len() == pitches,
            "piece {index} has frames of {} cells, the model reads {pitches}",
            first.len()
        );
        stepper.next_frame(&state, &mut |pitch, logit| {
            let on = first[pitch] > 0.5;
            sum += softplus(if on { -logit } else { logit });
            on
        })?;
        count += 1;
    }
    Ok(Some((sum, count)))
}

/// The NLL per frame with every frame of every piece scored: the benchmark's figure `nll` over
/// `predicted` frames (each piece's frames after its first) joined with `first_frames`' sum over
/// its pieces ([`first_frames_nll`]).
pub fn every_frame_nll(nll: f64, predicted: f64, first_frames: (f64, usize)) -> f64 {
    let (sum, pieces) = first_frames;
    (nll * predicted + sum) / (predicted + pieces as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two pieces of two pitches, padded into one batch `[2 pieces, 2 frames, 2 pitches]`.
    ///
    /// With logit 0, p = 1/2 and the BCE is ln 2 whatever the target. With logit ln 3,
    /// p = 3/4: the BCE is −ln(3/4) = ln(4/3) for an on cell and −ln(1/4) = ln 4 for an off cell.
    ///
    /// Piece A (2 predicted frames):
    ///   frame 1: logits [0, ln3], targets [1, 1] → ln 2 + ln(4/3) = ln(8/3)  = 0.980829
    ///   frame 2: logits [ln3, ln3], targets [0, 1] → ln 4 + ln(4/3) = ln(16/3) = 1.673976
    /// Piece B (1 predicted frame, then padding):
    ///   frame 1: logits [ln3, 0], targets [1, 0] → ln(4/3) + ln 2 = ln(8/3)  = 0.980829
    ///   frame 2: padding (logits 5, targets PAD) → not counted
    /// Sum = 2 ln(8/3) + ln(16/3) = ln(1024/27) = 3.635634 over 3 frames → 1.211878 per frame.
    /// (A mean of per-piece means would give (1.327403 + 0.980829) / 2 = 1.154116 instead.)
    #[test]
    fn matches_a_case_worked_by_hand() {
        let l3 = 3f32.ln();
        let logits = Tensor::from_slice(&[0.0, l3, l3, l3, l3, 0.0, 5.0, 5.0]).view([2, 2, 2]);
        let pad = PAD_TARGET as f32;
        let targets = Tensor::from_slice(&[1f32, 1., 0., 1., 1., 0., pad, pad]).view([2, 2, 2]);
        let mask = padding_mask(&targets);
        assert_eq!(
            Vec::<f32>::try_from(&mask.view([-1])).ok(),
            Some(vec![1., 1., 1., 0.])
        );
        let (sum, count) = frame_nll_sum(&logits, &targets, Some(&mask));
        assert!((sum - (1024f64 / 27.0).ln()).abs() < 1e-5, "sum {sum}");
        assert_eq!(count, 3.0);
        let nll = frame_nll(&logits, &targets, Some(&mask));
        assert!((nll - 1.211878).abs() < 1e-5, "nll {nll}");
    }

    /// 88 pitches at p = 1/2: each frame costs 88 ln 2 = 60.997 nats, whatever it holds.
    #[test]
    fn a_coin_per_pitch_costs_88_ln_2_per_frame() {
        let logits = Tensor::zeros([3, 88], (Kind::Float, tch::Device::Cpu));
        let targets = Tensor::ones([3, 88], (Kind::Float, tch::Device::Cpu));
        let nll = frame_nll(&logits, &targets, None);
        assert!((nll - 88.0 * std::f64::consts::LN_2).abs() < 1e-4);
    }

    /// The first frame's NLL through the model's frame stepper is the BCE of the logits the model
    /// gives that frame after a silent one, summed over its cells; joined with the other frames it
    /// is their frame-weighted mean.
    #[test]
    fn first_frames_are_scored_as_the_model_draws_them() -> Result<()> {
        use crate::model::{PitchLstm, PitchLstmConfig};
        let _generator = crate::model::torch_rng::hold_seeded(3);
        let p = 6;
        let mut model = PitchLstm::new(PitchLstmConfig::debug(p), tch::Device::Cpu)?;
        tch::no_grad(|| {
            for (_, t) in model.named_parameters() {
                t.shallow_clone().copy_(&(t.randn_like() * 0.7));
            }
        });
        let first = Tensor::from_slice(&[1f32, 0., 0., 1., 1., 0.]).view([1, 1, p]);
        let silent = Tensor::zeros([1, 1, p], (Kind::Float, tch::Device::Cpu));
        let expected = frame_nll(&model.logits(&silent, &first, false), &first, None);
        let piece = Tensor::cat(
            &[
                first.view([1, p]),
                Tensor::ones([2, p], (Kind::Float, tch::Device::Cpu)),
            ],
            0,
        );
        for cpu_kernel in [true, false] {
            model.cpu_kernel = cpu_kernel;
            let (sum, count) =
                first_frames_nll(&model, &[piece.shallow_clone(), piece.shallow_clone()])?
                    .expect("a frame model");
            assert_eq!(count, 2);
            assert!(
                (sum / 2.0 - expected).abs() < 1e-4,
                "{} vs {expected}",
                sum / 2.0
            );
        }
        let narrow = Tensor::zeros([3, p - 1], (Kind::Float, tch::Device::Cpu));
        assert!(first_frames_nll(&model, &[narrow]).is_err());
        assert!((every_frame_nll(2.0, 3.0, (9.0, 1)) - 3.75).abs() < 1e-12);
        Ok(())
    }

    /// The silence a model expects is what its frame stepper gives: for each frame of a piece,
    /// the stepper reads the frames before it and draws nothing, and the chance of that draw is
    /// the product of each key's chance of staying up. Silent frames are counted, padding is not.
    #[test]
    fn expected_silence_is_what_the_stepper_draws() -> Result<()> {
        use crate::model::{FrameStepper, PitchLstm, PitchLstmConfig};
        let _generator = crate::model::torch_rng::hold_seeded(5);
        let p = 6usize;
        let model = PitchLstm::new(PitchLstmConfig::debug(p as i64), tch::Device::Cpu)?;
        tch::no_grad(|| {
            for (_, t) in model.named_parameters() {
                t.shallow_clone().copy_(&(t.randn_like() * 0.7));
            }
        });
        // Pitches 60..66; the second piece is shorter, so the batch pads it.
        let pieces: Vec<Vec<Vec<u8>>> = vec![
            vec![vec![60, 63], vec![], vec![61], vec![], vec![62, 64, 65]],
            vec![vec![65], vec![60], vec![]],
        ];
        let data = RollBatches::from_frames(pieces.clone(), 60, p, 0, 2)?;
        let calibration = silence_calibration(&model, &data).expect("a frame model");
        assert_eq!((calibration.observed, calibration.frames), (3, 6));
        let mut expected = 0.0;
        for piece in &pieces {
            let rows: Vec<f32> = piece
                .iter()
                .flat_map(|frame| {
                    (60..60 + p as u8).map(move |k| f32::from(u8::from(frame.contains(&k))))
                })
                .collect();
            let frames = Tensor::from_slice(&rows).view([piece.len() as i64, p as i64]);
            for t in 1..piece.len() as i64 {
                let state = model.start(&frames.narrow(0, 0, t))?;
                let mut log_silence = 0.0;
                model.next_frame(&state, &mut |_, logit| {
                    log_silence -= softplus(logit);
                    false
                })?;
                expected += f64::exp(log_silence);
            }
        }
        assert!(
            expected > 0.01,
            "a silence this unlikely tests nothing: {expected}"
        );
        assert!(
            (calibration.expected - expected).abs() < 1e-4 * expected.max(1.0),
            "{} against the stepper's {expected}",
            calibration.expected
        );
        Ok(())
    }

    /// A positive-class weight w multiplies only the on cells' loss: ln(4/3)·w + ln 4.
    #[test]
    fn pos_weight_scales_the_on_cells() {
        let l3 = 3f32.ln();
        let logits = Tensor::from_slice(&[l3, l3]).view([1, 2]);
        let targets = Tensor::from_slice(&[1f32, 0.]).view([1, 2]);
        let weighted = frame_bce(&logits, &targets, Some(4.0)).double_value(&[0]);
        let expected = 4.0 * (4f64 / 3.0).ln() + 4f64.ln();
        assert!(
            (weighted - expected).abs() < 1e-5,
            "{weighted} vs {expected}"
        );
    }
}

//! Generation from piano-roll models: frame after frame, each pitch drawn from low to high as a
//! Bernoulli with probability `sigmoid(logit / temperature)` (or greedily at temperature 0), given
//! the past frames and the pitches already drawn below it ([`crate::model::FrameStepper`]).

use super::sampler::pitch_probability;
use super::{ticks_per_bar, Length, Piece, Primer, PrimerSource, SampleConfig};
use crate::encode::{Encoding, PianoRoll, PianoRollConfig};
use crate::model::FrameStepper;
use anyhow::{bail, ensure, Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Tensor};

/// The primer as a roll on `config`'s grid (empty for no primer).
fn primer_roll(primer: &Primer, config: &PianoRollConfig) -> Result<PianoRoll> {
    let mut roll = match &primer.source {
        PrimerSource::Nothing => PianoRoll::from_frames(Vec::new(), *config),
        PrimerSource::Roll(roll) => {
            ensure!(
                roll.config.num_pitches == config.num_pitches
                    && roll.config.low_pitch == config.low_pitch,
                "the primer's keyboard ({} pitches from {}) differs from the model's ({} from {})",
                roll.config.num_pitches,
                roll.config.low_pitch,
                config.num_pitches,
                config.low_pitch
            );
            roll.clone()
        }
        PrimerSource::Ids(_) => bail!("a piano-roll model is not primed with token ids"),
        _ => {
            let score = primer.as_score()?.context("the primer has no notes")?;
            PianoRoll::from_score(&score, config).context("cannot make a roll of the primer")?
        }
    };
    if let Some(n) = primer.max_steps {
        roll.frames.truncate(n);
    }
    Ok(roll)
}

/// Frames the length asks for, when it can be said in frames (`None`: count notes as they come).
fn frames_for(length: Length, config: &PianoRollConfig, primer: &Primer) -> Result<Option<usize>> {
    let score = primer.as_score()?;
    let per_quarter = f64::from(config.steps_per_quarter);
    Ok(match length {
        Length::Steps(n) => Some(n),
        Length::Bars(n) => {
            let (tpq, per_bar) = score.as_ref().map_or((480, 1920), |s| {
                (u64::from(s.ticks_per_quarter.max(1)), ticks_per_bar(s))
            });
            Some((n as f64 * per_bar as f64 / tpq as f64 * per_quarter).round() as usize)
        }
        Length::Seconds(s) => {
            let bpm = score
                .and_then(|sc| {
                    sc.tempos
                        .first()
                        .map(|t| 60e6 / f64::from(t.micros_per_quarter.max(1)))
                })
                .unwrap_or(120.0);
            Some((s * bpm / 60.0 * per_quarter).round() as usize)
        }
        Length::Notes(_) | Length::End => None,
    })
}

/// Generates a piece from a piano-roll model.
pub(crate) fn generate_frames(
    stepper: &dyn FrameStepper,
    encoding: &Encoding,
    primer: &Primer,
    config: &SampleConfig,
) -> Result<Piece> {
    let Encoding::PianoRoll(roll_config) = encoding else {
        bail!(
            "a piano-roll model needs a piano-roll encoding, not {}",
            encoding.kind()
        );
    };
    let pitches = roll_config.num_pitches;
    ensure!(
        stepper.num_pitches() == pitches,
        "the model predicts {} pitches but the roll has {pitches}",
        stepper.num_pitches()
    );
    let roll = primer_roll(primer, roll_config)?;
    let primer_steps = roll.len();
    let target = frames_for(config.length, roll_config, primer)?
        .unwrap_or(config.max_steps)
        .min(config.max_steps);
    let primer_tensor = roll.to_tensor(Device::Cpu);
    let primer_tensor = if roll.is_empty() {
        Tensor::zeros([0, pitches as i64], (tch::Kind::Float, Device::Cpu))
    } else {
        primer_tensor
    };
    let mut state = stepper.start(&primer_tensor)?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut frames = roll.frames.clone();
    let mut previous = vec![0f32; pitches];
    if let Some(last) = frames.last() {
        for &p in last {
            previous[usize::from(p - roll_config.low_pitch)] = 1.0;
        }
    }
    let mut new_notes = 0usize;
    for i in 0..target {
        let mut sounding = 0usize;
        let cells = stepper.next_frame(&state, &mut |_, logit| {
            // Draw for every pitch so the random stream does not depend on the cap.
            let draw: f64 = rng.random();
            let full = config.max_notes_per_frame.is_some_and(|k| sounding >= k);
            let probability = pitch_probability(logit, config.temperature);
            let on = !full && probability >= config.min_note_probability && draw < probability;
            sounding += usize::from(on);
            on
        })?;
        let frame: Vec<u8> = (0..pitches)
            .filter(|&j| cells[j] > 0.5)
            .map(|j| roll_config.low_pitch + j as u8)
            .collect();
        new_notes += (0..pitches)
            .filter(|&j| cells[j] > 0.5 && previous[j] < 0.5)
            .count();
        frames.push(frame);
        previous = cells;
        let enough = matches!(config.length, Length::Notes(n) if new_notes >= n);
        if enough || i + 1 == target {
            break;
        }
        state = stepper.advance(state, &previous)?;
    }
    let roll = PianoRoll::from_frames(frames, *roll_config);
    let score = roll.to_score();
    Ok(Piece {
        encoding: "piano_roll",
        primer_steps,
        ids: Vec::new(),
        roll: Some(roll),
        abc: None,
        score: Some(score),
        problem: None,
        constraint_off: None,
        form: None,
        reached_step_cap: false,
        log_kept_probability: None,
        resampling_log_weight: None,
    })
}

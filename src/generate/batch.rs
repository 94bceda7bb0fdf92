//! Sampling many sequences at once through the fused kernel ([`crate::model::FusedLm`]): every
//! lane keeps its own seed, constraint, length and stop rule, and draws exactly as
//! [`super::tokens::sample_ids_with`] does (the same [`super::tokens::draw`]: masks, temperature,
//! top-k, top-p, one generator per lane seeded as the per-step sampler seeds it), so a lane writes
//! what the per-step sampler writes with the same seed; only the model's arithmetic is the
//! kernel's own. Finished lanes drop out of the batch. Lanes are independent, so the batch is
//! split across the CPU's cores (rayon's threads: `RAYON_NUM_THREADS` sets how many), each core
//! stepping its own share of the lanes; the pieces do not depend on the split.

use super::tokens::{check_context, draw, AbcJob, TokenConstraint};
use super::{Piece, Primer, SampleConfig};
use crate::encode::CharVocab;
use crate::model::fused::Pair;
use crate::model::{FusedLm, FusedState};
use anyhow::{ensure, Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// A rule that says, given the new ids so far, when a sequence is long enough.
pub type StopRule<'a> = Box<dyn FnMut(&[i64]) -> bool + Send + 'a>;

/// One sequence to write.
pub struct Lane<'a> {
    /// The ids the model reads first (at least one).
    pub context: Vec<i64>,
    /// How to sample (its seed seeds this lane).
    pub config: &'a SampleConfig,
    /// What may come next, if anything is constrained.
    pub constraint: Option<&'a mut (dyn TokenConstraint + Send)>,
    /// The most new ids (capped by `config.max_steps`).
    pub limit: usize,
    /// Says, given the new ids so far, when the sequence is long enough.
    pub stop: StopRule<'a>,
}

/// Reads each lane's context (with `pair`'s second core, when there is one); lanes with the same
/// context are read once.
fn prime(
    fused: &FusedLm,
    lanes: &[Lane<'_>],
    pair: Option<&Pair>,
) -> Result<(FusedState, Vec<f32>)> {
    let vocab = fused.vocab_size();
    let mut states: Vec<FusedState> = Vec::with_capacity(lanes.len());
    let mut logits: Vec<f32> = Vec::with_capacity(lanes.len() * vocab);
    let mut buffer = Vec::new();
    for (i, lane) in lanes.iter().enumerate() {
        if let Some(j) = (0..i).find(|&j| lanes[j].context == lane.context) {
            states.push(states[j].clone());
            logits.extend_from_within(j * vocab..(j + 1) * vocab);
            continue;
        }
        let mut state = fused.zero_state(1);
        for &id in &lane.context {
            fused.step_with(&mut state, &[id], &mut buffer, pair)?;
        }
        states.push(state);
        logits.extend_from_slice(&buffer);
    }
    Ok((FusedState::stack(&states), logits))
}

/// Samples every lane to its end; returns each lane's new ids, in lane order. The lanes are
/// shared out among rayon's threads ([`sample_lanes_in_groups`], a group per thread).
pub fn sample_lanes(fused: &FusedLm, lanes: Vec<Lane<'_>>) -> Result<Vec<Vec<i64>>> {
    sample_lanes_in_groups(fused, lanes, rayon::current_num_threads())
}

/// Samples every lane to its end in `groups` contiguous groups of lanes (at most one per lane),
/// each stepped together on a thread of rayon's pool; returns each lane's new ids, in lane
/// order. The ids do not depend on `groups`.
pub fn sample_lanes_in_groups(
    fused: &FusedLm,
    mut lanes: Vec<Lane<'_>>,
    groups: usize,
) -> Result<Vec<Vec<i64>>> {
    let vocab = fused.vocab_size();
    for lane in &lanes {
        lane.config.validate()?;
        ensure!(
            !lane.context.is_empty(),
            "a lane needs at least one id to read"
        );
        check_context(&lane.context, vocab)?;
    }
    if lanes.len() == 1 {
        return Pair::with_helper(|pair| sample_group(fused, &mut lanes, 0, pair));
    }
    let per_group = lanes.len().div_ceil(groups.clamp(1, lanes.len().max(1)));
    if per_group >= lanes.len() {
        return sample_group(fused, &mut lanes, 0, None);
    }
    let written = lanes
        .par_chunks_mut(per_group)
        .enumerate()
        .map(|(g, group)| sample_group(fused, group, g * per_group, None))
        .collect::<Result<Vec<_>>>()?;
    Ok(written.into_iter().flatten().collect())
}

/// Samples a group of lanes on this thread, stepping them together (one lane with `pair`'s
/// second core, when there is one); `first` is the first lane's index in the whole batch (for
/// messages).
fn sample_group(
    fused: &FusedLm,
    lanes: &mut [Lane<'_>],
    first: usize,
    pair: Option<&Pair>,
) -> Result<Vec<Vec<i64>>> {
    let vocab = fused.vocab_size();
    let (mut state, mut logits) = prime(fused, lanes, pair)?;
    let mut rngs: Vec<ChaCha8Rng> = lanes
        .iter()
        .map(|l| ChaCha8Rng::seed_from_u64(l.config.seed))
        .collect();
    let mut out: Vec<Vec<i64>> = vec![Vec::new(); lanes.len()];
    let mut histories: Vec<Vec<i64>> = lanes.iter().map(|l| l.context.clone()).collect();
    let mut active: Vec<usize> = (0..lanes.len())
        .filter(|&i| lanes[i].limit.min(lanes[i].config.max_steps) > 0)
        .collect();
    state.retain(
        &(0..lanes.len())
            .map(|i| active.contains(&i))
            .collect::<Vec<_>>(),
    );
    let keep_rows = |logits: &mut Vec<f32>, keep: &[bool]| {
        let mut row = 0;
        logits.retain(|_| {
            let k = keep[row / vocab];
            row += 1;
            k
        });
    };
    if active.len() < lanes.len() {
        let keep: Vec<bool> = (0..lanes.len()).map(|i| active.contains(&i)).collect();
        keep_rows(&mut logits, &keep);
    }
    let (mut scores, mut mask, mut next) = (Vec::new(), Vec::new(), Vec::new());
    while !active.is_empty() {
        let mut keep = Vec::with_capacity(active.len());
        next.clear();
        for (row, &i) in active.iter().enumerate() {
            let lane = &mut lanes[i];
            let limit = lane.limit.min(lane.config.max_steps);
            scores.clear();
            scores.extend(
                logits[row * vocab..(row + 1) * vocab]
                    .iter()
                    .map(|&x| f64::from(x)),
            );
            let id = draw(
                &mut scores,
                lane.config,
                lane.constraint
                    .as_deref_mut()
                    .map(|c| c as &mut dyn TokenConstraint),
                limit - out[i].len(),
                &mut mask,
                &histories[i],
                &mut rngs[i],
            )
            .with_context(|| format!("lane {}, at new token {}", first + i, out[i].len() + 1))?;
            out[i].push(id);
            histories[i].push(id);
            if let Some(c) = lane.constraint.as_deref_mut() {
                c.push(id);
            }
            let done = (lane.stop)(&out[i]) || out[i].len() == limit;
            keep.push(!done);
            if !done {
                next.push(id);
            }
        }
        if keep.iter().any(|&k| !k) {
            state.retain(&keep);
            active = active
                .iter()
                .zip(&keep)
                .filter(|(_, &k)| k)
                .map(|(&i, _)| i)
                .collect();
        }
        if !active.is_empty() {
            fused.step_with(&mut state, &next, &mut logits, pair)?;
        }
    }
    Ok(out)
}

/// Tunes from a character model through the fused kernel: one lane per config (each its own
/// seed), all after the same primer, in `groups` groups of lanes ([`sample_lanes_in_groups`]).
pub(crate) fn generate_abc_lanes(
    fused: &FusedLm,
    vocab: &CharVocab,
    primer: &Primer,
    configs: &[SampleConfig],
    groups: usize,
) -> Result<Vec<Piece>> {
    let mut jobs = configs
        .iter()
        .map(|config| AbcJob::new(vocab, primer, config))
        .collect::<Result<Vec<_>>>()?;
    let mut constraints: Vec<_> = jobs.iter_mut().map(|j| j.constraint.take()).collect();
    let new = {
        let lanes = jobs
            .iter()
            .zip(configs)
            .zip(constraints.iter_mut())
            .map(|((job, config), constraint)| Lane {
                context: job.context.clone(),
                config,
                constraint: constraint
                    .as_mut()
                    .map(|c| c as &mut (dyn TokenConstraint + Send)),
                limit: job.limit,
                stop: Box::new(move |ids: &[i64]| job.should_stop(ids)),
            })
            .collect();
        sample_lanes_in_groups(fused, lanes, groups)?
    };
    Ok(jobs
        .into_iter()
        .zip(new)
        .zip(&constraints)
        .map(|((job, ids), constraint)| job.finish(ids, constraint.as_ref()))
        .collect())
}

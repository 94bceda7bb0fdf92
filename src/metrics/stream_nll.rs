//! The negative log-likelihood of held-out tokens under a language model: a whole stream with the
//! LSTM state carried from one chunk to the next ([`stream_nll`]), or separate sequences (tunes),
//! each from a zero state ([`sequences_nll`]).

use crate::model::{LstmLm, LstmState, Model};
use anyhow::{ensure, Result};
use tch::{Kind, Tensor};

/// The stream's loss: mean nats per predicted token, and how many tokens were predicted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamNll {
    /// Mean negative log-likelihood in nats per token.
    pub nats_per_token: f64,
    /// Number of tokens predicted.
    pub tokens: usize,
}

impl StreamNll {
    /// The loss in bits per token.
    pub fn bits_per_token(&self) -> f64 {
        super::nats_to_bits(self.nats_per_token)
    }
}

/// Predicts each token of `ids` from those before it. The stream is cut into `lanes` contiguous
/// lanes run side by side as one batch (each starts from a zero state at its first token), read
/// `chunk` tokens at a time with the state carried over; up to `lanes - 1` tokens at the end are
/// left out so the lanes are equally long. Without gradients or dropout.
pub fn stream_nll(model: &LstmLm, ids: &[i64], chunk: usize, lanes: usize) -> Result<StreamNll> {
    ensure!(chunk > 0 && lanes > 0, "chunk and lanes must be positive");
    let lane_len = ids.len().saturating_sub(1) / lanes;
    ensure!(
        lane_len > 0,
        "{} tokens are too few for {lanes} lanes",
        ids.len()
    );
    let device = model.device();
    let vocab = model.config.vocab_size;
    let lane = |offset: usize, len: usize| -> Tensor {
        let rows: Vec<i64> = (0..lanes)
            .flat_map(|l| {
                ids[l * lane_len + offset..l * lane_len + offset + len]
                    .iter()
                    .copied()
            })
            .collect();
        Tensor::from_slice(&rows)
            .view([lanes as i64, len as i64])
            .to(device)
    };
    tch::no_grad(|| {
        let mut state: Option<LstmState> = None;
        let (mut total, mut count) = (0.0f64, 0usize);
        let mut at = 0;
        while at < lane_len {
            let len = chunk.min(lane_len - at);
            let x = lane(at, len);
            // Targets are the next tokens in the same lane; the last lane's last target is the
            // stream's token `lanes * lane_len`, which exists because lane_len <= (len - 1) / lanes.
            let y = lane(at + 1, len);
            let (logits, next) = model.forward(&x, state.as_ref(), false);
            let sum = logits
                .view([-1, vocab])
                .to_kind(Kind::Double)
                .cross_entropy_loss::<Tensor>(&y.view([-1]), None, tch::Reduction::Sum, -100, 0.0)
                .double_value(&[]);
            total += sum;
            count += lanes * len;
            state = Some(next);
            at += len;
        }
        Ok(StreamNll {
            nats_per_token: total / count as f64,
            tokens: count,
        })
    })
}

/// Predicts every token but the first of each sequence, each sequence read on its own from a zero
/// state (for text: each tune, prefixed with the blank line that precedes it in training), so no
/// tune's figure depends on the tunes before it. Sequences shorter than two tokens are skipped.
pub fn sequences_nll(model: &LstmLm, sequences: &[Vec<i64>]) -> Result<StreamNll> {
    let device = model.device();
    let vocab = model.config.vocab_size;
    tch::no_grad(|| {
        let (mut total, mut count) = (0.0f64, 0usize);
        for ids in sequences.iter().filter(|s| s.len() >= 2) {
            let n = ids.len() - 1;
            let x = Tensor::from_slice(&ids[..n]).view([1, n as i64]).to(device);
            let y = Tensor::from_slice(&ids[1..]).to(device);
            let (logits, _) = model.forward(&x, None, false);
            total += logits
                .view([-1, vocab])
                .to_kind(Kind::Double)
                .cross_entropy_loss::<Tensor>(&y, None, tch::Reduction::Sum, -100, 0.0)
                .double_value(&[]);
            count += n;
        }
        ensure!(count > 0, "no sequence of two or more tokens");
        Ok(StreamNll {
            nats_per_token: total / count as f64,
            tokens: count,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LstmConfig;
    use tch::Device;

    #[test]
    fn chunking_does_not_change_the_loss_because_state_is_carried() -> Result<()> {
        let _generator = crate::model::torch_rng::hold_seeded(3);
        let model = LstmLm::new(LstmConfig::debug(6), Device::Cpu)?;
        let ids: Vec<i64> = (0..61).map(|i| (i * 7 % 6) as i64).collect();
        let whole = stream_nll(&model, &ids, 1000, 1)?;
        assert_eq!(whole.tokens, 60);
        for chunk in [1, 7, 60] {
            let chunked = stream_nll(&model, &ids, chunk, 1)?;
            assert_eq!(chunked.tokens, 60);
            assert!(
                (chunked.nats_per_token - whole.nats_per_token).abs() < 1e-5,
                "chunk {chunk}: {} vs {}",
                chunked.nats_per_token,
                whole.nats_per_token
            );
        }
        // The same as the model's own mean loss over one sequence.
        let x = Tensor::from_slice(&ids[..60]).view([1, 60]);
        let y = Tensor::from_slice(&ids[1..]).view([1, 60]);
        let batch = crate::data::Batch {
            inputs: x,
            targets: y,
            count: 60.0,
            carry: false,
        };
        let direct = model.loss(&batch, false).double_value(&[]);
        assert!((direct - whole.nats_per_token).abs() < 1e-5);
        Ok(())
    }

    #[test]
    fn sequences_are_read_each_from_zero() -> Result<()> {
        let _generator = crate::model::torch_rng::hold_seeded(5);
        let model = LstmLm::new(LstmConfig::debug(5), Device::Cpu)?;
        let a: Vec<i64> = vec![0, 1, 2, 3, 4, 0];
        let b: Vec<i64> = vec![4, 3, 2];
        let both = sequences_nll(&model, &[a.clone(), vec![1], b.clone()])?;
        assert_eq!(both.tokens, 7);
        let (na, nb) = (
            stream_nll(&model, &a, 100, 1)?,
            stream_nll(&model, &b, 100, 1)?,
        );
        let mean = (na.nats_per_token * 5.0 + nb.nats_per_token * 2.0) / 7.0;
        assert!((both.nats_per_token - mean).abs() < 1e-5);
        assert!(sequences_nll(&model, &[vec![1]]).is_err());
        Ok(())
    }

    #[test]
    fn lanes_each_start_from_zero() -> Result<()> {
        let _generator = crate::model::torch_rng::hold_seeded(4);
        let model = LstmLm::new(LstmConfig::debug(5), Device::Cpu)?;
        // Two lanes of 10: tokens 0..10 predict 1..11, tokens 10..20 predict 11..21.
        let ids: Vec<i64> = (0..21).map(|i| (i % 5) as i64).collect();
        let two = stream_nll(&model, &ids, 4, 2)?;
        assert_eq!(two.tokens, 20);
        let first = stream_nll(&model, &ids[..11], 4, 1)?;
        let second = stream_nll(&model, &ids[10..], 4, 1)?;
        let mean = (first.nats_per_token + second.nats_per_token) / 2.0;
        assert!((two.nats_per_token - mean).abs() < 1e-5);
        assert!(stream_nll(&model, &ids[..1], 4, 1).is_err());
        Ok(())
    }
}

//! Named tensors to and from safetensors bytes, with errors that say what a bad file looks like
//! (a Python pickle, a PyTorch zip, truncated, garbage). Nothing here ever runs a pickle.
//! Tensor bytes are copied as they lie in memory: safetensors is little-endian, as are the
//! machines libtorch runs on (x86-64, ARM).

use anyhow::{bail, Context, Result};
use safetensors::tensor::{Dtype, SafeTensorError, SafeTensors, View};
use std::borrow::Cow;
use std::collections::HashMap;
use tch::{Device, Kind, Tensor};

/// One tensor's bytes, ready for serialising.
struct Raw {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &Raw {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

fn raw(tensor: &Tensor) -> Result<Raw> {
    let t = tensor
        .detach()
        .to_device(Device::Cpu)
        .to_kind(Kind::Float)
        .contiguous();
    let numel = t.numel();
    let mut bytes = vec![0u8; numel * 4];
    t.f_copy_data_u8(&mut bytes, numel)
        .context("cannot read a tensor's values")?;
    Ok(Raw {
        dtype: Dtype::F32,
        shape: tensor.size().iter().map(|&d| d as usize).collect(),
        bytes,
    })
}

/// Serialises named tensors (as f32) and string metadata into safetensors bytes. With at most one
/// metadata entry the bytes are a pure function of the tensors (safetensors keeps metadata in a
/// hash map, whose order varies between processes).
pub fn to_bytes(tensors: &[(String, Tensor)], metadata: &[(&str, &str)]) -> Result<Vec<u8>> {
    let raws: Vec<(String, Raw)> = tensors
        .iter()
        .map(|(name, t)| Ok((name.clone(), raw(t).with_context(|| name.clone())?)))
        .collect::<Result<_>>()?;
    let info: HashMap<String, String> = metadata
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    safetensors::tensor::serialize(raws.iter().map(|(n, r)| (n.as_str(), r)), &Some(info))
        .map_err(|e| anyhow::anyhow!("cannot serialise tensors: {e:?}"))
}

/// What a file that should be safetensors looks like instead, judged by its first bytes.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    // A safetensors file starts with its header's length (8 bytes, little-endian) and then `{`;
    // a header of 640 bytes starts `80 02`, like a pickle, so that layout is checked first.
    if bytes.get(8) == Some(&b'{') {
        return None;
    }
    match bytes {
        [0x80, 2..=5, ..] => Some("a Python pickle (tunesmith never loads pickles)"),
        [b'P', b'K', 3, 4, ..] => Some(
            "a zip archive, as PyTorch's torch.save writes (a pickle inside; tunesmith never loads pickles)",
        ),
        [] => Some("empty"),
        _ => None,
    }
}

fn explain(err: &SafeTensorError) -> String {
    use SafeTensorError::*;
    match err {
        HeaderTooSmall | InvalidHeaderLength => {
            "too short for the header it announces: truncated, or not safetensors".into()
        }
        InvalidHeader | InvalidHeaderStart | InvalidHeaderDeserialization | JsonError(_) => {
            "does not start with a safetensors header: not a safetensors file".into()
        }
        HeaderTooLarge => "announces a header over 100 MB: not a safetensors file".into(),
        MetadataIncompleteBuffer | InvalidOffset(_) | TensorInvalidInfo | ValidationOverflow => {
            "its data does not match its header: truncated or damaged".into()
        }
        other => format!("unreadable safetensors ({other:?})"),
    }
}

/// Parses safetensors bytes into named tensors (f32 only), in name order. Errors say what the
/// bytes look like instead; the caller adds the file name.
pub fn from_bytes(bytes: &[u8]) -> Result<Vec<(String, Tensor)>> {
    if let Some(what) = sniff(bytes) {
        bail!("not a safetensors file: it is {what}");
    }
    let st = SafeTensors::deserialize(bytes).map_err(|e| anyhow::anyhow!(explain(&e)))?;
    let mut out = Vec::with_capacity(st.len());
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            bail!(
                "tensor {name} is {:?}; checkpoints hold F32 tensors",
                view.dtype()
            );
        }
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let tensor = Tensor::f_from_data_size(view.data(), &shape, Kind::Float)
            .with_context(|| format!("tensor {name} cannot be built"))?;
        out.push((name, tensor));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_bit_exact() -> Result<()> {
        let a = crate::model::exclusive(|| Tensor::randn([3, 4], (Kind::Float, Device::Cpu)));
        let b = Tensor::from_slice(&[f32::MIN_POSITIVE, -0.0, 1e-38]);
        let bytes = to_bytes(
            &[
                ("b".into(), b.shallow_clone()),
                ("a".into(), a.shallow_clone()),
            ],
            &[("kind", "test")],
        )?;
        let back = from_bytes(&bytes)?;
        assert_eq!(back[0].0, "a");
        assert!(back[0].1.equal(&a) && back[1].1.equal(&b));
        Ok(())
    }

    #[test]
    fn pickles_zips_truncation_and_garbage_are_named() -> Result<()> {
        let good = to_bytes(
            &[("w".into(), Tensor::ones([8], (Kind::Float, Device::Cpu)))],
            &[],
        )?;
        let message = |bytes: &[u8]| format!("{:#}", from_bytes(bytes).unwrap_err());
        assert!(message(b"\x80\x04\x95\x10\x00cos\nsystem\n").contains("pickle"));
        assert!(message(b"PK\x03\x04rest of a zip").contains("zip"));
        assert!(message(&good[..good.len() - 3]).contains("truncated"));
        assert!(message(&good[..5]).contains("truncated"));
        assert!(message(b"hello, I am not a tensor file at all").contains("not"));
        let header_of_640_bytes = [0x80, 0x02, 0, 0, 0, 0, 0, 0, b'{'];
        assert_eq!(sniff(&header_of_640_bytes), None);
        Ok(())
    }
}

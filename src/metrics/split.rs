//! The fixed held-out split of the ABC benchmark.
//!
//! A tune's part (train, valid or test) is a pure function of its cleaned text: the 64-bit FNV-1a
//! hash of the text's UTF-8 bytes, modulo [`BUCKETS`]. Bucket 0 is test, bucket 1 is valid, the
//! rest is train (5% / 5% / 90%). No random number generator is involved, so the split does not
//! move when a dependency changes, when tunes are loaded in another order, or when tunes are added
//! (each keeps its part); identical tunes always land in the same part, so a duplicate can never
//! leak from train into test. Figures measured on this split compare across versions as long as
//! [`SPLIT_VERSION`] is the same.

use serde::{Deserialize, Serialize};

/// The split's name, recorded beside every figure measured on it.
pub const SPLIT_VERSION: &str = "fnv1a64-mod20-v1";

/// Number of hash buckets; bucket [`TEST_BUCKET`] is test and [`VALID_BUCKET`] is valid.
pub const BUCKETS: u64 = 20;
/// The bucket whose tunes are held out for test.
pub const TEST_BUCKET: u64 = 0;
/// The bucket whose tunes are held out for validation.
pub const VALID_BUCKET: u64 = 1;

/// Which part of the benchmark split a tune belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Part {
    /// Used for training (90%).
    Train,
    /// Used to choose among models or epochs (5%).
    Valid,
    /// Reported once, never trained on or chosen by (5%).
    Test,
}

impl std::str::FromStr for Part {
    type Err = anyhow::Error;

    /// `train`, `valid` or `test`.
    fn from_str(name: &str) -> anyhow::Result<Self> {
        match name {
            "train" => Ok(Part::Train),
            "valid" => Ok(Part::Valid),
            "test" => Ok(Part::Test),
            other => anyhow::bail!("a part of the split is train, valid or test, not {other:?}"),
        }
    }
}

/// The 64-bit FNV-1a hash of `bytes` (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The part of the split that a tune's cleaned text belongs to.
pub fn part_of(text: &str) -> Part {
    match fnv1a64(text.as_bytes()) % BUCKETS {
        TEST_BUCKET => Part::Test,
        VALID_BUCKET => Part::Valid,
        _ => Part::Train,
    }
}

/// Items divided into the three parts of the fixed split, each in its original order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldOutSplit<T> {
    /// Training items.
    pub train: Vec<T>,
    /// Validation items.
    pub valid: Vec<T>,
    /// Test items.
    pub test: Vec<T>,
}

impl<T> HeldOutSplit<T> {
    /// The items of one part.
    pub fn part(&self, part: Part) -> &[T] {
        match part {
            Part::Train => &self.train,
            Part::Valid => &self.valid,
            Part::Test => &self.test,
        }
    }
}

/// Divides items by [`part_of`] the text that `text_of` gives for each.
pub fn fixed_split<T: Clone>(items: &[T], text_of: impl Fn(&T) -> &str) -> HeldOutSplit<T> {
    let mut split = HeldOutSplit {
        train: Vec::new(),
        valid: Vec::new(),
        test: Vec::new(),
    };
    for item in items {
        let part = match part_of(text_of(item)) {
            Part::Train => &mut split.train,
            Part::Valid => &mut split.valid,
            Part::Test => &mut split.test,
        };
        part.push(item.clone());
    }
    split
}

#[cfg(test)]
mod tests {
    #[test]
    fn parts_are_named_and_picked_by_name() -> anyhow::Result<()> {
        let split = super::fixed_split(&["a", "b", "c", "d", "e", "f"], |t| t);
        use super::Part;
        let parsed: Vec<Part> = ["train", "valid", "test"]
            .iter()
            .map(|n| n.parse())
            .collect::<anyhow::Result<_>>()?;
        assert_eq!(parsed, [Part::Train, Part::Valid, Part::Test]);
        let all: usize = ["train", "valid", "test"]
            .iter()
            .map(|n| n.parse().map(|p| split.part(p).len()))
            .sum::<anyhow::Result<usize>>()?;
        assert_eq!(all, 6);
        assert_eq!(split.part(Part::Test), split.test.as_slice());
        assert!("held".parse::<Part>().is_err());
        Ok(())
    }

    use super::*;

    #[test]
    fn the_hash_is_fnv1a_and_does_not_change() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn parts_of_known_tunes_are_pinned() {
        // Computed once; if one of these changes, figures measured before no longer compare
        // (bump SPLIT_VERSION).
        let pinned = [
            ("M:6/8\nL:1/8\nK:G\nGAB c2d|efg a3|]\n", 3, Part::Train),
            ("M:3/4\nL:1/4\nK:C\nC D E|F G A|]\n", 19, Part::Train),
            ("M:4/4\nL:1/8\nK:C\nC13|]\n", 1, Part::Valid),
            ("M:4/4\nL:1/8\nK:C\nC16|]\n", 0, Part::Test),
            ("M:4/4\nL:1/8\nK:C\nC22|]\n", 1, Part::Valid),
            ("M:4/4\nL:1/8\nK:C\nC23|]\n", 0, Part::Test),
        ];
        for (text, bucket, part) in pinned {
            assert_eq!(fnv1a64(text.as_bytes()) % BUCKETS, bucket, "{text:?}");
            assert_eq!(part_of(text), part, "{text:?}");
        }
    }

    #[test]
    fn the_split_is_disjoint_complete_stable_and_about_5_5_90() {
        let items: Vec<String> = (0..4000)
            .map(|i| format!("M:4/4\nL:1/8\nK:C\nC{i}|]\n"))
            .collect();
        let split = fixed_split(&items, String::as_str);
        let (tr, va, te) = (split.train.len(), split.valid.len(), split.test.len());
        assert_eq!(tr + va + te, items.len());
        assert!((150..250).contains(&va), "valid {va}");
        assert!((150..250).contains(&te), "test {te}");
        for t in &split.test {
            assert!(!split.train.contains(t) && !split.valid.contains(t));
        }
        for v in &split.valid {
            assert!(!split.train.contains(v));
        }
        // Shuffled input and a subset give each item the same part.
        let mut reversed = items.clone();
        reversed.reverse();
        let again = fixed_split(&reversed[..1000], String::as_str);
        for t in &again.test {
            assert!(split.test.contains(t));
        }
        for v in &again.valid {
            assert!(split.valid.contains(v));
        }
        for t in &again.train {
            assert!(split.train.contains(t));
        }
    }

    #[test]
    fn identical_texts_share_a_part() {
        let items = vec!["K:C\nCDE|]\n"; 5];
        let split = fixed_split(&items, |s| s);
        let sizes = [split.train.len(), split.valid.len(), split.test.len()];
        assert!(sizes.contains(&5), "{sizes:?}");
    }
}

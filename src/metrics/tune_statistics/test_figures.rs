//! Reading one figure of a set's statistics in tests, for tunes and piano rolls alike.

use super::{Distribution, Figure, SetStatistics};

/// The share or mean called `name`; panics (failing the test) for another kind or none.
pub(crate) fn number<S: SetStatistics>(stats: &S, name: &str) -> f64 {
    match stats.figure(name) {
        Some(Figure::Share(v) | Figure::Mean(v)) => v,
        other => panic!("{name}: {other:?}"),
    }
}

/// The distribution called `name`; panics (failing the test) for another kind or none.
pub(crate) fn dist<S: SetStatistics>(stats: &S, name: &str) -> Distribution {
    match stats.figure(name) {
        Some(Figure::Distribution(d)) => d,
        other => panic!("{name}: {other:?}"),
    }
}

/// The share of the bin labelled `label`.
pub(crate) fn bin(d: &Distribution, label: &str) -> f64 {
    let i = d.labels.iter().position(|l| l == label).expect("a bin");
    d.shares[i]
}

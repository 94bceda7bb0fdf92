//! Small exact fractions for note lengths (in whole notes).

use std::ops::{Add, Div, Mul};

/// A non-negative fraction `num / den`, always reduced, `den > 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Frac {
    num: i64,
    den: i64,
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a.abs().max(1)
    } else {
        gcd(b, a % b)
    }
}

impl Frac {
    /// Zero.
    pub const ZERO: Frac = Frac { num: 0, den: 1 };
    /// One.
    pub const ONE: Frac = Frac { num: 1, den: 1 };

    /// `num / den`, reduced; `den` must not be 0.
    pub fn new(num: i64, den: i64) -> Frac {
        let g = gcd(num, den);
        let sign = if den < 0 { -1 } else { 1 };
        Frac {
            num: sign * num / g,
            den: sign * den / g,
        }
    }

    /// An integer as a fraction.
    pub fn int(n: i64) -> Frac {
        Frac { num: n, den: 1 }
    }

    /// The value as a float.
    pub fn to_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// Ticks for this many whole notes at `ticks_per_whole`, rounded to nearest.
    pub fn to_ticks(self, ticks_per_whole: i64) -> i64 {
        let scaled = i128::from(self.num) * i128::from(ticks_per_whole);
        let den = i128::from(self.den);
        ((2 * scaled + den).div_euclid(2 * den)) as i64
    }

    /// The numerator and denominator (reduced, denominator > 0).
    pub fn parts(self) -> (i64, i64) {
        (self.num, self.den)
    }

    /// The value when it is a whole number.
    pub fn whole(self) -> Option<i64> {
        (self.den == 1).then_some(self.num)
    }

    /// Keeps numbers small after long tunes: values are bounded, so this only reduces.
    fn checked(num: i128, den: i128) -> Frac {
        let g = gcd128(num, den);
        let (num, den) = (num / g, den / g);
        Frac {
            num: num.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
            den: den.clamp(1, i128::from(i64::MAX)) as i64,
        }
    }
}

fn gcd128(a: i128, b: i128) -> i128 {
    if b == 0 {
        a.abs().max(1)
    } else {
        gcd128(b, a % b)
    }
}

impl Add for Frac {
    type Output = Frac;
    fn add(self, rhs: Frac) -> Frac {
        let num =
            i128::from(self.num) * i128::from(rhs.den) + i128::from(rhs.num) * i128::from(self.den);
        Frac::checked(num, i128::from(self.den) * i128::from(rhs.den))
    }
}

impl Mul for Frac {
    type Output = Frac;
    fn mul(self, rhs: Frac) -> Frac {
        Frac::checked(
            i128::from(self.num) * i128::from(rhs.num),
            i128::from(self.den) * i128::from(rhs.den),
        )
    }
}

impl Div for Frac {
    type Output = Frac;
    /// `self / rhs`; `rhs` must not be zero.
    fn div(self, rhs: Frac) -> Frac {
        let (num, den) = (
            i128::from(self.num) * i128::from(rhs.den),
            i128::from(self.den) * i128::from(rhs.num),
        );
        let sign = if den < 0 { -1 } else { 1 };
        Frac::checked(sign * num, sign * den)
    }
}

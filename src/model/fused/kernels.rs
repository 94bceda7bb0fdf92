//! The arithmetic of a fused step: `out += x · wᵀ` through weights packed once for AVX-512
//! (`super::panels`) or, on a CPU without it, register-blocked dot products for a few lanes (AVX2
//! and FMA when the CPU has them, chosen at run time) and the `gemm` crate for many ([`Weights`]
//! picks); and the LSTM cell's activations (an `f32` exponential accurate to a few units in the
//! last place, written so the compiler vectorises it, with AVX-512 or AVX2 chosen at run time, and
//! [`cell_fast`], whose divisions are reciprocal estimates).

use super::panels::Panels;
use super::tiles::Tiles;

/// `out[lanes, n] += x[lanes, k] · w[n, k]ᵀ` (all row-major).
pub(crate) fn matmul_add(x: &[f32], w: &[f32], lanes: usize, k: usize, n: usize, out: &mut [f32]) {
    assert!(x.len() >= lanes * k && w.len() >= n * k && out.len() >= lanes * n);
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked just above), and the lengths were
            // checked by the assert above.
            unsafe { avx2::matmul_add(x, w, lanes, k, n, out) };
            return;
        }
    }
    portable_matmul_add(x, w, lanes, k, n, out);
}

/// Lanes from which a step's products go through [`wide_matmul_add`] instead of the
/// register-blocked dot products of [`matmul_add`] (on a CPU without AVX-512).
pub(crate) const WIDE_LANES: usize = 16;

/// `w[n, k]` (row-major) transposed to `[k, n]`, the layout [`wide_matmul_add`] reads.
pub(crate) fn transposed(w: &[f32], n: usize, k: usize) -> Vec<f32> {
    let mut t = vec![0f32; w.len()];
    for (row, weights) in w.chunks_exact(k).take(n).enumerate() {
        for (col, &value) in weights.iter().enumerate() {
            t[col * n + row] = value;
        }
    }
    t
}

/// `out[lanes, n] += x[lanes, k] · wt[k, n]` (all row-major) for many lanes, with the `gemm`
/// crate's cache-blocked kernels (AVX-512 or AVX2 chosen at run time), on the calling thread (a
/// model that wants more cores splits its lanes among them). A library made for the job: a
/// blocked product packs and tiles for each cache level, which the crate's few-lane kernel does
/// not, and reaches about twice its rate at a hundred lanes.
pub(crate) fn wide_matmul_add(
    x: &[f32],
    wt: &[f32],
    lanes: usize,
    k: usize,
    n: usize,
    out: &mut [f32],
) {
    assert!(x.len() >= lanes * k && wt.len() >= k * n && out.len() >= lanes * n);
    // SAFETY: the strides describe row-major `x` `[lanes, k]`, `wt` `[k, n]` and `out`
    // `[lanes, n]`, which the assert above checked lie inside the slices; `out` does not alias
    // the inputs (it is borrowed mutably).
    unsafe {
        gemm::gemm(
            lanes,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            true,
            x.as_ptr(),
            1,
            k as isize,
            wt.as_ptr(),
            1,
            n as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Fewest lanes for which [`Weights`] multiplies on AMX tiles rather than AVX-512 panels: from
/// two blocks of 16 lanes the tiles are faster (`tiles`' timing).
pub(crate) const TILE_LANES: usize = 16;

/// A weight matrix `w[n, k]` laid out for the products of a step: packed into panels when the CPU
/// has AVX-512, or AVX2 with FMA (faster at every number of lanes, one to a hundred, with either
/// register block: `panels`' timing), and also split into AMX tiles when it has those, for
/// products of [`TILE_LANES`] lanes or more (`tiles`' timing; within about 1e-5 of `f32` sums);
/// otherwise (a CPU with neither) row-major for the dot products of a few lanes and transposed
/// for `gemm`'s products of many.
#[derive(Debug, Clone)]
pub(crate) struct Weights {
    n: usize,
    k: usize,
    layout: Layout,
}

/// How a [`Weights`] holds its matrix.
#[derive(Debug, Clone)]
enum Layout {
    Packed(Panels),
    /// Panels for a few lanes, AMX tiles for many (the CPU has both).
    Tiled(Panels, Tiles),
    Plain {
        rows: Vec<f32>,
        columns: Vec<f32>,
    },
}

impl Weights {
    /// `w` is `[n, k]`, row-major.
    pub(crate) fn new(w: Vec<f32>, n: usize, k: usize) -> Self {
        let layout = if Panels::available() && Tiles::available() {
            Layout::Tiled(Panels::new(&w, n, k), Tiles::new(&w, n, k))
        } else if Panels::available() {
            Layout::Packed(Panels::new(&w, n, k))
        } else {
            Layout::Plain {
                columns: transposed(&w, n, k),
                rows: w,
            }
        };
        Weights { n, k, layout }
    }

    /// `out[lanes, n] += x[lanes, k] · wᵀ`, by the kernel that suits the CPU and the number of
    /// lanes.
    pub(crate) fn add_product(&self, x: &[f32], lanes: usize, out: &mut [f32]) {
        match &self.layout {
            Layout::Packed(panels) => panels.add_product(x, lanes, out),
            Layout::Tiled(_, tiles) if lanes >= TILE_LANES => tiles.add_product(x, lanes, out),
            Layout::Tiled(panels, _) => panels.add_product(x, lanes, out),
            Layout::Plain { columns, .. } if lanes >= WIDE_LANES => {
                wide_matmul_add(x, columns, lanes, self.k, self.n, out)
            }
            Layout::Plain { rows, .. } => matmul_add(x, rows, lanes, self.k, self.n, out),
        }
    }

    /// `out[lane] = base + x[lane] · wᵀ` for every lane (`base` is `[n]`).
    pub(crate) fn set_product(&self, x: &[f32], lanes: usize, base: &[f32], out: &mut [f32]) {
        match &self.layout {
            Layout::Packed(panels) => panels.set_product(x, lanes, base, out),
            Layout::Tiled(_, tiles) if lanes >= TILE_LANES => {
                tiles.set_product(x, lanes, base, out)
            }
            Layout::Tiled(panels, _) => panels.set_product(x, lanes, base, out),
            Layout::Plain { .. } => {
                let n = self.n;
                for lane in 0..lanes {
                    out[lane * n..(lane + 1) * n].copy_from_slice(&base[..n]);
                }
                self.add_product(x, lanes, out);
            }
        }
    }
}

/// The same product without SIMD intrinsics (eight running sums per dot product).
fn portable_matmul_add(x: &[f32], w: &[f32], lanes: usize, k: usize, n: usize, out: &mut [f32]) {
    for lane in 0..lanes {
        let xs = &x[lane * k..(lane + 1) * k];
        for (o, row) in out[lane * n..(lane + 1) * n]
            .iter_mut()
            .zip(w.chunks_exact(k))
        {
            *o += dot(row, xs);
        }
    }
}

/// A dot product with eight running sums.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut sums = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            sums[i] += x[i] * y[i];
        }
    }
    sums.iter().sum::<f32>() + tail
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum(v: __m256) -> f32 {
        let pair = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let quad = _mm_add_ps(pair, _mm_movehl_ps(pair, pair));
        let one = _mm_add_ss(quad, _mm_shuffle_ps(quad, quad, 1));
        _mm_cvtss_f32(one)
    }

    /// `out[l0.., r0..] += x[l0..l0+L] · w[r0..r0+R]ᵀ` for one block of `R` weight rows and `L`
    /// lanes, its `R × L` sums held in registers (constant sizes, so the loops unroll).
    ///
    /// # Safety
    /// AVX2 and FMA; the block must lie inside `x` (`lanes × k`), `w` (`n × k`) and `out`.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn block<const R: usize, const L: usize>(
        x: &[f32],
        w: &[f32],
        (k, n): (usize, usize),
        (r0, l0): (usize, usize),
        out: &mut [f32],
    ) {
        let k8 = k - k % 8;
        let (xp, wp) = (x.as_ptr(), w.as_ptr());
        let mut acc = [[_mm256_setzero_ps(); R]; L];
        let mut kk = 0;
        while kk < k8 {
            let mut wv = [_mm256_setzero_ps(); R];
            for (j, v) in wv.iter_mut().enumerate() {
                *v = _mm256_loadu_ps(wp.add((r0 + j) * k + kk));
            }
            for (i, row) in acc.iter_mut().enumerate() {
                let xv = _mm256_loadu_ps(xp.add((l0 + i) * k + kk));
                for (a, &wj) in row.iter_mut().zip(&wv) {
                    *a = _mm256_fmadd_ps(xv, wj, *a);
                }
            }
            kk += 8;
        }
        for (i, row) in acc.iter().enumerate() {
            for (j, &a) in row.iter().enumerate() {
                let mut sum = hsum(a);
                for t in k8..k {
                    sum += x[(l0 + i) * k + t] * w[(r0 + j) * k + t];
                }
                out[(l0 + i) * n + r0 + j] += sum;
            }
        }
    }

    /// `out[lanes, n] += x[lanes, k] · w[n, k]ᵀ` in register blocks: 3 weight rows × 4 lanes
    /// (12 sums, 3 weight vectors and a lane vector: the 16 AVX2 registers), or 8 rows × 1 lane
    /// for the lanes left over; weight rows outermost, so each block of rows stays in the
    /// first-level cache while every lane passes over it.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA, and `x`, `w`, `out` must hold `lanes × k`, `n × k` and
    /// `lanes × n` values.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn matmul_add(
        x: &[f32],
        w: &[f32],
        lanes: usize,
        k: usize,
        n: usize,
        out: &mut [f32],
    ) {
        let (full_lanes, rows3, rows8) = (lanes - lanes % 4, n - n % 3, n - n % 8);
        let size = (k, n);
        for r0 in (0..rows3).step_by(3) {
            for l0 in (0..full_lanes).step_by(4) {
                block::<3, 4>(x, w, size, (r0, l0), out);
            }
        }
        for r0 in rows3..n {
            for l0 in (0..full_lanes).step_by(4) {
                block::<1, 4>(x, w, size, (r0, l0), out);
            }
        }
        for l0 in full_lanes..lanes {
            for r0 in (0..rows8).step_by(8) {
                block::<8, 1>(x, w, size, (r0, l0), out);
            }
            for r0 in rows8..n {
                block::<1, 1>(x, w, size, (r0, l0), out);
            }
        }
    }

    /// The cell's activations with the compiler's AVX2 vectorisation.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn cell(gates: &mut [f32], h: &mut [f32], c: &mut [f32], hidden: usize) {
        super::cell_body(gates, h, c, hidden);
    }
}

/// `ln 2` in two parts: the high part's product with any `n` in range is exact.
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// The exponential's inputs are clamped to `±EXP_CLAMP`.
const EXP_CLAMP: f32 = 87.0;
/// The degree-6 Taylor polynomial of `e^r`, constant term first (`1/k!`).
const EXP_TAYLOR: [f32; 7] = [
    1.0,
    1.0,
    0.5,
    0.166_666_67,
    0.041_666_668,
    0.008_333_334,
    0.001_388_889,
];

/// `e^x` in `f32` (range reduction by `ln 2` in two parts and the degree-6 Taylor polynomial;
/// relative error below 3e-7; inputs are clamped to ±87, beyond which the LSTM's gates are saturated).
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.clamp(-EXP_CLAMP, EXP_CLAMP);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let t = &EXP_TAYLOR;
    let p = t[0] + r * (t[1] + r * (t[2] + r * (t[3] + r * (t[4] + r * (t[5] + r * t[6])))));
    // 2ⁿ built from its exponent bits: adding 2²³ puts the integer `n + 127` (in [1, 253] after
    // the clamp) in the low bits of the sum, and the shift moves it into the exponent field. Unlike
    // a saturating `as i32` cast, this vectorises.
    let scale = f32::from_bits((n + 127.0 + 8_388_608.0).to_bits() << 23);
    p * scale
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[inline(always)]
fn tanh(x: f32) -> f32 {
    2.0 / (1.0 + exp(-2.0 * x)) - 1.0
}

/// The LSTM cell on gates `[lanes, 4H]` in PyTorch's order (input, forget, cell, output); the
/// gates are overwritten with their activations.
pub(super) fn cell(gates: &mut [f32], h: &mut [f32], c: &mut [f32], hidden: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512 (checked just above).
            unsafe { avx512::cell(gates, h, c, hidden) };
            return;
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            unsafe { avx2::cell(gates, h, c, hidden) };
            return;
        }
    }
    cell_body(gates, h, c, hidden);
}

/// `tanh` of every value in place (the cell's `f32` form, vectorised).
pub(crate) fn tanh_in_place(values: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512 (checked just above).
            unsafe { avx512::tanh_in_place(values) };
            return;
        }
    }
    values.iter_mut().for_each(|v| *v = tanh(*v));
}

/// [`cell`] with each division replaced, where the CPU has AVX-512, by a reciprocal estimate
/// refined by one Newton step (within a unit or two in the last place of the quotient; the
/// divisions were 60% of the cell). The models built on [`super::FusedStack`] step with it;
/// [`super::FusedLm`] keeps [`cell`], so the tunes it writes stay what they were. The gates are
/// left as they were.
pub(super) fn cell_fast(gates: &mut [f32], h: &mut [f32], c: &mut [f32], hidden: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") {
            assert!(gates.len() >= 4 * h.len() && c.len() >= h.len() && hidden > 0);
            // SAFETY: the CPU has AVX-512 (checked just above); the assert checked the lengths
            // the cell reads and writes.
            unsafe { avx512::cell_fast(gates, h, c, hidden) };
            return;
        }
    }
    cell(gates, h, c, hidden);
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// [`super::exp`] on 16 values.
    #[target_feature(enable = "avx512f")]
    unsafe fn exp(x: __m512) -> __m512 {
        let clamp = _mm512_set1_ps(super::EXP_CLAMP);
        let x = _mm512_min_ps(
            _mm512_max_ps(x, _mm512_sub_ps(_mm512_setzero_ps(), clamp)),
            clamp,
        );
        let scaled = _mm512_fmadd_ps(
            x,
            _mm512_set1_ps(std::f32::consts::LOG2_E),
            _mm512_set1_ps(0.5),
        );
        let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC }>(scaled);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(super::LN2_HI), x);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(super::LN2_LO), r);
        let t = &super::EXP_TAYLOR;
        let mut p = _mm512_set1_ps(t[t.len() - 1]);
        for &coefficient in t[..t.len() - 1].iter().rev() {
            p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(coefficient));
        }
        let biased = _mm512_add_ps(n, _mm512_set1_ps(127.0 + 8_388_608.0));
        let scale = _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_castps_si512(biased)));
        _mm512_mul_ps(p, scale)
    }

    /// `1 / d`: the 14-bit estimate and one Newton step.
    #[target_feature(enable = "avx512f")]
    unsafe fn reciprocal(d: __m512) -> __m512 {
        let r = _mm512_rcp14_ps(d);
        _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(2.0)))
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn sigmoid(x: __m512) -> __m512 {
        let one = _mm512_set1_ps(1.0);
        reciprocal(_mm512_add_ps(
            one,
            exp(_mm512_sub_ps(_mm512_setzero_ps(), x)),
        ))
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn tanh(x: __m512) -> __m512 {
        let (one, two) = (_mm512_set1_ps(1.0), _mm512_set1_ps(2.0));
        let e = exp(_mm512_mul_ps(_mm512_set1_ps(-2.0), x));
        _mm512_fmsub_ps(two, reciprocal(_mm512_add_ps(one, e)), one)
    }

    /// [`super::cell_fast`] for AVX-512: 16 units at a time, the last ones masked.
    ///
    /// # Safety
    /// The CPU must have AVX-512 F; `gates` holds `4H` values for each lane of `h` and `c`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn cell_fast(gates: &[f32], h: &mut [f32], c: &mut [f32], hidden: usize) {
        for ((g, hs), cs) in gates
            .chunks_exact(4 * hidden)
            .zip(h.chunks_exact_mut(hidden))
            .zip(c.chunks_exact_mut(hidden))
        {
            for j in (0..hidden).step_by(16) {
                let m: __mmask16 = if hidden - j >= 16 {
                    0xffff
                } else {
                    (1u16 << (hidden - j)) - 1
                };
                let gate = |q: usize| _mm512_maskz_loadu_ps(m, g.as_ptr().add(q * hidden + j));
                let (i, f) = (sigmoid(gate(0)), sigmoid(gate(1)));
                let (cell_gate, o) = (tanh(gate(2)), sigmoid(gate(3)));
                let old = _mm512_maskz_loadu_ps(m, cs.as_ptr().add(j));
                let new = _mm512_fmadd_ps(f, old, _mm512_mul_ps(i, cell_gate));
                _mm512_mask_storeu_ps(cs.as_mut_ptr().add(j), m, new);
                _mm512_mask_storeu_ps(hs.as_mut_ptr().add(j), m, _mm512_mul_ps(o, tanh(new)));
            }
        }
    }

    /// The cell's activations with the compiler's AVX-512 vectorisation.
    ///
    /// # Safety
    /// The CPU must have AVX-512 (F).
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,fma")]
    pub(super) unsafe fn cell(gates: &mut [f32], h: &mut [f32], c: &mut [f32], hidden: usize) {
        super::cell_body(gates, h, c, hidden);
    }

    /// [`super::tanh_in_place`] with the compiler's AVX-512 vectorisation.
    ///
    /// # Safety
    /// The CPU must have AVX-512 (F).
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,fma")]
    pub(super) unsafe fn tanh_in_place(values: &mut [f32]) {
        values.iter_mut().for_each(|v| *v = super::tanh(*v));
    }
}

#[inline(always)]
fn cell_body(gates: &mut [f32], h: &mut [f32], c: &mut [f32], hidden: usize) {
    for ((g, hs), cs) in gates
        .chunks_exact_mut(4 * hidden)
        .zip(h.chunks_exact_mut(hidden))
        .zip(c.chunks_exact_mut(hidden))
    {
        let (ifg, o) = g.split_at_mut(3 * hidden);
        let (i_f, cell_gate) = ifg.split_at_mut(2 * hidden);
        i_f.iter_mut().for_each(|v| *v = sigmoid(*v));
        o.iter_mut().for_each(|v| *v = sigmoid(*v));
        cell_gate.iter_mut().for_each(|v| *v = tanh(*v));
        let (i, f) = i_f.split_at(hidden);
        for j in 0..hidden {
            cs[j] = f[j] * cs[j] + i[j] * cell_gate[j];
        }
        for j in 0..hidden {
            hs[j] = o[j] * tanh(cs[j]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_cell_is_the_cell_to_a_few_units_in_the_last_place() {
        // Two lanes of 21 units (a full vector and a masked one), gates from −30 to 30.
        let hidden = 21;
        let gates: Vec<f32> = (0..2 * 4 * hidden)
            .map(|i| ((i * 37) % 121) as f32 / 2.0 - 30.0)
            .collect();
        let c0: Vec<f32> = (0..2 * hidden).map(|i| (i % 9) as f32 - 4.0).collect();
        let (mut exact_h, mut exact_c, mut exact_gates) =
            (vec![0.0; 2 * hidden], c0.clone(), gates.clone());
        cell(&mut exact_gates, &mut exact_h, &mut exact_c, hidden);
        let (mut fast_h, mut fast_c, mut fast_gates) = (vec![0.0; 2 * hidden], c0, gates.clone());
        cell_fast(&mut fast_gates, &mut fast_h, &mut fast_c, hidden);
        for (a, b) in exact_h
            .iter()
            .zip(&fast_h)
            .chain(exact_c.iter().zip(&fast_c))
        {
            assert!((a - b).abs() <= 1e-6 * a.abs().max(1.0), "{a} against {b}");
        }
        assert!(
            exact_h.iter().any(|v| v.abs() > 0.1),
            "a cell that does something"
        );
    }

    #[test]
    fn the_exponential_and_its_activations_are_accurate() {
        let mut worst = 0f64;
        for i in -2000..=2000 {
            let x = i as f32 / 40.0;
            let want = f64::from(x).exp();
            worst = worst.max(((f64::from(exp(x)) - want) / want).abs());
            let s = 1.0 / (1.0 + (-f64::from(x)).exp());
            assert!((f64::from(sigmoid(x)) - s).abs() < 2e-7, "sigmoid({x})");
            assert!(
                (f64::from(tanh(x)) - f64::from(x).tanh()).abs() < 3e-7,
                "tanh({x})"
            );
        }
        assert!(worst < 5e-7, "exp relative error {worst}");
        assert!(sigmoid(-200.0) < 1e-37 && sigmoid(200.0) == 1.0);
        assert!(tanh(200.0) == 1.0 && tanh(-200.0) == -1.0);
    }

    /// Test operands `x[lanes, k]` and `w[n, k]`.
    fn operands(lanes: usize, k: usize, n: usize) -> (Vec<f32>, Vec<f32>) {
        let x = (0..lanes * k)
            .map(|i| ((i * 7) % 13) as f32 / 13.0 - 0.4)
            .collect();
        let w = (0..n * k)
            .map(|i| ((i * 5) % 17) as f32 / 17.0 - 0.5)
            .collect();
        (x, w)
    }

    #[test]
    fn the_blocked_and_wide_products_match_the_plain_one() {
        // Sizes that leave partial blocks of rows and lanes and a tail of k; the second has
        // enough lanes for the wide path, through `Weights` and directly.
        for (lanes, k, n) in [(6, 21, 11), (WIDE_LANES + 3, 37, 29)] {
            let (x, w) = operands(lanes, k, n);
            let mut plain = vec![1.0; lanes * n];
            portable_matmul_add(&x, &w, lanes, k, n, &mut plain);
            let direct: f32 = (0..k).map(|t| x[k + t] * w[2 * k + t]).sum::<f32>() + 1.0;
            assert!((plain[n + 2] - direct).abs() < 1e-5);
            let mut fast = vec![1.0; lanes * n];
            matmul_add(&x, &w, lanes, k, n, &mut fast);
            let mut wide = vec![1.0; lanes * n];
            wide_matmul_add(&x, &transposed(&w, n, k), lanes, k, n, &mut wide);
            let mut chosen = vec![1.0; lanes * n];
            Weights::new(w.clone(), n, k).add_product(&x, lanes, &mut chosen);
            // Both layouts, from a base row of ones (what `plain` started from).
            let ones = vec![1.0; n];
            let (mut packed, mut unpacked) = (vec![5.0; lanes * n], vec![5.0; lanes * n]);
            Weights::new(w.clone(), n, k).set_product(&x, lanes, &ones, &mut packed);
            let plain_layout = Weights {
                n,
                k,
                layout: Layout::Plain {
                    columns: transposed(&w, n, k),
                    rows: w.clone(),
                },
            };
            plain_layout.set_product(&x, lanes, &ones, &mut unpacked);
            for other in [&fast, &wide, &chosen, &packed, &unpacked] {
                for (a, b) in other.iter().zip(&plain) {
                    assert!((a - b).abs() < 1e-5, "{lanes} lanes: {a} vs {b}");
                }
            }
        }
    }
}

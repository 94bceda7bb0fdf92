//! Products of many lanes against weights packed once, when the model is compiled, into the
//! layout an AVX-512 register block reads (and, on a CPU without AVX-512, an AVX2 block reads
//! half a panel at a time): `out[lanes, n] += x[lanes, k] · w[n, k]ᵀ`.
//!
//! The `gemm` crate reaches the same rate inside its kernel, but it packs the weights again on
//! every call, and a model that steps 50 lanes a thread copies each weight once for every 50
//! multiply-adds it does with it (a fifth of a `WindowLstm` token). Weights that never change
//! can be packed once: each panel of [`PANEL`] outputs is stored input by input, so the block
//! reads it front to back, and a block of up to [`BLOCK`] lanes keeps its `PANEL × lanes` sums
//! in 24 of the 32 vector registers. Measured by `time_packed_against_gemm` (one core, 50 lanes,
//! `k` 256, `n` 1024): 84 billion multiply-adds a second against `gemm`'s 67.

/// Outputs per panel: two 16-float vectors.
pub(crate) const PANEL: usize = 32;
/// Most lanes in one register block (`2 × BLOCK` sums in registers).
const BLOCK: usize = 12;
/// Most inputs of a panel a register block reads at once: `PANEL × CHUNK` values (32 KiB) stay
/// in the first-level cache while every block of lanes passes over them.
const CHUNK: usize = 256;

/// A weight matrix `w[n, k]` packed panel by panel.
#[derive(Debug, Clone)]
pub(crate) struct Panels {
    n: usize,
    k: usize,
    /// Panel `p`, input `t`: `PANEL` values, outputs `p·PANEL ..` (zero past `n`).
    data: Vec<f32>,
}

impl Panels {
    /// Packs a row-major `w[n, k]`.
    pub(crate) fn new(w: &[f32], n: usize, k: usize) -> Self {
        let panels = n.div_ceil(PANEL);
        let mut data = vec![0f32; panels * k * PANEL];
        // Row by row: each row is read front to back, and its panel (`k × PANEL` values) takes
        // the writes while it stays in the cache.
        for (row, weights) in w.chunks_exact(k.max(1)).take(n).enumerate() {
            let (panel, j) = (row / PANEL, row % PANEL);
            let packed = &mut data[panel * k * PANEL..(panel + 1) * k * PANEL];
            for (t, &value) in weights.iter().enumerate() {
                packed[t * PANEL + j] = value;
            }
        }
        Panels { n, k, data }
    }

    /// Whether this CPU runs [`Panels::add_product`]: AVX-512 F, or AVX2 with FMA.
    pub(crate) fn available() -> bool {
        Self::avx512() || Self::avx2()
    }

    /// Whether this CPU has AVX-512 F (the wider register block).
    fn avx512() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            is_x86_feature_detected!("avx512f")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// Whether this CPU has AVX2 and FMA (the narrower register block).
    fn avx2() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// `out[lanes, n] += x[lanes, k] · wᵀ` (row-major). The caller checks
    /// [`Panels::available`].
    pub(crate) fn add_product(&self, x: &[f32], lanes: usize, out: &mut [f32]) {
        self.product(x, lanes, None, out);
    }

    /// `out[lane] = base + x[lane] · wᵀ` for every lane (`base` is `[n]`): what copying `base`
    /// into every lane and [`Panels::add_product`] give, without the copy.
    pub(crate) fn set_product(&self, x: &[f32], lanes: usize, base: &[f32], out: &mut [f32]) {
        self.product(x, lanes, Some(base), out);
    }

    fn product(&self, x: &[f32], lanes: usize, base: Option<&[f32]>, out: &mut [f32]) {
        self.product_on(Self::avx512(), x, lanes, base, out);
    }

    /// [`Panels::product`] by the AVX-512 register block when `wide` is set, else by the AVX2
    /// one.
    fn product_on(
        &self,
        wide: bool,
        x: &[f32],
        lanes: usize,
        base: Option<&[f32]>,
        out: &mut [f32],
    ) {
        assert!(x.len() >= lanes * self.k && out.len() >= lanes * self.n);
        assert!(base.is_none_or(|base| base.len() >= self.n));
        if lanes == 0 {
            return;
        }
        if self.k == 0 {
            // No inputs: the product is zero.
            if let Some(base) = base {
                let n = self.n;
                for lane in 0..lanes {
                    out[lane * n..(lane + 1) * n].copy_from_slice(&base[..n]);
                }
            }
            return;
        }
        #[cfg(target_arch = "x86_64")]
        {
            let operands = Operands {
                panels: self,
                x,
                lanes,
                base,
                out,
            };
            if wide {
                assert!(Self::avx512(), "AVX-512 F is needed");
                // SAFETY: the CPU has AVX-512 F, and the asserts above checked that `x` holds
                // `lanes × k` values, `out` `lanes × n` and `base` `n`.
                unsafe { avx512::product(operands) };
            } else {
                assert!(Self::avx2(), "AVX2 and FMA are needed");
                // SAFETY: as above, with AVX2 and FMA.
                unsafe { avx2::product(operands) };
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (wide, x, lanes, base, out);
            panic!("packed panels need an x86-64 CPU with AVX2 or AVX-512");
        }
    }
}

/// One product's operands: the packed weights, `x` `[lanes, k]`, the row every lane's sums start
/// from (none: `out` itself) and `out` `[lanes, n]`.
#[cfg(target_arch = "x86_64")]
struct Operands<'a> {
    panels: &'a Panels,
    x: &'a [f32],
    lanes: usize,
    base: Option<&'a [f32]>,
    out: &'a mut [f32],
}

/// The lanes split into `⌈lanes / most⌉` even blocks: each block's first lane and size.
#[cfg(target_arch = "x86_64")]
fn even_blocks(lanes: usize, most: usize) -> impl Iterator<Item = (usize, usize)> {
    let blocks = lanes.div_ceil(most);
    (0..blocks).scan(0, move |first, b| {
        let size = (lanes - *first) / (blocks - b);
        let block = (*first, size);
        *first += size;
        Some(block)
    })
}

/// Where the block of lanes from `l0` works in the stretch of inputs from `t0`, for the outputs
/// from column `first`: its inputs (rows `k` apart), its outputs (rows `n` apart), and the rows
/// its sums start from: the base row in the first stretch (stride 0, the same for every lane),
/// else the outputs themselves.
///
/// # Safety
/// `x` holds lane `l0`'s inputs from `t0`, and `out` (and `base`, when given) its outputs from
/// `first`.
#[cfg(target_arch = "x86_64")]
unsafe fn block_at(
    x: &[f32],
    out: &mut [f32],
    base: Option<&[f32]>,
    (l0, k, t0): (usize, usize, usize),
    (n, first): (usize, usize),
) -> (*const f32, (*mut f32, usize), (*const f32, usize)) {
    let o = out.as_mut_ptr().add(l0 * n + first);
    let from = match base {
        Some(row) if t0 == 0 => (row.as_ptr().add(first), 0),
        _ => (o.cast_const(), n),
    };
    (x.as_ptr().add(l0 * k + t0), (o, n), from)
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{block_at, even_blocks, Operands, BLOCK, CHUNK, PANEL};
    use std::arch::x86_64::*;

    /// `out[l0..l0+L, p·PANEL..][..columns] = from[..] + x[l0..l0+L, t0..t0+width] · panel[t0..]`,
    /// the `2L` sums in registers; `x` points at lane `l0`'s value `t0`, its rows `k` apart;
    /// `from` is `out` itself (rows `stride` apart) or a base row (`from_stride` 0).
    ///
    /// # Safety
    /// AVX-512 F; `x` holds `L` rows of `k` from its row's start, `panel` `width` packed inputs,
    /// and `out` and `from` `L` rows of their strides with `columns` values from each.
    #[target_feature(enable = "avx512f")]
    unsafe fn block<const L: usize>(
        panel: *const f32,
        (x, k, width): (*const f32, usize, usize),
        (out, stride): (*mut f32, usize),
        (from, from_stride): (*const f32, usize),
        (columns, ahead): (usize, Option<*const f32>),
    ) {
        let mut low = [_mm512_setzero_ps(); L];
        let mut high = [_mm512_setzero_ps(); L];
        let mut w = panel;
        for t in 0..width {
            if let Some(next) = ahead {
                let line = next.wrapping_add(t * PANEL) as *const i8;
                _mm_prefetch::<_MM_HINT_T1>(line);
                _mm_prefetch::<_MM_HINT_T1>(line.wrapping_add(64));
            }
            let (w0, w1) = (_mm512_loadu_ps(w), _mm512_loadu_ps(w.add(16)));
            w = w.add(PANEL);
            for i in 0..L {
                let xv = _mm512_set1_ps(*x.add(i * k + t));
                low[i] = _mm512_fmadd_ps(xv, w0, low[i]);
                high[i] = _mm512_fmadd_ps(xv, w1, high[i]);
            }
        }
        let (m0, m1) = (mask(columns), mask(columns.saturating_sub(16)));
        for i in 0..L {
            let (o, f) = (out.add(i * stride), from.add(i * from_stride));
            let sum = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, f), low[i]);
            _mm512_mask_storeu_ps(o, m0, sum);
            let sum = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, f.add(16)), high[i]);
            _mm512_mask_storeu_ps(o.add(16), m1, sum);
        }
    }

    /// [`block`] for one lane, its sums split four ways by input (`t mod 4`) so that four chains
    /// of multiply-adds run at once instead of one waiting on the last.
    ///
    /// # Safety
    /// As [`block`] with `L = 1`.
    #[target_feature(enable = "avx512f")]
    unsafe fn one_lane(
        panel: *const f32,
        (x, _, width): (*const f32, usize, usize),
        out: *mut f32,
        from: *const f32,
        (columns, ahead): (usize, Option<*const f32>),
    ) {
        let mut low = [_mm512_setzero_ps(); 4];
        let mut high = [_mm512_setzero_ps(); 4];
        let quads = width - width % 4;
        for t0 in (0..quads).step_by(4) {
            if let Some(next) = ahead {
                let line = next.wrapping_add(t0 * PANEL) as *const i8;
                for offset in 0..8 {
                    _mm_prefetch::<_MM_HINT_T1>(line.wrapping_add(64 * offset));
                }
            }
            for chain in 0..4 {
                let (t, w) = (t0 + chain, panel.add((t0 + chain) * PANEL));
                let xv = _mm512_set1_ps(*x.add(t));
                low[chain] = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w), low[chain]);
                high[chain] = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w.add(16)), high[chain]);
            }
        }
        for t in quads..width {
            let w = panel.add(t * PANEL);
            let xv = _mm512_set1_ps(*x.add(t));
            low[0] = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w), low[0]);
            high[0] = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w.add(16)), high[0]);
        }
        let sum =
            |v: [__m512; 4]| _mm512_add_ps(_mm512_add_ps(v[0], v[1]), _mm512_add_ps(v[2], v[3]));
        let (m0, m1) = (mask(columns), mask(columns.saturating_sub(16)));
        let total = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, from), sum(low));
        _mm512_mask_storeu_ps(out, m0, total);
        let total = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, from.add(16)), sum(high));
        _mm512_mask_storeu_ps(out.add(16), m1, total);
    }

    /// The first `count` (at most 16) of a vector's 16 values.
    fn mask(count: usize) -> __mmask16 {
        if count >= 16 {
            0xffff
        } else {
            (1u16 << count) - 1
        }
    }

    /// `out += x · wᵀ`, or `out = base + x · wᵀ`: every panel, a stretch of at most [`CHUNK`]
    /// inputs at a time (so that it stays in the first-level cache), against every block of
    /// lanes (the lanes split into even blocks of at most [`BLOCK`]).
    ///
    /// # Safety
    /// AVX-512 F; the lengths as [`Panels::product`] checks them.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn product(operands: Operands<'_>) {
        let Operands {
            panels,
            x,
            lanes,
            base,
            out,
        } = operands;
        let (n, k) = (panels.n, panels.k);
        for (p, panel) in panels.data.chunks_exact(k * PANEL).enumerate() {
            let columns = (n - p * PANEL).min(PANEL);
            for t0 in (0..k).step_by(CHUNK) {
                let width = (k - t0).min(CHUNK);
                let packed = panel.as_ptr().add(t0 * PANEL);
                // The first block fetches the next stretch of weights while it works.
                let next = (p * k + t0 + width) * PANEL;
                let next = (next < panels.data.len()).then(|| panels.data.as_ptr().add(next));
                for (l0, size) in even_blocks(lanes, BLOCK) {
                    let (xs, o, from) = block_at(x, out, base, (l0, k, t0), (n, p * PANEL));
                    let rows = (xs, k, width);
                    let columns = (columns, if l0 == 0 { next } else { None });
                    match size {
                        1 => one_lane(packed, rows, o.0, from.0, columns),
                        2 => block::<2>(packed, rows, o, from, columns),
                        3 => block::<3>(packed, rows, o, from, columns),
                        4 => block::<4>(packed, rows, o, from, columns),
                        5 => block::<5>(packed, rows, o, from, columns),
                        6 => block::<6>(packed, rows, o, from, columns),
                        7 => block::<7>(packed, rows, o, from, columns),
                        8 => block::<8>(packed, rows, o, from, columns),
                        9 => block::<9>(packed, rows, o, from, columns),
                        10 => block::<10>(packed, rows, o, from, columns),
                        11 => block::<11>(packed, rows, o, from, columns),
                        _ => block::<12>(packed, rows, o, from, columns),
                    }
                }
            }
        }
    }
}

/// The same products on a CPU without AVX-512 (AMD's Zen 3, say): each panel is read as two
/// halves of [`HALF`] outputs, two 8-float vectors, and a block of up to [`HALF_BLOCK`] lanes
/// keeps its `HALF × lanes` sums in 12 of the 16 vector registers (the shape of the usual AVX2
/// single-precision kernels). The packing is the same, so one layout serves both.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{block_at, even_blocks, Operands, CHUNK, PANEL};
    use std::arch::x86_64::*;

    /// Outputs per half panel: two 8-float vectors.
    const HALF: usize = PANEL / 2;
    /// Most lanes in one register block.
    const HALF_BLOCK: usize = 6;

    /// The first `count` (at most 8) of a vector's 8 values, as a mask for `maskload`/`maskstore`.
    #[target_feature(enable = "avx2")]
    unsafe fn mask(count: usize) -> __m256i {
        let count = count.min(8) as i32;
        _mm256_cmpgt_epi32(
            _mm256_set1_epi32(count),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    }

    /// Writes `from + sum` over `out` for one lane's two vectors, the first `columns` values.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn write(out: *mut f32, from: *const f32, columns: usize, low: __m256, high: __m256) {
        let (m0, m1) = (mask(columns), mask(columns.saturating_sub(8)));
        _mm256_maskstore_ps(out, m0, _mm256_add_ps(_mm256_maskload_ps(from, m0), low));
        if columns > 8 {
            let sum = _mm256_add_ps(_mm256_maskload_ps(from.add(8), m1), high);
            _mm256_maskstore_ps(out.add(8), m1, sum);
        }
    }

    /// `out[l0..l0+L, ..columns] = from + x[l0..l0+L, t0..t0+width] · half panel`, the `2L` sums
    /// in registers (as the AVX-512 `block`, for half a panel; `panel` points at the half's
    /// first value, its inputs `PANEL` apart).
    ///
    /// # Safety
    /// AVX2 and FMA; the pointers as for the AVX-512 `block`, with `HALF` columns.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn block<const L: usize>(
        panel: *const f32,
        (x, k, width): (*const f32, usize, usize),
        (out, stride): (*mut f32, usize),
        (from, from_stride): (*const f32, usize),
        columns: usize,
    ) {
        let mut low = [_mm256_setzero_ps(); L];
        let mut high = [_mm256_setzero_ps(); L];
        let mut w = panel;
        for t in 0..width {
            let (w0, w1) = (_mm256_loadu_ps(w), _mm256_loadu_ps(w.add(8)));
            w = w.add(PANEL);
            for i in 0..L {
                let xv = _mm256_broadcast_ss(&*x.add(i * k + t));
                low[i] = _mm256_fmadd_ps(xv, w0, low[i]);
                high[i] = _mm256_fmadd_ps(xv, w1, high[i]);
            }
        }
        for i in 0..L {
            write(
                out.add(i * stride),
                from.add(i * from_stride),
                columns,
                low[i],
                high[i],
            );
        }
    }

    /// One lane against a whole panel (both halves: each input's `PANEL` weights read front to
    /// back), its sums split two ways by input so that two chains of multiply-adds per vector
    /// run at once.
    ///
    /// # Safety
    /// AVX2 and FMA; `x` holds `width` values, `panel` `width` packed inputs, and `out` and
    /// `from` `columns` values (at most `PANEL`).
    #[target_feature(enable = "avx2,fma")]
    unsafe fn one_lane(
        panel: *const f32,
        (x, width): (*const f32, usize),
        out: *mut f32,
        from: *const f32,
        columns: usize,
    ) {
        let mut sums = [[_mm256_setzero_ps(); 4]; 2];
        let pairs = width - width % 2;
        for t0 in (0..pairs).step_by(2) {
            for (chain, acc) in sums.iter_mut().enumerate() {
                let (t, w) = (t0 + chain, panel.add((t0 + chain) * PANEL));
                let xv = _mm256_broadcast_ss(&*x.add(t));
                for (v, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w.add(8 * v)), *a);
                }
            }
        }
        if pairs < width {
            let (w, xv) = (
                panel.add(pairs * PANEL),
                _mm256_broadcast_ss(&*x.add(pairs)),
            );
            for (v, a) in sums[0].iter_mut().enumerate() {
                *a = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w.add(8 * v)), *a);
            }
        }
        for half in 0..PANEL / HALF {
            let first = half * HALF;
            if first >= columns {
                break;
            }
            let (low, high) = (2 * half, 2 * half + 1);
            write(
                out.add(first),
                from.add(first),
                (columns - first).min(HALF),
                _mm256_add_ps(sums[0][low], sums[1][low]),
                _mm256_add_ps(sums[0][high], sums[1][high]),
            );
        }
    }

    /// `out += x · wᵀ`, or `out = base + x · wᵀ`: every half panel, a stretch of at most
    /// [`CHUNK`] inputs at a time, against every block of lanes (even blocks of at most
    /// [`HALF_BLOCK`]).
    ///
    /// # Safety
    /// AVX2 and FMA; the lengths as [`Panels::product`] checks them.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn product(operands: Operands<'_>) {
        let (panels, lanes, base) = (operands.panels, operands.lanes, operands.base);
        let (x, out, n, k) = (operands.x, operands.out, panels.n, panels.k);
        for (p, panel) in panels.data.chunks_exact(k * PANEL).enumerate() {
            if lanes == 1 {
                // One lane reads each panel once, whole.
                let first = p * PANEL;
                for t0 in (0..k).step_by(CHUNK) {
                    let width = (k - t0).min(CHUNK);
                    let (xs, (o, _), (from, _)) = block_at(x, out, base, (0, k, t0), (n, first));
                    let packed = panel.as_ptr().add(t0 * PANEL);
                    one_lane(packed, (xs, width), o, from, n - first);
                }
                continue;
            }
            for half in 0..PANEL / HALF {
                let first = p * PANEL + half * HALF;
                if first >= n {
                    break;
                }
                let columns = (n - first).min(HALF);
                for t0 in (0..k).step_by(CHUNK) {
                    let width = (k - t0).min(CHUNK);
                    let packed = panel.as_ptr().add(t0 * PANEL + half * HALF);
                    for (l0, size) in even_blocks(lanes, HALF_BLOCK) {
                        let (xs, o, from) = block_at(x, out, base, (l0, k, t0), (n, first));
                        let rows = (xs, k, width);
                        match size {
                            1 => block::<1>(packed, rows, o, from, columns),
                            2 => block::<2>(packed, rows, o, from, columns),
                            3 => block::<3>(packed, rows, o, from, columns),
                            4 => block::<4>(packed, rows, o, from, columns),
                            5 => block::<5>(packed, rows, o, from, columns),
                            _ => block::<6>(packed, rows, o, from, columns),
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::time::Instant;

    fn values(count: usize, seed: usize) -> Vec<f32> {
        (0..count)
            .map(|i| ((i * 7 + seed * 3) % 19) as f32 / 19.0 - 0.45)
            .collect()
    }

    /// The register blocks this CPU runs: AVX-512 (`true`) and AVX2 (`false`).
    fn blocks_here() -> Vec<bool> {
        let here: Vec<bool> = [(true, Panels::avx512()), (false, Panels::avx2())]
            .into_iter()
            .filter_map(|(wide, has)| has.then_some(wide))
            .collect();
        if here.is_empty() {
            eprintln!("neither AVX-512 nor AVX2 on this CPU: nothing to check");
        }
        here
    }

    #[test]
    fn packed_products_match_the_plain_sums() {
        for wide in blocks_here() {
            products_match_the_plain_sums(wide);
        }
    }

    /// Both products of every shape below, by one register block, against plain sums.
    fn products_match_the_plain_sums(wide: bool) {
        // Outputs that leave a partial panel and a partial vector; inputs past one chunk;
        // lanes in blocks of several sizes.
        for (lanes, n, k) in [
            (29, 45, 13),
            (7, 70, CHUNK + 9),
            (50, 64, 3),
            (1, 33, 2),
            (3, 5, 0),
        ] {
            let (w, x) = (values(n * k, k), values(lanes * k, k + 1));
            let panels = Panels::new(&w, n, k);
            let mut out = values(lanes * n + 3, 5);
            let before = out.clone();
            panels.product_on(wide, &x, lanes, None, &mut out);
            for lane in 0..lanes {
                for row in 0..n {
                    let dot: f32 = (0..k).map(|t| x[lane * k + t] * w[row * k + t]).sum();
                    let (got, want) = (out[lane * n + row], before[lane * n + row] + dot);
                    assert!(
                        (got - want).abs() < 1e-4,
                        "{wide}: {lane}, {row}: {got} against {want}"
                    );
                }
            }
            assert_eq!(
                out[lanes * n..],
                before[lanes * n..],
                "nothing past the lanes"
            );
            // From a base row instead: every lane starts from it, whatever `out` held.
            let base = values(n, 3);
            let mut set = vec![7.0; lanes * n + 3];
            panels.product_on(wide, &x, lanes, Some(&base), &mut set);
            for lane in 0..lanes {
                for row in 0..n {
                    let dot: f32 = (0..k).map(|t| x[lane * k + t] * w[row * k + t]).sum();
                    let (got, want) = (set[lane * n + row], base[row] + dot);
                    assert!(
                        (got - want).abs() < 1e-4,
                        "{wide}: {lane}, {row}: {got} against {want}"
                    );
                }
            }
            assert_eq!(set[lanes * n..], [7.0; 3], "nothing past the lanes");
        }
    }

    /// The products the timings run, `(lanes, k, n)`: the seed's `WindowLstm` and a few lanes.
    const TIMED_SHAPES: [(usize, usize, usize); 8] = [
        (1, 256, 1024),
        (4, 256, 1024),
        (12, 256, 1024),
        (25, 256, 1024),
        (50, 256, 1024),
        (100, 256, 1024),
        (50, 512, 1024),
        (50, 256, 256),
    ];

    /// `cargo test --release --lib panels -- --ignored --nocapture`: the packed product against
    /// the plain layout's kernels (the register-blocked dot products below `WIDE_LANES` lanes,
    /// `gemm` from there) on the shapes of the seed's `WindowLstm` and a few lanes.
    #[test]
    #[ignore = "a timing, not a check"]
    fn time_packed_against_gemm() {
        use super::super::kernels::{matmul_add, transposed, wide_matmul_add, WIDE_LANES};
        for (lanes, k, n) in TIMED_SHAPES {
            let (w, x) = (values(n * k, 1), values(lanes * k, 2));
            let (panels, wt) = (Panels::new(&w, n, k), transposed(&w, n, k));
            let (mut packed, mut plain) = (vec![0f32; lanes * n], vec![0f32; lanes * n]);
            print_rates(
                (lanes, k, n),
                2000,
                || panels.add_product(&x, lanes, &mut packed),
                || {
                    if lanes < WIDE_LANES {
                        matmul_add(&x, &w, lanes, k, n, &mut plain);
                    } else {
                        wide_matmul_add(&x, &wt, lanes, k, n, &mut plain);
                    }
                },
            );
        }
    }

    /// `cargo test --release --lib time_wide_against_narrow -- --ignored --nocapture`: the
    /// AVX-512 register block against the AVX2 one on the same packed weights, on a CPU with
    /// both (an AMD Zen 4 runs AVX-512 on 256-bit halves, so the wider block need not win there).
    #[test]
    #[ignore = "a timing, not a check"]
    fn time_wide_against_narrow() {
        if !(Panels::avx512() && Panels::avx2()) {
            eprintln!("this CPU lacks AVX-512 or AVX2: nothing to compare");
            return;
        }
        for (lanes, k, n) in TIMED_SHAPES {
            let (w, x) = (values(n * k, 1), values(lanes * k, 2));
            let panels = Panels::new(&w, n, k);
            let (mut wide, mut narrow) = (vec![0f32; lanes * n], vec![0f32; lanes * n]);
            print_rates(
                (lanes, k, n),
                2000,
                || panels.product_on(true, &x, lanes, None, &mut wide),
                || panels.product_on(false, &x, lanes, None, &mut narrow),
            );
        }
    }

    /// Times `a` and `b`, `rounds` calls each, best of three alternating tries, and prints a
    /// table row of billions of multiply-adds a second for a product `lanes × k → n`.
    pub(in crate::model::fused) fn print_rates(
        (lanes, k, n): (usize, usize, usize),
        rounds: usize,
        mut a: impl FnMut(),
        mut b: impl FnMut(),
    ) {
        let mut best = [f64::MAX; 2];
        for _ in 0..3 {
            for (i, product) in [&mut a as &mut dyn FnMut(), &mut b].into_iter().enumerate() {
                let t = Instant::now();
                for _ in 0..rounds {
                    product();
                }
                best[i] = best[i].min(t.elapsed().as_secs_f64());
            }
        }
        let macs = (rounds * lanes * k * n) as f64;
        eprintln!(
            "| {lanes} × {k} → {n} | {:.1} | {:.1} |",
            macs / best[0] / 1e9,
            macs / best[1] / 1e9
        );
    }
}

//! Products of many lanes on Intel AMX tiles: `out[lanes, n] += x[lanes, k] · w[n, k]ᵀ` with
//! the accuracy of `f32` sums to about 1e-5, from `bf16` tile products.
//!
//! A tile multiply-add (`TDPBF16PS`) does 8,192 multiply-adds of `bf16` pairs, summed in `f32`.
//! On one core of this project's machine (Sapphire Rapids), a throwaway probe of tile products
//! alone gave 690 to 1,100 billion multiply-adds a second, against 60 to 86 billion for AVX-512
//! `f32` FMAs. One `bf16` keeps 8 bits of a float's 24, too few for a model whose logits must
//! equal libtorch's to 1e-4. So every value is split in two, `x = x_hi + x_lo`, each rounded to
//! `bf16` (together within 2⁻¹⁸ of `x`), and a product takes three tile products:
//! `x_hi·w_hi + x_hi·w_lo + x_lo·w_hi`. The dropped `x_lo·w_lo` is below 2⁻¹⁸ of the term.
//!
//! The weights are split and laid out once, when the model is compiled: for each block of 16
//! outputs and each stretch of 32 inputs, one tile of 16 input pairs × 16 outputs × 2 (the
//! layout the instruction reads). Each call splits its lanes' inputs into a scratch buffer of
//! tiles (16 lanes × 32 inputs, zero past the inputs). Then, for every two blocks of 16 lanes and
//! every two blocks of outputs, four accumulator tiles sum the stretches (a last odd block of
//! lanes takes four blocks of outputs at a time), and their sums are added to `out`. A block of
//! fewer than 16 lanes gets tiles of as many rows, so it costs what its lanes need.
//! `time_tiles_against_panels` measures the product against the AVX-512 panels.
//!
//! Linux hands a process the tiles' state only on request (`arch_prctl(ARCH_REQ_XCOMP_PERM)`),
//! which [`Tiles::available`] makes once; each call loads the tile configuration in its own
//! thread and releases the tiles when it returns.

#[cfg(target_arch = "x86_64")]
use std::arch::asm;
use std::cell::RefCell;
use std::sync::OnceLock;

/// Lanes (tile rows) and outputs (accumulator columns) per tile.
const ROWS: usize = 16;
/// Inputs per tile: 16 pairs of `bf16`.
const STRETCH: usize = 32;
/// Values in one tile of `bf16` (1 KiB).
const TILE: usize = ROWS * STRETCH;

/// The nearest `bf16` to `value` (ties to even), as its bits.
#[inline(always)]
fn bf16_bits(value: f32) -> u16 {
    let bits = value.to_bits();
    let rounded = bits.wrapping_add(0x7FFF + ((bits >> 16) & 1));
    (rounded >> 16) as u16
}

/// `value` as a `bf16` pair `(hi, lo)` with `hi + lo` within 2⁻¹⁸ of it.
#[inline(always)]
fn split(value: f32) -> (u16, u16) {
    let hi = bf16_bits(value);
    let rest = value - f32::from_bits(u32::from(hi) << 16);
    (hi, bf16_bits(rest))
}

/// A weight matrix `w[n, k]` split and laid out for AMX tiles.
#[derive(Debug, Clone)]
pub(crate) struct Tiles {
    n: usize,
    k: usize,
    /// Stretches of [`STRETCH`] inputs (the last padded with zeros).
    stretches: usize,
    /// Output block `j`, stretch `s`: one tile at `(j · stretches + s) · TILE`, row `p` holding
    /// inputs `2p, 2p + 1` of the stretch for each of the block's 16 outputs.
    hi: Vec<u16>,
    lo: Vec<u16>,
}

thread_local! {
    /// A thread's split inputs (hi, lo), reused from call to call.
    static SCRATCH: RefCell<(Vec<u16>, Vec<u16>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

impl Tiles {
    /// Whether this CPU and kernel run [`Tiles::add_product`]: AMX-TILE and AMX-BF16, and the
    /// tiles' state granted to the process (asked for once).
    pub(crate) fn available() -> bool {
        static GRANTED: OnceLock<bool> = OnceLock::new();
        *GRANTED.get_or_init(|| {
            #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
            {
                is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && amx::supported()
                    && amx::request_permission()
            }
            #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
            {
                false
            }
        })
    }

    /// Splits and lays out a row-major `w[n, k]`.
    pub(crate) fn new(w: &[f32], n: usize, k: usize) -> Self {
        let stretches = k.div_ceil(STRETCH).max(1);
        let blocks = n.div_ceil(4 * ROWS) * 4;
        let mut hi = vec![0u16; blocks * stretches * TILE];
        let mut lo = vec![0u16; blocks * stretches * TILE];
        for (row, weights) in w.chunks_exact(k.max(1)).take(n).enumerate() {
            let (block, column) = (row / ROWS, row % ROWS);
            for (input, &value) in weights.iter().enumerate() {
                let (stretch, within) = (input / STRETCH, input % STRETCH);
                let at = (block * stretches + stretch) * TILE
                    + (within / 2) * 2 * ROWS
                    + column * 2
                    + within % 2;
                (hi[at], lo[at]) = split(value);
            }
        }
        Tiles {
            n,
            k,
            stretches,
            hi,
            lo,
        }
    }

    /// `out[lanes, n] += x[lanes, k] · wᵀ` (row-major). The caller checks [`Tiles::available`].
    pub(crate) fn add_product(&self, x: &[f32], lanes: usize, out: &mut [f32]) {
        self.product(x, lanes, None, out);
    }

    /// `out[lane] = base + x[lane] · wᵀ` for every lane (`base` is `[n]`).
    pub(crate) fn set_product(&self, x: &[f32], lanes: usize, base: &[f32], out: &mut [f32]) {
        self.product(x, lanes, Some(base), out);
    }

    fn product(&self, x: &[f32], lanes: usize, base: Option<&[f32]>, out: &mut [f32]) {
        let (n, k) = (self.n, self.k);
        assert!(x.len() >= lanes * k && out.len() >= lanes * n);
        assert!(Tiles::available(), "AMX tiles are not available");
        if lanes == 0 {
            return;
        }
        SCRATCH.with(|scratch| {
            let (x_hi, x_lo) = &mut *scratch.borrow_mut();
            let blocks = lanes.div_ceil(ROWS);
            x_hi.resize(blocks * self.stretches * TILE, 0);
            x_lo.resize(blocks * self.stretches * TILE, 0);
            // SAFETY: `available` checked the CPU, which has AVX-512 with AMX.
            #[cfg(target_arch = "x86_64")]
            unsafe {
                amx::split_inputs(x, lanes, k, self.stretches, x_hi, x_lo)
            };
            // SAFETY: `available` checked the CPU and the permission; every tile read lies
            // inside `x_hi`/`x_lo` (whole tiles of `blocks · ROWS` lanes) or `self.hi`/`self.lo`.
            #[cfg(target_arch = "x86_64")]
            unsafe {
                amx::products(self, x_hi, x_lo, lanes, base, out)
            };
        });
    }
}

#[cfg(target_arch = "x86_64")]
mod amx {
    use super::*;

    /// CPUID leaf 7: AMX-BF16 (EDX bit 22) and AMX-TILE (bit 24).
    pub(super) fn supported() -> bool {
        let leaf = std::arch::x86_64::__cpuid_count(7, 0);
        leaf.edx & (1 << 22) != 0 && leaf.edx & (1 << 24) != 0
    }

    /// Asks Linux for the tile data state (`ARCH_REQ_XCOMP_PERM`, `XFEATURE_XTILEDATA`).
    #[cfg(target_os = "linux")]
    pub(super) fn request_permission() -> bool {
        const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
        const XFEATURE_XTILEDATA: libc::c_long = 18;
        // SAFETY: a plain system call with integer arguments.
        unsafe {
            libc::syscall(
                libc::SYS_arch_prctl,
                ARCH_REQ_XCOMP_PERM,
                XFEATURE_XTILEDATA,
            ) == 0
        }
    }

    /// A tile configuration: palette 1, eight tiles of 64-byte rows. Tiles 0–3 accumulate, 4
    /// and 5 hold inputs, 6 and 7 weights (16 rows). A block of fewer than 16 lanes gets tiles of
    /// as many rows, so its products cost what its lanes need.
    #[repr(C, align(64))]
    struct Config([u8; 64]);

    impl Config {
        /// Rows per tile, 0 to 7.
        fn new(rows: [usize; 8]) -> Config {
            let mut bytes = [0u8; 64];
            bytes[0] = 1;
            for (tile, &count) in rows.iter().enumerate() {
                bytes[16 + 2 * tile] = 64;
                bytes[48 + tile] = count as u8;
            }
            Config(bytes)
        }

        /// Two lane blocks of `first` and `second` rows: accumulators 0, 1 and inputs 4 for the
        /// first, accumulators 2, 3 and inputs 5 for the second.
        fn pair(first: usize, second: usize) -> Config {
            Config::new([first, first, second, second, first, second, ROWS, ROWS])
        }

        /// One lane block of `rows` rows: every accumulator and both inputs.
        fn single(rows: usize) -> Config {
            Config::new([rows, rows, rows, rows, rows, rows, ROWS, ROWS])
        }

        /// Loads this configuration (which zeroes every tile).
        unsafe fn load(&self) {
            asm!("ldtilecfg [{0}]", in(reg) self.0.as_ptr(), options(nostack, readonly));
        }
    }

    /// Every block of lanes × every block of outputs, into `out`; see the module's doc. Two
    /// blocks of lanes go with two blocks of outputs at a time (four accumulators); a last odd
    /// block of lanes goes with four blocks of outputs. Outputs past `n` (the weights are padded
    /// with zeros to a multiple of four blocks) and lanes past `lanes` are never written. Per
    /// stretch, the four accumulators take three tile products each, in an order that loads
    /// eight tiles for twelve products: `x_hi·w_lo`, then `x_hi·w_hi`, then `x_lo·w_hi`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn products(
        tiles: &Tiles,
        x_hi: &[u16],
        x_lo: &[u16],
        lanes: usize,
        base: Option<&[f32]>,
        out: &mut [f32],
    ) {
        let n = tiles.n;
        let stretches = tiles.stretches;
        let mut sums = [0f32; 4 * ROWS * ROWS];
        let mut loaded: Option<(usize, usize)> = None;
        let lane_blocks = lanes.div_ceil(ROWS);
        let output_blocks = n.div_ceil(ROWS);
        for first_lanes in (0..lane_blocks).step_by(2) {
            let a0 = first_lanes * stretches * TILE;
            let rows = |block: usize| (lanes - block * ROWS).min(ROWS);
            if first_lanes + 1 == lane_blocks {
                if loaded != Some((rows(first_lanes), 0)) {
                    Config::single(rows(first_lanes)).load();
                    loaded = Some((rows(first_lanes), 0));
                }
                // One block of lanes left: four blocks of outputs at a time.
                for first_outputs in (0..output_blocks).step_by(4) {
                    four_outputs(tiles, x_hi, x_lo, a0, first_outputs);
                    store_accumulators(&mut sums);
                    for (tile, sum) in sums.chunks_exact(ROWS * ROWS).enumerate() {
                        write_sums(sum, first_lanes, first_outputs + tile, lanes, n, base, out);
                    }
                }
                continue;
            }
            let a1 = a0 + stretches * TILE;
            let pair = (rows(first_lanes), rows(first_lanes + 1));
            if loaded != Some(pair) {
                Config::pair(pair.0, pair.1).load();
                loaded = Some(pair);
            }
            for first_outputs in (0..output_blocks).step_by(2) {
                two_by_two(tiles, x_hi, x_lo, [a0, a1], first_outputs);
                store_accumulators(&mut sums);
                // Accumulator `2 · lane half + output half`.
                for (tile, sum) in sums.chunks_exact(ROWS * ROWS).enumerate() {
                    let (lane_block, output_block) =
                        (first_lanes + tile / 2, first_outputs + tile % 2);
                    write_sums(sum, lane_block, output_block, lanes, n, base, out);
                }
            }
        }
        asm!("tilerelease", options(nostack, nomem));
    }

    /// Stores accumulator tiles 0–3 into `sums`, one after another, rows of 16 floats.
    unsafe fn store_accumulators(sums: &mut [f32; 4 * ROWS * ROWS]) {
        asm!(
            "tilestored [{p} + {st}*1], tmm0",
            "tilestored [{p} + {st}*1 + 1024], tmm1",
            "tilestored [{p} + {st}*1 + 2048], tmm2",
            "tilestored [{p} + {st}*1 + 3072], tmm3",
            p = in(reg) sums.as_mut_ptr(),
            st = in(reg) ROWS * 4,
            options(nostack),
        );
    }

    /// Splits `x[lanes, k]` into tiles (see [`Tiles::product`]), zero past the lanes and inputs.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) unsafe fn split_inputs(
        x: &[f32],
        lanes: usize,
        k: usize,
        stretches: usize,
        x_hi: &mut [u16],
        x_lo: &mut [u16],
    ) {
        // Tile by tile: lane block `b`, stretch `s` at `(b · stretches + s) · TILE`, 16
        // rows of 32 inputs.
        x_hi.fill(0);
        x_lo.fill(0);
        for lane in 0..lanes {
            let (block, row) = (lane / ROWS, lane % ROWS);
            for (stretch, values) in x[lane * k..(lane + 1) * k].chunks(STRETCH).enumerate() {
                let at = (block * stretches + stretch) * TILE + row * STRETCH;
                for ((h, l), &value) in x_hi[at..at + values.len()]
                    .iter_mut()
                    .zip(&mut x_lo[at..at + values.len()])
                    .zip(values)
                {
                    (*h, *l) = split(value);
                }
            }
        }
    }

    /// Zeroes accumulator tiles 0–3.
    unsafe fn zero_accumulators() {
        asm!(
            "tilezero tmm0",
            "tilezero tmm1",
            "tilezero tmm2",
            "tilezero tmm3",
            options(nostack, nomem)
        );
    }

    /// Tiles 0–3 = two lane blocks (inputs at `a[0]`, `a[1]`) × output blocks `first`,
    /// `first + 1`, summed over every stretch.
    unsafe fn two_by_two(tiles: &Tiles, x_hi: &[u16], x_lo: &[u16], a: [usize; 2], first: usize) {
        let stretches = tiles.stretches;
        zero_accumulators();
        for stretch in 0..stretches {
            let w0 = (first * stretches + stretch) * TILE;
            let w1 = w0 + stretches * TILE;
            let x = stretch * TILE;
            asm!(
                "tileloadd tmm4, [{a0h} + {s}*1]",
                "tileloadd tmm5, [{a1h} + {s}*1]",
                "tileloadd tmm6, [{w0l} + {s}*1]",
                "tileloadd tmm7, [{w1l} + {s}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "tdpbf16ps tmm2, tmm5, tmm6",
                "tdpbf16ps tmm3, tmm5, tmm7",
                "tileloadd tmm6, [{w0h} + {s}*1]",
                "tileloadd tmm7, [{w1h} + {s}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "tdpbf16ps tmm2, tmm5, tmm6",
                "tdpbf16ps tmm3, tmm5, tmm7",
                "tileloadd tmm4, [{a0l} + {s}*1]",
                "tileloadd tmm5, [{a1l} + {s}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "tdpbf16ps tmm2, tmm5, tmm6",
                "tdpbf16ps tmm3, tmm5, tmm7",
                a0h = in(reg) x_hi.as_ptr().add(a[0] + x),
                a1h = in(reg) x_hi.as_ptr().add(a[1] + x),
                a0l = in(reg) x_lo.as_ptr().add(a[0] + x),
                a1l = in(reg) x_lo.as_ptr().add(a[1] + x),
                w0h = in(reg) tiles.hi.as_ptr().add(w0),
                w1h = in(reg) tiles.hi.as_ptr().add(w1),
                w0l = in(reg) tiles.lo.as_ptr().add(w0),
                w1l = in(reg) tiles.lo.as_ptr().add(w1),
                s = in(reg) 2 * STRETCH,
                options(nostack, readonly),
            );
        }
    }

    /// Tiles 0–3 = one lane block (inputs at `a`) × output blocks `first .. first + 4`,
    /// summed over every stretch.
    unsafe fn four_outputs(tiles: &Tiles, x_hi: &[u16], x_lo: &[u16], a: usize, first: usize) {
        let stretches = tiles.stretches;
        zero_accumulators();
        for stretch in 0..stretches {
            let w = (first * stretches + stretch) * TILE;
            let step = stretches * TILE;
            let x = stretch * TILE;
            let (hi, lo) = (tiles.hi.as_ptr(), tiles.lo.as_ptr());
            asm!(
                "tileloadd tmm4, [{ah} + {s}*1]",
                "tileloadd tmm5, [{al} + {s}*1]",
                "tileloadd tmm6, [{wl0} + {s}*1]",
                "tileloadd tmm7, [{wl1} + {s}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "tileloadd tmm6, [{wh0} + {s}*1]",
                "tileloadd tmm7, [{wh1} + {s}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "tdpbf16ps tmm0, tmm5, tmm6",
                "tdpbf16ps tmm1, tmm5, tmm7",
                "tileloadd tmm6, [{wl2} + {s}*1]",
                "tileloadd tmm7, [{wl3} + {s}*1]",
                "tdpbf16ps tmm2, tmm4, tmm6",
                "tdpbf16ps tmm3, tmm4, tmm7",
                "tileloadd tmm6, [{wh2} + {s}*1]",
                "tileloadd tmm7, [{wh3} + {s}*1]",
                "tdpbf16ps tmm2, tmm4, tmm6",
                "tdpbf16ps tmm3, tmm4, tmm7",
                "tdpbf16ps tmm2, tmm5, tmm6",
                "tdpbf16ps tmm3, tmm5, tmm7",
                ah = in(reg) x_hi.as_ptr().add(a + x),
                al = in(reg) x_lo.as_ptr().add(a + x),
                wh0 = in(reg) hi.add(w),
                wh1 = in(reg) hi.add(w + step),
                wh2 = in(reg) hi.add(w + 2 * step),
                wh3 = in(reg) hi.add(w + 3 * step),
                wl0 = in(reg) lo.add(w),
                wl1 = in(reg) lo.add(w + step),
                wl2 = in(reg) lo.add(w + 2 * step),
                wl3 = in(reg) lo.add(w + 3 * step),
                s = in(reg) 2 * STRETCH,
                options(nostack, readonly),
            );
        }
    }

    /// Adds one accumulator tile's sums (lane block × output block) into `out`, or writes
    /// them over `base`, for the lanes and outputs that exist.
    #[inline(always)]
    fn write_sums(
        sum: &[f32],
        lane_block: usize,
        output_block: usize,
        lanes: usize,
        n: usize,
        base: Option<&[f32]>,
        out: &mut [f32],
    ) {
        let (lane0, output0) = (lane_block * ROWS, output_block * ROWS);
        if lane0 >= lanes || output0 >= n {
            return;
        }
        let columns = (n - output0).min(ROWS);
        for row in 0..ROWS.min(lanes - lane0) {
            let lane = lane0 + row;
            let sum = &sum[row * ROWS..][..columns];
            let target = &mut out[lane * n + output0..][..columns];
            match base {
                Some(base) => {
                    for ((o, s), b) in target.iter_mut().zip(sum).zip(&base[output0..]) {
                        *o = b + s;
                    }
                }
                None => {
                    for (o, s) in target.iter_mut().zip(sum) {
                        *o += s;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(count: usize, seed: usize) -> Vec<f32> {
        (0..count)
            .map(|i| ((((i * 7919 + seed * 104_729) % 2003) as f32) / 2003.0 - 0.5) * 0.8)
            .collect()
    }

    fn plain(x: &[f32], w: &[f32], lanes: usize, k: usize, n: usize) -> Vec<f64> {
        let mut out = vec![0f64; lanes * n];
        for lane in 0..lanes {
            for o in 0..n {
                out[lane * n + o] = (0..k)
                    .map(|i| f64::from(x[lane * k + i]) * f64::from(w[o * k + i]))
                    .sum();
            }
        }
        out
    }

    #[test]
    fn a_split_keeps_sixteen_bits() {
        for value in [1.0f32, -0.3, 1e-3, 12_345.678, 0.1, -7.77e-5] {
            let (hi, lo) = split(value);
            let back = f32::from_bits(u32::from(hi) << 16) + f32::from_bits(u32::from(lo) << 16);
            assert!(
                ((back - value) / value).abs() < 2f32.powi(-17),
                "{value} → {back}"
            );
        }
        assert_eq!(bf16_bits(1.0), 0x3F80);
    }

    /// The products timed: the seed's `WindowLstm` layers at 16 to 100 lanes.
    const TIMED_SHAPES: [(usize, usize, usize); 6] = [
        (16, 256, 1024),
        (32, 256, 1024),
        (50, 256, 1024),
        (100, 256, 1024),
        (50, 512, 1024),
        (100, 320, 1024),
    ];

    /// Whether this CPU has the tiles; says so when it does not.
    fn tiles_here() -> bool {
        let here = Tiles::available();
        if !here {
            eprintln!("no AMX tiles on this CPU: nothing to run");
        }
        here
    }

    #[test]
    fn tile_products_match_the_plain_sums() {
        if !tiles_here() {
            return;
        }
        for (lanes, k, n) in [
            (1, 5, 3),
            (16, 32, 16),
            (17, 40, 33),
            (50, 320, 1024),
            (100, 256, 256),
            (33, 0, 7),
        ] {
            let (w, x) = (values(n * k, 1), values(lanes * k, 2));
            let tiles = Tiles::new(&w, n, k);
            let expected = plain(&x, &w, lanes, k, n);
            let mut added = vec![0.25f32; lanes * n + 3];
            tiles.add_product(&x, lanes, &mut added);
            let base: Vec<f32> = (0..n).map(|i| i as f32 * 0.01).collect();
            let mut set = vec![f32::NAN; lanes * n + 3];
            tiles.set_product(&x, lanes, &base, &mut set);
            let mut worst = 0f64;
            for (i, e) in expected.iter().enumerate() {
                worst = worst
                    .max((f64::from(added[i]) - 0.25 - e).abs())
                    .max((f64::from(set[i]) - f64::from(base[i % n]) - e).abs());
            }
            assert!(
                worst < 1e-4,
                "{lanes} × {k} → {n}: largest difference {worst}"
            );
            assert!(
                added[lanes * n..].iter().all(|&v| v == 0.25),
                "written past the lanes"
            );
            assert!(
                set[lanes * n..].iter().all(|v| v.is_nan()),
                "written past the lanes"
            );
        }
    }

    #[test]
    #[ignore = "a timing, not a check: cargo test --release --lib tiles -- --ignored --nocapture"]
    fn time_tiles_against_panels() {
        use super::super::panels::{tests::print_rates, Panels};
        if !tiles_here() {
            return;
        }
        for (lanes, k, n) in TIMED_SHAPES {
            let (w, x) = (values(n * k, 1), values(lanes * k, 2));
            let (tiles, panels) = (Tiles::new(&w, n, k), Panels::new(&w, n, k));
            let (mut on_tiles, mut on_panels) = (vec![0f32; lanes * n], vec![0f32; lanes * n]);
            print_rates(
                (lanes, k, n),
                1000,
                || tiles.add_product(&x, lanes, &mut on_tiles),
                || panels.add_product(&x, lanes, &mut on_panels),
            );
        }
    }
}

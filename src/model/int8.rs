//! Int8 matrix products for the encoder's dense layers.
//!
//! `y += x · Wᵀ` with `W` quantized once, at load, to int8 with one scale per
//! output row (the form the shipped weights are stored in), and `x`
//! quantized on every call, one row (token) at a time, to unsigned 8-bit
//! values with a scale and a zero point of its own. Products are summed in
//! i32 and turned back into f32 once per output:
//!
//! ```text
//! x[r,k] ≈ sx[r] · (qx[r,k] − zx[r])      W[o,k] = sw[o] · qw[o,k]
//! y[r,o] += sx[r] · sw[o] · (Σₖ qx[r,k]·qw[o,k] − zx[r] · Σₖ qw[o,k])
//! ```
//!
//! By default (`split`) each activation takes two bytes: the high byte as
//! above and, in a second product with the same weights, the high byte's
//! rounding error in 255 levels. With 16 bits an activation the results are
//! those of the f32 path within rounding (the ANERcorp, Wojood and AQMAR
//! entities all identical); one byte is about a fifth faster and changes
//! about 0.7% of the entities.
//!
//! Every kernel gives the same integers, so a tagger's output does not
//! depend on the processor: AMX (`tdpbusd` on tiles, through inline
//! assembly) and the VNNI kernels (`vpdpbusd`) sum four u8 × i8 products
//! into i32 directly; AVX2's `vpmaddubsw` adds two of them in a saturating
//! i16, so the AVX2 kernel splits each activation into its top bit and its
//! low seven bits, two sums that cannot saturate. (Seven-bit activations
//! would have spared the split, at 0.3 F1 on ANERcorp.)
//!
//! Weights are packed in panels of [`NR`] outputs: for every group of four
//! inputs, the four bytes of each of the panel's outputs one after another,
//! which is the operand layout of `vpdpbusd` (16 outputs a 512-bit
//! register, 8 a 256-bit one) and, with a stride of `NR · 4` bytes, of an
//! AMX weight tile. Inputs are padded to a multiple of 64 (an AMX tile's
//! depth) and outputs to a multiple of [`NR`] with zero weights.

use rayon::prelude::*;

/// Outputs a weight panel holds.
const NR: usize = 32;
/// Largest quantized activation: 8 bits.
const ACT_MAX: f32 = 255.0;
/// Levels of the low byte across one step of the high byte.
const LOW_LEVELS: f32 = 255.0;
/// Zero point of the low byte.
const LOW_ZERO: i32 = 128;
/// Rows of `x` a parallel task takes: enough tiles to reuse each weight
/// panel while it is in cache.
const CHUNK_ROWS: usize = 64;
/// Groups of four inputs a kernel call covers: a weight block of
/// `KC4 · NR · 4` bytes (16 KiB) stays in the L1 cache while every tile of
/// a chunk runs over it.
const KC4: usize = 128;

/// A weight matrix `[out, in]` in int8, packed for the kernels.
pub struct Int8Matrix {
    in_dim: usize,
    out_dim: usize,
    /// Groups of four inputs (`in_dim` rounded up to a multiple of 64).
    k4: usize,
    /// Panels of `k4 · NR · 4` bytes (i8 values), `out_dim / NR` rounded up.
    packed: Vec<i8>,
    /// Scale of each output row (padded outputs: 0).
    scale: Vec<f32>,
    /// `Σₖ qw[o,k]` of each output row, for the activations' zero points.
    sum: Vec<i32>,
}

impl Int8Matrix {
    /// Quantizes `weight` (`[out, in]`, row-major) with one symmetric scale a
    /// row: `max |w| / 127`. Weights that were stored as int8 with per-row
    /// scales come back exactly as stored.
    pub fn quantize(weight: &[f32], out_dim: usize, in_dim: usize) -> Self {
        assert_eq!(weight.len(), out_dim * in_dim, "weight shape");
        // Whole groups of 64 inputs: the depth of an AMX tile product.
        let k4 = in_dim.div_ceil(64) * 16;
        let panels = out_dim.div_ceil(NR);
        let mut packed = vec![0i8; panels * k4 * NR * 4];
        let mut scale = vec![0f32; panels * NR];
        let mut sum = vec![0i32; panels * NR];
        for (o, row) in weight.chunks_exact(in_dim.max(1)).enumerate().take(out_dim) {
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let s = if max > 0.0 { max / 127.0 } else { 1.0 };
            let (panel, lane) = (o / NR, o % NR);
            let base = panel * k4 * NR * 4;
            let mut total = 0i32;
            for (k, &v) in row.iter().enumerate() {
                let q = (v / s).round().clamp(-127.0, 127.0) as i8;
                packed[base + (k / 4) * NR * 4 + lane * 4 + k % 4] = q;
                total += q as i32;
            }
            scale[o] = s;
            sum[o] = total;
        }
        Int8Matrix {
            in_dim,
            out_dim,
            k4,
            packed,
            scale,
            sum,
        }
    }

    /// `y += x · Wᵀ` for `x` `[rows, in]` and `y` `[rows, out]`; rows are
    /// shared out among rayon's threads when `parallel`.
    ///
    /// With `split`, each activation is quantized in two bytes: the high
    /// byte as above, and the low byte the rounding error of the high one
    /// in 255 levels, in a second product. That is 16 bits of precision for
    /// about a third more time: results within rounding of the f32 path.
    pub fn accumulate(&self, x: &[f32], y: &mut [f32], parallel: bool, split: bool) {
        self.accumulate_with(Kernel::detect(), x, y, parallel, split)
    }

    /// [`Int8Matrix::accumulate`] with a given kernel, which must be one of
    /// [`Kernel::available`].
    pub fn accumulate_with(
        &self,
        kernel: Kernel,
        x: &[f32],
        y: &mut [f32],
        parallel: bool,
        split: bool,
    ) {
        assert!(kernel.is_available(), "{kernel:?} is not available here");
        let rows = x.len() / self.in_dim.max(1);
        assert_eq!(x.len(), rows * self.in_dim, "input shape");
        assert_eq!(y.len(), rows * self.out_dim, "output shape");
        if rows == 0 || self.out_dim == 0 {
            return;
        }
        let in_chunk = CHUNK_ROWS * self.in_dim;
        let out_chunk = CHUNK_ROWS * self.out_dim;
        let run = |(x, y): (&[f32], &mut [f32])| {
            // Buffers kept per thread: fresh ones for every chunk cost the
            // kernel a page clearing each time.
            let mut bufs = BUFFERS.with(|b| b.take());
            let (high, low) =
                QuantizedRows::new(x, self.in_dim, self.k4, kernel.rows(), split, &mut bufs);
            self.product(kernel, &high, low.as_ref(), y, &mut bufs);
            bufs.high = high.data;
            if let Some(low) = low {
                bufs.low = low.data;
            }
            BUFFERS.with(|b| b.set(bufs));
        };
        if parallel && rows > CHUNK_ROWS {
            x.par_chunks(in_chunk)
                .zip(y.par_chunks_mut(out_chunk))
                .for_each(run);
        } else {
            x.chunks(in_chunk)
                .zip(y.chunks_mut(out_chunk))
                .for_each(run);
        }
    }

    /// Adds the product of the quantized rows `high` (and `low`, the
    /// low bytes of the same activations) to `y`, a weight panel at a time.
    fn product(
        &self,
        kernel: Kernel,
        high: &QuantizedRows,
        low: Option<&QuantizedRows>,
        y: &mut [f32],
        bufs: &mut Buffers,
    ) {
        let rows = high.rows.div_ceil(kernel.rows()) * kernel.rows();
        let Buffers { acc, acc_low, .. } = bufs;
        acc.resize(rows * NR, 0);
        acc_low.resize(if low.is_some() { rows * NR } else { 0 }, 0);
        let (acc, acc_low) = (&mut acc[..rows * NR], &mut acc_low[..]);
        #[cfg(target_arch = "x86_64")]
        if kernel == Kernel::Amx {
            // SAFETY: AMX is available and enabled for this process (the
            // kernel is only chosen then); the configuration describes the
            // eight 16 × 64-byte tiles `amx::tile` uses.
            unsafe { amx::configure() };
        }
        for (p, panel) in self.packed.chunks_exact(self.k4 * NR * 4).enumerate() {
            self.panel_sums(kernel, high, panel, acc);
            if let Some(low) = low {
                self.panel_sums(kernel, low, panel, &mut acc_low[..rows * NR]);
            }
            let o0 = p * NR;
            let width = NR.min(self.out_dim - o0);
            let panel = Panel {
                first: o0,
                width,
                scale: &self.scale[o0..o0 + width],
                sum: &self.sum[o0..o0 + width],
            };
            let acc_low = if low.is_some() {
                &acc_low[..rows * NR]
            } else {
                &[][..]
            };
            scale_into(y, self.out_dim, acc, acc_low, &panel, high);
        }
    }

    /// `acc[r, j] = Σₖ q[r, k] · panel[k, j]` for every row of `q` (rows
    /// padded to the kernel's tile height).
    fn panel_sums(&self, kernel: Kernel, q: &QuantizedRows, panel: &[i8], acc: &mut [i32]) {
        acc.fill(0);
        let mr = kernel.rows();
        let tiles = q.rows.div_ceil(mr);
        #[cfg(target_arch = "x86_64")]
        if kernel == Kernel::Amx {
            for t in 0..tiles {
                // SAFETY: `product` configured the tiles on this thread;
                // rows t·32..t·32+32 of `q` exist (padded) with `stride =
                // 4 · k4` bytes, a multiple of 64; the panel holds `k4`
                // groups of NR · 4 bytes; `acc` has 32 · NR values from
                // t · 32 · NR.
                unsafe {
                    amx::tile(
                        q.data.as_ptr().add(t * 32 * q.stride),
                        q.stride,
                        panel.as_ptr(),
                        self.k4 / 16,
                        acc.as_mut_ptr().add(t * 32 * NR),
                    )
                };
            }
            return;
        }
        for k0 in (0..self.k4).step_by(KC4) {
            let kn = KC4.min(self.k4 - k0);
            let block = &panel[k0 * NR * 4..(k0 + kn) * NR * 4];
            for t in 0..tiles {
                let r0 = t * mr;
                let n = mr.min(q.rows - r0);
                kernel.tile(q, r0, n, k0, block, &mut acc[r0 * NR..(r0 + mr) * NR]);
            }
        }
    }
}

/// Buffers of one chunk's product, kept per thread between calls.
#[derive(Default)]
struct Buffers {
    high: Vec<u8>,
    low: Vec<u8>,
    acc: Vec<i32>,
    acc_low: Vec<i32>,
}

thread_local! {
    static BUFFERS: std::cell::Cell<Buffers> = std::cell::Cell::default();
}

/// Rows of activations quantized to `0..=255`, each padded with zeros to
/// `4 · k4` values.
struct QuantizedRows {
    rows: usize,
    stride: usize,
    data: Vec<u8>,
    scale: Vec<f32>,
    zero: Vec<i32>,
}

impl QuantizedRows {
    /// Quantizes `x`, with zero rows up to a multiple of `pad_rows`; with
    /// `split`, also the rounding errors, as rows of their own.
    fn new(
        x: &[f32],
        in_dim: usize,
        k4: usize,
        pad_rows: usize,
        split: bool,
        bufs: &mut Buffers,
    ) -> (Self, Option<Self>) {
        let rows = x.len() / in_dim;
        let stride = k4 * 4;
        let len = rows.div_ceil(pad_rows) * pad_rows * stride;
        let take = |v: &mut Vec<u8>, len: usize| {
            let mut v = std::mem::take(v);
            v.clear();
            v.resize(len, 0);
            v
        };
        let mut data = take(&mut bufs.high, len);
        let mut low = take(&mut bufs.low, if split { len } else { 0 });
        let mut scale = Vec::with_capacity(rows);
        let mut zero = Vec::with_capacity(rows);
        for (i, row) in x.chunks_exact(in_dim).enumerate() {
            let at = i * stride..i * stride + in_dim;
            let low = if split {
                &mut low[at.clone()]
            } else {
                &mut [][..]
            };
            let (s, z) = quantize_row(row, &mut data[at], low);
            scale.push(s);
            zero.push(z);
        }
        // Padding inputs meet zero weights: whatever they hold adds nothing.
        // The low rows' scale and zero point follow from the high rows'
        // (s / LOW_LEVELS, LOW_ZERO), which is how `scale_into` reads them.
        let low = split.then(|| QuantizedRows {
            rows,
            stride,
            data: low,
            scale: Vec::new(),
            zero: Vec::new(),
        });
        let high = QuantizedRows {
            rows,
            stride,
            data,
            scale,
            zero,
        };
        (high, low)
    }

    /// Pointers to `n` rows from `r0`, the last repeated up to `MAX_MR` so a
    /// kernel can always run its full height
    /// (from input group `k0` on).
    fn row_ptrs(&self, r0: usize, n: usize, k0: usize) -> [*const u8; MAX_MR] {
        let at = |r: usize| self.data[r * self.stride + k0 * 4..].as_ptr();
        let mut p = [at(r0 + n - 1); MAX_MR];
        for (i, slot) in p.iter_mut().enumerate().take(n) {
            *slot = at(r0 + i);
        }
        p
    }
}

use super::simd::dispatch;

dispatch! {
    /// Quantizes one row into `out` (and, unless `low` is empty, its
    /// rounding errors into `low`); returns its scale and zero point.
    fn quantize_row(row: &[f32], out: &mut [u8], low: &mut [u8]) -> (f32, i32) = quantize_row_impl
}

/// The outputs of one weight panel, for turning its sums back into f32.
struct Panel<'a> {
    first: usize,
    width: usize,
    scale: &'a [f32],
    sum: &'a [i32],
}

dispatch! {
    /// `y[r, o] += sx[r] · sw[o] · (acc[r, o] − zx[r] · Σw[o])` over the
    /// panel's outputs, plus the low bytes' sums (`low`, unless empty) at
    /// 1/255 of the scale: the sums of a panel back to f32, added to `y`
    /// (`[rows, out_dim]`).
    fn scale_into(y: &mut [f32], out_dim: usize, acc: &[i32], low: &[i32], p: &Panel, q: &QuantizedRows) = scale_into_impl
}

#[inline(always)]
fn scale_into_impl(
    y: &mut [f32],
    out_dim: usize,
    acc: &[i32],
    low: &[i32],
    p: &Panel,
    q: &QuantizedRows,
) {
    let w = p.width;
    let (sw, sums) = (&p.scale[..w], &p.sum[..w]);
    for r in 0..q.rows {
        let (sx, zx) = (q.scale[r], q.zero[r]);
        let out = &mut y[r * out_dim + p.first..][..w];
        let acc = &acc[r * NR..][..w];
        if low.is_empty() {
            for j in 0..w {
                out[j] += sx * sw[j] * (acc[j] - zx * sums[j]) as f32;
            }
        } else {
            let low = &low[r * NR..][..w];
            for j in 0..w {
                let high = (acc[j] - zx * sums[j]) as f32;
                let low = (low[j] - LOW_ZERO * sums[j]) as f32;
                out[j] += sx * sw[j] * (high + low * (1.0 / LOW_LEVELS));
            }
        }
    }
}

/// Branch-free, so that it vectorizes: rounding by adding 2²³ (which
/// leaves the rounded value in the low mantissa bits).
#[inline(always)]
fn quantize_row_impl(row: &[f32], out: &mut [u8], low: &mut [u8]) -> (f32, i32) {
    // The range always holds 0, so the zero point is a whole level and a
    // constant row is exact.
    let (lo, hi) = super::simd::min_max(row);
    let s = if hi > lo { (hi - lo) / ACT_MAX } else { 1.0 };
    let inv = 1.0 / s;
    let z = (-lo * inv).round().clamp(0.0, ACT_MAX);
    let byte = |t: f32| {
        let t = if t > 0.0 { t } else { 0.0 };
        let t = if t < ACT_MAX { t } else { ACT_MAX };
        // 2²³ + t rounds t to an integer, left in the low mantissa bits.
        ((t + 8_388_608.0).to_bits() & 0xff) as u8
    };
    if low.is_empty() {
        for (q, &v) in out.iter_mut().zip(row) {
            *q = byte(v * inv + z);
        }
    } else {
        // The rounding error t − q lies in [−½, ½]: 255 of it, around 128,
        // is the low byte (its scale is s / 255, its zero point 128).
        for ((q, l), &v) in out.iter_mut().zip(low.iter_mut()).zip(row) {
            let t = v * inv + z;
            let b = byte(t);
            *q = b;
            *l = byte((t - b as f32) * LOW_LEVELS + LOW_ZERO as f32);
        }
    }
    (s, z as i32)
}

/// Tallest tile any kernel computes.
const MAX_MR: usize = 8;

/// The integer kernel for this processor: the same sums whichever it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Any processor: plain loops.
    Portable,
    /// x86-64 with AVX2: `vpmaddubsw` + `vpmaddwd`.
    Avx2,
    /// x86-64 with AVX-VNNI: `vpdpbusd` on 256-bit registers.
    AvxVnni,
    /// x86-64 with AVX-512 VNNI: `vpdpbusd` on 512-bit registers.
    Avx512Vnni,
    /// x86-64 with AMX-INT8 (enabled by the operating system): `tdpbusd`
    /// on 16 × 64-byte tiles.
    Amx,
}

impl Kernel {
    /// The fastest kernel this processor runs.
    pub fn detect() -> Kernel {
        static DETECTED: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
        *DETECTED.get_or_init(|| *Kernel::available().last().unwrap_or(&Kernel::Portable))
    }

    /// Every kernel this processor runs, the portable one first.
    pub fn available() -> Vec<Kernel> {
        [
            Kernel::Portable,
            Kernel::Avx2,
            Kernel::AvxVnni,
            Kernel::Avx512Vnni,
            Kernel::Amx,
        ]
        .into_iter()
        .filter(|k| k.is_available())
        .collect()
    }

    /// Whether this processor runs the kernel.
    pub fn is_available(self) -> bool {
        use super::simd::{has_avx2, has_avx512, level, Level};
        match self {
            Kernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => has_avx2(),
            #[cfg(target_arch = "x86_64")]
            Kernel::AvxVnni => has_avx2() && is_x86_feature_detected!("avxvnni"),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => has_avx512() && is_x86_feature_detected!("avx512vnni"),
            #[cfg(target_arch = "x86_64")]
            Kernel::Amx => level() == Level::All && amx::enabled(),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// Rows of a tile.
    fn rows(self) -> usize {
        match self {
            Kernel::Amx => 32,
            Kernel::Avx512Vnni => 8,
            Kernel::AvxVnni | Kernel::Avx2 => 6,
            Kernel::Portable => 4,
        }
    }

    /// `tile[i·NR + j] += Σₖ q[r0+i, k0+k] · block[k, j]` for `i < n`, over
    /// the input groups of `block` (a slice of a panel from group `k0`);
    /// `tile` holds this kernel's [`rows`](Self::rows) rows.
    fn tile(
        self,
        q: &QuantizedRows,
        r0: usize,
        n: usize,
        k0: usize,
        block: &[i8],
        tile: &mut [i32],
    ) {
        let kn = block.len() / (NR * 4);
        assert!(n >= 1 && n <= self.rows() && tile.len() == self.rows() * NR);
        assert!(block.len() == kn * NR * 4 && (k0 + kn) * 4 <= q.stride);
        let a = q.row_ptrs(r0, n, k0);
        let (b, t) = (block.as_ptr(), tile.as_mut_ptr());
        match self {
            Kernel::Portable => portable::tile(&a, n, block, kn, tile),
            // SAFETY (all three): the kernel is available (checked by
            // `accumulate_with`); each row pointer addresses `4 · kn` bytes,
            // the block `kn · NR · 4` and the tile `rows · NR` values (the
            // asserts above).
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => unsafe { x86::tile_avx512vnni(&a, b, kn, t) },
            #[cfg(target_arch = "x86_64")]
            Kernel::AvxVnni => unsafe { x86::tile_avxvnni(&a, b, kn, t) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { x86::tile_avx2(&a, b, kn, t) },
            // Whole panels go through `product_amx`, never tile by tile.
            #[cfg(target_arch = "x86_64")]
            Kernel::Amx => unreachable!("AMX runs whole panels"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => portable::tile(&a, n, block, kn, tile),
        }
    }
}

mod portable {
    use super::{MAX_MR, NR};

    pub(super) fn tile(
        a: &[*const u8; MAX_MR],
        n: usize,
        block: &[i8],
        kn: usize,
        tile: &mut [i32],
    ) {
        for (i, &row) in a.iter().enumerate().take(n) {
            // SAFETY: each row pointer addresses `4 · kn` bytes.
            let row = unsafe { std::slice::from_raw_parts(row, kn * 4) };
            let acc = &mut tile[i * NR..(i + 1) * NR];
            for (xs, ws) in row.chunks_exact(4).zip(block.chunks_exact(NR * 4)) {
                for (j, w) in ws.chunks_exact(4).enumerate() {
                    acc[j] += xs[0] as i32 * w[0] as i32
                        + xs[1] as i32 * w[1] as i32
                        + xs[2] as i32 * w[2] as i32
                        + xs[3] as i32 * w[3] as i32;
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{MAX_MR, NR};

    /// Four bytes of a row as one i32 lane value, to broadcast.
    #[inline(always)]
    unsafe fn quad(row: *const u8, k: usize) -> i32 {
        (row.add(k * 4) as *const i32).read_unaligned()
    }

    /// 8 rows × 32 outputs: 16 accumulators of 16 lanes, added to `tile`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn tile_avx512vnni(
        a: &[*const u8; MAX_MR],
        b: *const i8,
        k4: usize,
        tile: *mut i32,
    ) {
        const MR: usize = 8;
        let mut acc = [[_mm512_setzero_si512(); 2]; MR];
        for (r, acc) in acc.iter_mut().enumerate() {
            let at = tile.add(r * NR);
            acc[0] = _mm512_loadu_si512(at as *const _);
            acc[1] = _mm512_loadu_si512(at.add(16) as *const _);
        }
        for k in 0..k4 {
            let w = b.add(k * NR * 4);
            let w0 = _mm512_loadu_si512(w as *const _);
            let w1 = _mm512_loadu_si512(w.add(64) as *const _);
            for (acc, &row) in acc.iter_mut().zip(a) {
                let x = _mm512_set1_epi32(quad(row, k));
                acc[0] = _mm512_dpbusd_epi32(acc[0], x, w0);
                acc[1] = _mm512_dpbusd_epi32(acc[1], x, w1);
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let out = tile.add(r * NR);
            _mm512_storeu_si512(out as *mut _, acc[0]);
            _mm512_storeu_si512(out.add(16) as *mut _, acc[1]);
        }
    }

    /// 6 rows × 32 outputs, in two halves of 16: 12 accumulators of 8 lanes,
    /// added to `tile`; `dot(acc, x, w)` adds the four-byte dot products of
    /// each lane. Inlined into each caller, which compiles it with its own
    /// instructions.
    #[inline(always)]
    unsafe fn tile_256(
        a: &[*const u8; MAX_MR],
        b: *const i8,
        k4: usize,
        tile: *mut i32,
        dot: impl Fn(__m256i, __m256i, __m256i) -> __m256i,
    ) {
        const MR: usize = 6;
        for half in 0..2 {
            let mut acc = [[_mm256_setzero_si256(); 2]; MR];
            for (r, acc) in acc.iter_mut().enumerate() {
                let at = tile.add(r * NR + half * 16);
                acc[0] = _mm256_loadu_si256(at as *const _);
                acc[1] = _mm256_loadu_si256(at.add(8) as *const _);
            }
            for k in 0..k4 {
                let w = b.add(k * NR * 4 + half * 64);
                let w0 = _mm256_loadu_si256(w as *const _);
                let w1 = _mm256_loadu_si256(w.add(32) as *const _);
                for (acc, &row) in acc.iter_mut().zip(a) {
                    let x = _mm256_set1_epi32(quad(row, k));
                    acc[0] = dot(acc[0], x, w0);
                    acc[1] = dot(acc[1], x, w1);
                }
            }
            for (r, acc) in acc.iter().enumerate() {
                let out = tile.add(r * NR + half * 16);
                _mm256_storeu_si256(out as *mut _, acc[0]);
                _mm256_storeu_si256(out.add(8) as *mut _, acc[1]);
            }
        }
    }

    /// [`tile_256`] with `vpdpbusd`.
    #[target_feature(enable = "avx2,avxvnni")]
    pub(super) unsafe fn tile_avxvnni(
        a: &[*const u8; MAX_MR],
        b: *const i8,
        k4: usize,
        tile: *mut i32,
    ) {
        tile_256(a, b, k4, tile, |acc, x, w| {
            _mm256_dpbusd_avx_epi32(acc, x, w)
        })
    }

    /// [`tile_256`] with `vpmaddubsw` (pairs into i16) and `vpmaddwd` (pairs
    /// into i32). Each activation byte is split into its top bit (0 or 128)
    /// and its low seven bits, so that neither pair sum can pass
    /// `i16::MAX`: 2 · 128 · 127 and 2 · 127 · 127.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn tile_avx2(
        a: &[*const u8; MAX_MR],
        b: *const i8,
        k4: usize,
        tile: *mut i32,
    ) {
        let ones = _mm256_set1_epi16(1);
        let top = _mm256_set1_epi8(0x80u8 as i8);
        let low = _mm256_set1_epi8(0x7f);
        tile_256(a, b, k4, tile, |acc, x, w| {
            let (xh, xl) = (_mm256_and_si256(x, top), _mm256_and_si256(x, low));
            let high = _mm256_madd_epi16(_mm256_maddubs_epi16(xh, w), ones);
            let low = _mm256_madd_epi16(_mm256_maddubs_epi16(xl, w), ones);
            _mm256_add_epi32(acc, _mm256_add_epi32(high, low))
        })
    }
}

/// AMX through inline assembly (its intrinsics are not stable Rust).
#[cfg(target_arch = "x86_64")]
mod amx {
    use std::arch::asm;
    use std::arch::x86_64::__cpuid_count;
    use std::sync::OnceLock;

    use super::NR;

    /// Whether the processor has AMX-TILE and AMX-INT8 and the operating
    /// system lets this process use them (Linux asks each process to
    /// request the tile state first).
    pub(super) fn enabled() -> bool {
        static ENABLED: OnceLock<bool> = OnceLock::new();
        *ENABLED.get_or_init(|| {
            // CPUID leaf 7 exists on every x86-64 that has AMX; on others
            // its bits read 0.
            let leaf7 = __cpuid_count(7, 0);
            let (tile, int8) = (leaf7.edx & (1 << 24) != 0, leaf7.edx & (1 << 25) != 0);
            tile && int8 && request_tile_state()
        })
    }

    #[cfg(target_os = "linux")]
    fn request_tile_state() -> bool {
        const SYS_ARCH_PRCTL: usize = 158;
        const ARCH_REQ_XCOMP_PERM: usize = 0x1023;
        const XFEATURE_XTILEDATA: usize = 18;
        let ret: isize;
        // SAFETY: arch_prctl(ARCH_REQ_XCOMP_PERM) only changes this
        // process's permissions; the syscall clobbers rcx and r11.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") SYS_ARCH_PRCTL as isize => ret,
                in("rdi") ARCH_REQ_XCOMP_PERM,
                in("rsi") XFEATURE_XTILEDATA,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        ret == 0
    }

    #[cfg(not(target_os = "linux"))]
    fn request_tile_state() -> bool {
        false
    }

    /// The tile configuration: palette 1, eight tiles of 16 rows × 64 bytes.
    #[repr(C, align(64))]
    struct Config {
        palette: u8,
        start_row: u8,
        reserved: [u8; 14],
        colsb: [u16; 16],
        rows: [u8; 16],
    }

    /// Loads the tile configuration on this thread (each call: another
    /// library on the thread may have changed it).
    ///
    /// # Safety
    /// AMX must be [`enabled`].
    pub(super) unsafe fn configure() {
        let mut cfg = Config {
            palette: 1,
            start_row: 0,
            reserved: [0; 14],
            colsb: [0; 16],
            rows: [0; 16],
        };
        for t in 0..8 {
            cfg.colsb[t] = 64;
            cfg.rows[t] = 16;
        }
        asm!("ldtilecfg [{0}]", in(reg) &cfg as *const Config, options(nostack));
    }

    /// `c[32 × NR] = a[32 rows × 64·k64 bytes] · panel` in i32: tiles 0–3
    /// hold the four 16 × 16 blocks of sums, 4–5 two blocks of 16 rows of
    /// activations, 6–7 the panel's two halves of 16 outputs (each tile row
    /// the four bytes of 16 outputs: the panel's own layout, with a stride
    /// of NR · 4 bytes).
    ///
    /// # Safety
    /// [`configure`] ran on this thread; `a` addresses 32 rows of
    /// `stride ≥ 64 · k64` bytes, `panel` `16 · k64` groups of NR · 4 bytes
    /// and `c` 32 · NR values.
    pub(super) unsafe fn tile(
        a: *const u8,
        stride: usize,
        panel: *const i8,
        k64: usize,
        c: *mut i32,
    ) {
        const ROW: usize = NR * 4;
        asm!(
            "tilezero tmm0",
            "tilezero tmm1",
            "tilezero tmm2",
            "tilezero tmm3",
            options(nostack)
        );
        for k in 0..k64 {
            let a0 = a.add(k * 64);
            let b0 = panel.add(k * 16 * ROW);
            asm!(
                "tileloadd tmm4, [{a0} + {sa}*1]",
                "tileloadd tmm5, [{a1} + {sa}*1]",
                "tileloadd tmm6, [{b0} + {sb}*1]",
                "tileloadd tmm7, [{b1} + {sb}*1]",
                "tdpbusd tmm0, tmm4, tmm6",
                "tdpbusd tmm1, tmm4, tmm7",
                "tdpbusd tmm2, tmm5, tmm6",
                "tdpbusd tmm3, tmm5, tmm7",
                a0 = in(reg) a0,
                a1 = in(reg) a0.add(16 * stride),
                sa = in(reg) stride,
                b0 = in(reg) b0,
                b1 = in(reg) b0.add(64),
                sb = in(reg) ROW,
                options(nostack, readonly),
            );
        }
        asm!(
            "tilestored [{c0} + {sc}*1], tmm0",
            "tilestored [{c1} + {sc}*1], tmm1",
            "tilestored [{c2} + {sc}*1], tmm2",
            "tilestored [{c3} + {sc}*1], tmm3",
            c0 = in(reg) c,
            c1 = in(reg) c.add(16),
            c2 = in(reg) c.add(16 * NR),
            c3 = in(reg) c.add(16 * NR + 16),
            sc = in(reg) ROW,
            options(nostack),
        );
    }
}

#[cfg(test)]
mod tests;

//! f32 matrix products on AVX-512.
//!
//! The `gemm` crate, which candle and the rest of this crate use, runs its
//! f32 kernels on 256-bit vectors on stable Rust; on a processor with two
//! 512-bit FMA units that is half the arithmetic it could do. Training
//! spends most of its time in these products, so this is the classic
//! packed product (Goto's): `B` packed whole, in blocks of 256 terms, into
//! panels 32 columns wide, `A` a block at a time into panels 12 rows tall,
//! and a 12 × 32 kernel that keeps its 24 sums in registers. Tasks take
//! blocks of rows times groups of panels, many more than threads so that
//! the threads end together; every element sums its `k` terms in the same
//! order whatever the split, so results repeat exactly.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use std::cell::RefCell;

use rayon::prelude::*;

/// Rows of a kernel tile.
const MR: usize = 12;
/// Columns of a kernel tile (two 16-lane vectors).
const NR: usize = 32;
/// Depth of a packed block.
const KC: usize = 256;
/// Rows a thread packs and runs at a time.
const MC: usize = 8 * MR;

/// A strided matrix: element `(i, j)` at `ptr + i * rs + j * cs`.
#[derive(Clone, Copy)]
pub struct Strided {
    pub ptr: *const f32,
    pub rs: usize,
    pub cs: usize,
}

// SAFETY: only read, and the caller keeps the data alive for the call.
unsafe impl Send for Strided {}
unsafe impl Sync for Strided {}

#[derive(Clone, Copy)]
struct Out(*mut f32);
// SAFETY: each task writes its own rows.
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

impl Out {
    /// The element `off` places on (a method, so closures capture the
    /// whole `Send` wrapper rather than its raw pointer).
    fn at(&self, off: usize) -> *mut f32 {
        self.0.wrapping_add(off)
    }
}

/// Whether [`product`] runs here.
pub fn available() -> bool {
    crate::model::simd::has_avx512()
}

/// `c = alpha · a·b` (`add`: `c += alpha · a·b`) for `a` `m × k`, `b`
/// `k × n` and `c` `m × n` with row stride `ldc` (columns contiguous).
///
/// # Safety
/// [`available`] is true, every element the views name is readable, `c`'s
/// `m` rows of `n` are writable and overlap neither input.
#[allow(clippy::too_many_arguments)]
pub unsafe fn product(
    m: usize,
    n: usize,
    k: usize,
    a: Strided,
    b: Strided,
    c: *mut f32,
    ldc: usize,
    add: bool,
    alpha: f32,
    parallel: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    let panels = n.div_ceil(NR);
    // Rounds of KC terms; a product over no terms still runs one (empty)
    // round, which writes `c` (or leaves it, when adding).
    let rounds = k.div_ceil(KC).max(1);
    let kc_of = |r: usize| KC.min(k - (r * KC).min(k));
    // Tasks: blocks of MC rows times groups of panels, enough of them that
    // the threads end together; each runs all its rounds in order, so an
    // element's sum does not depend on the split.
    let row_blocks = m.div_ceil(MC);
    let threads = if parallel {
        rayon::current_num_threads()
    } else {
        1
    };
    let groups = if threads > 1 {
        (16 * threads).div_ceil(row_blocks).clamp(1, panels)
    } else {
        1
    };
    let per_group = panels.div_ceil(groups);
    let groups = panels.div_ceil(per_group);
    with_buffer(&PACKED_B, panels * NR * k.max(1), |packed_b| {
        // B whole, round after round, panel after panel.
        let mut regions = Vec::with_capacity(rounds);
        let mut rest = &mut packed_b[..];
        for r in 0..rounds {
            let (region, tail) = rest.split_at_mut(panels * NR * kc_of(r));
            regions.push((r, region));
            rest = tail;
        }
        let pack = |(r, region): (usize, &mut [f32])| {
            let kc = kc_of(r);
            if kc > 0 {
                for (p, panel) in region.chunks_exact_mut(NR * kc).enumerate() {
                    pack_b(b, r * KC, kc, p * NR, NR.min(n - p * NR), panel);
                }
            }
        };
        if threads > 1 && panels * k >= 64 * KC {
            regions.into_par_iter().for_each(pack);
        } else {
            regions.into_iter().for_each(pack);
        }
        let packed_b = &*packed_b;
        let c = Out(c);
        let run = |task: usize| {
            let (block, group) = (task / groups, task % groups);
            let r0 = block * MC;
            let mc = MC.min(m - r0);
            let first_panel = group * per_group;
            let last_panel = panels.min(first_panel + per_group);
            with_buffer(
                &PACKED_A,
                mc.div_ceil(MR) * MR * KC.min(k.max(1)),
                |packed_a| {
                    for r in 0..rounds {
                        let (k0, kc) = (r * KC, kc_of(r));
                        let packed_a = &mut packed_a[..mc.div_ceil(MR) * MR * kc];
                        if kc > 0 {
                            pack_a(a, r0, mc, k0, kc, packed_a);
                        }
                        let round = &packed_b[k0 * panels * NR..];
                        let keep = add || r > 0;
                        for p in first_panel..last_panel {
                            let c0 = p * NR;
                            let cols = NR.min(n - c0);
                            let bp = &round[p * NR * kc..(p + 1) * NR * kc];
                            for t in 0..mc.div_ceil(MR) {
                                let rows = MR.min(mc - t * MR);
                                let ap = &packed_a[t * MR * kc..(t + 1) * MR * kc];
                                let dst = c.at((r0 + t * MR) * ldc + c0);
                                tile(kc, ap, bp, dst, ldc, rows, cols, alpha, keep);
                            }
                        }
                    }
                },
            );
        };
        let tasks = row_blocks * groups;
        if threads > 1 && tasks > 1 {
            (0..tasks).into_par_iter().for_each(run);
        } else {
            (0..tasks).for_each(run);
        }
    });
}

thread_local! {
    /// Packing space kept from call to call: a fresh allocation of a
    /// megabyte each product would cost page faults and zeroing.
    static PACKED_B: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static PACKED_A: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on `len` values of this thread's `buffer` (contents undefined:
/// the packers write every value they hand on).
fn with_buffer<R>(
    buffer: &'static std::thread::LocalKey<RefCell<Vec<f32>>>,
    len: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    buffer.with(|cell| match cell.try_borrow_mut() {
        Ok(mut v) => {
            if v.len() < len {
                v.resize(len, 0.0);
            }
            f(&mut v[..len])
        }
        // In use further up this thread's stack: a buffer of its own.
        Err(_) => f(&mut vec![0.0; len]),
    })
}

/// `B[k0..k0+kc, c0..c0+cols]` as one panel, `kc × NR`, zero-padded.
unsafe fn pack_b(b: Strided, k0: usize, kc: usize, c0: usize, cols: usize, panel: &mut [f32]) {
    for kk in 0..kc {
        let row = &mut panel[kk * NR..(kk + 1) * NR];
        let src = b.ptr.add((k0 + kk) * b.rs + c0 * b.cs);
        if b.cs == 1 {
            std::ptr::copy_nonoverlapping(src, row.as_mut_ptr(), cols);
        } else {
            for (j, v) in row.iter_mut().enumerate().take(cols) {
                *v = *src.add(j * b.cs);
            }
        }
        row[cols..].fill(0.0);
    }
}

/// `A[r0..r0+mc, k0..k0+kc]` as panels of `MR` rows, each `kc × MR`, zero-padded.
unsafe fn pack_a(a: Strided, r0: usize, mc: usize, k0: usize, kc: usize, out: &mut [f32]) {
    for (t, panel) in out.chunks_exact_mut(MR * kc).enumerate() {
        let i0 = r0 + t * MR;
        let rows = MR.min(r0 + mc - i0);
        for kk in 0..kc {
            let col = &mut panel[kk * MR..(kk + 1) * MR];
            let src = a.ptr.add(i0 * a.rs + (k0 + kk) * a.cs);
            if a.rs == 1 {
                std::ptr::copy_nonoverlapping(src, col.as_mut_ptr(), rows);
            } else {
                for (i, v) in col.iter_mut().enumerate().take(rows) {
                    *v = *src.add(i * a.rs);
                }
            }
            col[rows..].fill(0.0);
        }
    }
}

/// One tile: the kernel straight into `c` when whole, else through a buffer.
#[allow(clippy::too_many_arguments)]
unsafe fn tile(
    kc: usize,
    a: &[f32],
    b: &[f32],
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
    alpha: f32,
    keep: bool,
) {
    if rows == MR && cols == NR {
        kernel(kc, a.as_ptr(), b.as_ptr(), c, ldc, alpha, keep);
        return;
    }
    let mut buf = [0f32; MR * NR];
    kernel(
        kc,
        a.as_ptr(),
        b.as_ptr(),
        buf.as_mut_ptr(),
        NR,
        alpha,
        false,
    );
    for i in 0..rows {
        let dst = c.add(i * ldc);
        for j in 0..cols {
            let v = buf[i * NR + j];
            *dst.add(j) = if keep { *dst.add(j) + v } else { v };
        }
    }
}

/// `c[12 × 32] (+)= alpha · a·b` over `kc` terms, packed operands.
#[target_feature(enable = "avx512f")]
unsafe fn kernel(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    alpha: f32,
    keep: bool,
) {
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    for p in 0..kc {
        let b0 = _mm512_loadu_ps(b.add(p * NR));
        let b1 = _mm512_loadu_ps(b.add(p * NR + 16));
        let ap = a.add(p * MR);
        for (i, row) in acc.iter_mut().enumerate() {
            let av = _mm512_set1_ps(*ap.add(i));
            row[0] = _mm512_fmadd_ps(av, b0, row[0]);
            row[1] = _mm512_fmadd_ps(av, b1, row[1]);
        }
    }
    let al = _mm512_set1_ps(alpha);
    for (i, row) in acc.iter().enumerate() {
        let dst = c.add(i * ldc);
        for (h, &v) in row.iter().enumerate() {
            let mut v = _mm512_mul_ps(v, al);
            if keep {
                v = _mm512_add_ps(v, _mm512_loadu_ps(dst.add(h * 16)));
            }
            _mm512_storeu_ps(dst.add(h * 16), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(
        m: usize,
        n: usize,
        k: usize,
        a: &[f32],
        (ars, acs): (usize, usize),
        b: &[f32],
        (brs, bcs): (usize, usize),
    ) -> Vec<f64> {
        let mut c = vec![0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    c[i * n + j] += a[i * ars + p * acs] as f64 * b[p * brs + j * bcs] as f64;
                }
            }
        }
        c
    }

    #[test]
    fn products_match_a_plain_sum_on_odd_shapes_strides_and_depths() {
        if !available() {
            return;
        }
        let mut rng = crate::model::bert::Dropout::new(9);
        let mut rand = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
                .collect()
        };
        for &(m, n, k) in &[
            (1, 1, 1),
            (12, 32, 5),
            (13, 33, 257),
            (100, 70, 600),
            (200, 31, 0),
            (97, 129, 300),
        ] {
            let a = rand(m * k.max(1));
            let b = rand(k.max(1) * n);
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let sa = if ta { (1, m) } else { (k, 1) };
                let sb = if tb { (1, k) } else { (n, 1) };
                let want = naive(m, n, k, &a, sa, &b, sb);
                for (add, parallel) in [(false, false), (true, true)] {
                    let ldc = n + 3;
                    let mut c = vec![1f32; m * ldc];
                    // SAFETY: the strides describe a and b within their lengths; c holds m rows of ldc.
                    unsafe {
                        product(
                            m,
                            n,
                            k,
                            Strided {
                                ptr: a.as_ptr(),
                                rs: sa.0,
                                cs: sa.1,
                            },
                            Strided {
                                ptr: b.as_ptr(),
                                rs: sb.0,
                                cs: sb.1,
                            },
                            c.as_mut_ptr(),
                            ldc,
                            add,
                            0.5,
                            parallel,
                        );
                    }
                    for i in 0..m {
                        for j in 0..n {
                            let w = 0.5 * want[i * n + j] + if add { 1.0 } else { 0.0 };
                            let got = c[i * ldc + j] as f64;
                            assert!(
                                (got - w).abs() < 1e-4 * (1.0 + w.abs()),
                                "{m}x{n}x{k} {ta} {tb} {add}: ({i},{j}) {got} vs {w}"
                            );
                        }
                        for j in n..ldc {
                            assert_eq!(c[i * ldc + j], 1.0, "wrote past the row");
                        }
                    }
                }
            }
        }
    }
}

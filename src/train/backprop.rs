//! The pieces of a hand-written backward pass: matrix products on strided
//! views, layer norm, activations, dropout masks and softmax, each with its
//! gradient. Rows are shared out among rayon's threads in fixed chunks, and
//! every sum runs in a fixed order, so a step gives the same numbers on any
//! number of threads and a resumed run repeats an uninterrupted one.

use gemm::{gemm, Parallelism};
use rayon::prelude::*;

use crate::model::bert::Dropout;
use crate::model::config::Activation;
use crate::model::packed::kernels::{erf, exp, sum_of};
use crate::model::sgemm;
use crate::model::simd::dispatch;

/// Rows a parallel task takes at a time.
const ROWS_PER_TASK: usize = 16;

/// A matrix view: element `(i, j)` at `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a> View<'a> {
    /// `rows × cols` stored row after row.
    pub(crate) fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::block(data, rows, cols, cols, 0)
    }

    /// Columns `first..first + cols` of a matrix with `ld` columns.
    pub(crate) fn block(
        data: &'a [f32],
        rows: usize,
        cols: usize,
        ld: usize,
        first: usize,
    ) -> Self {
        let v = View {
            data: &data[first.min(data.len())..],
            rows,
            cols,
            rs: ld,
            cs: 1,
        };
        v.check();
        v
    }

    /// The transpose (no copy).
    pub(crate) fn t(self) -> Self {
        View {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    fn check(&self) {
        if self.rows > 0 && self.cols > 0 {
            let last = (self.rows - 1) * self.rs + (self.cols - 1) * self.cs;
            assert!(last < self.data.len(), "matrix view out of bounds");
        }
    }
}

/// A mutable matrix view, row-major with leading dimension `rs`.
pub(crate) struct ViewMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    rs: usize,
}

impl<'a> ViewMut<'a> {
    pub(crate) fn new(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self::block(data, rows, cols, cols, 0)
    }

    pub(crate) fn block(
        data: &'a mut [f32],
        rows: usize,
        cols: usize,
        ld: usize,
        first: usize,
    ) -> Self {
        let start = first.min(data.len());
        let data = &mut data[start..];
        if rows > 0 && cols > 0 {
            assert!(
                (rows - 1) * ld + cols <= data.len(),
                "matrix view out of bounds"
            );
        }
        ViewMut {
            data,
            rows,
            cols,
            rs: ld,
        }
    }
}

/// Whether products may use every thread of the pool.
#[derive(Clone, Copy)]
pub(crate) enum Par {
    All,
    One,
}

/// `out = a·b` (`add`: `out += a·b`), scaled by `alpha`.
pub(crate) fn matmul(out: ViewMut, a: View, b: View, add: bool, alpha: f32, par: Par) {
    assert!(
        a.rows == out.rows && b.cols == out.cols && a.cols == b.rows,
        "product shapes"
    );
    if out.rows == 0 || out.cols == 0 {
        return;
    }
    if a.cols == 0 {
        if !add {
            for r in 0..out.rows {
                out.data[r * out.rs..r * out.rs + out.cols].fill(0.0);
            }
        }
        return;
    }
    let threads = rayon::current_num_threads();
    if sgemm::available() && matches!(par, Par::All) && out.rows >= 12 && out.cols >= 16 {
        let strided = |v: View| sgemm::Strided {
            ptr: v.data.as_ptr(),
            rs: v.rs,
            cs: v.cs,
        };
        // SAFETY: the views were checked to lie inside their slices, `out`
        // is borrowed mutably (so it aliases neither input) and holds
        // `rows` rows of `cols` at stride `rs`.
        unsafe {
            sgemm::product(
                out.rows,
                out.cols,
                a.cols,
                strided(a),
                strided(b),
                out.data.as_mut_ptr(),
                out.rs,
                add,
                alpha,
                matches!(par, Par::All) && threads > 1,
            )
        };
        return;
    }
    let parallelism = match (par, threads) {
        (Par::All, n) if n > 1 => Parallelism::Rayon(n),
        _ => Parallelism::None,
    };
    // SAFETY: every view was checked to lie inside its slice, and `out` is
    // borrowed mutably, so it aliases neither input.
    unsafe {
        gemm(
            out.rows,
            out.cols,
            a.cols,
            out.data.as_mut_ptr(),
            1,
            out.rs as isize,
            add,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            if add { 1.0 } else { 0.0 },
            alpha,
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// `y = x·Wᵀ + b` for `x` `[rows, in]`, `w` `[out, in]`.
pub(crate) fn linear(x: &[f32], w: &[f32], b: &[f32], y: &mut [f32]) {
    let (out, inp) = (b.len(), w.len() / b.len().max(1));
    let rows = x.len() / inp.max(1);
    if out > 0 {
        y.par_chunks_mut(out * ROWS_PER_TASK).for_each(|rows| {
            for row in rows.chunks_exact_mut(out) {
                row.copy_from_slice(b);
            }
        });
    }
    matmul(
        ViewMut::new(y, rows, out),
        View::new(x, rows, inp),
        View::new(w, out, inp).t(),
        true,
        1.0,
        Par::All,
    );
}

/// Gradients of [`linear`] with `out` outputs: `dw += dyᵀ·x` and
/// `db += Σ dy` when the layer is trained (`grads`), and `dx = dy·W` (added
/// to `dx` when its flag is set) when the input needs one.
pub(crate) fn linear_backward(
    dy: &[f32],
    x: &[f32],
    w: &[f32],
    out: usize,
    grads: Option<(&mut [f32], &mut [f32])>,
    dx: Option<(&mut [f32], bool)>,
) {
    let inp = w.len() / out;
    let rows = dy.len() / out;
    if let Some((dw, db)) = grads {
        matmul(
            ViewMut::new(dw, out, inp),
            View::new(dy, rows, out).t(),
            View::new(x, rows, inp),
            true,
            1.0,
            Par::All,
        );
        add_column_sums(dy, db);
    }
    if let Some((dx, add)) = dx {
        matmul(
            ViewMut::new(dx, rows, inp),
            View::new(dy, rows, out),
            View::new(w, out, inp),
            add,
            1.0,
            Par::All,
        );
    }
}

/// Rows a parallel column sum takes at a time. The partial sums are added
/// in chunk order, so the result does not depend on the number of threads.
const SUM_ROWS: usize = 64;

/// Partial sums of `width` values over each chunk of `SUM_ROWS` of `rows`
/// rows (`f` adds rows `range` into its slice), in chunk order.
fn chunk_sums(
    rows: usize,
    width: usize,
    f: impl Fn(std::ops::Range<usize>, &mut [f32]) + Sync,
) -> Vec<Vec<f32>> {
    (0..rows.div_ceil(SUM_ROWS))
        .into_par_iter()
        .map(|c| {
            let mut s = vec![0f32; width];
            f(c * SUM_ROWS..rows.min((c + 1) * SUM_ROWS), &mut s);
            s
        })
        .collect()
}

/// Sum of each column of `x` (`rows × cols`) added into `acc`.
pub(crate) fn add_column_sums(x: &[f32], acc: &mut [f32]) {
    let cols = acc.len();
    if cols == 0 {
        return;
    }
    let partial = chunk_sums(x.len() / cols, cols, |rows, s| {
        for row in x[rows.start * cols..rows.end * cols].chunks_exact(cols) {
            for (a, v) in s.iter_mut().zip(row) {
                *a += v;
            }
        }
    });
    for s in partial {
        for (a, v) in acc.iter_mut().zip(&s) {
            *a += v;
        }
    }
}

/// `dw += Σ dy·x̂` and `db += Σ dy` over the rows (as [`add_column_sums`]).
fn add_norm_grads(dy: &[f32], xhat: &[f32], dw: &mut [f32], db: &mut [f32]) {
    let h = dw.len();
    let partial = chunk_sums(dy.len() / h.max(1), 2 * h, |rows, s| {
        let (sw, sb) = s.split_at_mut(h);
        let span = rows.start * h..rows.end * h;
        for (dy, xh) in dy[span.clone()]
            .chunks_exact(h)
            .zip(xhat[span].chunks_exact(h))
        {
            for j in 0..h {
                sw[j] += dy[j] * xh[j];
                sb[j] += dy[j];
            }
        }
    });
    for s in partial {
        let (sw, sb) = s.split_at(h);
        for (a, v) in dw.iter_mut().zip(sw) {
            *a += v;
        }
        for (a, v) in db.iter_mut().zip(sb) {
            *a += v;
        }
    }
}

/// Layer norm of each row of `x` into `y`, keeping the normalized values
/// and each row's inverse deviation for the backward pass.
pub(crate) fn layer_norm(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    eps: f32,
    y: &mut [f32],
    xhat: &mut [f32],
    rstd: &mut [f32],
) {
    let h = w.len();
    y.par_chunks_mut(h * ROWS_PER_TASK)
        .zip(xhat.par_chunks_mut(h * ROWS_PER_TASK))
        .zip(rstd.par_chunks_mut(ROWS_PER_TASK))
        .zip(x.par_chunks(h * ROWS_PER_TASK))
        .for_each(|(((y, xhat), rstd), x)| {
            for (((y, xh), r), x) in y
                .chunks_exact_mut(h)
                .zip(xhat.chunks_exact_mut(h))
                .zip(rstd.iter_mut())
                .zip(x.chunks_exact(h))
            {
                let mean = sum_of(x, |v| v) / h as f32;
                for (xh, &v) in xh.iter_mut().zip(x) {
                    *xh = v - mean;
                }
                let var = sum_of(xh, |v| v * v);
                let inv = 1.0 / (var / h as f32 + eps).sqrt();
                *r = inv;
                for (((y, xh), w), b) in y.iter_mut().zip(xh.iter_mut()).zip(w).zip(b) {
                    *xh *= inv;
                    *y = *xh * w + b;
                }
            }
        });
}

/// Gradient of [`layer_norm`]: `dx` from `dy` (added to `dx` when `add`),
/// and `dw += Σ dy·x̂`, `db += Σ dy` when the norm is trained.
pub(crate) fn layer_norm_backward(
    dy: &[f32],
    xhat: &[f32],
    rstd: &[f32],
    w: &[f32],
    grads: Option<(&mut [f32], &mut [f32])>,
    dx: &mut [f32],
    add: bool,
) {
    let h = w.len();
    if let Some((dw, db)) = grads {
        add_norm_grads(dy, xhat, dw, db);
    }
    dx.par_chunks_mut(h * ROWS_PER_TASK)
        .zip(dy.par_chunks(h * ROWS_PER_TASK))
        .zip(xhat.par_chunks(h * ROWS_PER_TASK))
        .zip(rstd.par_chunks(ROWS_PER_TASK))
        .for_each(|(((dx, dy), xhat), rstd)| {
            for (((dx, dy), xh), &r) in dx
                .chunks_exact_mut(h)
                .zip(dy.chunks_exact(h))
                .zip(xhat.chunks_exact(h))
                .zip(rstd)
            {
                // dx = r · (g − mean(g) − x̂ · mean(g·x̂)) with g = dy·w.
                let mut mg = 0.0;
                let mut mgx = 0.0;
                for j in 0..h {
                    let g = dy[j] * w[j];
                    mg += g;
                    mgx += g * xh[j];
                }
                mg /= h as f32;
                mgx /= h as f32;
                for j in 0..h {
                    let v = r * (dy[j] * w[j] - mg - xh[j] * mgx);
                    if add {
                        dx[j] += v;
                    } else {
                        dx[j] = v;
                    }
                }
            }
        });
}

/// The activation of every value of `x` into `y`.
pub(crate) fn activate(x: &[f32], y: &mut [f32], act: Activation) {
    y.par_chunks_mut(4096)
        .zip(x.par_chunks(4096))
        .for_each(|(y, x)| activate_chunk(x, y, act));
}

/// `dx = dy · act'(x)`, in place in `dy`.
pub(crate) fn activate_backward(x: &[f32], dy: &mut [f32], act: Activation) {
    dy.par_chunks_mut(4096)
        .zip(x.par_chunks(4096))
        .for_each(|(dy, x)| activate_backward_chunk(x, dy, act));
}

dispatch! {
    fn activate_chunk(x: &[f32], y: &mut [f32], act: Activation) = activate_chunk_impl
}
dispatch! {
    fn activate_backward_chunk(x: &[f32], dy: &mut [f32], act: Activation) = activate_backward_chunk_impl
}

#[inline(always)]
fn activate_chunk_impl(x: &[f32], y: &mut [f32], act: Activation) {
    for (y, &v) in y.iter_mut().zip(x) {
        *y = match act {
            Activation::Gelu => 0.5 * v * (1.0 + erf(v * std::f32::consts::FRAC_1_SQRT_2)),
            Activation::GeluTanh => {
                let u = 0.797_884_6 * (v + 0.044_715 * v * v * v);
                0.5 * v * (1.0 + tanh(u))
            }
            Activation::Relu => v.max(0.0),
        };
    }
}

#[inline(always)]
fn activate_backward_chunk_impl(x: &[f32], dy: &mut [f32], act: Activation) {
    for (d, &v) in dy.iter_mut().zip(x) {
        let slope = match act {
            Activation::Gelu => {
                let cdf = 0.5 * (1.0 + erf(v * std::f32::consts::FRAC_1_SQRT_2));
                let pdf = 0.398_942_3 * exp(-0.5 * v * v);
                cdf + v * pdf
            }
            Activation::GeluTanh => {
                let u = 0.797_884_6 * (v + 0.044_715 * v * v * v);
                let t = tanh(u);
                let du = 0.797_884_6 * (1.0 + 3.0 * 0.044_715 * v * v);
                0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * du
            }
            Activation::Relu => (v > 0.0) as u8 as f32,
        };
        *d *= slope;
    }
}

#[inline(always)]
fn tanh(u: f32) -> f32 {
    1.0 - 2.0 / (exp(2.0 * u) + 1.0)
}

/// Dropout masks: `keep[i]` is 1 where a value stays (then scaled by
/// `1 / (1 − p)`). Row `r` draws from its own stream of `seed`, so rows can
/// be drawn on any thread.
pub(crate) fn draw_mask(keep: &mut [u8], row_len: usize, p: f32, seed: u64) {
    keep.par_chunks_mut(row_len * ROWS_PER_TASK)
        .enumerate()
        .for_each(|(c, rows)| {
            for (r, row) in rows.chunks_mut(row_len).enumerate() {
                draw(row, p, stream_seed(seed, (c * ROWS_PER_TASK + r) as u64));
            }
        });
}

/// One stream's dropout mask (see [`draw_mask`]).
pub(crate) fn draw(keep: &mut [u8], p: f32, seed: u64) {
    let threshold = (p as f64 * u32::MAX as f64) as u32;
    let mut rng = Dropout::new(seed);
    for k in keep.iter_mut() {
        *k = ((rng.next_u64() >> 32) as u32 >= threshold) as u8;
    }
}

/// An independent stream seed for item `i` of a draw seeded `seed`.
pub(crate) fn stream_seed(seed: u64, i: u64) -> u64 {
    seed ^ i.wrapping_add(1).wrapping_mul(0xD6E8_FEB8_6659_FD93)
}

/// `x *= mask · scale` (zero where dropped).
pub(crate) fn apply_mask(x: &mut [f32], keep: &[u8], scale: f32) {
    x.par_chunks_mut(4096)
        .zip(keep.par_chunks(4096))
        .for_each(|(x, k)| {
            for (v, &k) in x.iter_mut().zip(k) {
                *v *= k as f32 * scale;
            }
        });
}

/// Dropout then a residual sum, rows in parallel: `x = x · mask · scale +
/// residual`, drawing the mask (`keep`, rows `row_len` wide, as
/// [`draw_mask`] draws it) when `p > 0`.
pub(crate) fn dropout_add(
    x: &mut [f32],
    keep: &mut [u8],
    row_len: usize,
    p: f32,
    seed: u64,
    residual: &[f32],
) {
    let n = row_len * ROWS_PER_TASK;
    let scale = 1.0 / (1.0 - p);
    if p > 0.0 {
        x.par_chunks_mut(n)
            .zip(keep.par_chunks_mut(n))
            .zip(residual.par_chunks(n))
            .enumerate()
            .for_each(|(c, ((x, keep), res))| {
                for (r, row) in keep.chunks_mut(row_len).enumerate() {
                    draw(row, p, stream_seed(seed, (c * ROWS_PER_TASK + r) as u64));
                }
                for ((v, &k), &r) in x.iter_mut().zip(keep.iter()).zip(res) {
                    *v *= k as f32 * scale;
                    *v += r;
                }
            });
    } else {
        x.par_chunks_mut(n)
            .zip(residual.par_chunks(n))
            .for_each(|(x, res)| {
                for (v, &r) in x.iter_mut().zip(res) {
                    *v += r;
                }
            });
    }
}

/// `copy = x`, then `x *= mask · scale` when a mask is given: a gradient
/// that goes both through a residual (as it is) and a dropout.
pub(crate) fn fork_masked(x: &mut [f32], copy: &mut [f32], mask: Option<(&[u8], f32)>) {
    const CHUNK: usize = 4096;
    match mask {
        Some((keep, scale)) => x
            .par_chunks_mut(CHUNK)
            .zip(copy.par_chunks_mut(CHUNK))
            .zip(keep.par_chunks(CHUNK))
            .for_each(|((x, copy), k)| {
                for ((v, c), &k) in x.iter_mut().zip(copy.iter_mut()).zip(k) {
                    *c = *v;
                    *v *= k as f32 * scale;
                }
            }),
        None => x
            .par_chunks_mut(CHUNK)
            .zip(copy.par_chunks_mut(CHUNK))
            .for_each(|(x, copy)| copy.copy_from_slice(x)),
    }
}

/// Softmax of each row (`n` wide) of `x` scaled by `scale`, in place.
pub(crate) fn softmax_rows(x: &mut [f32], n: usize, scale: f32) {
    for row in x.chunks_exact_mut(n) {
        crate::model::packed::kernels::softmax(row, scale);
    }
}

/// Gradient of a row softmax `p`: `ds = p · (dp − Σ dp·p)`, in place in `dp`.
pub(crate) fn softmax_rows_backward(p: &[f32], dp: &mut [f32], n: usize) {
    for (p, d) in p.chunks_exact(n).zip(dp.chunks_exact_mut(n)) {
        let dot: f32 = p.iter().zip(d.iter()).map(|(a, b)| a * b).sum();
        for (d, &p) in d.iter_mut().zip(p) {
            *d = p * (*d - dot);
        }
    }
}

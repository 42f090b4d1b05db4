use super::*;

/// Deterministic values in [-1, 1) (a xorshift generator).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// `x · Wᵀ` in f64.
fn reference(x: &[f32], w: &[f32], in_dim: usize, out_dim: usize) -> Vec<f64> {
    let rows = x.len() / in_dim;
    let mut y = vec![0f64; rows * out_dim];
    for r in 0..rows {
        for o in 0..out_dim {
            y[r * out_dim + o] = (0..in_dim)
                .map(|k| x[r * in_dim + k] as f64 * w[o * in_dim + k] as f64)
                .sum();
        }
    }
    y
}

/// Shapes that leave remainders everywhere: inputs not a multiple of four,
/// outputs not a multiple of a panel, rows not a multiple of any tile height
/// nor of a parallel chunk.
const SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (3, 5, 7),
    (7, 33, 31),
    (13, 64, 65),
    (130, 384, 96),
    (67, 1536, 40),
];

#[test]
fn every_kernel_gives_the_portable_kernels_sums() {
    for (&(rows, in_dim, out_dim), split) in SHAPES.iter().flat_map(|s| [(s, false), (s, true)]) {
        let x = values(rows * in_dim, 1 + rows as u64);
        // Outliers: activations far from the others use the whole range.
        let mut x = x;
        for v in x.iter_mut().step_by(17) {
            *v *= 40.0;
        }
        let w = values(out_dim * in_dim, 7 + out_dim as u64);
        let m = Int8Matrix::quantize(&w, out_dim, in_dim);
        let bias = values(rows * out_dim, 3);
        let mut expected = bias.clone();
        m.accumulate_with(Kernel::Portable, &x, &mut expected, false, split);
        for kernel in Kernel::available() {
            for parallel in [false, true] {
                let mut y = bias.clone();
                m.accumulate_with(kernel, &x, &mut y, parallel, split);
                assert_eq!(
                    y, expected,
                    "{kernel:?}, parallel {parallel}, split {split}, shape {rows}×{in_dim}→{out_dim}"
                );
            }
        }
    }
}

#[test]
fn the_product_is_within_the_quantization_bound() {
    for &(rows, in_dim, out_dim) in SHAPES {
        let x = values(rows * in_dim, 11 + in_dim as u64);
        let w = values(out_dim * in_dim, 5 + rows as u64);
        let m = Int8Matrix::quantize(&w, out_dim, in_dim);
        let mut y = vec![0f32; rows * out_dim];
        m.accumulate(&x, &mut y, false, false);
        let exact = reference(&x, &w, in_dim, out_dim);
        for r in 0..rows {
            let xr = &x[r * in_dim..(r + 1) * in_dim];
            let (lo, hi) = xr
                .iter()
                .fold((0f32, 0f32), |(l, h), &v| (l.min(v), h.max(v)));
            let sx = ((hi - lo) / 255.0) as f64;
            for o in 0..out_dim {
                let wr = &w[o * in_dim..(o + 1) * in_dim];
                let sw = wr.iter().fold(0f32, |m, v| m.max(v.abs())) as f64 / 127.0;
                // Each factor is off by at most half a step.
                let bound: f64 = xr
                    .iter()
                    .zip(wr)
                    .map(|(&a, &b)| {
                        sx / 2.0 * (b.abs() as f64 + sw / 2.0) + sw / 2.0 * a.abs() as f64
                    })
                    .sum::<f64>()
                    + 1e-5;
                let got = y[r * out_dim + o] as f64;
                let want = exact[r * out_dim + o];
                assert!(
                    (got - want).abs() <= bound,
                    "row {r} output {o} of {rows}×{in_dim}→{out_dim}: {got} against {want}, bound {bound}"
                );
            }
        }
    }
}

#[test]
fn weights_stored_as_int8_come_back_as_stored() {
    let (out_dim, in_dim) = (5, 9);
    let q: Vec<i8> = (0..out_dim * in_dim)
        .map(|i| ((i * 37 % 255) as i32 - 127) as i8)
        .collect();
    let scales = [0.01f32, 0.5, 3.0, 1e-4, 0.02];
    let mut w = Vec::new();
    for o in 0..out_dim {
        // Each row reaches ±127, as a row quantized with max |w| / 127 does.
        let mut row: Vec<i8> = q[o * in_dim..(o + 1) * in_dim].to_vec();
        row[o] = if o % 2 == 0 { 127 } else { -127 };
        w.extend(row.iter().map(|&v| v as f32 * scales[o]));
    }
    let m = Int8Matrix::quantize(&w, out_dim, in_dim);
    for o in 0..out_dim {
        assert!(
            (m.scale[o] - scales[o]).abs() <= scales[o] * 1e-6,
            "scale of row {o}"
        );
        for k in 0..in_dim {
            let stored = m.packed[(k / 4) * NR * 4 + o * 4 + k % 4];
            assert_eq!(
                stored as f32 * m.scale[o],
                w[o * in_dim + k],
                "row {o} column {k}"
            );
        }
    }
}

#[test]
fn zero_and_constant_rows_are_exact() {
    let (in_dim, out_dim) = (10, 3);
    let w = values(out_dim * in_dim, 9);
    let m = Int8Matrix::quantize(&w, out_dim, in_dim);
    let mut x = vec![0f32; in_dim];
    x.extend(std::iter::repeat_n(2.5f32, in_dim));
    x.extend(std::iter::repeat_n(-0.75f32, in_dim));
    let mut y = vec![1f32; 3 * out_dim];
    m.accumulate(&x, &mut y, false, false);
    // Row 0 is zero: y keeps its value. Constant rows: c · Σₖ ŵ[o,k].
    assert_eq!(&y[..out_dim], &[1.0; 3]);
    for (r, c) in [(1, 2.5f64), (2, -0.75)] {
        for o in 0..out_dim {
            let sum: f64 = (0..in_dim)
                .map(|k| {
                    let q = m.packed[(k / 4) * NR * 4 + o * 4 + k % 4] as f64;
                    q * m.scale[o] as f64
                })
                .sum();
            let got = y[r * out_dim + o] as f64 - 1.0;
            assert!(
                (got - c * sum).abs() < 1e-5,
                "row {r} output {o}: {got} against {}",
                c * sum
            );
        }
    }
}

#[test]
fn an_all_zero_weight_row_gives_nothing() {
    let w = vec![0f32; 2 * 6];
    let m = Int8Matrix::quantize(&w, 2, 6);
    let x = values(3 * 6, 4);
    let mut y = vec![0.5f32; 3 * 2];
    m.accumulate(&x, &mut y, true, true);
    assert_eq!(y, vec![0.5; 6]);
}

#[test]
fn the_largest_products_do_not_saturate() {
    // Activations at the top level (255) against weights at ±127: the case
    // where two u8 × i8 products overflow an i16.
    let in_dim = 40;
    let mut w = vec![1f32; in_dim];
    w.extend(std::iter::repeat_n(-1f32, in_dim));
    let m = Int8Matrix::quantize(&w, 2, in_dim);
    let x = vec![1f32; 3 * in_dim];
    for kernel in Kernel::available() {
        let mut y = vec![0f32; 3 * 2];
        m.accumulate_with(kernel, &x, &mut y, false, true);
        for pair in y.chunks_exact(2) {
            assert!(
                (pair[0] - in_dim as f32).abs() < 1e-3,
                "{kernel:?}: {pair:?}"
            );
            assert!(
                (pair[1] + in_dim as f32).abs() < 1e-3,
                "{kernel:?}: {pair:?}"
            );
        }
    }
}

#[test]
fn two_bytes_come_within_rounding_of_the_exact_product() {
    // With the low byte the activations carry 16 bits: the product is off
    // by about 1/255 of the one-byte bound, far below the weights' own
    // rounding (which both share, so it is not counted here).
    for &(rows, in_dim, out_dim) in SHAPES {
        let x = values(rows * in_dim, 21 + in_dim as u64);
        let w = values(out_dim * in_dim, 8 + rows as u64);
        let m = Int8Matrix::quantize(&w, out_dim, in_dim);
        // The weights as the product sees them.
        let wq: Vec<f32> = (0..out_dim * in_dim)
            .map(|i| {
                let (o, k) = (i / in_dim, i % in_dim);
                let (panel, lane) = (o / NR, o % NR);
                let at = panel * m.k4 * NR * 4 + (k / 4) * NR * 4 + lane * 4 + k % 4;
                m.packed[at] as f32 * m.scale[o]
            })
            .collect();
        let exact = reference(&x, &wq, in_dim, out_dim);
        let (mut one, mut two) = (vec![0f32; rows * out_dim], vec![0f32; rows * out_dim]);
        m.accumulate(&x, &mut one, false, false);
        m.accumulate(&x, &mut two, false, true);
        let err = |y: &[f32]| {
            y.iter()
                .zip(&exact)
                .map(|(&a, &b)| (a as f64 - b).abs())
                .fold(0f64, f64::max)
        };
        let (e1, e2) = (err(&one), err(&two));
        assert!(
            e2 <= e1 / 20.0 + 1e-5,
            "{rows}×{in_dim}→{out_dim}: one byte {e1}, two {e2}"
        );
    }
}

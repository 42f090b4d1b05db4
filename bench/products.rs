//! Matrix products on the encoder's shapes: f32 (the `gemm` crate, as the
//! f32 path runs it, and `arabic_ner::model::sgemm`, the AVX-512 product
//! training runs), candle's quantized Q8_0 product, and the int8 kernels of
//! `arabic_ner::model::int8`, one and two threads.
//!
//! ```sh
//! cargo bench --bench products
//! cargo bench --bench products -- --rows 256 --reps 20
//! ```
//!
//! Prints GFLOP/s (2·rows·in·out per product) for each shape: what the
//! dependencies already give against what the project's kernels do.

use std::time::Instant;

use arabic_ner::model::int8::{Int8Matrix, Kernel};
use arabic_ner::model::sgemm;
use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};

/// (name, in, out) of the dense layers of a 384-wide, 1536-intermediate
/// BERT layer (Q, K and V as one product).
const SHAPES: &[(&str, usize, usize)] = &[
    ("qkv", 384, 1152),
    ("attention out", 384, 384),
    ("intermediate", 384, 1536),
    ("output", 1536, 384),
];

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

/// Best of `reps` timings of `f`, in seconds.
fn best(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn f32_product(x: &[f32], w: &[f32], y: &mut [f32], rows: usize, k: usize, n: usize, par: bool) {
    let parallelism = if par {
        gemm::Parallelism::Rayon(rayon::current_num_threads())
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: strides describe x as rows × k, w as k × n (transposed) and y
    // as rows × n, within the slices.
    unsafe {
        gemm::gemm(
            rows,
            n,
            k,
            y.as_mut_ptr(),
            1,
            n as isize,
            false,
            x.as_ptr(),
            1,
            k as isize,
            w.as_ptr(),
            k as isize,
            1,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// The same product by `model::sgemm` (NaN where AVX-512 is missing).
#[allow(clippy::too_many_arguments)]
fn f32_sgemm(
    reps: usize,
    x: &[f32],
    w: &[f32],
    y: &mut [f32],
    rows: usize,
    k: usize,
    n: usize,
    par: bool,
) -> f64 {
    if !sgemm::available() {
        return f64::NAN;
    }
    best(reps, || {
        // SAFETY: AVX-512 is there; x is rows × k, w (n × k) read as its
        // transpose, y rows × n, all within the slices.
        unsafe {
            sgemm::product(
                rows,
                n,
                k,
                sgemm::Strided {
                    ptr: x.as_ptr(),
                    rs: k,
                    cs: 1,
                },
                sgemm::Strided {
                    ptr: w.as_ptr(),
                    rs: 1,
                    cs: k,
                },
                y.as_mut_ptr(),
                n,
                false,
                1.0,
                par,
            )
        }
    })
}

fn main() -> candle_core::Result<()> {
    let mut rows = 1024;
    let mut reps = 10;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rows" => rows = it.next().and_then(|v| v.parse().ok()).unwrap_or(rows),
            "--reps" => reps = it.next().and_then(|v| v.parse().ok()).unwrap_or(reps),
            _ => {}
        }
    }
    println!(
        "rows {rows}, best of {reps}; kernels here: {:?}; rayon threads {}",
        Kernel::available(),
        rayon::current_num_threads()
    );
    println!(
        "{:<14} {:>8} {:>8} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8}",
        "GFLOP/s",
        "f32 1t",
        "f32 2t",
        "sgemm 1t",
        "sgemm 2t",
        "Q8_0 2t",
        "int8 1t",
        "int8 2t",
        "int8/f32"
    );
    for &(name, k, n) in SHAPES {
        let x = values(rows * k, 1);
        let w = values(n * k, 2);
        let mut y = vec![0f32; rows * n];
        let flop = 2.0 * (rows * k * n) as f64 / 1e9;
        let f1 = flop / best(reps, || f32_product(&x, &w, &mut y, rows, k, n, false));
        let f2 = flop / best(reps, || f32_product(&x, &w, &mut y, rows, k, n, true));
        let s1 = flop / f32_sgemm(reps, &x, &w, &mut y, rows, k, n, false);
        let s2 = flop / f32_sgemm(reps, &x, &w, &mut y, rows, k, n, true);
        let wt = Tensor::from_vec(w.clone(), (n, k), &Device::Cpu)?;
        let q = QMatMul::from_qtensor(QTensor::quantize(&wt, GgmlDType::Q8_0)?)?;
        let xt = Tensor::from_vec(x.clone(), (rows, k), &Device::Cpu)?;
        let mut err = None;
        let c2 = flop
            / best(reps, || {
                if let Err(e) = q.forward(&xt) {
                    err = Some(e);
                }
            });
        if let Some(e) = err {
            return Err(e);
        }
        let m = Int8Matrix::quantize(&w, n, k);
        let i1 = flop / best(reps, || m.accumulate(&x, &mut y, false, false));
        let i2 = flop / best(reps, || m.accumulate(&x, &mut y, true, false));
        println!(
            "{name:<14} {f1:>8.1} {f2:>8.1} {s1:>9.1} {s2:>9.1} {c2:>8.1} {i1:>8.1} {i2:>8.1} {:>7.2}x",
            i2 / f2
        );
    }
    println!("\nint8 GFLOP/s of each kernel, one thread:");
    for &(name, k, n) in SHAPES {
        let x = values(rows * k, 1);
        let w = values(n * k, 2);
        let mut y = vec![0f32; rows * n];
        let flop = 2.0 * (rows * k * n) as f64 / 1e9;
        let m = Int8Matrix::quantize(&w, n, k);
        let cells: Vec<String> = Kernel::available()
            .into_iter()
            .map(|kernel| {
                let g = flop / best(reps, || m.accumulate_with(kernel, &x, &mut y, false, false));
                format!("{kernel:?} {g:.1}")
            })
            .collect();
        println!("{name:<14} {}", cells.join(", "));
    }
    Ok(())
}

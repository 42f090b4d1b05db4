//! Run-time choice of vector instructions for the inference loops.
//!
//! The elementwise loops (GELU, softmax, layer norm, quantization) are
//! plain Rust written so that they vectorize; [`dispatch!`] compiles each
//! for any x86-64, with AVX2 and FMA, and with AVX-512, and calls the
//! widest this processor runs.

/// Whether the processor runs AVX-512 F, BW and VL (the set the 512-bit
/// loops are compiled for).
#[cfg(target_arch = "x86_64")]
pub fn has_avx512() -> bool {
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vl")
}

/// Whether the processor runs AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
pub fn has_avx2() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

/// Smallest and largest value of `x` and 0, in sixteen running lanes: a
/// plain `fold` with `f32::min` keeps NaN semantics that stop the loop from
/// vectorizing.
#[inline(always)]
pub fn min_max(x: &[f32]) -> (f32, f32) {
    let (mut lo, mut hi) = ([0f32; 16], [0f32; 16]);
    let chunks = x.chunks_exact(16);
    for (i, &v) in chunks.remainder().iter().enumerate() {
        lo[i] = if v < lo[i] { v } else { lo[i] };
        hi[i] = if v > hi[i] { v } else { hi[i] };
    }
    for c in chunks {
        for i in 0..16 {
            lo[i] = if c[i] < lo[i] { c[i] } else { lo[i] };
            hi[i] = if c[i] > hi[i] { c[i] } else { hi[i] };
        }
    }
    let lo = lo.iter().fold(0f32, |m, &v| if v < m { v } else { m });
    let hi = hi.iter().fold(0f32, |m, &v| if v > m { v } else { m });
    (lo, hi)
}

/// Largest value of `x` (−∞ when empty), in sixteen running lanes.
#[inline(always)]
pub fn max(x: &[f32]) -> f32 {
    let mut hi = [f32::NEG_INFINITY; 16];
    let chunks = x.chunks_exact(16);
    for (i, &v) in chunks.remainder().iter().enumerate() {
        hi[i] = if v > hi[i] { v } else { hi[i] };
    }
    for c in chunks {
        for i in 0..16 {
            hi[i] = if c[i] > hi[i] { c[i] } else { hi[i] };
        }
    }
    hi.iter()
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
}

/// `dispatch! { /// docs  pub fn name(args) -> ret = implementation }`
/// defines `name`, which calls `implementation` (an `#[inline(always)]`
/// function with the same signature) compiled for the widest vectors the
/// processor has.
macro_rules! dispatch {
    ($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? = $imp:ident) => {
        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
                unsafe fn w512($($arg: $ty),*) $(-> $ret)? {
                    $imp($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn w256($($arg: $ty),*) $(-> $ret)? {
                    $imp($($arg),*)
                }
                if $crate::model::simd::has_avx512() {
                    // SAFETY: the features were just detected.
                    return unsafe { w512($($arg),*) };
                }
                if $crate::model::simd::has_avx2() {
                    // SAFETY: the features were just detected.
                    return unsafe { w256($($arg),*) };
                }
            }
            $imp($($arg),*)
        }
    };
}

pub(crate) use dispatch;

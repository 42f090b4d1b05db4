//! Run-time choice of vector instructions for the inference loops.
//!
//! The elementwise loops (GELU, softmax, layer norm, quantization) are
//! plain Rust written so that they vectorize; [`dispatch!`] compiles each
//! for any x86-64, with AVX2 and FMA, and with AVX-512, and calls the
//! widest this processor runs.

/// The widest instructions the inference loops and the int8 kernels may
/// use, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Plain x86-64 (or another architecture): the portable code.
    Portable,
    /// AVX2 and FMA (and AVX-VNNI for the int8 kernels).
    Avx2,
    /// AVX-512 F, BW and VL (and VNNI for the int8 kernels).
    Avx512,
    /// Everything the processor has, AMX included.
    All,
}

/// Environment variable that caps [`level`]: `portable`, `avx2`, `avx512`
/// or `all`. It lets a machine run, and the tests check, the paths a
/// smaller processor would take.
pub const LEVEL_VAR: &str = "ARABIC_NER_SIMD";

/// The cap set by [`LEVEL_VAR`] (read once; an unknown value is ignored
/// with a warning on standard error).
pub fn level() -> Level {
    static LEVEL: std::sync::OnceLock<Level> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| match std::env::var(LEVEL_VAR).as_deref() {
        Err(_) | Ok("") | Ok("all") => Level::All,
        Ok("portable") => Level::Portable,
        Ok("avx2") => Level::Avx2,
        Ok("avx512") => Level::Avx512,
        Ok(other) => {
            eprintln!(
                "warning: {LEVEL_VAR}={other:?} is not one of portable, avx2, avx512, all; ignored"
            );
            Level::All
        }
    })
}

/// Whether the processor runs AVX-512 F, BW and VL (the set the 512-bit
/// loops are compiled for), and [`level`] allows them.
#[cfg(target_arch = "x86_64")]
pub fn has_avx512() -> bool {
    level() >= Level::Avx512
        && is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vl")
}

/// Whether the processor runs AVX2 and FMA, and [`level`] allows them.
#[cfg(target_arch = "x86_64")]
pub fn has_avx2() -> bool {
    level() >= Level::Avx2 && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

/// Smallest and largest value of `x` and 0. Float min and max loops do
/// not vectorize by themselves (their NaN rules stop the compiler), so the
/// vector versions are written out.
pub fn min_max(x: &[f32]) -> (f32, f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx512() {
            // SAFETY: the features were just detected.
            return unsafe { x86::min_max_512(x) };
        }
        if has_avx2() {
            // SAFETY: the features were just detected.
            return unsafe { x86::min_max_256(x) };
        }
    }
    fold_min_max(x, 0.0, 0.0)
}

/// Largest value of `x` (−∞ when empty); see [`min_max`].
pub fn max(x: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx512() {
            // SAFETY: the features were just detected.
            return unsafe { x86::max_512(x) };
        }
        if has_avx2() {
            // SAFETY: the features were just detected.
            return unsafe { x86::max_256(x) };
        }
    }
    fold_min_max(x, 0.0, f32::NEG_INFINITY).1
}

/// `min_max` of `x`, `lo` and `hi`, one value at a time.
#[inline(always)]
fn fold_min_max(x: &[f32], lo: f32, hi: f32) -> (f32, f32) {
    x.iter().fold((lo, hi), |(lo, hi), &v| {
        (if v < lo { v } else { lo }, if v > hi { v } else { hi })
    })
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::fold_min_max;

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn min_max_512(x: &[f32]) -> (f32, f32) {
        let (mut lo, mut hi) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        let chunks = x.chunks_exact(16);
        let rest = chunks.remainder();
        for c in chunks {
            let v = _mm512_loadu_ps(c.as_ptr());
            lo = _mm512_min_ps(lo, v);
            hi = _mm512_max_ps(hi, v);
        }
        fold_min_max(rest, _mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi))
    }

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn max_512(x: &[f32]) -> f32 {
        let mut hi = _mm512_set1_ps(f32::NEG_INFINITY);
        let chunks = x.chunks_exact(16);
        let rest = chunks.remainder();
        for c in chunks {
            hi = _mm512_max_ps(hi, _mm512_loadu_ps(c.as_ptr()));
        }
        fold_min_max(rest, 0.0, _mm512_reduce_max_ps(hi)).1
    }

    /// The eight lanes of `v` folded with `f`.
    #[target_feature(enable = "avx2")]
    unsafe fn lanes(v: __m256, f: impl Fn(f32, f32) -> f32) -> f32 {
        let mut a = [0f32; 8];
        _mm256_storeu_ps(a.as_mut_ptr(), v);
        a[1..].iter().fold(a[0], |m, &v| f(m, v))
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn min_max_256(x: &[f32]) -> (f32, f32) {
        let (mut lo, mut hi) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let chunks = x.chunks_exact(8);
        let rest = chunks.remainder();
        for c in chunks {
            let v = _mm256_loadu_ps(c.as_ptr());
            lo = _mm256_min_ps(lo, v);
            hi = _mm256_max_ps(hi, v);
        }
        let lo = lanes(lo, |m, v| if v < m { v } else { m });
        let hi = lanes(hi, |m, v| if v > m { v } else { m });
        fold_min_max(rest, lo, hi)
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn max_256(x: &[f32]) -> f32 {
        let mut hi = _mm256_set1_ps(f32::NEG_INFINITY);
        let chunks = x.chunks_exact(8);
        let rest = chunks.remainder();
        for c in chunks {
            hi = _mm256_max_ps(hi, _mm256_loadu_ps(c.as_ptr()));
        }
        let hi = lanes(hi, |m, v| if v > m { v } else { m });
        fold_min_max(rest, 0.0, hi).1
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_max_and_max_agree_with_a_plain_fold() {
        for n in [0usize, 1, 7, 8, 15, 16, 17, 33, 384, 1537] {
            let x: Vec<f32> = (0..n)
                .map(|i| ((i * 7919 % 113) as f32 - 50.0) * 0.37)
                .collect();
            let lo = x.iter().fold(0f32, |m, &v| m.min(v));
            let hi = x.iter().fold(0f32, |m, &v| m.max(v));
            assert_eq!(min_max(&x), (lo, hi), "n = {n}");
            let top = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            assert_eq!(max(&x), top, "n = {n}");
            let shifted: Vec<f32> = x.iter().map(|v| v + 100.0).collect();
            assert_eq!(min_max(&shifted).0, 0.0, "0 is always in the range");
            #[cfg(target_arch = "x86_64")]
            if has_avx2() {
                // SAFETY: the features were just detected.
                unsafe {
                    assert_eq!(x86::min_max_256(&x), (lo, hi), "n = {n}, AVX2");
                    assert_eq!(x86::max_256(&x), top, "n = {n}, AVX2");
                }
            }
        }
    }
}

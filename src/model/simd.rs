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

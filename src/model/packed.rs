//! Inference-only BERT over packed sequences: the tagger's fast path.
//!
//! Why a second implementation beside [`super::bert`]: run as a graph of
//! tensor ops, inference spends about half its time outside matrix products:
//! scalar `erf` and `exp`, page faults on a fresh buffer for every op, thread
//! barriers after every small op, and work on padding. Here
//!
//! * the sequences of a batch are packed end to end, with no padding: dense
//!   layers see one `[tokens, hidden]` matrix, attention runs per sequence
//!   and head, so no mask is needed;
//! * Q, K and V are one product; biases and residuals are written into the
//!   output before the product accumulates onto them; the attention scale is
//!   applied by the product itself;
//! * buffers live for the whole forward pass, reused by every layer;
//! * GELU, softmax and layer norm are vectorized loops (with AVX2 and FMA
//!   where the processor has them), with `erf` and `exp` approximations
//!   accurate to about 1e-7.
//!
//! [`super::bert`] stays the reference (and the training path); tests hold
//! the two within 1e-4 of each other.

use gemm::{gemm, Parallelism};
use rayon::prelude::*;

use super::config::{Activation, BertConfig};
use super::int8::Int8Matrix;
use super::weights::Weights;
use crate::error::{Error, Result};

/// Number format of the encoder's dense-layer products.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Precision {
    /// f32 weights and activations.
    F32,
    /// int8 weights (one scale an output row); each activation in two
    /// bytes (a scale a token), two int8 products summed in i32: results
    /// within rounding of f32 (see [`super::int8`]).
    #[default]
    Int8,
    /// As [`Precision::Int8`] with one byte an activation: one product
    /// instead of two, a little further from f32.
    Int8Fast,
}

impl std::str::FromStr for Precision {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "f32" => Ok(Precision::F32),
            "int8" => Ok(Precision::Int8),
            "int8-fast" => Ok(Precision::Int8Fast),
            _ => Err(format!(
                "unknown precision {s:?} (expected int8, int8-fast or f32)"
            )),
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::Int8 => "int8",
            Precision::Int8Fast => "int8-fast",
        })
    }
}

/// A dense layer's weight, `[out, in]` as in PyTorch.
enum Weight {
    F32(Vec<f32>),
    /// With whether activations take two bytes.
    Int8(Int8Matrix, bool),
}

/// A dense layer.
struct Linear {
    weight: Weight,
    bias: Vec<f32>,
    in_dim: usize,
    out_dim: usize,
}

impl Linear {
    fn load(w: &mut Weights, prefix: &str, in_dim: usize, out_dim: usize) -> Result<Self> {
        Ok(Linear {
            weight: Weight::F32(take(w, &format!("{prefix}.weight"), &[out_dim, in_dim])?),
            bias: take(w, &format!("{prefix}.bias"), &[out_dim])?,
            in_dim,
            out_dim,
        })
    }

    /// Stacks f32 layers with the same input along the output dimension.
    fn stack(parts: Vec<Linear>) -> Linear {
        let in_dim = parts[0].in_dim;
        let (mut weight, mut bias, mut out_dim) = (Vec::new(), Vec::new(), 0);
        for p in parts {
            if let Weight::F32(w) = &p.weight {
                weight.extend_from_slice(w);
            }
            bias.extend_from_slice(&p.bias);
            out_dim += p.out_dim;
        }
        Linear {
            weight: Weight::F32(weight),
            bias,
            in_dim,
            out_dim,
        }
    }

    /// Turns an f32 weight into int8 (activations in two bytes when
    /// `split`).
    fn quantize(&mut self, split: bool) {
        match &mut self.weight {
            Weight::F32(w) => {
                self.weight =
                    Weight::Int8(Int8Matrix::quantize(w, self.out_dim, self.in_dim), split)
            }
            Weight::Int8(_, s) => *s = split,
        }
    }

    /// Writes the bias into every row of `y` (`[rows, out]`).
    fn fill_bias(&self, y: &mut [f32]) {
        for row in y.chunks_exact_mut(self.out_dim) {
            row.copy_from_slice(&self.bias);
        }
    }

    /// Adds the bias to every row of `y`.
    fn add_bias(&self, y: &mut [f32]) {
        for row in y.chunks_exact_mut(self.out_dim) {
            for (v, b) in row.iter_mut().zip(&self.bias) {
                *v += b;
            }
        }
    }

    /// `y += x · Wᵀ` for `x` `[rows, in]` and `y` `[rows, out]`.
    fn accumulate(&self, x: &[f32], y: &mut [f32], threads: Threads) {
        let rows = x.len() / self.in_dim;
        debug_assert_eq!(y.len(), rows * self.out_dim);
        if rows == 0 {
            return;
        }
        let weight = match &self.weight {
            Weight::F32(w) => w,
            Weight::Int8(m, split) => return m.accumulate(x, y, threads.parallel(), *split),
        };
        // SAFETY: the strides describe `x` as rows × in_dim, the weight as
        // in_dim × out_dim (its transpose) and `y` as rows × out_dim, all
        // within the slices' lengths, and `y` does not alias the inputs.
        unsafe {
            gemm(
                rows,
                self.out_dim,
                self.in_dim,
                y.as_mut_ptr(),
                1,
                self.out_dim as isize,
                true,
                x.as_ptr(),
                1,
                self.in_dim as isize,
                weight.as_ptr(),
                self.in_dim as isize,
                1,
                1.0,
                1.0,
                false,
                false,
                false,
                threads.parallelism(),
            )
        }
    }
}

/// Moves a tensor out of `w` as f32 values (one copy alive at a time).
fn take(w: &mut Weights, name: &str, dims: &[usize]) -> Result<Vec<f32>> {
    let t = w.get(name, dims)?;
    w.remove(name);
    Ok(t.flatten_all()?
        .to_dtype(candle_core::DType::F32)?
        .to_vec1::<f32>()?)
}

/// Threads the matrix products of one forward pass may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// Every thread of the pool: for a lone batch.
    All,
    /// The calling thread: for batches that run side by side, which keeps
    /// every core busy without a barrier after each product.
    One,
}

impl Threads {
    /// Whether a product may share its work out among the pool's threads.
    fn parallel(self) -> bool {
        !matches!(self.parallelism(), Parallelism::None)
    }

    fn parallelism(self) -> Parallelism {
        match (self, rayon::current_num_threads()) {
            (Threads::One, _) | (_, 0 | 1) => Parallelism::None,
            (Threads::All, n) => Parallelism::Rayon(n),
        }
    }
}

struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl Norm {
    fn load(w: &mut Weights, prefix: &str, dim: usize, eps: f64) -> Result<Self> {
        Ok(Norm {
            weight: take(w, &format!("{prefix}.weight"), &[dim])?,
            bias: take(w, &format!("{prefix}.bias"), &[dim])?,
            eps: eps as f32,
        })
    }

    /// Layer norm of every row of `x`, in place.
    fn apply(&self, x: &mut [f32]) {
        let dim = self.weight.len();
        x.par_chunks_mut(dim * 16).for_each(|rows| {
            for row in rows.chunks_exact_mut(dim) {
                kernels::layer_norm(row, &self.weight, &self.bias, self.eps);
            }
        });
    }
}

struct Layer {
    qkv: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    intermediate: Linear,
    output: Linear,
    out_norm: Norm,
}

/// BERT with its token-classification head, for inference on the CPU.
pub struct PackedBert {
    hidden: usize,
    heads: usize,
    intermediate: usize,
    act: Activation,
    vocab: usize,
    word: Vec<f32>,
    /// Position embeddings with token type 0 added, `[positions, hidden]`.
    position: Vec<f32>,
    positions: usize,
    emb_norm: Norm,
    layers: Vec<Layer>,
    classifier: Linear,
}

/// Buffers of one forward pass, kept per thread between batches.
#[derive(Default)]
struct Scratch {
    qkv: Vec<f32>,
    ctx: Vec<f32>,
    inter: Vec<f32>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// Raw pointer handed to the attention tasks, which write disjoint parts.
#[derive(Clone, Copy)]
struct SharedMut(*mut f32);
// SAFETY: every task writes its own (sequence, head) block only.
unsafe impl Send for SharedMut {}
unsafe impl Sync for SharedMut {}

impl SharedMut {
    /// The pointer; a method, so closures capture the whole (Send) value.
    fn ptr(self) -> *mut f32 {
        self.0
    }
}

impl PackedBert {
    /// Builds the model from weights named as in `BertForTokenClassification`
    /// (without the `bert.` prefix), moving them out of `w`.
    pub fn load(w: &mut Weights, cfg: &BertConfig, num_labels: usize) -> Result<Self> {
        let h = cfg.hidden_size;
        if cfg.num_attention_heads == 0 || !h.is_multiple_of(cfg.num_attention_heads) {
            return Err(Error::model(
                w.source(),
                format!(
                    "hidden_size {h} is not a multiple of num_attention_heads {}",
                    cfg.num_attention_heads
                ),
            ));
        }
        if num_labels == 0 {
            return Err(Error::model(
                w.source(),
                "the classifier has no labels (id2label is empty)",
            ));
        }
        let eps = cfg.layer_norm_eps;
        let word = take(w, "embeddings.word_embeddings.weight", &[cfg.vocab_size, h])?;
        let mut position = take(
            w,
            "embeddings.position_embeddings.weight",
            &[cfg.max_position_embeddings, h],
        )?;
        let token_type = take(
            w,
            "embeddings.token_type_embeddings.weight",
            &[cfg.type_vocab_size, h],
        )?;
        // Token type 0 everywhere: single-sequence tagging.
        for row in position.chunks_exact_mut(h) {
            for (p, t) in row.iter_mut().zip(&token_type[..h]) {
                *p += t;
            }
        }
        let emb_norm = Norm::load(w, "embeddings.LayerNorm", h, eps)?;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            let qkv = Linear::stack(vec![
                Linear::load(w, &format!("{p}.attention.self.query"), h, h)?,
                Linear::load(w, &format!("{p}.attention.self.key"), h, h)?,
                Linear::load(w, &format!("{p}.attention.self.value"), h, h)?,
            ]);
            layers.push(Layer {
                qkv,
                attn_out: Linear::load(w, &format!("{p}.attention.output.dense"), h, h)?,
                attn_norm: Norm::load(w, &format!("{p}.attention.output.LayerNorm"), h, eps)?,
                intermediate: Linear::load(
                    w,
                    &format!("{p}.intermediate.dense"),
                    h,
                    cfg.intermediate_size,
                )?,
                output: Linear::load(w, &format!("{p}.output.dense"), cfg.intermediate_size, h)?,
                out_norm: Norm::load(w, &format!("{p}.output.LayerNorm"), h, eps)?,
            });
        }
        let classifier = Linear::load(w, "classifier", h, num_labels)?;
        Ok(PackedBert {
            hidden: h,
            heads: cfg.num_attention_heads,
            intermediate: cfg.intermediate_size,
            act: cfg.hidden_act,
            vocab: cfg.vocab_size,
            word,
            position,
            positions: cfg.max_position_embeddings,
            emb_norm,
            layers,
            classifier,
        })
    }

    /// Runs the encoder's dense layers in `precision` from now on (the
    /// classifier, a few outputs wide, stays f32). Going back from int8 to
    /// f32 takes loading the model again.
    pub fn set_precision(&mut self, precision: Precision) {
        if precision != Precision::F32 {
            let split = precision == Precision::Int8;
            for layer in &mut self.layers {
                layer.qkv.quantize(split);
                layer.attn_out.quantize(split);
                layer.intermediate.quantize(split);
                layer.output.quantize(split);
            }
        }
    }

    /// The precision of the encoder's dense layers.
    pub fn precision(&self) -> Precision {
        match self.layers.first().map(|l| &l.qkv.weight) {
            Some(Weight::Int8(_, true)) => Precision::Int8,
            Some(Weight::Int8(_, false)) => Precision::Int8Fast,
            _ => Precision::F32,
        }
    }

    /// Number of labels of the head.
    pub fn num_labels(&self) -> usize {
        self.classifier.out_dim
    }

    /// Label probabilities of every token of every sequence, packed:
    /// `[sum of lengths, labels]`, sequences in order.
    pub fn probabilities(&self, seqs: &[&[u32]], threads: Threads) -> Result<Vec<f32>> {
        let mut p = self.logits(seqs, threads)?;
        let c = self.num_labels();
        p.par_chunks_mut(c * 64).for_each(|rows| {
            for row in rows.chunks_exact_mut(c) {
                kernels::softmax(row, 1.0);
            }
        });
        Ok(p)
    }

    /// Classifier logits, packed as in [`PackedBert::probabilities`].
    pub fn logits(&self, seqs: &[&[u32]], threads: Threads) -> Result<Vec<f32>> {
        let x = self.hidden_states(seqs, threads)?;
        let c = self.num_labels();
        let mut out = vec![0f32; x.len() / self.hidden * c];
        self.classifier.fill_bias(&mut out);
        self.classifier.accumulate(&x, &mut out, threads);
        Ok(out)
    }

    /// Last hidden states, packed: `[sum of lengths, hidden]`.
    pub fn hidden_states(&self, seqs: &[&[u32]], threads: Threads) -> Result<Vec<f32>> {
        let h = self.hidden;
        let tokens: usize = seqs.iter().map(|s| s.len()).sum();
        let mut starts = Vec::with_capacity(seqs.len());
        let mut x = vec![0f32; tokens * h];
        let mut at = 0;
        for s in seqs {
            if s.len() > self.positions {
                return Err(Error::input(format!(
                    "a sequence of {} tokens is longer than the model's {} positions",
                    s.len(),
                    self.positions
                )));
            }
            starts.push(at);
            for (pos, &id) in s.iter().enumerate() {
                let id = id as usize;
                if id >= self.vocab {
                    return Err(Error::input(format!(
                        "token id {id} is outside the vocabulary of {} pieces",
                        self.vocab
                    )));
                }
                let row = &mut x[(at + pos) * h..(at + pos + 1) * h];
                let word = &self.word[id * h..(id + 1) * h];
                let position = &self.position[pos * h..(pos + 1) * h];
                for ((v, a), b) in row.iter_mut().zip(word).zip(position) {
                    *v = a + b;
                }
            }
            at += s.len();
        }
        self.emb_norm.apply(&mut x);
        let spans: Vec<(usize, usize)> = starts
            .iter()
            .zip(seqs)
            .filter(|(_, s)| !s.is_empty())
            .map(|(&a, s)| (a, s.len()))
            .collect();
        // The layer buffers come from this thread's scratch, kept from one
        // batch to the next: fresh buffers of a few MB each batch cost the
        // kernel a page clearing every time. A thread that reaches here
        // again while waiting inside a pass (rayon lets it run another
        // batch) takes buffers of its own.
        let mut fresh = Scratch::default();
        let mut kept = SCRATCH.with(|s| s.try_borrow_mut().map(|mut s| std::mem::take(&mut *s)));
        let scratch = match &mut kept {
            Ok(s) => s,
            Err(_) => &mut fresh,
        };
        let Scratch { qkv, ctx, inter } = scratch;
        for (buf, len) in [
            (&mut *qkv, tokens * 3 * h),
            (&mut *ctx, tokens * h),
            (&mut *inter, tokens * self.intermediate),
        ] {
            buf.clear();
            buf.resize(len, 0.0);
        }
        self.encode(&mut x, &spans, qkv, ctx, inter, threads);
        if let Ok(s) = kept {
            SCRATCH.with(|cell| {
                if let Ok(mut cell) = cell.try_borrow_mut() {
                    *cell = s;
                }
            });
        }
        Ok(x)
    }

    /// The encoder layers over the embedded tokens `x`, in place.
    fn encode(
        &self,
        x: &mut [f32],
        spans: &[(usize, usize)],
        qkv: &mut [f32],
        ctx: &mut [f32],
        inter: &mut [f32],
        threads: Threads,
    ) {
        for layer in &self.layers {
            layer.qkv.fill_bias(qkv);
            layer.qkv.accumulate(x, qkv, threads);
            self.attention(qkv, spans, ctx);
            // x ← LN(x + ctx·Woᵀ + bo): the residual is the product's start.
            layer.attn_out.add_bias(x);
            layer.attn_out.accumulate(ctx, x, threads);
            layer.attn_norm.apply(x);
            layer.intermediate.fill_bias(inter);
            layer.intermediate.accumulate(x, inter, threads);
            let act = self.act;
            inter
                .par_chunks_mut(self.intermediate * 8)
                .for_each(|c| kernels::activate(c, act));
            layer.output.add_bias(x);
            layer.output.accumulate(inter, x, threads);
            layer.out_norm.apply(x);
        }
    }

    /// Self-attention of every (sequence, head) into `ctx` `[tokens, hidden]`.
    fn attention(&self, qkv: &[f32], spans: &[(usize, usize)], ctx: &mut [f32]) {
        let h = self.hidden;
        let hs = h / self.heads;
        let scale = 1.0 / (hs as f32).sqrt();
        let out = SharedMut(ctx.as_mut_ptr());
        let tasks: Vec<(usize, usize, usize)> = spans
            .iter()
            .flat_map(|&(start, n)| (0..self.heads).map(move |hd| (start, n, hd)))
            .collect();
        tasks
            .par_iter()
            .for_each_init(Vec::new, |scores, &(start, n, hd)| {
                scores.clear();
                scores.resize(n * n, 0.0);
                let q = qkv[start * 3 * h + hd * hs..].as_ptr();
                let k = qkv[start * 3 * h + h + hd * hs..].as_ptr();
                let v = qkv[start * 3 * h + 2 * h + hd * hs..].as_ptr();
                // SAFETY: q, k and v address n rows of hs values with row stride
                // 3h inside `qkv`; `scores` is n × n; the context block written
                // (rows start..start+n, columns hd·hs..(hd+1)·hs of `ctx`) is this
                // task's alone.
                unsafe {
                    // scores = scale · Q Kᵀ
                    gemm(
                        n,
                        n,
                        hs,
                        scores.as_mut_ptr(),
                        1,
                        n as isize,
                        false,
                        q,
                        1,
                        3 * h as isize,
                        k,
                        3 * h as isize,
                        1,
                        0.0,
                        scale,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                    for row in scores.chunks_exact_mut(n) {
                        kernels::softmax(row, 1.0);
                    }
                    // ctx block = P V
                    gemm(
                        n,
                        hs,
                        n,
                        out.ptr().add(start * h + hd * hs),
                        1,
                        h as isize,
                        false,
                        scores.as_ptr(),
                        1,
                        n as isize,
                        v,
                        1,
                        3 * h as isize,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        Parallelism::None,
                    );
                }
            });
    }
}

/// Elementwise kernels, compiled for any x86-64, AVX2 + FMA and AVX-512,
/// picked at run time.
pub(crate) mod kernels {
    use super::Activation;

    use crate::model::simd::dispatch;

    dispatch! {
        /// GELU (exact or tanh) or ReLU of every value, in place.
        pub fn activate(x: &mut [f32], act: Activation) = activate_impl
    }
    dispatch! {
        /// Softmax of `scale · x`, in place.
        pub fn softmax(x: &mut [f32], scale: f32) = softmax_impl
    }
    dispatch! {
        /// Layer norm of `x` with weight `w` and bias `b`, in place.
        pub fn layer_norm(x: &mut [f32], w: &[f32], b: &[f32], eps: f32) = layer_norm_impl
    }

    /// `e^x` for f32, relative error about 2e-7: `x = n·ln2 + r` with the
    /// product `n·ln2` taken in two parts (Cody and Waite), so `r` stays exact
    /// for large `|x|`, then a degree-7 polynomial for `e^r` on
    /// `|r| ≤ ln2/2` and `2^n` built from the exponent bits. Branch-free so
    /// loops vectorize.
    #[inline(always)]
    pub fn exp(x: f32) -> f32 {
        // Below −80 the result is e^−80: results that small change nothing
        // here, and staying clear of subnormal numbers keeps the vector
        // units off their slow path (which made GELU cost 2 ns a value).
        let x = x.clamp(-80.0, 88.0);
        // Round to nearest by adding and removing 1.5 · 2^23.
        let n = (x * std::f32::consts::LOG2_E + 12_582_912.0) - 12_582_912.0;
        let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
        let p = 1.0 / 5040.0;
        let p = p * r + 1.0 / 720.0;
        let p = p * r + 1.0 / 120.0;
        let p = p * r + 1.0 / 24.0;
        let p = p * r + 1.0 / 6.0;
        let p = p * r + 0.5;
        let p = p * r + 1.0;
        let p = p * r + 1.0;
        // 2^n from the bits of n + 127 + 2²³, whose low mantissa bits hold
        // the biased exponent: `as i32` would check each lane for NaN and
        // range, one lane at a time.
        p * f32::from_bits((n + 127.0 + 8_388_608.0).to_bits() << 23)
    }

    /// `1 / a` for `a ≥ 1` without a division (a vector division costs as
    /// much as the rest of GELU): a first guess from the exponent bits,
    /// then three Newton steps, relative error below 1e-7.
    #[inline(always)]
    fn recip(a: f32) -> f32 {
        let mut y = f32::from_bits(0x7EF3_11C3u32.wrapping_sub(a.to_bits()));
        for _ in 0..3 {
            // y + y·(1 − a·y): the correction computed apart keeps the last
            // bits that y·(2 − a·y) rounds away.
            y += y * (1.0 - a * y);
        }
        y
    }

    /// erf for f32, absolute error below 2e-7 (Abramowitz & Stegun 7.1.26).
    #[inline(always)]
    pub fn erf(x: f32) -> f32 {
        let z = x.abs();
        let t = recip(1.0 + 0.327_591_1 * z);
        let p = 1.061_405_4;
        let p = p * t - 1.453_152;
        let p = p * t + 1.421_413_7;
        let p = p * t - 0.284_496_74;
        let p = p * t + 0.254_829_6;
        let y = 1.0 - p * t * exp(-z * z);
        y.copysign(x)
    }

    #[inline(always)]
    fn activate_impl(x: &mut [f32], act: Activation) {
        match act {
            Activation::Gelu => {
                for v in x.iter_mut() {
                    *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
                }
            }
            Activation::GeluTanh => {
                // tanh(y) = 1 - 2 / (e^{2y} + 1)
                for v in x.iter_mut() {
                    let y = 0.797_884_6 * (*v + 0.044_715 * *v * *v * *v);
                    let tanh = 1.0 - 2.0 / (exp(2.0 * y) + 1.0);
                    *v = 0.5 * *v * (1.0 + tanh);
                }
            }
            Activation::Relu => {
                for v in x.iter_mut() {
                    *v = v.max(0.0);
                }
            }
        }
    }

    /// Sum of `f(v)` with eight running totals, so the loop vectorizes.
    #[inline(always)]
    pub fn sum_of(x: &[f32], f: impl Fn(f32) -> f32) -> f32 {
        let mut acc = [0f32; 8];
        let chunks = x.chunks_exact(8);
        let rest: f32 = chunks.remainder().iter().map(|&v| f(v)).sum();
        for c in chunks {
            for i in 0..8 {
                acc[i] += f(c[i]);
            }
        }
        acc.iter().sum::<f32>() + rest
    }

    #[inline(always)]
    fn softmax_impl(x: &mut [f32], scale: f32) {
        let max = crate::model::simd::max(x);
        for v in x.iter_mut() {
            *v = exp((*v - max) * scale);
        }
        let inv = 1.0 / sum_of(x, |v| v);
        for v in x.iter_mut() {
            *v *= inv;
        }
    }

    #[inline(always)]
    fn layer_norm_impl(x: &mut [f32], w: &[f32], b: &[f32], eps: f32) {
        let n = x.len() as f32;
        let mean = sum_of(x, |v| v) / n;
        for v in x.iter_mut() {
            *v -= mean;
        }
        let var = sum_of(x, |v| v * v) / n;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, w), b) in x.iter_mut().zip(w).zip(b) {
            *v = *v * inv * w + b;
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn exp_matches_std_across_the_range() {
            assert_eq!(exp(-100.0), exp(-80.0));
            let mut x = -80.0f32;
            while x < 88.0 {
                let (a, b) = (exp(x), x.exp());
                assert!(((a - b) / b).abs() < 5e-7, "exp({x}) = {a}, std {b}");
                x += 0.013;
            }
        }

        #[test]
        fn erf_matches_the_series() {
            // erf by its Taylor series, in f64, where it converges quickly.
            let reference = |x: f64| {
                let (mut term, mut sum, mut k) = (x, x, 0.0);
                while term.abs() > 1e-17 {
                    k += 1.0;
                    term *= -x * x / k;
                    sum += term / (2.0 * k + 1.0);
                }
                sum * 2.0 / std::f64::consts::PI.sqrt()
            };
            let mut x = -3.0f32;
            while x <= 3.0 {
                let e = (erf(x) as f64 - reference(x as f64)).abs();
                assert!(e < 5e-7, "erf({x}) off by {e}");
                x += 0.01;
            }
            assert_eq!(erf(10.0), 1.0);
            assert_eq!(erf(-10.0), -1.0);
        }

        #[test]
        fn softmax_and_layer_norm_are_normalized() {
            let mut p: Vec<f32> = (0..37).map(|i| (i as f32 * 0.7).sin() * 30.0).collect();
            softmax(&mut p, 1.0);
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
            let mut x: Vec<f32> = (0..37).map(|i| i as f32 * 0.3 - 2.0).collect();
            let ones = vec![1.0; 37];
            let zeros = vec![0.0; 37];
            layer_norm(&mut x, &ones, &zeros, 1e-12);
            let mean = x.iter().sum::<f32>() / 37.0;
            let var = x.iter().map(|v| v * v).sum::<f32>() / 37.0;
            assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-5);
        }
    }
}

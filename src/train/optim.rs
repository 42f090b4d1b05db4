//! AdamW with decoupled weight decay, updating parameters in place.
//!
//! One fused pass over each parameter (moments, bias correction, decay,
//! clipping scale) instead of a dozen tensor ops that each allocate a copy:
//! the optimizer step is then a small part of a training step.

use std::sync::Mutex;

use candle_core::{CpuStorage, InplaceOp1, Layout, Var};
use rayon::prelude::*;

use crate::model::simd::dispatch;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One trained tensor with its optimizer state.
pub struct Param {
    /// Hugging Face name of the tensor.
    pub name: String,
    /// The variable the model reads.
    pub var: Var,
    /// First moment.
    pub m: Vec<f32>,
    /// Second moment.
    pub v: Vec<f32>,
    /// Whether weight decay applies (not to biases and norms).
    pub decay: bool,
}

impl Param {
    /// A parameter with zeroed moments; decay follows BERT's convention.
    pub fn new(name: String, var: Var) -> Self {
        let n = var.elem_count();
        let decay = !(name.ends_with(".bias") || name.contains("LayerNorm"));
        Param {
            name,
            var,
            m: vec![0.0; n],
            v: vec![0.0; n],
            decay,
        }
    }
}

/// How a run fits its parameters: its length, batches, AdamW and the
/// learning-rate schedule; the same for fine-tuning and pretraining.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fit {
    pub epochs: usize,
    /// Peak learning rate.
    pub lr: f64,
    pub batch_size: usize,
    /// Fraction of all steps spent warming up.
    pub warmup: f64,
    pub weight_decay: f64,
    /// Gradient clipping on the global L2 norm (0 = off).
    pub clip: f64,
    pub seed: u64,
    /// Stop after this many steps in all (0 = no limit); the schedule still
    /// spans every epoch, as if the run had been interrupted.
    pub max_steps: u64,
}

impl Fit {
    /// Rejects settings that leave nothing to run or are not numbers in
    /// their range: a learning rate, warm-up and weight decay in [0, 1],
    /// clipping at 0 (off) or above.
    pub fn check(&self) -> Result<()> {
        if self.batch_size == 0 || self.epochs == 0 {
            return Err(Error::Usage(
                "--batch-size and --epochs must be positive".into(),
            ));
        }
        let within = |name: &str, v: f64, lo: f64, hi: f64| {
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(Error::Usage(format!("--{name} {v} is not in [{lo}, {hi}]")))
            }
        };
        within("lr", self.lr, 0.0, 1.0)?;
        within("warmup", self.warmup, 0.0, 1.0)?;
        within("weight-decay", self.weight_decay, 0.0, 1.0)?;
        within("clip", self.clip, 0.0, f64::INFINITY)?;
        Ok(())
    }

    /// Steps an epoch, steps of the whole schedule, and the step to stop at,
    /// for `windows` training windows.
    pub fn steps(&self, windows: usize) -> (u64, u64, u64) {
        let per_epoch = windows.div_ceil(self.batch_size.max(1)) as u64;
        let total = per_epoch.saturating_mul(self.epochs as u64);
        let stop_at = if self.max_steps > 0 {
            total.min(self.max_steps)
        } else {
            total
        };
        (per_epoch, total, stop_at)
    }

    /// One AdamW update at `lr`, clipped to the global norm; `step` counts
    /// from 1. `grads[i]` is the gradient of `params[i]` (`None`: no
    /// gradient, the parameter is left alone).
    pub fn update_from(
        &self,
        params: &mut [Param],
        grads: &[Option<&[f32]>],
        lr: f64,
        step: u64,
    ) -> Result<()> {
        let norm = grad_norm(grads);
        if !norm.is_finite() {
            return Err(diverged(step, "the gradient norm", norm, lr));
        }
        let scale = if self.clip > 0.0 && norm > self.clip {
            (self.clip / norm) as f32
        } else {
            1.0
        };
        let adam = AdamW {
            weight_decay: self.weight_decay as f32,
            ..AdamW::default()
        };
        adam.step(params, grads, lr as f32, step, scale)
    }
}

pub fn check_loss(loss: f32, step: u64, lr: f64) -> Result<()> {
    if loss.is_finite() {
        Ok(())
    } else {
        Err(diverged(step, "the loss", loss as f64, lr))
    }
}

fn diverged(step: u64, what: &str, value: f64, lr: f64) -> Error {
    Error::Usage(format!(
        "training diverged at step {step}: {what} is {value}; nothing of this step was kept (the last checkpoint is as it was); try a lower --lr than {lr:e}"
    ))
}

/// Hyper-parameters of one AdamW step.
#[derive(Debug, Clone, Copy)]
pub struct AdamW {
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
}

impl Default for AdamW {
    fn default() -> Self {
        AdamW {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

struct Step<'a> {
    grad: &'a [f32],
    moments: Mutex<(&'a mut [f32], &'a mut [f32])>,
    lr: f32,
    scale: f32,
    bc1: f32,
    bc2: f32,
    decay: f32,
    hp: AdamW,
}

/// Values a parallel task of the update takes at a time.
const CHUNK: usize = 1 << 14;

impl InplaceOp1 for Step<'_> {
    fn name(&self) -> &'static str {
        "adamw-step"
    }

    fn cpu_fwd(&self, dst: &mut CpuStorage, dst_l: &Layout) -> candle_core::Result<()> {
        let CpuStorage::F32(theta) = dst else {
            candle_core::bail!("adamw-step: f32 tensors expected");
        };
        let Some((t0, t1)) = dst_l.contiguous_offsets() else {
            candle_core::bail!("adamw-step: contiguous tensors expected");
        };
        let theta = &mut theta[t0..t1];
        let g = self.grad;
        let mut guard = self
            .moments
            .lock()
            .map_err(|_| candle_core::Error::Msg("adamw-step: poisoned state".into()))?;
        let (m, v) = &mut *guard;
        if theta.len() != g.len() || m.len() != g.len() || v.len() != g.len() {
            candle_core::bail!("adamw-step: size mismatch");
        }
        // Each value on its own: chunks on any thread give the same result.
        let c = Coefs {
            lr: self.lr,
            scale: self.scale,
            bc1: self.bc1,
            bc2: self.bc2,
            decay: self.decay,
            hp: self.hp,
        };
        theta
            .par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .for_each(|(((theta, g), m), v)| adamw_chunk(theta, g, m, v, c));
        Ok(())
    }
}

/// What one update multiplies by.
#[derive(Clone, Copy)]
struct Coefs {
    lr: f32,
    scale: f32,
    bc1: f32,
    bc2: f32,
    decay: f32,
    hp: AdamW,
}

dispatch! {
    fn adamw_chunk(theta: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], c: Coefs) = adamw_chunk_impl
}

#[inline(always)]
fn adamw_chunk_impl(theta: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], c: Coefs) {
    let hp = c.hp;
    for i in 0..theta.len() {
        let gi = g[i] * c.scale;
        m[i] = hp.beta1 * m[i] + (1.0 - hp.beta1) * gi;
        v[i] = hp.beta2 * v[i] + (1.0 - hp.beta2) * gi * gi;
        let update = (m[i] / c.bc1) / ((v[i] / c.bc2).sqrt() + hp.eps);
        theta[i] -= c.lr * (update + c.decay * theta[i]);
    }
}

/// Global L2 norm of the gradients, summed in a fixed order.
pub fn grad_norm(grads: &[Option<&[f32]>]) -> f64 {
    let mut sum = 0f64;
    for g in grads.iter().flatten() {
        let parts: Vec<f64> = g
            .par_chunks(CHUNK)
            .map(|c| c.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>())
            .collect();
        sum += parts.iter().sum::<f64>();
    }
    sum.sqrt()
}

impl AdamW {
    /// Applies one update at learning rate `lr`; `step` counts from 1;
    /// gradients are multiplied by `scale` (clipping) first.
    pub fn step(
        &self,
        params: &mut [Param],
        grads: &[Option<&[f32]>],
        lr: f32,
        step: u64,
        scale: f32,
    ) -> Result<()> {
        let bc1 = 1.0 - self.beta1.powi(step as i32);
        let bc2 = 1.0 - self.beta2.powi(step as i32);
        for (p, g) in params.iter_mut().zip(grads) {
            let Some(g) = g else {
                continue;
            };
            let op = Step {
                grad: g,
                moments: Mutex::new((&mut p.m, &mut p.v)),
                lr,
                scale,
                bc1,
                bc2,
                decay: if p.decay { self.weight_decay } else { 0.0 },
                hp: *self,
            };
            p.var
                .as_tensor()
                .inplace_op1(&op)
                .map_err(|e| Error::Tensor(e.context(format!("optimizer step on {}", p.name))))?;
        }
        Ok(())
    }
}

/// Learning rate at `step` (from 0): linear warm-up, then linear decay to 0.
pub fn linear_schedule(base: f64, step: u64, warmup: u64, total: u64) -> f64 {
    if step < warmup {
        base * (step + 1) as f64 / warmup as f64
    } else if total > warmup {
        base * (total.saturating_sub(step)) as f64 / (total - warmup) as f64
    } else {
        base
    }
}

//! The heads trained on the hand-written encoder: a token classifier
//! (fine-tuning) and BERT's masked-LM head (pretraining). Each gives the
//! step's loss and adds its gradients, the encoder's included.

use candle_core::{DType, Tensor};
use rayon::prelude::*;

use super::backprop::{
    activate, activate_backward, add_column_sums, apply_mask, layer_norm, layer_norm_backward,
    linear, linear_backward, matmul, stream_seed, Par, View, ViewMut,
};
use super::encoder::{f32_values, fill, pair, Dense, Encoder, Tape, SITE_HEAD};
use super::optim::Param;
use crate::error::{Error, Result};
use crate::model::bert::{parameter_shapes, MLM_HEAD};
use crate::model::config::BertConfig;
use crate::model::weights::Weights;

/// The tensors a training step reads, in its slot order, and their
/// gradient buffers (empty for a frozen tensor).
pub struct Slots {
    tensors: Vec<Tensor>,
    grads: Vec<Vec<f32>>,
    /// The slot of each trained parameter.
    slot_of: Vec<usize>,
}

impl Slots {
    /// Slots `shapes` read from `live`, where `params` are the trained
    /// tensors; frozen ones are made f32 in `live` (a base may store f16).
    pub fn new(
        shapes: &[(String, Vec<usize>)],
        live: &mut Weights,
        params: &[Param],
    ) -> Result<Self> {
        let mut tensors = Vec::with_capacity(shapes.len());
        let mut grads = Vec::with_capacity(shapes.len());
        for (name, dims) in shapes {
            let t = live.get(name, dims)?;
            let trained = params.iter().any(|p| &p.name == name);
            let t = if trained {
                t
            } else {
                let t = t.to_dtype(DType::F32)?.contiguous()?;
                live.insert(name.clone(), t.clone());
                t
            };
            grads.push(if trained {
                vec![0.0; t.elem_count()]
            } else {
                Vec::new()
            });
            tensors.push(t);
        }
        let mut slot_of = Vec::with_capacity(params.len());
        for p in params {
            let slot = shapes
                .iter()
                .position(|(n, _)| *n == p.name)
                .ok_or_else(|| {
                    Error::Usage(format!("{}: not a tensor of the trained model", p.name))
                })?;
            slot_of.push(slot);
        }
        Ok(Slots {
            tensors,
            grads,
            slot_of,
        })
    }

    /// Runs `f` on the values of every slot, with the gradients zeroed.
    pub fn with_values<R>(
        &mut self,
        f: impl FnOnce(&[&[f32]], &mut [Vec<f32>]) -> Result<R>,
    ) -> Result<R> {
        self.grads
            .par_iter_mut()
            .flat_map(|g| g.par_chunks_mut(1 << 16))
            .for_each(|c| c.fill(0.0));
        let guards: Vec<_> = self
            .tensors
            .iter()
            .map(|t| t.storage_and_layout())
            .collect();
        let mut w = Vec::with_capacity(guards.len());
        for (storage, layout) in &guards {
            w.push(f32_values(storage, layout)?);
        }
        f(&w, &mut self.grads)
    }

    /// The gradient of each parameter (`None` where `keep` says no).
    pub fn param_grads(
        &self,
        params: &[Param],
        keep: impl Fn(&Param) -> bool,
    ) -> Vec<Option<&[f32]>> {
        params
            .iter()
            .zip(&self.slot_of)
            .map(|(p, &s)| keep(p).then_some(self.grads[s].as_slice()))
            .collect()
    }
}

/// Mean cross-entropy of rows of `logits` (`c` wide) against `targets`
/// (`None`: not scored), turning `logits` into the loss's gradient; also
/// counts the rows whose best score is the target.
fn cross_entropy(logits: &mut [f32], c: usize, targets: &[Option<usize>]) -> Result<(f32, usize)> {
    let count = targets.iter().flatten().count().max(1) as f32;
    let mut loss = 0f64;
    let mut hits = 0;
    for (row, &y) in logits.chunks_exact_mut(c).zip(targets) {
        let Some(y) = y else {
            row.fill(0.0);
            continue;
        };
        if y >= c {
            return Err(Error::Usage(format!("target {y} is not among {c} classes")));
        }
        let max = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        hits += (row[y] == max) as usize;
        let sum: f32 = row.iter().map(|&v| (v - max).exp()).sum();
        let log_z = max + sum.ln();
        loss -= (row[y] - log_z) as f64;
        for (j, v) in row.iter_mut().enumerate() {
            *v = ((*v - log_z).exp() - (j == y) as u8 as f32) / count;
        }
    }
    Ok(((loss / count as f64) as f32, hits))
}

/// BERT with a token classifier.
pub struct TokenClassifierNet {
    encoder: Encoder,
    classifier: Dense,
    labels: usize,
    p_classifier: f32,
}

impl TokenClassifierNet {
    pub fn new(cfg: &BertConfig, labels: usize) -> Self {
        let encoder = Encoder::new(cfg);
        let first = encoder.slots();
        TokenClassifierNet {
            encoder,
            classifier: Dense {
                w: first,
                b: first + 1,
            },
            labels,
            p_classifier: cfg.hidden_dropout_prob as f32,
        }
    }

    /// Mean cross-entropy over the pieces whose target is a label (targets
    /// below 0 are not scored), and its gradients added into `grads`.
    pub fn step(
        &self,
        w: &[&[f32]],
        seqs: &[&[u32]],
        targets: &[&[i64]],
        seed: u64,
        tape: &mut Tape,
        grads: &mut [Vec<f32>],
    ) -> Result<f32> {
        let enc = &self.encoder;
        let h = enc.hidden;
        let c = self.labels;
        enc.forward(w, seqs, Some(seed), tape)?;
        let t = tape.tokens();
        let flat: Vec<Option<usize>> = targets
            .iter()
            .flat_map(|t| t.iter().map(|&y| usize::try_from(y).ok()))
            .collect();
        if flat.len() != t {
            return Err(Error::Usage("each piece needs a target".into()));
        }
        let mut x = std::mem::take(&mut tape.head_in);
        x.clear();
        x.extend_from_slice(&tape.out);
        let site = stream_seed(seed, SITE_HEAD);
        enc.dropout(&mut x, &mut tape.head_keep, self.p_classifier, site);
        let mut logits = std::mem::take(&mut tape.head_logits);
        fill(&mut logits, t * c);
        linear(&x, w[self.classifier.w], w[self.classifier.b], &mut logits);
        let (loss, _) = cross_entropy(&mut logits, c, &flat)?;

        // The encoder's backward pass hands this buffer back to the tape.
        let mut dh = std::mem::take(&mut tape.scratch[7]);
        fill(&mut dh, t * h);
        let g = pair(grads, self.classifier);
        linear_backward(
            &logits,
            &x,
            w[self.classifier.w],
            c,
            g,
            Some((&mut dh, false)),
        );
        if self.p_classifier > 0.0 {
            let keep = Encoder::keep_scale(self.p_classifier);
            apply_mask(&mut dh, &tape.head_keep, keep);
        }
        tape.head_in = x;
        tape.head_logits = logits;
        enc.backward(w, tape, dh, grads);
        Ok(loss)
    }
}

/// BERT with its masked-LM head, whose output matrix is the word embeddings.
pub struct MaskedLmNet {
    encoder: Encoder,
    transform: Dense,
    norm: Dense,
    bias: usize,
    vocab: usize,
}

impl MaskedLmNet {
    pub fn new(cfg: &BertConfig) -> Self {
        let encoder = Encoder::new(cfg);
        let f = encoder.slots();
        MaskedLmNet {
            encoder,
            transform: Dense { w: f, b: f + 1 },
            norm: Dense { w: f + 2, b: f + 3 },
            bias: f + 4,
            vocab: cfg.vocab_size,
        }
    }

    /// Names and shapes of the slots: the encoder's, then [`MLM_HEAD`]'s.
    pub fn slot_shapes(cfg: &BertConfig) -> Vec<(String, Vec<usize>)> {
        let mut v = parameter_shapes(cfg, 1);
        v.truncate(v.len() - 2);
        let h = cfg.hidden_size;
        v.push((MLM_HEAD[0].into(), vec![h, h]));
        v.push((MLM_HEAD[1].into(), vec![h]));
        v.push((MLM_HEAD[2].into(), vec![h]));
        v.push((MLM_HEAD[3].into(), vec![h]));
        v.push((MLM_HEAD[4].into(), vec![cfg.vocab_size]));
        v
    }

    /// Mean cross-entropy of the pieces at `positions` (into the windows
    /// laid end to end) against their original ids, and how many were
    /// predicted exactly. Without `seed` the encoder runs without dropout
    /// and only the head gets gradients.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &self,
        w: &[&[f32]],
        seqs: &[&[u32]],
        positions: &[usize],
        targets: &[u32],
        seed: Option<u64>,
        tape: &mut Tape,
        grads: &mut [Vec<f32>],
    ) -> Result<(f32, usize)> {
        let enc = &self.encoder;
        let (h, v, m) = (enc.hidden, self.vocab, positions.len());
        enc.forward(w, seqs, seed, tape)?;
        let t = tape.tokens();
        let mut picked = vec![0f32; m * h];
        for (row, &p) in picked.chunks_exact_mut(h).zip(positions) {
            if p >= t {
                return Err(Error::Usage(format!(
                    "masked position {p} is outside the batch"
                )));
            }
            row.copy_from_slice(&tape.out[p * h..(p + 1) * h]);
        }
        let mut pre = vec![0f32; m * h];
        linear(&picked, w[self.transform.w], w[self.transform.b], &mut pre);
        let mut act = vec![0f32; m * h];
        activate(&pre, &mut act, enc.act);
        let (mut y, mut xhat, mut rstd) = (vec![0f32; m * h], vec![0f32; m * h], vec![0f32; m]);
        let n = self.norm;
        layer_norm(&act, w[n.w], w[n.b], enc.eps, &mut y, &mut xhat, &mut rstd);
        let mut logits = std::mem::take(&mut tape.head_logits);
        fill(&mut logits, m * v);
        linear(&y, w[enc.word], w[self.bias], &mut logits);
        let targets: Vec<Option<usize>> = targets.iter().map(|&t| Some(t as usize)).collect();
        let (loss, hits) = cross_entropy(&mut logits, v, &targets)?;

        // Backward: output bias and matrix, norm, activation, transform.
        if !grads[self.bias].is_empty() {
            add_column_sums(&logits, &mut grads[self.bias]);
        }
        if !grads[enc.word].is_empty() {
            let dw = ViewMut::new(&mut grads[enc.word], v, h);
            matmul(
                dw,
                View::new(&logits, m, v).t(),
                View::new(&y, m, h),
                true,
                1.0,
                Par::All,
            );
        }
        let mut dy = vec![0f32; m * h];
        linear_backward(&logits, &y, w[enc.word], v, None, Some((&mut dy, false)));
        let mut dact = vec![0f32; m * h];
        layer_norm_backward(&dy, &xhat, &rstd, w[n.w], pair(grads, n), &mut dact, false);
        activate_backward(&pre, &mut dact, enc.act);
        let mut dpicked = vec![0f32; m * h];
        let g = pair(grads, self.transform);
        linear_backward(
            &dact,
            &picked,
            w[self.transform.w],
            h,
            g,
            Some((&mut dpicked, false)),
        );
        tape.head_logits = logits;
        if seed.is_some() {
            // Zeroed: only the masked rows get a gradient.
            let mut dout = std::mem::take(&mut tape.scratch[7]);
            dout.clear();
            dout.resize(t * h, 0.0);
            for (row, &p) in dpicked.chunks_exact(h).zip(positions) {
                for (d, g) in dout[p * h..(p + 1) * h].iter_mut().zip(row) {
                    *d += g;
                }
            }
            enc.backward(w, tape, dout, grads);
        }
        Ok((loss, hits))
    }
}

#[cfg(test)]
mod tests;

//! Fine-tuning BERT by hand: the forward pass over windows packed one after
//! another without padding, keeping what the backward pass needs, and the
//! backward pass written out layer by layer.
//!
//! The reference graph (`model::bert`, differentiated by candle) pads every
//! window of a batch to the longest, builds its attention for the padding
//! too, and allocates each intermediate twice over (value and gradient);
//! this path runs each window's attention at its own length, fuses what it
//! can and reuses its buffers from step to step. It is tested against the
//! reference: same loss and gradients for every parameter.
//!
//! Parameters are read as slices in the order of
//! [`parameter_shapes`](crate::model::bert::parameter_shapes); gradients
//! come back in the same order (empty for a frozen parameter).

use rayon::prelude::*;

use super::backprop::{
    activate, activate_backward, apply_mask, draw, draw_mask, dropout_add, fork_masked, layer_norm,
    layer_norm_backward, linear, linear_backward, matmul, softmax_rows, softmax_rows_backward,
    stream_seed, Par, View, ViewMut,
};
use crate::error::{Error, Result};
use crate::model::config::{Activation, BertConfig};

/// Slots of a dense layer's weight and bias.
#[derive(Clone, Copy)]
pub(crate) struct Dense {
    pub(crate) w: usize,
    pub(crate) b: usize,
}

/// Slots of a layer norm's weight and bias.
type Norm = Dense;

#[derive(Clone, Copy)]
struct LayerSlots {
    q: Dense,
    k: Dense,
    v: Dense,
    o: Dense,
    attn_norm: Norm,
    inter: Dense,
    out: Dense,
    out_norm: Norm,
}

/// What the forward pass of one layer keeps for the backward pass.
#[derive(Default)]
pub(crate) struct LayerTape {
    /// Residual sums (scratch).
    sum: Vec<f32>,
    x: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    probs: Vec<f32>,
    attn_keep: Vec<u8>,
    ctx: Vec<f32>,
    pub(crate) keep1: Vec<u8>,
    xhat1: Vec<f32>,
    rstd1: Vec<f32>,
    y1: Vec<f32>,
    pre: Vec<f32>,
    act: Vec<f32>,
    keep2: Vec<u8>,
    xhat2: Vec<f32>,
    rstd2: Vec<f32>,
}

/// Activations of a step, and scratch space; kept from step to step so the
/// memory is allocated once.
#[derive(Default)]
pub struct Tape {
    /// `(first token, length)` of each window.
    spans: Vec<(usize, usize)>,
    /// Dropout rates of the step (0 for a pass without dropout).
    p_hidden: f32,
    p_attn: f32,
    /// Where each window's attention probabilities start (all heads).
    prob_off: Vec<usize>,
    ids: Vec<u32>,
    positions: Vec<usize>,
    emb_xhat: Vec<f32>,
    emb_rstd: Vec<f32>,
    emb_keep: Vec<u8>,
    pub(crate) layers: Vec<LayerTape>,
    /// The encoder's output `[tokens, hidden]`.
    pub out: Vec<f32>,
    pub(crate) head_keep: Vec<u8>,
    pub(crate) head_in: Vec<f32>,
    /// The heads' logits (kept from step to step, as every buffer here).
    pub(crate) head_logits: Vec<f32>,
    pub(crate) scratch: [Vec<f32>; 9],
}

impl Tape {
    /// Tokens in the step.
    pub fn tokens(&self) -> usize {
        self.ids.len()
    }
}

/// Sizes a buffer to `n` values for a step. Values kept from the last step
/// are not zeroed again: every buffer sized this way is written whole
/// before it is read, and zeroing them all cost a tenth of a step.
pub(crate) fn fill<T: Copy + Default + Send>(v: &mut Vec<T>, n: usize) {
    if n > v.capacity() {
        // A new allocation: growing in place would copy values nobody reads.
        *v = Vec::with_capacity(n);
    }
    v.truncate(n);
    let old = v.len();
    // The new values are written by every thread (the first touch of
    // fresh pages is most of the cost).
    v.spare_capacity_mut()[..n - old]
        .par_chunks_mut(1 << 14)
        .for_each(|c| {
            for x in c {
                x.write(T::default());
            }
        });
    // SAFETY: the `n - old` values past the length were just written.
    unsafe { v.set_len(n) };
}

/// A pointer that parallel tasks writing disjoint parts may share.
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);
// SAFETY: each task writes only its own block (see the callers).
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// # Safety
    /// `off..off + len` lies inside the allocation and no other live slice
    /// overlaps it.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice(&self, off: usize, len: usize) -> &mut [T] {
        std::slice::from_raw_parts_mut(self.0.add(off), len)
    }
}

/// Two gradient slots at once (`a < b`), or `None` when the parameter is frozen.
pub(crate) fn pair(g: &mut [Vec<f32>], s: Dense) -> Option<(&mut [f32], &mut [f32])> {
    let (lo, hi) = g.split_at_mut(s.b);
    let (w, b) = (&mut lo[s.w], &mut hi[0]);
    if w.is_empty() || b.is_empty() {
        None
    } else {
        Some((w.as_mut_slice(), b.as_mut_slice()))
    }
}

/// The BERT encoder's training forward and backward passes.
pub struct Encoder {
    pub(crate) hidden: usize,
    heads: usize,
    inter: usize,
    pub(crate) act: Activation,
    pub(crate) eps: f32,
    pub(crate) p_hidden: f32,
    p_attn: f32,
    pub(crate) word: usize,
    position: usize,
    token_type: usize,
    emb_norm: Norm,
    layers: Vec<LayerSlots>,
    max_positions: usize,
    vocab: usize,
}

thread_local! {
    /// A task's attention scratch: dropped probabilities, their gradient.
    static SCRATCH: std::cell::RefCell<[Vec<f32>; 2]> = const { std::cell::RefCell::new([Vec::new(), Vec::new()]) };
}

/// Dropout sites of one step, each with its own stream.
const SITE_EMBEDDINGS: u64 = 0;
/// The heads' dropout site.
pub(crate) const SITE_HEAD: u64 = 1;
fn layer_site(layer: usize, k: u64) -> u64 {
    16 + 4 * layer as u64 + k
}

impl Encoder {
    /// Slots as [`parameter_shapes`](crate::model::bert::parameter_shapes) orders them.
    pub fn new(cfg: &BertConfig) -> Self {
        let mut layers = Vec::new();
        for i in 0..cfg.num_hidden_layers {
            let base = 5 + 16 * i;
            let d = |k: usize| Dense {
                w: base + 2 * k,
                b: base + 2 * k + 1,
            };
            layers.push(LayerSlots {
                q: d(0),
                k: d(1),
                v: d(2),
                o: d(3),
                inter: d(4),
                out: d(5),
                attn_norm: d(6),
                out_norm: d(7),
            });
        }
        Encoder {
            hidden: cfg.hidden_size,
            heads: cfg.num_attention_heads,
            inter: cfg.intermediate_size,
            act: cfg.hidden_act,
            eps: cfg.layer_norm_eps as f32,
            p_hidden: cfg.hidden_dropout_prob as f32,
            p_attn: cfg.attention_probs_dropout_prob as f32,
            word: 0,
            position: 1,
            token_type: 2,
            emb_norm: Dense { w: 3, b: 4 },
            layers,
            max_positions: cfg.max_position_embeddings,
            vocab: cfg.vocab_size,
        }
    }

    /// Number of parameter slots the encoder reads.
    pub fn slots(&self) -> usize {
        5 + 16 * self.layers.len()
    }

    pub(crate) fn keep_scale(p: f32) -> f32 {
        1.0 / (1.0 - p)
    }

    /// Forward pass over `seqs` (token ids of each window), dropout drawn
    /// from `seed` (`None`: no dropout); the output is `tape.out`.
    pub fn forward(
        &self,
        w: &[&[f32]],
        seqs: &[&[u32]],
        seed: Option<u64>,
        tape: &mut Tape,
    ) -> Result<()> {
        let on = seed.is_some() as u8 as f32;
        (tape.p_hidden, tape.p_attn) = (on * self.p_hidden, on * self.p_attn);
        let seed = seed.unwrap_or(0);
        let h = self.hidden;
        tape.spans.clear();
        tape.prob_off.clear();
        tape.ids.clear();
        tape.positions.clear();
        let mut off = 0;
        for s in seqs {
            if s.len() > self.max_positions {
                return Err(Error::Usage(format!(
                    "a window of {} pieces is longer than the model's {} positions",
                    s.len(),
                    self.max_positions
                )));
            }
            if let Some(&bad) = s.iter().find(|&&id| id as usize >= self.vocab) {
                return Err(Error::Usage(format!(
                    "piece id {bad} is outside the vocabulary"
                )));
            }
            tape.spans.push((tape.ids.len(), s.len()));
            tape.prob_off.push(off);
            off += self.heads * s.len() * s.len();
            tape.ids.extend_from_slice(s);
            tape.positions.extend(0..s.len());
        }
        let t = tape.ids.len();
        tape.layers
            .resize_with(self.layers.len(), LayerTape::default);

        // Embeddings: word + position + token type 0, layer norm, dropout.
        let [sum, ..] = &mut tape.scratch;
        fill(sum, t * h);
        let (word, pos, typ) = (w[self.word], w[self.position], &w[self.token_type][..h]);
        sum.par_chunks_mut(h)
            .zip(tape.ids.par_iter())
            .zip(tape.positions.par_iter())
            .with_min_len(16)
            .for_each(|((row, &id), &p)| {
                let (wr, pr) = (&word[id as usize * h..][..h], &pos[p * h..][..h]);
                for j in 0..h {
                    row[j] = wr[j] + pr[j] + typ[j];
                }
            });
        let x0 = &mut tape.layers[0].x;
        fill(x0, t * h);
        fill(&mut tape.emb_xhat, t * h);
        fill(&mut tape.emb_rstd, t);
        let n = self.emb_norm;
        layer_norm(
            sum,
            w[n.w],
            w[n.b],
            self.eps,
            x0,
            &mut tape.emb_xhat,
            &mut tape.emb_rstd,
        );
        self.dropout(
            x0,
            &mut tape.emb_keep,
            tape.p_hidden,
            stream_seed(seed, SITE_EMBEDDINGS),
        );

        for l in 0..self.layers.len() {
            let (this, rest) = tape.layers[l..].split_first_mut().expect("layer");
            let out = match rest.first_mut() {
                Some(next) => &mut next.x,
                None => &mut tape.out,
            };
            let p = (tape.p_hidden, tape.p_attn);
            self.layer_forward(l, w, this, &tape.spans, &tape.prob_off, seed, p, out);
        }
        Ok(())
    }

    /// Dropout on `x`, then `residual` added.
    fn dropout_add(&self, x: &mut [f32], keep: &mut Vec<u8>, p: f32, seed: u64, residual: &[f32]) {
        if p > 0.0 {
            fill(keep, x.len());
        } else {
            keep.clear();
        }
        dropout_add(x, keep, self.hidden, p, seed, residual);
    }

    pub(crate) fn dropout(&self, x: &mut [f32], keep: &mut Vec<u8>, p: f32, seed: u64) {
        if p > 0.0 {
            fill(keep, x.len());
            draw_mask(keep, self.hidden, p, seed);
            apply_mask(x, keep, Self::keep_scale(p));
        } else {
            keep.clear();
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn layer_forward(
        &self,
        l: usize,
        w: &[&[f32]],
        t: &mut LayerTape,
        spans: &[(usize, usize)],
        prob_off: &[usize],
        seed: u64,
        (p_hidden, p_attn): (f32, f32),
        out: &mut Vec<f32>,
    ) {
        let s = self.layers[l];
        let (h, f) = (self.hidden, self.inter);
        let tokens = t.x.len() / h;
        for (buf, d) in [(&mut t.q, s.q), (&mut t.k, s.k), (&mut t.v, s.v)] {
            fill(buf, tokens * h);
            linear(&t.x, w[d.w], w[d.b], buf);
        }
        self.attention(
            t,
            spans,
            prob_off,
            stream_seed(seed, layer_site(l, 0)),
            p_attn,
        );

        // Attention output, dropout, residual, norm.
        let mut r1 = std::mem::take(&mut t.sum);
        fill(&mut r1, tokens * h);
        linear(&t.ctx, w[s.o.w], w[s.o.b], &mut r1);
        let site = stream_seed(seed, layer_site(l, 1));
        self.dropout_add(&mut r1, &mut t.keep1, p_hidden, site, &t.x);
        fill(&mut t.y1, tokens * h);
        fill(&mut t.xhat1, tokens * h);
        fill(&mut t.rstd1, tokens);
        let n = s.attn_norm;
        layer_norm(
            &r1,
            w[n.w],
            w[n.b],
            self.eps,
            &mut t.y1,
            &mut t.xhat1,
            &mut t.rstd1,
        );

        // Feed-forward, dropout, residual, norm.
        fill(&mut t.pre, tokens * f);
        linear(&t.y1, w[s.inter.w], w[s.inter.b], &mut t.pre);
        fill(&mut t.act, tokens * f);
        activate(&t.pre, &mut t.act, self.act);
        let mut r2 = r1;
        linear(&t.act, w[s.out.w], w[s.out.b], &mut r2);
        let site = stream_seed(seed, layer_site(l, 2));
        self.dropout_add(&mut r2, &mut t.keep2, p_hidden, site, &t.y1);
        fill(out, tokens * h);
        fill(&mut t.xhat2, tokens * h);
        fill(&mut t.rstd2, tokens);
        let n = s.out_norm;
        layer_norm(
            &r2,
            w[n.w],
            w[n.b],
            self.eps,
            out,
            &mut t.xhat2,
            &mut t.rstd2,
        );
        t.sum = r2;
    }

    /// Each window's attention, head by head, in parallel tasks.
    fn attention(
        &self,
        t: &mut LayerTape,
        spans: &[(usize, usize)],
        prob_off: &[usize],
        seed: u64,
        p: f32,
    ) {
        let (h, heads) = (self.hidden, self.heads);
        let d = h / heads;
        let scale = 1.0 / (d as f32).sqrt();
        let total =
            prob_off.last().map_or(0, |&o| o) + spans.last().map_or(0, |&(_, n)| heads * n * n);
        fill(&mut t.probs, total);
        if p > 0.0 {
            fill(&mut t.attn_keep, total);
        } else {
            t.attn_keep.clear();
        }
        fill(&mut t.ctx, t.q.len());
        let probs = Shared(t.probs.as_mut_ptr());
        let keep = Shared(t.attn_keep.as_mut_ptr());
        let ctx = Shared(t.ctx.as_mut_ptr());
        let ctx_len = t.ctx.len();
        let (q, k, v) = (&t.q, &t.k, &t.v);
        (0..spans.len() * heads).into_par_iter().for_each(|task| {
            let (wi, head) = (task / heads, task % heads);
            let (start, n) = spans[wi];
            let off = prob_off[wi] + head * n * n;
            // SAFETY: block `(wi, head)` of the probabilities and masks and
            // its rows and columns of the context are this task's alone.
            let pr = unsafe { probs.slice(off, n * n) };
            let col = start * h + head * d;
            matmul(
                ViewMut::new(pr, n, n),
                View::block(q, n, d, h, col),
                View::block(k, n, d, h, col).t(),
                false,
                scale,
                Par::One,
            );
            softmax_rows(pr, n, 1.0);
            SCRATCH.with_borrow_mut(|[dropped, _]| {
                let pv: &[f32] = if p > 0.0 {
                    let kp = unsafe { keep.slice(off, n * n) };
                    draw(kp, p, stream_seed(seed, task as u64));
                    let s = Self::keep_scale(p);
                    dropped.clear();
                    dropped.extend(pr.iter().zip(kp.iter()).map(|(&x, &k)| x * (k as f32 * s)));
                    dropped
                } else {
                    pr
                };
                let c = unsafe { ctx.slice(0, ctx_len) };
                matmul(
                    ViewMut::block(c, n, d, h, col),
                    View::new(pv, n, n),
                    View::block(v, n, d, h, col),
                    false,
                    1.0,
                    Par::One,
                );
            });
        });
    }

    /// Backward pass from `dout` (gradient of `tape.out`), adding into
    /// `grads` (one vector per slot, empty for frozen ones).
    pub fn backward(&self, w: &[&[f32]], tape: &mut Tape, dout: Vec<f32>, grads: &mut [Vec<f32>]) {
        let h = self.hidden;
        let mut dy = dout;
        let mut dx = std::mem::take(&mut tape.scratch[8]);
        for l in (0..self.layers.len()).rev() {
            fill(&mut dx, dy.len());
            self.layer_backward(l, w, tape, &dy, &mut dx, grads);
            std::mem::swap(&mut dy, &mut dx);
        }
        // Embeddings: dropout, norm, then the three tables.
        if tape.p_hidden > 0.0 {
            apply_mask(&mut dy, &tape.emb_keep, Self::keep_scale(tape.p_hidden));
        }
        let mut de = std::mem::take(&mut dx);
        fill(&mut de, dy.len());
        let n = self.emb_norm;
        layer_norm_backward(
            &dy,
            &tape.emb_xhat,
            &tape.emb_rstd,
            w[n.w],
            pair(grads, n),
            &mut de,
            false,
        );
        let (lo, hi) = grads.split_at_mut(self.position);
        let gword = &mut lo[self.word];
        let (gpos, rest) = hi.split_first_mut().expect("slots");
        let gtyp = &mut rest[0];
        for ((row, &id), &p) in de.chunks_exact(h).zip(&tape.ids).zip(&tape.positions) {
            for (targ, base) in [
                (&mut *gword, id as usize * h),
                (&mut *gpos, p * h),
                (&mut *gtyp, 0),
            ] {
                if !targ.is_empty() {
                    for (g, v) in targ[base..base + h].iter_mut().zip(row) {
                        *g += v;
                    }
                }
            }
        }
        tape.scratch[8] = de;
        tape.scratch[7] = dy;
    }

    fn layer_backward(
        &self,
        l: usize,
        w: &[&[f32]],
        tape: &mut Tape,
        dout: &[f32],
        dx: &mut [f32],
        grads: &mut [Vec<f32>],
    ) {
        let s = self.layers[l];
        let (h, f) = (self.hidden, self.inter);
        let t = &tape.layers[l];
        let tokens = t.x.len() / h;
        let [dr, dy1, dact, dctx, dq, dk, dv, ..] = &mut tape.scratch;
        for (b, n) in [
            (&mut *dr, h),
            (&mut *dy1, h),
            (&mut *dact, f),
            (&mut *dctx, h),
        ] {
            fill(b, tokens * n);
        }
        let (p_hidden, p_attn) = (tape.p_hidden, tape.p_attn);
        let hs = Self::keep_scale(p_hidden);

        // Output norm; the residual passes its gradient to y1 as it is.
        let n = s.out_norm;
        layer_norm_backward(dout, &t.xhat2, &t.rstd2, w[n.w], pair(grads, n), dr, false);
        fork_masked(dr, dy1, (p_hidden > 0.0).then_some((&t.keep2[..], hs)));
        linear_backward(
            dr,
            &t.act,
            w[s.out.w],
            h,
            pair(grads, s.out),
            Some((dact, false)),
        );
        activate_backward(&t.pre, dact, self.act);
        linear_backward(
            dact,
            &t.y1,
            w[s.inter.w],
            f,
            pair(grads, s.inter),
            Some((dy1, true)),
        );

        // Attention norm; the residual passes its gradient to x as it is.
        let n = s.attn_norm;
        layer_norm_backward(dy1, &t.xhat1, &t.rstd1, w[n.w], pair(grads, n), dr, false);
        fork_masked(dr, dx, (p_hidden > 0.0).then_some((&t.keep1[..], hs)));
        linear_backward(
            dr,
            &t.ctx,
            w[s.o.w],
            h,
            pair(grads, s.o),
            Some((dctx, false)),
        );

        for b in [&mut *dq, &mut *dk, &mut *dv] {
            fill(b, tokens * h);
        }
        self.attention_backward(t, &tape.spans, &tape.prob_off, p_attn, dctx, dq, dk, dv);
        for (d, dense) in [(&*dq, s.q), (&*dk, s.k), (&*dv, s.v)] {
            linear_backward(
                d,
                &t.x,
                w[dense.w],
                h,
                pair(grads, dense),
                Some((&mut *dx, true)),
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn attention_backward(
        &self,
        t: &LayerTape,
        spans: &[(usize, usize)],
        prob_off: &[usize],
        p: f32,
        dctx: &[f32],
        dq: &mut [f32],
        dk: &mut [f32],
        dv: &mut [f32],
    ) {
        let (h, heads) = (self.hidden, self.heads);
        let d = h / heads;
        let scale = 1.0 / (d as f32).sqrt();
        let ks = Self::keep_scale(p);
        let len = dq.len();
        let (gq, gk, gv) = (
            Shared(dq.as_mut_ptr()),
            Shared(dk.as_mut_ptr()),
            Shared(dv.as_mut_ptr()),
        );
        (0..spans.len() * heads).into_par_iter().for_each(|task| {
            let (wi, head) = (task / heads, task % heads);
            let (start, n) = spans[wi];
            let off = prob_off[wi] + head * n * n;
            let col = start * h + head * d;
            let probs = &t.probs[off..off + n * n];
            let keep = (p > 0.0).then(|| &t.attn_keep[off..off + n * n]);
            SCRATCH.with_borrow_mut(|[dropped, ds]| {
                let dropped: &[f32] = match keep {
                    Some(k) => {
                        dropped.clear();
                        dropped.extend(probs.iter().zip(k).map(|(&x, &k)| x * k as f32 * ks));
                        dropped
                    }
                    None => probs,
                };
                // SAFETY: rows `start..start + n`, columns of `head`: this task's alone.
                let (gq, gk, gv) =
                    unsafe { (gq.slice(0, len), gk.slice(0, len), gv.slice(0, len)) };
                let dc = View::block(dctx, n, d, h, col);
                // dV = P̃ᵀ·dC
                matmul(
                    ViewMut::block(gv, n, d, h, col),
                    View::new(dropped, n, n).t(),
                    dc,
                    false,
                    1.0,
                    Par::One,
                );
                // dP̃ = dC·Vᵀ, then through the dropout and the softmax.
                fill(ds, n * n);
                matmul(
                    ViewMut::new(ds, n, n),
                    dc,
                    View::block(&t.v, n, d, h, col).t(),
                    false,
                    1.0,
                    Par::One,
                );
                if let Some(k) = keep {
                    for (x, &k) in ds.iter_mut().zip(k) {
                        *x *= k as f32 * ks;
                    }
                }
                softmax_rows_backward(probs, ds, n);
                // S = scale·Q·Kᵀ: dQ = scale·dS·K, dK = scale·dSᵀ·Q.
                let dsv = View::new(ds, n, n);
                matmul(
                    ViewMut::block(gq, n, d, h, col),
                    dsv,
                    View::block(&t.k, n, d, h, col),
                    false,
                    scale,
                    Par::One,
                );
                matmul(
                    ViewMut::block(gk, n, d, h, col),
                    dsv.t(),
                    View::block(&t.q, n, d, h, col),
                    false,
                    scale,
                    Par::One,
                );
            });
        });
    }
}

/// The values of an f32 tensor on the CPU, read through its storage's
/// guard (the optimizer writes into the same storage between steps).
pub fn f32_values<'a>(
    storage: &'a candle_core::Storage,
    layout: &candle_core::Layout,
) -> Result<&'a [f32]> {
    match (storage, layout.contiguous_offsets()) {
        (candle_core::Storage::Cpu(candle_core::CpuStorage::F32(v)), Some((a, b))) => Ok(&v[a..b]),
        _ => Err(Error::Usage(
            "training reads contiguous f32 tensors on the CPU".into(),
        )),
    }
}

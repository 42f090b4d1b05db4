//! BERT encoder with a token-classification head and a masked-LM head, run by candle.
//!
//! Written for this crate rather than taken from candle-transformers because
//! training needs dropout that really drops and ops that have gradients
//! (candle's fused softmax and layer norm have none), while inference wants
//! the fused ops. [`Mode`] picks between the two paths.

use candle_core::{DType, Device, Tensor, D};

use super::config::{Activation, BertConfig};
use super::weights::Weights;
use crate::error::Result;

/// How a forward pass runs.
pub enum Mode<'a> {
    /// Inference: fused kernels, no dropout.
    Eval,
    /// Training: differentiable ops and dropout drawn from the given source.
    Train(&'a mut Dropout),
}

impl Mode<'_> {
    fn training(&self) -> bool {
        matches!(self, Mode::Train(_))
    }

    fn dropout(&mut self, x: &Tensor, p: f32) -> Result<Tensor> {
        match self {
            Mode::Train(d) if p > 0.0 => d.apply(x, p),
            _ => Ok(x.clone()),
        }
    }
}

/// Dropout masks from a seeded generator, so that a training run with a given
/// seed is repeatable, and resumable from any step.
pub struct Dropout {
    state: u64,
}

impl Dropout {
    /// A mask source for one step; derive `seed` from the run seed and step.
    pub fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so that nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Dropout {
            state: (z ^ (z >> 31)) | 1,
        }
    }

    /// Next 64 random bits (xorshift64*: fast enough for millions of draws a step).
    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn apply(&mut self, x: &Tensor, p: f32) -> Result<Tensor> {
        let n = x.elem_count();
        let threshold = (p as f64 * u32::MAX as f64) as u32;
        let keep = 1.0 / (1.0 - p);
        let mask: Vec<f32> = (0..n)
            .map(|_| {
                if self.next_u32() < threshold {
                    0.0
                } else {
                    keep
                }
            })
            .collect();
        let mask = Tensor::from_vec(mask, x.shape(), x.device())?;
        Ok(x.mul(&mask)?)
    }
}

/// A dense layer with PyTorch's `[out, in]` weight layout.
#[derive(Clone)]
pub struct Dense {
    weight: Tensor,
    bias: Tensor,
}

impl Dense {
    fn load(w: &Weights, prefix: &str, in_dim: usize, out_dim: usize) -> Result<Self> {
        Ok(Dense {
            weight: w.get(&format!("{prefix}.weight"), &[out_dim, in_dim])?,
            bias: w.get(&format!("{prefix}.bias"), &[out_dim])?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        // One 2-D product over all positions is faster than a batched one.
        let dims = x.dims().to_vec();
        let in_dim = dims[dims.len() - 1];
        let rows = x.elem_count() / in_dim;
        let y = x
            .reshape((rows, in_dim))?
            .matmul(&self.weight.t()?)?
            .broadcast_add(&self.bias)?;
        let mut out_dims = dims;
        let last = out_dims.len() - 1;
        out_dims[last] = self.bias.dims()[0];
        Ok(y.reshape(out_dims)?)
    }
}

#[derive(Clone)]
struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    fn load(w: &Weights, prefix: &str, dim: usize, eps: f64) -> Result<Self> {
        Ok(LayerNorm {
            weight: w.get(&format!("{prefix}.weight"), &[dim])?,
            bias: w.get(&format!("{prefix}.bias"), &[dim])?,
            eps,
        })
    }

    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        if !training {
            let x = x.contiguous()?;
            return Ok(candle_nn::ops::layer_norm(
                &x,
                &self.weight,
                &self.bias,
                self.eps as f32,
            )?);
        }
        let mean = x.mean_keepdim(D::Minus1)?;
        let centered = x.broadcast_sub(&mean)?;
        let var = centered.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centered.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        Ok(normed
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)?)
    }
}

#[derive(Clone)]
struct Embeddings {
    word: Tensor,
    position: Tensor,
    token_type: Tensor,
    norm: LayerNorm,
}

impl Embeddings {
    fn load(w: &Weights, cfg: &BertConfig) -> Result<Self> {
        let h = cfg.hidden_size;
        Ok(Embeddings {
            word: w.get("embeddings.word_embeddings.weight", &[cfg.vocab_size, h])?,
            position: w.get(
                "embeddings.position_embeddings.weight",
                &[cfg.max_position_embeddings, h],
            )?,
            token_type: w.get(
                "embeddings.token_type_embeddings.weight",
                &[cfg.type_vocab_size, h],
            )?,
            norm: LayerNorm::load(w, "embeddings.LayerNorm", h, cfg.layer_norm_eps)?,
        })
    }

    fn forward(&self, ids: &Tensor, mode: &mut Mode, p: f32) -> Result<Tensor> {
        let (b, l) = ids.dims2()?;
        let h = self.word.dims()[1];
        let words = self
            .word
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((b, l, h))?;
        // Token type 0 everywhere: single-sequence tagging.
        let extra = self
            .position
            .narrow(0, 0, l)?
            .broadcast_add(&self.token_type.narrow(0, 0, 1)?)?;
        let x = words.broadcast_add(&extra)?;
        let x = self.norm.forward(&x, mode.training())?;
        mode.dropout(&x, p)
    }
}

#[derive(Clone)]
struct Layer {
    query: Dense,
    key: Dense,
    value: Dense,
    attn_out: Dense,
    attn_norm: LayerNorm,
    intermediate: Dense,
    output: Dense,
    out_norm: LayerNorm,
}

impl Layer {
    fn load(w: &Weights, cfg: &BertConfig, i: usize) -> Result<Self> {
        let h = cfg.hidden_size;
        let p = format!("encoder.layer.{i}");
        let eps = cfg.layer_norm_eps;
        Ok(Layer {
            query: Dense::load(w, &format!("{p}.attention.self.query"), h, h)?,
            key: Dense::load(w, &format!("{p}.attention.self.key"), h, h)?,
            value: Dense::load(w, &format!("{p}.attention.self.value"), h, h)?,
            attn_out: Dense::load(w, &format!("{p}.attention.output.dense"), h, h)?,
            attn_norm: LayerNorm::load(w, &format!("{p}.attention.output.LayerNorm"), h, eps)?,
            intermediate: Dense::load(
                w,
                &format!("{p}.intermediate.dense"),
                h,
                cfg.intermediate_size,
            )?,
            output: Dense::load(w, &format!("{p}.output.dense"), cfg.intermediate_size, h)?,
            out_norm: LayerNorm::load(w, &format!("{p}.output.LayerNorm"), h, eps)?,
        })
    }
}

fn activate(act: Activation, x: &Tensor) -> Result<Tensor> {
    Ok(match act {
        Activation::Gelu => x.gelu_erf()?,
        Activation::GeluTanh => x.gelu()?,
        Activation::Relu => x.relu()?,
    })
}

/// The BERT encoder: embeddings and a stack of transformer layers.
#[derive(Clone)]
pub struct BertModel {
    embeddings: Embeddings,
    layers: Vec<Layer>,
    heads: usize,
    act: Activation,
    hidden_dropout: f32,
    attn_dropout: f32,
}

impl BertModel {
    /// Builds the encoder from weights named as in Hugging Face `BertModel`.
    pub fn load(w: &Weights, cfg: &BertConfig) -> Result<Self> {
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| Layer::load(w, cfg, i))
            .collect::<Result<Vec<_>>>()?;
        Ok(BertModel {
            embeddings: Embeddings::load(w, cfg)?,
            layers,
            heads: cfg.num_attention_heads,
            act: cfg.hidden_act,
            hidden_dropout: cfg.hidden_dropout_prob as f32,
            attn_dropout: cfg.attention_probs_dropout_prob as f32,
        })
    }

    /// Hidden states `[batch, len, hidden]` for token ids `[batch, len]` and
    /// an attention mask `[batch, len]` (1 for tokens, 0 for padding).
    pub fn forward(&self, ids: &Tensor, mask: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        // Padding gets a large negative score before the softmax.
        let bias = ((mask.to_dtype(DType::F32)?.unsqueeze(1)?.unsqueeze(1)? - 1.0)? * 1e4)?;
        let mut x = self.embeddings.forward(ids, mode, self.hidden_dropout)?;
        for layer in &self.layers {
            x = self.layer_forward(layer, &x, &bias, mode)?;
        }
        Ok(x)
    }

    fn layer_forward(
        &self,
        l: &Layer,
        x: &Tensor,
        bias: &Tensor,
        mode: &mut Mode,
    ) -> Result<Tensor> {
        let (b, n, h) = x.dims3()?;
        let hs = h / self.heads;
        let split = |t: Tensor| -> Result<Tensor> {
            Ok(t.reshape((b, n, self.heads, hs))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let q = split((l.query.forward(x)? * (1.0 / (hs as f64).sqrt()))?)?;
        let k = split(l.key.forward(x)?)?;
        let v = split(l.value.forward(x)?)?;
        let scores = q.matmul(&k.t()?)?.broadcast_add(bias)?;
        let probs = if mode.training() {
            candle_nn::ops::softmax(&scores, D::Minus1)?
        } else {
            candle_nn::ops::softmax_last_dim(&scores)?
        };
        let probs = mode.dropout(&probs, self.attn_dropout)?;
        let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, n, h))?;
        let a = mode.dropout(&l.attn_out.forward(&ctx)?, self.hidden_dropout)?;
        let a = l.attn_norm.forward(&(a + x)?, mode.training())?;
        let i = l.intermediate.forward(&a)?;
        let i = activate(self.act, &i)?;
        let o = mode.dropout(&l.output.forward(&i)?, self.hidden_dropout)?;
        l.out_norm.forward(&(o + a)?, mode.training())
    }
}

/// BERT with a linear classifier over each token: `BertForTokenClassification`.
#[derive(Clone)]
pub struct BertForTokenClassification {
    bert: BertModel,
    classifier: Dense,
    dropout: f32,
}

impl BertForTokenClassification {
    /// Builds the model; the classifier is `classifier.weight` / `classifier.bias`.
    pub fn load(w: &Weights, cfg: &BertConfig, num_labels: usize) -> Result<Self> {
        Ok(BertForTokenClassification {
            bert: BertModel::load(w, cfg)?,
            classifier: Dense::load(w, "classifier", cfg.hidden_size, num_labels)?,
            dropout: cfg.hidden_dropout_prob as f32,
        })
    }

    /// The encoder alone.
    pub fn encoder(&self) -> &BertModel {
        &self.bert
    }

    /// Logits `[batch, len, labels]`.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor, mode: &mut Mode) -> Result<Tensor> {
        let x = self.bert.forward(ids, mask, mode)?;
        let x = mode.dropout(&x, self.dropout)?;
        self.classifier.forward(&x)
    }
}

/// Names of the masked-language-model head's tensors, in Hugging Face
/// `BertForMaskedLM` naming (the decoder matrix is the word embeddings).
pub const MLM_HEAD: [&str; 5] = [
    "cls.predictions.transform.dense.weight",
    "cls.predictions.transform.dense.bias",
    "cls.predictions.transform.LayerNorm.weight",
    "cls.predictions.transform.LayerNorm.bias",
    "cls.predictions.bias",
];

/// BERT's masked-language-model head: a dense layer, the activation and a
/// layer norm, then scores against every word embedding (tied weights).
pub struct MaskedLmHead {
    transform: Dense,
    norm: LayerNorm,
    act: Activation,
    decoder: Tensor,
    bias: Tensor,
}

impl MaskedLmHead {
    /// Builds the head; `w` needs the [`MLM_HEAD`] tensors and the word
    /// embeddings.
    pub fn load(w: &Weights, cfg: &BertConfig) -> Result<Self> {
        let h = cfg.hidden_size;
        Ok(MaskedLmHead {
            transform: Dense::load(w, "cls.predictions.transform.dense", h, h)?,
            norm: LayerNorm::load(
                w,
                "cls.predictions.transform.LayerNorm",
                h,
                cfg.layer_norm_eps,
            )?,
            act: cfg.hidden_act,
            decoder: w.get("embeddings.word_embeddings.weight", &[cfg.vocab_size, h])?,
            bias: w.get("cls.predictions.bias", &[cfg.vocab_size])?,
        })
    }

    /// Vocabulary scores `[rows, vocab]` for hidden states `[rows, hidden]`.
    pub fn forward(&self, x: &Tensor, mode: &Mode) -> Result<Tensor> {
        let t = self.transform.forward(x)?;
        let t = activate(self.act, &t)?;
        let t = self.norm.forward(&t, mode.training())?;
        Ok(t.matmul(&self.decoder.t()?)?.broadcast_add(&self.bias)?)
    }
}

/// A fresh MLM head, initialized as BERT initializes one, drawn from `seed`.
pub fn init_mlm_head(w: &mut Weights, cfg: &BertConfig, seed: u64) -> Result<()> {
    let h = cfg.hidden_size;
    let dev = Device::Cpu;
    w.insert(MLM_HEAD[0], normal_matrix(h, h, seed)?);
    w.insert(MLM_HEAD[1], Tensor::zeros(h, DType::F32, &dev)?);
    w.insert(MLM_HEAD[2], Tensor::ones(h, DType::F32, &dev)?);
    w.insert(MLM_HEAD[3], Tensor::zeros(h, DType::F32, &dev)?);
    w.insert(
        MLM_HEAD[4],
        Tensor::zeros(cfg.vocab_size, DType::F32, &dev)?,
    );
    Ok(())
}

/// Names and shapes of every parameter of a token-classification BERT, in
/// Hugging Face naming without the `bert.` prefix.
pub fn parameter_shapes(cfg: &BertConfig, num_labels: usize) -> Vec<(String, Vec<usize>)> {
    let h = cfg.hidden_size;
    let im = cfg.intermediate_size;
    let mut v = vec![
        (
            "embeddings.word_embeddings.weight".to_string(),
            vec![cfg.vocab_size, h],
        ),
        (
            "embeddings.position_embeddings.weight".into(),
            vec![cfg.max_position_embeddings, h],
        ),
        (
            "embeddings.token_type_embeddings.weight".into(),
            vec![cfg.type_vocab_size, h],
        ),
        ("embeddings.LayerNorm.weight".into(), vec![h]),
        ("embeddings.LayerNorm.bias".into(), vec![h]),
    ];
    for i in 0..cfg.num_hidden_layers {
        let p = format!("encoder.layer.{i}");
        for (name, out, inp) in [
            ("attention.self.query", h, h),
            ("attention.self.key", h, h),
            ("attention.self.value", h, h),
            ("attention.output.dense", h, h),
            ("intermediate.dense", im, h),
            ("output.dense", h, im),
        ] {
            v.push((format!("{p}.{name}.weight"), vec![out, inp]));
            v.push((format!("{p}.{name}.bias"), vec![out]));
        }
        for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
            v.push((format!("{p}.{name}.weight"), vec![h]));
            v.push((format!("{p}.{name}.bias"), vec![h]));
        }
    }
    v.push(("classifier.weight".into(), vec![num_labels, h]));
    v.push(("classifier.bias".into(), vec![num_labels]));
    v
}

/// A fresh classifier: normal(0, 0.02) weights and zero bias, as BERT does,
/// drawn from `seed` so that training runs repeat.
pub fn init_classifier(w: &mut Weights, hidden: usize, num_labels: usize, seed: u64) -> Result<()> {
    w.insert(
        "classifier.weight",
        normal_matrix(num_labels, hidden, seed)?,
    );
    w.insert(
        "classifier.bias",
        Tensor::zeros(num_labels, DType::F32, &Device::Cpu)?,
    );
    Ok(())
}

/// A `[rows, cols]` matrix of normal(0, 0.02) draws from `seed`.
fn normal_matrix(rows: usize, cols: usize, seed: u64) -> Result<Tensor> {
    let mut rng = Dropout::new(seed);
    let mut normal = || {
        // Box-Muller from two uniform draws in (0, 1].
        let u1 = (rng.next_u32() as f64 + 1.0) / (u32::MAX as f64 + 1.0);
        let u2 = rng.next_u32() as f64 / (u32::MAX as f64 + 1.0);
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos() * 0.02) as f32
    };
    let values: Vec<f32> = (0..rows * cols).map(|_| normal()).collect();
    Ok(Tensor::from_vec(values, (rows, cols), &Device::Cpu)?)
}

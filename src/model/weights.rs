//! Named tensors of a checkpoint: reading `model.safetensors` (f32, f16, bf16,
//! or this crate's int8 rows) and `pytorch_model.bin`, and writing safetensors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use safetensors::tensor::{Dtype as StDtype, TensorView};

use crate::error::{tensor_message, Error, Result};

/// Suffix of the per-row scales that go with an int8 tensor.
const SCALE_SUFFIX: &str = ".q8_scale";

/// All tensors of a checkpoint by Hugging Face name, with the file they came
/// from so that errors can name it.
#[derive(Clone)]
pub struct Weights {
    tensors: HashMap<String, Tensor>,
    source: PathBuf,
}

/// How tensors are stored when a checkpoint is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// 32-bit floats: what Python `transformers` reads.
    F32,
    /// Matrices as int8 with one f32 scale a row; vectors stay f32. About a
    /// quarter of the f32 size; expanded to f32 when loaded.
    Int8,
}

impl Weights {
    /// Wraps tensors that are already in memory.
    pub fn new(tensors: HashMap<String, Tensor>, source: impl Into<PathBuf>) -> Self {
        Weights {
            tensors,
            source: source.into(),
        }
    }

    /// Reads the weights of a model folder: `model.safetensors` when present,
    /// else `pytorch_model.bin`. A `bert.` prefix on names is removed.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let st = dir.join("model.safetensors");
        let bin = dir.join("pytorch_model.bin");
        let mut w = if st.is_file() {
            Self::from_safetensors(&st)?
        } else if bin.is_file() {
            Self::from_pytorch(&bin)?
        } else {
            return Err(Error::model(
                dir,
                "no model.safetensors or pytorch_model.bin in the model folder",
            ));
        };
        w.canonicalize_names();
        Ok(w)
    }

    /// Reads a safetensors file, expanding f16, bf16 and int8 rows to f32.
    ///
    /// The file is mapped, not read: its header is checked before any data
    /// is touched, so a large file that is not safetensors fails at once
    /// and in little memory. Every value must be finite (for int8 tensors,
    /// every scale), or the file is refused naming the tensor.
    pub fn from_safetensors(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        // An empty file cannot be mapped; it is as invalid as any short one.
        let map = match len {
            0 => None,
            // SAFETY: the map is read-only and lives only while the tensors
            // are copied out; a model file is not expected to change while
            // it loads (as with every reader of memory-mapped weights).
            _ => Some(unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?),
        };
        let bytes: &[u8] = map.as_deref().unwrap_or_default();
        let st = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| Error::model(path, format!("not a valid safetensors file: {e}")))?;
        let mut tensors = HashMap::new();
        let mut scales = HashMap::new();
        for (name, view) in st.tensors() {
            if let Some(base) = name.strip_suffix(SCALE_SUFFIX) {
                scales.insert(base.to_string(), view);
                continue;
            }
            tensors.insert(name, view);
        }
        let mut out = HashMap::with_capacity(tensors.len());
        for (name, view) in tensors {
            let t = match view.dtype() {
                StDtype::I8 => {
                    let scale = scales.get(&name).ok_or_else(|| {
                        Error::model(
                            path,
                            format!("int8 tensor {name} has no {name}{SCALE_SUFFIX}"),
                        )
                    })?;
                    dequantize_rows(&name, &view, scale).map_err(|m| Error::model(path, m))?
                }
                _ => view_to_f32(&name, &view).map_err(|m| Error::model(path, m))?,
            };
            out.insert(name, t);
        }
        Ok(Weights::new(out, path))
    }

    /// Reads a PyTorch pickle checkpoint (`pytorch_model.bin`).
    pub fn from_pytorch(path: &Path) -> Result<Self> {
        let list = candle_core::pickle::read_all(path).map_err(|e| {
            Error::model(
                path,
                format!("cannot read PyTorch checkpoint: {}", tensor_message(&e)),
            )
        })?;
        let mut out = HashMap::with_capacity(list.len());
        for (name, t) in list {
            let bad = |e: candle_core::Error| {
                Error::model(path, format!("tensor {name}: {}", tensor_message(&e)))
            };
            let t = t.to_dtype(DType::F32).map_err(bad)?;
            let values = t
                .flatten_all()
                .and_then(|v| v.to_vec1::<f32>())
                .map_err(bad)?;
            check_finite(&name, &values).map_err(|m| Error::model(path, m))?;
            out.insert(name, t);
        }
        Ok(Weights::new(out, path))
    }

    /// Removes a `bert.` prefix and renames TF-era `gamma`/`beta` norms.
    fn canonicalize_names(&mut self) {
        let old = std::mem::take(&mut self.tensors);
        for (name, t) in old {
            let mut n = name.strip_prefix("bert.").unwrap_or(&name).to_string();
            if n.contains("LayerNorm.") {
                n = n.replace("LayerNorm.gamma", "LayerNorm.weight");
                n = n.replace("LayerNorm.beta", "LayerNorm.bias");
            }
            self.tensors.insert(n, t);
        }
    }

    /// The file the weights came from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// Whether a tensor is present.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// A tensor of a known shape; a missing tensor or another shape is an
    /// error naming the file.
    pub fn get(&self, name: &str, dims: &[usize]) -> Result<Tensor> {
        let t = self
            .tensors
            .get(name)
            .ok_or_else(|| Error::model(&self.source, format!("tensor {name} is missing")))?;
        if t.dims() != dims {
            return Err(Error::model(
                &self.source,
                format!(
                    "tensor {name} has shape {:?} but the config implies {:?}",
                    t.dims(),
                    dims
                ),
            ));
        }
        Ok(t.clone())
    }

    /// A tensor's shape, if present.
    pub fn dims(&self, name: &str) -> Option<&[usize]> {
        self.tensors.get(name).map(|t| t.dims())
    }

    /// Removes a tensor, freeing it unless it is shared.
    pub fn remove(&mut self, name: &str) -> Option<Tensor> {
        self.tensors.remove(name)
    }

    /// Inserts or replaces a tensor.
    pub fn insert(&mut self, name: impl Into<String>, t: Tensor) {
        self.tensors.insert(name.into(), t);
    }

    /// The tensors of a token-classification BERT under the names Python
    /// `transformers` gives `BertForTokenClassification` (`bert.` prefix on
    /// the encoder), sorted; anything else (a pooler, an MLM head) is left out.
    pub fn token_classification_tensors(&self) -> Vec<(String, Tensor)> {
        self.sorted()
            .into_iter()
            .filter(|(n, _)| is_token_classification_param(n))
            .map(|(n, t)| {
                let name = if n.starts_with("classifier.") {
                    n.to_string()
                } else {
                    format!("bert.{n}")
                };
                (name, t.clone())
            })
            .collect()
    }

    /// Names and tensors, sorted by name.
    pub fn sorted(&self) -> Vec<(&str, &Tensor)> {
        let mut v: Vec<_> = self.tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v
    }
}

/// Whether a (prefix-free) tensor name belongs to the encoder or the
/// classifier of a token-classification BERT.
pub fn is_token_classification_param(name: &str) -> bool {
    name.starts_with("embeddings.")
        || name.starts_with("encoder.")
        || name.starts_with("classifier.")
}

fn view_to_f32(name: &str, view: &TensorView<'_>) -> std::result::Result<Tensor, String> {
    let shape = view.shape().to_vec();
    let data = view.data();
    let floats: Vec<f32> = match view.dtype() {
        StDtype::F32 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        StDtype::F16 => data
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        StDtype::BF16 => data
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        StDtype::F64 => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32)
            .collect(),
        other => return Err(format!("tensor {name} has unsupported dtype {other:?}")),
    };
    check_finite(name, &floats)?;
    Tensor::from_vec(floats, shape, &Device::Cpu)
        .map_err(|e| format!("tensor {name}: {}", tensor_message(&e)))
}

fn dequantize_rows(
    name: &str,
    q: &TensorView<'_>,
    scale: &TensorView<'_>,
) -> std::result::Result<Tensor, String> {
    let shape = q.shape().to_vec();
    let rows = shape.first().copied().unwrap_or(0);
    let cols: usize = shape.iter().skip(1).product();
    let scales = view_to_f32(name, scale)?
        .flatten_all()
        .and_then(|t| t.to_vec1::<f32>())
        .map_err(|e| tensor_message(&e))?;
    if scales.len() != rows || q.data().len() != rows * cols {
        return Err(format!("int8 tensor {name} does not match its scales"));
    }
    // Finite scales (checked above) give finite values unless a scale is so
    // large that 127 of it overflows.
    if let Some(row) = scales.iter().position(|s| s.abs() > f32::MAX / 127.0) {
        return Err(format!(
            "tensor {name} has a scale too large for its values (row {row})"
        ));
    }
    let mut out = Vec::with_capacity(rows * cols);
    for (row, s) in q.data().chunks_exact(cols.max(1)).zip(&scales) {
        out.extend(row.iter().map(|&b| (b as i8) as f32 * s));
    }
    Tensor::from_vec(out, shape, &Device::Cpu)
        .map_err(|e| format!("tensor {name}: {}", tensor_message(&e)))
}

/// Fails naming the tensor and the first index of a NaN or infinite
/// value. The scan tests exponent bits with integer operations and no early
/// exit inside a block, so it vectorizes: a few milliseconds a hundred
/// megabytes.
pub fn check_finite(name: &str, values: &[f32]) -> std::result::Result<(), String> {
    const EXPONENT: u32 = 0x7f80_0000;
    let block_is_finite = |b: &[f32]| {
        !b.iter()
            .fold(false, |bad, v| bad | (v.to_bits() & EXPONENT == EXPONENT))
    };
    if values.chunks(4096).all(block_is_finite) {
        return Ok(());
    }
    let at = values.iter().position(|v| !v.is_finite()).unwrap_or(0);
    Err(format!(
        "tensor {name} holds a non-finite value ({} at index {at})",
        values[at]
    ))
}

/// Quantizes a matrix to int8 rows: one symmetric scale per row.
fn quantize_rows(t: &Tensor) -> Result<(Vec<u8>, Vec<f32>)> {
    let rows = t.dims()[0];
    let data = t.flatten_all()?.to_vec1::<f32>()?;
    let cols = data.len() / rows.max(1);
    let mut q = Vec::with_capacity(data.len());
    let mut scales = Vec::with_capacity(rows);
    for row in data.chunks_exact(cols.max(1)) {
        let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
        let s = if max > 0.0 { max / 127.0 } else { 1.0 };
        scales.push(s);
        q.extend(
            row.iter()
                .map(|v| ((v / s).round().clamp(-127.0, 127.0) as i8) as u8),
        );
    }
    Ok((q, scales))
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Writes tensors to `path` as safetensors, atomically (temporary file in the
/// same folder, then rename), so a crash never leaves a half-written file.
pub fn save_safetensors(tensors: &[(String, Tensor)], path: &Path, storage: Storage) -> Result<()> {
    let mut buffers: Vec<(String, StDtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, t) in tensors {
        let t = t.to_dtype(DType::F32)?;
        let quantize = storage == Storage::Int8 && t.rank() == 2;
        if quantize {
            let (q, scales) = quantize_rows(&t)?;
            buffers.push((name.clone(), StDtype::I8, t.dims().to_vec(), q));
            buffers.push((
                format!("{name}{SCALE_SUFFIX}"),
                StDtype::F32,
                vec![scales.len()],
                f32_bytes(&scales),
            ));
        } else {
            let data = t.flatten_all()?.to_vec1::<f32>()?;
            buffers.push((
                name.clone(),
                StDtype::F32,
                t.dims().to_vec(),
                f32_bytes(&data),
            ));
        }
    }
    let mut views = Vec::with_capacity(buffers.len());
    for (name, dtype, shape, data) in &buffers {
        let view = TensorView::new(*dtype, shape.clone(), data)
            .map_err(|e| Error::model(path, format!("tensor {name}: {e}")))?;
        views.push((name.clone(), view));
    }
    let bytes = safetensors::serialize(views, None)
        .map_err(|e| Error::model(path, format!("cannot serialize: {e}")))?;
    write_atomic(path, &bytes)
}

pub use crate::fs::{write_atomic, write_file_atomic};

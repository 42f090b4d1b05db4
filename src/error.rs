//! One error type for the library, with the exit code the CLI reports for it.

use std::path::{Path, PathBuf};

/// Everything that can go wrong in this crate.
///
/// Messages are one line and name the file (and line, field or byte) at fault,
/// because they are shown to users as they are.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model folder or one of its files is missing, malformed or inconsistent.
    #[error("{}: {message}", path.display())]
    Model { path: PathBuf, message: String },
    /// Input text or data that cannot be read (missing, not UTF-8, malformed).
    #[error("{message}")]
    Input { message: String },
    /// A reading or writing failure of the operating system.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Bad options passed by the caller.
    #[error("{0}")]
    Usage(String),
    /// The tensor library failed; with a correct model this is a bug.
    #[error("tensor error: {}", tensor_message(.0))]
    Tensor(#[from] candle_core::Error),
    /// Work stopped on request (Ctrl-C) after saving what could be saved.
    #[error("interrupted")]
    Interrupted,
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit codes of the `arabic-ner` command, documented in the README.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// An unexpected failure (a bug or a tensor error).
    pub const FAILURE: i32 = 1;
    /// Bad command-line usage.
    pub const USAGE: i32 = 2;
    /// Input that cannot be read: missing path, invalid UTF-8, malformed data.
    pub const INPUT: i32 = 3;
    /// A model that cannot be loaded.
    pub const MODEL: i32 = 4;
    /// A reading or writing failure of the system (disk full, permissions).
    pub const IO: i32 = 5;
    /// Interrupted by the user after saving.
    pub const INTERRUPTED: i32 = 130;
}

impl Error {
    pub(crate) fn model(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Error::Model {
            path: path.as_ref().to_path_buf(),
            message: one_line(message.into()),
        }
    }

    pub(crate) fn input(message: impl Into<String>) -> Self {
        Error::Input {
            message: one_line(message.into()),
        }
    }

    pub(crate) fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// The process exit code that stands for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Model { .. } => exit::MODEL,
            Error::Input { .. } => exit::INPUT,
            Error::Io { .. } => exit::IO,
            Error::Usage(_) => exit::USAGE,
            Error::Tensor(_) => exit::FAILURE,
            Error::Interrupted => exit::INTERRUPTED,
        }
    }
}

/// A file that could not be read: missing (or a folder where a file was
/// expected) is bad input, exit 3; any other failure is one of the system,
/// exit 5.
pub(crate) fn input_or_io(path: &Path, source: std::io::Error) -> Error {
    use std::io::ErrorKind;
    match source.kind() {
        ErrorKind::NotFound | ErrorKind::IsADirectory => {
            Error::input(format!("{}: cannot read: {source}", path.display()))
        }
        _ => Error::io(path, source),
    }
}

/// A malformed model file, from an error whose message starts with the
/// file's path (which [`Error::Model`] writes itself).
pub(crate) fn model_error(path: &Path, e: &dyn std::fmt::Display) -> Error {
    let text = e.to_string();
    let prefix = format!("{}: ", path.display());
    let message = text.strip_prefix(&prefix).unwrap_or(&text);
    Error::model(path, message)
}

/// A tensor-library error as one line, without the backtrace it carries
/// when `RUST_BACKTRACE` is set: context and inner messages joined by `: `.
pub fn tensor_message(e: &candle_core::Error) -> String {
    use candle_core::Error as E;
    let text = match e {
        E::WithBacktrace { inner, .. } => return tensor_message(inner),
        E::Context { inner, context } => format!("{context}: {}", tensor_message(inner)),
        E::WithPath { inner, path } => format!("{}: {}", path.display(), tensor_message(inner)),
        other => other.to_string(),
    };
    one_line_spaced(&text)
}

/// Joins the lines of a message with `; `, so that it stays one line.
fn one_line_spaced(text: &str) -> String {
    let parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    one_line(parts.join("; "))
}

/// Escapes control characters (`\n` and the like), which messages quoting
/// file contents can hold, so that a message stays one line.
fn one_line(message: String) -> String {
    if !message.contains(char::is_control) {
        return message;
    }
    message
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_errors_are_one_line_without_their_backtrace() {
        let inner = candle_core::Error::Msg("shape mismatch\nin matmul".into());
        let traced = candle_core::Error::WithBacktrace {
            inner: Box::new(inner),
            backtrace: Box::new(std::backtrace::Backtrace::force_capture()),
        };
        let e = Error::Tensor(traced.context("loading layer 3"));
        assert_eq!(
            e.to_string(),
            "tensor error: loading layer 3: shape mismatch; in matmul"
        );
    }
}

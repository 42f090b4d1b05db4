//! The shipped model, compiled into the library (cargo feature
//! `embedded-model`, on by default), so that an installed `arabic-ner` and
//! the Python extension tag with it wherever they are copied.
//!
//! The files are unpacked once into a folder of the user's cache
//! (`$XDG_CACHE_HOME/arabic-ner`, else `~/.cache/arabic-ner`, else the
//! temporary folder), named after a hash of their contents, and loaded from
//! there like any other model folder: the loaders stay the ones every model
//! goes through, and a new build with other weights gets a folder of its own.
//! The folder is written under a temporary name and renamed into place, so
//! processes that start together (Spark workers, say) never see half of it.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

use super::DEFAULT_MODEL_NAME;

macro_rules! shipped {
    ($file:literal) => {
        (
            $file,
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/models/arabic-ner-e5-small/",
                $file
            ))
            .as_slice(),
        )
    };
}

/// The files of the shipped model folder, name and contents.
pub const FILES: [(&str, &[u8]); 4] = [
    shipped!("config.json"),
    shipped!("tokenizer.json"),
    shipped!("tokenizer_config.json"),
    shipped!("model.safetensors"),
];

/// A 64-bit hash of the embedded files (FNV-1a over 8-byte words), computed
/// by the build script: names the unpacked folder, so that folders of
/// different builds never mix, without reading the weights at run time.
const CONTENTS_HASH: &str = env!("ARABIC_NER_EMBEDDED_HASH");

/// Folders the model may be unpacked below, in order of preference.
fn cache_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    match std::env::var_os("XDG_CACHE_HOME") {
        Some(p) if !p.is_empty() && Path::new(&p).is_absolute() => roots.push(PathBuf::from(p)),
        _ => {
            if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
                roots.push(Path::new(&home).join(".cache"));
            }
        }
    }
    roots.push(std::env::temp_dir());
    roots.into_iter().map(|r| r.join("arabic-ner")).collect()
}

/// Whether `dir` holds every embedded file with its full length.
fn is_complete(dir: &Path) -> bool {
    FILES.iter().all(|(name, bytes)| {
        std::fs::metadata(dir.join(name))
            .is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
    })
}

/// Writes the files into a new folder below `root` and renames it to `dir`.
fn unpack(root: &Path, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(root)?;
    let tmp = tempfile::Builder::new()
        .prefix(".unpacking-")
        .tempdir_in(root)?;
    for (name, bytes) in FILES {
        std::fs::write(tmp.path().join(name), bytes)?;
    }
    let staged = tmp.keep();
    match std::fs::rename(&staged, dir) {
        Ok(()) => Ok(()),
        // Another process got there first: its folder is as good as ours.
        Err(_) if is_complete(dir) => {
            let _ = std::fs::remove_dir_all(&staged);
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staged);
            Err(e)
        }
    }
}

/// A folder holding the embedded model, unpacked on first use.
pub fn folder() -> Result<PathBuf> {
    let name = format!("{DEFAULT_MODEL_NAME}-{CONTENTS_HASH}");
    let mut failures = Vec::new();
    for root in cache_roots() {
        let dir = root.join(&name);
        if is_complete(&dir) {
            return Ok(dir);
        }
        match unpack(&root, &dir) {
            Ok(()) => return Ok(dir),
            Err(e) => failures.push(format!("{}: {e}", root.display())),
        }
    }
    Err(Error::model(
        &name,
        format!(
            "cannot unpack the built-in model ({}); set ARABIC_NER_MODEL to a model folder",
            failures.join("; ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The build script's hash is the hash of the files compiled in.
    #[test]
    fn the_build_hash_is_the_hash_of_the_embedded_files() {
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (name, bytes) in FILES {
            for part in [name.as_bytes(), bytes] {
                let mut words = part.chunks_exact(8);
                for w in &mut words {
                    h = (h ^ u64::from_le_bytes(w.try_into().unwrap())).wrapping_mul(PRIME);
                }
                for &b in words.remainder() {
                    h = (h ^ u64::from(b)).wrapping_mul(PRIME);
                }
                h = (h ^ part.len() as u64).wrapping_mul(PRIME);
            }
        }
        assert_eq!(CONTENTS_HASH, format!("{h:016x}"));
    }

    #[test]
    fn the_embedded_files_are_the_shipped_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models")
            .join(DEFAULT_MODEL_NAME);
        for (name, bytes) in FILES {
            let on_disk = std::fs::read(dir.join(name)).expect("the shipped model is in models/");
            assert!(on_disk == bytes, "{name} differs from models/");
        }
    }

    #[test]
    fn unpacking_twice_keeps_one_complete_folder() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("m");
        unpack(root.path(), &dir).unwrap();
        assert!(is_complete(&dir));
        // A second process finding the folder in place succeeds and leaves
        // nothing behind.
        unpack(root.path(), &dir).unwrap();
        let names: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["m"]);
        assert!(!is_complete(root.path()));
    }
}

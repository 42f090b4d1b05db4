//! Computes, at build time, the hash that names the folder the built-in model
//! is unpacked into (see `src/model/embedded.rs`), so that a run never reads
//! the 34 MB of embedded weights just to find its folder.

use std::path::Path;

/// The files of the shipped model, as `src/model/embedded.rs` embeds them.
const FILES: [&str; 4] = [
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "model.safetensors",
];

fn main() {
    if std::env::var_os("CARGO_FEATURE_EMBEDDED_MODEL").is_none() {
        return;
    }
    let dir = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"))
        .join("models/arabic-ner-e5-small");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for name in FILES {
        let path = dir.join(name);
        println!("cargo:rerun-if-changed={}", path.display());
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (the built-in model)", path.display()));
        h = fnv_words(h, name.as_bytes());
        h = fnv_words(h, &bytes);
    }
    println!("cargo:rustc-env=ARABIC_NER_EMBEDDED_HASH={h:016x}");
}

/// FNV-1a over 8-byte little-endian words, then the remaining bytes, then the
/// length (the same function as `embedded::contents_hash` in its tests).
fn fnv_words(mut h: u64, part: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut words = part.chunks_exact(8);
    for w in &mut words {
        let word = u64::from_le_bytes(w.try_into().expect("8-byte chunk"));
        h = (h ^ word).wrapping_mul(PRIME);
    }
    for &b in words.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(PRIME);
    }
    (h ^ part.len() as u64).wrapping_mul(PRIME)
}

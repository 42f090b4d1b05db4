//! An installed `arabic-ner` carries the shipped model: copied away from the
//! build, run from another folder with no `ARABIC_NER_MODEL`, it unpacks
//! the model it was built with into the user's cache and tags as the
//! source tree's model folder does.

#![cfg(feature = "embedded-model")]

use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_arabic-ner");
const SHIPPED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/arabic-ner-e5-small");
const TEXT: &str =
    "أعلن الرئيس الفرنسي إيمانويل ماكرون في باريس يوم 13 يناير 2022 أن فرنسا ستدعم لبنان.\n";

/// Runs a copy of the binary in `dir` with only the cache and home given.
fn tag(bin: &Path, dir: &Path, model: Option<&str>) -> String {
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir)
        .env_clear()
        .env("HOME", dir.join("home"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("TMPDIR", dir.join("tmp"))
        .env("HF_HUB_OFFLINE", "1")
        .args(["tag", "input.txt", "--format", "jsonl"])
        .stdin(Stdio::null());
    if let Some(m) = model {
        cmd.args(["--model", m]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn unpacked(cache: &Path) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(cache.join("arabic-ner")) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn a_copied_binary_tags_with_its_own_model() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    for sub in ["home", "tmp", "bin"] {
        std::fs::create_dir(work.join(sub)).unwrap();
    }
    let bin = work.join("bin").join("arabic-ner");
    std::fs::copy(BIN, &bin).unwrap();
    std::fs::write(work.join("input.txt"), TEXT).unwrap();

    let builtin = tag(&bin, work, None);
    // The model came out of the binary into the cache, not from the tree.
    let folders = unpacked(&work.join("cache"));
    assert_eq!(folders.len(), 1, "{folders:?}");
    let name = folders[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(name.starts_with("arabic-ner-e5-small-"), "{name}");
    for file in ["config.json", "tokenizer.json", "model.safetensors"] {
        let ours = std::fs::read(folders[0].join(file)).unwrap();
        let shipped = std::fs::read(Path::new(SHIPPED).join(file)).unwrap();
        assert!(ours == shipped, "{file} differs from the shipped model");
    }
    assert_eq!(builtin, tag(&bin, work, Some(SHIPPED)));
    for needle in [
        "\"label\":\"PER\"",
        "\"country\":\"FR\"",
        "\"value\":\"2022-01-13\"",
    ] {
        assert!(builtin.contains(needle), "{needle} not in {builtin}");
    }

    // A second run finds the folder in place and adds nothing.
    assert_eq!(tag(&bin, work, None), builtin);
    assert_eq!(unpacked(&work.join("cache")), folders);

    // With no usable cache folder, the temporary folder serves.
    std::fs::remove_dir_all(work.join("cache")).unwrap();
    std::fs::write(work.join("cache"), "a file, not a folder").unwrap();
    assert_eq!(tag(&bin, work, None), builtin);
    assert_eq!(unpacked(&work.join("tmp")).len(), 1);
}

//! Hub ids resolved through a Hugging Face cache laid out by hand, offline.
//!
//! Environment variables are process-wide, so everything that sets them is
//! in this file's single test (each file under tests/ is its own process).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use arabic_ner::model::NerModel;
use arabic_ner::{Error, Tagger};
use common::{ModelSpec, LABELS};

const HASH: &str = "3f1c2a9e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a39";
const OTHER_HASH: &str = "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9";

/// Writes a model the way the Hub cache keeps it: files in `blobs/`,
/// symbolic links to them in `snapshots/<hash>/`, and `refs/<name>`
/// holding the hash.
fn cache_model(hub: &Path, repo: &str, hash: &str, refs: &[&str], spec: &ModelSpec) -> PathBuf {
    let folder = hub.join(format!("models--{}", repo.replace('/', "--")));
    let staging = tempfile::tempdir().unwrap();
    spec.write(staging.path());
    let snapshot = folder.join("snapshots").join(hash);
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(folder.join("blobs")).unwrap();
    for entry in std::fs::read_dir(staging.path()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let blob_name = format!("{hash}-{name}-blob");
        let blob = folder.join("blobs").join(&blob_name);
        std::fs::copy(entry.path(), &blob).unwrap();
        link(
            &Path::new("../../blobs").join(&blob_name),
            &blob,
            &snapshot.join(&name),
        );
    }
    std::fs::create_dir_all(folder.join("refs")).unwrap();
    for r in refs {
        // The cache writes the hash without a line break.
        std::fs::write(folder.join("refs").join(r), hash).unwrap();
    }
    snapshot
}

#[cfg(unix)]
fn link(relative: &Path, _blob: &Path, at: &Path) {
    std::os::unix::fs::symlink(relative, at).unwrap();
}

#[cfg(not(unix))]
fn link(_relative: &Path, blob: &Path, at: &Path) {
    std::fs::copy(blob, at).unwrap();
}

fn model_error(spec: &str) -> (PathBuf, String) {
    match NerModel::load(spec) {
        Err(Error::Model { path, message }) => (path, message),
        Err(e) => panic!("{spec}: expected Error::Model, got {e:?}"),
        Ok(m) => panic!("{spec}: loaded from {}", m.dir.display()),
    }
}

#[test]
fn hub_ids_resolve_through_the_offline_cache() {
    let home = tempfile::tempdir().unwrap();
    let hub = home.path().join("hub");
    let snapshot = cache_model(
        &hub,
        "test-org/oracle-ner",
        HASH,
        &["main"],
        &ModelSpec::oracle(),
    );
    // A second revision of the same repository, reachable by a tag.
    let other = cache_model(
        &hub,
        "test-org/oracle-ner",
        OTHER_HASH,
        &["v2"],
        &ModelSpec::random(3),
    );
    // A snapshot without weights is not a usable model.
    let partial = cache_model(
        &hub,
        "test-org/partial",
        HASH,
        &["main"],
        &ModelSpec::oracle(),
    );
    std::fs::remove_file(partial.join("model.safetensors")).unwrap();

    std::env::set_var("HF_HOME", home.path());
    std::env::set_var("HF_HUB_OFFLINE", "1");
    // Run from a folder with no `test-org/` in it.
    std::env::set_current_dir(home.path()).unwrap();

    // The main ref, and the same snapshot by its hash.
    let m = NerModel::load("test-org/oracle-ner").expect("main loads from the cache");
    assert_eq!(m.dir, snapshot);
    assert_eq!(m.labels, LABELS);
    let by_hash = NerModel::load(&format!("test-org/oracle-ner@{HASH}")).expect("hash loads");
    assert_eq!(by_hash.dir, snapshot);
    let v2 = NerModel::load("test-org/oracle-ner@v2").expect("tag loads");
    assert_eq!(v2.dir, other);
    let by_other_hash = NerModel::load(&format!("test-org/oracle-ner@{OTHER_HASH}")).unwrap();
    assert_eq!(by_other_hash.dir, other);

    // The tagger takes a Hub id as well.
    let t = Tagger::new("test-org/oracle-ner").unwrap();
    let e = t.tag("زار سمير الخطيب بغداد.").unwrap();
    let got: Vec<(&str, &str)> = e
        .iter()
        .map(|e| (e.label.as_str(), e.text.as_str()))
        .collect();
    assert_eq!(got, [("PER", "سمير الخطيب"), ("LOC", "بغداد")]);

    // Not in the cache: a clear error, and no network.
    let started = std::time::Instant::now();
    for spec in [
        "test-org/missing",
        "test-org/oracle-ner@v3",
        "test-org/oracle-ner@0000000000000000000000000000000000000000",
        "test-org/partial",
    ] {
        let (path, message) = model_error(spec);
        assert_eq!(path, Path::new(spec));
        assert!(
            message.contains("not in the Hugging Face cache") && message.contains("HF_HUB_OFFLINE"),
            "{spec}: {message}"
        );
    }
    assert!(started.elapsed().as_secs() < 5, "offline lookups took long");

    // Neither a folder nor an id.
    for spec in ["./test-org/oracle-ner", "a/b/c", "/no/such/folder"] {
        let (_, message) = model_error(spec);
        assert!(
            message.contains("no such model folder"),
            "{spec}: {message}"
        );
    }

    // A folder of that name wins over the cache.
    let local = home.path().join("test-org").join("oracle-ner");
    ModelSpec::random(5).write(&local);
    let m = NerModel::load("test-org/oracle-ner").unwrap();
    assert_eq!(m.dir, Path::new("test-org/oracle-ner"));
    std::fs::remove_dir_all(home.path().join("test-org")).unwrap();

    // The command line resolves ids the same way.
    let out = Command::new(env!("CARGO_BIN_EXE_arabic-ner"))
        .args(["tag", "--model", "test-org/oracle-ner", "-f", "inline", "-"])
        .env_remove("ARABIC_NER_MODEL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all("عاد الوزير إلى لبنان".as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "عاد الوزير إلى [لبنان](LOC)\n"
    );
}

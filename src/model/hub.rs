//! Finding a model: a local folder, or a Hugging Face Hub id resolved through
//! the local cache (`HF_HOME`) and, unless `HF_HUB_OFFLINE=1`, the network.

use std::path::{Path, PathBuf};

use hf_hub::{Cache, Repo, RepoType};

use crate::error::{Error, Result};

/// Files a model folder may hold; the first of each group that exists is used.
const WEIGHT_FILES: [&str; 2] = ["model.safetensors", "pytorch_model.bin"];
const TOKENIZER_FILES: [&str; 2] = ["tokenizer.json", "vocab.txt"];
const OPTIONAL_FILES: [&str; 1] = ["tokenizer_config.json"];

/// Resolves `spec` to a local folder: an existing folder as is, else a Hub id
/// `org/name` with an optional `@revision`.
pub fn resolve(spec: &str) -> Result<PathBuf> {
    let path = Path::new(spec);
    if path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let (id, revision) = match spec.split_once('@') {
        Some((id, rev)) => (id, rev),
        None => (spec, "main"),
    };
    let looks_like_id = id.split('/').count() == 2
        && id.split('/').all(|p| !p.is_empty())
        && !spec.starts_with('.')
        && !spec.starts_with('/');
    if !looks_like_id {
        return Err(Error::model(path, "no such model folder"));
    }
    let repo = Repo::with_revision(id.to_string(), RepoType::Model, revision.to_string());
    if let Some(dir) = from_cache(&Cache::from_env(), &repo, revision) {
        return Ok(dir);
    }
    let offline = std::env::var("HF_HUB_OFFLINE")
        .map(|v| !v.is_empty() && v != "0")
        .unwrap_or(false);
    if offline {
        return Err(Error::model(
            path,
            "not a folder, and not in the Hugging Face cache (HF_HUB_OFFLINE is set)",
        ));
    }
    download(id, &repo)
}

/// A cached snapshot with a config, weights and a tokenizer, if complete.
fn from_cache(cache: &Cache, repo: &Repo, revision: &str) -> Option<PathBuf> {
    let cached = cache.repo(repo.clone());
    let config = match cached.get("config.json") {
        Some(p) => p,
        // A commit hash has no ref file: look at its snapshot directly.
        None => {
            let p = cache
                .path()
                .join(repo.folder_name())
                .join("snapshots")
                .join(revision)
                .join("config.json");
            p.is_file().then_some(p)?
        }
    };
    let dir = config.parent()?.to_path_buf();
    let has_any = |names: &[&str]| names.iter().any(|n| dir.join(n).is_file());
    (has_any(&WEIGHT_FILES) && has_any(&TOKENIZER_FILES)).then_some(dir)
}

fn download(id: &str, repo: &Repo) -> Result<PathBuf> {
    let hub_err = |e: hf_hub::api::sync::ApiError| Error::model(id, format!("Hub: {e}"));
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(false)
        .build()
        .map_err(hub_err)?;
    let remote = api.repo(repo.clone());
    let config = remote.get("config.json").map_err(hub_err)?;
    let first = |names: &[&str]| -> Result<()> {
        let mut last = None;
        for n in names {
            match remote.get(n) {
                Ok(_) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last
            .map(hub_err)
            .unwrap_or_else(|| Error::model(id, "no file")))
    };
    first(&WEIGHT_FILES)?;
    first(&TOKENIZER_FILES)?;
    for n in OPTIONAL_FILES {
        let _ = remote.get(n);
    }
    config
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| Error::model(id, "cache path has no parent"))
}

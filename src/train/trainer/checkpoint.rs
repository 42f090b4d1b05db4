//! Checkpoints: the parameters, the optimizer's moments and the state of a
//! run, written so that a kill at any moment leaves one complete.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

use super::{Run, State};
use crate::error::{Error, Result};
use crate::model::weights::{save_safetensors, write_atomic, Storage};

fn checkpoint_root(out: &Path) -> PathBuf {
    out.join("checkpoints")
}

/// Saves parameters, optimizer moments and state into a fresh folder, then
/// points `checkpoints/latest` at it: a kill at any moment leaves `latest`
/// naming a complete checkpoint.
pub(super) fn save_checkpoint(run: &Run, state: &State, out: &Path) -> Result<PathBuf> {
    let root = checkpoint_root(out);
    let dir = root.join(format!("step-{}", state.step));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut moments = Vec::with_capacity(run.params.len() * 2);
    for p in &run.params {
        let shape = p.var.dims().to_vec();
        moments.push((
            format!("m.{}", p.name),
            Tensor::from_slice(&p.m, shape.clone(), &Device::Cpu)?,
        ));
        moments.push((
            format!("v.{}", p.name),
            Tensor::from_slice(&p.v, shape, &Device::Cpu)?,
        ));
    }
    save_safetensors(
        &run.named_tensors(),
        &dir.join("model.safetensors"),
        Storage::F32,
    )?;
    save_safetensors(&moments, &dir.join("optimizer.safetensors"), Storage::F32)?;
    let json =
        serde_json::to_string_pretty(state).map_err(|e| Error::model(&dir, e.to_string()))?;
    write_atomic(&dir.join("state.json"), json.as_bytes())?;
    let previous = std::fs::read_to_string(root.join("latest")).ok();
    write_atomic(
        &root.join("latest"),
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
            .as_bytes(),
    )?;
    if let Some(prev) = previous {
        let prev = root.join(prev.trim());
        if prev != dir && prev.starts_with(&root) {
            let _ = std::fs::remove_dir_all(prev);
        }
    }
    Ok(dir)
}

pub(super) fn load_checkpoint(out: &Path) -> Result<Option<(PathBuf, State)>> {
    let root = checkpoint_root(out);
    let latest = root.join("latest");
    let Ok(name) = std::fs::read_to_string(&latest) else {
        return Ok(None);
    };
    let dir = root.join(name.trim());
    let state_path = dir.join("state.json");
    let text = std::fs::read_to_string(&state_path).map_err(|e| Error::io(&state_path, e))?;
    let state: State = serde_json::from_str(&text)
        .map_err(|e| Error::model(&state_path, format!("invalid state: {e}")))?;
    Ok(Some((dir, state)))
}

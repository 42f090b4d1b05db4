//! `arabic-ner export`: a model as a plain f32 Hugging Face folder, or as a
//! compact int8 folder for shipping.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use arabic_ner::model::weights::{Storage, Weights};
use arabic_ner::model::{average_weights, hub, NerModel};
use arabic_ner::train::trainer::write_model_dir;
use arabic_ner::Result;

#[derive(Clone, Copy, ValueEnum)]
enum StorageArg {
    /// 32-bit floats, for Python `transformers`.
    F32,
    /// int8 matrices with a scale a row (about a quarter of the size).
    Int8,
}

#[derive(Args)]
pub struct ExportArgs {
    /// Model folder or Hub id (default: the shipped model).
    #[arg(long, short)]
    model: Option<String>,
    /// Output folder in Hugging Face layout.
    #[arg(long = "hf")]
    out: PathBuf,
    /// How weights are stored.
    #[arg(long, value_enum, default_value = "f32")]
    storage: StorageArg,
    /// Another model of the same shape and labels (a checkpoint of the same
    /// run, say); the output holds the mean of all the models' weights.
    /// Repeatable.
    #[arg(long, value_name = "MODEL")]
    average: Vec<String>,
}

pub fn run(a: ExportArgs) -> Result<()> {
    let dir = match &a.model {
        Some(m) => hub::resolve(m)?,
        None => arabic_ner::model::default_model()?,
    };
    // Loading checks the folder through and through before writing.
    let model = NerModel::from_dir(&dir)?;
    let weights = Weights::from_dir(&dir)?;
    let mut tensors = weights.token_classification_tensors();
    if !a.average.is_empty() {
        let others = a
            .average
            .iter()
            .map(|m| hub::resolve(m))
            .collect::<Result<Vec<_>>>()?;
        tensors = average_weights(&model, tensors, &others)?;
    }
    let storage = match a.storage {
        StorageArg::F32 => Storage::F32,
        StorageArg::Int8 => Storage::Int8,
    };
    write_model_dir(
        &a.out,
        &model.config,
        &model.labels,
        &tensors,
        &dir,
        storage,
    )?;
    eprintln!("wrote {}", a.out.display());
    Ok(())
}

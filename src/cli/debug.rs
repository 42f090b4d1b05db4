//! Hidden commands that print model internals as JSON Lines, for comparing
//! this engine with other implementations (see `bench/`).

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::Args;

use arabic_ner::model::bert::Mode;
use arabic_ner::model::packed::Threads;
use arabic_ner::model::{pad_batch, windows, NerModel};
use arabic_ner::text::normalize::{normalize, NormalizeOptions};
use arabic_ner::text::words::split_words;
use arabic_ner::{Error, Result};

#[derive(Args)]
pub struct DebugArgs {
    /// Model folder or Hub id.
    #[arg(long, short)]
    model: String,
    /// Text, one input a line; `-` or nothing reads standard input.
    path: Option<PathBuf>,
    /// Most word pieces a window.
    #[arg(long)]
    max_length: Option<usize>,
    /// Run the reference graph of tensor ops instead of the fast path.
    #[arg(long)]
    reference: bool,
}

fn lines(path: &Option<PathBuf>) -> Result<Vec<String>> {
    let reader: Box<dyn BufRead> = match path {
        Some(p) if p.as_os_str() != "-" => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).map_err(|e| Error::Io {
                path: p.clone(),
                source: e,
            })?,
        )),
        _ => Box::new(std::io::BufReader::new(std::io::stdin())),
    };
    reader
        .lines()
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| Error::Io {
            path: path.clone().unwrap_or_default(),
            source: e,
        })
}

/// Prints `{"words", "ids", "logits"}` (or `{"ids", "hidden"}` with
/// `hidden`) for each line.
pub fn run(a: DebugArgs, hidden: bool) -> Result<()> {
    let model = NerModel::load(&a.model)?;
    let reference = if a.reference {
        Some(model.reference_net()?)
    } else {
        None
    };
    let width = if hidden {
        model.config.hidden_size
    } else {
        model.labels.len()
    };
    let norm = NormalizeOptions {
        letters: model.config.arabic_ner.normalize_letters,
    };
    let max = a
        .max_length
        .unwrap_or(model.max_pieces())
        .min(model.max_pieces());
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in lines(&a.path)? {
        let n = normalize(&line, &norm);
        let words: Vec<&str> = split_words(&n.text)
            .iter()
            .map(|w| &n.text[w.start..w.end])
            .collect();
        let enc = model.tokenizer.encode_words(&words)?;
        let mut all_ids = Vec::new();
        let mut all_vals = Vec::new();
        for r in windows(&enc, max, 0) {
            let mut ids = vec![model.tokenizer.cls];
            ids.extend_from_slice(&enc.ids[enc.starts[r.start]..enc.starts[r.end]]);
            ids.truncate(max + 1);
            ids.push(model.tokenizer.sep);
            let rows: Vec<Vec<f32>> = match &reference {
                Some(net) => {
                    let (t, mask) = pad_batch(&[&ids], model.config.pad_token_id)?;
                    let v = if hidden {
                        net.encoder().forward(&t, &mask, &mut Mode::Eval)?
                    } else {
                        net.forward(&t, &mask, &mut Mode::Eval)?
                    };
                    v.squeeze(0)?.to_vec2::<f32>()?
                }
                None => {
                    let flat = if hidden {
                        model.net.hidden_states(&[&ids], Threads::All)?
                    } else {
                        model.net.logits(&[&ids], Threads::All)?
                    };
                    flat.chunks(width).map(<[f32]>::to_vec).collect()
                }
            };
            all_vals.push(rows);
            all_ids.push(ids);
        }
        let obj = if hidden {
            serde_json::json!({"ids": all_ids.concat(), "hidden": all_vals.concat()})
        } else {
            serde_json::json!({"words": words, "ids": all_ids, "logits": all_vals})
        };
        writeln!(out, "{obj}").map_err(|e| Error::Io {
            path: "<stdout>".into(),
            source: e,
        })?;
    }
    Ok(())
}

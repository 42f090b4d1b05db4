//! Vocabulary pruning for a Hugging Face folder with a SentencePiece Unigram
//! `tokenizer.json` and a `model.safetensors`.
//!
//! Pruning keeps the pieces a predicate accepts (plus every special token),
//! renumbers them densely in their original order, rewrites every id in
//! `tokenizer.json` and `config.json`, and slices every tensor dimension that
//! is indexed by token id.
//!
//! Why tokenization is unchanged on kept text: the Unigram Viterbi lattice of
//! an input only contains pieces that are substrings of the normalized input.
//! If every character of the normalized text is one the predicate accepts,
//! every piece of the lattice is made of accepted characters and survives, so
//! the best path is the same. The one global quantity the model derives from
//! the whole vocabulary, the unknown-piece penalty (minimum score − 10), is
//! preserved by also keeping one piece with the minimum score.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors, View};
use serde_json::Value;

use super::{write_atomic, write_bytes, write_err, ImportError};

const TOKENIZER: &str = "tokenizer.json";
const CONFIG: &str = "config.json";
const WEIGHTS: &str = "model.safetensors";
/// Files copied unchanged (when present) besides the three rewritten ones.
const COPIED: [&str; 2] = ["tokenizer_config.json", "special_tokens_map.json"];
/// Pieces that are always kept, whatever the predicate says.
const SPECIAL_PIECES: [&str; 5] = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"];

/// What [`prune_vocab`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct PruneSummary {
    /// The folder written.
    pub out_dir: PathBuf,
    /// Pieces in the input tokenizer.
    pub old_pieces: usize,
    /// Pieces kept (the new `vocab_size`).
    pub new_pieces: usize,
    /// Rows of the input embedding matrix (may exceed `old_pieces`).
    pub old_rows: usize,
    /// Tensors whose vocab-sized dimension was sliced.
    pub sliced_tensors: Vec<String>,
    /// Parameters before pruning.
    pub old_parameters: usize,
    /// Parameters after pruning.
    pub new_parameters: usize,
}

impl fmt::Display for PruneSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: kept {} of {} pieces (embedding rows {} -> {}), parameters {} -> {}, sliced {}",
            self.out_dir.display(),
            self.new_pieces,
            self.old_pieces,
            self.old_rows,
            self.new_pieces,
            self.old_parameters,
            self.new_parameters,
            self.sliced_tensors.join(", ")
        )
    }
}

/// Whether `c` is a character Arabic-language text is expected to use:
/// Arabic script blocks, printable ASCII, the SentencePiece space `▁`,
/// General Punctuation (incl. ZWNJ/ZWJ and directional marks), currency
/// signs, and a few Latin-1 punctuation marks and symbols (« » ° ± × ÷ …).
///
/// The set is closed under the e5 tokenizer's NFKC-style normalizer (a test
/// checks this), which is what makes pruning lossless for such text.
pub fn is_arabic_text_char(c: char) -> bool {
    matches!(c,
        '\u{0600}'..='\u{06FF}'
        | '\u{0750}'..='\u{077F}'
        | '\u{08A0}'..='\u{08FF}'
        | '\u{FB50}'..='\u{FDFF}'
        | '\u{FE70}'..='\u{FEFF}'
        | '!'..='~'
        | '\u{2581}'
        // General Punctuation, minus U+2017 and U+203E, which the normalizer
        // turns into a space plus a combining mark outside this set.
        | '\u{2000}'..='\u{2016}'
        | '\u{2018}'..='\u{203D}'
        | '\u{203F}'..='\u{206F}'
        | '\u{20A0}'..='\u{20CF}'
        | '\u{00A1}'..='\u{00A3}'
        | '\u{00A5}'..='\u{00A7}'
        | '\u{00A9}'
        | '\u{00AB}'..='\u{00AE}'
        | '\u{00B0}'..='\u{00B1}'
        | '\u{00B6}'..='\u{00B7}'
        | '\u{00BB}'
        | '\u{00BF}'
        | '\u{00D7}'
        | '\u{00F7}'
    )
}

/// Default predicate for Arabic models: keep a piece when every character
/// satisfies [`is_arabic_text_char`]. Empty pieces are dropped.
pub fn keep_for_arabic(piece: &str) -> bool {
    !piece.is_empty() && piece.chars().all(is_arabic_text_char)
}

/// A smaller vocabulary for Arabic models: every piece with Arabic script,
/// digits and punctuation as [`keep_for_arabic`] does, but Latin pieces only
/// up to three letters, enough to spell Latin words in Arabic text.
///
/// Arabic text tokenizes exactly as with the full vocabulary; Latin words
/// take more, shorter pieces. It keeps about 29k of the 250k pieces.
pub fn keep_compact(piece: &str) -> bool {
    if !keep_for_arabic(piece) {
        return false;
    }
    let core = piece.trim_start_matches('\u{2581}');
    let letters = core.chars().filter(|c| c.is_ascii_alphabetic()).count();
    !core.is_ascii() || letters <= 3
}

fn read(path: &Path) -> Result<Vec<u8>, ImportError> {
    std::fs::read(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn read_json(path: &Path) -> Result<Value, ImportError> {
    serde_json::from_slice(&read(path)?).map_err(|source| ImportError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Old id → new id for every kept piece.
struct IdMap {
    new_of_old: Vec<Option<u32>>,
    kept: Vec<usize>,
}

impl IdMap {
    fn get(&self, old: u64) -> Option<u32> {
        usize::try_from(old)
            .ok()
            .and_then(|i| self.new_of_old.get(i).copied().flatten())
    }
}

/// Read an id stored as a JSON number.
fn as_id(v: &Value) -> Option<u64> {
    v.as_u64()
}

/// Collect the ids that the post-processor refers to.
fn post_processor_ids(pp: &Value, out: &mut Vec<u64>) {
    match pp["type"].as_str() {
        Some("TemplateProcessing") => {
            if let Some(map) = pp["special_tokens"].as_object() {
                for tok in map.values() {
                    if let Some(ids) = tok["ids"].as_array() {
                        out.extend(ids.iter().filter_map(as_id));
                    }
                }
            }
        }
        Some("RobertaProcessing") | Some("BertProcessing") => {
            for key in ["sep", "cls"] {
                out.extend(as_id(&pp[key][1]));
            }
        }
        Some("Sequence") => {
            for p in pp["processors"].as_array().into_iter().flatten() {
                post_processor_ids(p, out);
            }
        }
        _ => {}
    }
}

/// Rewrite the ids the post-processor refers to.
fn remap_post_processor(pp: &mut Value, map: &IdMap) -> Result<(), String> {
    let remap = |v: &mut Value| -> Result<(), String> {
        let old = as_id(v).ok_or_else(|| format!("post_processor id {v} is not an id"))?;
        let new = map
            .get(old)
            .ok_or_else(|| format!("post_processor refers to id {old}, which was not kept"))?;
        *v = Value::from(new);
        Ok(())
    };
    match pp["type"].as_str() {
        Some("TemplateProcessing") => {
            if let Some(tokens) = pp["special_tokens"].as_object_mut() {
                for tok in tokens.values_mut() {
                    if let Some(ids) = tok["ids"].as_array_mut() {
                        ids.iter_mut().try_for_each(remap)?;
                    }
                }
            }
        }
        Some("RobertaProcessing") | Some("BertProcessing") => {
            for key in ["sep", "cls"] {
                if let Some(v) = pp.get_mut(key).and_then(|p| p.get_mut(1)) {
                    remap(v)?;
                }
            }
        }
        Some("Sequence") => {
            if let Some(ps) = pp["processors"].as_array_mut() {
                for p in ps {
                    remap_post_processor(p, map)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Keys of `config.json` that hold token ids (`pad_token_id`, …).
fn config_token_ids(config: &Value) -> Vec<(String, u64)> {
    config
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.ends_with("_token_id"))
        .filter_map(|(k, v)| as_id(v).map(|id| (k.clone(), id)))
        .collect()
}

/// Decide which pieces survive.
fn select(
    path: &Path,
    tok: &Value,
    config: &Value,
    keep: &dyn Fn(&str) -> bool,
) -> Result<IdMap, ImportError> {
    let bad = |detail: String| ImportError::Tokenizer {
        path: path.to_path_buf(),
        detail,
    };
    let model = &tok["model"];
    if model["type"] != "Unigram" {
        return Err(bad(format!(
            "model.type is {}, only Unigram tokenizers can be pruned",
            model["type"]
        )));
    }
    let vocab = model["vocab"]
        .as_array()
        .ok_or_else(|| bad("model.vocab is not an array".into()))?;
    let mut pieces = Vec::with_capacity(vocab.len());
    for (i, e) in vocab.iter().enumerate() {
        match (e[0].as_str(), e[1].as_f64()) {
            (Some(p), Some(s)) => pieces.push((p, s)),
            _ => return Err(bad(format!("model.vocab[{i}] is not [piece, score]"))),
        }
    }
    let n = pieces.len();

    // Ids that the tokenizer or model configuration refer to are always kept.
    let mut forced: Vec<u64> = Vec::new();
    forced.extend(as_id(&model["unk_id"]));
    for (i, t) in tok["added_tokens"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        forced.push(as_id(&t["id"]).ok_or_else(|| bad(format!("added_tokens[{i}] has no id")))?);
    }
    post_processor_ids(&tok["post_processor"], &mut forced);
    forced.extend(as_id(&tok["padding"]["pad_id"]));
    forced.extend(config_token_ids(config).into_iter().map(|(_, id)| id));
    if let Some(&id) = forced.iter().find(|&&id| id >= n as u64) {
        return Err(bad(format!(
            "id {id} is referenced but the vocabulary has only {n} pieces"
        )));
    }
    let mut keep_flags: Vec<bool> = pieces
        .iter()
        .map(|(p, _)| SPECIAL_PIECES.contains(p) || keep(p))
        .collect();
    for id in forced {
        keep_flags[id as usize] = true;
    }
    // Preserve the unknown-piece penalty, which is derived from the minimum score.
    let min = pieces.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let kept_has_min = pieces
        .iter()
        .zip(&keep_flags)
        .any(|((_, s), &k)| k && *s == min);
    if !kept_has_min {
        if let Some(i) = pieces.iter().position(|p| p.1 == min) {
            keep_flags[i] = true;
        }
    }

    let mut new_of_old = vec![None; n];
    let mut kept = Vec::new();
    for (old, _) in keep_flags.iter().enumerate().filter(|(_, &k)| k) {
        new_of_old[old] = Some(kept.len() as u32);
        kept.push(old);
    }
    Ok(IdMap { new_of_old, kept })
}

/// Rewrite `tokenizer.json` for the kept pieces.
fn rewrite_tokenizer(path: &Path, tok: &mut Value, map: &IdMap) -> Result<(), ImportError> {
    let bad = |detail: String| ImportError::Tokenizer {
        path: path.to_path_buf(),
        detail,
    };
    let missing =
        |what: &str, id: u64| bad(format!("{what} refers to id {id}, which was not kept"));
    let model = &mut tok["model"];
    let vocab = model["vocab"].take();
    let vocab = vocab.as_array().map(Vec::as_slice).unwrap_or_default();
    let kept: Option<Vec<Value>> = map.kept.iter().map(|&i| vocab.get(i).cloned()).collect();
    model["vocab"] =
        Value::Array(kept.ok_or_else(|| bad("model.vocab changed while pruning".into()))?);
    if let Some(unk) = as_id(&model["unk_id"]) {
        model["unk_id"] = map
            .get(unk)
            .ok_or_else(|| missing("model.unk_id", unk))?
            .into();
    }
    if let Some(added) = tok["added_tokens"].as_array_mut() {
        for t in added {
            if let Some(id) = as_id(&t["id"]) {
                t["id"] = map
                    .get(id)
                    .ok_or_else(|| missing("added_tokens", id))?
                    .into();
            }
        }
    }
    if tok["post_processor"].is_object() {
        remap_post_processor(&mut tok["post_processor"], map).map_err(bad)?;
    }
    if let Some(pad) = as_id(&tok["padding"]["pad_id"]) {
        tok["padding"]["pad_id"] = map
            .get(pad)
            .ok_or_else(|| missing("padding.pad_id", pad))?
            .into();
    }
    Ok(())
}

/// Rewrite `config.json`: new `vocab_size`, renumbered `*_token_id`s.
fn rewrite_config(path: &Path, config: &mut Value, map: &IdMap) -> Result<(), ImportError> {
    for (key, old) in config_token_ids(config) {
        let new = map.get(old).ok_or_else(|| ImportError::Config {
            path: path.to_path_buf(),
            detail: format!("{key} = {old} was not kept"),
        })?;
        config[key.as_str()] = new.into();
    }
    config["vocab_size"] = map.kept.len().into();
    Ok(())
}

/// A tensor to write, borrowing the input bytes when it is unchanged.
struct OutTensor<'a> {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Cow<'a, [u8]>,
}

impl View for &OutTensor<'_> {
    fn dtype(&self) -> Dtype {
        self.dtype
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }

    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// Keep the entries `rows` along `axis` of a row-major tensor.
fn gather(data: &[u8], shape: &[usize], axis: usize, elem: usize, rows: &[usize]) -> Vec<u8> {
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product::<usize>() * elem;
    let stride = shape[axis] * inner;
    let mut out = Vec::with_capacity(outer * rows.len() * inner);
    for o in 0..outer {
        let base = o * stride;
        for &r in rows {
            out.extend_from_slice(&data[base + r * inner..base + (r + 1) * inner]);
        }
    }
    out
}

/// Prune the vocabulary of the folder `in_dir` into `out_dir`.
///
/// `in_dir` must hold `tokenizer.json` (Unigram), `config.json` and
/// `model.safetensors`. A piece is kept when `keep` accepts it, when it is
/// one of `<s> <pad> </s> <unk> <mask>`, or when the tokenizer or config
/// refers to its id; kept pieces stay in order and are renumbered densely.
/// Every tensor dimension equal to the config's `vocab_size` (the embedding
/// rows, which may exceed the piece count) is sliced to the kept ids.
/// `tokenizer_config.json` and `special_tokens_map.json` are copied.
/// Each output file is written to a temporary file in `out_dir`, then renamed.
pub fn prune_vocab(
    in_dir: &Path,
    out_dir: &Path,
    keep: &dyn Fn(&str) -> bool,
) -> Result<PruneSummary, ImportError> {
    let tok_path = in_dir.join(TOKENIZER);
    let cfg_path = in_dir.join(CONFIG);
    let st_path = in_dir.join(WEIGHTS);
    let mut tok = read_json(&tok_path)?;
    let mut config = read_json(&cfg_path)?;
    let map = select(&tok_path, &tok, &config, keep)?;
    let old_pieces = map.new_of_old.len();

    let old_rows = match config.get("vocab_size") {
        None => old_pieces,
        Some(v) => v
            .as_u64()
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| ImportError::Config {
                path: cfg_path.clone(),
                detail: format!("vocab_size {v} is not a count"),
            })?,
    };
    if old_rows < old_pieces {
        return Err(ImportError::Config {
            path: cfg_path,
            detail: format!(
                "vocab_size {old_rows} is smaller than the tokenizer's {old_pieces} pieces"
            ),
        });
    }

    let bytes = read(&st_path)?;
    let st_err = |source| ImportError::Safetensors {
        path: st_path.clone(),
        source,
    };
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(st_err)?;
    let st = SafeTensors::deserialize(&bytes).map_err(st_err)?;
    let mut out = Vec::new();
    let mut sliced = Vec::new();
    let (mut old_parameters, mut new_parameters) = (0usize, 0usize);
    let mut names = st.names();
    names.sort_unstable();
    for name in names {
        let view = st.tensor(name).map_err(st_err)?;
        let shape = view.shape().to_vec();
        let n: usize = shape.iter().product();
        old_parameters += n;
        let axes: Vec<usize> = (0..shape.len()).filter(|&a| shape[a] == old_rows).collect();
        let tensor = match axes.as_slice() {
            [] => OutTensor {
                dtype: view.dtype(),
                shape,
                data: Cow::Borrowed(view.data()),
            },
            [axis] => {
                let elem = view.dtype().bitsize() / 8;
                if elem == 0 || view.dtype().bitsize() % 8 != 0 {
                    return Err(ImportError::BadTensor {
                        path: st_path.clone(),
                        name: name.to_string(),
                        detail: format!("cannot slice sub-byte dtype {:?}", view.dtype()),
                    });
                }
                let data = gather(view.data(), &shape, *axis, elem, &map.kept);
                let mut shape = shape;
                shape[*axis] = map.kept.len();
                sliced.push(name.to_string());
                OutTensor {
                    dtype: view.dtype(),
                    shape,
                    data: Cow::Owned(data),
                }
            }
            _ => {
                return Err(ImportError::BadTensor {
                    path: st_path.clone(),
                    name: name.to_string(),
                    detail: format!(
                        "shape {shape:?} has several vocab-sized ({old_rows}) dimensions"
                    ),
                })
            }
        };
        new_parameters += tensor.shape.iter().product::<usize>();
        out.push((name.to_string(), tensor));
    }
    if sliced.is_empty() {
        return Err(ImportError::Config {
            path: st_path,
            detail: format!("no tensor has a vocab-sized ({old_rows}) dimension"),
        });
    }

    rewrite_tokenizer(&tok_path, &mut tok, &map)?;
    rewrite_config(&cfg_path, &mut config, &map)?;

    std::fs::create_dir_all(out_dir).map_err(write_err(out_dir))?;
    let out_st = out_dir.join(WEIGHTS);
    let mut meta = header.metadata().clone().unwrap_or_default();
    meta.entry("format".into()).or_insert_with(|| "pt".into());
    write_atomic(out_dir, WEIGHTS, |tmp, _| {
        let views = out.iter().map(|(n, t)| (n.as_str(), t));
        safetensors::serialize_to_file(views, Some(meta), tmp).map_err(|source| {
            ImportError::Safetensors {
                path: out_st.clone(),
                source,
            }
        })
    })?;
    drop(out);
    let json = |path: PathBuf, v: &Value| {
        serde_json::to_vec_pretty(v).map_err(|source| ImportError::Json { path, source })
    };
    write_bytes(out_dir, TOKENIZER, &json(out_dir.join(TOKENIZER), &tok)?)?;
    for name in COPIED {
        let src = in_dir.join(name);
        if src.is_file() {
            write_bytes(out_dir, name, &read(&src)?)?;
        }
    }
    // config.json last: its presence marks a complete folder.
    write_bytes(out_dir, CONFIG, &json(out_dir.join(CONFIG), &config)?)?;

    Ok(PruneSummary {
        out_dir: out_dir.to_path_buf(),
        old_pieces,
        new_pieces: map.kept.len(),
        old_rows,
        sliced_tensors: sliced,
        old_parameters,
        new_parameters,
    })
}

#[cfg(test)]
mod tests;

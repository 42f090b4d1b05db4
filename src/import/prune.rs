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
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;
    use tokenizers::Tokenizer;

    #[test]
    fn arabic_predicate() {
        for p in [
            "▁محمد",
            "▁hello",
            "<s>",
            "«",
            "▁2024",
            "،",
            "؟",
            "\u{200C}",
            "ﷺ",
            "€",
        ] {
            assert!(keep_for_arabic(p), "{p}");
        }
        for p in ["▁你好", "▁привет", "", "µ", "é", "▁a\u{0301}", "😀"] {
            assert!(!keep_for_arabic(p), "{p}");
        }
    }

    /// A tiny Unigram tokenizer whose special tokens are interleaved with
    /// dropped pieces, so every id in it has to move.
    fn synthetic_pieces() -> Vec<(&'static str, f64)> {
        vec![
            ("<s>", 0.0),
            ("中", -6.0),
            ("<pad>", 0.0),
            ("</s>", 0.0),
            ("<unk>", 0.0),
            ("▁", -3.0),
            ("▁ال", -3.5),
            ("ال", -4.0),
            ("▁الكتاب", -7.0),
            ("كتاب", -6.5),
            ("▁كتاب", -6.0),
            ("ك", -5.0),
            ("ت", -5.0),
            ("ا", -4.5),
            ("ب", -5.0),
            ("ل", -4.8),
            ("▁中文", -8.0),
            ("▁the", -4.0),
            ("t", -5.5),
            ("h", -5.5),
            ("e", -5.5),
            ("▁при", -9.0),
            ("п", -9.5),
            (".", -3.2),
            ("،", -3.3),
            ("文", -20.0),
            ("<mask>", 0.0),
        ]
    }

    fn synthetic_tokenizer() -> Value {
        let pieces = synthetic_pieces();
        let id = |p: &str| pieces.iter().position(|x| x.0 == p).expect("piece") as u64;
        let added: Vec<Value> = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
            .iter()
            .map(|p| {
                json!({"id": id(p), "content": p, "single_word": false, "lstrip": false,
                       "rstrip": false, "normalized": false, "special": true})
            })
            .collect();
        json!({
            "version": "1.0",
            "truncation": null,
            "padding": {"strategy": "BatchLongest", "direction": "Right", "pad_to_multiple_of": null,
                        "pad_id": id("<pad>"), "pad_type_id": 0, "pad_token": "<pad>"},
            "added_tokens": added,
            "normalizer": null,
            "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                           {"Sequence": {"id": "A", "type_id": 0}},
                           {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                         {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": "</s>", "type_id": 0}},
                         {"Sequence": {"id": "B", "type_id": 0}},
                         {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                "special_tokens": {
                    "<s>": {"id": "<s>", "ids": [id("<s>")], "tokens": ["<s>"]},
                    "</s>": {"id": "</s>", "ids": [id("</s>")], "tokens": ["</s>"]}
                }
            },
            "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
            "model": {
                "type": "Unigram",
                "unk_id": id("<unk>"),
                "vocab": pieces.iter().map(|(p, s)| json!([p, s])).collect::<Vec<_>>(),
            }
        })
    }

    /// Rows = pieces + 2 padding rows, as in e5 (250037 rows, 250002 pieces).
    const EXTRA_ROWS: usize = 2;
    const H: usize = 3;

    fn f32_bytes(v: impl IntoIterator<Item = f32>) -> Vec<u8> {
        v.into_iter().flat_map(f32::to_le_bytes).collect()
    }

    fn write_synthetic_folder(dir: &Path) {
        let rows = synthetic_pieces().len() + EXTRA_ROWS;
        std::fs::write(dir.join(TOKENIZER), synthetic_tokenizer().to_string()).expect("write");
        let config = json!({"model_type": "bert", "vocab_size": rows, "hidden_size": H,
                            "pad_token_id": 2, "bos_token_id": 0, "eos_token_id": 3});
        std::fs::write(dir.join(CONFIG), config.to_string()).expect("write");
        std::fs::write(dir.join("tokenizer_config.json"), "{}").expect("write");
        // Row r of the embeddings holds r*10 + c; the lm head is [H, rows] in f16.
        let emb = f32_bytes((0..rows * H).map(|i| ((i / H) * 10 + i % H) as f32));
        let bias = f32_bytes((0..rows).map(|r| r as f32));
        let dense = f32_bytes((0..H * H).map(|i| i as f32));
        let head: Vec<u8> = (0..H * rows)
            .flat_map(|i| half::f16::from_f32((i % rows) as f32).to_le_bytes())
            .collect();
        let tensors = [
            (
                "embeddings.word_embeddings.weight",
                Dtype::F32,
                vec![rows, H],
                emb,
            ),
            ("cls.predictions.bias", Dtype::F32, vec![rows], bias),
            ("encoder.dense.weight", Dtype::F32, vec![H, H], dense),
            ("lm_head.weight", Dtype::F16, vec![H, rows], head),
        ];
        let owned: Vec<(String, OutTensor)> = tensors
            .into_iter()
            .map(|(n, dtype, shape, data)| {
                (
                    n.to_string(),
                    OutTensor {
                        dtype,
                        shape,
                        data: Cow::Owned(data),
                    },
                )
            })
            .collect();
        safetensors::serialize_to_file(
            owned.iter().map(|(n, t)| (n.as_str(), t)),
            None,
            &dir.join(WEIGHTS),
        )
        .expect("serialize");
    }

    fn tokens(tok: &Tokenizer, text: &str) -> (Vec<String>, Vec<u32>) {
        let enc = tok.encode(text, true).expect("encode");
        (enc.get_tokens().to_vec(), enc.get_ids().to_vec())
    }

    /// Old id → new id, recovered from the two vocabularies.
    fn id_map(old: &Tokenizer, new: &Tokenizer) -> HashMap<u32, u32> {
        new.get_vocab(true)
            .into_iter()
            .map(|(piece, new_id)| (old.token_to_id(&piece).expect("old piece"), new_id))
            .collect()
    }

    fn assert_same_tokenization(old: &Tokenizer, new: &Tokenizer, texts: &[&str]) {
        let map = id_map(old, new);
        for text in texts {
            let (old_toks, old_ids) = tokens(old, text);
            let (new_toks, new_ids) = tokens(new, text);
            assert_eq!(old_toks, new_toks, "pieces differ for {text:?}");
            let mapped: Vec<u32> = old_ids.iter().map(|i| map[i]).collect();
            assert_eq!(mapped, new_ids, "ids differ for {text:?}");
        }
    }

    #[test]
    fn prunes_synthetic_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (src, dst) = (dir.path().join("in"), dir.path().join("out"));
        std::fs::create_dir(&src).expect("mkdir");
        write_synthetic_folder(&src);
        let summary = prune_vocab(&src, &dst, &keep_for_arabic).expect("prune");

        // Dropped: 中, ▁中文, ▁при, п. Kept: 文, because it has the minimum score.
        let pieces = synthetic_pieces();
        assert_eq!(summary.old_pieces, pieces.len());
        assert_eq!(summary.old_rows, pieces.len() + EXTRA_ROWS);
        assert_eq!(summary.new_pieces, pieces.len() - 4);
        let mut sliced = summary.sliced_tensors.clone();
        sliced.sort();
        assert_eq!(
            sliced,
            [
                "cls.predictions.bias",
                "embeddings.word_embeddings.weight",
                "lm_head.weight"
            ]
        );

        let old = Tokenizer::from_file(src.join(TOKENIZER)).expect("old tokenizer");
        let new = Tokenizer::from_file(dst.join(TOKENIZER)).expect("new tokenizer");
        assert_eq!(new.get_vocab_size(true), summary.new_pieces);
        assert!(new.token_to_id("文").is_some());
        assert!(new.token_to_id("中").is_none());
        // ث is in no piece: the unknown-piece path must score exactly as before.
        assert_same_tokenization(
            &old,
            &new,
            &[
                "الكتاب",
                "كتاب الكتاب.",
                "the كتاب، ال",
                "ثلاث كتب",
                "tea. ta",
                "<mask> الكتاب",
            ],
        );
        let (toks, ids) = tokens(&new, "الكتاب");
        assert_eq!(toks, ["<s>", "▁الكتاب", "</s>"]);
        assert_eq!(ids[0], 0);
        assert_eq!(ids[2], new.token_to_id("</s>").expect("eos"));

        // Every id-bearing field moved with its piece.
        let tj = read_json(&dst.join(TOKENIZER)).expect("json");
        let id = |p: &str| u64::from(new.token_to_id(p).expect("piece"));
        assert_eq!(tj["model"]["unk_id"], id("<unk>"));
        assert_eq!(tj["padding"]["pad_id"], id("<pad>"));
        assert_eq!(
            tj["post_processor"]["special_tokens"]["</s>"]["ids"][0],
            id("</s>")
        );
        for t in tj["added_tokens"].as_array().expect("added") {
            assert_eq!(t["id"], id(t["content"].as_str().expect("content")));
        }
        let cfg = read_json(&dst.join(CONFIG)).expect("json");
        assert_eq!(cfg["vocab_size"], summary.new_pieces);
        assert_eq!(cfg["pad_token_id"], id("<pad>"));
        assert_eq!(cfg["eos_token_id"], id("</s>"));
        assert!(dst.join("tokenizer_config.json").is_file());

        // Rows follow their pieces, along axis 0 (f32) and axis 1 (f16).
        let bytes = std::fs::read(dst.join(WEIGHTS)).expect("read");
        let st = SafeTensors::deserialize(&bytes).expect("safetensors");
        let emb = st.tensor("embeddings.word_embeddings.weight").expect("emb");
        assert_eq!(emb.shape(), &[summary.new_pieces, H]);
        let head = st.tensor("lm_head.weight").expect("head");
        assert_eq!(head.shape(), &[H, summary.new_pieces]);
        let f32_at =
            |d: &[u8], i: usize| f32::from_le_bytes(d[i * 4..i * 4 + 4].try_into().expect("4"));
        for (old_id, new_id) in id_map(&old, &new) {
            let (o, n) = (old_id as usize, new_id as usize);
            assert_eq!(f32_at(emb.data(), n * H + 1), (o * 10 + 1) as f32);
            let k = 2 * (summary.new_pieces + n); // element [1, n]
            let h = half::f16::from_le_bytes([head.data()[k], head.data()[k + 1]]);
            assert_eq!(h.to_f32(), o as f32);
        }
        let dense = st.tensor("encoder.dense.weight").expect("dense");
        assert_eq!(dense.shape(), &[H, H]);
        assert_eq!(
            summary.new_parameters,
            summary.old_parameters - (summary.old_rows - summary.new_pieces) * (H + 1 + H)
        );
    }

    #[test]
    fn rejects_non_unigram_and_short_vocab() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("in");
        std::fs::create_dir(&src).expect("mkdir");
        write_synthetic_folder(&src);
        let mut cfg = read_json(&src.join(CONFIG)).expect("json");
        cfg["vocab_size"] = json!(5);
        std::fs::write(src.join(CONFIG), cfg.to_string()).expect("write");
        let err = prune_vocab(&src, &dir.path().join("o1"), &keep_for_arabic).expect_err("short");
        assert!(matches!(err, ImportError::Config { .. }), "{err}");

        let mut tok = synthetic_tokenizer();
        tok["model"]["type"] = json!("BPE");
        std::fs::write(src.join(TOKENIZER), tok.to_string()).expect("write");
        let err = prune_vocab(&src, &dir.path().join("o2"), &keep_for_arabic).expect_err("bpe");
        assert!(err.to_string().contains("only Unigram"), "{err}");
        assert!(!dir.path().join("o2").exists());
    }

    /// Folder of the imported e5-small model: `$E5_BASE_DIR`, else
    /// `base/e5-small` in the crate.
    fn real_model_dir() -> Option<PathBuf> {
        let dir = std::env::var_os("E5_BASE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("base/e5-small"));
        if dir.join(WEIGHTS).is_file() && dir.join(TOKENIZER).is_file() {
            Some(dir)
        } else {
            eprintln!(
                "skipping: no imported e5-small at {} (set E5_BASE_DIR or run scripts/fetch-base-model)",
                dir.display()
            );
            None
        }
    }

    #[test]
    fn arabic_text_tokenizes_identically_after_pruning_e5() {
        let Some(src) = real_model_dir() else { return };
        let dir = tempfile::tempdir().expect("tempdir");
        let dst = dir.path().join("pruned");
        let summary = prune_vocab(&src, &dst, &keep_for_arabic).expect("prune");
        assert!(summary.new_pieces < summary.old_pieces);
        let old = Tokenizer::from_file(src.join(TOKENIZER)).expect("old tokenizer");
        let new = Tokenizer::from_file(dst.join(TOKENIZER)).expect("new tokenizer");

        // The kept character set is closed under the tokenizer's normalizer,
        // so normalized kept text never contains a dropped character.
        let normalizer = old.get_normalizer().expect("e5 has a normalizer");
        let ranges = [
            0x21..=0x7E,
            0xA1..=0xF7,
            0x600..=0x6FF,
            0x750..=0x77F,
            0x8A0..=0x8FF,
            0x2000..=0x206F,
            0x20A0..=0x20CF,
            0xFB50..=0xFDFF,
            0xFE70..=0xFEFF,
        ];
        for c in ranges.into_iter().flatten().filter_map(char::from_u32) {
            if !is_arabic_text_char(c) {
                continue;
            }
            let mut s = tokenizers::NormalizedString::from(c.to_string());
            tokenizers::Normalizer::normalize(normalizer, &mut s).expect("normalize");
            let bad: Vec<char> = s
                .get()
                .chars()
                .filter(|&n| n != ' ' && !is_arabic_text_char(n))
                .collect();
            assert!(
                bad.is_empty(),
                "U+{:04X} normalizes to {:?}",
                c as u32,
                s.get()
            );
        }

        assert_same_tokenization(
            &old,
            &new,
            &[
                "passage: ذهب محمد بن سلمان إلى الرياض يوم الأحد لحضور مؤتمر الاستثمار.",
                "query: أين تقع جامعة القاهرة؟",
                "وُلِدَ نَجِيبُ مَحْفُوظ فِي القَاهِرَة عَامَ ١٩١١م، وَحَصَلَ عَلَى جَائِزَة نُوبِل.",
                "أعلنت شركة «أرامكو» السعودية عن أرباح بلغت 121.3 مليار دولار (بزيادة 5%).",
                "قال الأمين العام للأمم المتحدة أنطونيو غوتيريش إن الوضع في غزة «كارثي».",
                "يلعب محمد صلاح لنادي ليفربول الإنجليزي منذ عام 2017 — وهو هدّاف الفريق.",
                "النبي محمد ﷺ ولد في مكة المكرمة.",
                "تـــم افتتاح المتحف المصري الكبير بالجيزة في ٢٠٢٥/١١/١.",
                "پژوهشگران دانشگاه تهران گزارش دادند؛ نتیجه‌ها امیدوارکننده است.",
                "Email: info@example.org — هاتف: +971-4-555-0100",
                "ﻣﺮﺣﺒﺎ ﺑﻜﻢ ﻓﻲ ﺩﺑﻲ",
            ],
        );

        // Pseudo-random strings over a pool of kept characters (Arabic
        // letters, diacritics, tatweel, digits, presentation forms, ZWNJ,
        // punctuation, Latin, spaces) exercise rarer lattice paths.
        let pool: Vec<char> = "ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأإؤئىةًٌٍَُِّْـ٠١٢٣٤٥٦٧٨٩۰۱۲پچژگکی\
                               ﻻﷲﺍﺏ\u{200C}\u{200F}،؛؟«».,:;!?()-—%$€0123456789abcXYZ   "
            .chars()
            .collect();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let fuzz: Vec<String> = (0..300)
            .map(|_| {
                let len = 1 + (next() % 40) as usize;
                (0..len)
                    .map(|_| pool[(next() % pool.len() as u64) as usize])
                    .collect()
            })
            .collect();
        let fuzz: Vec<&str> = fuzz.iter().map(String::as_str).collect();
        assert_same_tokenization(&old, &new, &fuzz);

        // Embedding rows follow their pieces.
        let (a, b) = (
            std::fs::read(src.join(WEIGHTS)).expect("read"),
            std::fs::read(dst.join(WEIGHTS)).expect("read"),
        );
        let (a, b) = (
            SafeTensors::deserialize(&a).expect("st"),
            SafeTensors::deserialize(&b).expect("st"),
        );
        let name = "embeddings.word_embeddings.weight";
        let (ea, eb) = (a.tensor(name).expect("emb"), b.tensor(name).expect("emb"));
        let h = ea.shape()[1];
        assert_eq!(eb.shape(), &[summary.new_pieces, h]);
        for piece in ["▁محمد", "▁القاهرة", "<mask>", "</s>", "،", "▁the"] {
            let (o, n) = (
                old.token_to_id(piece).expect("old") as usize,
                new.token_to_id(piece).expect("new") as usize,
            );
            let row = |d: &[u8], r: usize| d[r * h * 4..(r + 1) * h * 4].to_vec();
            assert_eq!(row(ea.data(), o), row(eb.data(), n), "{piece}");
        }
    }
}

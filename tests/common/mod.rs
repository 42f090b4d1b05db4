//! Builders of tiny model folders for the integration tests.
//!
//! Everything is written into temporary folders at test time: no network,
//! no large files. Three kinds of model:
//!
//! * the **oracle**: context-free by construction, so that its output is
//!   known in advance. Each vocabulary entry has a label; its word embedding
//!   points along that label's dimension, position and type embeddings are
//!   zero, and the attention-output and FFN-output dense layers are zero, so
//!   every layer hands its input through its layer norms unchanged. The
//!   classifier is a scaled identity, so a word's label is the label of its
//!   first piece whatever surrounds it; unknown words give `[UNK]`, which is
//!   `O`. An `I-X` word's second choice is `B-X`, so Viterbi decoding reads
//!   it where `I-X` cannot stand as seqeval reads a stray `I-X`.
//! * a **random** model with normal weights, for loading and training;
//! * **broken** variants of either, made by editing a written folder.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::{AddedToken, Tokenizer};

use arabic_ner::model::weights::{save_safetensors, Storage};

/// The labels of every test model, in classifier-row order.
pub const LABELS: [&str; 9] = [
    "O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-DATE", "I-DATE",
];

pub const SPECIALS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// A vocabulary entry: piece, label of its first piece, and whether the
/// oracle is only weakly sure of the label (probability about 0.6).
pub struct Entry {
    pub piece: &'static str,
    pub label: &'static str,
    pub weak: bool,
}

const fn e(piece: &'static str, label: &'static str) -> Entry {
    Entry {
        piece,
        label,
        weak: false,
    }
}

const fn weak(piece: &'static str, label: &'static str) -> Entry {
    Entry {
        piece,
        label,
        weak: true,
    }
}

/// The vocabulary after the special tokens. Words that WordPiece splits
/// (شركة = شرك + ##ة, القاهرة = القاهر + ##ة, جديدة = جديد + ##ة,
/// العلاقات = العلاق + ##ات) take the label of their first piece.
pub const VOCAB: &[Entry] = &[
    // Plain words.
    e("زار", "O"),
    e("زارت", "O"),
    e("سافر", "O"),
    e("وصل", "O"),
    e("عاد", "O"),
    e("إلى", "O"),
    e("في", "O"),
    e("من", "O"),
    e("مع", "O"),
    e("عن", "O"),
    e("على", "O"),
    e("بين", "O"),
    e("قال", "O"),
    e("وقال", "O"),
    e("إن", "O"),
    e("أن", "O"),
    e("يوم", "O"),
    e("ثم", "O"),
    e("بعد", "O"),
    e("الرئيس", "O"),
    e("الوزير", "O"),
    e("تحدث", "O"),
    e("اتفقت", "O"),
    e("أعلنت", "O"),
    e("ولد", "O"),
    e("وعاش", "O"),
    e("عام", "O"),
    e("خطة", "O"),
    e("رحلات", "O"),
    e("الاجتماع", "O"),
    e("المدينة", "O"),
    e("هذا", "O"),
    e("كان", "O"),
    e("جديد", "O"),
    e("العلاق", "O"),
    e(".", "O"),
    e("،", "O"),
    e(":", "O"),
    e("؟", "O"),
    e("!", "O"),
    e("(", "O"),
    e(")", "O"),
    e("##ة", "O"),
    e("##ات", "O"),
    e("##ين", "O"),
    e("##ون", "O"),
    e("##ها", "O"),
    // Persons.
    e("سمير", "B-PER"),
    e("الخطيب", "I-PER"),
    e("ليلى", "B-PER"),
    e("منصور", "I-PER"),
    // Organizations: شركة النور للطيران, and a weak الاتحاد الأوروبي.
    e("شرك", "B-ORG"),
    e("النور", "I-ORG"),
    e("للطيران", "I-ORG"),
    weak("الاتحاد", "B-ORG"),
    weak("الأوروبي", "I-ORG"),
    // Places.
    e("فرنسا", "B-LOC"),
    e("وفرنسا", "B-LOC"),
    e("موسكو", "B-LOC"),
    e("لموسكو", "B-LOC"),
    e("الولايات", "B-LOC"),
    e("والولايات", "B-LOC"),
    e("المتحدة", "I-LOC"),
    e("لبنان", "B-LOC"),
    e("بغداد", "B-LOC"),
    e("وبغداد", "B-LOC"),
    e("مصر", "B-LOC"),
    e("القاهر", "B-LOC"),
    // Dates.
    e("13", "B-DATE"),
    e("يناير", "I-DATE"),
    e("2022", "I-DATE"),
    e("أمس", "B-DATE"),
];

/// Every piece in id order: the special tokens, then [`VOCAB`].
pub fn pieces() -> Vec<&'static str> {
    SPECIALS
        .iter()
        .copied()
        .chain(VOCAB.iter().map(|e| e.piece))
        .collect()
}

fn label_index(label: &str) -> usize {
    LABELS
        .iter()
        .position(|l| *l == label)
        .unwrap_or_else(|| panic!("unknown label {label}"))
}

/// Which tokenizer files a folder gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokFiles {
    /// `tokenizer.json` only.
    Json,
    /// `vocab.txt` and `tokenizer_config.json`.
    Vocab,
    /// All three (the loader prefers `tokenizer.json`).
    Both,
}

/// The weights a folder gets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// The context-free oracle.
    Oracle,
    /// Normal weights with this standard deviation, from this seed.
    Random { seed: u64, std: f32 },
}

/// What to write into a model folder.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    pub kind: Kind,
    pub tokenizer: TokFiles,
    /// Names with the `bert.` prefix of `BertForTokenClassification`.
    pub prefixed: bool,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub max_positions: usize,
    /// Dropout written into `config.json`.
    pub dropout: f64,
}

impl ModelSpec {
    pub fn oracle() -> Self {
        ModelSpec {
            kind: Kind::Oracle,
            tokenizer: TokFiles::Both,
            prefixed: true,
            hidden: 32,
            layers: 2,
            heads: 2,
            intermediate: 48,
            max_positions: 128,
            dropout: 0.1,
        }
    }

    pub fn random(seed: u64) -> Self {
        ModelSpec {
            kind: Kind::Random { seed, std: 0.5 },
            max_positions: 64,
            ..Self::oracle()
        }
    }

    pub fn tokenizer(mut self, t: TokFiles) -> Self {
        self.tokenizer = t;
        self
    }

    pub fn prefixed(mut self, p: bool) -> Self {
        self.prefixed = p;
        self
    }

    /// Writes the folder (created if needed).
    pub fn write(&self, dir: &Path) {
        std::fs::create_dir_all(dir).expect("create model folder");
        write_tokenizer(dir, self.tokenizer);
        let vocab_size = pieces().len();
        write_config(dir, &self.config(vocab_size, &LABELS));
        let tensors = self.tensors(vocab_size, LABELS.len());
        save_safetensors(&tensors, &dir.join("model.safetensors"), Storage::F32)
            .expect("save weights");
    }

    /// Writes the folder into a new temporary folder.
    pub fn build(&self) -> TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        self.write(dir.path());
        dir
    }

    /// The `config.json` of this model.
    pub fn config(&self, vocab_size: usize, labels: &[&str]) -> Value {
        let id2label: serde_json::Map<String, Value> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (i.to_string(), json!(l)))
            .collect();
        let label2id: serde_json::Map<String, Value> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.to_string(), json!(i)))
            .collect();
        json!({
            "architectures": ["BertForTokenClassification"],
            "model_type": "bert",
            "vocab_size": vocab_size,
            "hidden_size": self.hidden,
            "num_hidden_layers": self.layers,
            "num_attention_heads": self.heads,
            "intermediate_size": self.intermediate,
            "hidden_act": "gelu",
            "hidden_dropout_prob": self.dropout,
            "attention_probs_dropout_prob": self.dropout,
            "max_position_embeddings": self.max_positions,
            "type_vocab_size": 2,
            "layer_norm_eps": 1e-12,
            "pad_token_id": 0,
            "position_embedding_type": "absolute",
            "id2label": id2label,
            "label2id": label2id,
        })
    }

    /// Every tensor of the model, named as `save_pretrained` names them
    /// (with or without the `bert.` prefix).
    pub fn tensors(&self, vocab_size: usize, num_labels: usize) -> Vec<(String, Tensor)> {
        let h = self.hidden;
        let im = self.intermediate;
        let mut rng = Rng::new(match self.kind {
            Kind::Oracle => 7,
            Kind::Random { seed, .. } => seed,
        });
        let std = match self.kind {
            Kind::Oracle => 0.5,
            Kind::Random { std, .. } => std,
        };
        let random = self.kind != Kind::Oracle;
        let mut out: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
        let mut push = |name: String, shape: Vec<usize>, data: Vec<f32>| {
            assert_eq!(shape.iter().product::<usize>(), data.len(), "{name}");
            out.push((name, shape, data));
        };
        let zeros = |n: usize| vec![0f32; n];
        let ones = |n: usize| vec![1f32; n];

        // Embeddings.
        let word = if random {
            rng.normal_vec(vocab_size * h, std)
        } else {
            oracle_embeddings(vocab_size, h)
        };
        push(
            "embeddings.word_embeddings.weight".into(),
            vec![vocab_size, h],
            word,
        );
        let (pos, typ) = if random {
            (
                rng.normal_vec(self.max_positions * h, std),
                rng.normal_vec(2 * h, std),
            )
        } else {
            (zeros(self.max_positions * h), zeros(2 * h))
        };
        push(
            "embeddings.position_embeddings.weight".into(),
            vec![self.max_positions, h],
            pos,
        );
        push(
            "embeddings.token_type_embeddings.weight".into(),
            vec![2, h],
            typ,
        );
        let (lnw, lnb) = if random {
            (rng.around_one(h), rng.normal_vec(h, 0.1))
        } else {
            (ones(h), zeros(h))
        };
        push("embeddings.LayerNorm.weight".into(), vec![h], lnw);
        push("embeddings.LayerNorm.bias".into(), vec![h], lnb);

        for i in 0..self.layers {
            let p = format!("encoder.layer.{i}");
            for (name, out_dim, in_dim, passes) in [
                ("attention.self.query", h, h, false),
                ("attention.self.key", h, h, false),
                ("attention.self.value", h, h, false),
                ("attention.output.dense", h, h, true),
                ("intermediate.dense", im, h, false),
                ("output.dense", h, im, true),
            ] {
                // The oracle zeroes the layers whose output is added to the
                // residual stream, so each layer passes its input through.
                let (w, b) = if passes && !random {
                    (zeros(out_dim * in_dim), zeros(out_dim))
                } else {
                    (
                        rng.normal_vec(out_dim * in_dim, std),
                        rng.normal_vec(out_dim, 0.1),
                    )
                };
                push(format!("{p}.{name}.weight"), vec![out_dim, in_dim], w);
                push(format!("{p}.{name}.bias"), vec![out_dim], b);
            }
            for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
                let (w, b) = if random {
                    (rng.around_one(h), rng.normal_vec(h, 0.1))
                } else {
                    (ones(h), zeros(h))
                };
                push(format!("{p}.{name}.weight"), vec![h], w);
                push(format!("{p}.{name}.bias"), vec![h], b);
            }
        }

        let cls = if random {
            rng.normal_vec(num_labels * h, std)
        } else {
            // Scaled identity on the first `num_labels` dimensions.
            let mut w = zeros(num_labels * h);
            for j in 0..num_labels.min(h) {
                w[j * h + j] = ORACLE_SCALE;
            }
            w
        };
        push("classifier.weight".into(), vec![num_labels, h], cls);
        let cls_bias = if random {
            rng.normal_vec(num_labels, 0.1)
        } else {
            zeros(num_labels)
        };
        push("classifier.bias".into(), vec![num_labels], cls_bias);

        out.into_iter()
            .map(|(name, shape, data)| {
                let name = if self.prefixed && !name.starts_with("classifier.") {
                    format!("bert.{name}")
                } else {
                    name
                };
                let t = Tensor::from_vec(data, shape, &Device::Cpu).expect("tensor");
                (name, t)
            })
            .collect()
    }
}

/// Scale of the oracle's classifier.
pub const ORACLE_SCALE: f32 = 2.0;

/// How much of the `B-` direction an `I-` entry's embedding carries.
const INSIDE_BEGIN: f32 = 0.25;

/// How much of the `O` direction a weak entry's embedding carries.
const WEAK_O: f32 = 0.95;

/// Word embeddings of the oracle: each entry along its label's dimension.
fn oracle_embeddings(vocab_size: usize, h: usize) -> Vec<f32> {
    let mut w = vec![0f32; vocab_size * h];
    let labels: Vec<(usize, bool, Option<usize>)> = SPECIALS
        .iter()
        .map(|_| (0, false, None))
        .chain(VOCAB.iter().map(|e| {
            let begin = e
                .label
                .strip_prefix("I-")
                .map(|t| label_index(&format!("B-{t}")));
            (label_index(e.label), e.weak, begin)
        }))
        .collect();
    for (row, &(label, is_weak, begin)) in labels.iter().enumerate().take(vocab_size) {
        w[row * h + label] = 1.0;
        if is_weak {
            w[row * h] = WEAK_O;
        }
        // An inside word's second choice is the beginning of its type, so
        // where decoding may not open an entity with `I-` (Viterbi), the
        // word opens it with `B-`: the same span as seqeval reads `I-` there.
        if let Some(b) = begin {
            w[row * h + b] = INSIDE_BEGIN;
        }
    }
    w
}

/// Writes `vocab.txt` with [`pieces`] (one a line, id order).
pub fn write_vocab(path: &Path, pieces: &[&str]) {
    let mut text = pieces.join("\n");
    text.push('\n');
    std::fs::write(path, text).expect("write vocab.txt");
}

/// Writes the tokenizer files of a folder.
pub fn write_tokenizer(dir: &Path, files: TokFiles) {
    let vocab = dir.join("vocab.txt");
    write_vocab(&vocab, &pieces());
    if matches!(files, TokFiles::Json | TokFiles::Both) {
        save_tokenizer_json(&vocab, &dir.join("tokenizer.json"));
    }
    match files {
        TokFiles::Json => std::fs::remove_file(&vocab).expect("remove vocab.txt"),
        TokFiles::Vocab | TokFiles::Both => {
            let cfg = json!({
                "do_lower_case": false,
                "unk_token": "[UNK]",
                "cls_token": "[CLS]",
                "sep_token": "[SEP]",
                "pad_token": "[PAD]",
                "mask_token": "[MASK]",
                "tokenizer_class": "BertTokenizer"
            });
            std::fs::write(
                dir.join("tokenizer_config.json"),
                serde_json::to_string_pretty(&cfg).expect("json"),
            )
            .expect("write tokenizer_config.json");
        }
    }
}

/// Builds a BERT WordPiece tokenizer from a `vocab.txt` with the
/// `tokenizers` crate and saves it as `tokenizer.json`.
pub fn save_tokenizer_json(vocab: &Path, out: &Path) {
    let model = WordPiece::from_file(vocab.to_str().expect("UTF-8 path"))
        .unk_token("[UNK]".to_string())
        .build()
        .expect("WordPiece");
    let mut tok = Tokenizer::new(model);
    tok.with_normalizer(Some(BertNormalizer::new(true, true, None, false)))
        .expect("normalizer");
    tok.with_pre_tokenizer(Some(BertPreTokenizer));
    tok.add_special_tokens(SPECIALS.iter().map(|s| AddedToken::from(*s, true)))
        .expect("special tokens");
    tok.save(out, true).expect("save tokenizer.json");
}

/// Writes `config.json`.
pub fn write_config(dir: &Path, cfg: &Value) {
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string_pretty(cfg).expect("json"),
    )
    .expect("write config.json");
}

/// Reads `config.json` as JSON.
pub fn read_config(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("config.json")).expect("read config.json");
    serde_json::from_str(&text).expect("config.json is JSON")
}

/// A folder with the oracle model (`tokenizer.json`, `vocab.txt`, prefixed
/// names).
pub fn oracle_dir() -> TempDir {
    ModelSpec::oracle().build()
}

/// The folder of a committed fixture under `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// Copies the files of `from` (not recursively) into `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("read folder") {
        let entry = entry.expect("entry");
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }
}

/// A small deterministic generator (splitmix64 and Box-Muller), so that
/// the test models are the same on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    pub fn normal(&mut self) -> f32 {
        let u1 = self.uniform();
        let u2 = self.uniform();
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }

    pub fn normal_vec(&mut self, n: usize, std: f32) -> Vec<f32> {
        (0..n).map(|_| self.normal() * std).collect()
    }

    /// Layer-norm gains: 1 plus a little noise.
    pub fn around_one(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| 1.0 + 0.1 * self.normal()).collect()
    }
}

/// Ways a model folder can be broken, each with the file and the words an
/// error must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// `model.safetensors` cut in half.
    TruncatedWeights,
    /// `config.json` says hidden size 16; the tensors have 32.
    ConfigDisagreesWithShapes,
    /// `config.json` has 7 labels; the classifier has 9 rows.
    ClassifierRows,
    /// `config.json` without `id2label`.
    NoId2label,
    /// `config.json` says a smaller `vocab_size` than the tokenizer has.
    TokenizerTooBig,
    NoConfig,
    NoWeights,
    NoTokenizer,
}

impl Broken {
    pub const ALL: [Broken; 8] = [
        Broken::TruncatedWeights,
        Broken::ConfigDisagreesWithShapes,
        Broken::ClassifierRows,
        Broken::NoId2label,
        Broken::TokenizerTooBig,
        Broken::NoConfig,
        Broken::NoWeights,
        Broken::NoTokenizer,
    ];

    /// A random model folder broken this way.
    pub fn build(self) -> TempDir {
        let spec = ModelSpec::random(21);
        let dir = spec.build();
        let d = dir.path();
        let mut cfg = read_config(d);
        match self {
            Broken::TruncatedWeights => {
                let p = d.join("model.safetensors");
                let bytes = std::fs::read(&p).expect("read weights");
                std::fs::write(&p, &bytes[..bytes.len() / 2]).expect("write weights");
            }
            Broken::ConfigDisagreesWithShapes => {
                cfg["hidden_size"] = json!(16);
                write_config(d, &cfg);
            }
            Broken::ClassifierRows => write_config(d, &spec.config(pieces().len(), &LABELS[..7])),
            Broken::NoId2label => {
                let obj = cfg.as_object_mut().expect("config object");
                obj.remove("id2label");
                obj.remove("label2id");
                write_config(d, &cfg);
            }
            Broken::TokenizerTooBig => {
                cfg["vocab_size"] = json!(pieces().len() - 5);
                write_config(d, &cfg);
            }
            Broken::NoConfig => std::fs::remove_file(d.join("config.json")).expect("rm"),
            Broken::NoWeights => std::fs::remove_file(d.join("model.safetensors")).expect("rm"),
            Broken::NoTokenizer => {
                for f in ["tokenizer.json", "vocab.txt"] {
                    std::fs::remove_file(d.join(f)).expect("rm");
                }
            }
        }
        dir
    }

    /// The file the error names (`None`: the folder) and a part of its
    /// message.
    pub fn expected(self) -> (Option<&'static str>, &'static str) {
        match self {
            Broken::TruncatedWeights => (Some("model.safetensors"), "not a valid safetensors file"),
            Broken::ConfigDisagreesWithShapes => {
                (Some("model.safetensors"), "but the config implies")
            }
            Broken::ClassifierRows => (
                Some("model.safetensors"),
                "classifier.weight has 9 rows but config.json has 7 labels in id2label",
            ),
            Broken::NoId2label => (Some("config.json"), "no id2label"),
            Broken::TokenizerTooBig => (None, "pieces but config.json says vocab_size"),
            Broken::NoConfig => (None, "no config.json"),
            Broken::NoWeights => (None, "no model.safetensors or pytorch_model.bin"),
            Broken::NoTokenizer => (None, "no tokenizer.json or vocab.txt"),
        }
    }
}

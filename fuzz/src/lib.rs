//! Shared by the fuzz targets: a tiny context-free "oracle" model written
//! once into a temporary folder, and the invariants every tagged document
//! must satisfy.
//!
//! The oracle is a smaller copy of the one in `tests/common` (which is not a
//! crate): each vocabulary piece's embedding points along its label's
//! dimension, position and type embeddings are zero, the dense layers whose
//! output joins the residual stream are zero, and the classifier is a
//! scaled identity. A word's label is therefore the label of its first
//! piece, whatever surrounds it: tagged alone, in a batch or in small
//! windows, a text must give exactly the same document.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use candle_core::{Device, Tensor};
use serde_json::json;

use arabic_ner::entity::Document;
use arabic_ner::model::weights::{save_safetensors, Storage};

pub const LABELS: [&str; 9] = [
    "O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-DATE", "I-DATE",
];

const SPECIALS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// Vocabulary after the special tokens, with the label of each piece.
pub const VOCAB: &[(&str, &str)] = &[
    ("زار", "O"),
    ("في", "O"),
    ("إلى", "O"),
    ("يوم", "O"),
    ("الرئيس", "O"),
    (".", "O"),
    ("،", "O"),
    ("##ة", "O"),
    ("##ات", "O"),
    ("سمير", "B-PER"),
    ("الخطيب", "I-PER"),
    ("شرك", "B-ORG"),
    ("النور", "I-ORG"),
    ("فرنسا", "B-LOC"),
    ("وفرنسا", "B-LOC"),
    ("مصر", "B-LOC"),
    ("لبنان", "B-LOC"),
    ("الولايات", "B-LOC"),
    ("المتحدة", "I-LOC"),
    ("13", "B-DATE"),
    ("يناير", "I-DATE"),
    ("2022", "I-DATE"),
    ("أمس", "B-DATE"),
    ("رمضان", "I-DATE"),
    ("1443", "I-DATE"),
    ("هـ", "I-DATE"),
    ("٢٠٢٢", "I-DATE"),
];

/// Largest number of positions: small, so that texts need many windows.
pub const MAX_POSITIONS: usize = 16;
const HIDDEN: usize = 16;

/// The oracle model folder, written on first use.
pub fn oracle_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        write_oracle(dir.path());
        dir
    })
    .path()
}

/// Writes the oracle's files into `dir`.
pub fn write_oracle(dir: &Path) {
    let pieces: Vec<&str> = SPECIALS
        .iter()
        .copied()
        .chain(VOCAB.iter().map(|(p, _)| *p))
        .collect();
    std::fs::write(dir.join("vocab.txt"), pieces.join("\n") + "\n").expect("vocab.txt");
    std::fs::write(
        dir.join("tokenizer_config.json"),
        r#"{"do_lower_case": false, "unk_token": "[UNK]"}"#,
    )
    .expect("tokenizer_config.json");
    std::fs::write(dir.join("config.json"), oracle_config(pieces.len())).expect("config.json");
    let label_of = |l: &str| LABELS.iter().position(|x| *x == l).expect("label");
    let rows: Vec<usize> = SPECIALS
        .iter()
        .map(|_| 0)
        .chain(VOCAB.iter().map(|(_, l)| label_of(l)))
        .collect();
    let v = pieces.len();
    let h = HIDDEN;
    let mut word = vec![0f32; v * h];
    for (r, &l) in rows.iter().enumerate() {
        word[r * h + l] = 1.0;
    }
    let mut classifier = vec![0f32; LABELS.len() * h];
    for j in 0..LABELS.len() {
        classifier[j * h + j] = 2.0;
    }
    let zeros = |n: usize| vec![0f32; n];
    let ones = |n: usize| vec![1f32; n];
    // Attention and the first FFN layer get small non-zero weights: they run,
    // but their output is multiplied by zero before it joins the stream.
    let small = |n: usize| (0..n).map(|i| ((i % 7) as f32 - 3.0) * 0.1).collect();
    let mut t: Vec<(String, Vec<usize>, Vec<f32>)> = vec![
        ("embeddings.word_embeddings.weight".into(), vec![v, h], word),
        (
            "embeddings.position_embeddings.weight".into(),
            vec![MAX_POSITIONS, h],
            zeros(MAX_POSITIONS * h),
        ),
        (
            "embeddings.token_type_embeddings.weight".into(),
            vec![2, h],
            zeros(2 * h),
        ),
        ("embeddings.LayerNorm.weight".into(), vec![h], ones(h)),
        ("embeddings.LayerNorm.bias".into(), vec![h], zeros(h)),
    ];
    let p = "encoder.layer.0";
    for (name, out, inp, pass) in [
        ("attention.self.query", h, h, false),
        ("attention.self.key", h, h, false),
        ("attention.self.value", h, h, false),
        ("attention.output.dense", h, h, true),
        ("intermediate.dense", h, h, false),
        ("output.dense", h, h, true),
    ] {
        let w = if pass {
            zeros(out * inp)
        } else {
            small(out * inp)
        };
        t.push((format!("{p}.{name}.weight"), vec![out, inp], w));
        t.push((format!("{p}.{name}.bias"), vec![out], zeros(out)));
    }
    for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
        t.push((format!("{p}.{name}.weight"), vec![h], ones(h)));
        t.push((format!("{p}.{name}.bias"), vec![h], zeros(h)));
    }
    t.push((
        "classifier.weight".into(),
        vec![LABELS.len(), h],
        classifier,
    ));
    t.push((
        "classifier.bias".into(),
        vec![LABELS.len()],
        zeros(LABELS.len()),
    ));
    let tensors: Vec<(String, Tensor)> = t
        .into_iter()
        .map(|(n, shape, data)| {
            let t = Tensor::from_vec(data, shape, &Device::Cpu).expect("tensor");
            (n, t)
        })
        .collect();
    save_safetensors(&tensors, &dir.join("model.safetensors"), Storage::F32).expect("weights");
}

/// The oracle's `config.json`.
pub fn oracle_config(vocab_size: usize) -> String {
    let id2label: serde_json::Map<String, serde_json::Value> = LABELS
        .iter()
        .enumerate()
        .map(|(i, l)| (i.to_string(), json!(l)))
        .collect();
    serde_json::to_string_pretty(&json!({
        "vocab_size": vocab_size,
        "hidden_size": HIDDEN,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": HIDDEN,
        "hidden_act": "gelu",
        "max_position_embeddings": MAX_POSITIONS,
        "type_vocab_size": 2,
        "pad_token_id": 0,
        "id2label": id2label,
    }))
    .expect("JSON")
}

/// A copy of the oracle folder whose `config.json` the caller may replace.
pub fn scratch_dir() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        for name in ["vocab.txt", "tokenizer_config.json", "model.safetensors"] {
            std::fs::copy(oracle_dir().join(name), dir.path().join(name)).expect("copy");
        }
        let path = dir.path().to_path_buf();
        (dir, path)
    })
    .1
}

/// Panics unless every entity and word of `doc` is a well-formed span of
/// `text`: inside it, on char boundaries, sorted, apart, and entity texts
/// equal to their slices with matching char offsets.
pub fn check_document(text: &str, doc: &Document) {
    let mut prev = 0;
    for w in &doc.words {
        assert!(
            w.byte_start <= w.byte_end && w.byte_end <= text.len(),
            "{w:?}"
        );
        assert!(text.is_char_boundary(w.byte_start) && text.is_char_boundary(w.byte_end));
        assert!(prev <= w.byte_start, "words overlap: {w:?}");
        prev = w.byte_end;
    }
    let (mut prev, mut chars) = (0, 0);
    for e in &doc.entities {
        assert!(
            e.byte_start < e.byte_end && e.byte_end <= text.len(),
            "{e:?}"
        );
        assert!(text.is_char_boundary(e.byte_start) && text.is_char_boundary(e.byte_end));
        assert!(prev <= e.byte_start, "entities overlap: {e:?}");
        assert_eq!(e.text, text[e.byte_start..e.byte_end]);
        chars += text[prev..e.byte_start].chars().count();
        assert_eq!(e.start, chars, "{e:?}");
        assert_eq!(e.end - e.start, e.text.chars().count(), "{e:?}");
        chars = e.end;
        prev = e.byte_end;
        assert!(e.score.is_finite() && (0.0..=1.0).contains(&e.score));
    }
}

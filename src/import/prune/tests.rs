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

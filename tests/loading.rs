//! Loading model folders: every supported layout loads, and every broken
//! folder fails with an `Error::Model` that names the file and the problem,
//! never with a panic.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde_json::json;

use arabic_ner::model::bert::Mode;
use arabic_ner::model::packed::{Precision, Threads};
use arabic_ner::model::weights::{save_safetensors, Storage};
use arabic_ner::model::NerModel;
use arabic_ner::Error;
use common::{
    copy_dir, fixture, pieces, read_config, write_config, Broken, ModelSpec, TokFiles, LABELS,
};

/// Largest differences from PyTorch's logits that the int8 paths may show
/// on the tiny fixture, mostly the rounding of its f32 weights to int8
/// (measured: 0.046 and 0.067; f32 shows 1.4e-6).
const INT8_TOLERANCE: f32 = 0.1;
const INT8_FAST_TOLERANCE: f32 = 0.15;

/// Logits `[batch, len, labels]` of a model for padded ids and mask, from
/// the fast path, with the rows of padding left out. The reference graph of
/// tensor ops must give the same values within 1e-4.
fn logits(model: &NerModel, ids: &[Vec<u32>], mask: &[Vec<u8>]) -> Vec<Vec<Vec<f32>>> {
    let (b, l) = (ids.len(), ids[0].len());
    let c = model.labels.len();
    let seqs: Vec<&[u32]> = ids
        .iter()
        .zip(mask)
        .map(|(s, m)| &s[..m.iter().filter(|&&v| v == 1).count()])
        .collect();
    let flat = model.net.logits(&seqs, Threads::All).unwrap();
    // Run alone, each sequence gives the same values as in the batch.
    let one = model.net.logits(&seqs[1..], Threads::One).unwrap();
    for (a, b) in one.iter().zip(&flat[seqs[0].len() * c..]) {
        assert!((a - b).abs() < 1e-5, "alone {a}, in the batch {b}");
    }
    let mut rows = flat.chunks(c).map(<[f32]>::to_vec);
    let fast: Vec<Vec<Vec<f32>>> = seqs
        .iter()
        .map(|s| rows.by_ref().take(s.len()).collect())
        .collect();

    let flat_ids: Vec<u32> = ids.concat();
    let flat_mask: Vec<u8> = mask.concat();
    let ids = Tensor::from_vec(flat_ids, (b, l), &Device::Cpu).unwrap();
    let mask = Tensor::from_vec(flat_mask, (b, l), &Device::Cpu).unwrap();
    let graph = model
        .reference_net()
        .unwrap()
        .forward(&ids, &mask, &mut Mode::Eval)
        .unwrap()
        .to_vec3::<f32>()
        .unwrap();
    for (s, seq) in fast.iter().enumerate() {
        for (p, row) in seq.iter().enumerate() {
            for (k, v) in row.iter().enumerate() {
                let d = (v - graph[s][p][k]).abs();
                assert!(d < 1e-4, "fast path off by {d} at [{s}][{p}][{k}]");
            }
        }
    }
    fast
}

fn sample_ids(model: &NerModel) -> (Vec<Vec<u32>>, Vec<Vec<u8>>) {
    let t = &model.tokenizer;
    let mut a = vec![t.cls];
    t.push_word("سمير", &mut a).unwrap();
    t.push_word("الخطيب", &mut a).unwrap();
    t.push_word("شركة", &mut a).unwrap();
    t.push_word("بغداد", &mut a).unwrap();
    a.push(t.sep);
    let mut b = vec![t.cls];
    t.push_word("القاهرة", &mut b).unwrap();
    b.push(t.sep);
    let mask_b: Vec<u8> = (0..a.len()).map(|i| u8::from(i < b.len())).collect();
    b.resize(a.len(), 0);
    let mask_a = vec![1u8; a.len()];
    (vec![a, b], vec![mask_a, mask_b])
}

#[test]
fn every_tokenizer_layout_and_naming_loads_the_same_model() {
    let mut reference: Option<Vec<Vec<Vec<f32>>>> = None;
    let words = [
        "سمير",
        "شركة",
        "القاهرة",
        "العلاقات",
        "وفرنسا",
        "CNN",
        "13",
        "،",
    ];
    let mut reference_pieces: Option<Vec<Vec<String>>> = None;
    for tok in [TokFiles::Json, TokFiles::Vocab, TokFiles::Both] {
        for prefixed in [true, false] {
            let dir = ModelSpec::random(11)
                .tokenizer(tok)
                .prefixed(prefixed)
                .build();
            let model = NerModel::from_dir(dir.path())
                .unwrap_or_else(|e| panic!("{tok:?} prefixed={prefixed}: {e}"));
            assert_eq!(model.labels, LABELS, "{tok:?} prefixed={prefixed}");
            assert_eq!(model.tokenizer.vocab_size(), pieces().len());
            assert_eq!(model.config.hidden_size, 32);
            assert_eq!(model.dir, dir.path());
            let got: Vec<Vec<String>> = words
                .iter()
                .map(|w| model.tokenizer.pieces(w).unwrap())
                .collect();
            // WordPiece splits as the vocabulary says, in both tokenizer
            // files alike.
            assert_eq!(got[1], ["شرك", "##ة"]);
            assert_eq!(got[2], ["القاهر", "##ة"]);
            assert_eq!(got[3], ["العلاق", "##ات"]);
            assert_eq!(got[4], ["وفرنسا"]);
            assert_eq!(got[5], ["[UNK]"]);
            match &reference_pieces {
                None => reference_pieces = Some(got),
                Some(r) => assert_eq!(&got, r, "{tok:?}"),
            }
            let (ids, mask) = sample_ids(&model);
            let out = logits(&model, &ids, &mask);
            match &reference {
                None => reference = Some(out),
                Some(r) => assert_eq!(&out, r, "{tok:?} prefixed={prefixed}"),
            }
        }
    }
}

/// The same random weights, written as `.bin` by PyTorch and as
/// safetensors by `save_pretrained`, give identical logits, and those are
/// PyTorch's own logits (from `tests/fixtures/make_fixtures.py`).
#[test]
fn pytorch_bin_and_safetensors_fixtures_agree_with_pytorch() {
    let bin = NerModel::from_dir(&fixture("tiny-bin")).expect("tiny-bin loads");
    let st = NerModel::from_dir(&fixture("tiny-st")).expect("tiny-st loads");
    assert!(!fixture("tiny-bin").join("model.safetensors").exists());
    assert!(fixture("tiny-bin").join("pytorch_model.bin").is_file());
    assert_eq!(bin.labels, LABELS);
    assert_eq!(st.labels, bin.labels);

    let text = std::fs::read_to_string(fixture("tiny-logits.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ids: Vec<Vec<u32>> = serde_json::from_value(v["ids"].clone()).unwrap();
    let mask: Vec<Vec<u8>> = serde_json::from_value(v["mask"].clone()).unwrap();
    let want: Vec<Vec<Vec<f32>>> = serde_json::from_value(v["logits"].clone()).unwrap();

    let a = logits(&bin, &ids, &mask);
    let b = logits(&st, &ids, &mask);
    assert_eq!(a, b, ".bin and .safetensors give different logits");
    let mut worst = 0f32;
    for (s, seq) in want.iter().enumerate() {
        for (p, row) in seq.iter().enumerate() {
            if mask[s][p] == 0 {
                continue;
            }
            for (k, w) in row.iter().enumerate() {
                worst = worst.max((a[s][p][k] - w).abs());
            }
        }
    }
    assert!(worst < 1e-4, "largest difference from PyTorch: {worst}");
    // The logits are not trivially alike across labels or positions.
    assert!((a[0][1][0] - a[0][1][1]).abs() > 1e-3);
    assert!((a[0][1][0] - a[0][2][0]).abs() > 1e-3);
}

/// Loads a folder expecting an `Error::Model`; returns its path and message.
#[test]
fn int8_products_stay_close_to_pytorch() {
    // The fixture's weights are f32: int8 adds their rounding to one scale
    // a row, and, with one byte an activation, the activations' rounding.
    let text = std::fs::read_to_string(fixture("tiny-logits.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ids: Vec<Vec<u32>> = serde_json::from_value(v["ids"].clone()).unwrap();
    let mask: Vec<Vec<u8>> = serde_json::from_value(v["mask"].clone()).unwrap();
    let want: Vec<Vec<Vec<f32>>> = serde_json::from_value(v["logits"].clone()).unwrap();
    let worst = |precision: Precision| {
        let mut model = NerModel::from_dir(&fixture("tiny-st")).unwrap();
        model.net.set_precision(precision);
        assert_eq!(model.net.precision(), precision);
        let seqs: Vec<&[u32]> = ids
            .iter()
            .zip(&mask)
            .map(|(s, m)| &s[..m.iter().filter(|&&v| v == 1).count()])
            .collect();
        let flat = model.net.logits(&seqs, Threads::All).unwrap();
        let c = model.labels.len();
        let mut rows = flat.chunks(c);
        let mut worst = 0f32;
        for (s, seq) in seqs.iter().enumerate() {
            for want_row in &want[s][..seq.len()] {
                let row = rows.next().unwrap();
                for (got, w) in row.iter().zip(want_row) {
                    worst = worst.max((got - w).abs());
                }
            }
        }
        worst
    };
    let (f32, int8, fast) = (
        worst(Precision::F32),
        worst(Precision::Int8),
        worst(Precision::Int8Fast),
    );
    eprintln!("largest difference from PyTorch: f32 {f32}, int8 {int8}, int8-fast {fast}");
    assert!(f32 < 1e-4, "f32 {f32}");
    assert!(int8 < INT8_TOLERANCE, "int8 {int8}");
    assert!(fast < INT8_FAST_TOLERANCE, "int8-fast {fast}");
    assert!(
        int8 <= fast,
        "two bytes an activation are not closer than one: {int8} > {fast}"
    );
}

fn model_error(dir: &Path) -> (PathBuf, String, String) {
    let result = catch_unwind(AssertUnwindSafe(|| NerModel::from_dir(dir)))
        .unwrap_or_else(|_| panic!("loading {} panicked", dir.display()));
    match result {
        Ok(_) => panic!("{} loaded but should not", dir.display()),
        Err(e) => {
            let shown = e.to_string();
            assert_eq!(e.exit_code(), 4, "{shown}");
            match e {
                Error::Model { path, message } => (path, message, shown),
                other => panic!("expected Error::Model, got {other:?}"),
            }
        }
    }
}

/// Asserts the error names `file` (its path ends so, and so does the text
/// shown) and the problem.
fn assert_names(dir: &Path, file: Option<&str>, problem: &str) {
    let (path, message, shown) = model_error(dir);
    let want = match file {
        Some(f) => dir.join(f),
        None => dir.to_path_buf(),
    };
    assert_eq!(path, want, "{shown}");
    assert!(
        shown.starts_with(&want.display().to_string()),
        "message does not start with the path: {shown}"
    );
    assert!(
        message.contains(problem),
        "message {message:?} does not say {problem:?}"
    );
}

#[test]
fn every_broken_variant_fails_with_a_model_error() {
    for broken in Broken::ALL {
        let dir = broken.build();
        let (file, problem) = broken.expected();
        assert_names(dir.path(), file, problem);
        // Through a Hub-style spec as well: the folder path.
        let err = match NerModel::load(dir.path().to_str().unwrap()) {
            Err(e) => e,
            Ok(_) => panic!("{broken:?} loaded"),
        };
        assert_eq!(err.exit_code(), 4, "{broken:?}: {err}");
    }
}

#[test]
fn truncated_safetensors() {
    let dir = ModelSpec::random(1).build();
    let st = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&st).unwrap();
    for keep in [0, 7, 100, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&st, &bytes[..keep]).unwrap();
        assert_names(
            dir.path(),
            Some("model.safetensors"),
            "not a valid safetensors file",
        );
    }
}

#[test]
fn config_disagreeing_with_weight_shapes() {
    let dir = ModelSpec::random(2).build();
    let mut cfg = read_config(dir.path());
    cfg["hidden_size"] = json!(16);
    write_config(dir.path(), &cfg);
    assert_names(
        dir.path(),
        Some("model.safetensors"),
        "but the config implies",
    );

    let mut cfg = read_config(dir.path());
    cfg["hidden_size"] = json!(32);
    cfg["intermediate_size"] = json!(40);
    write_config(dir.path(), &cfg);
    assert_names(dir.path(), Some("model.safetensors"), "intermediate.dense");

    let mut cfg = read_config(dir.path());
    cfg["intermediate_size"] = json!(48);
    cfg["num_hidden_layers"] = json!(3);
    write_config(dir.path(), &cfg);
    assert_names(
        dir.path(),
        Some("model.safetensors"),
        "tensor encoder.layer.2.attention.self.query.weight is missing",
    );
}

#[test]
fn missing_tensor_is_named() {
    let spec = ModelSpec::random(3);
    let dir = spec.build();
    let tensors: Vec<_> = spec
        .tensors(pieces().len(), LABELS.len())
        .into_iter()
        .filter(|(n, _)| n != "bert.encoder.layer.1.output.dense.weight")
        .collect();
    save_safetensors(
        &tensors,
        &dir.path().join("model.safetensors"),
        Storage::F32,
    )
    .unwrap();
    assert_names(
        dir.path(),
        Some("model.safetensors"),
        "tensor encoder.layer.1.output.dense.weight is missing",
    );
}

#[test]
fn classifier_rows_differ_from_id2label() {
    let dir = ModelSpec::random(4).build();
    let spec = ModelSpec::random(4);
    let cfg = spec.config(pieces().len(), &LABELS[..7]);
    write_config(dir.path(), &cfg);
    assert_names(
        dir.path(),
        Some("model.safetensors"),
        "classifier.weight has 9 rows but config.json has 7 labels in id2label",
    );
}

#[test]
fn id2label_missing_or_malformed() {
    let dir = ModelSpec::random(5).build();
    let mut cfg = read_config(dir.path());
    cfg.as_object_mut().unwrap().remove("id2label");
    write_config(dir.path(), &cfg);
    assert_names(dir.path(), Some("config.json"), "no id2label");

    cfg["id2label"] = json!({"0": "O", "1": "B-PER", "3": "I-PER"});
    write_config(dir.path(), &cfg);
    assert_names(
        dir.path(),
        Some("config.json"),
        "id2label key 3 is out of range",
    );

    cfg["id2label"] = json!({"0": "O", "one": "B-PER"});
    write_config(dir.path(), &cfg);
    assert_names(dir.path(), Some("config.json"), "id2label key \"one\"");
}

#[test]
fn malformed_config() {
    let dir = ModelSpec::random(6).build();
    std::fs::write(dir.path().join("config.json"), "{\"vocab_size\": 10,").unwrap();
    assert_names(dir.path(), Some("config.json"), "invalid config");

    let spec = ModelSpec::random(6);
    let mut cfg = spec.config(pieces().len(), &LABELS);
    cfg["num_attention_heads"] = json!(5);
    write_config(dir.path(), &cfg);
    assert_names(
        dir.path(),
        Some("config.json"),
        "hidden_size 32 is not a multiple of num_attention_heads 5",
    );

    let mut cfg = spec.config(pieces().len(), &LABELS);
    cfg["position_embedding_type"] = json!("relative_key");
    write_config(dir.path(), &cfg);
    assert_names(dir.path(), Some("config.json"), "relative_key");

    let mut cfg = spec.config(pieces().len(), &LABELS);
    cfg.as_object_mut().unwrap().remove("hidden_size");
    write_config(dir.path(), &cfg);
    assert_names(dir.path(), Some("config.json"), "hidden_size");
}

#[test]
fn tokenizer_larger_than_vocab_size() {
    for tok in [TokFiles::Json, TokFiles::Vocab] {
        let dir = ModelSpec::random(7).tokenizer(tok).build();
        let mut cfg = read_config(dir.path());
        let real = pieces().len();
        cfg["vocab_size"] = json!(real - 5);
        write_config(dir.path(), &cfg);
        let (path, message, shown) = model_error(dir.path());
        assert_eq!(path, dir.path());
        assert!(
            message.contains(&format!(
                "the tokenizer has {real} pieces but config.json says vocab_size {}",
                real - 5
            )),
            "{shown}"
        );
    }
}

#[test]
fn broken_tokenizer_files() {
    let dir = ModelSpec::random(8).tokenizer(TokFiles::Json).build();
    let json_path = dir.path().join("tokenizer.json");
    let text = std::fs::read_to_string(&json_path).unwrap();
    std::fs::write(&json_path, &text[..text.len() / 2]).unwrap();
    assert_names(dir.path(), Some("tokenizer.json"), "invalid tokenizer");

    // A vocabulary without [CLS].
    let dir = ModelSpec::random(8).tokenizer(TokFiles::Vocab).build();
    let vocab: Vec<&str> = pieces().into_iter().filter(|p| *p != "[CLS]").collect();
    common::write_vocab(&dir.path().join("vocab.txt"), &vocab);
    assert_names(dir.path(), Some("vocab.txt"), "no [CLS] or <s> token");

    // tokenizer_config.json that is not JSON.
    let dir = ModelSpec::random(8).tokenizer(TokFiles::Vocab).build();
    std::fs::write(dir.path().join("tokenizer_config.json"), "{oops").unwrap();
    assert_names(dir.path(), Some("tokenizer_config.json"), "invalid JSON");
}

#[test]
fn missing_files() {
    let dir = ModelSpec::random(9).build();
    std::fs::remove_file(dir.path().join("config.json")).unwrap();
    assert_names(dir.path(), None, "no config.json");

    let dir = ModelSpec::random(9).build();
    std::fs::remove_file(dir.path().join("model.safetensors")).unwrap();
    assert_names(
        dir.path(),
        None,
        "no model.safetensors or pytorch_model.bin",
    );

    let dir = ModelSpec::random(9).build();
    for f in ["tokenizer.json", "vocab.txt"] {
        std::fs::remove_file(dir.path().join(f)).unwrap();
    }
    assert_names(dir.path(), None, "no tokenizer.json or vocab.txt");

    let empty = tempfile::tempdir().unwrap();
    assert_names(empty.path(), None, "no config.json");

    // A path that is neither a folder nor a Hub id.
    let missing = empty.path().join("no-such-model");
    match NerModel::load(missing.to_str().unwrap()) {
        Err(Error::Model { path, message }) => {
            assert_eq!(path, missing);
            assert!(message.contains("no such model folder"), "{message}");
        }
        Err(e) => panic!("expected Error::Model, got {e:?}"),
        Ok(_) => panic!("a missing folder loaded"),
    }
}

#[test]
fn broken_pytorch_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture("tiny-bin"), dir.path());
    let bin = dir.path().join("pytorch_model.bin");
    let bytes = std::fs::read(&bin).unwrap();
    std::fs::write(&bin, &bytes[..bytes.len() / 3]).unwrap();
    assert_names(
        dir.path(),
        Some("pytorch_model.bin"),
        "cannot read PyTorch checkpoint",
    );
    std::fs::write(&bin, b"not a pickle at all").unwrap();
    assert_names(
        dir.path(),
        Some("pytorch_model.bin"),
        "cannot read PyTorch checkpoint",
    );
}

#[test]
fn average_weights_is_the_mean_and_refuses_other_shapes() {
    use arabic_ner::model::average_weights;
    use arabic_ner::model::weights::Weights;
    let a = ModelSpec::random(1).build();
    let b = ModelSpec::random(2).build();
    let model = NerModel::from_dir(a.path()).unwrap();
    let ta = Weights::from_dir(a.path())
        .unwrap()
        .token_classification_tensors();
    let tb = Weights::from_dir(b.path())
        .unwrap()
        .token_classification_tensors();
    let mean = average_weights(&model, ta.clone(), &[b.path().to_path_buf()]).unwrap();
    assert_eq!(mean.len(), ta.len());
    for (((name, m), (_, x)), (_, y)) in mean.iter().zip(&ta).zip(&tb) {
        let m: Vec<f32> = m.flatten_all().unwrap().to_vec1().unwrap();
        let x: Vec<f32> = x.flatten_all().unwrap().to_vec1().unwrap();
        let y: Vec<f32> = y.flatten_all().unwrap().to_vec1().unwrap();
        for ((m, x), y) in m.iter().zip(&x).zip(&y) {
            assert!((m - (x + y) / 2.0).abs() < 1e-6, "{name}: {m} vs {x}, {y}");
        }
    }
    // A model of another width is refused with its folder named.
    let wide = ModelSpec {
        hidden: 64,
        intermediate: 96,
        ..ModelSpec::random(3)
    }
    .build();
    let err = average_weights(&model, ta, &[wide.path().to_path_buf()]).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Model { .. }), "{msg}");
    assert!(
        msg.contains("--average") && msg.contains(&*wide.path().to_string_lossy()),
        "{msg}"
    );
}

/// Tagger over `dirs` (the first the main model), its steps after the
/// network turned off, so word labels come from the probabilities alone.
fn ensemble_tagger(dirs: &[&Path]) -> arabic_ner::Result<arabic_ner::Tagger> {
    let spec = |d: &Path| d.to_str().expect("UTF-8 temp path").to_string();
    let builder = arabic_ner::Tagger::builder()
        .model(spec(dirs[0]))
        .decoding(arabic_ner::tagger::Decoding::Argmax)
        .date_grammar(false)
        .propagate_names(false)
        .org_adjectives(false)
        .context_pieces(0);
    dirs[1..]
        .iter()
        .fold(builder, |b, d| b.ensemble(spec(d)))
        .build()
}

#[test]
fn an_ensemble_labels_words_from_the_mean_of_its_models_probabilities() {
    let (a, b) = (ModelSpec::random(21).build(), ModelSpec::random(22).build());
    let tagger = ensemble_tagger(&[a.path(), b.path()]).expect("ensemble loads");
    // Apart, the models run as the tagger runs them: int8 by default.
    let models = [a.path(), b.path()].map(|d| {
        let mut m = NerModel::from_dir(d).expect("model loads");
        m.net.set_precision(Precision::default());
        m
    });
    let words = ["أعلنت", "شركة", "النور", "في", "القاهرة", "أمس"];
    let scores = tagger.score_words(&[words.to_vec()]).expect("scores");

    // Each model alone on the same window: `<s>`, the pieces, `</s>`.
    let tok = &models[0].tokenizer;
    let enc = tok.encode_words(&words).unwrap();
    let ids: Vec<u32> = [tok.cls]
        .into_iter()
        .chain(enc.ids.iter().copied())
        .chain([tok.sep])
        .collect();
    let probs = models
        .each_ref()
        .map(|m| m.net.probabilities(&[&ids], Threads::All).unwrap());
    let c = LABELS.len();
    let mut apart = 0f32;
    for (i, s) in scores[0].iter().enumerate() {
        // The word's first piece, after `<s>`.
        let row = 1 + enc.starts[i];
        let mean: Vec<f32> = (0..c)
            .map(|k| (probs[0][row * c + k] + probs[1][row * c + k]) / 2.0)
            .collect();
        let best = arabic_ner::scheme::argmax(&mean);
        assert_eq!(s.label, best, "word {i}: {mean:?}");
        assert!(
            (s.prob - mean[best]).abs() < 1e-5,
            "word {i}: {} vs {mean:?}",
            s.prob
        );
        apart = apart.max((probs[0][row * c + best] - probs[1][row * c + best]).abs());
    }
    // The two models disagree, so the mean is neither of them.
    assert!(apart > 0.01, "the models give the same probabilities");
}

#[test]
fn an_ensemble_of_models_that_differ_is_refused_with_the_folder_named() {
    let main = ModelSpec::random(23).build();
    let other = ModelSpec::random(24).build();
    // Labels in another order: averaging rows would mix labels.
    let mut cfg = read_config(other.path());
    let id2label = cfg["id2label"].as_object().unwrap().clone();
    cfg["id2label"]["1"] = id2label["2"].clone();
    cfg["id2label"]["2"] = id2label["1"].clone();
    write_config(other.path(), &cfg);
    let err = match ensemble_tagger(&[main.path(), other.path()]) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("models with other labels joined an ensemble"),
    };
    assert!(err.contains(&other.path().display().to_string()), "{err}");
    assert!(err.contains("labels"), "{err}");

    // Fewer positions than the main model: its windows would not fit.
    let short = ModelSpec {
        max_positions: 32,
        ..ModelSpec::random(25)
    }
    .build();
    let err = match ensemble_tagger(&[main.path(), short.path()]) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a model with fewer positions joined an ensemble"),
    };
    assert!(err.contains("pieces a window"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

// ---------------------------------------------------------------------------
// Shape invariants and numbers checked at load
// ---------------------------------------------------------------------------

/// A random model folder whose weights are `edit`ed tensors of its own.
fn model_with_tensors(
    storage: Storage,
    edit: impl FnOnce(&mut Vec<(String, Tensor)>),
) -> tempfile::TempDir {
    let spec = ModelSpec::random(5);
    let dir = spec.build();
    let mut tensors = spec.tensors(pieces().len(), LABELS.len());
    edit(&mut tensors);
    save_safetensors(&tensors, &dir.path().join("model.safetensors"), storage).unwrap();
    dir
}

/// Replaces one value of the tensor `name` (at flat index `at`).
fn poke(tensors: &mut [(String, Tensor)], name: &str, at: usize, value: f32) {
    let (_, t) = tensors
        .iter_mut()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no tensor {name}"));
    let shape = t.dims().to_vec();
    let mut v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    v[at] = value;
    *t = Tensor::from_vec(v, shape, &Device::Cpu).unwrap();
}

#[test]
fn a_classifier_without_labels_is_refused_at_load() {
    // id2label empty and a classifier of shape [0, hidden]: consistent with
    // each other, and nothing a tagger can decode into.
    let spec = ModelSpec::random(5);
    let dir = spec.build();
    write_config(dir.path(), &spec.config(pieces().len(), &[]));
    let tensors = spec.tensors(pieces().len(), 0);
    save_safetensors(
        &tensors,
        &dir.path().join("model.safetensors"),
        Storage::F32,
    )
    .unwrap();
    assert_names(dir.path(), Some("config.json"), "id2label is empty");
}

#[test]
fn non_finite_weights_are_refused_at_load_naming_the_tensor() {
    let cases: [(&str, usize, f32); 4] = [
        ("bert.encoder.layer.1.output.dense.weight", 17, f32::NAN),
        ("bert.embeddings.word_embeddings.weight", 0, f32::INFINITY),
        ("classifier.bias", 3, f32::NEG_INFINITY),
        ("bert.embeddings.LayerNorm.weight", 31, f32::NAN),
    ];
    for (name, at, value) in cases {
        let dir = model_with_tensors(Storage::F32, |t| poke(t, name, at, value));
        let plain = name.trim_start_matches("bert.");
        let (_, message, shown) = model_error(dir.path());
        assert!(message.contains("non-finite"), "{shown}");
        assert!(message.contains(plain), "{shown}");
        assert!(message.contains(&format!("index {at}")), "{shown}");
    }
    // Stored as int8, a matrix is finite when its scales are: a NaN scale
    // is refused.
    let name = "bert.encoder.layer.0.intermediate.dense.weight";
    let dir = model_with_tensors(Storage::Int8, |_| {});
    let st = dir.path().join("model.safetensors");
    let mut bytes = std::fs::read(&st).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let start = header[format!("{name}.q8_scale")]["data_offsets"][0]
        .as_u64()
        .unwrap() as usize;
    let at = 8 + n + start + 4 * 2;
    bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&st, &bytes).unwrap();
    assert_names(
        dir.path(),
        Some("model.safetensors"),
        "encoder.layer.0.intermediate.dense.weight",
    );
    // The same model without the NaN loads, in both storages.
    for storage in [Storage::F32, Storage::Int8] {
        let dir = model_with_tensors(storage, |_| {});
        NerModel::from_dir(dir.path()).expect("finite weights load");
    }
}

#[test]
fn numbers_of_the_config_out_of_range_are_refused() {
    let cases = [
        ("layer_norm_eps", json!(0.0), "layer_norm_eps"),
        ("layer_norm_eps", json!(-1e-12), "layer_norm_eps"),
        // Positive, but 0 once the layer norms take it as f32.
        ("layer_norm_eps", json!(1e-50), "layer_norm_eps"),
        ("hidden_dropout_prob", json!(1.5), "hidden_dropout_prob"),
        (
            "attention_probs_dropout_prob",
            json!(-0.1),
            "attention_probs_dropout_prob",
        ),
        ("arabic_ner", json!({"entity_bias": 1e9}), "entity_bias"),
        ("intermediate_size", json!(0), "intermediate_size"),
        ("num_attention_heads", json!(3), "num_attention_heads"),
        ("intermediate_size", json!(1u64 << 40), "intermediate_size"),
    ];
    for (key, value, needle) in cases {
        let dir = ModelSpec::random(5).build();
        let mut cfg = read_config(dir.path());
        cfg[key] = value.clone();
        write_config(dir.path(), &cfg);
        let (_, message, shown) = model_error(dir.path());
        assert!(message.contains(needle), "{key} = {value}: {shown}");
    }
}

#[test]
fn a_vocab_txt_without_its_unknown_token_fails_at_load() {
    // tokenizer_config.json names [UNK]; the vocabulary has <unk> in its
    // place. WordPiece needs its own unknown token for any word it cannot
    // split, so the first rare word would fail: refused at load.
    let dir = ModelSpec::oracle().tokenizer(TokFiles::Vocab).build();
    let vocab = dir.path().join("vocab.txt");
    let text = std::fs::read_to_string(&vocab).unwrap();
    std::fs::write(&vocab, text.replacen("[UNK]\n", "<unk>\n", 1)).unwrap();
    assert_names(dir.path(), Some("vocab.txt"), "unknown token");

    // The same fault in a tokenizer.json: its WordPiece names an unknown
    // token its vocabulary lacks. Found by encoding characters no
    // vocabulary holds, once, at load.
    let dir = ModelSpec::oracle().tokenizer(TokFiles::Json).build();
    let path = dir.path().join("tokenizer.json");
    let mut tok: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    tok["model"]["unk_token"] = json!("[NOPE]");
    std::fs::write(&path, tok.to_string()).unwrap();
    assert_names(
        dir.path(),
        Some("tokenizer.json"),
        "cannot encode characters outside the vocabulary",
    );
}

#[test]
fn a_large_file_that_is_not_safetensors_fails_at_once() {
    // Three gigabytes (sparse: no disk used) whose header length is
    // garbage: refused from its first bytes, without reading the rest.
    let dir = ModelSpec::random(5).build();
    let st = dir.path().join("model.safetensors");
    let f = std::fs::File::create(&st).unwrap();
    f.set_len(3 << 30).unwrap();
    drop(f);
    let t0 = std::time::Instant::now();
    assert_names(
        dir.path(),
        Some("model.safetensors"),
        "not a valid safetensors",
    );
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(2),
        "{:?} to refuse a large file",
        t0.elapsed()
    );
}

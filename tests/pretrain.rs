//! Masked-LM pretraining of a tiny random model on text written here: the
//! head learns alone first, the loss falls, the output is a base that
//! fine-tuning starts from, and bad input is reported by file and line.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use arabic_ner::model::bert::MLM_HEAD;
use arabic_ner::model::weights::Weights;
use arabic_ner::train::optim::Fit;
use arabic_ner::train::pretrain::{pretrain, PretrainEvent, PretrainOptions, PretrainReport};
use arabic_ner::train::trainer::{train, Corpus, TrainOptions};
use arabic_ner::{Error, Tagger};
use common::{Kind, ModelSpec, TokFiles};

/// Lines of words from the test vocabulary, one sentence a line.
const TEXT: &str = "\
زار سمير الخطيب بغداد يوم 13 يناير 2022 .
تحدث الوزير عن العلاقات بين مصر وفرنسا .

أعلنت شركة النور للطيران عن رحلات جديدة إلى القاهرة .
زارت ليلى منصور لبنان أمس .
وصل الوزير إلى لبنان يوم 13 يناير .
عاد الرئيس من موسكو مع ليلى منصور .
";

const CONLL: &str = "زار O\nسمير B-PER\nالخطيب I-PER\nبغداد B-LOC\n. O\n\nعاد O\nالرئيس O\nمن O\nموسكو B-LOC\n. O\n";

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let spec = ModelSpec {
            kind: Kind::Random { seed: 3, std: 0.1 },
            ..ModelSpec::random(3)
        };
        spec.write(&dir.path().join("base"));
        std::fs::write(dir.path().join("text.txt"), TEXT).unwrap();
        std::fs::write(dir.path().join("train.txt"), CONLL).unwrap();
        Setup { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn options(&self, out: &str) -> PretrainOptions {
        PretrainOptions {
            base: self.path("base").display().to_string(),
            text: vec![self.path("text.txt")],
            out: self.path(out),
            fit: Fit {
                epochs: 150,
                lr: 5e-3,
                batch_size: 3,
                seed: 11,
                ..PretrainOptions::default().fit
            },
            max_pieces: 40,
            context_pieces: 0,
            mask_prob: 0.3,
            head_steps: 20,
            head_lr: 1e-2,
            ..PretrainOptions::default()
        }
    }
}

fn run(opts: &PretrainOptions) -> (Result<PretrainReport, Error>, Vec<PretrainEvent>) {
    let mut events = Vec::new();
    let result = pretrain(opts, &AtomicBool::new(false), &mut |e| events.push(e));
    (result, events)
}

fn tensors(dir: &Path) -> BTreeMap<String, Vec<f32>> {
    let w = Weights::from_dir(dir).unwrap();
    w.sorted()
        .into_iter()
        .map(|(n, t)| (n.to_string(), t.flatten_all().unwrap().to_vec1().unwrap()))
        .collect()
}

#[test]
fn pretraining_fits_a_small_text_and_the_result_fine_tunes() {
    let s = Setup::new();
    let opts = s.options("adapted");
    let (result, events) = run(&opts);
    let report = result.expect("pretraining succeeds");
    // Six lines in batches of three.
    assert_eq!(report.steps, 150 * 2);
    assert!(events.iter().any(|e| matches!(
        e,
        PretrainEvent::Start {
            windows: 6,
            fresh_head: true,
            ..
        }
    )));
    let epochs: Vec<(f32, f64)> = events
        .iter()
        .filter_map(|e| match e {
            PretrainEvent::Epoch { loss, accuracy, .. } => Some((*loss, *accuracy)),
            _ => None,
        })
        .collect();
    assert_eq!(epochs.len(), 150);
    let (first, last) = (epochs[0], epochs[149]);
    assert!(
        last.0 < first.0 / 2.0,
        "loss went from {} to {} ({})",
        first.0,
        last.0,
        last.1
    );
    assert!(last.1 > 0.5, "masked pieces right at the end: {}", last.1);

    // The output: an encoder with its head, as Python's BertForMaskedLM
    // names it; the word embeddings (the head's output matrix) unchanged.
    let cfg = common::read_config(&opts.out);
    assert_eq!(cfg["architectures"][0], "BertForMaskedLM");
    assert!(cfg.get("id2label").is_none());
    let (base, out) = (tensors(&s.path("base")), tensors(&opts.out));
    for name in MLM_HEAD {
        assert!(out.contains_key(name), "{name} missing");
    }
    let emb = "embeddings.word_embeddings.weight";
    assert_eq!(base[emb], out[emb]);
    let q = "encoder.layer.0.attention.self.query.weight";
    assert_ne!(base[q], out[q]);

    // Fine-tuning starts from it with a fresh classifier, and the result tags.
    let tuned = TrainOptions {
        base: opts.out.display().to_string(),
        train: vec![Corpus {
            path: s.path("train.txt"),
            map: Default::default(),
            scheme: None,
        }],
        out: s.path("tuned"),
        fit: Fit {
            epochs: 2,
            batch_size: 2,
            ..TrainOptions::default().fit
        },
        max_pieces: 40,
        ..TrainOptions::default()
    };
    train(&tuned, &AtomicBool::new(false), &mut |_| {}).expect("fine-tuning succeeds");
    let tagger = Tagger::new(tuned.out.to_str().unwrap()).expect("the fine-tuned model loads");
    assert_eq!(
        tagger.model().labels,
        ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    );
    let out = tensors(&tuned.out);
    assert!(!out.keys().any(|n| n.starts_with("cls.")));
}

#[test]
fn a_fresh_head_learns_alone_first() {
    let s = Setup::new();
    let mut opts = s.options("head");
    opts.fit.max_steps = opts.head_steps;
    let (result, _) = run(&opts);
    assert_eq!(result.unwrap().steps, 20);
    let (base, out) = (tensors(&s.path("base")), tensors(&opts.out));
    for (name, values) in &base {
        if name.starts_with("embeddings.") || name.starts_with("encoder.") {
            assert_eq!(values, &out[name], "{name} changed");
        }
    }
    // The head moved from its start (zero biases).
    assert!(out["cls.predictions.bias"].iter().any(|&b| b != 0.0));

    // A folder that has a head goes on with it.
    let mut again = s.options("again");
    again.base = opts.out.display().to_string();
    again.fit.max_steps = 1;
    let (result, events) = run(&again);
    result.expect("pretraining on succeeds");
    assert!(events.iter().any(|e| matches!(
        e,
        PretrainEvent::Start {
            fresh_head: false,
            ..
        }
    )));
}

#[test]
fn conll_words_are_text_too() {
    let s = Setup::new();
    let mut opts = s.options("conll");
    opts.text.clear();
    opts.conll = vec![s.path("train.txt")];
    opts.fit.epochs = 1;
    let (result, events) = run(&opts);
    assert_eq!(result.unwrap().steps, 1);
    assert!(events
        .iter()
        .any(|e| matches!(e, PretrainEvent::Start { windows: 2, .. })));
}

#[test]
fn bad_input_is_named() {
    let s = Setup::new();
    let mut opts = s.options("bad");
    opts.text.clear();
    let err = run(&opts).0.unwrap_err();
    assert!(matches!(err, Error::Usage(_)), "{err}");

    std::fs::write(
        s.path("latin1.txt"),
        b"\xd8\xb2\xd8\xa7\xd8\xb1\n\xe9t\xe9\n",
    )
    .unwrap();
    opts.text = vec![s.path("latin1.txt")];
    let msg = run(&opts).0.unwrap_err().to_string();
    assert!(msg.contains("latin1.txt:2"), "{msg}");
    assert!(msg.contains("UTF-8"), "{msg}");

    opts.text = vec![s.path("missing.txt")];
    let msg = run(&opts).0.unwrap_err().to_string();
    assert!(msg.contains("missing.txt"), "{msg}");

    std::fs::write(s.path("blank.txt"), "\n  \n").unwrap();
    opts.text = vec![s.path("blank.txt")];
    let msg = run(&opts).0.unwrap_err().to_string();
    assert!(msg.contains("no words"), "{msg}");
    assert!(!opts.out.join("config.json").exists());

    // A vocabulary with no mask token cannot be pretrained.
    let nomask = s.path("nomask");
    ModelSpec::random(3)
        .tokenizer(TokFiles::Vocab)
        .write(&nomask);
    let vocab = std::fs::read_to_string(nomask.join("vocab.txt")).unwrap();
    std::fs::write(
        nomask.join("vocab.txt"),
        vocab.replace("[MASK]", "[HIDDEN]"),
    )
    .unwrap();
    opts.text = vec![s.path("text.txt")];
    opts.base = nomask.display().to_string();
    let msg = run(&opts).0.unwrap_err().to_string();
    assert!(msg.contains("no [MASK]"), "{msg}");

    opts.base = s.path("base").display().to_string();
    opts.mask_prob = 0.0;
    let err = run(&opts).0.unwrap_err();
    assert!(err.to_string().contains("--mask-prob"), "{err}");
}

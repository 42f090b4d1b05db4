//! Fine-tuning a tiny random model on a small corpus written here: it fits,
//! the result loads, an interrupted run resumes to the same weights, label
//! maps apply, and malformed data is reported by file and line.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use arabic_ner::model::weights::Weights;
use arabic_ner::train::data::LabelMap;
use arabic_ner::train::metrics::{score, Scores};
use arabic_ner::train::optim::Fit;
use arabic_ner::train::trainer::{read_corpus, train, Corpus, Event, TrainOptions, TrainReport};
use arabic_ner::{Error, Tagger};
use common::{Kind, ModelSpec};

/// A small corpus in the tags of another tradition (`PERS`, and a `MISC`
/// type that the map drops). Every word is in the test vocabulary.
const CORPUS: &str = "\
زار O
سمير B-PERS
الخطيب I-PERS
بغداد B-LOC
يوم O
13 B-DATE
يناير I-DATE
2022 I-DATE
. O

تحدث O
الوزير O
عن O
العلاقات O
بين O
مصر B-LOC
وفرنسا B-LOC
. O

أعلنت O
شركة B-ORG
النور I-ORG
للطيران I-ORG
عن O
رحلات O
جديدة O
إلى O
القاهرة B-LOC
. O

زارت O
ليلى B-PERS
منصور I-PERS
لبنان B-LOC
أمس B-DATE
. O

وقال O
الاتحاد B-MISC
الأوروبي I-MISC
إن O
الاجتماع O
كان O
في O
موسكو B-LOC
. O

اتفقت O
مصر B-LOC
والولايات B-LOC
المتحدة I-LOC
على O
خطة O
. O

سافر O
الرئيس O
لموسكو B-LOC
ثم O
عاد O
إلى O
بغداد B-LOC
. O

قال O
سمير B-PERS
الخطيب I-PERS
إن O
شركة B-ORG
النور I-ORG
في O
القاهرة B-LOC
. O

وصل O
الوزير O
إلى O
لبنان B-LOC
يوم O
13 B-DATE
يناير I-DATE
. O

عاد O
الرئيس O
من O
موسكو B-LOC
مع O
ليلى B-PERS
منصور I-PERS
. O
";

const MAP: &str = "PERS=PER,MISC=O";

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        // A BERT-like start: small normal weights.
        let spec = ModelSpec {
            kind: Kind::Random { seed: 5, std: 0.1 },
            ..ModelSpec::random(5)
        };
        spec.write(&dir.path().join("base"));
        std::fs::write(dir.path().join("train.txt"), CORPUS).unwrap();
        Setup { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn corpus(&self, name: &str, map: &str) -> Corpus {
        Corpus {
            path: self.path(name),
            map: map.parse().unwrap(),
            scheme: None,
        }
    }

    /// The model in `dir` (alone: the date grammar would widen this
    /// corpus's dates over يوم), its labels for the training sentences,
    /// and their scores against the gold.
    fn label_training_data(&self, dir: &Path) -> (Tagger, Vec<Vec<String>>, Scores) {
        // Read at f32: this checks what training learned. The int8 path is
        // held to f32 elsewhere (tests/loading.rs against PyTorch's logits,
        // bench/precision.py on real data); on this 32-wide toy model a
        // margin can sit within int8's rounding.
        let tagger = Tagger::builder()
            .model(dir.to_str().unwrap())
            .date_grammar(false)
            .precision(arabic_ner::model::packed::Precision::F32)
            .build()
            .expect("output loads");
        let gold = read_corpus(&self.corpus("train.txt", MAP)).unwrap();
        let words: Vec<Vec<&str>> = gold
            .iter()
            .map(|s| s.words.iter().map(String::as_str).collect())
            .collect();
        let pred = tagger.label_words(&words).unwrap();
        for (p, w) in pred.iter().zip(&words) {
            assert_eq!(p.len(), w.len());
        }
        let gold_tags: Vec<Vec<String>> = gold.iter().map(|s| s.tags.clone()).collect();
        let scores = score(&gold_tags, &pred);
        (tagger, pred, scores)
    }

    fn options(&self, out: &str) -> TrainOptions {
        TrainOptions {
            base: self.path("base").display().to_string(),
            train: vec![self.corpus("train.txt", MAP)],
            dev: None,
            out: self.path(out),
            fit: Fit {
                epochs: 30,
                lr: 5e-3,
                batch_size: 4,
                warmup: 0.1,
                weight_decay: 0.01,
                clip: 1.0,
                seed: 7,
                max_steps: 0,
            },
            max_pieces: 40,
            context_pieces: 0,
            freeze_embeddings: false,
            dropout: Some(0.1),
            mask_unlabelled_dates: true,
            save_every: 0,
            keep_last: false,
        }
    }
}

/// Runs training and returns its outcome with the events it reported.
fn run(opts: &TrainOptions, stop_at: Option<u64>) -> (Result<TrainReport, Error>, Vec<Event>) {
    let interrupt = AtomicBool::new(false);
    let mut events = Vec::new();
    let result = train(opts, &interrupt, &mut |e| {
        if let (Event::Step { step, .. }, Some(at)) = (&e, stop_at) {
            if *step == at {
                // As Ctrl-C does: the flag is polled after the step.
                interrupt.store(true, Ordering::SeqCst);
            }
        }
        events.push(e);
    });
    (result, events)
}

fn losses(events: &[Event]) -> Vec<f32> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Step { loss, .. } => Some(*loss),
            _ => None,
        })
        .collect()
}

fn tensors(dir: &Path) -> BTreeMap<String, Vec<f32>> {
    let w = Weights::from_safetensors(&dir.join("model.safetensors")).unwrap();
    w.sorted()
        .into_iter()
        .map(|(n, t)| (n.to_string(), t.flatten_all().unwrap().to_vec1().unwrap()))
        .collect()
}

#[test]
fn fits_a_small_corpus_and_the_result_loads() {
    let s = Setup::new();
    // Dev data without dates: the model's dates there are not errors.
    let opts = TrainOptions {
        dev: Some(s.corpus("train.txt", &format!("{MAP},DATE=O"))),
        ..s.options("out")
    };
    let (result, events) = run(&opts, None);
    let report = result.expect("training succeeds");
    let per_epoch = 3usize; // 10 sentences in batches of 4
    assert_eq!(report.steps, 30 * per_epoch as u64);

    // The label map renamed PERS and dropped MISC.
    let labels = events
        .iter()
        .find_map(|e| match e {
            Event::Start { labels, .. } => Some(labels.clone()),
            _ => None,
        })
        .expect("a Start event");
    assert_eq!(
        labels,
        ["O", "B-DATE", "I-DATE", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    );

    // The loss falls.
    let l = losses(&events);
    assert_eq!(l.len() as u64, report.steps);
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let (first, last) = (mean(&l[..per_epoch]), mean(&l[l.len() - per_epoch..]));
    assert!(first > 1.0, "first loss {first}");
    assert!(last < first / 10.0, "loss went from {first} to {last}");
    let epochs = events
        .iter()
        .filter(|e| matches!(e, Event::Epoch { .. }))
        .count();
    assert_eq!(epochs, 30);
    let last_dev = events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Epoch { scores, .. } => scores.clone(),
            _ => None,
        })
        .expect("dev scores");
    assert_eq!(last_dev.micro.f1, 1.0, "{last_dev}");
    assert_eq!(
        last_dev.per_type.keys().collect::<Vec<_>>(),
        ["LOC", "ORG", "PER"]
    );

    // The output folder is a model that fits its training data.
    let (tagger, _, scores) = s.label_training_data(&opts.out);
    assert_eq!(tagger.model().labels, labels);
    assert_eq!(scores.micro.f1, 1.0, "{scores}");
    assert_eq!(
        scores.per_type.keys().collect::<Vec<_>>(),
        ["DATE", "LOC", "ORG", "PER"]
    );
    let e = tagger
        .tag("زار سمير الخطيب بغداد يوم 13 يناير 2022.")
        .unwrap();
    let found: Vec<(&str, &str)> = e
        .iter()
        .map(|e| (e.label.as_str(), e.text.as_str()))
        .collect();
    assert!(found.contains(&("PER", "سمير الخطيب")), "{found:?}");
    assert!(found.contains(&("LOC", "بغداد")), "{found:?}");

    // The tokenizer came along, and config.json has the new labels.
    for f in [
        "tokenizer.json",
        "vocab.txt",
        "tokenizer_config.json",
        "config.json",
    ] {
        assert!(opts.out.join(f).is_file(), "{f} missing");
    }
    let cfg = common::read_config(&opts.out);
    assert_eq!(cfg["id2label"]["7"], "B-PER");
    assert_eq!(cfg["label2id"]["I-PER"], 8);
}

#[test]
fn context_training_joins_sentences_and_the_model_reads_text_so() {
    let s = Setup::new();
    let mut opts = TrainOptions {
        context_pieces: 30,
        ..s.options("ctx")
    };
    opts.fit.batch_size = 1;
    let (result, events) = run(&opts, None);
    result.expect("training succeeds");
    let examples = events
        .iter()
        .find_map(|e| match e {
            Event::Start { examples, .. } => Some(*examples),
            _ => None,
        })
        .expect("a Start event");
    // 10 sentences of 4 to 9 words (a piece or two each), joined up to 30
    // pieces.
    assert!((2..10).contains(&examples), "{examples} examples");
    let cfg = common::read_config(&opts.out);
    assert_eq!(cfg["arabic_ner"]["context_pieces"], 30);

    // The model reads the training sentences as it was trained: together.
    let (_, pred, scores) = s.label_training_data(&opts.out);
    for p in &pred {
        assert!(!p[0].starts_with("I-"), "{p:?}");
    }
    assert_eq!(scores.micro.f1, 1.0, "{scores}");
}

#[test]
fn an_interrupted_run_resumes_to_the_same_weights() {
    let s = Setup::new();
    let mut whole = s.options("whole");
    let mut parts = s.options("parts");
    for o in [&mut whole, &mut parts] {
        o.fit.epochs = 4;
        o.fit.lr = 1e-2;
    }
    let (result, events) = run(&whole, None);
    let report = result.unwrap();
    assert_eq!(report.steps, 12);

    // Stop in the middle of the third epoch.
    let (result, first_events) = run(&parts, Some(7));
    assert!(
        matches!(result, Err(Error::Interrupted)),
        "expected an interruption, got {result:?}"
    );
    assert_eq!(losses(&first_events).len(), 7);
    let latest = std::fs::read_to_string(parts.out.join("checkpoints").join("latest")).unwrap();
    assert_eq!(latest.trim(), "step-7");
    // Steps before the interruption were the same as in the whole run.
    assert_eq!(losses(&first_events), losses(&events)[..7]);

    let (result, rest_events) = run(&parts, None);
    let report = result.expect("resumed run finishes");
    assert_eq!(report.steps, 12);
    let steps: Vec<u64> = rest_events
        .iter()
        .filter_map(|e| match e {
            Event::Step { step, .. } => Some(*step),
            _ => None,
        })
        .collect();
    assert_eq!(steps, [8, 9, 10, 11, 12]);
    assert_eq!(losses(&rest_events), losses(&events)[7..]);

    let a = tensors(&whole.out);
    let b = tensors(&parts.out);
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    let base = tensors(&s.path("base"));
    let mut moved = 0;
    for (name, x) in &a {
        let y = &b[name];
        let worst = x
            .iter()
            .zip(y)
            .map(|(p, q)| (p - q).abs())
            .fold(0f32, f32::max);
        assert!(worst <= 1e-6, "{name} differs by {worst}");
        if base.get(name).is_some_and(|w| w != x) {
            moved += 1;
        }
    }
    // The comparison is not between two untouched copies of the base.
    assert!(moved > 20, "only {moved} tensors changed in training");

    // Running again on a finished folder does no more steps.
    let (result, again) = run(&parts, None);
    assert_eq!(result.unwrap().steps, 12);
    assert!(losses(&again).is_empty());
    assert_eq!(tensors(&parts.out), b);
}

#[test]
fn the_output_holds_the_best_epoch_or_with_keep_last_the_last() {
    let s = Setup::new();
    // Dev data with no entities: every epoch scores 0, so the first stays
    // the best.
    let mut opts = TrainOptions {
        dev: Some(s.corpus("train.txt", "PERS=O,LOC=O,ORG=O,DATE=O,MISC=O")),
        ..s.options("best")
    };
    opts.fit.epochs = 3;
    let (result, _) = run(&opts, None);
    assert_eq!(result.expect("training succeeds").best_dev_f1, Some(0.0));
    let last = |out: &Path| tensors(&out.join("checkpoints").join("step-9"));
    assert_ne!(
        tensors(&opts.out),
        last(&opts.out),
        "the first epoch is kept"
    );

    let opts = TrainOptions {
        keep_last: true,
        out: s.path("last"),
        ..opts
    };
    let (result, _) = run(&opts, None);
    assert_eq!(result.expect("training succeeds").best_dev_f1, Some(0.0));
    assert_eq!(
        tensors(&opts.out),
        last(&opts.out),
        "the last epoch is kept"
    );
    Tagger::new(opts.out.to_str().unwrap()).expect("the output loads");
}

#[test]
fn max_steps_stops_early_with_a_loadable_model() {
    let s = Setup::new();
    let mut opts = s.options("short");
    opts.fit.max_steps = 2;
    let (result, events) = run(&opts, None);
    assert_eq!(result.unwrap().steps, 2);
    assert_eq!(losses(&events).len(), 2);
    let t = Tagger::new(opts.out.to_str().unwrap()).unwrap();
    assert_eq!(t.model().labels.len(), 9);
}

#[test]
fn label_maps_rename_and_drop_types() {
    let s = Setup::new();
    let read = |map: &str| read_corpus(&s.corpus("train.txt", map)).unwrap();
    let raw = read("");
    let mapped = read(MAP);
    assert_eq!(raw.len(), 10);
    assert_eq!(raw[0].tags[1..3], ["B-PERS", "I-PERS"]);
    assert_eq!(mapped[0].tags[1..3], ["B-PER", "I-PER"]);
    assert_eq!(raw[4].tags[1..3], ["B-MISC", "I-MISC"]);
    assert_eq!(mapped[4].tags[1..3], ["O", "O"]);
    assert_eq!(raw[0].words, mapped[0].words);
    assert_eq!(mapped[0].line, 1);
    assert_eq!(mapped[1].line, 11);
    let merged = read("PERS=PER,ORG=LOC");
    assert_eq!(merged[2].tags[1..4], ["B-LOC", "I-LOC", "I-LOC"]);
    let types: std::collections::BTreeSet<&str> = mapped
        .iter()
        .flat_map(|s| s.tags.iter())
        .filter_map(|t| t.split_once('-').map(|(_, ty)| ty))
        .collect();
    assert_eq!(
        types.into_iter().collect::<Vec<_>>(),
        ["DATE", "LOC", "ORG", "PER"]
    );
    assert!("PERS".parse::<LabelMap>().is_err());
}

#[test]
fn malformed_data_names_file_and_line() {
    let s = Setup::new();
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "no-tag.txt",
            "زار O\nسمير B-PER\n\nبغداد\n".as_bytes(),
            ":4: line has a word but no tag",
        ),
        (
            "prefix.txt",
            "زار O\nسمير X-PER\n".as_bytes(),
            ":2: unknown tag prefix \"X-PER\"",
        ),
        (
            "no-type.txt",
            "زار O\n\n\nسمير B-\n".as_bytes(),
            ":4: tag \"B-\" has no entity type",
        ),
        (
            "utf8.txt",
            b"a O\nb \xff O\n",
            ": not valid UTF-8 at byte 6 (line 2)",
        ),
    ];
    for (name, bytes, want) in cases {
        std::fs::write(s.path(name), bytes).unwrap();
        let mut opts = s.options("never");
        opts.train = vec![s.corpus(name, MAP)];
        let (result, events) = run(&opts, None);
        let err = result.expect_err("malformed data");
        assert!(matches!(err, Error::Input { .. }), "{err:?}");
        assert_eq!(err.exit_code(), 3);
        let msg = err.to_string();
        let expected = format!("{}{want}", s.path(name).display());
        assert!(msg.contains(&expected), "{msg:?} lacks {expected:?}");
        assert!(losses(&events).is_empty());

        // The same through the dev file.
        let mut opts = s.options("never");
        opts.dev = Some(s.corpus(name, MAP));
        let err = run(&opts, None).0.expect_err("malformed dev data");
        assert!(err.to_string().contains(&expected), "{err}");
    }
    assert!(!s.path("never").join("model.safetensors").exists());

    // A missing file is named too.
    let mut opts = s.options("never");
    opts.train = vec![s.corpus("nowhere.txt", "")];
    let err = run(&opts, None).0.expect_err("missing data");
    assert!(err.to_string().contains("nowhere.txt"), "{err}");
}

/// A run stopped by `max_steps` behaves as an interrupted one: the
/// learning-rate schedule spans every epoch, a checkpoint is written at the
/// stop, and `--resume` ends where an uninterrupted run does.
#[test]
fn a_run_stopped_by_max_steps_resumes_to_the_same_weights() {
    let s = Setup::new();
    let mut whole = s.options("whole");
    let mut parts = s.options("parts");
    for o in [&mut whole, &mut parts] {
        o.fit.epochs = 4;
        o.fit.lr = 1e-2;
    }
    let (result, events) = run(&whole, None);
    assert_eq!(result.unwrap().steps, 12);

    parts.fit.max_steps = 7;
    let (result, first) = run(&parts, None);
    assert_eq!(result.unwrap().steps, 7);
    assert_eq!(losses(&first), losses(&events)[..7]);

    parts.fit.max_steps = 0;
    let (result, rest) = run(&parts, None);
    assert_eq!(result.unwrap().steps, 12);
    assert_eq!(losses(&rest), losses(&events)[7..]);
    let a = tensors(&whole.out);
    let b = tensors(&parts.out);
    for (name, x) in &a {
        let worst = x
            .iter()
            .zip(&b[name])
            .map(|(p, q)| (p - q).abs())
            .fold(0f32, f32::max);
        assert!(worst <= 1e-6, "{name} differs by {worst}");
    }
}

/// Sentences longer than the model's positions are cut into windows, as
/// the tagger does, whatever `max_pieces` says.
#[test]
fn long_sentences_fit_the_model_positions() {
    let s = Setup::new();
    // 70 words in one sentence; the base model has 64 positions.
    let mut long = String::new();
    for _ in 0..10 {
        long.push_str("زار O\nسمير B-PERS\nالخطيب I-PERS\nبغداد B-LOC\nثم O\nعاد O\nإلى O\n");
    }
    std::fs::write(s.path("long.txt"), long).unwrap();
    let mut opts = s.options("long");
    opts.train = vec![s.corpus("long.txt", MAP)];
    opts.max_pieces = 254;
    opts.fit.epochs = 1;
    let (result, events) = run(&opts, None);
    let report = result.expect("a long sentence trains");
    assert!(report.steps >= 1);
    assert!(losses(&events).iter().all(|l| l.is_finite()));
}

#[test]
fn a_fine_tuned_model_trains_on_with_its_labels_and_classifier() {
    let s = Setup::new();
    let mut first = s.options("first");
    first.fit.epochs = 3;
    let (result, events) = run(&first, None);
    result.expect("training succeeds");
    let kept = |events: &[Event]| {
        events.iter().find_map(|e| match e {
            Event::Start {
                labels,
                kept_classifier,
                ..
            } => Some((labels.clone(), *kept_classifier)),
            _ => None,
        })
    };
    let (labels, from_base) = kept(&events).expect("a Start event");
    assert!(!from_base, "the random base has no classifier to keep");

    // Data that labels persons only: the model keeps its other types, and
    // its classifier (at learning rate 0 the weights stay as they were).
    std::fs::write(
        s.path("people.txt"),
        "زار O\nسمير B-PER\nالخطيب I-PER\n. O\n",
    )
    .unwrap();
    let mut again = s.options("again");
    again.base = first.out.display().to_string();
    again.train = vec![s.corpus("people.txt", "")];
    again.fit.epochs = 1;
    again.fit.lr = 0.0;
    let (result, events) = run(&again, None);
    result.expect("training on succeeds");
    assert_eq!(kept(&events), Some((labels, true)));
    let (before, after) = (tensors(&first.out), tensors(&again.out));
    assert_eq!(before["classifier.weight"], after["classifier.weight"]);
}

#[test]
fn a_diverging_run_stops_before_its_update_and_keeps_the_last_checkpoint() {
    use arabic_ner::model::weights::{save_safetensors, Storage};
    let s = Setup::new();
    let mut o = s.options("diverge");
    o.fit.epochs = 4;
    o.fit.max_steps = 3;
    o.save_every = 1;
    let (result, _) = run(&o, None);
    assert_eq!(result.unwrap().steps, 3);
    let root = o.out.join("checkpoints");
    let latest = std::fs::read_to_string(root.join("latest")).unwrap();
    let checkpoint = root.join(latest.trim());
    // Finite weights whose logits are not: every entity label's bias at
    // the most negative f32, O's at the largest. The loss of a step with an
    // entity word is infinite.
    let st = checkpoint.join("model.safetensors");
    let w = Weights::from_safetensors(&st).unwrap();
    let tensors: Vec<(String, candle_core::Tensor)> = w
        .sorted()
        .into_iter()
        .map(|(name, t)| {
            let t = if name == "classifier.bias" {
                let n = t.dims()[0];
                let b: Vec<f32> = (0..n)
                    .map(|i| if i == 0 { f32::MAX } else { -f32::MAX })
                    .collect();
                candle_core::Tensor::from_vec(b, n, &candle_core::Device::Cpu).unwrap()
            } else {
                t.clone()
            };
            (name.to_string(), t)
        })
        .collect();
    save_safetensors(&tensors, &st, Storage::F32).unwrap();
    let snapshot = |dir: &Path| -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect()
    };
    let before = (snapshot(&checkpoint), snapshot(&root), snapshot(&o.out));

    o.fit.max_steps = 0;
    let (result, events) = run(&o, None);
    let e = result.expect_err("a diverged run fails");
    assert_eq!(e.exit_code(), 2, "{e}");
    let msg = e.to_string();
    assert!(msg.contains("diverged at step 4"), "{msg}");
    assert!(msg.contains("the loss is inf"), "{msg}");
    assert!(losses(&events).is_empty(), "a step was reported");
    // Nothing was written: the checkpoint, `latest` and the model are as
    // they were.
    assert_eq!(
        (snapshot(&checkpoint), snapshot(&root), snapshot(&o.out)),
        before
    );
}

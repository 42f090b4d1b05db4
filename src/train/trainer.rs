//! The fine-tuning loop: data to batches, forward and backward passes,
//! AdamW, evaluation on dev data each epoch, checkpoints and resumption.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::{DType, Tensor, Var, D};
use serde::{Deserialize, Serialize};

use super::data::{document_ranges, read_conll, LabelMap, ReadOptions, Sentence};
use super::encoder::Tape;
use super::heads::{Slots, TokenClassifierNet};
use super::metrics::{entity_types, keep_types, score, Scores};
use super::optim::{check_loss, linear_schedule, Fit, Param};
use crate::error::{Error, Result};
use crate::model::bert::{
    init_classifier, parameter_shapes, BertForTokenClassification, Dropout, Mode,
};
use crate::model::config::BertConfig;
use crate::model::tokenizer::WordTokenizer;
use crate::model::weights::{
    is_token_classification_param, save_safetensors, write_atomic, Storage, Weights,
};
use crate::model::{hub, pad_batch, sentence_runs, window_input, windows};
use crate::scheme::Scheme;
use crate::text::normalize::{normalize, NormalizeOptions};
use crate::values::date::is_date_word;

/// Loss target of pieces that are not scored.
const IGNORE: i64 = -1;

/// One labelled corpus and how to read it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Corpus {
    /// The CoNLL file.
    pub path: PathBuf,
    /// Entity types to rename or drop.
    #[serde(default, with = "map_as_string")]
    pub map: LabelMap,
    /// Tag scheme, or `None` to detect it.
    #[serde(default)]
    pub scheme: Option<Scheme>,
}

mod map_as_string {
    use super::LabelMap;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(m: &LabelMap, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&m.to_string())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<LabelMap, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Everything a training run needs; saved with the model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Pretrained BERT: a folder or a Hub id.
    pub base: String,
    pub train: Vec<Corpus>,
    pub dev: Option<Corpus>,
    /// Output folder: the best model, and `checkpoints/` to resume from.
    pub out: PathBuf,
    #[serde(flatten)]
    pub fit: Fit,
    /// Longest training window in word pieces (without special tokens).
    pub max_pieces: usize,
    /// Consecutive sentences are joined up to this many pieces, so each
    /// trains with its neighbours as context; the model then reads text
    /// the same way. 0 trains every sentence alone.
    #[serde(default)]
    pub context_pieces: usize,
    /// Keep the word embeddings fixed (faster, less memory).
    pub freeze_embeddings: bool,
    /// Dropout of hidden states and attention; `None` keeps the base's.
    pub dropout: Option<f64>,
    /// Do not score date-like words as `O` in corpora without DATE labels.
    pub mask_unlabelled_dates: bool,
    /// Save a checkpoint every this many steps (0 = at epoch ends only).
    pub save_every: u64,
    /// Leave the last epoch's model in the output folder rather than the
    /// best on the dev data: runs meant to be averaged with others
    /// (`export --average`) average better at the end of their schedule.
    #[serde(default)]
    pub keep_last: bool,
}

impl TrainOptions {
    /// Rejects options out of range (usage errors), before anything is
    /// read or written: those of [`Fit::check`], a window of 0 pieces, a
    /// dropout outside [0, 1).
    pub fn check(&self) -> Result<()> {
        self.fit.check()?;
        if self.max_pieces == 0 {
            return Err(Error::Usage("--max-length must be at least 1".into()));
        }
        if let Some(p) = self.dropout {
            if !(0.0..1.0).contains(&p) {
                return Err(Error::Usage(format!("--dropout {p} is not in [0, 1)")));
            }
        }
        Ok(())
    }
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            base: String::new(),
            train: Vec::new(),
            dev: None,
            out: PathBuf::from("model-out"),
            fit: Fit {
                epochs: 3,
                lr: 5e-5,
                batch_size: 16,
                warmup: 0.1,
                weight_decay: 0.01,
                clip: 1.0,
                seed: 42,
                max_steps: 0,
            },
            max_pieces: 254,
            context_pieces: 0,
            freeze_embeddings: false,
            dropout: None,
            mask_unlabelled_dates: true,
            save_every: 500,
            keep_last: false,
        }
    }
}

/// What the caller is told as training goes.
#[derive(Debug, Clone)]
pub enum Event {
    /// Data is read: examples and total steps.
    Start {
        examples: usize,
        steps: u64,
        labels: Vec<String>,
        /// The base was a token classifier with these labels, and its
        /// classifier is trained on rather than started afresh.
        kept_classifier: bool,
    },
    /// After each step.
    Step {
        step: u64,
        total: u64,
        epoch: usize,
        loss: f32,
        lr: f64,
        /// Pieces in this step's batch.
        tokens: u64,
        /// Wall time of this step (forward, backward, update).
        seconds: f64,
        /// Pieces a second over the steps so far (their time only:
        /// checkpoints and dev evaluations are not counted).
        tokens_per_sec: f64,
    },
    /// After each epoch's dev evaluation.
    Epoch {
        epoch: usize,
        loss: f32,
        dev_f1: Option<f64>,
        best: bool,
        seconds: f64,
        scores: Option<Box<Scores>>,
    },
    /// A checkpoint was written.
    Checkpoint { step: u64, path: PathBuf },
}

/// Outcome of a training run.
#[derive(Debug, Clone)]
pub struct TrainReport {
    pub best_dev_f1: Option<f64>,
    pub steps: u64,
    pub seconds: f64,
    pub tokens_per_sec: f64,
}

/// A window of a sentence ready for the model.
#[derive(Debug, Clone)]
pub(crate) struct Example {
    /// `[CLS] pieces [SEP]`.
    pub(crate) ids: Vec<u32>,
    /// Label id per position, or [`IGNORE`].
    targets: Vec<i64>,
    /// Index of the sentence and of its first word, for reassembly.
    sentence: usize,
    first_word: usize,
    /// Position of each word's first piece in `ids`.
    pub(crate) word_pos: Vec<usize>,
}

/// Training state written with each checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    step: u64,
    epoch: usize,
    /// Batches of `epoch` already done.
    batch_in_epoch: usize,
    best_dev_f1: Option<f64>,
    labels: Vec<String>,
}

/// Labels `O`, `B-X`, `I-X` for the given entity types, sorted by type.
pub fn bio_labels(types: &BTreeSet<String>) -> Vec<String> {
    let mut labels = vec!["O".to_string()];
    for t in types {
        labels.push(format!("B-{t}"));
        labels.push(format!("I-{t}"));
    }
    labels
}

fn corpus_types(sentences: &[Sentence]) -> BTreeSet<String> {
    entity_types(sentences.iter().flat_map(|s| &s.tags))
}

/// Joins runs of consecutive sentences of up to `budget` pieces
/// ([`sentence_runs`]), never across a document boundary
/// ([`Sentence::doc_start`]); a budget of 0 leaves the sentences as they
/// are.
pub(crate) fn join_runs(
    sentences: Vec<Sentence>,
    tok: &WordTokenizer,
    norm: &NormalizeOptions,
    budget: usize,
) -> Result<Vec<Sentence>> {
    if budget == 0 {
        return Ok(sentences);
    }
    let pieces = sentences
        .iter()
        .map(|s| {
            let words: Vec<String> = s.words.iter().map(|w| normalize(w, norm).text).collect();
            Ok(tok.encode_words(&words)?.ids.len())
        })
        .collect::<Result<Vec<usize>>>()?;
    let mut out = Vec::new();
    for doc in document_ranges(&sentences) {
        for r in sentence_runs(&pieces[doc.clone()], budget) {
            out.push(Sentence::join(
                &sentences[doc.start + r.start..doc.start + r.end],
            ));
        }
    }
    Ok(out)
}

/// Reads a corpus, with errors that name the file and line.
pub fn read_corpus(c: &Corpus) -> Result<Vec<Sentence>> {
    let opts = ReadOptions {
        scheme: c.scheme,
        map: c.map.clone(),
    };
    read_conll(&c.path, &opts).map_err(|e| Error::input(e.to_string()))
}

/// Turns sentences into model windows; `mask_dates` leaves date-like words
/// tagged `O` out of the loss, and unlabelled words are always left out.
pub(crate) fn make_examples(
    sentences: &[Sentence],
    tok: &WordTokenizer,
    norm: &NormalizeOptions,
    label_ids: &HashMap<String, i64>,
    max_pieces: usize,
    mask_dates: bool,
) -> Result<Vec<Example>> {
    let mut out = Vec::new();
    for (si, s) in sentences.iter().enumerate() {
        let words: Vec<String> = s.words.iter().map(|w| normalize(w, norm).text).collect();
        let enc = tok.encode_words(&words)?;
        for range in windows(&enc, max_pieces, 0) {
            let input = window_input(&enc, range.clone(), max_pieces, tok.cls, tok.sep);
            let mut targets = vec![IGNORE; input.ids.len()];
            for (wi, pieces) in range.clone().zip(&input.pieces) {
                let tag = &s.tags[wi];
                let masked_date = mask_dates && tag == "O" && is_date_word(&s.words[wi]);
                if masked_date || s.is_unlabelled(wi) {
                    continue;
                }
                targets[pieces.start] = *label_ids.get(tag.as_str()).ok_or_else(|| {
                    Error::input(format!(
                        "line {}: label {tag} is not in the model's label set",
                        s.line
                    ))
                })?;
            }
            let word_pos = input.pieces.iter().map(|p| p.start).collect();
            let ids = input.ids;
            out.push(Example {
                ids,
                targets,
                sentence: si,
                first_word: range.start,
                word_pos,
            });
        }
    }
    Ok(out)
}

/// Batches of example indices: shuffled, then sorted by length within pools
/// of 50 batches so padding stays small, then the batches shuffled.
pub(crate) fn make_batches(examples: &[Example], batch_size: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = Dropout::new(seed);
    let mut order: Vec<usize> = (0..examples.len()).collect();
    shuffle(&mut order, &mut rng);
    let pool = batch_size * 50;
    for chunk in order.chunks_mut(pool) {
        chunk.sort_by_key(|&i| examples[i].ids.len());
    }
    let mut batches: Vec<Vec<usize>> = order.chunks(batch_size).map(|c| c.to_vec()).collect();
    shuffle(&mut batches, &mut rng);
    batches
}

fn shuffle<T>(v: &mut [T], rng: &mut Dropout) {
    for i in (1..v.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

/// Mixes the run seed with a counter into an independent stream seed.
pub(crate) fn derive_seed(seed: u64, a: u64, b: u64) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ a.wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
        ^ b.rotate_left(32)
}

/// Predicted label ids per word for examples, reassembled per sentence.
pub(crate) fn predict_examples(
    net: &BertForTokenClassification,
    examples: &[Example],
    sentences: usize,
    batch_size: usize,
    pad: u32,
) -> Result<Vec<Vec<usize>>> {
    let mut out: Vec<Vec<(usize, usize)>> = vec![Vec::new(); sentences];
    let mut order: Vec<usize> = (0..examples.len()).collect();
    order.sort_by_key(|&i| examples[i].ids.len());
    for chunk in order.chunks(batch_size.max(1)) {
        let seqs: Vec<&[u32]> = chunk.iter().map(|&i| examples[i].ids.as_slice()).collect();
        let (ids, mask) = pad_batch(&seqs, pad)?;
        let logits = net.forward(&ids, &mask, &mut Mode::Eval)?;
        let best = logits.argmax(D::Minus1)?.to_vec2::<u32>()?;
        for (row, &i) in chunk.iter().enumerate() {
            let ex = &examples[i];
            for (k, &p) in ex.word_pos.iter().enumerate() {
                out[ex.sentence].push((ex.first_word + k, best[row][p] as usize));
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|mut v| {
            v.sort();
            v.into_iter().map(|(_, l)| l).collect()
        })
        .collect())
}

struct Run {
    cfg: BertConfig,
    base_dir: PathBuf,
    labels: Vec<String>,
    params: Vec<Param>,
    net: BertForTokenClassification,
    frozen: Weights,
    /// The training path: the net, the tensors it reads with their
    /// gradients, and a step's activations.
    fast: TokenClassifierNet,
    slots: Slots,
    tape: Tape,
}

impl Run {
    /// Builds trainable variables from `weights` and the model reading them.
    fn new(
        base_dir: PathBuf,
        cfg: BertConfig,
        labels: Vec<String>,
        weights: &Weights,
        freeze_embeddings: bool,
    ) -> Result<Self> {
        let mut live = weights.clone();
        let mut params = Vec::new();
        for (name, t) in weights.sorted() {
            if freeze_embeddings && name == "embeddings.word_embeddings.weight" {
                continue;
            }
            if !is_token_classification_param(name) {
                continue;
            }
            let var = Var::from_tensor(&t.to_dtype(DType::F32)?.contiguous()?)?;
            live.insert(name, var.as_tensor().clone());
            params.push(Param::new(name.to_string(), var));
        }
        let slots = Slots::new(&parameter_shapes(&cfg, labels.len()), &mut live, &params)?;
        let net = BertForTokenClassification::load(&live, &cfg, labels.len())?;
        Ok(Run {
            fast: TokenClassifierNet::new(&cfg, labels.len()),
            cfg,
            base_dir,
            labels,
            params,
            net,
            frozen: live,
            slots,
            tape: Tape::default(),
        })
    }

    /// One training step on `batch`: the loss, with the gradients kept for
    /// [`Run::update`].
    fn step(&mut self, examples: &[Example], batch: &[usize], seed: u64) -> Result<f32> {
        let seqs: Vec<&[u32]> = batch.iter().map(|&i| examples[i].ids.as_slice()).collect();
        let targets: Vec<&[i64]> = batch
            .iter()
            .map(|&i| examples[i].targets.as_slice())
            .collect();
        let (fast, tape) = (&self.fast, &mut self.tape);
        self.slots
            .with_values(|w, grads| fast.step(w, &seqs, &targets, seed, tape, grads))
    }

    /// AdamW on the gradients of the last [`Run::step`].
    fn update(&mut self, fit: &Fit, lr: f64, step: u64) -> Result<()> {
        let grads = self.slots.param_grads(&self.params, |_| true);
        fit.update_from(&mut self.params, &grads, lr, step)
    }

    /// All tensors in Hugging Face `BertForTokenClassification` naming.
    fn named_tensors(&self) -> Vec<(String, Tensor)> {
        self.frozen.token_classification_tensors()
    }

    /// Writes the model as it stands to `dir`.
    fn save_model(&self, dir: &Path) -> Result<()> {
        write_model_dir(
            dir,
            &self.cfg,
            &self.labels,
            &self.named_tensors(),
            &self.base_dir,
            Storage::F32,
        )
    }
}

/// Writes a model folder that `arabic-ner tag` and Python `transformers`
/// (`BertForTokenClassification`) both load; with no labels, an encoder
/// from pretraining (`BertForMaskedLM`), to fine-tune.
pub fn write_model_dir(
    dir: &Path,
    cfg: &BertConfig,
    labels: &[String],
    tensors: &[(String, Tensor)],
    tokenizer_from: &Path,
    storage: Storage,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut cfg = cfg.clone();
    let architecture = if labels.is_empty() {
        // The base's labels, if it had any, are not this model's.
        cfg.id2label = None;
        cfg.label2id = None;
        "BertForMaskedLM"
    } else {
        cfg.set_labels(labels);
        "BertForTokenClassification"
    };
    cfg.architectures = Some(vec![architecture.into()]);
    cfg.model_type = Some("bert".into());
    let json = serde_json::to_string_pretty(&cfg).map_err(|e| Error::model(dir, e.to_string()))?;
    save_safetensors(tensors, &dir.join("model.safetensors"), storage)?;
    for name in ["tokenizer.json", "vocab.txt", "tokenizer_config.json"] {
        let src = tokenizer_from.join(name);
        let dst = dir.join(name);
        if src.is_file() && src != dst {
            let bytes = std::fs::read(&src).map_err(|e| Error::io(&src, e))?;
            write_atomic(&dst, &bytes)?;
        }
    }
    write_atomic(&dir.join("config.json"), json.as_bytes())
}

/// Runs training. `interrupt` is polled after every step: when set, a
/// checkpoint is saved and [`Error::Interrupted`] returned.
pub fn train(
    opts: &TrainOptions,
    interrupt: &AtomicBool,
    on_event: &mut dyn FnMut(Event),
) -> Result<TrainReport> {
    let t0 = Instant::now();
    if opts.train.is_empty() {
        return Err(Error::Usage("no training data (--train)".into()));
    }
    opts.check()?;
    let base_dir = hub::resolve(&opts.base)?;
    let mut cfg = BertConfig::from_file(&base_dir.join("config.json"))?;
    if let Some(p) = opts.dropout {
        cfg.hidden_dropout_prob = p;
        cfg.attention_probs_dropout_prob = p;
    }
    let tok = WordTokenizer::from_dir(&base_dir)?;
    // A window never holds more pieces than the model has positions for
    // (with [CLS] and [SEP]), as in the tagger.
    let max_pieces = opts
        .max_pieces
        .min(cfg.max_position_embeddings.saturating_sub(2))
        .max(1);
    let norm = NormalizeOptions {
        letters: cfg.arabic_ner.normalize_letters,
    };

    // Data: labels are the union of entity types over training corpora.
    // The model reads text at inference as it was trained.
    let context = opts.context_pieces.min(max_pieces);
    cfg.arabic_ner.context_pieces = context;
    let mut corpora = Vec::new();
    for c in &opts.train {
        corpora.push(join_runs(read_corpus(c)?, &tok, &norm, context)?);
    }
    let dev = match &opts.dev {
        Some(c) => Some(join_runs(read_corpus(c)?, &tok, &norm, context)?),
        None => None,
    };
    let mut types = BTreeSet::new();
    for c in &corpora {
        types.extend(corpus_types(c));
    }
    // A token classifier whose labels cover the data's keeps all its types:
    // training it on data that labels fewer adapts it without losing the
    // others (as a corpus without dates trains a model that tags them).
    let base_labels = cfg.labels(&base_dir).ok();
    let base_types = base_labels.as_ref().map(entity_types);
    if let Some(base_types) = base_types.filter(|b| b.is_superset(&types)) {
        types = base_types;
    }
    let labels = bio_labels(&types);
    let label_ids: HashMap<String, i64> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.clone(), i as i64))
        .collect();
    let mut examples = Vec::new();
    for c in &corpora {
        let lacks_dates = types.contains("DATE") && !corpus_types(c).contains("DATE");
        let mask = opts.mask_unlabelled_dates && lacks_dates;
        let mut ex = make_examples(c, &tok, &norm, &label_ids, max_pieces, mask)?;
        // Keep examples of different corpora apart for reassembly.
        let offset = examples.len();
        for e in &mut ex {
            e.sentence += offset;
        }
        examples.extend(ex);
    }
    let dev_types = dev.as_deref().map(corpus_types).unwrap_or_default();
    let dev_examples = match &dev {
        Some(d) => {
            // Dev types the model cannot predict are scored as misses, as
            // they should be; unknown labels become O for the input side.
            let dev_norm: Vec<Sentence> = d
                .iter()
                .map(|s| Sentence {
                    tags: s
                        .tags
                        .iter()
                        .map(|t| {
                            if label_ids.contains_key(t) {
                                t.clone()
                            } else {
                                "O".into()
                            }
                        })
                        .collect(),
                    ..s.clone()
                })
                .collect();
            Some(make_examples(
                &dev_norm, &tok, &norm, &label_ids, max_pieces, false,
            )?)
        }
        None => None,
    };

    // Model: resume from a checkpoint, or the base with a fresh classifier.
    let resumed = load_checkpoint(&opts.out)?;
    let mut kept_classifier = false;
    let (weights, mut state) = match &resumed {
        Some((dir, state)) => {
            if state.labels != labels {
                return Err(Error::model(
                    dir,
                    "checkpoint labels differ from the training data's",
                ));
            }
            let mut w = Weights::from_dir(dir)?;
            if !w.contains("classifier.weight") {
                return Err(Error::model(dir, "checkpoint has no classifier"));
            }
            if opts.freeze_embeddings {
                // Frozen embeddings are saved too; nothing to add.
                w.insert(
                    "embeddings.word_embeddings.weight",
                    w.get(
                        "embeddings.word_embeddings.weight",
                        &[cfg.vocab_size, cfg.hidden_size],
                    )?,
                );
            }
            (w, state.clone())
        }
        None => {
            let mut w = Weights::from_dir(&base_dir)?;
            // A fine-tuned model with the same labels keeps its classifier,
            // so training adapts it (to a new domain, say) instead of
            // starting the head afresh.
            kept_classifier =
                base_labels.as_ref() == Some(&labels) && w.contains("classifier.weight");
            if !kept_classifier {
                init_classifier(
                    &mut w,
                    cfg.hidden_size,
                    labels.len(),
                    derive_seed(opts.fit.seed, 0, 0),
                )?;
            }
            (
                w,
                State {
                    step: 0,
                    epoch: 0,
                    batch_in_epoch: 0,
                    best_dev_f1: None,
                    labels: labels.clone(),
                },
            )
        }
    };
    let mut run = Run::new(
        base_dir.clone(),
        cfg.clone(),
        labels.clone(),
        &weights,
        opts.freeze_embeddings,
    )?;
    if let Some((dir, _)) = &resumed {
        let opt_path = dir.join("optimizer.safetensors");
        let moments = Weights::from_safetensors(&opt_path)?;
        for p in &mut run.params {
            let dims = p.var.dims().to_vec();
            p.m = moments
                .get(&format!("m.{}", p.name), &dims)?
                .flatten_all()?
                .to_vec1()?;
            p.v = moments
                .get(&format!("v.{}", p.name), &dims)?
                .flatten_all()?
                .to_vec1()?;
        }
    }

    // The schedule always spans every epoch; `max_steps` only stops early,
    // as an interruption would, so a later `--resume` continues the same run.
    let (per_epoch, total, stop_at) = opts.fit.steps(examples.len());
    let warmup = (total as f64 * opts.fit.warmup).round() as u64;
    on_event(Event::Start {
        examples: examples.len(),
        steps: total,
        labels: labels.clone(),
        kept_classifier,
    });
    let pad = cfg.pad_token_id;
    let mut tokens_done = 0u64;
    // Time spent in steps: the rate leaves out checkpoints and evaluations.
    let mut step_seconds = 0f64;
    let mut last_loss = 0f32;

    // An epoch whose batches are all done but that was not closed (a kill
    // after its last step's checkpoint) still needs its end: evaluation,
    // the model folder, the checkpoint.
    let unclosed = |s: &State| s.batch_in_epoch > 0 && s.batch_in_epoch as u64 == per_epoch;
    while state.epoch < opts.fit.epochs && (state.step < stop_at || unclosed(&state)) {
        let epoch_start = Instant::now();
        let batches = make_batches(
            &examples,
            opts.fit.batch_size,
            derive_seed(opts.fit.seed, 1, state.epoch as u64),
        );
        let mut loss_sum = 0f64;
        let mut loss_n = 0usize;
        for (bi, batch) in batches.iter().enumerate().skip(state.batch_in_epoch) {
            let step_start = Instant::now();
            let loss_v = run.step(&examples, batch, derive_seed(opts.fit.seed, 2, state.step))?;
            let lr = linear_schedule(opts.fit.lr, state.step, warmup, total);
            check_loss(loss_v, state.step + 1, lr)?;
            run.update(&opts.fit, lr, state.step + 1)?;
            let seconds = step_start.elapsed().as_secs_f64();
            step_seconds += seconds;
            state.step += 1;
            state.batch_in_epoch = bi + 1;
            let tokens = batch
                .iter()
                .map(|&i| examples[i].ids.len() as u64)
                .sum::<u64>();
            tokens_done += tokens;
            loss_sum += loss_v as f64;
            loss_n += 1;
            last_loss = loss_v;
            on_event(Event::Step {
                step: state.step,
                total,
                epoch: state.epoch,
                loss: loss_v,
                lr,
                tokens,
                seconds,
                tokens_per_sec: tokens_done as f64 / step_seconds.max(1e-9),
            });
            let stop = interrupt.load(Ordering::SeqCst);
            let limit = state.step >= stop_at && state.step < total;
            if stop || limit || (opts.save_every > 0 && state.step % opts.save_every == 0) {
                let path = save_checkpoint(&run, &state, &opts.out)?;
                on_event(Event::Checkpoint {
                    step: state.step,
                    path,
                });
            }
            if stop {
                return Err(Error::Interrupted);
            }
            if limit {
                break;
            }
        }
        if state.step >= stop_at && state.batch_in_epoch < batches.len() {
            // Stopped by `max_steps` inside the epoch.
            break;
        }
        // Epoch done: evaluate, keep the best, checkpoint.
        let mut dev_f1 = None;
        let mut best = false;
        let mut scores_out = None;
        if let (Some(d), Some(dx)) = (&dev, &dev_examples) {
            let pred = predict_examples(&run.net, dx, d.len(), opts.fit.batch_size * 2, pad)?;
            // Scored over the types the dev data labels, as `eval` scores.
            let gold: Vec<Vec<String>> = d.iter().map(|s| s.tags.clone()).collect();
            let pred: Vec<Vec<String>> = pred
                .iter()
                .map(|p| {
                    let tags: Vec<&str> = p.iter().map(|&l| labels[l].as_str()).collect();
                    keep_types(&tags, &dev_types)
                })
                .collect();
            let s = score(&gold, &pred);
            let f1 = s.micro.f1;
            dev_f1 = Some(f1);
            best = state.best_dev_f1.is_none_or(|b| f1 > b);
            if best {
                state.best_dev_f1 = Some(f1);
            }
            scores_out = Some(Box::new(s));
        }
        if dev.is_none() || best || opts.keep_last {
            run.save_model(&opts.out)?;
        }
        state.epoch += 1;
        state.batch_in_epoch = 0;
        let path = save_checkpoint(&run, &state, &opts.out)?;
        on_event(Event::Checkpoint {
            step: state.step,
            path,
        });
        let epoch_loss = if loss_n > 0 {
            (loss_sum / loss_n as f64) as f32
        } else {
            last_loss
        };
        on_event(Event::Epoch {
            epoch: state.epoch,
            loss: epoch_loss,
            dev_f1,
            best,
            seconds: epoch_start.elapsed().as_secs_f64(),
            scores: scores_out,
        });
    }
    // `config.json` is written last: without it the folder is incomplete (a
    // kill in the middle of an earlier write), whatever else is there.
    if !opts.out.join("model.safetensors").is_file() || !opts.out.join("config.json").is_file() {
        run.save_model(&opts.out)?;
    }
    let secs = t0.elapsed().as_secs_f64();
    Ok(TrainReport {
        best_dev_f1: state.best_dev_f1,
        steps: state.step,
        seconds: secs,
        tokens_per_sec: tokens_done as f64 / step_seconds.max(1e-9),
    })
}

mod checkpoint;
use checkpoint::{load_checkpoint, save_checkpoint};

#[cfg(test)]
mod tests;

//! Masked-language-model pretraining on raw text: adapts a base encoder to
//! a domain (news of one outlet, say) before fine-tuning, with the objective
//! BERT was pretrained with.
//!
//! Whole words are masked: an Arabic word often splits into a stem and
//! clitic pieces, and masking one piece alone is guessed from the others.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use candle_core::{DType, Tensor, Var};

use super::data::{read_conll, read_text, DataError, ReadOptions, Sentence};
use super::encoder::Tape;
use super::heads::{MaskedLmNet, Slots};
use super::optim::{check_loss, linear_schedule, Fit, Param};
use super::trainer::{
    derive_seed, join_runs, make_batches, make_examples, write_model_dir, Example,
};
use crate::error::{Error, Result};
use crate::model::bert::{init_mlm_head, Dropout, MLM_HEAD};
use crate::model::config::BertConfig;
use crate::model::hub;
use crate::model::tokenizer::WordTokenizer;
use crate::model::weights::{Storage, Weights};
use crate::text::normalize::NormalizeOptions;
use crate::text::words::split_words;

/// Options of a pretraining run.
#[derive(Debug, Clone)]
pub struct PretrainOptions {
    /// Base model folder or Hub id.
    pub base: String,
    /// Plain UTF-8 text files: one paragraph or sentence a line.
    pub text: Vec<PathBuf>,
    /// CoNLL files whose words are read as text (their tags are ignored).
    pub conll: Vec<PathBuf>,
    /// Output model folder, written after every epoch.
    pub out: PathBuf,
    pub fit: Fit,
    /// Longest window in word pieces.
    pub max_pieces: usize,
    /// Consecutive lines (sentences) joined up to this many pieces.
    pub context_pieces: usize,
    /// Fraction of words masked in each window.
    pub mask_prob: f64,
    /// Steps at the start that train the head alone (a fresh head's
    /// gradients would otherwise shake the encoder before it means anything).
    pub head_steps: u64,
    /// Constant learning rate of those steps.
    pub head_lr: f64,
}

impl Default for PretrainOptions {
    fn default() -> Self {
        PretrainOptions {
            base: String::new(),
            text: Vec::new(),
            conll: Vec::new(),
            out: PathBuf::new(),
            fit: Fit {
                epochs: 1,
                lr: 5e-5,
                batch_size: 6,
                warmup: 0.1,
                weight_decay: 0.01,
                clip: 1.0,
                seed: 42,
                max_steps: 0,
            },
            max_pieces: 254,
            context_pieces: 128,
            mask_prob: 0.15,
            head_steps: 300,
            head_lr: 1e-3,
        }
    }
}

/// Progress of a pretraining run.
#[derive(Debug, Clone)]
pub enum PretrainEvent {
    Start {
        windows: usize,
        steps: u64,
        fresh_head: bool,
    },
    Step {
        step: u64,
        total: u64,
        loss: f32,
        lr: f64,
        /// Pieces in this step's windows, and the step's wall time.
        tokens: u64,
        seconds: f64,
        /// Pieces a second over the steps so far (their time only).
        tokens_per_sec: f64,
    },
    Epoch {
        epoch: usize,
        /// Mean loss over the epoch's steps.
        loss: f32,
        /// Share of masked pieces predicted exactly, over the epoch.
        accuracy: f64,
        seconds: f64,
    },
}

/// What a finished run did.
#[derive(Debug, Clone)]
pub struct PretrainReport {
    pub steps: u64,
    pub seconds: f64,
    pub tokens_per_sec: f64,
    pub last_loss: f32,
}

/// Reads plain text files as sentences of words (one a non-empty line).
pub fn read_text_lines(path: &Path) -> Result<Vec<Sentence>> {
    let text = read_text(path, &path.display().to_string()).map_err(|e| match e {
        // Named as `file:line:`, like the tagger's messages about text input.
        DataError::NotUtf8 { file, offset, line } => Error::input(format!(
            "{file}:{line}: not valid UTF-8 text (byte {offset})"
        )),
        e => Error::input(e.to_string()),
    })?;
    Ok(text
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let words: Vec<String> = split_words(line)
                .iter()
                .map(|w| w.text(line).to_string())
                .collect();
            (!words.is_empty()).then(|| {
                let tags = vec!["O".to_string(); words.len()];
                Sentence::new(words, tags, i + 1)
            })
        })
        .collect())
}

/// Masked inputs of one batch and what the loss reads.
struct MaskedBatch {
    /// Each window's pieces, masked.
    seqs: Vec<Vec<u32>>,
    /// Positions of the masked pieces in the windows laid end to end.
    positions: Vec<usize>,
    /// Original piece ids there.
    targets: Vec<u32>,
}

/// Picks words to mask in each window: each with `prob`, at least one a
/// window; of them 80% become the mask token, 10% random pieces, 10% stay.
fn mask_batch(
    examples: &[Example],
    batch: &[usize],
    prob: f64,
    ids: Ids,
    rng: &mut Dropout,
) -> Result<MaskedBatch> {
    let uniform = |rng: &mut Dropout| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let mut row_start = 0;
    let mut seqs = Vec::with_capacity(batch.len());
    let mut positions = Vec::new();
    let mut targets = Vec::new();
    for &i in batch {
        let ex = &examples[i];
        let mut seq = ex.ids.clone();
        let words = ex.word_pos.len();
        let mut chosen: Vec<usize> = (0..words).filter(|_| uniform(rng) < prob).collect();
        if chosen.is_empty() && words > 0 {
            chosen.push((rng.next_u64() % words as u64) as usize);
        }
        for k in chosen {
            let end = ex.word_pos.get(k + 1).copied().unwrap_or(ex.ids.len() - 1);
            let how = uniform(rng);
            let start = ex.word_pos[k];
            for (p, piece) in seq.iter_mut().enumerate().take(end).skip(start) {
                positions.push(row_start + p);
                targets.push(*piece);
                if how < 0.8 {
                    *piece = ids.mask;
                } else if how < 0.9 {
                    *piece = ids.random_piece(rng);
                }
            }
        }
        row_start += seq.len();
        seqs.push(seq);
    }
    Ok(MaskedBatch {
        seqs,
        positions,
        targets,
    })
}

/// Special ids masking needs.
#[derive(Clone, Copy)]
struct Ids {
    mask: u32,
    vocab: u32,
    /// Ids below this are special tokens (`<s>`, `<pad>`, `</s>`, `<unk>`).
    first_piece: u32,
}

impl Ids {
    fn random_piece(&self, rng: &mut Dropout) -> u32 {
        loop {
            let id = (rng.next_u64() % self.vocab as u64) as u32;
            if id >= self.first_piece && id != self.mask {
                return id;
            }
        }
    }
}

/// Runs masked-LM pretraining; `interrupt` is polled after every step, and
/// an interrupted run saves the model folder before returning
/// [`Error::Interrupted`].
pub fn pretrain(
    opts: &PretrainOptions,
    interrupt: &AtomicBool,
    on_event: &mut dyn FnMut(PretrainEvent),
) -> Result<PretrainReport> {
    let t0 = Instant::now();
    if opts.text.is_empty() && opts.conll.is_empty() {
        return Err(Error::Usage(
            "no text to pretrain on (--text or --conll)".into(),
        ));
    }
    opts.fit.check()?;
    if !(opts.mask_prob > 0.0 && opts.mask_prob < 1.0) {
        return Err(Error::Usage("--mask-prob must lie between 0 and 1".into()));
    }
    if !(opts.head_lr > 0.0 && opts.head_lr <= 1.0) {
        return Err(Error::Usage(format!(
            "--head-lr {} is not in (0, 1]",
            opts.head_lr
        )));
    }
    if opts.max_pieces == 0 {
        return Err(Error::Usage("--max-length must be at least 1".into()));
    }
    let base_dir = hub::resolve(&opts.base)?;
    let mut cfg = BertConfig::from_file(&base_dir.join("config.json"))?;
    let tok = WordTokenizer::from_dir(&base_dir)?;
    let mask_id = tok
        .token_id(&["[MASK]", "<mask>"])
        .ok_or_else(|| Error::model(&base_dir, "no [MASK] or <mask> token in the vocabulary"))?;
    let specials = [tok.cls, tok.sep, tok.unk, cfg.pad_token_id];
    let ids = Ids {
        mask: mask_id,
        vocab: cfg.vocab_size as u32,
        first_piece: specials.iter().max().map_or(0, |m| m + 1),
    };
    let max_pieces = opts
        .max_pieces
        .min(cfg.max_position_embeddings.saturating_sub(2))
        .max(1);
    let norm = NormalizeOptions {
        letters: cfg.arabic_ner.normalize_letters,
    };
    let context = opts.context_pieces.min(max_pieces);

    // Text: every file's lines (or CoNLL sentences), neighbours joined.
    let mut docs = Vec::new();
    for p in &opts.text {
        docs.push(read_text_lines(p)?);
    }
    for p in &opts.conll {
        let mut s =
            read_conll(p, &ReadOptions::default()).map_err(|e| Error::input(e.to_string()))?;
        for s in &mut s {
            s.tags.iter_mut().for_each(|t| *t = "O".into());
            s.unlabelled.clear();
        }
        docs.push(s);
    }
    let only_o: HashMap<String, i64> = [("O".to_string(), 0i64)].into_iter().collect();
    let mut examples = Vec::new();
    for d in docs {
        let joined = join_runs(d, &tok, &norm, context)?;
        examples.extend(make_examples(
            &joined, &tok, &norm, &only_o, max_pieces, false,
        )?);
    }
    examples.retain(|e| !e.word_pos.is_empty());
    if examples.is_empty() {
        return Err(Error::input("the text files hold no words"));
    }

    // Model: the base encoder and its MLM head, or a fresh head.
    let mut weights = Weights::from_dir(&base_dir)?;
    let fresh_head = !MLM_HEAD.iter().all(|n| weights.contains(n));
    if fresh_head {
        init_mlm_head(&mut weights, &cfg, derive_seed(opts.fit.seed, 0, 1))?;
    }
    let mut live = weights.clone();
    let mut params = Vec::new();
    for (name, t) in weights.sorted() {
        // Word embeddings stay fixed: they are also the head's output
        // matrix, and most of the vocabulary never appears in the text.
        let trained = name.starts_with("encoder.")
            || (name.starts_with("embeddings.") && name != "embeddings.word_embeddings.weight")
            || MLM_HEAD.contains(&name);
        if !trained {
            continue;
        }
        let var = Var::from_tensor(&t.to_dtype(DType::F32)?.contiguous()?)?;
        live.insert(name, var.as_tensor().clone());
        params.push(Param::new(name.to_string(), var));
    }
    let mut slots = Slots::new(&MaskedLmNet::slot_shapes(&cfg), &mut live, &params)?;
    let net = MaskedLmNet::new(&cfg);
    let mut tape = Tape::default();
    let (_, total, stop_at) = opts.fit.steps(examples.len());
    let head_steps = if fresh_head {
        opts.head_steps.min(total)
    } else {
        0
    };
    let warmup = ((total - head_steps) as f64 * opts.fit.warmup).round() as u64;
    on_event(PretrainEvent::Start {
        windows: examples.len(),
        steps: total,
        fresh_head,
    });
    cfg.arabic_ner.context_pieces = context;
    let save = |live: &Weights| -> Result<()> {
        let tensors: Vec<(String, Tensor)> = live
            .token_classification_tensors()
            .into_iter()
            .chain(
                live.sorted()
                    .into_iter()
                    .filter(|(n, _)| MLM_HEAD.contains(n))
                    .map(|(n, t)| (n.to_string(), t.clone())),
            )
            .collect();
        write_model_dir(&opts.out, &cfg, &[], &tensors, &base_dir, Storage::F32)
    };

    let mut step = 0u64;
    let mut tokens_done = 0u64;
    let mut last_loss = 0f32;
    // Time spent in steps: the rate leaves out the saves.
    let mut step_seconds = 0f64;
    for epoch in 0..opts.fit.epochs {
        let epoch_start = Instant::now();
        let batches = make_batches(
            &examples,
            opts.fit.batch_size,
            derive_seed(opts.fit.seed, 1, epoch as u64),
        );
        let (mut loss_sum, mut loss_n, mut hits, mut masked) = (0f64, 0usize, 0u64, 0u64);
        for batch in &batches {
            let step_start = Instant::now();
            let mut rng = Dropout::new(derive_seed(opts.fit.seed, 3, step));
            let b = mask_batch(&examples, batch, opts.mask_prob, ids, &mut rng)?;
            // While the head learns alone, the encoder runs without dropout
            // and gets no gradient.
            let head_only = step < head_steps;
            let seed = (!head_only).then(|| derive_seed(opts.fit.seed, 2, step));
            let seqs: Vec<&[u32]> = b.seqs.iter().map(|s| s.as_slice()).collect();
            let (loss_v, hit) = slots.with_values(|w, grads| {
                net.step(w, &seqs, &b.positions, &b.targets, seed, &mut tape, grads)
            })?;
            hits += hit as u64;
            masked += b.targets.len() as u64;
            // The encoder has no gradient while the head learns alone, and
            // the update leaves it as it is.
            let lr = if head_only {
                opts.head_lr
            } else {
                linear_schedule(opts.fit.lr, step - head_steps, warmup, total - head_steps)
            };
            check_loss(loss_v, step + 1, lr)?;
            let grads = slots.param_grads(&params, |p| {
                !head_only || MLM_HEAD.contains(&p.name.as_str())
            });
            opts.fit.update_from(&mut params, &grads, lr, step + 1)?;
            let seconds = step_start.elapsed().as_secs_f64();
            step_seconds += seconds;
            step += 1;
            let tokens = batch
                .iter()
                .map(|&i| examples[i].ids.len() as u64)
                .sum::<u64>();
            tokens_done += tokens;
            loss_sum += loss_v as f64;
            loss_n += 1;
            last_loss = loss_v;
            on_event(PretrainEvent::Step {
                step,
                total,
                loss: loss_v,
                lr,
                tokens,
                seconds,
                tokens_per_sec: tokens_done as f64 / step_seconds.max(1e-9),
            });
            if interrupt.load(Ordering::SeqCst) {
                save(&live)?;
                return Err(Error::Interrupted);
            }
            if step >= stop_at {
                break;
            }
        }
        save(&live)?;
        if loss_n < batches.len() {
            // Stopped by `max_steps` inside the epoch.
            break;
        }
        on_event(PretrainEvent::Epoch {
            epoch: epoch + 1,
            loss: (loss_sum / loss_n.max(1) as f64) as f32,
            accuracy: hits as f64 / masked.max(1) as f64,
            seconds: epoch_start.elapsed().as_secs_f64(),
        });
        if step >= stop_at {
            break;
        }
    }
    Ok(PretrainReport {
        steps: step,
        seconds: t0.elapsed().as_secs_f64(),
        tokens_per_sec: tokens_done as f64 / step_seconds.max(1e-9),
        last_loss,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words_are_masked_and_every_window_has_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("vocab.txt"),
            "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nab\n##cd\nef\n",
        )
        .unwrap();
        let tok = WordTokenizer::from_dir(dir.path()).unwrap();
        let words: Vec<String> = ["abcd", "ef"]
            .repeat(200)
            .iter()
            .map(|w| w.to_string())
            .collect();
        let short = vec!["ef".to_string()];
        let o = vec!["O".to_string(); words.len()];
        let sentences = [
            Sentence::new(words.clone(), o.clone(), 1),
            Sentence::new(short.clone(), vec!["O".into()], 2),
        ];
        let only_o: HashMap<String, i64> = [("O".to_string(), 0)].into_iter().collect();
        let norm = NormalizeOptions::default();
        let examples = make_examples(&sentences, &tok, &norm, &only_o, 1000, false).unwrap();
        let ids = Ids {
            mask: 4,
            vocab: 8,
            first_piece: 4,
        };
        let mut rng = Dropout::new(1);
        let b = mask_batch(&examples, &[0, 1], 0.15, ids, &mut rng).unwrap();
        let seqs = &b.seqs;
        let len = seqs[0].len();
        let at = |p: usize| if p < len { (0, p) } else { (1, p - len) };
        let positions = b.positions.clone();
        let targets = b.targets.clone();
        assert_eq!(positions.len(), targets.len());
        // Targets are the original pieces; specials are never masked.
        for (&p, &t) in positions.iter().zip(&targets) {
            let (row, col) = at(p);
            assert_eq!(examples[[0, 1][row]].ids[col], t);
            assert!(t >= 5, "special piece {t} masked");
        }
        // A word's two pieces are masked together.
        let set: std::collections::HashSet<usize> = positions.iter().copied().collect();
        for &p in &positions {
            if targets[positions.iter().position(|&q| q == p).unwrap()] == 5 {
                assert!(set.contains(&(p + 1)), "ab masked without ##cd");
            }
        }
        // About 15% of the 400 words of the long window; the one-word
        // window has its word.
        let long_words = positions.iter().filter(|&&p| p < len).count();
        assert!(
            (60..=180).contains(&long_words),
            "{long_words} pieces masked"
        );
        assert_eq!(positions.iter().filter(|&&p| p >= len).count(), 1);
        // 80% of the chosen words read as the mask token.
        let masked = positions
            .iter()
            .filter(|&&p| {
                let (row, col) = at(p);
                seqs[row][col] == 4
            })
            .count();
        assert!(
            masked * 10 >= positions.len() * 6,
            "{masked} of {}",
            positions.len()
        );
    }
}

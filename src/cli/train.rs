//! `arabic-ner train`: fine-tuning from the command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use arabic_ner::scheme::Scheme;
use arabic_ner::train::data::LabelMap;
use arabic_ner::train::trainer::{train, Corpus, Event, TrainOptions};
use arabic_ner::{Error, Result};

#[derive(Args)]
pub struct TrainArgs {
    /// Pretrained BERT: a model folder or a Hub id `org/name[@revision]`.
    #[arg(long)]
    base: Option<String>,
    /// Training data in CoNLL form (`word TAG`); repeat for several files.
    #[arg(long = "train")]
    train: Vec<PathBuf>,
    /// Development data, scored after each epoch to keep the best model.
    #[arg(long)]
    dev: Option<PathBuf>,
    /// Label map applied to every file: `PERS=PER,GPE=LOC,NORP=O` (`=?`:
    /// unlabelled, out of the loss).
    #[arg(long)]
    map: Option<String>,
    /// Tag scheme of the data (bio, iob1, iobes); detected when absent.
    #[arg(long)]
    scheme: Option<Scheme>,
    /// A TOML file with the options, including a map per corpus (see README).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output folder: the best model, and checkpoints to resume from.
    #[arg(long, short)]
    out: Option<PathBuf>,
    #[arg(long)]
    epochs: Option<usize>,
    /// Peak learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// Sentences per step.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Fraction of steps spent on linear warm-up.
    #[arg(long)]
    warmup: Option<f64>,
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Clip gradients to this global norm (0 = off).
    #[arg(long)]
    clip: Option<f64>,
    #[arg(long)]
    seed: Option<u64>,
    /// Longest training window in word pieces.
    #[arg(long)]
    max_length: Option<usize>,
    /// Train each sentence with its neighbours: consecutive sentences are
    /// joined up to this many word pieces (0: each alone). The model then
    /// reads text the same way.
    #[arg(long, value_name = "PIECES")]
    context: Option<usize>,
    /// Keep word embeddings fixed.
    #[arg(long)]
    freeze_embeddings: bool,
    /// Dropout probability (default: the base model's).
    #[arg(long)]
    dropout: Option<f64>,
    /// Score date-like words as O even in corpora that never label dates.
    #[arg(long)]
    no_date_masking: bool,
    /// Save a checkpoint every N steps (0: at epoch ends only).
    #[arg(long)]
    save_every: Option<u64>,
    /// Stop after N steps in all.
    #[arg(long)]
    max_steps: Option<u64>,
    /// Leave the last epoch's model in the output folder, not the best on
    /// --dev (for runs to be averaged with `export --average`).
    #[arg(long)]
    keep_last: bool,
    /// Continue from the last checkpoint in the output folder.
    #[arg(long)]
    resume: bool,
}

/// The TOML shape of `--config`: every option, and `[[train]]` tables.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    base: Option<String>,
    #[serde(default)]
    train: Vec<Corpus>,
    dev: Option<Corpus>,
    out: Option<PathBuf>,
    epochs: Option<usize>,
    lr: Option<f64>,
    batch_size: Option<usize>,
    warmup: Option<f64>,
    weight_decay: Option<f64>,
    clip: Option<f64>,
    seed: Option<u64>,
    max_length: Option<usize>,
    context: Option<usize>,
    freeze_embeddings: Option<bool>,
    dropout: Option<f64>,
    mask_unlabelled_dates: Option<bool>,
    save_every: Option<u64>,
    keep_last: Option<bool>,
}

fn options(a: &TrainArgs) -> Result<TrainOptions> {
    let mut o = TrainOptions::default();
    if let Some(path) = &a.config {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.clone(),
            source: e,
        })?;
        let c: ConfigFile = toml::from_str(&text).map_err(|e| {
            Error::Usage(format!(
                "{}: {}",
                path.display(),
                e.to_string().replace('\n', " ")
            ))
        })?;
        let base_dir = path.parent().map(PathBuf::from).unwrap_or_default();
        let rel = |p: PathBuf| if p.is_relative() { base_dir.join(p) } else { p };
        o.train = c
            .train
            .into_iter()
            .map(|mut k| {
                k.path = rel(k.path);
                k
            })
            .collect();
        o.dev = c.dev.map(|mut k| {
            k.path = rel(k.path);
            k
        });
        if let Some(v) = c.base {
            o.base = v;
        }
        if let Some(v) = c.out {
            o.out = v;
        }
        if let Some(v) = c.epochs {
            o.fit.epochs = v;
        }
        if let Some(v) = c.lr {
            o.fit.lr = v;
        }
        if let Some(v) = c.batch_size {
            o.fit.batch_size = v;
        }
        if let Some(v) = c.warmup {
            o.fit.warmup = v;
        }
        if let Some(v) = c.weight_decay {
            o.fit.weight_decay = v;
        }
        if let Some(v) = c.clip {
            o.fit.clip = v;
        }
        if let Some(v) = c.seed {
            o.fit.seed = v;
        }
        if let Some(v) = c.max_length {
            o.max_pieces = v;
        }
        if let Some(v) = c.context {
            o.context_pieces = v;
        }
        if let Some(v) = c.freeze_embeddings {
            o.freeze_embeddings = v;
        }
        if c.dropout.is_some() {
            o.dropout = c.dropout;
        }
        if let Some(v) = c.mask_unlabelled_dates {
            o.mask_unlabelled_dates = v;
        }
        if let Some(v) = c.save_every {
            o.save_every = v;
        }
        if let Some(v) = c.keep_last {
            o.keep_last = v;
        }
    }
    let map: LabelMap = match &a.map {
        Some(m) => m
            .parse()
            .map_err(|e: arabic_ner::train::data::DataError| Error::Usage(format!("--map: {e}")))?,
        None => LabelMap::default(),
    };
    for p in &a.train {
        o.train.push(Corpus {
            path: p.clone(),
            map: map.clone(),
            scheme: a.scheme,
        });
    }
    if let Some(p) = &a.dev {
        o.dev = Some(Corpus {
            path: p.clone(),
            map: map.clone(),
            scheme: a.scheme,
        });
    }
    if let Some(v) = &a.base {
        o.base = v.clone();
    }
    if let Some(v) = &a.out {
        o.out = v.clone();
    }
    if let Some(v) = a.epochs {
        o.fit.epochs = v;
    }
    if let Some(v) = a.lr {
        o.fit.lr = v;
    }
    if let Some(v) = a.batch_size {
        o.fit.batch_size = v;
    }
    if let Some(v) = a.warmup {
        o.fit.warmup = v;
    }
    if let Some(v) = a.weight_decay {
        o.fit.weight_decay = v;
    }
    if let Some(v) = a.clip {
        o.fit.clip = v;
    }
    if let Some(v) = a.seed {
        o.fit.seed = v;
    }
    if let Some(v) = a.max_length {
        o.max_pieces = v;
    }
    if let Some(v) = a.context {
        o.context_pieces = v;
    }
    if a.freeze_embeddings {
        o.freeze_embeddings = true;
    }
    if a.dropout.is_some() {
        o.dropout = a.dropout;
    }
    if a.no_date_masking {
        o.mask_unlabelled_dates = false;
    }
    if let Some(v) = a.save_every {
        o.save_every = v;
    }
    if let Some(v) = a.max_steps {
        o.fit.max_steps = v;
    }
    if a.keep_last {
        o.keep_last = true;
    }
    if o.base.is_empty() {
        return Err(Error::Usage("no pretrained model: pass --base".into()));
    }
    o.check()?;
    Ok(o)
}

pub fn run(a: TrainArgs) -> Result<()> {
    let opts = options(&a)?;
    let has_checkpoint = opts.out.join("checkpoints").join("latest").is_file();
    if has_checkpoint && !a.resume {
        return Err(Error::Usage(format!(
            "{} already holds a training run: pass --resume to continue it, or choose another --out",
            opts.out.display()
        )));
    }
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::Io {
        path: opts.out.clone(),
        source: e,
    })?;
    let args_json = serde_json::to_string_pretty(&opts).unwrap_or_default();
    arabic_ner::model::weights::write_atomic(
        &opts.out.join("training_args.json"),
        args_json.as_bytes(),
    )?;

    let stop = stop_on_ctrl_c();
    let interactive = std::io::stderr().is_terminal();
    let mut bar: Option<ProgressBar> = None;
    let log_path = opts.out.join("train-log.jsonl");
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| Error::Io {
            path: log_path.clone(),
            source: e,
        })?;
    let mut on_event = |ev: Event| {
        use std::io::Write;
        match ev {
            Event::Start {
                examples,
                steps,
                labels,
                kept_classifier,
            } => {
                eprintln!(
                    "training on {examples} windows, {steps} steps, labels: {}",
                    labels.join(" ")
                );
                if kept_classifier {
                    eprintln!(
                        "the base is a token classifier with these labels: training on from it"
                    );
                }
                if interactive {
                    let b = ProgressBar::new(steps);
                    b.set_style(
                        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} ETA {eta}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    bar = Some(b);
                }
            }
            Event::Step {
                step,
                total,
                epoch,
                loss,
                lr,
                tokens_per_sec,
            } => {
                let msg = format!(
                    "epoch {} loss {loss:.4} lr {lr:.2e} {tokens_per_sec:.0} tok/s",
                    epoch + 1
                );
                match &bar {
                    Some(b) => {
                        b.set_position(step);
                        b.set_message(msg);
                    }
                    None if step % 50 == 0 || step == total => {
                        eprintln!("step {step}/{total} {msg}")
                    }
                    None => {}
                }
            }
            Event::Epoch {
                epoch,
                loss,
                dev_f1,
                best,
                seconds,
                scores,
            } => {
                let f1 = dev_f1
                    .map(|f| format!("{:.2}", f * 100.0))
                    .unwrap_or_else(|| "-".into());
                let line = format!(
                    "epoch {epoch}: loss {loss:.4}, dev F1 {f1}{}, {seconds:.0}s",
                    if best { " (best)" } else { "" }
                );
                match &bar {
                    Some(b) => b.println(&line),
                    None => eprintln!("{line}"),
                }
                if let Some(s) = &scores {
                    eprintln!("{s}");
                }
                let _ = writeln!(
                    log,
                    "{}",
                    serde_json::json!({"epoch": epoch, "loss": loss, "dev_f1": dev_f1, "seconds": seconds})
                );
            }
            Event::Checkpoint { .. } => {}
        }
    };
    let report = train(&opts, &stop, &mut on_event)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    eprintln!(
        "done: {} steps in {:.0}s, {:.0} tokens/s{}; model in {}",
        report.steps,
        report.seconds,
        report.tokens_per_sec,
        report
            .best_dev_f1
            .map(|f| format!(", best dev F1 {:.2}", f * 100.0))
            .unwrap_or_default(),
        opts.out.display()
    );
    Ok(())
}

/// A flag that Ctrl-C raises, so a run stops after its step and saves; a
/// second Ctrl-C ends the process at once.
pub(crate) fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(arabic_ner::error::exit::INTERRUPTED);
        }
        eprintln!("arabic-ner: stopping after this step, saving...");
    });
    stop
}

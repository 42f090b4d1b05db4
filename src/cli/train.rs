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

/// Declares each training setting once: the struct that both the command
/// line (`--name`) and a `--config` TOML file (`name = ...`) fill, how a
/// file's settings give way to the command line's, and where each lands in
/// [`TrainOptions`].
macro_rules! settings {
    ($(
        $(#[$meta:meta])*
        $name:ident : $ty:ty => $($field:ident).+ $(as $wrap:ident)?;
    )*) => {
        /// Settings given on the command line or in a `--config` file.
        #[derive(Args, serde::Deserialize, Default)]
        #[serde(deny_unknown_fields)]
        pub struct TrainSettings {
            $( $(#[$meta])* $name: Option<$ty>, )*
        }

        impl TrainSettings {
            /// `over`'s settings where it has them, these elsewhere.
            fn overridden_by(self, over: TrainSettings) -> TrainSettings {
                TrainSettings { $( $name: over.$name.or(self.$name), )* }
            }

            /// Writes the settings given into `o`.
            fn apply(self, o: &mut TrainOptions) {
                $( if let Some(v) = self.$name { o.$($field).+ = settings!(@wrap v $($wrap)?); } )*
            }
        }
    };
    (@wrap $v:ident) => { $v };
    (@wrap $v:ident Some) => { Some($v) };
}

settings! {
    /// Pretrained BERT: a model folder or a Hub id `org/name[@revision]`.
    #[arg(long)]
    base: String => base;
    /// Output folder: the best model, and checkpoints to resume from.
    #[arg(long, short)]
    out: PathBuf => out;
    #[arg(long)]
    epochs: usize => fit.epochs;
    /// Peak learning rate.
    #[arg(long)]
    lr: f64 => fit.lr;
    /// Sentences per step.
    #[arg(long)]
    batch_size: usize => fit.batch_size;
    /// Fraction of steps spent on linear warm-up.
    #[arg(long)]
    warmup: f64 => fit.warmup;
    #[arg(long)]
    weight_decay: f64 => fit.weight_decay;
    /// Clip gradients to this global norm (0 = off).
    #[arg(long)]
    clip: f64 => fit.clip;
    #[arg(long)]
    seed: u64 => fit.seed;
    /// Longest training window in word pieces.
    #[arg(long)]
    max_length: usize => max_pieces;
    /// Train each sentence with its neighbours: consecutive sentences are
    /// joined up to this many word pieces (0: each alone). The model then
    /// reads text the same way.
    #[arg(long, value_name = "PIECES")]
    context: usize => context_pieces;
    /// Keep word embeddings fixed.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    freeze_embeddings: bool => freeze_embeddings;
    /// Dropout probability (default: the base model's).
    #[arg(long)]
    dropout: f64 => dropout as Some;
    /// Leave date-like words out of the loss in corpora that never label
    /// dates (default true; `--no-date-masking` is `false`).
    #[arg(long, value_name = "BOOL")]
    mask_unlabelled_dates: bool => mask_unlabelled_dates;
    /// Save a checkpoint every N steps (0: at epoch ends only).
    #[arg(long)]
    save_every: u64 => save_every;
    /// Stop after N steps in all.
    #[arg(long)]
    max_steps: u64 => fit.max_steps;
    /// Leave the last epoch's model in the output folder, not the best on
    /// --dev (for runs to be averaged with `export --average`).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    keep_last: bool => keep_last;
}

#[derive(Args)]
pub struct TrainArgs {
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
    /// A TOML file with the settings, and `[[train]]` and `[dev]` tables
    /// with a map per corpus (see README); the command line overrides it.
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    settings: TrainSettings,
    /// Score date-like words as O even in corpora that never label dates.
    #[arg(long)]
    no_date_masking: bool,
    /// Continue from the last checkpoint in the output folder.
    #[arg(long)]
    resume: bool,
}

/// The corpora of a `--config` file, with paths relative to the file.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConfigCorpora {
    #[serde(default)]
    train: Vec<Corpus>,
    dev: Option<Corpus>,
}

/// Reads a `--config` file: its corpora and its settings.
fn read_config(path: &std::path::Path) -> Result<(ConfigCorpora, TrainSettings)> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let bad = |e: &dyn std::fmt::Display| {
        Error::Usage(format!(
            "{}: {}",
            path.display(),
            e.to_string().trim().replace('\n', " ")
        ))
    };
    let mut table: toml::Table = toml::from_str(&text).map_err(|e| bad(&e))?;
    let mut corpora = toml::Table::new();
    for key in ["train", "dev"] {
        if let Some(v) = table.remove(key) {
            corpora.insert(key.to_string(), v);
        }
    }
    let mut corpora: ConfigCorpora = corpora.try_into().map_err(|e| bad(&e))?;
    let settings: TrainSettings = table.try_into().map_err(|e| bad(&e))?;
    let base_dir = path.parent().map(PathBuf::from).unwrap_or_default();
    let rel = |p: &mut PathBuf| {
        if p.is_relative() {
            *p = base_dir.join(&*p);
        }
    };
    corpora.train.iter_mut().for_each(|k| rel(&mut k.path));
    corpora.dev.iter_mut().for_each(|k| rel(&mut k.path));
    Ok((corpora, settings))
}

fn options(a: TrainArgs) -> Result<TrainOptions> {
    let mut o = TrainOptions::default();
    let (corpora, file_settings) = match &a.config {
        Some(path) => read_config(path)?,
        None => Default::default(),
    };
    o.train = corpora.train;
    o.dev = corpora.dev;
    let mut cli = a.settings;
    if a.no_date_masking {
        cli.mask_unlabelled_dates = Some(false);
    }
    file_settings.overridden_by(cli).apply(&mut o);
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
    if o.base.is_empty() {
        return Err(Error::Usage("no pretrained model: pass --base".into()));
    }
    o.check()?;
    Ok(o)
}

pub fn run(a: TrainArgs) -> Result<()> {
    let resume = a.resume;
    let opts = options(a)?;
    let has_checkpoint = opts.out.join("checkpoints").join("latest").is_file();
    if has_checkpoint && !resume {
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
                tokens,
                seconds,
                tokens_per_sec,
            } => {
                let msg = format!(
                    "epoch {} loss {loss:.4} lr {lr:.2e} {tokens_per_sec:.0} tok/s",
                    epoch + 1
                );
                let _ = writeln!(
                    log,
                    "{}",
                    serde_json::json!({"step": step, "epoch": epoch + 1, "loss": loss, "lr": lr, "tokens": tokens, "seconds": seconds, "tokens_per_sec": tokens_per_sec})
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

//! `arabic-ner pretrain`: masked-LM adaptation of a base model to raw text.

use std::path::PathBuf;

use clap::Args;

use arabic_ner::train::optim::Fit;
use arabic_ner::train::pretrain::{pretrain, PretrainEvent, PretrainOptions};
use arabic_ner::{Error, Result};

use super::train::stop_on_ctrl_c;

#[derive(Args)]
pub struct PretrainArgs {
    /// Pretrained BERT: a model folder or a Hub id `org/name[@revision]`.
    #[arg(long)]
    base: String,
    /// Plain UTF-8 text, one sentence or paragraph a line; repeat for several files.
    #[arg(long)]
    text: Vec<PathBuf>,
    /// CoNLL files read for their words (tags are ignored); repeatable.
    #[arg(long)]
    conll: Vec<PathBuf>,
    /// Output folder: the adapted model, written after every epoch.
    #[arg(long, short)]
    out: PathBuf,
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 5e-5)]
    lr: f64,
    /// Windows per step.
    #[arg(long, default_value_t = 6)]
    batch_size: usize,
    /// Fraction of steps spent on linear warm-up.
    #[arg(long, default_value_t = 0.1)]
    warmup: f64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Consecutive lines are joined up to this many word pieces.
    #[arg(long, value_name = "PIECES", default_value_t = 128)]
    context: usize,
    /// Fraction of words masked.
    #[arg(long, default_value_t = 0.15)]
    mask_prob: f64,
    /// Steps that train a fresh prediction head alone before the encoder.
    #[arg(long, default_value_t = 300)]
    head_steps: u64,
    /// Learning rate of those steps.
    #[arg(long, default_value_t = 1e-3)]
    head_lr: f64,
    /// Stop after N steps in all.
    #[arg(long)]
    max_steps: Option<u64>,
}

pub fn run(a: PretrainArgs) -> Result<()> {
    if a.out.join("checkpoints").exists() {
        return Err(Error::Usage(format!(
            "{} holds a fine-tuning run; choose another --out",
            a.out.display()
        )));
    }
    let opts = PretrainOptions {
        base: a.base,
        text: a.text,
        conll: a.conll,
        out: a.out,
        fit: Fit {
            epochs: a.epochs,
            lr: a.lr,
            batch_size: a.batch_size,
            warmup: a.warmup,
            seed: a.seed,
            max_steps: a.max_steps.unwrap_or(0),
            ..PretrainOptions::default().fit
        },
        context_pieces: a.context,
        mask_prob: a.mask_prob,
        head_steps: a.head_steps,
        head_lr: a.head_lr,
        ..PretrainOptions::default()
    };
    let stop = stop_on_ctrl_c();
    let mut on_event = |ev: PretrainEvent| match ev {
        PretrainEvent::Start {
            windows,
            steps,
            fresh_head,
        } => {
            eprintln!("pretraining on {windows} windows, {steps} steps");
            if fresh_head {
                eprintln!("the base has no masked-LM head: starting a fresh one");
            }
        }
        PretrainEvent::Step {
            step,
            total,
            loss,
            lr,
            tokens_per_sec,
            ..
        } => {
            if step % 50 == 0 || step == total {
                eprintln!(
                    "step {step}/{total} loss {loss:.4} lr {lr:.2e} {tokens_per_sec:.0} tok/s"
                );
            }
        }
        PretrainEvent::Epoch {
            epoch,
            loss,
            accuracy,
            seconds,
        } => eprintln!(
            "epoch {epoch}: loss {loss:.4}, masked pieces right {:.2}%, {seconds:.0}s",
            accuracy * 100.0
        ),
    };
    let report = pretrain(&opts, &stop, &mut on_event)?;
    eprintln!(
        "done: {} steps in {:.0}s, {:.0} tokens/s, last loss {:.4}; model in {}",
        report.steps,
        report.seconds,
        report.tokens_per_sec,
        report.last_loss,
        opts.out.display()
    );
    Ok(())
}

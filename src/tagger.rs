//! From text to entities: normalization, words, windows, batches, word
//! labels from sub-token scores, BIO decoding, dates completed, names
//! propagated to their repeats, spans in the original text.

pub mod propagation;

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::str::FromStr;

use crate::entity::{Document, Entity, TaggedWord};
use crate::error::{Error, Result};
use crate::model::packed::{PackedBert, Threads};
use crate::model::tokenizer::EncodedWords;
use crate::model::{sentence_runs, windows, NerModel};
use crate::scheme::{argmax, best_path, decode, encode, spans, Scheme, Span};
use crate::text::clitics::leading_clitic_len;
use crate::text::normalize::{normalize, NormalizeOptions};
use crate::text::words::{is_definite_nisba, sentence_breaks, split_words};
use crate::values::country::country_code;
use crate::values::date::{complete_dates, normalize_date, Ymd};
use propagation::{repeated_names, Mention};
use rayon::prelude::*;

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

/// Most tokens in one batch: about 30 MB of activations with the default
/// model, so a few batches side by side stay well within memory targets.
const BATCH_TOKENS: usize = 2048;

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
    /// explicit dates it missed ([`complete_dates`]).
    pub date_grammar: bool,
    /// Give a name's unlabelled repeats the label the model gave it in
    /// nearby sentences, and its mentions the type most of them have
    /// ([`propagation`]).
    pub propagate_names: bool,
    /// Let an organization take a definite nisba adjective right after it
    /// (`[البنك المركزي] الأردني` → `[البنك المركزي الأردني]`) when the
    /// model gives the adjective some belief of continuing it
    /// ([`ORG_ADJECTIVE_MIN_PROB`]).
    pub org_adjectives: bool,
}

/// Least probability of `I-ORG` for an adjective to join the organization
/// before it; chosen on AQMAR dev and the Wojood validation set (0 joins
/// every one and loses there, 0.1 gains a little on both).
pub const ORG_ADJECTIVE_MIN_PROB: f32 = 0.1;

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

    pub fn batch_size(mut self, n: usize) -> Self {
        self.opts.batch_size = n.max(1);
        self
    }
    /// Most word pieces in a window (at most the model's limit).
    pub fn max_pieces(mut self, n: usize) -> Self {
        self.opts.max_pieces = Some(n.max(1));
        self
    }
    pub fn stride(mut self, n: usize) -> Self {
        self.opts.stride = n;
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
    /// Loads the model.
    pub fn build(self) -> Result<Tagger> {
        let model = match &self.model {
            Some(spec) => NerModel::load(spec)?,
            None => NerModel::from_dir(&crate::model::default_model()?)?,
        };
        if self.ensemble.is_empty() {
            return Ok(Tagger::with_model(model, self.opts));
        }
        let members = self
            .ensemble
            .iter()
            .map(|spec| NerModel::load(spec))
            .collect::<Result<Vec<_>>>()?;
        Tagger::with_ensemble(model, members, self.opts)
    }
}

/// Scores of one word: its label and the probability of that label (for a
/// word the date grammar moved between `O` and `DATE`, the probability of
/// `O` and the `DATE` labels together).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WordScore {
    pub label: usize,
    pub prob: f32,
}

/// The tagger: a model loaded once, shared freely between threads.
///
/// ```no_run
/// let tagger = arabic_ner::Tagger::new("models/arabic-ner-e5-small")?;
/// for e in tagger.tag("زار الرئيس الفرنسي القاهرة يوم الأحد.")? {
///     println!("{} {} {}..{}", e.label, e.text, e.start, e.end);
/// }
/// # Ok::<(), arabic_ner::Error>(())
/// ```
pub struct Tagger {
    model: NerModel,
    /// Networks whose label probabilities are averaged with the model's.
    members: Vec<PackedBert>,
    opts: TagOptions,
    norm: NormalizeOptions,
    /// Scheme of the model's labels, for well-formed decoding.
    scheme: Scheme,
    /// Indices of `O` and the `DATE` labels.
    date_or_outside: Vec<usize>,
    /// Indices of `O`, `B-ORG` and `I-ORG`, when the model has them.
    org_labels: Option<OrgLabels>,
}

#[derive(Debug, Clone, Copy)]
struct OrgLabels {
    outside: usize,
    begin: usize,
    inside: usize,
}

/// A window of a sequence: word range and its model input.
struct Window {
    seq: usize,
    words: Range<usize>,
    ids: Vec<u32>,
    /// For each word of the window, its pieces' positions in `ids`.
    pieces: Vec<Range<usize>>,
}

impl Tagger {
    /// Loads a model folder or Hub id with default options.
    pub fn new(spec: &str) -> Result<Self> {
        TaggerBuilder::default().model(spec).build()
    }

    /// A builder for options.
    pub fn builder() -> TaggerBuilder {
        TaggerBuilder::default()
    }

    /// Wraps a loaded model.
    pub fn with_model(model: NerModel, opts: TagOptions) -> Self {
        let norm = NormalizeOptions {
            letters: model.config.arabic_ner.normalize_letters,
        };
        // Label sets cannot tell BIO from IOB1; models are trained in BIO.
        let iobes = model
            .labels
            .iter()
            .any(|l| l.starts_with("E-") || l.starts_with("S-"));
        let scheme = if iobes { Scheme::Iobes } else { Scheme::Bio };
        let date_or_outside = model
            .labels
            .iter()
            .enumerate()
            .filter(|(_, l)| *l == "O" || l.split_once('-').is_some_and(|(_, t)| t == "DATE"))
            .map(|(i, _)| i)
            .collect();
        let index: HashMap<&str, usize> = model
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i))
            .collect();
        let org_labels = match (index.get("O"), index.get("B-ORG"), index.get("I-ORG")) {
            (Some(&o), Some(&b), Some(&i)) => Some(OrgLabels {
                outside: o,
                begin: b,
                inside: i,
            }),
            _ => None,
        };
        Tagger {
            model,
            members: Vec::new(),
            opts,
            norm,
            scheme,
            date_or_outside,
            org_labels,
        }
    }

    /// Wraps loaded models as one: each word's label distribution is the
    /// mean of the models' distributions, read from the same windows, and
    /// everything else (tokenizer, normalization, context, entity bias)
    /// comes from `model`. Averaging the predictions of separately trained
    /// models is usually more accurate than any one of them, at the cost of
    /// one network run each (models fine-tuned from one base usually do
    /// better still as one mean of their weights).
    ///
    /// Every member must have `model`'s labels in the same order, the same
    /// vocabulary and letter normalization, and room for the tagger's
    /// windows.
    pub fn with_ensemble(
        model: NerModel,
        members: Vec<NerModel>,
        opts: TagOptions,
    ) -> Result<Self> {
        let mut tagger = Tagger::with_model(model, opts);
        let (model, window) = (&tagger.model, tagger.max_pieces());
        let main = &model.dir;
        for m in &members {
            let differs = |what: &str| {
                Error::model(
                    &m.dir,
                    format!("cannot join an ensemble with {}: {what}", main.display()),
                )
            };
            if m.labels != model.labels {
                return Err(differs(&format!(
                    "its labels [{}] differ from [{}]",
                    m.labels.join(" "),
                    model.labels.join(" ")
                )));
            }
            if !m.tokenizer.same_vocabulary(&model.tokenizer) {
                return Err(differs("its tokenizer has another vocabulary"));
            }
            if m.config.arabic_ner.normalize_letters != model.config.arabic_ner.normalize_letters {
                return Err(differs("it normalizes letters differently"));
            }
            if m.max_pieces() < window {
                return Err(differs(&format!(
                    "it reads at most {} pieces a window, fewer than {window}",
                    m.max_pieces()
                )));
            }
        }
        tagger.members = members.into_iter().map(|m| m.net).collect();
        Ok(tagger)
    }

    /// The model.
    pub fn model(&self) -> &NerModel {
        &self.model
    }

    /// The options.
    pub fn options(&self) -> &TagOptions {
        &self.opts
    }

    /// Entity types the model can find (without B-/I- prefixes).
    pub fn entity_types(&self) -> BTreeSet<String> {
        crate::train::metrics::entity_types(&self.model.labels)
    }

    /// Entities of one text.
    pub fn tag(&self, text: &str) -> Result<Vec<Entity>> {
        Ok(self.tag_batch(&[text])?.pop().unwrap_or_default())
    }

    /// Entities of several texts, run through the model together.
    pub fn tag_batch(&self, texts: &[&str]) -> Result<Vec<Vec<Entity>>> {
        Ok(self
            .tag_documents(texts)?
            .into_iter()
            .map(|d| d.entities)
            .collect())
    }

    /// Entities and labelled words of several texts.
    pub fn tag_documents(&self, texts: &[&str]) -> Result<Vec<Document>> {
        struct Prepared {
            norm: crate::text::normalize::Normalized,
            words: Vec<crate::text::words::Word>,
            /// Word ranges of the sentences.
            sentences: Vec<Range<usize>>,
        }
        let prepared: Vec<Prepared> = texts
            .iter()
            .map(|t| {
                let norm = normalize(t, &self.norm);
                let words = split_words(&norm.text);
                let mut sentences = Vec::new();
                let mut start = 0;
                for b in sentence_breaks(&norm.text, &words) {
                    if b + 1 > start && b < words.len() {
                        sentences.push(start..b + 1);
                        start = b + 1;
                    }
                }
                if start < words.len() {
                    sentences.push(start..words.len());
                }
                Prepared {
                    norm,
                    words,
                    sentences,
                }
            })
            .collect();
        let mut seqs: Vec<Vec<&str>> = Vec::new();
        for p in &prepared {
            for s in &p.sentences {
                seqs.push(
                    p.words[s.clone()]
                        .iter()
                        .map(|w| &p.norm.text[w.start..w.end])
                        .collect(),
                );
            }
        }
        let mut texts_sentences = Vec::with_capacity(prepared.len());
        let mut first = 0;
        for p in &prepared {
            texts_sentences.push(first..first + p.sentences.len());
            first += p.sentences.len();
        }
        let mut scores = self.score_sentences(&seqs, &texts_sentences)?;
        // Names propagate within a text, never from one text to another.
        for r in texts_sentences {
            self.propagate_names(&seqs[r.clone()], &mut scores[r]);
        }
        let mut scores = scores.into_iter();
        let mut docs = Vec::with_capacity(texts.len());
        for (text, p) in texts.iter().zip(&prepared) {
            let mut doc = Document::default();
            for s in &p.sentences {
                let sent_scores = scores.next().unwrap_or_default();
                let labels: Vec<&str> = sent_scores
                    .iter()
                    .map(|w| self.model.labels[w.label].as_str())
                    .collect();
                for (k, wi) in s.clone().enumerate() {
                    let w = p.words[wi];
                    let (bs, be) = p.norm.original_span(w.start, w.end);
                    doc.words.push(TaggedWord {
                        byte_start: bs,
                        byte_end: be,
                        label: labels[k].to_string(),
                        sentence_end: wi + 1 == s.end,
                    });
                }
                for span in spans(&labels) {
                    let first = p.words[s.start + span.start];
                    let last = p.words[s.start + span.end - 1];
                    let mut ns = first.start;
                    if self.opts.strip_clitics && self.model.config.arabic_ner.strip_clitics {
                        let k = leading_clitic_len(&p.norm.text[first.start..first.end]);
                        if k > 0 && first.start + k < first.end {
                            ns += k;
                        }
                    }
                    let (bs, be) = p.norm.original_span(ns, last.end);
                    if bs >= be {
                        continue;
                    }
                    let score = mean_prob(&sent_scores[span.start..span.end]);
                    let etext = &text[bs..be];
                    let country = match span.label.as_str() {
                        "LOC" | "GPE" => country_code(etext),
                        _ => None,
                    };
                    let date = match span.label.as_str() {
                        "DATE" => normalize_date(etext, self.opts.reference_date),
                        _ => None,
                    };
                    doc.entities.push(Entity {
                        label: span.label.clone(),
                        text: etext.to_string(),
                        start: 0,
                        end: 0,
                        byte_start: bs,
                        byte_end: be,
                        score,
                        country,
                        date,
                    });
                }
            }
            doc.entities.retain(|e| self.keep(e));
            fill_char_offsets(text, &mut doc.entities);
            docs.push(doc);
        }
        Ok(docs)
    }

    fn keep(&self, e: &Entity) -> bool {
        if e.score < self.opts.min_score {
            return false;
        }
        match &self.opts.labels {
            None => true,
            Some(set) => {
                set.contains(&e.label) || (e.country.is_some() && set.contains(COUNTRY_LABEL))
            }
        }
    }

    /// Labels of pre-split words, one list per sentence (for evaluation).
    /// Words are normalized here as in [`Tagger::tag`].
    pub fn label_words<S: AsRef<str>>(&self, sentences: &[Vec<S>]) -> Result<Vec<Vec<String>>> {
        let normed: Vec<Vec<String>> = sentences
            .iter()
            .map(|s| {
                s.iter()
                    .map(|w| normalize(w.as_ref(), &self.norm).text)
                    .collect()
            })
            .collect();
        let seqs: Vec<Vec<&str>> = normed
            .iter()
            .map(|s| s.iter().map(String::as_str).collect())
            .collect();
        // The sentences of a labelled file are read as one text.
        let whole = 0..seqs.len();
        let mut scores = self.score_sentences(&seqs, std::slice::from_ref(&whole))?;
        self.propagate_names(&seqs, &mut scores);
        Ok(scores
            .into_iter()
            .map(|s| {
                s.into_iter()
                    .map(|w| self.model.labels[w.label].clone())
                    .collect()
            })
            .collect())
    }

    fn max_pieces(&self) -> usize {
        let limit = self.model.max_pieces();
        self.opts.max_pieces.map_or(limit, |m| m.min(limit))
    }

    fn context_pieces(&self) -> usize {
        let n = self
            .opts
            .context_pieces
            .unwrap_or(self.model.config.arabic_ner.context_pieces);
        n.min(self.max_pieces())
    }

    /// Scores the words of sentences, each read with its neighbours in the
    /// same text when the model was trained that way: consecutive sentences
    /// run through the model together up to the context budget
    /// ([`sentence_runs`]). `texts` are the ranges of `seqs` that belong to
    /// one text; runs never cross them.
    pub fn score_sentences(
        &self,
        seqs: &[Vec<&str>],
        texts: &[Range<usize>],
    ) -> Result<Vec<Vec<WordScore>>> {
        self.score_in_runs(seqs, texts, self.context_pieces())
    }

    /// Scores every word of every sequence of normalized words, each
    /// sequence read alone.
    pub fn score_words(&self, seqs: &[Vec<&str>]) -> Result<Vec<Vec<WordScore>>> {
        let all = 0..seqs.len();
        self.score_in_runs(seqs, std::slice::from_ref(&all), 0)
    }

    /// Runs consecutive sentences of each text through the model together
    /// up to `budget` pieces, then decodes every sentence on its own:
    /// context changes what the model sees, never where an entity may end.
    fn score_in_runs(
        &self,
        seqs: &[Vec<&str>],
        texts: &[Range<usize>],
        budget: usize,
    ) -> Result<Vec<Vec<WordScore>>> {
        let tok = &self.model.tokenizer;
        let encs = seqs
            .iter()
            .map(|s| tok.encode_words(s))
            .collect::<Result<Vec<EncodedWords>>>()?;
        let mut runs = Vec::with_capacity(seqs.len());
        for t in texts {
            let pieces: Vec<usize> = encs[t.clone()].iter().map(|e| e.ids.len()).collect();
            runs.extend(
                sentence_runs(&pieces, budget)
                    .into_iter()
                    .map(|r| r.start + t.start..r.end + t.start),
            );
        }
        let joined: Vec<EncodedWords> = runs
            .iter()
            .map(|r| EncodedWords::concat(&encs[r.clone()]))
            .collect();
        let dists = self.word_distributions(&joined)?;
        let c = self.model.labels.len();
        let tags: Vec<&str> = self.model.labels.iter().map(String::as_str).collect();
        let mut out = Vec::with_capacity(seqs.len());
        for (run, dist) in runs.iter().zip(&dists) {
            let mut at = 0;
            for words in &seqs[run.clone()] {
                let end = at + words.len() * c;
                out.push(self.decode_words(words, &dist[at..end], &tags));
                at = end;
            }
        }
        Ok(out)
    }

    /// The label distribution of every word of every encoded sequence,
    /// `c` values a word, each from the window where the word has the most
    /// context.
    fn word_distributions(&self, encs: &[EncodedWords]) -> Result<Vec<Vec<f32>>> {
        let tok = &self.model.tokenizer;
        let max_pieces = self.max_pieces();
        let mut wins: Vec<Window> = Vec::new();
        for (si, enc) in encs.iter().enumerate() {
            for range in windows(enc, max_pieces, self.opts.stride) {
                let mut ids = Vec::with_capacity(max_pieces + 2);
                ids.push(tok.cls);
                let mut pieces = Vec::with_capacity(range.len());
                for wi in range.clone() {
                    let p = enc.word(wi);
                    let room = (max_pieces + 1).saturating_sub(ids.len()).max(1);
                    // A word longer than the window keeps its first pieces;
                    // a word past the budget still gets one piece.
                    let take = p.len().min(room);
                    let start = ids.len();
                    ids.extend_from_slice(&p[..take]);
                    pieces.push(start..ids.len());
                }
                ids.truncate(max_pieces + 1);
                for r in &mut pieces {
                    r.start = r.start.min(max_pieces);
                    r.end = r.end.clamp(r.start + 1, max_pieces + 1);
                }
                ids.push(tok.sep);
                wins.push(Window {
                    seq: si,
                    words: range,
                    ids,
                    pieces,
                });
            }
        }
        // Best window for each word: the one where it sits farthest from an
        // edge, so every word is labelled once with the most context. Each
        // word keeps its whole label distribution (`c` values) for decoding.
        let c = self.model.labels.len();
        let mut dists: Vec<Vec<f32>> = encs.iter().map(|e| vec![0f32; e.words() * c]).collect();
        let mut margins: Vec<Vec<Option<usize>>> =
            encs.iter().map(|e| vec![None; e.words()]).collect();
        let mut order: Vec<usize> = (0..wins.len()).collect();
        order.sort_by_key(|&i| (wins[i].ids.len(), i));
        // Batches of similar windows, capped in tokens so memory stays small
        // whatever the window size.
        let mut batches: Vec<&[usize]> = Vec::new();
        let (mut start, mut tokens) = (0, 0);
        for (k, &i) in order.iter().enumerate() {
            let len = wins[i].ids.len();
            let full = k - start >= self.opts.batch_size.max(1) || tokens + len > BATCH_TOKENS;
            if k > start && full {
                batches.push(&order[start..k]);
                (start, tokens) = (k, 0);
            }
            tokens += len;
        }
        if start < order.len() {
            batches.push(&order[start..]);
        }
        // With several batches, each thread runs whole batches of its own;
        // a lone batch gets every thread. Rounds keep results in order.
        let threads = rayon::current_num_threads().max(1);
        let (round, mode) = if threads > 1 && batches.len() > 1 {
            (threads, Threads::One)
        } else {
            (1, Threads::All)
        };
        for group in batches.chunks(round) {
            let results: Vec<Result<Vec<f32>>> = group
                .par_iter()
                .map(|chunk| {
                    let seqs_ids: Vec<&[u32]> =
                        chunk.iter().map(|&i| wins[i].ids.as_slice()).collect();
                    self.probabilities(&seqs_ids, mode)
                })
                .collect();
            for (chunk, flat) in group.iter().zip(results) {
                // Probabilities come packed: each window's tokens follow the last's.
                let flat = flat?;
                let mut row_start = 0;
                for &wi in chunk.iter() {
                    let w = &wins[wi];
                    let base = row_start;
                    row_start += w.ids.len();
                    let at = |pos: usize| &flat[(base + pos) * c..(base + pos + 1) * c];
                    for (k, word) in w.words.clone().enumerate() {
                        let margin = k.min(w.words.len() - 1 - k);
                        let slot = &mut margins[w.seq][word];
                        if slot.is_some_and(|m| m >= margin) {
                            continue;
                        }
                        *slot = Some(margin);
                        let dist = &mut dists[w.seq][word * c..(word + 1) * c];
                        aggregate(self.opts.aggregation, w.pieces[k].clone(), &at, dist);
                    }
                }
            }
        }
        Ok(dists)
    }

    /// Label probabilities of every token of the windows, packed as
    /// [`PackedBert::probabilities`]: the model's, or the mean over the
    /// ensemble.
    fn probabilities(&self, seqs: &[&[u32]], mode: Threads) -> Result<Vec<f32>> {
        let mut sum = self.model.net.probabilities(seqs, mode)?;
        for net in &self.members {
            for (s, p) in sum.iter_mut().zip(net.probabilities(seqs, mode)?) {
                *s += p;
            }
        }
        if !self.members.is_empty() {
            let scale = 1.0 / (self.members.len() + 1) as f32;
            sum.iter_mut().for_each(|s| *s *= scale);
        }
        Ok(sum)
    }

    /// The labels of one sentence's words from their label distributions
    /// (`c` values a word, in the order of `tags`, the model's labels):
    /// entity bias, Viterbi or argmax, then the organization adjectives and
    /// the date grammar.
    fn decode_words(&self, words: &[&str], d: &[f32], tags: &[&str]) -> Vec<WordScore> {
        let c = tags.len();
        let bias = self
            .opts
            .entity_bias
            .unwrap_or(self.model.config.arabic_ner.entity_bias);
        let rows: Vec<&[f32]> = d.chunks(c).collect();
        // exp(-bias) on O is exp(+bias) on every entity label, up to the
        // normalization that decoding does not need.
        let biased: Vec<f32>;
        let decode_rows: Vec<&[f32]> = match tags.iter().position(|t| *t == "O") {
            Some(o) if bias != 0.0 => {
                let outside_scale = (-bias).exp();
                biased = d
                    .iter()
                    .enumerate()
                    .map(|(i, &p)| if i % c == o { p * outside_scale } else { p })
                    .collect();
                biased.chunks(c).collect()
            }
            _ => rows.clone(),
        };
        let path = match self.opts.decoding {
            Decoding::Argmax => decode_rows.iter().copied().map(argmax).collect(),
            Decoding::Viterbi => best_path(&decode_rows, tags, self.scheme),
        };
        let mut scores: Vec<WordScore> = path
            .into_iter()
            .zip(&rows)
            .map(|(label, p)| WordScore {
                label,
                prob: p[label],
            })
            .collect();
        if self.opts.org_adjectives {
            if let Some(org) = self.org_labels {
                join_org_adjectives(words, &rows, &mut scores, org);
            }
        }
        if self.opts.date_grammar {
            self.complete_dates(words, &rows, &mut scores);
        }
        scores
    }
}

impl Tagger {
    /// Rewrites the `DATE` spans of one sentence's word labels with the date
    /// grammar; a model without `DATE` labels is left alone. A word moved
    /// between `O` and `DATE` scores the model's belief that it is one of
    /// the two (`rows` are the words' label distributions).
    fn complete_dates(&self, words: &[&str], rows: &[&[f32]], scores: &mut [WordScore]) {
        // `O` alone: the model has no DATE labels to write.
        if self.date_or_outside.len() < 2 {
            return;
        }
        let (dates, others): (Vec<Span>, Vec<Span>) = self
            .spans_of(scores)
            .into_iter()
            .partition(|s| s.label == "DATE");
        let model: Vec<Range<usize>> = dates.iter().map(|s| s.start..s.end).collect();
        let mut free = vec![true; words.len()];
        for s in &others {
            free[s.start..s.end.min(words.len())].fill(false);
        }
        let widened = complete_dates(words, &model, |i| free[i]);
        if widened == model {
            return;
        }
        let mut all = others;
        all.extend(
            widened
                .into_iter()
                .map(|r| Span::new("DATE", r.start, r.end)),
        );
        let Some(ids) = self.labels_of(&all, scores.len()) else {
            return;
        };
        for ((w, label), p) in scores.iter_mut().zip(ids).zip(rows) {
            if w.label != label {
                w.label = label;
                w.prob = self.date_or_outside.iter().map(|&l| p[l]).sum();
            }
        }
    }

    /// The spans of one sentence's word labels.
    fn spans_of(&self, scores: &[WordScore]) -> Vec<Span> {
        let labels = &self.model.labels;
        let tags: Vec<&str> = scores.iter().map(|w| labels[w.label].as_str()).collect();
        decode(&tags, self.scheme)
    }

    /// Label ids that write `spans` over `len` words; `None` when a tag
    /// needed is not one the model has (its labels are then kept).
    fn labels_of(&self, spans: &[Span], len: usize) -> Option<Vec<usize>> {
        let labels = &self.model.labels;
        encode(spans, len, self.scheme)
            .iter()
            .map(|t| labels.iter().position(|l| l == t))
            .collect()
    }

    /// Gives unlabelled repeats of names the model labelled nearby their
    /// label ([`repeated_names`]); `seqs` are the consecutive sentences of
    /// one text and `scores` their words' labels. A propagated word scores
    /// the mean of the mentions it repeats.
    fn propagate_names(&self, seqs: &[Vec<&str>], scores: &mut [Vec<WordScore>]) {
        if !self.opts.propagate_names {
            return;
        }
        let found: Vec<Vec<Mention>> = scores
            .iter()
            .map(|s| {
                self.spans_of(s)
                    .into_iter()
                    .map(|span| {
                        let score = mean_prob(&s[span.start..span.end]);
                        Mention { span, score }
                    })
                    .collect()
            })
            .collect();
        let added = repeated_names(seqs, &found);
        for ((s, found), new) in scores.iter_mut().zip(found).zip(added) {
            if new.is_empty() {
                continue;
            }
            // A new mention may take in a found one it touches.
            let all: Vec<Span> = found
                .into_iter()
                .filter(|f| {
                    !new.iter()
                        .any(|n| n.span.start < f.span.end && f.span.start < n.span.end)
                })
                .chain(new.iter().cloned())
                .map(|m| m.span)
                .collect();
            let Some(ids) = self.labels_of(&all, s.len()) else {
                continue;
            };
            for m in &new {
                for w in m.span.start..m.span.end {
                    s[w] = WordScore {
                        label: ids[w],
                        prob: m.score,
                    };
                }
            }
        }
    }
}

/// Gives `I-ORG` to each definite nisba adjective tagged `O` right after
/// an organization word when the model's `I-ORG` probability for it
/// reaches [`ORG_ADJECTIVE_MIN_PROB`]; a run of them joins one by one
/// (`الاتحاد الوطني الفلسطيني`). The joined word scores that probability.
fn join_org_adjectives(words: &[&str], rows: &[&[f32]], scores: &mut [WordScore], org: OrgLabels) {
    for k in 1..scores.len().min(words.len()) {
        let after_org = [org.begin, org.inside].contains(&scores[k - 1].label);
        let p = rows[k][org.inside];
        if after_org
            && scores[k].label == org.outside
            && p >= ORG_ADJECTIVE_MIN_PROB
            && is_definite_nisba(words[k])
        {
            scores[k] = WordScore {
                label: org.inside,
                prob: p,
            };
        }
    }
}

/// The score of a span: its words' mean probability.
fn mean_prob(words: &[WordScore]) -> f32 {
    words.iter().map(|w| w.prob).sum::<f32>() / words.len().max(1) as f32
}

/// A word's label distribution from its pieces' probabilities, into `out`.
fn aggregate<'a>(
    how: Aggregation,
    pieces: Range<usize>,
    at: &dyn Fn(usize) -> &'a [f32],
    out: &mut [f32],
) {
    match how {
        Aggregation::First => out.copy_from_slice(at(pieces.start)),
        Aggregation::Average => {
            out.fill(0.0);
            let n = pieces.len().max(1) as f32;
            for pos in pieces {
                for (m, p) in out.iter_mut().zip(at(pos)) {
                    *m += p / n;
                }
            }
        }
        Aggregation::Max => {
            // The distribution of the piece whose top label is most certain.
            let mut best: Option<(f32, usize)> = None;
            for pos in pieces {
                let p = at(pos);
                let top = p[argmax(p)];
                if best.is_none_or(|(b, _)| top > b) {
                    best = Some((top, pos));
                }
            }
            match best {
                Some((_, pos)) => out.copy_from_slice(at(pos)),
                None => out.fill(0.0),
            }
        }
    }
}

/// Sets character offsets from byte offsets in one pass over the text.
fn fill_char_offsets(text: &str, entities: &mut [Entity]) {
    let mut marks: Vec<(usize, usize, bool)> = Vec::with_capacity(entities.len() * 2);
    for (i, e) in entities.iter().enumerate() {
        marks.push((e.byte_start, i, true));
        marks.push((e.byte_end, i, false));
    }
    marks.sort_unstable();
    let (mut byte, mut chars) = (0usize, 0usize);
    for (b, i, is_start) in marks {
        chars += text[byte..b].chars().count();
        byte = b;
        if is_start {
            entities[i].start = chars;
        } else {
            entities[i].end = chars;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organizations_take_the_nisba_adjectives_after_them() {
        let org = OrgLabels {
            outside: 0,
            begin: 1,
            inside: 2,
        };
        // Probabilities of O, B-ORG, I-ORG for each word.
        let words = [
            "البنك",
            "المركزي",
            "الأردني",
            "الوطنية",
            "قال",
            "الأردني",
            "البنك",
            "العربي",
        ];
        let probs: [[f32; 3]; 8] = [
            [0.1, 0.8, 0.1],
            [0.1, 0.1, 0.8],
            [0.7, 0.0, 0.3],   // joins: 0.3 ≥ 0.1
            [0.8, 0.05, 0.15], // joins after the one before
            [0.9, 0.05, 0.05],
            [0.6, 0.0, 0.4], // after O: stays O
            [0.2, 0.7, 0.1],
            [0.95, 0.0, 0.05], // under the threshold
        ];
        let rows: Vec<&[f32]> = probs.iter().map(|r| r.as_slice()).collect();
        let mut scores: Vec<WordScore> = [1, 2, 0, 0, 0, 0, 1, 0]
            .iter()
            .zip(&probs)
            .map(|(&label, p)| WordScore {
                label,
                prob: p[label],
            })
            .collect();
        join_org_adjectives(&words, &rows, &mut scores, org);
        let labels: Vec<usize> = scores.iter().map(|w| w.label).collect();
        assert_eq!(labels, [1, 2, 2, 2, 0, 0, 1, 0]);
        assert_eq!(scores[2].prob, 0.3);
    }
}

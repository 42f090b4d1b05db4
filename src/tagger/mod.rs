//! From text to entities: normalization, words, windows, batches, word
//! labels from sub-token scores, BIO decoding, dates completed, names
//! propagated to their repeats, spans in the original text.

mod assemble;
mod dates;
mod decode;
mod options;
mod org_adjectives;
pub mod propagation;
mod runs;

pub use options::{
    check_threads, Aggregation, Decoding, TagOptions, TaggerBuilder, COUNTRY_LABEL, MAX_THREADS,
};
pub use org_adjectives::ORG_ADJECTIVE_MIN_PROB;

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use crate::entity::{Document, Entity};
use crate::error::{Error, Result};
use crate::model::packed::PackedBert;
use crate::model::tokenizer::EncodedWords;
use crate::model::{sentence_runs, NerModel};
use crate::scheme::{entity_types, Scheme};
use crate::text::normalize::{normalize, NormalizeOptions};
use crate::text::words::{sentence_breaks, split_words};
use org_adjectives::OrgLabels;

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
    pub fn with_model(mut model: NerModel, opts: TagOptions) -> Self {
        model.net.set_precision(opts.precision);
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
        let precision = tagger.opts.precision;
        tagger.members = members
            .into_iter()
            .map(|mut m| {
                m.net.set_precision(precision);
                m.net
            })
            .collect();
        Ok(tagger)
    }

    /// The checks of [`TaggerBuilder::build`] that need the model: the
    /// stride (when asked for) below the window, and `labels` among the
    /// model's types.
    fn check_model_options(&self, stride_set: bool) -> Result<()> {
        let window = self.max_pieces();
        if stride_set && self.opts.stride >= window {
            return Err(Error::Usage(format!(
                "--stride {} is not below the window of {window} pieces (--max-length, or the model's limit)",
                self.opts.stride
            )));
        }
        if let Some(wanted) = &self.opts.labels {
            let types = self.entity_types();
            let places = types.contains("LOC") || types.contains("GPE");
            let unknown: Vec<&str> = wanted
                .iter()
                .filter(|l| !(types.contains(*l) || (l.as_str() == COUNTRY_LABEL && places)))
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                let mut has: Vec<String> = types.into_iter().collect();
                if places {
                    has.push(COUNTRY_LABEL.to_string());
                }
                return Err(Error::Usage(format!(
                    "--labels: the model has no type {} (it has {})",
                    unknown.join(", "),
                    has.join(", ")
                )));
            }
        }
        Ok(())
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
        entity_types(&self.model.labels)
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
        Ok(texts
            .iter()
            .zip(&prepared)
            .map(|(text, p)| {
                let sentences: Vec<Vec<WordScore>> =
                    scores.by_ref().take(p.sentences.len()).collect();
                self.assemble(text, &p.norm, &p.words, &p.sentences, &sentences)
            })
            .collect())
    }

    /// Labels of pre-split words, one list per sentence (for evaluation),
    /// all sentences one text. Words are normalized here as in
    /// [`Tagger::tag`].
    pub fn label_words<S: AsRef<str>>(&self, sentences: &[Vec<S>]) -> Result<Vec<Vec<String>>> {
        let whole = 0..sentences.len();
        self.label_documents(sentences, std::slice::from_ref(&whole))
    }

    /// Labels of pre-split words, as [`Tagger::label_words`], with the
    /// sentences cut into documents (`documents` are consecutive ranges of
    /// `sentences`, as [`document_ranges`](crate::train::data::document_ranges)
    /// gives them): sentences are read with their neighbours, and names
    /// propagate, only within a document.
    pub fn label_documents<S: AsRef<str>>(
        &self,
        sentences: &[Vec<S>],
        documents: &[Range<usize>],
    ) -> Result<Vec<Vec<String>>> {
        let covered = documents
            .iter()
            .all(|d| d.start <= d.end && d.end <= sentences.len())
            && documents.windows(2).all(|p| p[0].end == p[1].start)
            && documents.first().is_none_or(|d| d.start == 0)
            && documents
                .last()
                .map_or(sentences.is_empty(), |d| d.end == sentences.len());
        if !covered {
            return Err(Error::Usage(
                "documents must be consecutive ranges covering every sentence".into(),
            ));
        }
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
        let mut scores = self.score_sentences(&seqs, documents)?;
        for d in documents {
            self.propagate_names(&seqs[d.clone()], &mut scores[d.clone()]);
        }
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
        self.opts.max_pieces.map_or(limit, |m| m.min(limit)).max(1)
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
}

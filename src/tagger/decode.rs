//! Decoding: a sentence's word labels from their label distributions
//! (entity bias, Viterbi or argmax), then the sentence-level passes
//! (organization adjectives, the date grammar).

use super::{Decoding, Tagger, WordScore};
use crate::scheme::{argmax, best_path, decode, encode, Span};

impl Tagger {
    /// The labels of one sentence's words from their label distributions
    /// (`c` values a word, in the order of `tags`, the model's labels):
    /// entity bias, Viterbi or argmax, then the organization adjectives and
    /// the date grammar.
    pub(super) fn decode_words(&self, words: &[&str], d: &[f32], tags: &[&str]) -> Vec<WordScore> {
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
                super::org_adjectives::join_org_adjectives(words, &rows, &mut scores, org);
            }
        }
        if self.opts.date_grammar {
            self.complete_dates(words, &rows, &mut scores);
        }
        scores
    }

    /// The spans of one sentence's word labels.
    pub(super) fn spans_of(&self, scores: &[WordScore]) -> Vec<Span> {
        let labels = &self.model.labels;
        let tags: Vec<&str> = scores.iter().map(|w| labels[w.label].as_str()).collect();
        decode(&tags, self.scheme)
    }

    /// Label ids that write `spans` over `len` words; `None` when a tag
    /// needed is not one the model has (its labels are then kept).
    pub(super) fn labels_of(&self, spans: &[Span], len: usize) -> Option<Vec<usize>> {
        let labels = &self.model.labels;
        encode(spans, len, self.scheme)
            .iter()
            .map(|t| labels.iter().position(|l| l == t))
            .collect()
    }
}

/// The score of a span: its words' mean probability.
pub(super) fn mean_prob(words: &[WordScore]) -> f32 {
    words.iter().map(|w| w.prob).sum::<f32>() / words.len().max(1) as f32
}

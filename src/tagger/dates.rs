//! The date grammar as a pass over one sentence's labels: `DATE` spans the
//! model cut short are widened, explicit dates it missed are added
//! ([`complete_dates`]).

use std::ops::Range;

use super::{Tagger, WordScore};
use crate::scheme::Span;
use crate::values::date::complete_dates;

impl Tagger {
    /// Rewrites the `DATE` spans of one sentence's word labels with the date
    /// grammar; a model without `DATE` labels is left alone. A word moved
    /// between `O` and `DATE` scores the model's belief that it is one of
    /// the two (`rows` are the words' label distributions).
    pub(super) fn complete_dates(&self, words: &[&str], rows: &[&[f32]], scores: &mut [WordScore]) {
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
}

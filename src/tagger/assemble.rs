//! Entities assembled from a sentence's labels: spans mapped back to the
//! original text, leading clitics left out, country codes and date values
//! added, options applied, character offsets filled.

use std::ops::Range;

use super::{Tagger, WordScore, COUNTRY_LABEL};
use crate::entity::{Document, Entity, TaggedWord};
use crate::scheme::spans;
use crate::text::clitics::leading_clitic_len;
use crate::text::normalize::Normalized;
use crate::text::words::Word;
use crate::values::{annotate, Context};

use super::decode::mean_prob;

impl Tagger {
    /// The document of one text from its sentences' word labels (`scores`,
    /// one list a sentence, in the order of `sentences`).
    pub(super) fn assemble(
        &self,
        text: &str,
        norm: &Normalized,
        words: &[Word],
        sentences: &[Range<usize>],
        scores: &[Vec<WordScore>],
    ) -> Document {
        let mut doc = Document::default();
        let values = Context {
            reference_date: self.opts.reference_date,
        };
        for (si, s) in sentences.iter().enumerate() {
            let sent_scores = scores.get(si).map(Vec::as_slice).unwrap_or_default();
            let labels: Vec<&str> = sent_scores
                .iter()
                .map(|w| self.model.labels[w.label].as_str())
                .collect();
            for (k, wi) in s.clone().enumerate() {
                let w = words[wi];
                let (bs, be) = norm.original_span(w.start, w.end);
                doc.words.push(TaggedWord {
                    byte_start: bs,
                    byte_end: be,
                    label: labels[k].to_string(),
                    sentence_end: wi + 1 == s.end,
                });
            }
            for span in spans(&labels) {
                let first = words[s.start + span.start];
                let last = words[s.start + span.end - 1];
                let mut ns = first.start;
                if self.opts.strip_clitics && self.model.config.arabic_ner.strip_clitics {
                    let k = leading_clitic_len(&norm.text[first.start..first.end]);
                    if k > 0 && first.start + k < first.end {
                        ns += k;
                    }
                }
                let (bs, be) = norm.original_span(ns, last.end);
                if bs >= be {
                    continue;
                }
                let score = mean_prob(&sent_scores[span.start..span.end]);
                let mut entity = Entity {
                    label: span.label.clone(),
                    text: text[bs..be].to_string(),
                    start: 0,
                    end: 0,
                    byte_start: bs,
                    byte_end: be,
                    score,
                    country: None,
                    date: None,
                };
                annotate(&mut entity, &values);
                doc.entities.push(entity);
            }
        }
        doc.entities.retain(|e| self.keep(e));
        fill_char_offsets(text, &mut doc.entities);
        doc
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

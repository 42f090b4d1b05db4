//! Model runs: sentences cut into windows, windows packed into batches
//! run on the worker threads, and each word's label distribution read from
//! the window where it has the most context.

use std::ops::Range;

use rayon::prelude::*;

use super::{Aggregation, Tagger};
use crate::error::Result;
use crate::model::packed::Threads;
use crate::model::tokenizer::EncodedWords;
use crate::model::{window_input, windows, WindowInput};
use crate::scheme::argmax;

/// Most tokens in one batch (a longer window makes a batch of its own).
/// Small batches keep a layer's activations (about 4 MB for 256 tokens of
/// the default model, most of it the intermediate layer) in the core's
/// cache from one product to the next: with int8 products the encoder is
/// bound by memory traffic, and batches of 256 tokens tag the ANERcorp test
/// set 1.3x faster than batches of 2,048.
const BATCH_TOKENS: usize = 256;

/// A window of a sequence: word range and its model input.
struct Window {
    seq: usize,
    words: Range<usize>,
    ids: Vec<u32>,
    /// For each word of the window, its pieces' positions in `ids`.
    pieces: Vec<Range<usize>>,
}

impl Tagger {
    /// The label distribution of every word of every encoded sequence,
    /// `c` values a word, each from the window where the word has the most
    /// context.
    pub(super) fn word_distributions(&self, encs: &[EncodedWords]) -> Result<Vec<Vec<f32>>> {
        let tok = &self.model.tokenizer;
        let max_pieces = self.max_pieces();
        let mut wins: Vec<Window> = Vec::new();
        for (si, enc) in encs.iter().enumerate() {
            for range in windows(enc, max_pieces, self.opts.stride) {
                let WindowInput { ids, pieces } =
                    window_input(enc, range.clone(), max_pieces, tok.cls, tok.sep);
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

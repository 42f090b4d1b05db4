//! Entity-level precision, recall and F1, computed exactly as seqeval's
//! default `classification_report` / `f1_score` (non-strict mode), which is
//! how published Arabic NER results are scored.
//!
//! An entity counts as correct only when its type, first and last token all
//! match a gold entity. Entities are found with [`crate::scheme::spans`], so
//! gold and predictions may use BIO, IOB1 or IOBES.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::scheme::spans;

/// Precision, recall, F1 and support (number of gold entities) for one
/// entity type or one average.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Prf {
    /// Correct predicted entities / predicted entities (0 when none predicted).
    pub precision: f64,
    /// Correct predicted entities / gold entities (0 when there are none).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Number of gold entities.
    pub support: usize,
}

impl Prf {
    /// Scores from counts, with seqeval's `zero_division="warn"` behaviour: an
    /// undefined ratio is 0, never NaN.
    pub fn from_counts(correct: usize, predicted: usize, gold: usize) -> Self {
        let precision = ratio(correct, predicted);
        let recall = ratio(correct, gold);
        Prf {
            precision,
            recall,
            f1: harmonic(precision, recall),
            support: gold,
        }
    }
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// F1 from precision and recall, in the same floating-point order as
/// seqeval (`2 * p * r / (p + r)`) so that results agree to the last bit.
fn harmonic(p: f64, r: f64) -> f64 {
    let den = p + r;
    if den == 0.0 {
        0.0
    } else {
        2.0 * p * r / den
    }
}

/// Entity counts behind one row of [`Scores`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Predicted entities that exactly match a gold entity.
    pub correct: usize,
    /// Predicted entities.
    pub predicted: usize,
    /// Gold entities.
    pub gold: usize,
}

/// A full evaluation: one row per entity type plus three averages, as in
/// seqeval's `classification_report`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Scores {
    /// Per entity type, over every type seen in gold or predictions.
    pub per_type: BTreeMap<String, Prf>,
    /// Entity counts per type (what `per_type` is computed from).
    pub counts: BTreeMap<String, Counts>,
    /// Micro average: from counts pooled over all types. This is "the" F1
    /// that papers report.
    pub micro: Prf,
    /// Unweighted mean of the per-type figures (0 when there are no types,
    /// where seqeval would give NaN).
    pub macro_avg: Prf,
    /// Mean of the per-type figures weighted by support.
    pub weighted_avg: Prf,
}

/// Gold and predicted tags do not line up, so they cannot be scored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LengthMismatch {
    /// Different numbers of sentences.
    #[error("{gold} gold sentences but {pred} predicted")]
    Sentences {
        /// Gold sentence count.
        gold: usize,
        /// Predicted sentence count.
        pred: usize,
    },
    /// One sentence has a different number of tags on each side.
    #[error("sentence {index}: {gold} gold tags but {pred} predicted")]
    Tags {
        /// 0-based sentence index.
        index: usize,
        /// Gold tag count.
        gold: usize,
        /// Predicted tag count.
        pred: usize,
    },
}

/// Scores predictions against gold, like seqeval's `classification_report`.
///
/// Sentences are paired by position. Where a prediction is missing or has
/// the wrong length (seqeval raises an error there), it is padded with `O`
/// or cut to the gold length; use [`try_score`] to have that reported.
pub fn score<S: AsRef<str>>(gold: &[Vec<S>], pred: &[Vec<S>]) -> Scores {
    let lens: Vec<usize> = gold.iter().map(Vec::len).collect();
    let gold_spans = entity_sets(&flatten(gold, &lens));
    let pred_spans = entity_sets(&flatten(pred, &lens));

    let types: BTreeSet<&String> = gold_spans.keys().chain(pred_spans.keys()).collect();
    let empty = BTreeSet::new();
    let mut scores = Scores::default();
    for ty in types {
        let g = gold_spans.get(ty).unwrap_or(&empty);
        let p = pred_spans.get(ty).unwrap_or(&empty);
        let c = Counts {
            correct: g.intersection(p).count(),
            predicted: p.len(),
            gold: g.len(),
        };
        scores.counts.insert(ty.clone(), c);
        scores
            .per_type
            .insert(ty.clone(), Prf::from_counts(c.correct, c.predicted, c.gold));
    }

    let total = scores
        .counts
        .values()
        .fold(Counts::default(), |a, c| Counts {
            correct: a.correct + c.correct,
            predicted: a.predicted + c.predicted,
            gold: a.gold + c.gold,
        });
    scores.micro = Prf::from_counts(total.correct, total.predicted, total.gold);
    scores.macro_avg = macro_average(&scores.per_type, total.gold);
    scores.weighted_avg = weighted_average(&scores.per_type, total.gold);
    scores
}

/// Like [`score`], but refuses gold and predictions whose sentence counts
/// or lengths differ, as seqeval does.
pub fn try_score<S: AsRef<str>>(
    gold: &[Vec<S>],
    pred: &[Vec<S>],
) -> Result<Scores, LengthMismatch> {
    if gold.len() != pred.len() {
        return Err(LengthMismatch::Sentences {
            gold: gold.len(),
            pred: pred.len(),
        });
    }
    for (index, (g, p)) in gold.iter().zip(pred).enumerate() {
        if g.len() != p.len() {
            return Err(LengthMismatch::Tags {
                index,
                gold: g.len(),
                pred: p.len(),
            });
        }
    }
    Ok(score(gold, pred))
}

/// `tags` with every entity of a type outside `types` turned to `O`: a
/// corpus is scored over the types it labels, so predictions of a type it
/// never labels (dates in a corpus without dates) are not counted wrong.
pub fn keep_types<S: AsRef<str>>(tags: &[S], types: &BTreeSet<String>) -> Vec<String> {
    tags.iter()
        .map(|t| {
            let t = t.as_ref();
            match t.split_once('-') {
                Some((_, ty)) if !types.contains(ty) => "O".to_string(),
                _ => t.to_string(),
            }
        })
        .collect()
}

pub use crate::scheme::entity_types;

/// Joins sentences the way seqeval does, with an `O` after each, so that
/// span offsets are global and no entity runs across a sentence boundary.
/// Sentence `i` contributes exactly `lens[i]` tags (padding with `O`).
fn flatten<'a, S: AsRef<str>>(seqs: &'a [Vec<S>], lens: &[usize]) -> Vec<&'a str> {
    let mut out = Vec::with_capacity(lens.iter().map(|l| l + 1).sum());
    for (i, &len) in lens.iter().enumerate() {
        let seq = seqs.get(i).map(Vec::as_slice).unwrap_or(&[]);
        out.extend((0..len).map(|j| seq.get(j).map_or("O", AsRef::as_ref)));
        out.push("O");
    }
    out
}

/// Entities grouped by type as sets of `(start, end)`, as seqeval keeps them.
fn entity_sets(tags: &[&str]) -> BTreeMap<String, BTreeSet<(usize, usize)>> {
    let mut map: BTreeMap<String, BTreeSet<(usize, usize)>> = BTreeMap::new();
    for s in spans(tags) {
        map.entry(s.label).or_default().insert((s.start, s.end));
    }
    map
}

fn macro_average(per_type: &BTreeMap<String, Prf>, support: usize) -> Prf {
    let n = per_type.len();
    if n == 0 {
        return Prf::default();
    }
    let mean = |f: fn(&Prf) -> f64| per_type.values().map(f).sum::<f64>() / n as f64;
    Prf {
        precision: mean(|p| p.precision),
        recall: mean(|p| p.recall),
        f1: mean(|p| p.f1),
        support,
    }
}

fn weighted_average(per_type: &BTreeMap<String, Prf>, support: usize) -> Prf {
    // seqeval returns zeros when no gold entity exists at all.
    if support == 0 {
        return Prf::default();
    }
    let total = support as f64;
    let mean = |f: fn(&Prf) -> f64| {
        per_type
            .values()
            .map(|p| f(p) * p.support as f64)
            .sum::<f64>()
            / total
    };
    Prf {
        precision: mean(|p| p.precision),
        recall: mean(|p| p.recall),
        f1: mean(|p| p.f1),
        support,
    }
}

impl fmt::Display for Scores {
    /// A table laid out like seqeval's `classification_report`. Figures have
    /// 4 decimals unless a precision is given: `format!("{scores:.2}")`
    /// reproduces seqeval's default output character for character.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = f.precision().unwrap_or(4);
        let name_width = self
            .per_type
            .keys()
            .map(|k| k.chars().count())
            .max()
            .unwrap_or(0);
        let width = name_width.max("weighted avg".len()).max(digits);
        writeln!(
            f,
            "{:>width$}  {:>9} {:>9} {:>9} {:>9}",
            "", "precision", "recall", "f1-score", "support"
        )?;
        writeln!(f)?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, p: &Prf| {
            writeln!(
                f,
                "{name:>width$}  {:>9.digits$} {:>9.digits$} {:>9.digits$} {:>9}",
                p.precision, p.recall, p.f1, p.support
            )
        };
        for (name, p) in &self.per_type {
            row(f, name, p)?;
        }
        writeln!(f)?;
        row(f, "micro avg", &self.micro)?;
        row(f, "macro avg", &self.macro_avg)?;
        row(f, "weighted avg", &self.weighted_avg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sents(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(|t| t.to_string()).collect())
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    fn assert_prf(p: &Prf, precision: f64, recall: f64, f1: f64, support: usize) {
        assert!(
            close(p.precision, precision) && close(p.recall, recall) && close(p.f1, f1),
            "got {p:?}, want P={precision} R={recall} F={f1}"
        );
        assert_eq!(p.support, support);
    }

    /// seqeval's own docstring example (classification_report):
    /// MISC 0/1, PER 1/1; micro/macro/weighted all 0.5.
    #[test]
    fn seqeval_docstring_example() {
        let gold = sents(&[
            &["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"],
            &["B-PER", "I-PER", "O"],
        ]);
        let pred = sents(&[
            &["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"],
            &["B-PER", "I-PER", "O"],
        ]);
        let s = score(&gold, &pred);
        assert_prf(&s.per_type["MISC"], 0.0, 0.0, 0.0, 1);
        assert_prf(&s.per_type["PER"], 1.0, 1.0, 1.0, 1);
        assert_prf(&s.micro, 0.5, 0.5, 0.5, 2);
        assert_prf(&s.macro_avg, 0.5, 0.5, 0.5, 2);
        assert_prf(&s.weighted_avg, 0.5, 0.5, 0.5, 2);
    }

    /// seqeval's f1_score docstring: micro 2/3, macro 0.75.
    #[test]
    fn seqeval_f1_docstring_example() {
        let gold = sents(&[
            &["O", "O", "B-MISC", "I-MISC", "B-MISC", "O", "O"],
            &["B-PER", "I-PER", "O"],
        ]);
        let pred = sents(&[
            &["O", "O", "B-MISC", "I-MISC", "B-MISC", "I-MISC", "O"],
            &["B-PER", "I-PER", "O"],
        ]);
        let s = score(&gold, &pred);
        assert!(close(s.micro.f1, 2.0 / 3.0));
        assert!(close(s.macro_avg.f1, 0.75));
        assert!(close(s.weighted_avg.f1, 2.0 / 3.0));
    }

    #[test]
    fn i_without_b_matches_b_i() {
        // Gold B-I, prediction I-I: the same entity under lenient reading.
        let gold = sents(&[&["B-LOC", "I-LOC", "O"]]);
        let pred = sents(&[&["I-LOC", "I-LOC", "O"]]);
        assert_prf(&score(&gold, &pred).micro, 1.0, 1.0, 1.0, 1);
    }

    #[test]
    fn type_change_inside_span_splits_it() {
        // Pred: PER(0..1) + LOC(1..3); gold: PER(0..3). Nothing matches.
        // Per type: PER P=0/1 R=0/1; LOC P=0/1, support 0.
        let gold = sents(&[&["B-PER", "I-PER", "I-PER"]]);
        let pred = sents(&[&["B-PER", "I-LOC", "I-LOC"]]);
        let s = score(&gold, &pred);
        assert_eq!(
            s.counts["LOC"],
            Counts {
                correct: 0,
                predicted: 1,
                gold: 0
            }
        );
        assert_prf(&s.per_type["LOC"], 0.0, 0.0, 0.0, 0);
        assert_prf(&s.per_type["PER"], 0.0, 0.0, 0.0, 1);
        assert_prf(&s.micro, 0.0, 0.0, 0.0, 1);
    }

    #[test]
    fn spans_at_sentence_end_and_start() {
        // Entities touching the sentence edges, in consecutive sentences:
        // the boundary must close them so that they do not merge.
        let gold = sents(&[&["O", "B-PER", "I-PER"], &["I-PER", "O"], &["B-ORG"]]);
        let pred = sents(&[&["O", "B-PER", "I-PER"], &["B-PER", "O"], &["O"]]);
        let s = score(&gold, &pred);
        // PER: 2 gold, 2 predicted, 2 correct. ORG: 1 gold, missed.
        assert_prf(&s.per_type["PER"], 1.0, 1.0, 1.0, 2);
        assert_prf(&s.per_type["ORG"], 0.0, 0.0, 0.0, 1);
        // micro P = 2/2, R = 2/3, F = 0.8
        assert_prf(&s.micro, 1.0, 2.0 / 3.0, 0.8, 3);
        // macro: mean of (1,0), (1,0), (1,0)
        assert_prf(&s.macro_avg, 0.5, 0.5, 0.5, 3);
        // weighted by support 2 (PER) and 1 (ORG)
        assert_prf(&s.weighted_avg, 2.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0, 3);
    }

    #[test]
    fn empty_predictions_give_zero_not_nan() {
        let gold = sents(&[&["B-PER", "O", "B-LOC"]]);
        let pred = sents(&[&["O", "O", "O"]]);
        let s = score(&gold, &pred);
        assert_prf(&s.micro, 0.0, 0.0, 0.0, 2);
        assert_prf(&s.macro_avg, 0.0, 0.0, 0.0, 2);
        assert_prf(&s.weighted_avg, 0.0, 0.0, 0.0, 2);
        for p in s.per_type.values() {
            assert!(!p.precision.is_nan() && !p.f1.is_nan());
        }
    }

    #[test]
    fn nothing_at_all() {
        let none: Vec<Vec<String>> = vec![vec!["O".into()]];
        let s = score(&none, &none);
        assert!(s.per_type.is_empty());
        assert_prf(&s.micro, 0.0, 0.0, 0.0, 0);
        assert_prf(&s.macro_avg, 0.0, 0.0, 0.0, 0);
        let s = score::<String>(&[], &[]);
        assert_prf(&s.weighted_avg, 0.0, 0.0, 0.0, 0);
    }

    #[test]
    fn only_false_positives() {
        let gold = sents(&[&["O", "O"]]);
        let pred = sents(&[&["B-PER", "O"]]);
        let s = score(&gold, &pred);
        assert_prf(&s.per_type["PER"], 0.0, 0.0, 0.0, 0);
        // No gold entity: weighted average is all zeros, as in seqeval.
        assert_prf(&s.weighted_avg, 0.0, 0.0, 0.0, 0);
    }

    #[test]
    fn iobes_input() {
        // Gold IOBES vs predicted BIO for the same entities, plus one miss.
        let gold = sents(&[&["S-PER", "B-LOC", "I-LOC", "E-LOC", "O", "S-ORG"]]);
        let pred = sents(&[&["B-PER", "B-LOC", "I-LOC", "I-LOC", "O", "O"]]);
        let s = score(&gold, &pred);
        assert_prf(&s.per_type["PER"], 1.0, 1.0, 1.0, 1);
        assert_prf(&s.per_type["LOC"], 1.0, 1.0, 1.0, 1);
        assert_prf(&s.per_type["ORG"], 0.0, 0.0, 0.0, 1);
        // P = 2/2, R = 2/3
        assert_prf(&s.micro, 1.0, 2.0 / 3.0, 0.8, 3);
        // IOBES: E- after E- opens a second entity.
        let gold = sents(&[&["B-PER", "E-PER", "E-PER"]]);
        let pred = sents(&[&["B-PER", "E-PER", "S-PER"]]);
        assert_prf(&score(&gold, &pred).micro, 1.0, 1.0, 1.0, 2);
    }

    #[test]
    fn boundary_shift_is_wrong() {
        let gold = sents(&[&["B-ORG", "I-ORG", "I-ORG", "O"]]);
        let pred = sents(&[&["B-ORG", "I-ORG", "O", "O"]]);
        assert_prf(&score(&gold, &pred).micro, 0.0, 0.0, 0.0, 1);
    }

    #[test]
    fn mismatched_lengths() {
        let gold = sents(&[&["B-PER", "I-PER"], &["B-LOC"]]);
        let short = sents(&[&["B-PER"]]);
        // Padded with O: the first sentence predicts PER(0..1) (wrong), the
        // second nothing.
        let s = score(&gold, &short);
        assert_eq!(s.counts["PER"].predicted, 1);
        assert_eq!(s.counts["PER"].correct, 0);
        assert_eq!(
            try_score(&gold, &short),
            Err(LengthMismatch::Sentences { gold: 2, pred: 1 })
        );
        let wrong = sents(&[&["B-PER"], &["B-LOC"]]);
        assert_eq!(
            try_score(&gold, &wrong).unwrap_err().to_string(),
            "sentence 0: 2 gold tags but 1 predicted"
        );
    }

    #[test]
    fn report_layout_matches_seqeval() {
        // Expected text is seqeval 1.2.2's classification_report output for
        // the docstring example (digits=2).
        let gold = sents(&[
            &["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"],
            &["B-PER", "I-PER", "O"],
        ]);
        let pred = sents(&[
            &["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"],
            &["B-PER", "I-PER", "O"],
        ]);
        let expected = "              precision    recall  f1-score   support\n\
                        \n\
                        \x20       MISC       0.00      0.00      0.00         1\n\
                        \x20        PER       1.00      1.00      1.00         1\n\
                        \n\
                        \x20  micro avg       0.50      0.50      0.50         2\n\
                        \x20  macro avg       0.50      0.50      0.50         2\n\
                        weighted avg       0.50      0.50      0.50         2\n";
        assert_eq!(format!("{:.2}", score(&gold, &pred)), expected);
        assert!(format!("{}", score(&gold, &pred)).contains("0.5000"));
    }

    /// Where the labelled corpora live: `$ARABIC_NER_DATA_DIR`, else
    /// `shared/data` beside the repository, else `/work/shared/data`.
    fn data_dir() -> Option<std::path::PathBuf> {
        let candidates = [
            std::env::var_os("ARABIC_NER_DATA_DIR").map(std::path::PathBuf::from),
            Some(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data")),
            Some(std::path::PathBuf::from("/work/shared/data")),
        ];
        candidates.into_iter().flatten().find(|d| d.is_dir())
    }

    /// A deterministic, varied corruption of gold BIO tags. Entities are
    /// numbered across the whole file, `k` = 1, 2, ...:
    /// * every 7th is dropped;
    /// * else every 5th gets the next type in (LOC, MISC, ORG, PERS);
    /// * else every 11th loses its last token (or, if one token long, grows
    ///   onto the next token when that is `O`);
    /// * else every 13th is written `I-` only (still correct when read
    ///   leniently);
    /// * else every 17th multi-token one has its last token retyped, which
    ///   splits it in two.
    ///
    /// Also every 150th `O` token (counted across the file) that follows an
    /// `O` or begins a sentence becomes `B-MISC`, a false positive.
    fn perturb(gold: &[Vec<String>]) -> Vec<Vec<String>> {
        const TYPES: [&str; 4] = ["LOC", "MISC", "ORG", "PERS"];
        let next_type = |t: &str| {
            let i = TYPES.iter().position(|x| *x == t).unwrap_or(0);
            TYPES[(i + 1) % TYPES.len()]
        };
        let mut k = 0usize;
        let mut o_count = 0usize;
        let mut out = Vec::with_capacity(gold.len());
        for sent in gold {
            let mut pred = vec!["O".to_string(); sent.len()];
            // spans() returns entities in order of position.
            for e in &spans(sent) {
                k += 1;
                let (start, mut end, mut label) = (e.start, e.end, e.label.as_str());
                let mut i_only = false;
                let mut split_last = false;
                if k.is_multiple_of(7) {
                    continue;
                } else if k.is_multiple_of(5) {
                    label = next_type(label);
                } else if k.is_multiple_of(11) {
                    if end - start > 1 {
                        end -= 1;
                    } else if end < sent.len() && sent[end] == "O" {
                        end += 1;
                    }
                } else if k.is_multiple_of(13) {
                    i_only = true;
                } else if k.is_multiple_of(17) && end - start > 1 {
                    split_last = true;
                }
                for (i, tag) in pred.iter_mut().enumerate().take(end).skip(start) {
                    let p = if i == start && !i_only { "B" } else { "I" };
                    let l = if split_last && i + 1 == end {
                        next_type(label)
                    } else {
                        label
                    };
                    *tag = format!("{p}-{l}");
                }
            }
            for i in 0..sent.len() {
                if sent[i] == "O" && pred[i] == "O" {
                    o_count += 1;
                    let after_o = i == 0 || (sent[i - 1] == "O" && pred[i - 1] == "O");
                    if o_count.is_multiple_of(150) && after_o {
                        pred[i] = "B-MISC".to_string();
                    }
                }
            }
            out.push(pred);
        }
        out
    }

    /// Rust scores on a perturbed ANERcorp test set equal seqeval's.
    ///
    /// The expected figures were produced by running this test with
    /// `ARABIC_NER_WRITE_PERTURBED=/tmp/anercorp-perturbed.txt`, which writes
    /// the `token gold pred` file, and then
    /// `python bench/seqeval_check.py /tmp/anercorp-perturbed.txt`
    /// (seqeval 1.2.2); see that script's docstring.
    #[test]
    fn anercorp_perturbed_matches_seqeval() {
        use crate::train::data::{read_conll, write_conll, LabelMap, ReadOptions};

        let Some(dir) = data_dir() else {
            eprintln!("skipped: no shared/data directory");
            return;
        };
        let path = dir.join("anercorp/test.txt");
        if !path.is_file() {
            eprintln!("skipped: {} is absent", path.display());
            return;
        }
        let opts = ReadOptions {
            scheme: None,
            map: LabelMap::default(),
        };
        let sentences = read_conll(&path, &opts).expect("read ANERcorp test");
        let gold: Vec<Vec<String>> = sentences.iter().map(|s| s.tags.clone()).collect();
        let pred = perturb(&gold);

        if let Some(out) = std::env::var_os("ARABIC_NER_WRITE_PERTURBED") {
            let mut file = std::fs::File::create(&out).expect("create perturbed file");
            write_conll(&mut file, &sentences, &pred).expect("write perturbed file");
        }

        let s = score(&gold, &pred);
        println!("{s}");
        // (type, precision, recall, f1, support) from seqeval 1.2.2.
        for (name, p, r, f, n) in SEQEVAL_FIGURES {
            let got = match name {
                "micro" => &s.micro,
                "macro" => &s.macro_avg,
                "weighted" => &s.weighted_avg,
                ty => &s.per_type[ty],
            };
            // Same operations in the same order as seqeval/numpy: the
            // figures agree to the last bit, not just approximately.
            assert_eq!(
                (got.precision, got.recall, got.f1, got.support),
                (p, r, f, n),
                "{name}"
            );
        }
        assert_eq!(s.per_type.len(), 4);
    }

    /// seqeval 1.2.2 on the perturbed ANERcorp test set, printed at full
    /// precision by `bench/seqeval_check.py` (command in
    /// [`anercorp_perturbed_matches_seqeval`]).
    const SEQEVAL_FIGURES: [(&str, f64, f64, f64, usize); 7] = [
        (
            "LOC",
            0.6655791190864601,
            0.6210045662100456,
            0.6425196850393701,
            657,
        ),
        (
            "MISC",
            0.37259615384615385,
            0.6567796610169492,
            0.4754601226993864,
            236,
        ),
        (
            "ORG",
            0.7877906976744186,
            0.6022222222222222,
            0.6826196473551638,
            450,
        ),
        (
            "PERS",
            0.7800289435600579,
            0.6069819819819819,
            0.6827105763141228,
            888,
        ),
        (
            "micro",
            0.6652131782945736,
            0.6154190945764231,
            0.639348079161816,
            2231,
        ),
        (
            "macro",
            0.6514987285417726,
            0.6217471078577997,
            0.6208275078520107,
            2231,
        ),
        (
            "weighted",
            0.7047914340575152,
            0.6154190945764231,
            0.6489331488591152,
            2231,
        ),
    ];
}

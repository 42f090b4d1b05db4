//! Repeated names: a name the model labels in some sentences gets the same
//! label where it comes back unlabelled nearby.
//!
//! The model reads one sentence at a time. A name it knows from a telling
//! context (`الرئيس حسني مبارك`) it may miss a few sentences later, where the
//! context says little (`وقال مبارك`). A sequence of words the model gave
//! the same type at least [`MIN_MENTIONS`] times within [`REACH`] sentences
//! is given that type where it appears with no label. A person named in
//! full (`يورغن كلوب`) counts as a mention of the family name too, which
//! news uses alone afterwards (`خطة كلوب`). A repeat may carry a leading
//! clitic the mentions lack (`وكلوب`). A mention whose words more mentions
//! nearby give another type takes that type: the model is more often right
//! about a name twice than once. Dates are left to the date grammar: a
//! repeated date is no name.

use std::collections::HashMap;

use super::decode::mean_prob;
use super::WordScore;
use crate::scheme::Span;
use crate::text::clitics::clitic_prefixes;

/// Sentences before and after a sentence whose mentions count for it.
pub const REACH: usize = 20;
/// Mentions of one type a name needs before it is propagated.
pub const MIN_MENTIONS: usize = 2;
/// Longest name propagated, in words.
const MAX_WORDS: usize = 4;
/// Shortest word a propagated name may have, in characters: short words
/// are too often particles or pieces of other names.
const MIN_CHARS: usize = 3;

/// Words before the last word of a name that make the two one given name
/// (عبد الله, أبو بكر), and last words that end such names: the last word
/// is then no family name.
const NAME_JOINERS: &[&str] = &[
    "عبد", "ابو", "أبو", "أبي", "ابي", "ابن", "بن", "بنت", "ام", "أم", "آل", "ذو",
];
const NAME_ENDINGS: &[&str] = &["الله", "الدين", "الرحمن", "الرحيم"];

/// A labelled mention: its type, where it is, and its score.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    pub span: Span,
    pub score: f32,
}

/// Mentions to add to each sentence, in text order: unlabelled repeats of
/// names labelled elsewhere nearby, and found mentions relabelled with the
/// type most mentions of their words give (they replace the found
/// mention). `found[i]` are the mentions of sentence `i`, which never
/// overlap. A new mention scores the mean of the mentions it repeats;
/// one that touches a found mention of its type takes it in (the model's
/// `[قيس] سعيد` becomes `[قيس سعيد]`), and overlaps no other.
pub fn repeated_names(sentences: &[Vec<&str>], found: &[Vec<Mention>]) -> Vec<Vec<Mention>> {
    // Each name's mentions: (sentence, type, score). Keyed by its words, so
    // looking a word sequence up allocates nothing.
    let mut names: HashMap<&[&str], Vec<(usize, &str, f32)>> = HashMap::new();
    for (si, (words, mentions)) in sentences.iter().zip(found).enumerate() {
        for m in mentions {
            let name = &words[m.span.start..m.span.end];
            if m.span.label == "DATE" {
                continue;
            }
            if propagable(name) {
                names
                    .entry(name)
                    .or_default()
                    .push((si, m.span.label.as_str(), m.score));
            }
            if let Some(surname) = family_name(&m.span.label, name) {
                names.entry(surname).or_default().push((si, "PER", m.score));
            }
        }
    }
    let mut added = vec![Vec::new(); sentences.len()];
    if names.is_empty() {
        return added;
    }
    for (si, words) in sentences.iter().enumerate() {
        let mut taken = vec![false; words.len()];
        for m in &found[si] {
            taken[m.span.start..m.span.end.min(words.len())].fill(true);
            if let Some(retyped) = majority_type(&names, words, m, si) {
                added[si].push(retyped);
            }
        }
        let mut i = 0;
        while i < words.len() {
            let longest = (1..=MAX_WORDS.min(words.len() - i)).rev().find_map(|n| {
                let r = i..i + n;
                if taken[r.clone()].iter().any(|&t| t) {
                    return None;
                }
                let (label, score) = mentioned(&names, &words[r.clone()], si)?;
                Some(Mention {
                    span: Span::new(label, r.start, r.end),
                    score,
                })
            });
            match longest {
                Some(mut m) => {
                    i = m.span.end;
                    for f in &found[si] {
                        if f.span.label == m.span.label {
                            if f.span.end == m.span.start {
                                m.span.start = f.span.start;
                            } else if f.span.start == m.span.end {
                                m.span.end = f.span.end;
                            }
                        }
                    }
                    added[si].push(m);
                }
                None => i += 1,
            }
        }
        added[si].sort_by_key(|m| m.span.start);
    }
    added
}

/// The mention `m` relabelled with the type more mentions of its words
/// within reach give it than give its own (at least [`MIN_MENTIONS`]), if
/// there is one: the model that calls `انرون` an organization twice and a
/// person once is right twice.
fn majority_type(
    names: &HashMap<&[&str], Vec<(usize, &str, f32)>>,
    words: &[&str],
    m: &Mention,
    si: usize,
) -> Option<Mention> {
    let types = nearby_types(names.get(&words[m.span.start..m.span.end])?, si);
    let &(label, count, total) = types.first()?;
    let own = types
        .iter()
        .find(|t| t.0 == m.span.label)
        .map_or(0, |t| t.1);
    (label != m.span.label && count >= MIN_MENTIONS && count > own).then(|| Mention {
        span: Span::new(label, m.span.start, m.span.end),
        score: total / count as f32,
    })
}

/// The type and score of the name `repeat` repeats, as written or behind
/// a leading clitic (وكلوب, لكلوب after كلوب): the whole word is labelled,
/// clitic included, as the corpora label it.
fn mentioned<'a>(
    names: &HashMap<&[&str], Vec<(usize, &'a str, f32)>>,
    repeat: &[&str],
    si: usize,
) -> Option<(&'a str, f32)> {
    // Candidates are at most MAX_WORDS long: the bare reading is built on
    // the stack, as this runs at every word of the text.
    let mut bare = [""; MAX_WORDS];
    let bare = bare.get_mut(..repeat.len())?;
    bare.copy_from_slice(repeat);
    let first = repeat[0];
    clitic_prefixes(first).into_iter().find_map(|p| {
        bare[0] = &first[p..];
        nearby_type(names.get(&*bare)?, si)
    })
}

/// Whether a name may be propagated: short enough, and no short word.
fn propagable(name: &[&str]) -> bool {
    name.len() <= MAX_WORDS && name.iter().all(|w| w.chars().count() >= MIN_CHARS)
}

/// The family name of a person named in full: the last word (as a
/// one-word name), unless it ends a compound given name.
fn family_name<'n, 'w>(label: &str, name: &'n [&'w str]) -> Option<&'n [&'w str]> {
    let [.., before, last] = name else {
        return None;
    };
    let surname = &name[name.len() - 1..];
    let compound = NAME_JOINERS.contains(before) || NAME_ENDINGS.contains(last);
    (label == "PER" && !compound && propagable(surname)).then_some(surname)
}

/// The type most mentions within reach of sentence `si` give a name, if
/// there are enough of them, and their mean score.
fn nearby_type<'a>(mentions: &[(usize, &'a str, f32)], si: usize) -> Option<(&'a str, f32)> {
    let &(label, count, total) = nearby_types(mentions, si).first()?;
    (count >= MIN_MENTIONS).then(|| (label, total / count as f32))
}

/// The types mentions within reach of sentence `si` give a name, with how
/// many give each and their summed score, most given first; ties go to the
/// type scored higher in all, then to the first in label order.
fn nearby_types<'a>(mentions: &[(usize, &'a str, f32)], si: usize) -> Vec<(&'a str, usize, f32)> {
    let mut by_type: Vec<(&str, usize, f32)> = Vec::new();
    for &(s, label, score) in mentions {
        if s.abs_diff(si) > REACH {
            continue;
        }
        match by_type.iter_mut().find(|(l, _, _)| *l == label) {
            Some(t) => {
                t.1 += 1;
                t.2 += score;
            }
            None => by_type.push((label, 1, score)),
        }
    }
    by_type.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.total_cmp(&a.2)).then(a.0.cmp(b.0)));
    by_type
}

impl super::Tagger {
    /// Gives unlabelled repeats of names the model labelled nearby their
    /// label ([`repeated_names`]); `seqs` are the consecutive sentences of
    /// one text and `scores` their words' labels. A propagated word scores
    /// the mean of the mentions it repeats.
    pub(super) fn propagate_names(&self, seqs: &[Vec<&str>], scores: &mut [Vec<WordScore>]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sentences(texts: &[&'static str]) -> Vec<Vec<&'static str>> {
        texts.iter().map(|t| t.split(' ').collect()).collect()
    }

    fn mention(label: &str, start: usize, end: usize) -> Mention {
        Mention {
            span: Span::new(label, start, end),
            score: 0.9,
        }
    }

    #[test]
    fn a_name_labelled_twice_is_labelled_where_it_comes_back() {
        let s = sentences(&[
            "قال الرئيس حسني مبارك",
            "وزار حسني مبارك القاهرة",
            "ثم قال حسني مبارك إن",
        ]);
        let found = vec![
            vec![mention("PER", 2, 4)],
            vec![mention("PER", 1, 3)],
            vec![],
        ];
        let added = repeated_names(&s, &found);
        assert_eq!(added[0], []);
        assert_eq!(added[1], []);
        assert_eq!(added[2], [mention("PER", 2, 4)]);
    }

    #[test]
    fn one_mention_is_not_enough() {
        let s = sentences(&["قال الرئيس حسني مبارك", "ثم قال حسني مبارك إن"]);
        let found = vec![vec![mention("PER", 2, 4)], vec![]];
        assert!(repeated_names(&s, &found).iter().all(Vec::is_empty));
    }

    #[test]
    fn mentions_out_of_reach_do_not_count() {
        let mut texts = vec!["زار مبارك القاهرة"; 2];
        texts.extend(vec!["كلام"; REACH + 1]);
        texts.push("قال مبارك");
        let s = sentences(&texts);
        let mut found = vec![vec![]; s.len()];
        found[0] = vec![mention("PER", 1, 2)];
        found[1] = vec![mention("PER", 1, 2)];
        let added = repeated_names(&s, &found);
        assert!(added.iter().all(Vec::is_empty));
    }

    #[test]
    fn labelled_words_dates_and_short_words_stay_as_they_are() {
        let s = sentences(&[
            "زار جون كيري لبنان في 2020",
            "وزار جون كيري لبنان في 2020",
            "قال جون كيري إن لبنان في 2020",
        ]);
        // "كيري" is part of a longer name in the last sentence; "في" is short.
        let twice = vec![
            mention("PER", 2, 3),
            mention("LOC", 3, 4),
            mention("DATE", 5, 6),
        ];
        let found = vec![twice.clone(), twice, vec![mention("PER", 1, 3)]];
        let added = repeated_names(&s, &found);
        assert_eq!(added[2], [mention("LOC", 4, 5)]);
    }

    #[test]
    fn a_family_name_repeats_a_full_name() {
        let s = sentences(&[
            "صرح المدرب يورغن كلوب",
            "وقال يورغن كلوب إن",
            "وأشاد الجمهور بخطة كلوب",
            "وقال عبد الله إن",
            "وقال عبد الله إن",
            "والحمد الله",
            "ويرى معارضو يورغن كلوب",
        ]);
        let found = vec![
            vec![mention("PER", 2, 4)],
            vec![mention("PER", 1, 3)],
            vec![],
            vec![mention("PER", 1, 3)],
            vec![mention("PER", 1, 3)],
            vec![],
            vec![mention("PER", 2, 3)],
        ];
        let added = repeated_names(&s, &found);
        assert_eq!(added[2], [mention("PER", 3, 4)]);
        // The model's "[يورغن] كلوب" becomes one name.
        assert_eq!(added[6], [mention("PER", 2, 4)]);
        // الله ends a given name, and is no family name.
        assert_eq!(added[5], []);
    }

    #[test]
    fn a_repeat_behind_a_clitic_is_labelled_whole() {
        let s = sentences(&[
            "صرح المدرب كلوب",
            "وقال كلوب إن",
            "وأشاد الجمهور وبكلوب",
            "وقال لاعب لكلوب",
            "وكلوب كلوب",
        ]);
        let found = vec![
            vec![mention("PER", 2, 3)],
            vec![mention("PER", 1, 2)],
            vec![],
            vec![],
            vec![],
        ];
        let added = repeated_names(&s, &found);
        assert_eq!(added[2], [mention("PER", 2, 3)]);
        assert_eq!(added[3], [mention("PER", 2, 3)]);
        // Each word is its own repeat: the clitic does not join them.
        assert_eq!(added[4], [mention("PER", 0, 1), mention("PER", 1, 2)]);
    }

    #[test]
    fn a_mention_takes_the_type_most_mentions_give() {
        let s = sentences(&[
            "أعلنت انرون إفلاسها",
            "وقالت انرون إن",
            "وخسر انرون أمواله",
            "وخسر موظفو انرون",
            "زار كوفي عنان",
        ]);
        let found = vec![
            vec![mention("ORG", 1, 2)],
            vec![mention("ORG", 1, 2)],
            vec![mention("PER", 1, 2)],
            vec![mention("PER", 2, 3)],
            vec![mention("PER", 1, 3)],
        ];
        let added = repeated_names(&s, &found);
        // Two against two: the mentions keep their types.
        assert!(added.iter().all(Vec::is_empty));
        let mut found = found;
        found[3] = vec![mention("ORG", 2, 3)];
        let added = repeated_names(&s, &found);
        let spans = |i: usize| added[i].iter().map(|m| m.span.clone()).collect::<Vec<_>>();
        assert_eq!(spans(2), [Span::new("ORG", 1, 2)]);
        assert_eq!(spans(3), []);
        assert!((added[2][0].score - 0.9).abs() < 1e-6);
    }

    #[test]
    fn the_type_most_mentions_give_wins() {
        let s = sentences(&["الأهلي فاز", "الأهلي فاز", "الأهلي خسر", "شجع الأهلي"]);
        let found = vec![
            vec![mention("ORG", 0, 1)],
            vec![mention("ORG", 0, 1)],
            vec![mention("LOC", 0, 1)],
            vec![],
        ];
        assert_eq!(repeated_names(&s, &found)[3], [mention("ORG", 1, 2)]);
    }
}

//! Tag schemes and span decoding, shared by the tagger, the data reader and
//! the metrics.
//!
//! Three schemes are supported:
//!
//! * **BIO** (a.k.a. IOB2): every entity starts with `B-`, continues with `I-`.
//! * **IOB1** (CoNLL-2003 original): entities start with `I-`; `B-` is only
//!   used when an entity directly follows another of the same type.
//! * **IOBES**: `B-` begin, `I-` inside, `E-` end, `S-` single-token entity.
//!
//! [`spans`] reads all three with exactly the chunking rules of seqeval's
//! default (non-strict, conlleval-compatible) mode, so that our metrics agree
//! with the figures published for Arabic NER. [`encode`] writes spans back as
//! tags in any scheme, and [`to_bio`] normalises tags to clean BIO.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A tagging scheme: how entity boundaries are written as per-token tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// `B-` starts every entity, `I-` continues it (also called IOB2).
    Bio,
    /// `I-` starts an entity; `B-` only separates two adjacent entities of
    /// the same type.
    Iob1,
    /// `B-`/`I-`/`E-` for multi-token entities, `S-` for single tokens.
    Iobes,
}

impl Scheme {
    /// All schemes, in a stable order (handy for CLI help and tests).
    pub const ALL: [Scheme; 3] = [Scheme::Bio, Scheme::Iob1, Scheme::Iobes];

    /// The scheme's lower-case name, as accepted by [`FromStr`].
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Bio => "bio",
            Scheme::Iob1 => "iob1",
            Scheme::Iobes => "iobes",
        }
    }

    /// Whether tags of this scheme may carry `prefix`.
    pub fn allows(self, prefix: Prefix) -> bool {
        match prefix {
            Prefix::B | Prefix::I | Prefix::O => true,
            Prefix::E | Prefix::S => self == Scheme::Iobes,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for a scheme name that is not `bio`, `iob1` or `iobes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tag scheme {0:?} (expected bio, iob1 or iobes)")]
pub struct UnknownScheme(pub String);

impl FromStr for Scheme {
    type Err = UnknownScheme;

    /// Case-insensitive; `iob2` is accepted as another name for BIO.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "bio" | "iob2" => Ok(Scheme::Bio),
            "iob1" => Ok(Scheme::Iob1),
            "iobes" => Ok(Scheme::Iobes),
            _ => Err(UnknownScheme(s.to_string())),
        }
    }
}

/// The position part of a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prefix {
    /// Beginning of an entity.
    B,
    /// Inside an entity.
    I,
    /// End of an entity (IOBES).
    E,
    /// Single-token entity (IOBES).
    S,
    /// Outside any entity.
    O,
}

impl Prefix {
    /// The prefix letter.
    pub fn as_char(self) -> char {
        match self {
            Prefix::B => 'B',
            Prefix::I => 'I',
            Prefix::E => 'E',
            Prefix::S => 'S',
            Prefix::O => 'O',
        }
    }
}

/// A validated tag: prefix plus entity type (`""` for `O`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag<'a> {
    /// Position of the token within its entity.
    pub prefix: Prefix,
    /// Entity type, e.g. `PER`; empty for [`Prefix::O`].
    pub label: &'a str,
}

/// Why a tag string could not be parsed by [`parse_tag`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    /// The tag is neither `O` nor starts with `B-`, `I-`, `E-` or `S-`.
    #[error("unknown tag prefix {0:?} (expected B-, I-, E-, S- or O)")]
    UnknownPrefix(String),
    /// The tag has a valid prefix but nothing after the dash.
    #[error("tag {0:?} has no entity type")]
    MissingType(String),
}

/// Parses a tag such as `B-PER`, `E-LOC` or `O`.
///
/// This is the strict reader used for input files: only `O` and
/// `B-`/`I-`/`E-`/`S-` followed by a non-empty type are accepted (seqeval
/// merely warns about anything else, see [`spans`]).
pub fn parse_tag(tag: &str) -> Result<Tag<'_>, TagError> {
    if tag == "O" {
        return Ok(Tag {
            prefix: Prefix::O,
            label: "",
        });
    }
    let prefix = match tag.as_bytes() {
        [b'B', b'-', ..] => Prefix::B,
        [b'I', b'-', ..] => Prefix::I,
        [b'E', b'-', ..] => Prefix::E,
        [b'S', b'-', ..] => Prefix::S,
        _ => return Err(TagError::UnknownPrefix(tag.to_string())),
    };
    // The first two bytes are ASCII, so slicing at 2 is on a char boundary.
    let label = &tag[2..];
    if label.is_empty() {
        return Err(TagError::MissingType(tag.to_string()));
    }
    Ok(Tag { prefix, label })
}

/// An entity: its type and token range `start..end` (end exclusive).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Span {
    /// Entity type, e.g. `PER`.
    pub label: String,
    /// Index of the first token.
    pub start: usize,
    /// Index one past the last token.
    pub end: usize,
}

impl Span {
    /// Builds a span over tokens `start..end`.
    pub fn new(label: impl Into<String>, start: usize, end: usize) -> Self {
        Span {
            label: label.into(),
            start,
            end,
        }
    }

    /// Number of tokens covered.
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// True for a span covering no token.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Splits a tag the way seqeval does: the first character is the position
/// letter, the type is whatever follows the first `-` after it (or all of the
/// rest when there is no dash), and an empty type reads as `_`.
fn seqeval_split(tag: &str) -> (char, &str) {
    let mut chars = tag.chars();
    // seqeval would crash on an empty tag; reading it as `O` is the only
    // sensible choice.
    let Some(first) = chars.next() else {
        return ('O', "_");
    };
    let rest = chars.as_str();
    let label = match rest.split_once('-') {
        Some((_, after)) => after,
        None => rest,
    };
    (first, if label.is_empty() { "_" } else { label })
}

/// seqeval's `end_of_chunk`: did a chunk end just before the current token?
fn ends_chunk(prev: char, cur: char, prev_label: &str, label: &str) -> bool {
    matches!(prev, 'E' | 'S')
        || (matches!(prev, 'B' | 'I') && matches!(cur, 'B' | 'S' | 'O'))
        || (prev != 'O' && prev != '.' && prev_label != label)
}

/// seqeval's `start_of_chunk`: does a chunk start at the current token?
fn starts_chunk(prev: char, cur: char, prev_label: &str, label: &str) -> bool {
    matches!(cur, 'B' | 'S')
        || (matches!(prev, 'E' | 'S' | 'O') && matches!(cur, 'E' | 'I'))
        || (cur != 'O' && cur != '.' && prev_label != label)
}

/// Decodes tags into entity spans with seqeval's default chunking.
///
/// Reads BIO, IOB1 and IOBES alike, as conlleval and seqeval (without
/// `mode="strict"`) do:
///
/// * `B-X` and `S-X` always start an entity; `I-X` or `E-X` start one after
///   `O`, after `E-`/`S-`, or after a token of another type;
/// * an entity ends before `B-`, `S-` or `O`, after `E-` or `S-`, and
///   wherever the type changes (`B-PER I-LOC` is two entities);
/// * the end of the sequence ends any open entity.
///
/// Malformed tags are read as seqeval reads them rather than rejected: the
/// first character is the position letter and the type follows the first
/// dash (`B` alone has type `_`). An empty string reads as `O`.
pub fn spans<S: AsRef<str>>(tags: &[S]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut prev = 'O';
    // seqeval starts with an empty previous type, distinct from `_`.
    let mut prev_label = "";
    let mut begin = 0;
    let trailing_o = std::iter::once("O");
    for (i, tag) in tags.iter().map(AsRef::as_ref).chain(trailing_o).enumerate() {
        let (cur, label) = seqeval_split(tag);
        if ends_chunk(prev, cur, prev_label, label) {
            out.push(Span::new(prev_label, begin, i));
        }
        if starts_chunk(prev, cur, prev_label, label) {
            begin = i;
        }
        prev = cur;
        prev_label = label;
    }
    out
}

/// Decodes tags written in `scheme` into spans.
///
/// Identical to [`spans`] for tags that belong to `scheme`. Under BIO and
/// IOB1, prefixes that only IOBES has are read as their nearest equivalent
/// there (`E-` as `I-`, `S-` as `B-`), so a stray `E-` does not cut an
/// entity in two.
pub fn decode<S: AsRef<str>>(tags: &[S], scheme: Scheme) -> Vec<Span> {
    if scheme == Scheme::Iobes {
        return spans(tags);
    }
    let read: Vec<Cow<'_, str>> = tags
        .iter()
        .map(|t| {
            let t = t.as_ref();
            match t.strip_prefix('E') {
                Some(rest) => Cow::Owned(format!("I{rest}")),
                None => match t.strip_prefix('S') {
                    Some(rest) => Cow::Owned(format!("B{rest}")),
                    None => Cow::Borrowed(t),
                },
            }
        })
        .collect();
    spans(&read)
}

/// May `next` follow `prev` (`None`: the sequence start) in well-formed
/// tags of `scheme`?
///
/// BIO: `I-X` only continues `B-X` or `I-X`. IOBES: `B-X` and `I-X` must be
/// followed by `I-X` or `E-X`, and nothing else may be. IOB1: `B-X` only
/// separates two entities of type X, so it follows `I-X` or `B-X`.
pub fn allowed(scheme: Scheme, prev: Option<Tag<'_>>, next: Tag<'_>) -> bool {
    let same = |p: &Tag<'_>| p.label == next.label;
    match scheme {
        Scheme::Bio => match next.prefix {
            Prefix::I | Prefix::E => {
                prev.is_some_and(|p| matches!(p.prefix, Prefix::B | Prefix::I) && same(&p))
            }
            _ => true,
        },
        Scheme::Iob1 => match next.prefix {
            Prefix::B => {
                prev.is_some_and(|p| matches!(p.prefix, Prefix::B | Prefix::I) && same(&p))
            }
            _ => true,
        },
        Scheme::Iobes => {
            let open = prev.filter(|p| matches!(p.prefix, Prefix::B | Prefix::I));
            match (open, next.prefix) {
                (Some(p), Prefix::I | Prefix::E) => same(&p),
                (Some(_), _) => false,
                (None, Prefix::I | Prefix::E) => false,
                (None, _) => true,
            }
        }
    }
}

/// May a sequence end on `last`? Only IOBES forbids an open `B-`/`I-`.
pub fn may_end(scheme: Scheme, last: Tag<'_>) -> bool {
    scheme != Scheme::Iobes || !matches!(last.prefix, Prefix::B | Prefix::I)
}

/// Index of the largest value (the first of equals; 0 for an empty slice).
pub fn argmax(p: &[f32]) -> usize {
    let mut best = 0;
    for i in 1..p.len() {
        if p[i] > p[best] {
            best = i;
        }
    }
    best
}

/// The most probable well-formed tag sequence (Viterbi).
///
/// `probs[t][k]` is the probability of tag `tags[k]` at position `t`. Paths
/// score by the sum of log-probabilities under the transitions [`allowed`]
/// permits; unparsable tags are never chosen. Where the argmax tags are
/// already well formed the result equals them. With no well-formed path at
/// all (no `O`-like tag in the set), each position keeps its argmax.
pub fn best_path<P: AsRef<[f32]>>(probs: &[P], tags: &[&str], scheme: Scheme) -> Vec<usize> {
    let n = tags.len();
    let parsed: Vec<Option<Tag<'_>>> = tags.iter().map(|t| parse_tag(t).ok()).collect();
    if probs.is_empty() || n == 0 {
        return probs.iter().map(|p| argmax(p.as_ref())).collect();
    }
    // Log-probabilities, floored so a zero probability is merely very bad.
    let lp = |p: &[f32], k: usize| p.get(k).map_or(f32::NEG_INFINITY, |&x| x.max(1e-30).ln());
    let mut score: Vec<f32> = (0..n)
        .map(|k| match parsed[k] {
            Some(t) if allowed(scheme, None, t) => lp(probs[0].as_ref(), k),
            _ => f32::NEG_INFINITY,
        })
        .collect();
    let mut back: Vec<Vec<usize>> = Vec::with_capacity(probs.len());
    let mut next_score = vec![f32::NEG_INFINITY; n];
    for p in &probs[1..] {
        let p = p.as_ref();
        let mut from = vec![0usize; n];
        for k in 0..n {
            next_score[k] = f32::NEG_INFINITY;
            let Some(t) = parsed[k] else { continue };
            for j in 0..n {
                let Some(prev) = parsed[j] else { continue };
                if score[j] > next_score[k] && allowed(scheme, Some(prev), t) {
                    next_score[k] = score[j];
                    from[k] = j;
                }
            }
            next_score[k] += lp(p, k);
        }
        std::mem::swap(&mut score, &mut next_score);
        back.push(from);
    }
    let last = (0..n)
        .filter(|&k| parsed[k].is_some_and(|t| may_end(scheme, t)))
        .max_by(|&a, &b| score[a].total_cmp(&score[b]));
    match last {
        Some(k) if score[k] > f32::NEG_INFINITY => {
            let mut path = vec![k];
            for from in back.iter().rev() {
                path.push(from[*path.last().unwrap_or(&0)]);
            }
            path.reverse();
            path
        }
        _ => probs.iter().map(|p| argmax(p.as_ref())).collect(),
    }
}

/// Converts tags written in `scheme` to clean BIO (every entity starts with
/// `B-`), keeping the entities that [`decode`] finds.
pub fn to_bio<S: AsRef<str>>(tags: &[S], scheme: Scheme) -> Vec<String> {
    encode(&decode(tags, scheme), tags.len(), Scheme::Bio)
}

/// Writes spans as `len` tags in `scheme`.
///
/// Spans are taken in order of their start. Ones that are empty, start at or
/// after `len`, or overlap a span already written are skipped (entities here
/// are flat); an end past `len` is clipped.
pub fn encode(spans: &[Span], len: usize, scheme: Scheme) -> Vec<String> {
    let mut tags = vec!["O".to_string(); len];
    let mut order: Vec<&Span> = spans.iter().collect();
    order.sort_by_key(|s| (s.start, s.end));
    // End and label of the last span written, to detect adjacency in IOB1.
    let mut last: Option<(usize, &str)> = None;
    for span in order {
        let end = span.end.min(len);
        if span.start >= end || last.is_some_and(|(last_end, _)| span.start < last_end) {
            continue;
        }
        let label = span.label.as_str();
        let first = match scheme {
            Scheme::Bio => 'B',
            Scheme::Iobes if end - span.start == 1 => 'S',
            Scheme::Iobes => 'B',
            Scheme::Iob1 => {
                let touches_same = last == Some((span.start, label));
                if touches_same {
                    'B'
                } else {
                    'I'
                }
            }
        };
        tags[span.start] = format!("{first}-{label}");
        for (i, tag) in tags.iter_mut().enumerate().take(end).skip(span.start + 1) {
            let p = if scheme == Scheme::Iobes && i + 1 == end {
                'E'
            } else {
                'I'
            };
            *tag = format!("{p}-{label}");
        }
        last = Some((end, label));
    }
    tags
}

/// Guesses the scheme of a corpus from its tags (one `Vec` per sentence).
///
/// * any `E-` or `S-` tag → IOBES;
/// * else, if some entity opens with `B-` (after `O`, at sentence start or
///   after another type) → BIO, even if a few open with `I-` (annotation
///   slips, read leniently anyway);
/// * else, if some entity opens with `I-` → IOB1 (its `B-` tags only ever
///   separate adjacent entities of one type);
/// * else (no entities) → BIO.
///
/// Tags are read like [`spans`] reads them. Because that reading is the same
/// for all three schemes, the guess never changes which spans are found; it
/// tells what the corpus uses.
pub fn detect_scheme<S: AsRef<str>>(sentences: &[Vec<S>]) -> Scheme {
    let mut b_opens = false;
    let mut i_opens = false;
    for sentence in sentences {
        let mut prev = ('O', "");
        for tag in sentence {
            let (p, label) = seqeval_split(tag.as_ref());
            match p {
                'E' | 'S' => return Scheme::Iobes,
                'B' | 'I' => {
                    let opens = prev.0 == 'O' || prev.1 != label;
                    if opens && p == 'B' {
                        b_opens = true;
                    } else if opens {
                        i_opens = true;
                    }
                }
                _ => {}
            }
            prev = (p, label);
        }
    }
    if !b_opens && i_opens {
        Scheme::Iob1
    } else {
        Scheme::Bio
    }
}

/// The entity types that `tags` name (`B-PER`, `I-PER` → `PER`).
pub fn entity_types<'a>(
    tags: impl IntoIterator<Item = &'a String>,
) -> std::collections::BTreeSet<String> {
    tags.into_iter()
        .filter_map(|t| t.split_once('-').map(|(_, ty)| ty.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIO_TAGS: [&str; 5] = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"];

    /// Is every transition of `path` one `scheme` allows?
    fn well_formed(path: &[usize], tags: &[&str], scheme: Scheme) -> bool {
        let parsed: Vec<Tag> = tags.iter().map(|t| parse_tag(t).unwrap()).collect();
        let mut prev = None;
        for &k in path {
            if !allowed(scheme, prev, parsed[k]) {
                return false;
            }
            prev = Some(parsed[k]);
        }
        prev.is_none_or(|t| may_end(scheme, t))
    }

    /// Log-probability of a path.
    fn path_score(probs: &[Vec<f32>], path: &[usize]) -> f32 {
        path.iter().zip(probs).map(|(&k, p)| p[k].ln()).sum()
    }

    #[test]
    fn best_path_keeps_well_formed_argmax() {
        let probs = vec![
            vec![0.1, 0.7, 0.1, 0.05, 0.05],
            vec![0.1, 0.1, 0.6, 0.1, 0.1],
            vec![0.8, 0.05, 0.05, 0.05, 0.05],
        ];
        assert_eq!(best_path(&probs, &BIO_TAGS, Scheme::Bio), [1, 2, 0]);
    }

    #[test]
    fn best_path_repairs_an_inside_tag_after_outside() {
        // Argmax says O I-PER I-PER: the I-PER that opens has to become
        // B-PER (its second choice), or the span disappears.
        let probs = vec![
            vec![0.9, 0.02, 0.04, 0.02, 0.02],
            vec![0.3, 0.25, 0.4, 0.02, 0.03],
            vec![0.1, 0.05, 0.8, 0.02, 0.03],
        ];
        assert_eq!(best_path(&probs, &BIO_TAGS, Scheme::Bio), [0, 1, 2]);
        // I-LOC after B-PER is not allowed either.
        let probs = vec![
            vec![0.05, 0.8, 0.05, 0.05, 0.05],
            vec![0.1, 0.05, 0.35, 0.05, 0.45],
        ];
        assert_eq!(best_path(&probs, &BIO_TAGS, Scheme::Bio), [1, 2]);
    }

    #[test]
    fn best_path_closes_iobes_entities() {
        let tags = ["O", "B-PER", "I-PER", "E-PER", "S-PER"];
        // Argmax B-PER B-PER: an IOBES path must end every entity it opens.
        let probs = vec![
            vec![0.05, 0.6, 0.05, 0.05, 0.25],
            vec![0.05, 0.5, 0.05, 0.35, 0.05],
        ];
        let path = best_path(&probs, &tags, Scheme::Iobes);
        assert_eq!(path, [1, 3]);
        assert!(well_formed(&path, &tags, Scheme::Iobes));
    }

    proptest::proptest! {
        /// The path is well formed and no well-formed path scores higher
        /// (checked against every path of short sequences).
        #[test]
        fn best_path_is_the_best_well_formed_path(
            raw in proptest::collection::vec(
                proptest::collection::vec(0.01f32..1.0, 5), 1..5),
            iobes in proptest::bool::ANY,
        ) {
            let (tags, scheme) = if iobes {
                (["O", "B-PER", "I-PER", "E-PER", "S-PER"], Scheme::Iobes)
            } else {
                (BIO_TAGS, Scheme::Bio)
            };
            let probs: Vec<Vec<f32>> = raw
                .iter()
                .map(|r| {
                    let t: f32 = r.iter().sum();
                    r.iter().map(|v| v / t).collect()
                })
                .collect();
            let path = best_path(&probs, &tags, scheme);
            proptest::prop_assert!(well_formed(&path, &tags, scheme));
            let best = path_score(&probs, &path);
            let n = probs.len() as u32;
            for code in 0..5usize.pow(n) {
                let other: Vec<usize> = (0..n).map(|i| code / 5usize.pow(i) % 5).collect();
                if well_formed(&other, &tags, scheme) {
                    proptest::prop_assert!(path_score(&probs, &other) <= best + 1e-4);
                }
            }
        }
    }

    /// Spans as seqeval reports them: (type, first, last) inclusive.
    fn inclusive(tags: &[&str]) -> Vec<(String, usize, usize)> {
        spans(tags)
            .into_iter()
            .map(|s| (s.label, s.start, s.end - 1))
            .collect()
    }

    fn v(items: &[(&str, usize, usize)]) -> Vec<(String, usize, usize)> {
        items
            .iter()
            .map(|&(l, a, b)| (l.to_string(), a, b))
            .collect()
    }

    #[test]
    fn scheme_names_round_trip() {
        for s in Scheme::ALL {
            assert_eq!(s.to_string().parse::<Scheme>(), Ok(s));
        }
        assert_eq!("IOBES".parse::<Scheme>(), Ok(Scheme::Iobes));
        assert_eq!("iob2".parse::<Scheme>(), Ok(Scheme::Bio));
        let err = "bilou".parse::<Scheme>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown tag scheme \"bilou\" (expected bio, iob1 or iobes)"
        );
    }

    #[test]
    fn parse_tag_accepts_and_rejects() {
        let t = parse_tag("B-PER").unwrap();
        assert_eq!((t.prefix, t.label), (Prefix::B, "PER"));
        let t = parse_tag("S-B-X").unwrap();
        assert_eq!((t.prefix, t.label), (Prefix::S, "B-X"));
        assert_eq!(parse_tag("O").unwrap().prefix, Prefix::O);
        let err = parse_tag("X-PER").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown tag prefix \"X-PER\" (expected B-, I-, E-, S- or O)"
        );
        assert!(matches!(
            parse_tag("b-PER"),
            Err(TagError::UnknownPrefix(_))
        ));
        assert!(matches!(
            parse_tag("O-PER"),
            Err(TagError::UnknownPrefix(_))
        ));
        assert!(matches!(parse_tag("B"), Err(TagError::UnknownPrefix(_))));
        assert!(matches!(parse_tag(""), Err(TagError::UnknownPrefix(_))));
        assert!(matches!(parse_tag("I-"), Err(TagError::MissingType(_))));
        // Multi-byte text right after a prefix letter must not panic.
        assert!(parse_tag("Bب").is_err());
    }

    #[test]
    fn bio_basics() {
        let tags = ["B-PER", "I-PER", "O", "B-LOC"];
        assert_eq!(inclusive(&tags), v(&[("PER", 0, 1), ("LOC", 3, 3)]));
        assert_eq!(spans(&tags)[0], Span::new("PER", 0, 2));
        assert!(spans::<&str>(&[]).is_empty());
        assert!(spans(&["O", "O"]).is_empty());
    }

    #[test]
    fn i_without_b_starts_an_entity() {
        assert_eq!(inclusive(&["I-PER", "I-PER", "O"]), v(&[("PER", 0, 1)]));
        assert_eq!(inclusive(&["O", "I-LOC"]), v(&[("LOC", 1, 1)]));
    }

    #[test]
    fn type_change_closes_and_opens() {
        assert_eq!(
            inclusive(&["B-PER", "I-LOC", "I-LOC"]),
            v(&[("PER", 0, 0), ("LOC", 1, 2)])
        );
        assert_eq!(
            inclusive(&["I-PER", "B-PER", "I-PER"]),
            v(&[("PER", 0, 0), ("PER", 1, 2)])
        );
    }

    #[test]
    fn iobes_rules() {
        let tags = ["S-PER", "B-LOC", "I-LOC", "E-LOC", "O", "B-ORG", "E-ORG"];
        assert_eq!(
            inclusive(&tags),
            v(&[("PER", 0, 0), ("LOC", 1, 3), ("ORG", 5, 6)])
        );
        // E- after E-/S- opens a new entity; I- after E- too.
        assert_eq!(
            inclusive(&["B-PER", "E-PER", "I-PER"]),
            v(&[("PER", 0, 1), ("PER", 2, 2)])
        );
        assert_eq!(
            inclusive(&["S-PER", "E-PER"]),
            v(&[("PER", 0, 0), ("PER", 1, 1)])
        );
        // B- without E- runs to the next boundary.
        assert_eq!(inclusive(&["B-PER", "I-PER", "O"]), v(&[("PER", 0, 1)]));
    }

    #[test]
    fn malformed_tags_read_like_seqeval() {
        // Figures from seqeval 1.2.2 get_entities on the same lists.
        assert_eq!(inclusive(&["B", "I", "O"]), v(&[("_", 0, 1)]));
        assert_eq!(inclusive(&["X-PER", "X-PER"]), v(&[("PER", 0, 1)]));
        assert_eq!(inclusive(&["O-PER", "I-PER"]), v(&[("PER", 1, 1)]));
        assert!(inclusive(&[".-PER", "O"]).is_empty());
        assert!(inclusive(&["B-PER", ".-PER", "O"]).is_empty());
        assert!(inclusive(&["X"]).is_empty());
        assert_eq!(inclusive(&["", "B-PER"]), v(&[("PER", 1, 1)]));
    }

    #[test]
    fn decode_reads_foreign_prefixes_per_scheme() {
        let tags = ["B-PER", "E-PER", "I-PER"];
        assert_eq!(decode(&tags, Scheme::Bio), vec![Span::new("PER", 0, 3)]);
        assert_eq!(decode(&tags, Scheme::Iobes), spans(&tags));
        assert_eq!(
            decode(&["S-LOC", "I-LOC"], Scheme::Iob1),
            vec![Span::new("LOC", 0, 2)]
        );
    }

    #[test]
    fn to_bio_from_each_scheme() {
        let bio = ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "O"];
        let iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "O"];
        let iobes = ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "O"];
        assert_eq!(to_bio(&iob1, Scheme::Iob1), bio);
        assert_eq!(to_bio(&iobes, Scheme::Iobes), bio);
        assert_eq!(to_bio(&bio, Scheme::Bio), bio);
    }

    #[test]
    fn encode_each_scheme() {
        let s = [
            Span::new("PER", 0, 2),
            Span::new("PER", 2, 3),
            Span::new("LOC", 4, 7),
        ];
        assert_eq!(
            encode(&s, 8, Scheme::Bio),
            ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "I-LOC", "I-LOC", "O"]
        );
        assert_eq!(
            encode(&s, 8, Scheme::Iob1),
            ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-LOC", "I-LOC", "O"]
        );
        assert_eq!(
            encode(&s, 8, Scheme::Iobes),
            ["B-PER", "E-PER", "S-PER", "O", "B-LOC", "I-LOC", "E-LOC", "O"]
        );
        for scheme in Scheme::ALL {
            assert_eq!(spans(&encode(&s, 8, scheme)), s, "{scheme}");
        }
    }

    #[test]
    fn encode_iob1_adjacent_other_type_uses_i() {
        let s = [Span::new("PER", 0, 1), Span::new("LOC", 1, 2)];
        assert_eq!(encode(&s, 2, Scheme::Iob1), ["I-PER", "I-LOC"]);
        assert_eq!(spans(&encode(&s, 2, Scheme::Iob1)), s);
    }

    #[test]
    fn encode_skips_bad_spans() {
        let s = [
            Span::new("LOC", 3, 9),
            Span::new("PER", 0, 2),
            Span::new("ORG", 1, 3),
            Span::new("MISC", 5, 5),
            Span::new("MISC", 7, 8),
        ];
        assert_eq!(
            encode(&s, 5, Scheme::Bio),
            ["B-PER", "I-PER", "O", "B-LOC", "I-LOC"]
        );
    }

    #[test]
    fn detect_schemes() {
        let bio = vec![vec!["B-PER", "I-PER", "O", "I-LOC"]];
        let iob1 = vec![vec!["I-PER", "B-PER", "O", "I-LOC"]];
        let iobes = vec![vec!["B-PER", "I-PER"], vec!["S-LOC"]];
        let none: Vec<Vec<&str>> = vec![vec!["O"]];
        assert_eq!(detect_scheme(&bio), Scheme::Bio);
        assert_eq!(detect_scheme(&iob1), Scheme::Iob1);
        assert_eq!(detect_scheme(&iobes), Scheme::Iobes);
        assert_eq!(detect_scheme(&none), Scheme::Bio);
    }
}

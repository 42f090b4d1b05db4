//! Reading and writing labelled data in CoNLL column format.
//!
//! One token a line, whitespace-separated columns (spaces or tabs): the word,
//! then its tag. Further tag columns (nested entities, as in Wojood) are
//! ignored, so only the outermost entity is kept. Blank lines separate
//! sentences. Lines whose first column is `$#$` are segment markers, not
//! words, and are skipped. A UTF-8 byte-order mark and CRLF line ends are
//! accepted.
//!
//! CoNLL-2003 files are read too: a `-DOCSTART-` line starts a document
//! (it is skipped, and ends the sentence before it), and the tag is the
//! **last** column (`word POS chunk NER`). A file is read that way when it
//! has a `-DOCSTART-` line or lines of three columns or more, and the
//! second column of none of these is a tag (it is a part of speech such as
//! `NNP`); otherwise the second column is the tag, as above. See
//! [`Layout`].
//!
//! Tags may be BIO, IOB1 or IOBES; they are decoded into entities, entity
//! types are renamed or dropped through a [`LabelMap`], and the result is
//! returned as clean BIO, which is what training and evaluation use.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::scheme::{decode, detect_scheme, encode, parse_tag, Scheme, Span, TagError};

/// One sentence: words and their BIO tags, same length, never empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sentence {
    /// The tokens, as written in the file.
    pub words: Vec<String>,
    /// One clean BIO tag per word, after label mapping.
    pub tags: Vec<String>,
    /// 1-based line of the first word in the source, for messages.
    pub line: usize,
    /// Words inside entities of a type mapped to [`UNLABELLED`], one flag a
    /// word; empty when there are none. Their tag is `O`, but the corpus
    /// does not say whether they are `O` under the model's labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unlabelled: Vec<bool>,
    /// The sentence opens a document (it follows a `-DOCSTART-` line):
    /// sentences are read together with their neighbours only within a
    /// document.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub doc_start: bool,
}

/// The ranges of `sentences` that form one document each: a new one at
/// every sentence marked [`Sentence::doc_start`]; a file without such marks
/// is one document.
pub fn document_ranges(sentences: &[Sentence]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, s) in sentences.iter().enumerate() {
        if s.doc_start && i > start {
            out.push(start..i);
            start = i;
        }
    }
    if start < sentences.len() {
        out.push(start..sentences.len());
    }
    out
}

/// The first column of a CoNLL-2003 document-start line.
pub const DOCSTART: &str = "-DOCSTART-";

/// Which column of a line holds its tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `word TAG [nested tags...]`: the second column (Wojood, ANERcorp).
    FirstTag,
    /// `word POS chunk TAG`: the last column (CoNLL-2003).
    LastTag,
}

impl Layout {
    /// The layout of a file: [`Layout::LastTag`] when it has a
    /// `-DOCSTART-` line or lines of three columns or more, and none of
    /// these has a tag in its second column (a part of speech is never `O`
    /// or `B-`/`I-` plus a type, while in a Wojood file nearly every
    /// line's second column is a tag); else [`Layout::FirstTag`].
    pub fn of(text: &str) -> Layout {
        let mut conll_2003 = false;
        for line in text.lines() {
            let mut cols = line.split_ascii_whitespace();
            match (cols.next(), cols.next(), cols.next()) {
                (Some(DOCSTART), _, _) => conll_2003 = true,
                (Some("$#$"), _, _) => {}
                (Some(_), Some(second), Some(_)) => {
                    if parse_tag(second).is_ok() {
                        return Layout::FirstTag;
                    }
                    conll_2003 = true;
                }
                _ => {}
            }
        }
        if conll_2003 {
            Layout::LastTag
        } else {
            Layout::FirstTag
        }
    }
}

impl Sentence {
    /// A sentence whose every word is labelled.
    pub fn new(words: Vec<String>, tags: Vec<String>, line: usize) -> Self {
        Sentence {
            words,
            tags,
            line,
            unlabelled: Vec::new(),
            doc_start: false,
        }
    }

    /// Consecutive sentences as one, read together (the line is the
    /// first's).
    pub fn join(sentences: &[Sentence]) -> Sentence {
        let mut out = Sentence::new(
            Vec::new(),
            Vec::new(),
            sentences.first().map_or(0, |s| s.line),
        );
        out.doc_start = sentences.first().is_some_and(|s| s.doc_start);
        let any_unlabelled = sentences.iter().any(|s| !s.unlabelled.is_empty());
        for s in sentences {
            out.words.extend(s.words.iter().cloned());
            out.tags.extend(s.tags.iter().cloned());
            if any_unlabelled {
                out.unlabelled
                    .extend((0..s.words.len()).map(|i| s.is_unlabelled(i)));
            }
        }
        out
    }

    /// Whether word `i` lies in an entity of a type mapped to [`UNLABELLED`].
    pub fn is_unlabelled(&self, i: usize) -> bool {
        self.unlabelled.get(i).copied().unwrap_or(false)
    }
}

/// The map target that marks a type's words as unlabelled rather than `O`.
pub const UNLABELLED: &str = "?";

/// Errors from reading data files or label maps. Messages name the file and,
/// where there is one, the line: `train.txt:1234: line has a word but no tag`.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read (missing, unreadable, ...).
    #[error("{file}: cannot read: {err}")]
    Io {
        /// File name as given.
        file: String,
        /// The underlying error.
        err: io::Error,
    },
    /// The file is not UTF-8.
    #[error("{file}: not valid UTF-8 at byte {offset} (line {line})")]
    NotUtf8 {
        /// File name as given.
        file: String,
        /// Byte offset of the first invalid byte.
        offset: usize,
        /// 1-based line holding that byte.
        line: usize,
    },
    /// A line has a single column.
    #[error("{file}:{line}: line has a word but no tag")]
    MissingTag {
        /// File name as given.
        file: String,
        /// 1-based line number.
        line: usize,
    },
    /// A tag is not `O` or `B-`/`I-`/`E-`/`S-` plus a type.
    #[error("{file}:{line}: {err}")]
    BadTag {
        /// File name as given.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the tag.
        err: TagError,
    },
    /// A tag's prefix does not exist in the scheme the caller asked for.
    #[error("{file}:{line}: tag {tag:?} is not part of the {scheme} scheme")]
    SchemeMismatch {
        /// File name as given.
        file: String,
        /// 1-based line number.
        line: usize,
        /// The offending tag.
        tag: String,
        /// The scheme requested in [`ReadOptions`].
        scheme: Scheme,
    },
    /// A label-map entry is malformed.
    #[error("label map entry {entry:?}: {reason}")]
    MapEntry {
        /// The entry as written (`FROM=TO`, or `FROM = "TO"` for TOML).
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A label-map TOML file does not parse or has the wrong shape.
    #[error("{file}: invalid label map: {err}")]
    MapToml {
        /// File name as given.
        file: String,
        /// The TOML error (with its own line and column).
        err: toml::de::Error,
    },
}

impl DataError {
    /// The 1-based line the error points at, if it points at one.
    pub fn line(&self) -> Option<usize> {
        match self {
            DataError::NotUtf8 { line, .. }
            | DataError::MissingTag { line, .. }
            | DataError::BadTag { line, .. }
            | DataError::SchemeMismatch { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// Renames or removes entity types while reading, to align corpora that
/// name the same thing differently (`PERS` vs `PER`, `MIS` vs `MISC`).
///
/// * a type found in the map becomes its target (`PERS` → `PER`);
/// * a type mapped to `O` is removed: its tokens become `O`;
/// * a type mapped to `?` ([`UNLABELLED`]) is removed too, and its tokens
///   are marked unlabelled ([`Sentence::unlabelled`]): training leaves them
///   out of the loss, for a type that is neither one of the model's nor
///   surely outside them (AQMAR's wide `MIS` class next to ANERcorp's
///   `MISC`, say); evaluation reads them as `O`;
/// * any other type is kept as it is.
///
/// Mapping is one step (no chains) and happens on whole entities, so
/// `GPE=LOC` turns `B-GPE I-GPE` into `B-LOC I-LOC`, and two adjacent
/// entities that end up with one type stay two entities.
///
/// Written either as a spec string, `"PERS=PER,GPE=LOC,MIS=MISC,NORP=O"`
/// (see [`FromStr`]), or as a TOML file with a `[map]` table of
/// `FROM = "TO"` pairs (see [`LabelMap::from_toml_file`]):
///
/// ```toml
/// [map]
/// PERS = "PER"
/// GPE = "LOC"
/// NORP = "O"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelMap {
    map: BTreeMap<String, String>,
}

/// Shape of a label-map TOML file; unknown keys are refused so that a typo
/// such as `[maps]` is reported rather than silently mapping nothing.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelMapFile {
    #[serde(default)]
    map: BTreeMap<String, String>,
}

fn bad_entry(entry: &str, reason: impl Into<String>) -> DataError {
    DataError::MapEntry {
        entry: entry.to_string(),
        reason: reason.into(),
    }
}

impl LabelMap {
    /// An empty map: every type is kept.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `from → to`; `to` may be `O` to drop the type.
    ///
    /// Refuses empty labels, labels with whitespace, `,` or `=` (they could
    /// not be written back as a spec string), `O` as a source, and a source
    /// that is already mapped.
    pub fn insert(&mut self, from: &str, to: &str) -> Result<(), DataError> {
        let entry = format!("{from}={to}");
        for label in [from, to] {
            if label.is_empty() {
                return Err(bad_entry(&entry, "empty label"));
            }
            if label
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == ',' || c == '=')
            {
                return Err(bad_entry(
                    &entry,
                    "labels cannot contain spaces, control characters, ',' or '='",
                ));
            }
        }
        if from == "O" {
            return Err(bad_entry(&entry, "O is not an entity type"));
        }
        if self.map.contains_key(from) {
            return Err(bad_entry(&entry, format!("{from} is mapped twice")));
        }
        self.map.insert(from.to_string(), to.to_string());
        Ok(())
    }

    /// The type `label` becomes, or `None` if the map removes it.
    pub fn apply<'a>(&'a self, label: &'a str) -> Option<&'a str> {
        match self.map.get(label).map(String::as_str) {
            Some("O" | UNLABELLED) => None,
            Some(to) => Some(to),
            None => Some(label),
        }
    }

    /// Whether the map marks `label`'s words as unlabelled.
    pub fn is_unlabelled(&self, label: &str) -> bool {
        self.map.get(label).is_some_and(|to| to == UNLABELLED)
    }

    /// Renames the spans' types and drops those mapped to `O` or `?`.
    pub fn map_spans(&self, spans: Vec<Span>) -> Vec<Span> {
        spans
            .into_iter()
            .filter_map(|s| {
                let label = self.apply(&s.label)?.to_string();
                Some(Span { label, ..s })
            })
            .collect()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when the map changes nothing.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The entries as `(from, to)`, sorted by `from`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(a, b)| (a.as_str(), b.as_str()))
    }

    /// Parses TOML text with a `[map]` table; `file` names it in errors.
    pub fn from_toml_str(text: &str, file: &str) -> Result<Self, DataError> {
        let parsed: LabelMapFile = toml::from_str(text).map_err(|err| DataError::MapToml {
            file: file.to_string(),
            err,
        })?;
        let mut map = LabelMap::new();
        for (from, to) in &parsed.map {
            map.insert(from, to)?;
        }
        Ok(map)
    }

    /// Reads a TOML label map file (shape in the type's documentation).
    pub fn from_toml_file(path: &Path) -> Result<Self, DataError> {
        let file = path.display().to_string();
        let text = read_text(path, &file)?;
        Self::from_toml_str(&text, &file)
    }
}

impl FromStr for LabelMap {
    type Err = DataError;

    /// Parses `FROM=TO` pairs separated by commas; spaces around items are
    /// ignored, and so are empty items (`"A=B,"`). An empty string is an
    /// empty map.
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut map = LabelMap::new();
        for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let Some((from, to)) = item.split_once('=') else {
                return Err(bad_entry(item, "expected FROM=TO"));
            };
            map.insert(from.trim(), to.trim())?;
        }
        Ok(map)
    }
}

impl fmt::Display for LabelMap {
    /// Writes the spec string form, which [`FromStr`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (from, to)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{from}={to}")?;
        }
        Ok(())
    }
}

/// How to read a CoNLL file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// The tag scheme of the file.
    ///
    /// `None` guesses it with [`detect_scheme`]: IOBES if any `E-`/`S-` tag
    /// appears; otherwise BIO if some entity opens with `B-`; otherwise IOB1
    /// if some entity opens with `I-`; otherwise BIO. Entities are read the
    /// same way under all three (seqeval's lenient rules), so the guess never
    /// changes the result.
    ///
    /// `Some(scheme)` additionally checks the file against it: under BIO or
    /// IOB1 an `E-` or `S-` tag is an error, which catches a wrong
    /// `--scheme` early.
    pub scheme: Option<Scheme>,
    /// Entity types to rename or drop.
    pub map: LabelMap,
}

/// Reads a CoNLL file; see [`parse_conll`] for the format.
pub fn read_conll(path: &Path, opts: &ReadOptions) -> Result<Vec<Sentence>, DataError> {
    let file = path.display().to_string();
    let text = read_text(path, &file)?;
    parse_conll(&text, &file, opts)
}

/// Reads a whole file as UTF-8, reporting where decoding fails.
pub(crate) fn read_text(path: &Path, file: &str) -> Result<String, DataError> {
    let bytes = std::fs::read(path).map_err(|err| DataError::Io {
        file: file.to_string(),
        err,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        DataError::NotUtf8 {
            file: file.to_string(),
            offset,
            line,
        }
    })
}

/// A sentence as read, before decoding its tags.
struct RawSentence {
    words: Vec<String>,
    line: usize,
    doc_start: bool,
}

/// Parses CoNLL text held in memory; `file` names it in error messages.
///
/// Returns the sentences with clean BIO tags after [`ReadOptions::map`].
/// Fails on the first line that has a word but no tag, a tag that is not
/// `O` or `B-`/`I-`/`E-`/`S-` plus a type, or (with an explicit scheme) a
/// tag the scheme does not use. Only the tag column of the file's
/// [`Layout`] is checked.
pub fn parse_conll(text: &str, file: &str, opts: &ReadOptions) -> Result<Vec<Sentence>, DataError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let layout = Layout::of(text);
    let mut raw: Vec<RawSentence> = Vec::new();
    let mut raw_tags: Vec<Vec<String>> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut tags: Vec<String> = Vec::new();
    let mut first_line = 0;
    // The next sentence opens a document.
    let mut doc_start = false;
    let mut sentence_doc_start = false;

    // `lines()` drops a trailing `\r`; any other stray `\r` is whitespace to
    // the column splitter.
    for (index, content) in text.lines().enumerate() {
        let line = index + 1;
        let mut cols = content.split_ascii_whitespace();
        let word = cols.next();
        if word.is_none() || word == Some(DOCSTART) {
            if !words.is_empty() {
                raw.push(RawSentence {
                    words: std::mem::take(&mut words),
                    line: first_line,
                    doc_start: sentence_doc_start,
                });
                raw_tags.push(std::mem::take(&mut tags));
            }
            doc_start |= word.is_some();
            continue;
        }
        let Some(word) = word else { continue };
        if word == "$#$" {
            continue;
        }
        let tag = match layout {
            Layout::FirstTag => cols.next(),
            Layout::LastTag => cols.last(),
        };
        let Some(tag) = tag else {
            return Err(DataError::MissingTag {
                file: file.to_string(),
                line,
            });
        };
        let parsed = parse_tag(tag).map_err(|err| DataError::BadTag {
            file: file.to_string(),
            line,
            err,
        })?;
        if let Some(scheme) = opts.scheme {
            if !scheme.allows(parsed.prefix) {
                return Err(DataError::SchemeMismatch {
                    file: file.to_string(),
                    line,
                    tag: tag.to_string(),
                    scheme,
                });
            }
        }
        if words.is_empty() {
            first_line = line;
            sentence_doc_start = std::mem::take(&mut doc_start);
        }
        words.push(word.to_string());
        tags.push(tag.to_string());
    }
    if !words.is_empty() {
        raw.push(RawSentence {
            words,
            line: first_line,
            doc_start: sentence_doc_start,
        });
        raw_tags.push(tags);
    }

    let scheme = opts.scheme.unwrap_or_else(|| detect_scheme(&raw_tags));
    Ok(raw
        .into_iter()
        .zip(raw_tags)
        .map(|(r, tags)| {
            let spans = decode(&tags, scheme);
            let mut unlabelled = Vec::new();
            for s in spans.iter().filter(|s| opts.map.is_unlabelled(&s.label)) {
                unlabelled.resize(r.words.len(), false);
                unlabelled[s.start..s.end].fill(true);
            }
            let entities = opts.map.map_spans(spans);
            Sentence {
                tags: encode(&entities, r.words.len(), Scheme::Bio),
                words: r.words,
                line: r.line,
                unlabelled,
                doc_start: r.doc_start,
            }
        })
        .collect())
}

/// Writes `word gold pred` lines, a blank line after each sentence: the
/// prediction file format that `bench/seqeval_check.py` and conlleval read.
///
/// Fails with [`io::ErrorKind::InvalidInput`] when `pred` does not line up
/// with `sentences`, or when a word or tag is empty or contains whitespace
/// (the file could not be read back).
pub fn write_conll<W: Write, S: AsRef<str>>(
    mut out: W,
    sentences: &[Sentence],
    pred: &[Vec<S>],
) -> io::Result<()> {
    let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
    if sentences.len() != pred.len() {
        return Err(invalid(format!(
            "{} sentences but {} predictions",
            sentences.len(),
            pred.len()
        )));
    }
    for (s, p) in sentences.iter().zip(pred) {
        if s.words.len() != s.tags.len() || s.words.len() != p.len() {
            return Err(invalid(format!(
                "sentence at line {}: {} words, {} gold tags, {} predicted tags",
                s.line,
                s.words.len(),
                s.tags.len(),
                p.len()
            )));
        }
        for ((w, g), p) in s.words.iter().zip(&s.tags).zip(p) {
            let p = p.as_ref();
            for field in [w.as_str(), g, p] {
                if field.is_empty() || field.chars().any(|c| c.is_ascii_whitespace()) {
                    return Err(invalid(format!(
                        "sentence at line {}: field {field:?} is empty or has whitespace",
                        s.line
                    )));
                }
            }
            writeln!(out, "{w} {g} {p}")?;
        }
        writeln!(out)?;
    }
    out.flush()
}

#[cfg(test)]
mod tests;

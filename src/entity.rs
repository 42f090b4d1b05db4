//! Entities as spans of the input, with character and byte offsets.

use serde::Serialize;

use crate::values::date::DateValue;

/// One named entity found in a text.
///
/// `text` is always exactly `input[byte_start..byte_end]`, and the same
/// slice as characters `start..end` (Unicode scalar values), whatever
/// normalization happened inside the tagger.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entity {
    /// Entity type: `PER`, `ORG`, `LOC`, `DATE`, `MISC`, or the model's own.
    pub label: String,
    /// The entity as written in the input.
    pub text: String,
    /// First character, counted in Unicode scalar values.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// First byte in the UTF-8 input.
    pub byte_start: usize,
    /// One past the last byte.
    pub byte_end: usize,
    /// Mean probability of the entity's word labels.
    pub score: f32,
    /// ISO 3166-1 alpha-2 code when a place names a sovereign state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<&'static str>,
    /// Normalized value of a date (TIMEX3 / ISO 8601 style), when the text
    /// allows one.
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    pub date: Option<DateValue>,
}

/// A word of a tagged document with its label, for CoNLL-style output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaggedWord {
    /// First byte of the word in the input.
    pub byte_start: usize,
    /// One past the last byte.
    pub byte_end: usize,
    /// Label in the model's scheme (`B-LOC`, `O`, ...).
    pub label: String,
    /// Whether a sentence ends after this word.
    pub sentence_end: bool,
}

/// Everything the tagger found in one text.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Document {
    /// Entities in order of position; they never overlap.
    pub entities: Vec<Entity>,
    /// Every word with its label.
    pub words: Vec<TaggedWord>,
}

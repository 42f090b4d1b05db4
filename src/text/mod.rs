//! The text layer: normalization with alignment, word and sentence
//! splitting, and clitic handling for entity spans.
//!
//! Offsets are the contract: every entity's text is the slice of the
//! original input at its reported byte offsets, whatever normalization
//! happened inside. [`normalize::Normalized::original_span`] is the way back
//! from normalized to original offsets.

pub mod clitics;
pub mod fold;
pub mod normalize;
pub mod words;

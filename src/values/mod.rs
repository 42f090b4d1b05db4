//! Normalized values attached to entities, beyond their spans.
//!
//! * [`country`]: `LOC` entities that name a sovereign state get its
//!   ISO 3166-1 alpha-2 code (`"country": "EG"`), from the project's table of
//!   Arabic country names in `data/countries.tsv`.
//! * [`date`]: `DATE` entities get a TIMEX3 / ISO 8601 value
//!   (`"value": "2022-01-13"`), Gregorian or Hijri, with relative expressions
//!   resolved against an optional reference date; [`date::is_date_word`]
//!   flags words that usually belong to dates, for masking training loss on
//!   corpora that never label dates.
//!
//! Both follow one rule: no value is better than a wrong value.  When a
//! mention is ambiguous or not understood, the functions return `None`.
//!
//! [`annotate`] is the one place an entity gets its values, and [`columns`]
//! the one place writers read them: a new kind of value is a module here, a
//! field of [`Entity`], and a line in each of the two.

pub mod country;
pub mod date;

use crate::entity::Entity;
use date::Ymd;

/// What values may depend on besides the entity itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context {
    /// The date relative dates resolve against.
    pub reference_date: Option<Ymd>,
}

/// Gives `e` the values its label and text allow (and clears the others).
pub fn annotate(e: &mut Entity, cx: &Context) {
    e.country = match e.label.as_str() {
        "LOC" | "GPE" => country::country_code(&e.text),
        _ => None,
    };
    e.date = match e.label.as_str() {
        "DATE" => date::normalize_date(&e.text, cx.reference_date),
        _ => None,
    };
}

/// Names of the value columns of tabular output, in the order of
/// [`columns`].
pub const COLUMNS: [&str; 2] = ["country", "value"];

/// The values of `e` as text, one a [`COLUMNS`] entry (empty when absent).
pub fn columns(e: &Entity) -> [String; COLUMNS.len()] {
    [
        e.country.unwrap_or_default().to_string(),
        e.date.as_ref().map(|d| d.value.clone()).unwrap_or_default(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(label: &str, text: &str) -> Entity {
        Entity {
            label: label.into(),
            text: text.into(),
            start: 0,
            end: 0,
            byte_start: 0,
            byte_end: text.len(),
            score: 1.0,
            country: None,
            date: None,
        }
    }

    #[test]
    fn values_follow_the_label() {
        let cx = Context::default();
        let mut e = entity("LOC", "مصر");
        annotate(&mut e, &cx);
        assert_eq!(columns(&e), ["EG".to_string(), String::new()]);
        let mut e = entity("PER", "مصر");
        annotate(&mut e, &cx);
        assert_eq!(columns(&e), [String::new(), String::new()]);
        let mut e = entity("DATE", "13 يناير 2022");
        annotate(&mut e, &cx);
        assert_eq!(columns(&e), [String::new(), "2022-01-13".to_string()]);
    }
}

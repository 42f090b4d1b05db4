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

pub mod country;
pub mod date;

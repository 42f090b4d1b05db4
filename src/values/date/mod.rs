//! Normalized values for `DATE` entities, in the style of TIMEX3 / ISO 8601.
//!
//! [`normalize_date`] reads the text of one date mention and returns a
//! [`DateValue`] when the text determines one.  No value is better than a
//! wrong value: whenever the text is ambiguous, contradictory or not
//! understood, the answer is `None`.
//!
//! # Values
//!
//! | text                                | value                   |
//! |-------------------------------------|-------------------------|
//! | `13 يناير 2022`, `13 كانون الثاني 2022`, `١٣/١/٢٠٢٢` | `2022-01-13` |
//! | `يناير 2022`                        | `2022-01`               |
//! | `عام 2022`, `2022م`                 | `2022`                  |
//! | `13 يناير` (no year)                | `XXXX-01-13`            |
//! | `يوم الأربعاء`                      | `XXXX-WXX-3` (ISO weekday, Monday = 1) |
//! | `النصف الأول من عام 2022`           | `2022-H1` (`H1`, `H2`)  |
//! | `الربع الثالث من 2022`              | `2022-Q3` (`Q1`..`Q4`)  |
//! | `صيف 2022`                          | `2022-SU` (`SP`, `SU`, `FA`, `WI`) |
//! | `ثمانينيات القرن العشرين`           | `198` (TIMEX3 decade: the first three digits) |
//! | `القرن العشرين`                     | `19` (TIMEX3 century: the first two digits) |
//! | `13 و14 يناير 2022`, `من 13 إلى 14 يناير 2022` | `2022-01-13/2022-01-14` |
//! | `الأسبوع الماضي` (reference 2022-01-13) | `2022-W01`          |
//! | `مساء أمس` (reference 2022-01-13)   | `2022-01-12TEV` (TIMEX3 part of day `MO` `MI` `AF` `EV` `NI`) |
//!
//! Hijri text gives [`Calendar::Hijri`] and a Hijri value (`1445-09`,
//! `1445-09-01`); when the day is known, [`DateValue::gregorian`] holds the
//! Gregorian day computed with the arithmetical (tabular) Islamic calendar.
//! That calendar may differ by a day or two from sighting-based calendars
//! such as Umm al-Qura, so a Gregorian equivalent written in the text
//! (`... الموافق 11 مارس 2024`) is preferred, and a weekday written with
//! the Hijri date moves the computed day by one when that makes them agree.
//!
//! # Decisions
//!
//! * A bare year or a year after عام/سنة with no month name and no calendar
//!   marker is read as Gregorian, except in 1300–1500, where Hijri years of
//!   the last two centuries overlap plausible Gregorian ones: no value.
//!   Hijri years above 1600 are rejected as implausible.  Two-digit years
//!   (`15/1/59`, `يناير 22`) never get a value.
//! * Numeric dates are read day/month/year unless the first part has four
//!   digits (year/month/day); a month above 12 gives no value (no guessing of
//!   the American order).
//! * A weekday that contradicts a Gregorian date gives no value.
//! * Decades need their century (`ثمانينيات القرن الماضي` with a reference
//!   date, `ثمانينيات القرن العشرين`); a bare `الثمانينيات` has no value.
//! * `X و Y` gives an interval only when the items are consecutive (two
//!   adjacent days, months or years); `13 و15 يناير` names two days and gets
//!   no value.  `من X إلى Y`, `بين X و Y` and `X-Y` give an interval.
//! * Relative expressions (اليوم, أمس, الأسبوع الماضي, الأربعاء المقبل, يناير
//!   الماضي, قبل ثلاثة أيام ...) resolve only against a reference date;
//!   without one they have no value.  A month name with الماضي/المقبل that
//!   is the reference month itself is ambiguous and has no value.
//!   `13 يناير` keeps its unknown year (`XXXX-01-13`) even with a reference.
//! * Vague modifiers (مطلع, أواخر, منتصف, نهاية ...) are dropped and the value
//!   of the period they modify is kept, for months and coarser periods only;
//!   TIMEX3's `mod` attribute is not represented.
//! * Dates before the era (`ق.م`, `قبل الميلاد`) and `قبل <date>` ("before")
//!   have no value.  `ليلة` + a date is left out because it can mean the eve
//!   before that date.
//! * Any word the parser does not understand leaves the whole mention
//!   without a value.  A date followed by its equivalent (`الموافق ...` or in
//!   parentheses) needs both parts understood; when they are in different
//!   calendars the value is the Hijri one and `gregorian` the stated one.

use serde::Serialize;

mod calendar;
mod lexicon;
mod parse;
mod resolve;
mod spans;
mod tokens;

use lexicon::*;
use parse::*;
use resolve::*;
use tokens::*;

pub use calendar::{
    days_in_month, gregorian_to_hijri, hijri_to_gregorian, is_leap_year, ParseYmdError, Ymd,
    VALUE_YEARS,
};
pub use spans::complete_dates;

use crate::text::clitics::clitic_prefixes;

// ---------------------------------------------------------------------------
// Public values
// ---------------------------------------------------------------------------

/// Calendar of a [`DateValue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Calendar {
    /// Gregorian calendar (ISO 8601 / TIMEX3 values).
    Gregorian,
    /// Islamic (Hijri) calendar; values use the same ISO-like layout.
    Hijri,
}

/// The normalized value of a date mention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DateValue {
    /// TIMEX3-style value (`2022-01-13`, `2022-H1`, `XXXX-WXX-3`,
    /// `2022-01-13/2022-01-14` ...), in the calendar of [`Self::calendar`].
    pub value: String,
    /// Calendar of `value`.
    pub calendar: Calendar,
    /// For Hijri values: the Gregorian equivalent, when the day is known or
    /// the text states it.  Always `None` for Gregorian values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gregorian: Option<String>,
}

/// Normalizes the text of a date mention.
///
/// `text` is the entity text as it appears in the input (diacritics,
/// tatweel, clitics such as و/ب/ل and Arabic-Indic or Persian digits are
/// fine).  `reference` is the date that relative expressions (اليوم, أمس,
/// الشهر الماضي ...) are resolved against, usually the document date;
/// without it they get no value.  Returns `None` when the text does not
/// determine a value with confidence.
///
/// ```
/// # use arabic_ner::values::date::{normalize_date, Ymd};
/// let v = normalize_date("13 يناير 2022", None).unwrap();
/// assert_eq!(v.value, "2022-01-13");
/// let reference = Ymd::new(2022, 1, 13);
/// assert_eq!(normalize_date("أمس", reference).unwrap().value, "2022-01-12");
/// assert_eq!(normalize_date("أمس", None), None);
/// ```
pub fn normalize_date(text: &str, reference: Option<Ymd>) -> Option<DateValue> {
    normalize_tokens(&tokens(text), reference).or_else(|| {
        // Text split into tokens by a word splitter or written loosely:
        // "بتاريخ ( 24 / 8 / 1993 )", "عام ( 1976 )". Read it again without
        // the lead word and the brackets, digits and slashes joined.
        // Brackets dropped ("عام ( 1976 )"), then kept, for a month name
        // followed by its full date: "أيلول ( 7 / 9 / 1945 )".
        [true, false].into_iter().find_map(|drop_brackets| {
            let loose = unspaced(text, drop_brackets)?;
            normalize_tokens(&tokens(&loose), reference)
        })
    })
}

/// `text` without a leading "بتاريخ", with spaces around `/` between
/// digits closed and brackets removed if `drop_brackets`; `None` when
/// nothing changes.
fn unspaced(text: &str, drop_brackets: bool) -> Option<String> {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    if matches!(words.first(), Some(&("بتاريخ" | "وبتاريخ" | "تاريخ"))) {
        words.remove(0);
    }
    let mut out = String::with_capacity(text.len());
    for (i, w) in words.iter().enumerate() {
        if drop_brackets && (*w == "(" || *w == ")") {
            continue;
        }
        let joins = |a: Option<&&str>| a.is_some_and(|a| *a == "/");
        let digit_end = |w: &str| w.chars().last().is_some_and(|c| c.is_numeric());
        let glued = i > 0 && (joins(words.get(i - 1)) || (*w == "/" && digit_end(out.trim_end())));
        if !out.is_empty() && !glued {
            out.push(' ');
        }
        out.push_str(w);
    }
    (out != text).then_some(out)
}

fn normalize_tokens(toks: &[Tok], reference: Option<Ymd>) -> Option<DateValue> {
    let toks = toks.to_vec();
    if toks.is_empty() || names_era_before(&toks) {
        return None;
    }
    let ctx = Ctx { reference };
    // "<date> الموافق <date in the other calendar>"
    if let Some(i) = toks
        .iter()
        .position(|t| matches!(t, Tok::W(w) if w == "الموافق" || w == "الموافقه"))
    {
        let mut right = &toks[i + 1..];
        if matches!(right.first(), Some(Tok::W(w)) if w == "ل") {
            right = &right[1..];
        }
        return merge_equivalents(&toks[..i], right, &ctx);
    }
    if let Some(value) = parse_expression(&toks, &ctx) {
        return Some(value);
    }
    // "<date> (<equivalent date>)"
    let open = toks.iter().position(|t| *t == Tok::P('('))?;
    if open > 0 && toks.last() == Some(&Tok::P(')')) {
        return merge_equivalents(&toks[..open], &toks[open + 1..toks.len() - 1], &ctx);
    }
    None
}

/// Combines a date with the same date stated in another calendar.  Both
/// parts must be understood; an empty part is allowed ("... الموافق").
fn merge_equivalents(left: &[Tok], right: &[Tok], ctx: &Ctx) -> Option<DateValue> {
    let a = parse_expression(left, ctx);
    let b = parse_expression(right, ctx);
    match (a, b) {
        (Some(a), Some(b)) => match (a.calendar, b.calendar) {
            (Calendar::Hijri, Calendar::Gregorian) => Some(DateValue {
                gregorian: Some(b.value),
                ..a
            }),
            (Calendar::Gregorian, Calendar::Hijri) => Some(DateValue {
                gregorian: Some(a.value),
                ..b
            }),
            // Same calendar twice: only if both say the same, or one says
            // more of it ("أيلول ( 7 / 9 / 1945 )").
            _ if a == b => Some(a),
            // "يوم الثلاثاء الموافق 5 / 8 / 2008": a weekday, then its date.
            (Calendar::Gregorian, Calendar::Gregorian) if weekday_of(&b.value, &a.value) => Some(b),
            _ if a.gregorian.is_some() || b.gregorian.is_some() => None,
            _ if refines(&b.value, &a.value) => Some(b),
            _ if refines(&a.value, &b.value) => Some(a),
            _ => None,
        },
        (Some(v), None) if right.is_empty() => Some(v),
        (None, Some(v)) if left.is_empty() => Some(v),
        _ => None,
    }
}

/// Whether `weekday` (`XXXX-WXX-2`) is the weekday of the day `date`.
fn weekday_of(date: &str, weekday: &str) -> bool {
    let Some(d) = weekday.strip_prefix("XXXX-WXX-") else {
        return false;
    };
    date.parse::<Ymd>()
        .is_ok_and(|day| d.parse::<u32>() == Ok(day.weekday()))
}

/// Whether `fine` is `coarse` told more precisely: `1945-09-07` refines
/// `XXXX-09` and `1945-09`, not `XXXX-10` nor an interval.
fn refines(fine: &str, coarse: &str) -> bool {
    let plain = |v: &str| {
        v.chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == 'X')
    };
    plain(fine)
        && plain(coarse)
        && fine.len() > coarse.len()
        && fine.as_bytes()[coarse.len()] == b'-'
        && coarse
            .bytes()
            .zip(fine.bytes())
            .all(|(c, f)| c == f || (c == b'X' && f.is_ascii_digit()))
}

/// True for single words that usually belong to a date expression: month
/// names (Gregorian in the Egyptian/Gulf, Levantine/Iraqi and Maghrebi
/// series, and the unambiguous Hijri ones), weekday names with the article,
/// four-digit years 1000–2199 in any digit script, numeric dates, and the
/// era markers هـ/م/هجري/ميلادي; clitics و ف ب ل ك may be attached.
/// The marker هـ must be written with its tatweel: a lone ه is more often a
/// pronoun clitic split off by a segmenter.
///
/// Meant for masking training loss on corpora that never label dates, so
/// precision matters more than recall.  Words that are common in other
/// senses return `false`: the Hijri months محرم (forbidden), صفر (zero),
/// رجب/شعبان/رمضان (personal names, e.g. inside a PER entity), ربيع
/// (spring), الحجة (argument), الآخرة/الأولى; the second words of
/// two-word months (الثاني, الأول); weekdays without the article (أحد =
/// one, جمعة is a name); ماي (Maghrebi "May", also "water"); and آب/اب
/// unless written with madda (آب), since folded it equals أب (father).
/// Accepted although sometimes something else: مارس (also the verb "to
/// practise"), نيسان (also the car maker), كانون (also "hearth"), تموز,
/// أيار, م (also an abbreviation of مهندس or متر) and any number
/// 1000–2199 (also a quantity).
pub fn is_date_word(word: &str) -> bool {
    // Marks removed but letters as written, to tell آب from أب.
    let light: Vec<char> = word.chars().filter(|&c| fold_char(c).is_some()).collect();
    if light.is_empty() || light.iter().any(|c| c.is_whitespace()) {
        return false;
    }
    let folded: String = light.iter().filter_map(|&c| fold_char(c)).collect();
    // A lone ه is also a pronoun clitic split off by segmenters; only the
    // written abbreviation هـ counts.
    if folded == "ه" {
        return word.contains('\u{0640}');
    }
    if is_numeric_date_word(&folded) || DATE_MARKERS.contains(&folded.as_str()) {
        return true;
    }
    let lex = lexicon();
    clitic_prefixes(&folded).into_iter().any(|prefix| {
        let core = &folded[prefix..];
        // اب is آب when written so: its first letter is the word's
        // second-to-last.
        lex.date_words.contains(core)
            || (core == "اب" && light.len() >= 2 && light[light.len() - 2] == 'آ')
    })
}

#[cfg(test)]
mod tests;

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
use std::cmp::Ordering::{Equal, Greater, Less};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use crate::text::clitics::clitic_prefixes;

mod spans;
pub use spans::complete_dates;

// ---------------------------------------------------------------------------
// Civil dates
// ---------------------------------------------------------------------------

/// A day of the proleptic Gregorian calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ymd {
    /// Year (astronomical numbering).
    pub year: i32,
    /// Month, 1–12.
    pub month: u32,
    /// Day of the month, 1–31.
    pub day: u32,
}

/// Years a value may hold: four digits, without year 0, which no text
/// names (the year before 1 is "1 before the era", given no value).
pub const VALUE_YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// Years of a reference date: those four digits can write.
const VALUE_YEARS_OR_ZERO: std::ops::RangeInclusive<i32> = 0..=9999;

/// Days from 0000-03-01 to 1970-01-01; the day arithmetic counts from March
/// so that the leap day falls at the end of its year.
const DAYS_0000_03_01_TO_EPOCH: i64 = 719_468;
/// Days in a 400-year Gregorian cycle.
const DAYS_PER_400_YEARS: i64 = 146_097;

impl Ymd {
    /// A validated date, or `None` if the month or day is out of range.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Self> {
        let date = Ymd { year, month, day };
        date.is_valid().then_some(date)
    }

    /// True when the month is 1–12 and the day exists in that month.
    pub fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
    }

    /// Days since 1970-01-01 (negative before it).
    pub fn to_days(&self) -> i64 {
        let month = i64::from(self.month);
        // Years start in March, so January and February belong to the
        // previous year.
        let year = i64::from(self.year) - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month_from_march = (month + 9) % 12;
        let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * DAYS_PER_400_YEARS + day_of_era - DAYS_0000_03_01_TO_EPOCH
    }

    /// The date `days` days after 1970-01-01.
    pub fn from_days(days: i64) -> Self {
        let shifted = days + DAYS_0000_03_01_TO_EPOCH;
        let era = shifted.div_euclid(DAYS_PER_400_YEARS);
        let day_of_era = shifted - era * DAYS_PER_400_YEARS;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_from_march = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
        let month = if month_from_march < 10 {
            month_from_march + 3
        } else {
            month_from_march - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Ymd {
            year: year as i32,
            month: month as u32,
            day: day as u32,
        }
    }

    /// ISO weekday: Monday = 1 … Sunday = 7.
    pub fn weekday(&self) -> u32 {
        // 1970-01-01 was a Thursday.
        ((self.to_days() + 3).rem_euclid(7) + 1) as u32
    }

    /// The date `days` days later (earlier when negative).
    pub fn add_days(&self, days: i64) -> Self {
        Self::from_days(self.to_days() + days)
    }

    /// ISO 8601 week-numbering year and week (1–53).
    pub fn iso_week(&self) -> (i32, u32) {
        // The week belongs to the year that contains its Thursday.
        let thursday = self.add_days(4 - i64::from(self.weekday()));
        let jan1 = Ymd {
            year: thursday.year,
            month: 1,
            day: 1,
        };
        let week = (thursday.to_days() - jan1.to_days()) / 7 + 1;
        (thursday.year, week as u32)
    }
}

impl fmt::Display for Ymd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Error of [`Ymd::from_str`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseYmdError(String);

impl fmt::Display for ParseYmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a valid YYYY-MM-DD date: {:?}", self.0)
    }
}

impl std::error::Error for ParseYmdError {}

impl FromStr for Ymd {
    type Err = ParseYmdError;

    /// Parses `YYYY-MM-DD`, years 0000–9999 (those a value can be
    /// written with).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseYmdError(s.to_string());
        let mut parts = s.trim().splitn(3, '-');
        let mut next = || parts.next().ok_or_else(err);
        let year: i32 = next()?.parse().map_err(|_| err())?;
        if !VALUE_YEARS_OR_ZERO.contains(&year) {
            return Err(err());
        }
        let month = next()?.parse().map_err(|_| err())?;
        let day = next()?.parse().map_err(|_| err())?;
        Ymd::new(year, month, day).ok_or_else(err)
    }
}

/// True for Gregorian leap years.
pub fn is_leap_year(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Number of days of a Gregorian month (0 for a month outside 1–12).
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

// ---------------------------------------------------------------------------
// Hijri calendar (arithmetical)
// ---------------------------------------------------------------------------

/// Days since 1970-01-01 of 1 Muharram AH 1 in the civil tabular calendar
/// (Friday 16 July 622 Julian).
const HIJRI_EPOCH: i64 = -492_148;

/// Leap years of the 30-year cycle are 2, 5, 7, 10, 13, 16, 18, 21, 24, 26, 29.
fn hijri_is_leap(year: i32) -> bool {
    (14 + 11 * i64::from(year)).rem_euclid(30) < 11
}

/// Length of a month in the tabular calendar: odd months 30 days, even
/// months 29, Dhu al-Hijja 30 in leap years.
fn hijri_month_len(year: i32, month: u32) -> u32 {
    if month % 2 == 1 || (month == 12 && hijri_is_leap(year)) {
        30
    } else {
        29
    }
}

/// Days since 1970-01-01; the day is not validated.
fn hijri_to_days(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year);
    let m = i64::from(month);
    HIJRI_EPOCH
        + (y - 1) * 354
        + (3 + 11 * y).div_euclid(30)
        + 29 * (m - 1)
        + m / 2
        + i64::from(day)
        - 1
}

/// Gregorian day of a Hijri date in the arithmetical (tabular) Islamic
/// calendar; `None` if the Hijri date does not exist in that calendar.
///
/// Sighting-based calendars (Umm al-Qura and national calendars) may differ
/// by a day or two.
pub fn hijri_to_gregorian(year: i32, month: u32, day: u32) -> Option<Ymd> {
    let valid =
        year >= 1 && (1..=12).contains(&month) && day >= 1 && day <= hijri_month_len(year, month);
    valid.then(|| Ymd::from_days(hijri_to_days(year, month, day)))
}

/// Hijri `(year, month, day)` of a Gregorian day in the arithmetical
/// calendar.
pub fn gregorian_to_hijri(date: Ymd) -> (i32, u32, u32) {
    let days = date.to_days();
    let mut year = ((days - HIJRI_EPOCH) * 30).div_euclid(10_631) as i32 + 1;
    while hijri_to_days(year + 1, 1, 1) <= days {
        year += 1;
    }
    while hijri_to_days(year, 1, 1) > days {
        year -= 1;
    }
    let mut month = 12;
    while month > 1 && hijri_to_days(year, month, 1) > days {
        month -= 1;
    }
    let day = (days - hijri_to_days(year, month, 1) + 1) as u32;
    (year, month, day)
}

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

// ---------------------------------------------------------------------------
// Words
// ---------------------------------------------------------------------------
// All word lists below are written in folded form (see `fold_char`); a unit
// test checks that.

/// Gregorian month names, folded on first use.
const GREGORIAN_MONTHS: &[(&str, u32)] = &[
    // Egyptian / Gulf series
    ("يناير", 1),
    ("فبراير", 2),
    ("مارس", 3),
    ("أبريل", 4),
    ("إبريل", 4),
    ("مايو", 5),
    ("يونيو", 6),
    ("يونيه", 6),
    ("يوليو", 7),
    ("يوليه", 7),
    ("أغسطس", 8),
    ("سبتمبر", 9),
    ("أكتوبر", 10),
    ("نوفمبر", 11),
    ("ديسمبر", 12),
    // Levantine / Iraqi series
    ("كانون الثاني", 1),
    ("كانون ثاني", 1),
    ("شباط", 2),
    ("آذار", 3),
    ("نيسان", 4),
    ("أيار", 5),
    ("مايس", 5),
    ("حزيران", 6),
    ("تموز", 7),
    ("آب", 8),
    ("أيلول", 9),
    ("تشرين الأول", 10),
    ("تشرين أول", 10),
    ("تشرين الثاني", 11),
    ("تشرين ثاني", 11),
    ("كانون الأول", 12),
    ("كانون أول", 12),
    // Maghrebi series (Algeria and Tunisia; Morocco)
    ("جانفي", 1),
    ("فيفري", 2),
    ("أفريل", 4),
    ("ماي", 5),
    ("جوان", 6),
    ("جويلية", 7),
    ("يوليوز", 7),
    ("أوت", 8),
    ("غشت", 8),
    ("شتنبر", 9),
    ("نونبر", 11),
    ("دجنبر", 12),
];

/// Hijri month names, folded on first use.
const HIJRI_MONTHS: &[(&str, u32)] = &[
    ("محرم", 1),
    ("المحرم", 1),
    ("محرم الحرام", 1),
    ("صفر", 2),
    ("صفر الخير", 2),
    ("ربيع الأول", 3),
    ("ربيع أول", 3),
    ("ربيع الآخر", 4),
    ("ربيع آخر", 4),
    ("ربيع الثاني", 4),
    ("ربيع ثاني", 4),
    ("جمادى الأولى", 5),
    ("جمادى الأول", 5),
    ("جمادى أولى", 5),
    ("جمادى الآخرة", 6),
    ("جمادى الآخر", 6),
    ("جمادى الثانية", 6),
    ("جمادى الثاني", 6),
    ("رجب", 7),
    ("شعبان", 8),
    ("رمضان", 9),
    ("شوال", 10),
    ("ذو القعدة", 11),
    ("ذي القعدة", 11),
    ("ذو الحجة", 12),
    ("ذي الحجة", 12),
];

/// Weekdays with the article, ISO numbering.  The forms without the article
/// are derived and accepted only after يوم.
const WEEKDAYS: &[(&str, u32)] = &[
    ("الاثنين", 1),
    ("الثلاثاء", 2),
    ("الثلثاء", 2),
    ("الاربعاء", 3),
    ("الخميس", 4),
    ("الجمعه", 5),
    ("السبت", 6),
    ("الاحد", 7),
];

/// Single words for `is_date_word` beyond the one-word Gregorian months and
/// the weekdays.
const DATE_WORD_EXTRAS: &[&str] = &["تشرين", "كانون", "جمادي", "شوال", "القعده"];
/// One-word Gregorian month names that `is_date_word` leaves out.
const DATE_WORD_EXCLUDED: &[&str] = &["ماي", "اب"];
/// Calendar markers accepted by `is_date_word`.
const DATE_MARKERS: &[&str] = &[
    "ه",
    "هجري",
    "هجريه",
    "الهجري",
    "الهجريه",
    "للهجره",
    "م",
    "ميلادي",
    "ميلاديه",
    "الميلادي",
    "الميلاديه",
    "للميلاد",
];

const HIJRI_MARKS: &[&str] = &["ه", "هجري", "هجريه", "الهجري", "الهجريه", "للهجره", "هجريا"];
const GREG_MARKS: &[&str] = &[
    "م",
    "ميلادي",
    "ميلاديه",
    "الميلادي",
    "الميلاديه",
    "للميلاد",
    "ميلاديا",
];
const YEAR_WORDS: &[&str] = &["عام", "سنه", "العام", "السنه", "عامي", "سنتي"];
const MONTH_WORDS: &[&str] = &["شهر", "الشهر", "شهري"];
const DAY_WORDS: &[&str] = &["يوم", "يومي"];
const TO_WORDS: &[&str] = &["الي", "حتي", "لغايه"];
const PAST: &[&str] = &[
    "الماضي",
    "الماضيه",
    "المنصرم",
    "المنصرمه",
    "الفايت",
    "الفايته",
];
const PRESENT: &[&str] = &["الجاري", "الجاريه", "الحالي", "الحاليه"];
const FUTURE: &[&str] = &["المقبل", "المقبله", "القادم", "القادمه"];
const THIS: &[&str] = &["هذا", "هذه"];
/// Vague modifiers that are dropped ("early 2022" keeps the value 2022).
const MODIFIERS: &[&str] = &[
    "مطلع",
    "اوايل",
    "بدايه",
    "بدايات",
    "مستهل",
    "اواخر",
    "نهايه",
    "نهايات",
    "اواسط",
    "منتصف",
];
/// Words skipped at the start of an expression.
const LEADING: &[&str] = &[
    "و",
    "ف",
    "ب",
    "ل",
    "ك",
    "في",
    "خلال",
    "حتي",
    "الفتره",
    "تاريخ",
    "بتاريخ",
    "طوال",
    "مع",
    "عند",
    "اعتبارا",
];
/// Clitics and prepositions skipped before an item.
const ITEM_PREFIXES: &[&str] = &["ب", "ل", "ك", "ف", "في"];
/// Parts of the day and their TIMEX3 codes.
const PARTS_OF_DAY: &[(&str, &str)] = &[
    ("صباح", "MO"),
    ("فجر", "MO"),
    ("ضحي", "MO"),
    ("ظهر", "MI"),
    ("ظهيره", "MI"),
    ("عصر", "AF"),
    ("مساء", "EV"),
    ("ليله", "NI"),
];
const ORDINAL_UNITS: &[(&str, u32)] = &[
    ("الاول", 1),
    ("الحادي", 1),
    ("الثاني", 2),
    ("الثالث", 3),
    ("الرابع", 4),
    ("الخامس", 5),
    ("السادس", 6),
    ("السابع", 7),
    ("الثامن", 8),
    ("التاسع", 9),
];
const TWENTIETH: &[&str] = &["العشرين", "العشرون"];
const THIRTIETH: &[&str] = &["الثلاثين", "الثلاثون"];
/// Decade stems: العشرينيات … التسعينيات.
const DECADE_STEMS: &[(&str, u32)] = &[
    ("عشرين", 2),
    ("ثلاثين", 3),
    ("اربعين", 4),
    ("خمسين", 5),
    ("ستين", 6),
    ("سبعين", 7),
    ("ثمانين", 8),
    ("تسعين", 9),
];
const SEASONS: &[(&str, &str)] = &[
    ("ربيع", "SP"),
    ("الربيع", "SP"),
    ("صيف", "SU"),
    ("الصيف", "SU"),
    ("خريف", "FA"),
    ("الخريف", "FA"),
    ("شتاء", "WI"),
    ("الشتاء", "WI"),
];

/// Unit of a duration or relative offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Day,
    Week,
    Month,
    Year,
}

/// Durations that carry their own count (singular and dual).
const COUNTED_UNITS: &[(&str, i64, Unit)] = &[
    ("يوم", 1, Unit::Day),
    ("يوما", 1, Unit::Day),
    ("يومين", 2, Unit::Day),
    ("اسبوع", 1, Unit::Week),
    ("اسبوعا", 1, Unit::Week),
    ("اسبوعين", 2, Unit::Week),
    ("شهر", 1, Unit::Month),
    ("شهرا", 1, Unit::Month),
    ("شهرين", 2, Unit::Month),
    ("عام", 1, Unit::Year),
    ("عاما", 1, Unit::Year),
    ("سنه", 1, Unit::Year),
    ("عامين", 2, Unit::Year),
    ("سنتين", 2, Unit::Year),
];
/// Units after a number (plural after 3–10, singular accusative after 11+).
const PLURAL_UNITS: &[(&str, Unit)] = &[
    ("ايام", Unit::Day),
    ("يوما", Unit::Day),
    ("اسابيع", Unit::Week),
    ("اسبوعا", Unit::Week),
    ("اشهر", Unit::Month),
    ("شهور", Unit::Month),
    ("شهرا", Unit::Month),
    ("اعوام", Unit::Year),
    ("سنوات", Unit::Year),
    ("سنين", Unit::Year),
    ("عاما", Unit::Year),
    ("سنه", Unit::Year),
];
const NUMBER_WORDS: &[(&str, i64)] = &[
    ("ثلاثه", 3),
    ("ثلاث", 3),
    ("اربعه", 4),
    ("اربع", 4),
    ("خمسه", 5),
    ("خمس", 5),
    ("سته", 6),
    ("ست", 6),
    ("سبعه", 7),
    ("سبع", 7),
    ("ثمانيه", 8),
    ("ثماني", 8),
    ("ثمان", 8),
    ("تسعه", 9),
    ("تسع", 9),
    ("عشره", 10),
    ("عشر", 10),
];
/// Other single words the parser reads; clitics are split off only before
/// known words.
const OTHER_WORDS: &[&str] = &[
    "من",
    "بين",
    "ال",
    "الموافق",
    "الموافقه",
    "اليوم",
    "امس",
    "الامس",
    "البارحه",
    "غدا",
    "غد",
    "الغد",
    "اول",
    "غره",
    "قبل",
    "بعد",
    "منذ",
    "الليله",
    "الاسبوع",
    "النصف",
    "الربع",
    "الاخير",
    "فصل",
    "القرن",
    "عقد",
    "العاشر",
    "غايه",
];

/// Folded word lists built once.
struct Lexicon {
    /// Month phrases (one to three words) -> calendar and month.
    months: HashMap<String, (Calendar, u32)>,
    /// Weekday -> (ISO number, written with the article).
    weekdays: HashMap<String, (u32, bool)>,
    /// Decade words -> decade digit.
    decades: HashMap<String, u32>,
    /// Every word the parser knows, for clitic splitting.
    known: HashSet<String>,
    /// Words accepted by `is_date_word`.
    date_words: HashSet<String>,
}

fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(build_lexicon)
}

fn build_lexicon() -> Lexicon {
    let mut months = HashMap::new();
    let mut date_words = HashSet::new();
    for &(name, month) in GREGORIAN_MONTHS {
        let key = fold(name);
        if !key.contains(' ') && !DATE_WORD_EXCLUDED.contains(&key.as_str()) {
            date_words.insert(key.clone());
        }
        months.insert(key, (Calendar::Gregorian, month));
    }
    for &(name, month) in HIJRI_MONTHS {
        months.insert(fold(name), (Calendar::Hijri, month));
    }
    let mut weekdays = HashMap::new();
    for &(name, day) in WEEKDAYS {
        weekdays.insert(name.to_string(), (day, true));
        if let Some(bare) = name.strip_prefix("ال") {
            weekdays.insert(bare.to_string(), (day, false));
        }
        date_words.insert(name.to_string());
    }
    date_words.extend(DATE_WORD_EXTRAS.iter().map(|w| w.to_string()));
    let mut decades = HashMap::new();
    for &(stem, digit) in DECADE_STEMS {
        for form in [
            format!("{stem}يات"),
            format!("{stem}ات"),
            format!("ال{stem}يات"),
            format!("ال{stem}ات"),
        ] {
            decades.insert(form, digit);
        }
    }
    let mut known: HashSet<String> = HashSet::new();
    known.extend(months.keys().flat_map(|k| k.split(' ').map(str::to_string)));
    known.extend(weekdays.keys().cloned());
    known.extend(decades.keys().cloned());
    let lists: [&[&str]; 14] = [
        HIJRI_MARKS,
        GREG_MARKS,
        YEAR_WORDS,
        MONTH_WORDS,
        DAY_WORDS,
        TO_WORDS,
        PAST,
        PRESENT,
        FUTURE,
        THIS,
        MODIFIERS,
        LEADING,
        OTHER_WORDS,
        TWENTIETH,
    ];
    known.extend(lists.iter().flat_map(|l| l.iter().map(|w| w.to_string())));
    known.extend(THIRTIETH.iter().map(|w| w.to_string()));
    known.extend(PARTS_OF_DAY.iter().map(|(w, _)| w.to_string()));
    known.extend(ORDINAL_UNITS.iter().map(|(w, _)| w.to_string()));
    known.extend(SEASONS.iter().map(|(w, _)| w.to_string()));
    known.extend(COUNTED_UNITS.iter().map(|(w, _, _)| w.to_string()));
    known.extend(PLURAL_UNITS.iter().map(|(w, _)| w.to_string()));
    known.extend(NUMBER_WORDS.iter().map(|(w, _)| w.to_string()));
    Lexicon {
        months,
        weekdays,
        decades,
        known,
        date_words,
    }
}

// ---------------------------------------------------------------------------
// Folding and tokens
// ---------------------------------------------------------------------------

/// Maps a character to its folded form ([`text::fold`](crate::text::fold)),
/// with digits of every script as ASCII and Arabic punctuation as its
/// Latin twin; `None` drops it.
fn fold_char(c: char) -> Option<char> {
    let folded = match crate::text::fold::fold_char(c)? {
        c @ '٠'..='٩' => char::from_digit(c as u32 - 0x0660, 10)?,
        c @ '۰'..='۹' => char::from_digit(c as u32 - 0x06F0, 10)?,
        '،' | '٬' => ',',
        '؛' => ';',
        '٫' => '.',
        '؍' => '/',
        '–' | '—' | '‐' | '‑' | '−' => '-',
        c => c,
    };
    Some(folded)
}

fn fold(text: &str) -> String {
    text.chars().filter_map(fold_char).collect()
}

/// A token of a folded date expression.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A word (letters only).
    W(String),
    /// A number and its count of digits.
    N { value: u32, digits: usize },
    /// Numbers joined by one separator, such as `15/1/1959`.
    Nums { parts: Vec<(u32, usize)>, sep: char },
    /// Punctuation that can matter: `/`, `-`, `(`, `)` and anything unknown.
    P(char),
}

/// Punctuation that never changes the meaning of a date.
const IGNORED_PUNCT: &[char] = &[',', '.', ';', ':', '"', '\'', '«', '»', '!', '?', '؟'];

/// Folds, tokenizes and splits attached clitics off known words.
fn tokens(text: &str) -> Vec<Tok> {
    let chars: Vec<char> = text.chars().filter_map(fold_char).collect();
    let mut raw = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let mut parts = Vec::new();
            let mut sep: Option<char> = None;
            let mut mixed = false;
            loop {
                let start = i;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                parts.push(number(&chars[start..i]));
                let joins = i + 1 < chars.len()
                    && matches!(chars[i], '/' | '-' | '.')
                    && chars[i + 1].is_ascii_digit();
                if !joins {
                    break;
                }
                mixed |= sep.is_some_and(|s| s != chars[i]);
                sep = Some(chars[i]);
                i += 1;
            }
            match (parts.as_slice(), sep) {
                (&[(value, digits)], _) => raw.push(Tok::N { value, digits }),
                // "2020-2022", "13-15": a range, like "2020 - 2022"
                (&[a, b], Some('-')) if !mixed => {
                    raw.push(Tok::N {
                        value: a.0,
                        digits: a.1,
                    });
                    raw.push(Tok::P('-'));
                    raw.push(Tok::N {
                        value: b.0,
                        digits: b.1,
                    });
                }
                (_, Some(s)) if !mixed => raw.push(Tok::Nums { parts, sep: s }),
                _ => raw.push(Tok::P('?')),
            }
        } else if c.is_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_alphabetic() {
                i += 1;
            }
            raw.push(Tok::W(chars[start..i].iter().collect()));
        } else {
            if !IGNORED_PUNCT.contains(&c) {
                raw.push(Tok::P(c));
            }
            i += 1;
        }
    }
    split_clitics(raw)
}

/// Value and digit count of a run of ASCII digits (saturating).
fn number(digits: &[char]) -> (u32, usize) {
    let value = digits.iter().try_fold(0u32, |acc, d| {
        acc.checked_mul(10)?.checked_add(d.to_digit(10)?)
    });
    (value.unwrap_or(u32::MAX), digits.len())
}

/// Splits leading clitics (و ف, then ب ل ك; لل = ل + ال) off words that are
/// unknown as written but known without them, and splits words made only of
/// clitics (وال before a number) into their parts.
fn split_clitics(toks: Vec<Tok>) -> Vec<Tok> {
    let known = &lexicon().known;
    let mut out = Vec::with_capacity(toks.len());
    for tok in toks {
        let Tok::W(word) = tok else {
            out.push(tok);
            continue;
        };
        if known.contains(&word) {
            out.push(Tok::W(word));
            continue;
        }
        let mut split = None;
        for prefix in clitic_prefixes(&word) {
            let rest = word[prefix..].to_string();
            if known.contains(&rest) {
                split = Some((prefix, rest));
                break;
            }
            // لل + word = ل + ال + word
            if word[..prefix].ends_with('ل') && rest.starts_with('ل') {
                let with_article = format!("ا{rest}");
                if known.contains(&with_article) {
                    split = Some((prefix, with_article));
                    break;
                }
            }
        }
        match split {
            Some((prefix, rest)) => {
                out.extend(word[..prefix].chars().map(|c| Tok::W(c.to_string())));
                out.push(Tok::W(rest));
            }
            None => match clitics_only(&word) {
                Some(parts) => out.extend(parts.into_iter().map(Tok::W)),
                None => out.push(Tok::W(word)),
            },
        }
    }
    out
}

/// `وال`, `بال`, `و` ... split into single clitics and the article.
fn clitics_only(word: &str) -> Option<Vec<String>> {
    let mut rest = word;
    let mut parts = Vec::new();
    if let Some(r) = rest.strip_prefix('و').or_else(|| rest.strip_prefix('ف')) {
        parts.push(rest[..rest.len() - r.len()].to_string());
        rest = r;
    }
    for p in ['ب', 'ل', 'ك'] {
        if let Some(r) = rest.strip_prefix(p) {
            parts.push(p.to_string());
            rest = r;
            break;
        }
    }
    if rest == "ال" {
        parts.push("ال".to_string());
        rest = "";
    }
    (rest.is_empty() && !parts.is_empty()).then_some(parts)
}

/// `ق.م`, `قبل الميلاد`, `قبل الهجرة`: dates before an era are out of scope.
fn names_era_before(toks: &[Tok]) -> bool {
    toks.windows(2).any(|pair| match pair {
        [Tok::W(a), Tok::W(b)] => {
            (a == "ق" && b == "م") || (a == "قبل" && (b == "الميلاد" || b == "الهجره"))
        }
        _ => false,
    })
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

struct Ctx {
    reference: Option<Ymd>,
}

#[derive(Clone, Copy)]
struct Cursor<'a> {
    toks: &'a [Tok],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(toks: &'a [Tok]) -> Self {
        Cursor { toks, pos: 0 }
    }

    fn peek(&self) -> Option<&'a Tok> {
        self.toks.get(self.pos)
    }

    fn word_at(&self, ahead: usize) -> Option<&'a str> {
        match self.toks.get(self.pos + ahead) {
            Some(Tok::W(w)) => Some(w.as_str()),
            _ => None,
        }
    }

    fn word(&self) -> Option<&'a str> {
        self.word_at(0)
    }

    fn is_word(&self, set: &[&str]) -> bool {
        self.word().is_some_and(|w| set.contains(&w))
    }

    /// Consumes the current word if it is in `set`.
    fn eat(&mut self, set: &[&str]) -> Option<&'a str> {
        let w = self.word().filter(|w| set.contains(w))?;
        self.pos += 1;
        Some(w)
    }

    fn eat_punct(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(&Tok::P(c));
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn num(&self) -> Option<(u32, usize)> {
        match self.peek() {
            Some(&Tok::N { value, digits }) => Some((value, digits)),
            _ => None,
        }
    }

    fn bump(&mut self) {
        self.pos += 1;
    }

    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }
}

/// Runs `f` on a copy of the cursor and keeps its progress only on success.
fn attempt<'a, T>(c: &mut Cursor<'a>, f: impl FnOnce(&mut Cursor<'a>) -> Option<T>) -> Option<T> {
    let mut trial = *c;
    let out = f(&mut trial)?;
    *c = trial;
    Some(out)
}

/// A date as far as the text specifies it.
#[derive(Debug, Clone, Default)]
struct Partial {
    weekday: Option<u32>,
    day: Option<u32>,
    month: Option<u32>,
    /// Calendar implied by the month name.
    month_cal: Option<Calendar>,
    year: Option<i32>,
    /// Calendar stated by a marker (هـ, م ...).
    year_cal: Option<Calendar>,
    /// The year came after عام/سنة.
    year_word: bool,
    /// Half, quarter or season code.
    sub: Option<&'static str>,
}

impl Partial {
    fn from_ymd(date: Ymd) -> Self {
        Partial {
            day: Some(date.day),
            month: Some(date.month),
            year: Some(date.year),
            year_cal: Some(Calendar::Gregorian),
            ..Partial::default()
        }
    }

    fn set_year_cal(&mut self, cal: Calendar) -> Option<()> {
        match self.year_cal {
            Some(c) if c != cal => None,
            _ => {
                self.year_cal = Some(cal);
                Some(())
            }
        }
    }
}

/// One date-like unit of an expression.
#[derive(Debug, Clone)]
enum Point {
    Date(Partial),
    /// ISO week-numbering year and week.
    Week(i32, u32),
    /// A decade or century value.
    Coarse(String, Calendar),
}

impl Point {
    /// Months and coarser periods, the only ones a vague modifier may touch.
    fn is_month_or_coarser(&self) -> bool {
        match self {
            Point::Date(p) => p.day.is_none() && p.weekday.is_none(),
            Point::Week(..) => false,
            Point::Coarse(..) => true,
        }
    }
}

struct Item {
    point: Point,
    /// TIMEX3 part-of-day code.
    pod: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    Plain,
    /// من X إلى Y
    From,
    /// بين X و Y
    Between,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conj {
    And,
    To,
}

fn parse_expression(toks: &[Tok], ctx: &Ctx) -> Option<DateValue> {
    let mut c = Cursor::new(toks);
    while c.eat(LEADING).is_some() {}
    if c.is_word(&["قبل", "منذ", "بعد"]) {
        if let Some(point) = attempt(&mut c, |c| parse_offset(c, ctx)) {
            return single_value(Item { point, pod: None });
        }
        let idiom = matches!(
            (c.word(), c.word_at(1)),
            (Some("قبل"), Some("امس")) | (Some("بعد"), Some("غد" | "غدا"))
        );
        if c.eat(&["منذ"]).is_some() {
            // "منذ عام 2020": since that date, whose value it is.
            while c.eat(LEADING).is_some() {}
        } else if !idiom {
            // "قبل 2022" (before 2022) is not 2022.
            return None;
        }
    }
    let kind = if c.eat(&["من"]).is_some() {
        RangeKind::From
    } else if c.eat(&["بين"]).is_some() {
        RangeKind::Between
    } else {
        RangeKind::Plain
    };
    let mut items = vec![parse_item(&mut c, ctx)?];
    let mut conjs = Vec::new();
    while !c.at_end() {
        let conj = if c.eat(&["و"]).is_some() {
            if c.eat(TO_WORDS).is_some() {
                Conj::To
            } else {
                Conj::And
            }
        } else if c.eat(TO_WORDS).is_some() || c.eat_punct('-') {
            Conj::To
        } else {
            return None;
        };
        c.eat(&["غايه"]);
        conjs.push(conj);
        items.push(parse_item(&mut c, ctx)?);
    }
    combine(kind, items, &conjs)
}

fn parse_item(c: &mut Cursor, ctx: &Ctx) -> Option<Item> {
    while c.eat(ITEM_PREFIXES).is_some() {}
    let mut pod = None;
    if let Some(word) = c.word() {
        if let Some(&(_, code)) = PARTS_OF_DAY.iter().find(|(w, _)| *w == word) {
            c.bump();
            if code == "NI" {
                // ليلة أمس only: ليلة + a date can mean the eve before it.
                c.eat(&["امس", "الامس", "البارحه"])?;
                let date = ctx.reference?.add_days(-1);
                return Some(Item {
                    point: Point::Date(Partial::from_ymd(date)),
                    pod: Some(code),
                });
            }
            pod = Some(code);
        } else if word == "الليله" {
            c.bump();
            let today = ctx.reference?;
            return Some(Item {
                point: Point::Date(Partial::from_ymd(today)),
                pod: Some("NI"),
            });
        }
    }
    let modified = c.eat(MODIFIERS).is_some();
    let point = if let Some(p) = attempt(c, |c| parse_coarse(c, ctx)) {
        p
    } else if let Some(p) = attempt(c, |c| parse_relative_day(c, ctx)) {
        p
    } else if let Some(p) = attempt(c, |c| parse_relative_week(c, ctx)) {
        p
    } else if let Some(p) = attempt(c, |c| parse_subyear(c, ctx)) {
        p
    } else {
        parse_date(c, ctx)?
    };
    if modified && !point.is_month_or_coarser() {
        return None;
    }
    Some(Item { point, pod })
}

/// الماضي -> -1, الجاري -> 0, المقبل -> +1.
fn rel_direction(c: &mut Cursor) -> Option<i32> {
    if c.eat(PAST).is_some() {
        Some(-1)
    } else if c.eat(PRESENT).is_some() {
        Some(0)
    } else if c.eat(FUTURE).is_some() {
        Some(1)
    } else {
        None
    }
}

/// `هذا <unit>` or `<unit> الماضي/الجاري/المقبل`, as an offset.
fn rel_period(c: &mut Cursor, unit_words: &[&str]) -> Option<i32> {
    if c.eat(THIS).is_some() {
        c.eat(unit_words)?;
        return Some(0);
    }
    c.eat(unit_words)?;
    rel_direction(c)
}

fn add_months(year: i32, month: u32, offset: i64) -> (i32, u32) {
    let index = i64::from(year) * 12 + i64::from(month) - 1 + offset;
    (
        index.div_euclid(12) as i32,
        (index.rem_euclid(12) + 1) as u32,
    )
}

/// اليوم, أمس, غدا, أول أمس, بعد غد, يوم أمس, اليوم الخميس ...
fn parse_relative_day(c: &mut Cursor, ctx: &Ctx) -> Option<Point> {
    let day_word = c.eat(DAY_WORDS).is_some();
    let offset = if !day_word && c.eat(&["اليوم"]).is_some() {
        0
    } else if c.eat(&["امس", "الامس", "البارحه"]).is_some() {
        if c.eat(&["الاول"]).is_some() {
            -2
        } else {
            -1
        }
    } else if c.eat(&["غدا", "غد", "الغد"]).is_some() {
        1
    } else if c.eat(&["اول"]).is_some() {
        c.eat(&["من"]);
        c.eat(&["امس", "الامس"])?;
        -2
    } else if c.eat(&["قبل"]).is_some() {
        c.eat(&["امس"])?;
        -2
    } else if c.eat(&["بعد"]).is_some() {
        c.eat(&["غد", "غدا"])?;
        2
    } else {
        return None;
    };
    let date = ctx.reference?.add_days(offset);
    // "اليوم الخميس": the weekday must be that day's.
    if let Some(&(weekday, true)) = c.word().and_then(|w| lexicon().weekdays.get(w)) {
        c.bump();
        if weekday != date.weekday() {
            return None;
        }
    }
    Some(Point::Date(Partial::from_ymd(date)))
}

/// الأسبوع الماضي, هذا الأسبوع ...
fn parse_relative_week(c: &mut Cursor, ctx: &Ctx) -> Option<Point> {
    let offset = rel_period(c, &["الاسبوع"])?;
    let day = ctx.reference?.add_days(7 * i64::from(offset));
    let (year, week) = day.iso_week();
    Some(Point::Week(year, week))
}

/// قبل/منذ/بعد + a count of days, weeks, months or years.
fn parse_offset(c: &mut Cursor, ctx: &Ctx) -> Option<Point> {
    let sign = match c.eat(&["قبل", "منذ", "بعد"])? {
        "بعد" => 1,
        _ => -1,
    };
    let (count, unit) = parse_duration(c)?;
    if !c.at_end() {
        return None;
    }
    let reference = ctx.reference?;
    let offset = sign * count;
    Some(match unit {
        Unit::Day => Point::Date(Partial::from_ymd(reference.add_days(offset))),
        Unit::Week => {
            let (year, week) = reference.add_days(7 * offset).iso_week();
            Point::Week(year, week)
        }
        Unit::Month => {
            let (year, month) = add_months(reference.year, reference.month, offset);
            Point::Date(Partial {
                month: Some(month),
                year: Some(year),
                year_cal: Some(Calendar::Gregorian),
                ..Partial::default()
            })
        }
        Unit::Year => Point::Date(Partial {
            year: Some(reference.year + i32::try_from(offset).ok()?),
            year_cal: Some(Calendar::Gregorian),
            ..Partial::default()
        }),
    })
}

fn parse_duration(c: &mut Cursor) -> Option<(i64, Unit)> {
    let word = c.word();
    if let Some(&(_, count, unit)) = COUNTED_UNITS.iter().find(|(w, _, _)| Some(*w) == word) {
        c.bump();
        return Some((count, unit));
    }
    let count = if let Some((value, digits)) = c.num() {
        if digits > 3 {
            return None;
        }
        c.bump();
        i64::from(value)
    } else {
        let &(_, n) = NUMBER_WORDS.iter().find(|(w, _)| Some(*w) == word)?;
        c.bump();
        n
    };
    let unit_word = c.word();
    let &(_, unit) = PLURAL_UNITS.iter().find(|(w, _)| Some(*w) == unit_word)?;
    c.bump();
    Some((count, unit))
}

/// Decades (`ثمانينيات القرن العشرين`) and centuries (`القرن التاسع عشر`).
fn parse_coarse(c: &mut Cursor, ctx: &Ctx) -> Option<Point> {
    let decade_word = c.eat(&["عقد"]).is_some();
    if let Some(&digit) = c.word().and_then(|w| lexicon().decades.get(w)) {
        c.bump();
        c.eat(&["من"]);
        let (century, cal) = parse_century(c, ctx)?;
        return Some(Point::Coarse(format!("{:02}{digit}", century - 1), cal));
    }
    if decade_word {
        return None;
    }
    let (century, cal) = parse_century(c, ctx)?;
    Some(Point::Coarse(format!("{:02}", century - 1), cal))
}

/// `القرن` + ordinal, number or الماضي/الحالي; returns the ordinal century
/// (20 for the twentieth) and its calendar.
fn parse_century(c: &mut Cursor, ctx: &Ctx) -> Option<(i32, Calendar)> {
    c.eat(&["القرن"])?;
    let mut marks = Partial::default();
    let (century, relative) = if let Some(direction) = rel_direction(c) {
        let reference = ctx.reference?;
        ((reference.year - 1).div_euclid(100) + 1 + direction, true)
    } else {
        c.eat(&["ال"]);
        let n = match c.num() {
            Some((n, digits)) if digits <= 2 => {
                c.bump();
                n
            }
            Some(_) => return None,
            None => parse_ordinal(c)?,
        };
        (i32::try_from(n).ok()?, false)
    };
    while let Some(cal) = eat_marker(c) {
        marks.set_year_cal(cal)?;
    }
    let cal = marks.year_cal.unwrap_or(Calendar::Gregorian);
    if relative && cal == Calendar::Hijri {
        return None;
    }
    (1..=30).contains(&century).then_some((century, cal))
}

/// An Arabic ordinal from 1 to 39 (الأول … التاسع والثلاثين).
fn parse_ordinal(c: &mut Cursor) -> Option<u32> {
    if c.eat(&["العاشر"]).is_some() {
        return Some(10);
    }
    if c.eat(TWENTIETH).is_some() {
        return Some(20);
    }
    if c.eat(THIRTIETH).is_some() {
        return Some(30);
    }
    let word = c.word()?;
    let &(_, unit) = ORDINAL_UNITS.iter().find(|(w, _)| *w == word)?;
    c.bump();
    if word != "الاول" {
        if c.eat(&["عشر"]).is_some() {
            return Some(10 + unit);
        }
        // الحادي والعشرين
        if c.is_word(&["و"]) {
            let tens = match c.word_at(1) {
                Some(w) if TWENTIETH.contains(&w) => Some(20),
                Some(w) if THIRTIETH.contains(&w) => Some(30),
                _ => None,
            };
            if let Some(tens) = tens {
                c.bump();
                c.bump();
                return Some(tens + unit);
            }
        }
    }
    (word != "الحادي").then_some(unit)
}

/// Halves, quarters and seasons of a year.
fn parse_subyear(c: &mut Cursor, ctx: &Ctx) -> Option<Point> {
    let sub = if c.eat(&["النصف"]).is_some() {
        match c
            .eat(&["الاخير"])
            .map_or_else(|| parse_ordinal(c), |_| Some(2))?
        {
            1 => "H1",
            2 => "H2",
            _ => return None,
        }
    } else if c.eat(&["الربع"]).is_some() {
        match c
            .eat(&["الاخير"])
            .map_or_else(|| parse_ordinal(c), |_| Some(4))?
        {
            1 => "Q1",
            2 => "Q2",
            3 => "Q3",
            4 => "Q4",
            _ => return None,
        }
    } else {
        c.eat(&["فصل"]);
        let word = c.word()?;
        let &(_, code) = SEASONS.iter().find(|(w, _)| *w == word)?;
        c.bump();
        code
    };
    let mut p = Partial {
        sub: Some(sub),
        ..Partial::default()
    };
    parse_year_slot(c, ctx, &mut p)?;
    p.year?;
    Some(Point::Date(p))
}

/// The longest month name (one to three words) at the cursor.
fn month_at(c: &Cursor) -> Option<(usize, Calendar, u32)> {
    let months = &lexicon().months;
    (1..=3).rev().find_map(|n| {
        let words: Option<Vec<&str>> = (0..n).map(|k| c.word_at(k)).collect();
        let &(cal, month) = months.get(&words?.join(" "))?;
        Some((n, cal, month))
    })
}

/// True if a month follows, possibly after من: a month name (after an
/// optional شهر) or a relative month (الشهر الجاري, هذا الشهر).
fn month_ahead(c: &Cursor) -> bool {
    let mut look = *c;
    look.eat(&["من"]);
    if look.is_word(&["الشهر", "هذا"]) {
        return true;
    }
    look.eat(MONTH_WORDS);
    month_at(&look).is_some()
}

/// A calendar date: `[يوم] [weekday] [day] [من] [month] [year] [marker]`,
/// a numeric date, or relative months and years.
fn parse_date(c: &mut Cursor, ctx: &Ctx) -> Option<Point> {
    let start = c.pos;
    let mut p = Partial::default();
    let day_word = c.eat(DAY_WORDS).is_some();
    if let Some(&(weekday, article)) = c.word().and_then(|w| lexicon().weekdays.get(w)) {
        if !article && !day_word {
            return None;
        }
        c.bump();
        if let Some(direction) = rel_direction(c) {
            let date = relative_weekday(ctx.reference?, weekday, direction)?;
            return Some(Point::Date(Partial::from_ymd(date)));
        }
        p.weekday = Some(weekday);
    }
    if let Some(Tok::Nums { parts, sep }) = c.peek() {
        c.bump();
        numeric_date(parts, *sep, &mut p)?;
        while let Some(cal) = eat_marker(c) {
            p.set_year_cal(cal)?;
        }
        return Some(Point::Date(p));
    }
    if let Some(day) = attempt(c, parse_day) {
        p.day = Some(day);
        if month_ahead(c) {
            c.eat(&["من"]);
        }
    }
    // يوم names a day: a weekday or a day of the month must follow.
    if day_word && p.weekday.is_none() && p.day.is_none() {
        return None;
    }
    parse_month_slot(c, ctx, &mut p)?;
    parse_year_slot(c, ctx, &mut p)?;
    (c.pos > start).then_some(Point::Date(p))
}

/// A day of the month: a number, `الـ13`, an ordinal (الخامس من), or
/// أول/غرة before a month name.
fn parse_day(c: &mut Cursor) -> Option<u32> {
    let article = c.eat(&["ال"]).is_some();
    if let Some((value, digits)) = c.num() {
        if digits <= 2 && (1..=31).contains(&value) {
            c.bump();
            return Some(value);
        }
        return None;
    }
    if article {
        return None;
    }
    if c.eat(&["اول", "غره"]).is_some() {
        return month_ahead(c).then_some(1);
    }
    let day = parse_ordinal(c)?;
    let followed = month_ahead(c) || c.is_word(&["و"]) || c.is_word(TO_WORDS);
    (followed && day <= 31).then_some(day)
}

fn parse_month_slot(c: &mut Cursor, ctx: &Ctx, p: &mut Partial) -> Option<()> {
    if let Some(offset) = attempt(c, |c| rel_period(c, &["الشهر"])) {
        let reference = ctx.reference?;
        let (year, month) = add_months(reference.year, reference.month, i64::from(offset));
        p.month = Some(month);
        p.year = Some(year);
        p.year_cal = Some(Calendar::Gregorian);
        return Some(());
    }
    let month_word = c.eat(MONTH_WORDS).is_some();
    let Some((len, cal, month)) = month_at(c) else {
        // شهر without a month name is not a date here.
        return (!month_word).then_some(());
    };
    c.pos += len;
    p.month = Some(month);
    p.month_cal = Some(cal);
    eat_alternate_month(c, cal, month)?;
    if let Some(direction) = rel_direction(c) {
        let year = relative_month_year(ctx.reference?, cal, month, direction)?;
        p.year = Some(year);
    }
    Some(())
}

/// `كانون الثاني (يناير)`, `يناير/كانون الثاني`, `آذار - مارس`: the same
/// month in another series of the same calendar.  A different month after
/// `(` or `/` contradicts the first and gives `None`.
fn eat_alternate_month(c: &mut Cursor, cal: Calendar, month: u32) -> Option<()> {
    let mut look = *c;
    let paren = look.eat_punct('(');
    let slash = !paren && look.eat_punct('/');
    if !paren && !slash {
        look.eat_punct('-');
    }
    let Some((len, other_cal, other)) = month_at(&look) else {
        return Some(());
    };
    if (other_cal, other) != (cal, month) {
        // After "-" a different month ends a range ("يناير - مارس").
        return (!paren && !slash).then_some(());
    }
    look.pos += len;
    if paren && !look.eat_punct(')') {
        return None;
    }
    *c = look;
    Some(())
}

/// The year slot: `[من] [ل] [عام|سنة] [marker] [ال]NNNN [marker]`, or a
/// relative year (العام الماضي, هذا العام).
fn parse_year_slot(c: &mut Cursor, ctx: &Ctx, p: &mut Partial) -> Option<()> {
    if p.year.is_some() {
        return Some(());
    }
    let save = *c;
    c.eat(&["من"]);
    c.eat(&["ل"]);
    if let Some(offset) = attempt(c, |c| rel_period(c, &["العام", "السنه"])) {
        p.year = Some(ctx.reference?.year + offset);
        p.year_cal = Some(Calendar::Gregorian);
        return Some(());
    }
    let year_word = c.eat(YEAR_WORDS).is_some();
    while let Some(cal) = eat_marker(c) {
        p.set_year_cal(cal)?;
    }
    c.eat(&["ال"]);
    let marker_next =
        matches!(c.word_at(1), Some(w) if HIJRI_MARKS.contains(&w) || GREG_MARKS.contains(&w));
    match c.num() {
        Some((value, digits)) if digits == 4 || (digits == 3 && (year_word || marker_next)) => {
            c.bump();
            p.year = Some(i32::try_from(value).ok()?);
            p.year_word = year_word;
        }
        _ if year_word || p.year_cal.is_some() => return None,
        _ => {
            *c = save;
            return Some(());
        }
    }
    while let Some(cal) = eat_marker(c) {
        p.set_year_cal(cal)?;
    }
    Some(())
}

fn eat_marker(c: &mut Cursor) -> Option<Calendar> {
    if c.eat(HIJRI_MARKS).is_some() {
        Some(Calendar::Hijri)
    } else if c.eat(GREG_MARKS).is_some() {
        Some(Calendar::Gregorian)
    } else {
        None
    }
}

/// `15/1/1959`, `2022-01-13`, `13.01.2022`, `1/2022`.
fn numeric_date(parts: &[(u32, usize)], sep: char, p: &mut Partial) -> Option<()> {
    let (year, month, day) = match *parts {
        [(y, 4), (m, 1..=2), (d, 1..=2)] => (y, m, Some(d)),
        [(d, 1..=2), (m, 1..=2), (y, 4)] => (y, m, Some(d)),
        [(m, 1..=2), (y, 4)] if sep == '/' => (y, m, None),
        [(y, 4), (m, 1..=2)] if sep == '/' => (y, m, None),
        _ => return None,
    };
    if !(1..=12).contains(&month) {
        return None;
    }
    p.year = Some(i32::try_from(year).ok()?);
    p.month = Some(month);
    p.day = day;
    Some(())
}

/// The most recent (direction -1) or next (+1) `weekday` strictly before or
/// after the reference.
fn relative_weekday(reference: Ymd, weekday: u32, direction: i32) -> Option<Ymd> {
    let today = i64::from(reference.weekday());
    let target = i64::from(weekday);
    match direction {
        -1 => {
            let back = (today - target).rem_euclid(7);
            Some(reference.add_days(-if back == 0 { 7 } else { back }))
        }
        1 => {
            let ahead = (target - today).rem_euclid(7);
            Some(reference.add_days(if ahead == 0 { 7 } else { ahead }))
        }
        _ => None,
    }
}

/// Year of `يناير الماضي` / `رمضان المقبل` / `مارس الجاري`; the reference
/// month itself is ambiguous with الماضي/المقبل.
fn relative_month_year(reference: Ymd, cal: Calendar, month: u32, direction: i32) -> Option<i32> {
    let (year, current) = match cal {
        Calendar::Gregorian => (reference.year, reference.month),
        Calendar::Hijri => {
            let (y, m, _) = gregorian_to_hijri(reference);
            (y, m)
        }
    };
    match (direction, month.cmp(&current)) {
        (0, Equal) => Some(year),
        (-1, Less) | (1, Greater) => Some(year),
        (-1, Greater) => Some(year - 1),
        (1, Less) => Some(year + 1),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Resolution
// ---------------------------------------------------------------------------

/// A checked date ready to be written as a value.
#[derive(Debug, Clone)]
struct Resolved {
    cal: Calendar,
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    sub: Option<&'static str>,
    /// Set only for a bare weekday.
    weekday_only: Option<u32>,
    /// Gregorian day of a Hijri date.
    gregorian: Option<Ymd>,
}

impl Resolved {
    fn value(&self) -> String {
        if let Some(weekday) = self.weekday_only {
            return format!("XXXX-WXX-{weekday}");
        }
        let year = self
            .year
            .map_or_else(|| "XXXX".to_string(), |y| format!("{y:04}"));
        match (self.month, self.day, self.sub) {
            (_, _, Some(sub)) => format!("{year}-{sub}"),
            (Some(m), Some(d), None) => format!("{year}-{m:02}-{d:02}"),
            (Some(m), None, None) => format!("{year}-{m:02}"),
            _ => year,
        }
    }

    /// Which fields are present; items of a range must agree.
    fn shape(&self) -> (Calendar, bool, bool, bool) {
        (
            self.cal,
            self.year.is_some(),
            self.month.is_some(),
            self.day.is_some(),
        )
    }

    /// Position on the time line at the value's granularity; consecutive
    /// values differ by one (except across months when the year is unknown).
    fn key(&self) -> i64 {
        let y = self.year.map(i64::from);
        let m = i64::from(self.month.unwrap_or(0));
        match (y, self.month, self.day) {
            (Some(y), Some(_), Some(d)) => match self.cal {
                Calendar::Gregorian => Ymd {
                    year: y as i32,
                    month: m as u32,
                    day: d,
                }
                .to_days(),
                Calendar::Hijri => hijri_to_days(y as i32, m as u32, d),
            },
            (None, Some(_), Some(d)) => m * 32 + i64::from(d),
            (Some(y), Some(_), None) => y * 12 + m,
            (None, Some(_), None) => m,
            (Some(y), None, _) => y,
            (None, None, _) => 0,
        }
    }
}

fn resolve(p: &Partial) -> Option<Resolved> {
    let cal = match (p.month_cal, p.year_cal) {
        (Some(a), Some(b)) if a != b => return None,
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => Calendar::Gregorian,
    };
    let explicit_cal = p.month_cal.is_some() || p.year_cal.is_some();
    if let Some(year) = p.year {
        if !VALUE_YEARS.contains(&year) {
            return None;
        }
        // Hijri years of the last two centuries look like Gregorian ones.
        if !explicit_cal && (1300..=1500).contains(&year) {
            return None;
        }
        if cal == Calendar::Hijri && year > 1600 {
            return None;
        }
        // A bare number is a year only in a plausible range.
        let bare = !p.year_word && p.month.is_none() && p.sub.is_none() && !explicit_cal;
        if bare && !(1000..=2199).contains(&year) {
            return None;
        }
    }
    let base = Resolved {
        cal,
        year: p.year,
        month: p.month,
        day: p.day,
        sub: p.sub,
        weekday_only: None,
        gregorian: None,
    };
    if p.year.is_none() && p.month.is_none() && p.day.is_none() && p.sub.is_none() {
        let weekday = p.weekday?;
        return Some(Resolved {
            cal: Calendar::Gregorian,
            weekday_only: Some(weekday),
            ..base
        });
    }
    if p.sub.is_some() && (p.year.is_none() || p.month.is_some() || p.day.is_some()) {
        return None;
    }
    if p.day.is_some() && p.month.is_none() {
        return None;
    }
    if p.weekday.is_some() && p.day.is_none() {
        return None;
    }
    let (Some(month), Some(day)) = (p.month, p.day) else {
        return Some(base);
    };
    match cal {
        Calendar::Gregorian => {
            // Without a year, 29 February may still exist.
            let max = days_in_month(p.year.unwrap_or(2000), month);
            if day == 0 || day > max {
                return None;
            }
            if let (Some(year), Some(weekday)) = (p.year, p.weekday) {
                if (Ymd { year, month, day }).weekday() != weekday {
                    return None;
                }
            }
            Some(base)
        }
        Calendar::Hijri => {
            // Sighting-based calendars have 30-day months the tabular one
            // lacks; such a day keeps its Hijri value without a Gregorian one.
            if day == 0 || day > 30 {
                return None;
            }
            let tabular = p.year.and_then(|y| hijri_to_gregorian(y, month, day));
            let gregorian = match (tabular, p.weekday) {
                // A written weekday picks the day within one of the
                // arithmetical one.
                (Some(g), Some(weekday)) => [0, -1, 1]
                    .into_iter()
                    .map(|shift| g.add_days(shift))
                    .find(|d| d.weekday() == weekday),
                (g, _) => g,
            };
            Some(Resolved { gregorian, ..base })
        }
    }
}

fn single_value(item: Item) -> Option<DateValue> {
    match item.point {
        Point::Date(p) => {
            let r = resolve(&p)?;
            let mut value = r.value();
            if let Some(pod) = item.pod {
                if r.day.is_none() && r.weekday_only.is_none() {
                    return None;
                }
                value.push('T');
                value.push_str(pod);
            }
            Some(DateValue {
                value,
                calendar: r.cal,
                gregorian: r
                    .gregorian
                    .filter(|g| VALUE_YEARS.contains(&g.year))
                    .map(|g| g.to_string()),
            })
        }
        Point::Week(year, week) => {
            (item.pod.is_none() && VALUE_YEARS.contains(&year)).then(|| DateValue {
                value: format!("{year:04}-W{week:02}"),
                calendar: Calendar::Gregorian,
                gregorian: None,
            })
        }
        Point::Coarse(value, calendar) => item.pod.is_none().then_some(DateValue {
            value,
            calendar,
            gregorian: None,
        }),
    }
}

/// Copies the fields that `to` leaves to its partner: "13 و14 يناير 2022"
/// gives 13 the month and year of 14.
fn inherit(to: &mut Partial, from: &Partial) {
    if to.day.is_some() && to.month.is_none() {
        to.month = from.month;
        to.month_cal = from.month_cal;
    }
    if to.year.is_none() && to.month.is_some() && to.sub.is_none() {
        to.year = from.year;
        to.year_word = from.year_word;
    }
    if to.year_cal.is_none() && to.month_cal.is_none() {
        to.year_cal = from.year_cal;
    }
}

fn combine(kind: RangeKind, items: Vec<Item>, conjs: &[Conj]) -> Option<DateValue> {
    if items.len() == 1 {
        if kind == RangeKind::Between {
            return None;
        }
        return single_value(items.into_iter().next()?);
    }
    let interval = match kind {
        RangeKind::Between => items.len() == 2 && conjs == [Conj::And],
        RangeKind::From => items.len() == 2 && conjs == [Conj::To],
        RangeKind::Plain if conjs.iter().all(|&c| c == Conj::And) => false,
        RangeKind::Plain => items.len() == 2,
    };
    if kind != RangeKind::Plain && !interval {
        return None;
    }
    if conjs.contains(&Conj::To) && !interval {
        return None;
    }
    let mut parts = items
        .into_iter()
        .map(|item| match (item.point, item.pod) {
            (Point::Date(p), None) if p.sub.is_none() => Some(p),
            _ => None,
        })
        .collect::<Option<Vec<Partial>>>()?;
    let last = parts.last()?.clone();
    let n = parts.len();
    for p in &mut parts[..n - 1] {
        inherit(p, &last);
    }
    let first = parts[0].clone();
    if let Some(end) = parts.last_mut() {
        inherit(end, &first);
    }
    let resolved = parts.iter().map(resolve).collect::<Option<Vec<_>>>()?;
    let (head, tail) = (resolved.first()?, resolved.last()?);
    if resolved.iter().any(|r| r.weekday_only.is_some()) {
        return None;
    }
    for pair in resolved.windows(2) {
        if pair[0].shape() != pair[1].shape() || pair[0].key() >= pair[1].key() {
            return None;
        }
        if !interval && pair[1].key() != pair[0].key() + 1 {
            return None;
        }
    }
    let gregorian = match (head.gregorian, tail.gregorian) {
        (Some(a), Some(b)) if VALUE_YEARS.contains(&a.year) && VALUE_YEARS.contains(&b.year) => {
            Some(format!("{a}/{b}"))
        }
        _ => None,
    };
    Some(DateValue {
        value: format!("{}/{}", head.value(), tail.value()),
        calendar: head.cal,
        gregorian,
    })
}

// ---------------------------------------------------------------------------
// is_date_word helpers
// ---------------------------------------------------------------------------

/// Years 1000–2199 and numeric dates, with clitics and a م/ه suffix allowed.
fn is_numeric_date_word(folded: &str) -> bool {
    let mut rest = folded.trim_start_matches(['و', 'ف', 'ب', 'ل', 'ك']);
    rest = rest.strip_prefix("ال").unwrap_or(rest);
    rest = rest.trim_end_matches(['م', 'ه']);
    if rest.is_empty() || !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return false;
    }
    if rest.bytes().all(|b| b.is_ascii_digit()) {
        return rest.len() == 4
            && rest
                .parse::<u32>()
                .is_ok_and(|y| (1000..=2199).contains(&y));
    }
    match tokens(rest).as_slice() {
        [Tok::Nums { parts, sep }] => {
            let mut p = Partial::default();
            numeric_date(parts, *sep, &mut p).is_some() && resolve(&p).is_some()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = include_str!("../../tests/data/dates.tsv");

    fn ymd(s: &str) -> Ymd {
        match s.parse() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn date_table() {
        let mut failures = Vec::new();
        let mut rows = 0;
        for (index, line) in TABLE.lines().enumerate() {
            let line_no = index + 1;
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let [text, reference, value, gregorian] = cols.as_slice() else {
                failures.push(format!("line {line_no}: expected 4 columns: {line:?}"));
                continue;
            };
            rows += 1;
            let reference = match *reference {
                "-" => None,
                r => match r.parse::<Ymd>() {
                    Ok(d) => Some(d),
                    Err(e) => {
                        failures.push(format!("line {line_no}: {e}"));
                        continue;
                    }
                },
            };
            let want = match (*value, *gregorian) {
                ("-", _) => None,
                (v, "-") => Some((v.to_string(), Calendar::Gregorian, None)),
                (v, "?") => Some((v.to_string(), Calendar::Hijri, None)),
                (v, g) => Some((v.to_string(), Calendar::Hijri, Some(g.to_string()))),
            };
            let got = normalize_date(text, reference).map(|d| (d.value, d.calendar, d.gregorian));
            if got != want {
                failures.push(format!(
                    "line {line_no}: {text:?} (ref {reference:?}): got {got:?}, want {want:?}"
                ));
            }
        }
        assert!(rows >= 170, "only {rows} rows");
        assert!(
            failures.is_empty(),
            "{} of {rows} rows failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn days_round_trip() {
        assert_eq!(ymd("1970-01-01").to_days(), 0);
        assert_eq!(ymd("2000-03-01").to_days(), 11_017);
        assert_eq!(ymd("1969-12-31").to_days(), -1);
        for days in (-800_000..800_000).step_by(37) {
            let d = Ymd::from_days(days);
            assert!(d.is_valid(), "{d}");
            assert_eq!(d.to_days(), days, "{d}");
            assert_eq!(d.add_days(1), Ymd::from_days(days + 1));
        }
        let mut d = ymd("1999-12-25");
        for _ in 0..500 {
            let next = d.add_days(1);
            assert!(next > d);
            d = next;
        }
    }

    #[test]
    fn weekdays_and_weeks() {
        assert_eq!(ymd("1970-01-01").weekday(), 4);
        assert_eq!(ymd("2022-01-13").weekday(), 4);
        assert_eq!(ymd("2024-03-11").weekday(), 1);
        assert_eq!(ymd("2000-01-01").weekday(), 6);
        assert_eq!(ymd("2022-01-02").weekday(), 7);
        assert_eq!(ymd("2022-01-13").iso_week(), (2022, 2));
        assert_eq!(ymd("2022-01-02").iso_week(), (2021, 52));
        assert_eq!(ymd("2020-12-31").iso_week(), (2020, 53));
        assert_eq!(ymd("2021-01-03").iso_week(), (2020, 53));
        assert_eq!(ymd("2019-12-30").iso_week(), (2020, 1));
    }

    #[test]
    fn ymd_parsing_and_validation() {
        assert_eq!(Ymd::new(2024, 2, 29), Some(ymd("2024-02-29")));
        assert_eq!(Ymd::new(2023, 2, 29), None);
        assert_eq!(Ymd::new(1900, 2, 29), None);
        assert_eq!(Ymd::new(2022, 13, 1), None);
        assert_eq!(Ymd::new(2022, 4, 31), None);
        assert!("2022-1-13".parse::<Ymd>().is_ok());
        assert!("2022-02-30".parse::<Ymd>().is_err());
        assert!("13/01/2022".parse::<Ymd>().is_err());
        assert_eq!(ymd("2022-01-13").to_string(), "2022-01-13");
        assert_eq!(
            Ymd::new(622, 7, 19).map(|d| d.to_string()).as_deref(),
            Some("0622-07-19")
        );
    }

    #[test]
    fn hijri_conversion() {
        // Worked out by hand from the arithmetical rules.
        assert_eq!(hijri_to_gregorian(1, 1, 1), Some(ymd("0622-07-19")));
        assert_eq!(hijri_to_gregorian(1445, 9, 1), Some(ymd("2024-03-11")));
        assert_eq!(hijri_to_gregorian(1446, 1, 1), Some(ymd("2024-07-08")));
        assert_eq!(hijri_to_gregorian(1445, 8, 30), None);
        assert_eq!(hijri_to_gregorian(1445, 13, 1), None);
        assert_eq!(gregorian_to_hijri(ymd("2024-03-11")), (1445, 9, 1));
        assert_eq!(gregorian_to_hijri(ymd("2024-03-10")), (1445, 8, 29));
        let leap: Vec<i32> = (1..=30).filter(|&y| hijri_is_leap(y)).collect();
        assert_eq!(leap, [2, 5, 7, 10, 13, 16, 18, 21, 24, 26, 29]);
        // Round trip over many years, month by month.
        for year in [1, 2, 100, 1300, 1389, 1440, 1445, 1446, 1500] {
            let mut length = 0;
            for month in 1..=12 {
                for day in 1..=hijri_month_len(year, month) {
                    let g = hijri_to_gregorian(year, month, day);
                    assert_eq!(g.map(gregorian_to_hijri), Some((year, month, day)));
                    length += 1;
                }
            }
            assert_eq!(length, if hijri_is_leap(year) { 355 } else { 354 });
        }
    }

    #[test]
    fn word_lists_are_folded() {
        let lists: [&[&str]; 16] = [
            HIJRI_MARKS,
            GREG_MARKS,
            YEAR_WORDS,
            MONTH_WORDS,
            DAY_WORDS,
            TO_WORDS,
            PAST,
            PRESENT,
            FUTURE,
            THIS,
            MODIFIERS,
            LEADING,
            OTHER_WORDS,
            DATE_MARKERS,
            DATE_WORD_EXTRAS,
            DATE_WORD_EXCLUDED,
        ];
        let mut words: Vec<&str> = lists.iter().flat_map(|l| l.iter().copied()).collect();
        words.extend(WEEKDAYS.iter().map(|(w, _)| *w));
        words.extend(PARTS_OF_DAY.iter().map(|(w, _)| *w));
        words.extend(ORDINAL_UNITS.iter().map(|(w, _)| *w));
        words.extend(SEASONS.iter().map(|(w, _)| *w));
        words.extend(COUNTED_UNITS.iter().map(|(w, _, _)| *w));
        words.extend(PLURAL_UNITS.iter().map(|(w, _)| *w));
        words.extend(NUMBER_WORDS.iter().map(|(w, _)| *w));
        words.extend(DECADE_STEMS.iter().map(|(w, _)| *w));
        for word in words {
            assert_eq!(fold(word), word, "word list entry {word:?} is not folded");
        }
    }

    #[test]
    fn date_words() {
        let yes = [
            "يناير",
            "ويناير",
            "بيناير",
            "ليناير",
            "فبراير",
            "مارس",
            "أبريل",
            "إبريل",
            "يونيه",
            "أغسطس",
            "اغسطس",
            "ديسمبر",
            "شباط",
            "آذار",
            "اذار",
            "نيسان",
            "أيار",
            "حزيران",
            "تموز",
            "آب",
            "وآب",
            "أيلول",
            "تشرين",
            "كانون",
            "جانفي",
            "جويلية",
            "غشت",
            "الأربعاء",
            "والأربعاء",
            "الخميس",
            "الجمعة",
            "السبت",
            "الأحد",
            "الاثنين",
            "الإثنين",
            "الثلاثاء",
            "جمادى",
            "شوال",
            "2022",
            "٢٠٢٢",
            "۲۰۲۲",
            "1999",
            "1000",
            "2199",
            "و2022",
            "ب2022",
            "2022م",
            "١٤٤٥هـ",
            "15/1/1959",
            "2022-01-13",
            "١٣/١/٢٠٢٢",
            "هـ",
            "ه\u{0640}\u{0640}",
            "م",
            "هجرية",
            "للهجرة",
            "ميلادي",
            "للميلاد",
        ];
        let no = [
            "",
            " ",
            "ه",
            "اب",
            "أب",
            "ماي",
            "رمضان",
            "رجب",
            "شعبان",
            "محرم",
            "صفر",
            "ربيع",
            "الحجة",
            "الآخرة",
            "الأولى",
            "الأول",
            "الثاني",
            "أحد",
            "جمعة",
            "اثنين",
            "عام",
            "سنة",
            "اليوم",
            "أمس",
            "شهر",
            "يوم",
            "999",
            "2200",
            "12345",
            "13",
            "15/1",
            "31/4/2022",
            "15/1/59",
            "كتاب",
            "مدينة",
            "الرئيس",
            "13 يناير",
        ];
        let wrong: Vec<String> = yes
            .iter()
            .filter(|w| !is_date_word(w))
            .map(|w| format!("{w:?} should be a date word"))
            .chain(
                no.iter()
                    .filter(|w| is_date_word(w))
                    .map(|w| format!("{w:?} should not be a date word")),
            )
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn serializes_to_json() {
        let hijri = normalize_date("1 رمضان 1445 هـ", None);
        let json = hijri.map(|v| serde_json::to_string(&v).unwrap_or_default());
        assert_eq!(
            json.as_deref(),
            Some(r#"{"value":"1445-09-01","calendar":"hijri","gregorian":"2024-03-11"}"#)
        );
        let plain = normalize_date("عام 2022", None);
        let json = plain.map(|v| serde_json::to_string(&v).unwrap_or_default());
        assert_eq!(
            json.as_deref(),
            Some(r#"{"value":"2022","calendar":"gregorian"}"#)
        );
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let texts = [
            "",
            "   ",
            "-",
            "/",
            "()",
            "(",
            "و",
            "من",
            "بين و",
            "13 و",
            "من إلى",
            "99999999999 يناير",
            "4294967295",
            "1/2/3/4",
            "1-2/3",
            "0 يناير 2022",
            "يناير 0",
            "القرن",
            "القرن 99",
            "النصف",
            "الربع العاشر من 2022",
            "الـ",
            "ق م",
            "قبل",
            "منذ",
            "بعد",
            "اليوم الاثنين",
        ];
        let reference = Ymd::new(2022, 1, 13);
        for text in texts {
            let _ = normalize_date(text, reference);
            let _ = normalize_date(text, None);
            let _ = is_date_word(text);
        }
    }

    /// A value as the module writes them: `/`-separated parts, each a
    /// date, month, year, half, quarter, season, week, weekday, decade or
    /// century, with a part of the day on days, and four-digit years in
    /// 0001–9999.
    fn well_formed(value: &str) -> bool {
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        let year = |s: &str| s == "XXXX" || (digits(s, 4) && s != "0000");
        let in_range =
            |s: &str, lo: u32, hi: u32| s.parse::<u32>().is_ok_and(|v| (lo..=hi).contains(&v));
        let part = |p: &str| -> bool {
            let (p, pod) = match p.split_once('T') {
                Some((d, t)) => (d, Some(t)),
                None => (p, None),
            };
            if pod.is_some_and(|t| !["MO", "MI", "AF", "EV", "NI"].contains(&t)) {
                return false;
            }
            let f: Vec<&str> = p.split('-').collect();
            let day = match f.as_slice() {
                ["XXXX", "WXX", d] => return d.len() == 1 && in_range(d, 1, 7),
                [y, m, d] => {
                    year(y)
                        && digits(m, 2)
                        && in_range(m, 1, 12)
                        && digits(d, 2)
                        && in_range(d, 1, 31)
                }
                _ => false,
            };
            if day {
                return true;
            }
            if pod.is_some() {
                return false;
            }
            match f.as_slice() {
                [c] => digits(c, 2) || digits(c, 3) || year(c) && *c != "XXXX",
                [y, m]
                    if ["H1", "H2", "Q1", "Q2", "Q3", "Q4", "SP", "SU", "FA", "WI"].contains(m) =>
                {
                    year(y) && *y != "XXXX"
                }
                [y, m] if m.starts_with('W') => {
                    year(y) && *y != "XXXX" && digits(&m[1..], 2) && in_range(&m[1..], 1, 53)
                }
                [y, m] => year(y) && digits(m, 2) && in_range(m, 1, 12),
                _ => false,
            }
        };
        let parts: Vec<&str> = value.split('/').collect();
        parts.len() <= 2 && parts.iter().all(|p| part(p))
    }

    #[test]
    fn the_value_checker_knows_the_forms() {
        for v in [
            "2022-01-13",
            "2022-01",
            "2022",
            "XXXX-01-13",
            "XXXX-WXX-3",
            "2022-H1",
            "2022-Q3",
            "2022-SU",
            "198",
            "19",
            "2022-01-13/2022-01-14",
            "2022-W01",
            "2022-01-12TEV",
            "0001-01-01",
            "9999-12-31",
            "1000-WI",
        ] {
            assert!(well_formed(v), "{v}");
        }
        for v in [
            "-001-W51",
            "0000-12-31",
            "10000-01-01",
            "2022-13",
            "2022-W54",
            "2022-01-13TXX",
        ] {
            assert!(!well_formed(v), "{v}");
        }
    }

    /// Words the grammar reads, numbers of every length it weighs, and
    /// the punctuation between them.
    fn grammar_word() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let mut known: Vec<String> = lexicon().known.iter().cloned().collect();
        known.sort();
        known.extend(["/", "-", "(", ")", "و", "الموافق"].map(String::from));
        // Whole relative expressions, whose values move with the reference.
        let relative: Vec<String> = [
            "الأسبوع الماضي",
            "الأسبوع المقبل",
            "هذا الأسبوع",
            "أمس",
            "غدا",
            "اليوم",
            "أول أمس",
            "بعد غد",
            "الشهر الماضي",
            "الشهر المقبل",
            "العام الماضي",
            "العام المقبل",
            "قبل 3 أسابيع",
            "بعد 999 عاما",
            "قبل 999 عاما",
            "بعد 99 شهرا",
            "منذ 900 يوم",
            "رمضان الماضي",
            "رمضان المقبل",
            "يناير المقبل",
            "القرن الماضي",
            "ثمانينيات القرن الماضي",
            "الأربعاء المقبل",
            "الأحد الماضي",
            "مساء أمس",
        ]
        .map(String::from)
        .to_vec();
        prop_oneof![
            4 => proptest::sample::select(known),
            2 => proptest::sample::select(relative),
            1 => (0u32..10_000).prop_map(|n| n.to_string()),
            1 => (0u32..100).prop_map(|n| format!("{n:02}")),
            1 => (1u32..32, 1u32..13, 0u32..10_000).prop_map(|(d, m, y)| format!("{d}/{m}/{y}")),
        ]
    }

    fn reference_date() -> impl proptest::strategy::Strategy<Value = Ymd> {
        use proptest::prelude::*;
        let edge = proptest::sample::select(vec![
            Ymd {
                year: 0,
                month: 1,
                day: 1,
            },
            Ymd {
                year: 0,
                month: 12,
                day: 31,
            },
            Ymd {
                year: 1,
                month: 1,
                day: 1,
            },
            Ymd {
                year: 9999,
                month: 12,
                day: 31,
            },
            Ymd {
                year: 9999,
                month: 1,
                day: 1,
            },
        ]);
        let any = (0i32..=9999, 1u32..=12, 1u32..=28).prop_map(|(year, month, day)| Ymd {
            year,
            month,
            day,
        });
        prop_oneof![1 => edge, 1 => any]
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 2000, ..Default::default() })]

        /// For any reference date and any expression of the grammar's
        /// words, the value is absent or well formed, its years in range.
        #[test]
        fn values_are_well_formed_for_any_reference(
            reference in reference_date(),
            words in proptest::collection::vec(grammar_word(), 1..6),
        ) {
            let text = words.join(" ");
            for r in [Some(reference), None] {
                if let Some(v) = normalize_date(&text, r) {
                    proptest::prop_assert!(well_formed(&v.value), "{text:?} at {reference}: {}", v.value);
                    if let Some(g) = &v.gregorian {
                        proptest::prop_assert!(well_formed(g), "{text:?} at {reference}: gregorian {g}");
                    }
                }
            }
        }
    }

    #[test]
    fn relative_values_stop_at_the_ends_of_the_years_written() {
        let start = Ymd::new(0, 1, 1);
        for text in [
            "الأسبوع الماضي",
            "أمس",
            "الشهر الماضي",
            "العام الماضي",
            "قبل ثلاثة أسابيع",
            "قبل عامين",
        ] {
            assert_eq!(normalize_date(text, start), None, "{text}");
        }
        let end = Ymd::new(9999, 12, 31);
        for text in [
            "الأسبوع المقبل",
            "غدا",
            "الشهر المقبل",
            "العام المقبل",
            "بعد ثلاثة أيام",
        ] {
            assert_eq!(normalize_date(text, end), None, "{text}");
        }
        // Within the years, the same words have values.
        assert_eq!(
            normalize_date("الأسبوع الماضي", Ymd::new(2022, 1, 13))
                .unwrap()
                .value,
            "2022-W01"
        );
        assert!("0000-01-01".parse::<Ymd>().is_ok());
        assert!("10000-01-01".parse::<Ymd>().is_err());
    }
}

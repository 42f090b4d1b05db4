//! Civil (proleptic Gregorian) and arithmetical Hijri days.

use std::fmt;
use std::str::FromStr;

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
pub(super) const VALUE_YEARS_OR_ZERO: std::ops::RangeInclusive<i32> = 0..=9999;

/// Days from 0000-03-01 to 1970-01-01; the day arithmetic counts from March
/// so that the leap day falls at the end of its year.
pub(super) const DAYS_0000_03_01_TO_EPOCH: i64 = 719_468;
/// Days in a 400-year Gregorian cycle.
pub(super) const DAYS_PER_400_YEARS: i64 = 146_097;

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
pub(super) const HIJRI_EPOCH: i64 = -492_148;

/// Leap years of the 30-year cycle are 2, 5, 7, 10, 13, 16, 18, 21, 24, 26, 29.
pub(super) fn hijri_is_leap(year: i32) -> bool {
    (14 + 11 * i64::from(year)).rem_euclid(30) < 11
}

/// Length of a month in the tabular calendar: odd months 30 days, even
/// months 29, Dhu al-Hijja 30 in leap years.
pub(super) fn hijri_month_len(year: i32, month: u32) -> u32 {
    if month % 2 == 1 || (month == 12 && hijri_is_leap(year)) {
        30
    } else {
        29
    }
}

/// Days since 1970-01-01; the day is not validated.
pub(super) fn hijri_to_days(year: i32, month: u32, day: u32) -> i64 {
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

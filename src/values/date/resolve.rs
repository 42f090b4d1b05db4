//! Resolution: a partial date to its value, against the reference date.

use super::calendar::*;
use super::parse::*;
use super::tokens::*;
use super::*;

// ---------------------------------------------------------------------------
// Resolution
// ---------------------------------------------------------------------------

/// A checked date ready to be written as a value.
#[derive(Debug, Clone)]
pub(super) struct Resolved {
    pub(super) cal: Calendar,
    pub(super) year: Option<i32>,
    pub(super) month: Option<u32>,
    pub(super) day: Option<u32>,
    pub(super) sub: Option<&'static str>,
    /// Set only for a bare weekday.
    pub(super) weekday_only: Option<u32>,
    /// Gregorian day of a Hijri date.
    pub(super) gregorian: Option<Ymd>,
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

pub(super) fn resolve(p: &Partial) -> Option<Resolved> {
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

pub(super) fn single_value(item: Item) -> Option<DateValue> {
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
pub(super) fn inherit(to: &mut Partial, from: &Partial) {
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

pub(super) fn combine(kind: RangeKind, items: Vec<Item>, conjs: &[Conj]) -> Option<DateValue> {
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
pub(super) fn is_numeric_date_word(folded: &str) -> bool {
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

//! The parser: tokens of a mention to a partial date.

use std::cmp::Ordering::{Equal, Greater, Less};

use super::calendar::*;
use super::lexicon::*;
use super::resolve::*;
use super::tokens::*;
use super::*;

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

pub(super) struct Ctx {
    pub(super) reference: Option<Ymd>,
}

#[derive(Clone, Copy)]
pub(super) struct Cursor<'a> {
    pub(super) toks: &'a [Tok],
    pub(super) pos: usize,
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
pub(super) fn attempt<'a, T>(
    c: &mut Cursor<'a>,
    f: impl FnOnce(&mut Cursor<'a>) -> Option<T>,
) -> Option<T> {
    let mut trial = *c;
    let out = f(&mut trial)?;
    *c = trial;
    Some(out)
}

/// A date as far as the text specifies it.
#[derive(Debug, Clone, Default)]
pub(super) struct Partial {
    pub(super) weekday: Option<u32>,
    pub(super) day: Option<u32>,
    pub(super) month: Option<u32>,
    /// Calendar implied by the month name.
    pub(super) month_cal: Option<Calendar>,
    pub(super) year: Option<i32>,
    /// Calendar stated by a marker (هـ, م ...).
    pub(super) year_cal: Option<Calendar>,
    /// The year came after عام/سنة.
    pub(super) year_word: bool,
    /// Half, quarter or season code.
    pub(super) sub: Option<&'static str>,
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
pub(super) enum Point {
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

pub(super) struct Item {
    pub(super) point: Point,
    /// TIMEX3 part-of-day code.
    pub(super) pod: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RangeKind {
    Plain,
    /// من X إلى Y
    From,
    /// بين X و Y
    Between,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Conj {
    And,
    To,
}

pub(super) fn parse_expression(toks: &[Tok], ctx: &Ctx) -> Option<DateValue> {
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

pub(super) fn parse_item(c: &mut Cursor, ctx: &Ctx) -> Option<Item> {
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
pub(super) fn rel_direction(c: &mut Cursor) -> Option<i32> {
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
pub(super) fn rel_period(c: &mut Cursor, unit_words: &[&str]) -> Option<i32> {
    if c.eat(THIS).is_some() {
        c.eat(unit_words)?;
        return Some(0);
    }
    c.eat(unit_words)?;
    rel_direction(c)
}

pub(super) fn add_months(year: i32, month: u32, offset: i64) -> (i32, u32) {
    let index = i64::from(year) * 12 + i64::from(month) - 1 + offset;
    (
        index.div_euclid(12) as i32,
        (index.rem_euclid(12) + 1) as u32,
    )
}

/// اليوم, أمس, غدا, أول أمس, بعد غد, يوم أمس, اليوم الخميس ...
pub(super) fn parse_relative_day(c: &mut Cursor, ctx: &Ctx) -> Option<Point> {
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
pub(super) fn parse_relative_week(c: &mut Cursor, ctx: &Ctx) -> Option<Point> {
    let offset = rel_period(c, &["الاسبوع"])?;
    let day = ctx.reference?.add_days(7 * i64::from(offset));
    let (year, week) = day.iso_week();
    Some(Point::Week(year, week))
}

/// قبل/منذ/بعد + a count of days, weeks, months or years.
pub(super) fn parse_offset(c: &mut Cursor, ctx: &Ctx) -> Option<Point> {
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

pub(super) fn parse_duration(c: &mut Cursor) -> Option<(i64, Unit)> {
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
pub(super) fn parse_coarse(c: &mut Cursor, ctx: &Ctx) -> Option<Point> {
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
pub(super) fn parse_century(c: &mut Cursor, ctx: &Ctx) -> Option<(i32, Calendar)> {
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
pub(super) fn parse_ordinal(c: &mut Cursor) -> Option<u32> {
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
pub(super) fn parse_subyear(c: &mut Cursor, ctx: &Ctx) -> Option<Point> {
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
pub(super) fn month_at(c: &Cursor) -> Option<(usize, Calendar, u32)> {
    let months = &lexicon().months;
    (1..=3).rev().find_map(|n| {
        let words: Option<Vec<&str>> = (0..n).map(|k| c.word_at(k)).collect();
        let &(cal, month) = months.get(&words?.join(" "))?;
        Some((n, cal, month))
    })
}

/// True if a month follows, possibly after من: a month name (after an
/// optional شهر) or a relative month (الشهر الجاري, هذا الشهر).
pub(super) fn month_ahead(c: &Cursor) -> bool {
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
pub(super) fn parse_date(c: &mut Cursor, ctx: &Ctx) -> Option<Point> {
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
pub(super) fn parse_day(c: &mut Cursor) -> Option<u32> {
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

pub(super) fn parse_month_slot(c: &mut Cursor, ctx: &Ctx, p: &mut Partial) -> Option<()> {
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
pub(super) fn eat_alternate_month(c: &mut Cursor, cal: Calendar, month: u32) -> Option<()> {
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
pub(super) fn parse_year_slot(c: &mut Cursor, ctx: &Ctx, p: &mut Partial) -> Option<()> {
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

pub(super) fn eat_marker(c: &mut Cursor) -> Option<Calendar> {
    if c.eat(HIJRI_MARKS).is_some() {
        Some(Calendar::Hijri)
    } else if c.eat(GREG_MARKS).is_some() {
        Some(Calendar::Gregorian)
    } else {
        None
    }
}

/// `15/1/1959`, `2022-01-13`, `13.01.2022`, `1/2022`.
pub(super) fn numeric_date(parts: &[(u32, usize)], sep: char, p: &mut Partial) -> Option<()> {
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
pub(super) fn relative_weekday(reference: Ymd, weekday: u32, direction: i32) -> Option<Ymd> {
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
pub(super) fn relative_month_year(
    reference: Ymd,
    cal: Calendar,
    month: u32,
    direction: i32,
) -> Option<i32> {
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

//! Finding whole date expressions in a sentence of words.
//!
//! The model learns dates from one small corpus and often cuts a date short
//! (`الأول من [مارس 2024]`) or misses a plain one (`يوم 19 مايو / أيار`).
//! The date grammar of [`normalize_date`](super::normalize_date) knows these
//! forms, so [`complete_dates`] lets it widen the model's `DATE` spans to
//! the longest expression the grammar reads, and add explicit dates the
//! model left out.  It never touches words the model gave another entity
//! type, and never makes a date of a lone number: `قتل 1500 شخص` stays as
//! the model tagged it.
//!
//! Periods are dates too in the usual (Wojood) annotation, though they have
//! no calendar value: `منذ ثلاث سنوات`, `12 عاما`, `الأيام الخمسة الماضية`.
//! [`Finder::period`] reads them, and they are widened and added like the
//! dates the grammar reads.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::text::clitics::clitic_prefixes;

use super::{
    fold, is_date_word, normalize_date, Ymd, COUNTED_UNITS, DATE_MARKERS, DAY_WORDS, FUTURE,
    LEADING, MONTH_WORDS, NUMBER_WORDS, PAST, PLURAL_UNITS, TO_WORDS, YEAR_WORDS,
};

/// Longest expression the grammar considers, in words.
const MAX_WORDS: usize = 12;
/// Words an expression may reach before and after its anchor.
const REACH_BEFORE: usize = 8;
const REACH_AFTER: usize = 8;

/// Yesterday and tomorrow, folded.
const RELATIVE_DAYS: &[&str] = &["امس", "البارحه", "غدا", "الغد"];

/// Words that lead a period and belong to it: `منذ عامين`, `خلال 45 يوما`.
const PERIOD_LEADS: &[&str] = &["منذ", "قبل", "بعد", "خلال", "لمده", "طوال"];
/// Counts of a period beyond the digits and the numbers three to ten.
const PERIOD_COUNTS: &[&str] = &[
    "عده",
    "بضع",
    "بضعه",
    "عشرات",
    "عشرين",
    "ثلاثين",
    "اربعين",
    "خمسين",
    "ستين",
    "سبعين",
    "ثمانين",
    "تسعين",
    "ميه",
    "مايه",
];
/// Units of a period besides those the value parser counts. Not a bare
/// `عقد`: it is also a contract, and the holding of a meeting (بعد عقد).
const PERIOD_UNITS: &[&str] = &["عقود", "عقدا", "قرون"];
/// What makes a definite unit a period: `الأيام الأخيرة`.
const PERIOD_RECENT: &[&str] = &["الاخير", "الاخيره", "الاخيرين", "الاخيرتين"];

/// Words the parser skips at the start of an expression that are not part
/// of the date in the usual annotation (`في 13 يناير` → `13 يناير`);
/// `بتاريخ`, `منذ` and `قبل` stay inside.
const NOT_FIRST: &[&str] = &[
    "من",
    "بين",
    "الي",
    "حتي",
    "علي",
    "او",
    "ثم",
    "الموافق",
    "الموافقه",
];

/// The `DATE` spans of a sentence after the date grammar has seen it.
///
/// `words` are the words of one sentence, `model` the model's `DATE` spans
/// (word ranges, sorted, non-overlapping), and `free(i)` tells whether word
/// `i` may become part of a date (the model gave it `O` or `DATE`).
/// Returns sorted, non-overlapping word ranges.
pub fn complete_dates(
    words: &[&str],
    model: &[Range<usize>],
    free: impl Fn(usize) -> bool,
) -> Vec<Range<usize>> {
    let folded: Vec<String> = words.iter().map(|w| fold(w)).collect();
    let finder = Finder {
        words,
        folded: &folded,
        free: &free,
    };
    // Spans found so far by their start: (end, whether the grammar reads
    // it). They never overlap, so ends grow with starts.
    let mut out: BTreeMap<usize, (usize, bool)> = BTreeMap::new();
    // 1. The model's spans, each widened to the longest expression around it.
    let mut lo = 0;
    for (k, m) in model.iter().enumerate() {
        // Two dates the model keeps apart stay apart.
        let hi = model.get(k + 1).map_or(words.len(), |n| n.start);
        // "حتى 15/12/2023": a preposition the model took in is let go when
        // the rest reads.
        let core = if m.len() > 1 && finder.bad_start(m.start) {
            m.start + 1..m.end
        } else {
            m.clone()
        };
        let (r, read) = match finder.longest(core, lo..hi) {
            Some(r) => (r, true),
            None => (m.clone(), false),
        };
        lo = r.end;
        out.insert(r.start, (r.end, read));
    }
    // 2. Explicit dates the model missed, found from their anchor words.
    let mut a = 0;
    while a < words.len() {
        // Inside a span the grammar reads: go to its end.
        if let Some((_, &(end, true))) = out.range(..=a).next_back().filter(|(_, (e, _))| *e > a) {
            a = end;
            continue;
        }
        let found =
            (is_date_word(words[a]) || finder.is_relative_day(a) || finder.is_period_unit(a))
                .then(|| finder.longest(a..a + 1, 0..words.len()))
                .flatten();
        a += 1;
        let Some(g) = found else {
            continue;
        };
        // A lone word is the model's call (الجمعة is also the Friday
        // prayer, أيلول part of أيلول الأسود), and so is a number with no
        // calendar word (1936 - 1939, 1000 م = metres).
        let lone = finder.content_words(&g) < 2 && !finder.is_numeric_date(g.start);
        let dated = finder.period(&g) || g.clone().any(|i| finder.is_calendar_word(i));
        if lone || !dated {
            continue;
        }
        // A model span the grammar cannot read gives way only when it is
        // the grammar's span plus punctuation: "( 15 / 12 / 1986".
        let overlapping: Vec<(usize, usize, bool)> = out
            .range(..g.end)
            .rev()
            .take_while(|(_, (end, _))| *end > g.start)
            .map(|(&s, &(e, read))| (s, e, read))
            .collect();
        let gives_way = |s: usize, e: usize| (s..e).all(|i| g.contains(&i) || finder.is_punct(i));
        if overlapping
            .iter()
            .any(|&(s, e, read)| read || !gives_way(s, e))
        {
            continue;
        }
        for (s, _, _) in overlapping {
            out.remove(&s);
        }
        a = a.max(g.end);
        out.insert(g.start, (g.end, true));
    }
    out.into_iter().map(|(s, (e, _))| s..e).collect()
}

struct Finder<'a, F: Fn(usize) -> bool> {
    words: &'a [&'a str],
    folded: &'a [String],
    free: &'a F,
}

impl<F: Fn(usize) -> bool> Finder<'_, F> {
    /// Words that make a date on their own terms: month and weekday names,
    /// numeric dates written as one word. Years and era markers do not.
    fn is_anchor(&self, i: usize) -> bool {
        let f = self.folded[i].as_str();
        is_date_word(self.words[i])
            && !f.chars().all(|c| c.is_ascii_digit())
            && !DATE_MARKERS.contains(&f)
    }

    /// Anchors, and the words that make a number a date: عام, شهر, يوم
    /// and the slash of a numeric date.
    fn is_calendar_word(&self, i: usize) -> bool {
        let f = self.folded[i].as_str();
        // لعام, والعام: the word behind its clitics, as `is_date_word` reads it.
        let calendar = clitic_prefixes(f).into_iter().any(|p| {
            [YEAR_WORDS, MONTH_WORDS, DAY_WORDS]
                .iter()
                .any(|list| list.contains(&&f[p..]))
        });
        self.is_anchor(i) || self.is_relative_day(i) || f == "/" || calendar
    }

    /// Yesterday and tomorrow: a date with a part of the day or a weekday
    /// (مساء أمس, صباح الغد), never alone.
    fn is_relative_day(&self, i: usize) -> bool {
        RELATIVE_DAYS.contains(&self.folded[i].as_str())
    }

    /// A whole numeric date written as one word: `15/12/2023`.
    fn is_numeric_date(&self, i: usize) -> bool {
        let f = &self.folded[i];
        self.is_anchor(i) && f.contains(['/', '-']) && f.chars().any(|c| c.is_ascii_digit())
    }

    fn is_punct(&self, i: usize) -> bool {
        let f = &self.folded[i];
        !f.is_empty() && f.chars().all(|c| !c.is_alphanumeric())
    }

    fn content_words(&self, r: &Range<usize>) -> usize {
        r.clone().filter(|&i| !self.is_punct(i)).count()
    }

    /// Punctuation and prepositions, which a date does not start with.
    fn bad_start(&self, i: usize) -> bool {
        let first = self.folded[i].as_str();
        // وفي, ففي: the same prepositions behind a conjunction.
        let bare = without_conjunction(first);
        let leads = |w: &str| {
            (LEADING.contains(&w) && w != "بتاريخ" && w != "تاريخ")
                || NOT_FIRST.contains(&w)
                || TO_WORDS.contains(&w)
        };
        self.is_punct(i) || leads(first) || leads(bare)
    }

    /// Whether `r` is one date: a period, or a well-formed expression the
    /// grammar reads.
    fn accepts(&self, r: &Range<usize>) -> bool {
        if self.period(r) {
            // Its lead is part of it, though the grammar skips it.
            return r.clone().all(|i| (self.free)(i));
        }
        !self.bad_start(r.start) && self.well_formed(r) && self.reads(r)
    }

    /// Whether `r` is a period: a count and a unit (`ثلاث سنوات`, `12 عاما`,
    /// `عدة أيام`), a bare unit after a lead (`منذ سنوات`, `منذ عامين`), or
    /// a definite unit that is past, coming or recent (`السنوات الماضية`,
    /// `الأيام الخمسة الأخيرة`); led or not by `PERIOD_LEADS`.
    fn period(&self, r: &Range<usize>) -> bool {
        // A lead and at most three words: most ranges `longest` tries are
        // longer.
        if r.is_empty() || r.len() > 4 {
            return false;
        }
        let words: Vec<&str> = r.clone().map(|i| self.folded[i].as_str()).collect();
        let led = [words[0], without_conjunction(words[0])]
            .iter()
            .any(|w| PERIOD_LEADS.contains(w));
        let rest = &words[usize::from(led)..];
        match *rest {
            [unit] => led && (is_unit(unit, false) || is_dual_unit(unit)),
            [first, second] => {
                (is_count(first) && is_unit(second, true))
                    || (is_definite_unit(first) && is_relative(second))
            }
            [unit, n, adj] => {
                is_definite_unit(unit)
                    && n.strip_prefix("ال").is_some_and(is_count)
                    && is_relative(adj)
            }
            _ => false,
        }
    }

    /// Words that may end up in a period, to look for periods from.
    fn is_period_unit(&self, i: usize) -> bool {
        let w = self.folded[i].as_str();
        is_unit(w, true) || is_dual_unit(w) || is_definite_unit(w)
    }

    /// Whether `r` is shaped like a date expression: no sentence
    /// punctuation, balanced brackets, a word (not a bracket) at each end
    /// except a closing bracket, and only free words.
    fn well_formed(&self, r: &Range<usize>) -> bool {
        let last = self.folded[r.end - 1].as_str();
        // "... الموافق" with nothing after it reads, but is no date.
        if (self.is_punct(r.end - 1) && last != ")") || last.starts_with("الموافق") {
            return false;
        }
        let mut depth = 0i32;
        for i in r.clone() {
            if !(self.free)(i) {
                return false;
            }
            match self.folded[i].as_str() {
                // A range is two dates in the usual annotation.
                w if TO_WORDS.contains(&w) => return false,
                "(" => depth += 1,
                ")" => {
                    depth -= 1;
                    if depth < 0 {
                        return false;
                    }
                }
                "/" | "-" => {}
                _ if self.is_punct(i) => return false,
                _ => {}
            }
        }
        depth == 0
    }

    /// Whether the grammar reads the words of `r` as one date.  A fixed
    /// reference date lets relative expressions (مساء أمس) count.
    fn reads(&self, r: &Range<usize>) -> bool {
        let text = self.words[r.clone()].join(" ");
        normalize_date(&text, Ymd::new(2000, 6, 15)).is_some()
    }

    /// The longest well-formed expression the grammar reads that covers
    /// `core` and stays within `bounds`.
    fn longest(&self, core: Range<usize>, bounds: Range<usize>) -> Option<Range<usize>> {
        let first = core.start.saturating_sub(REACH_BEFORE).max(bounds.start);
        let last = (core.end + REACH_AFTER).min(bounds.end);
        let mut best: Option<Range<usize>> = None;
        for i in (first..=core.start).rev() {
            for j in (core.end..=last).rev() {
                let r = i..j;
                if r.len() > MAX_WORDS || best.as_ref().is_some_and(|b| b.len() >= r.len()) {
                    continue;
                }
                if self.accepts(&r) {
                    best = Some(r);
                }
            }
        }
        best
    }
}

/// A word without a leading و or ف (unless that is all of it).
fn without_conjunction(word: &str) -> &str {
    word.strip_prefix(['و', 'ف'])
        .filter(|b| !b.is_empty())
        .unwrap_or(word)
}

/// A count of things, clitics aside: `12`, `ثلاث`, `لعدة`, `عشرين`.
fn is_count(word: &str) -> bool {
    let bare = word.strip_prefix(['ل', 'ب', 'و']).filter(|b| !b.is_empty());
    [Some(word), bare].into_iter().flatten().any(|w| {
        w.chars().all(|c| c.is_ascii_digit())
            || NUMBER_WORDS.iter().any(|(n, _)| *n == w)
            || PERIOD_COUNTS.contains(&w)
    })
}

/// A unit of time as counted, plural or (with `counted`) the singular
/// accusative after a count: `سنوات`, `أيام`, `عاما`.
fn is_unit(word: &str, counted: bool) -> bool {
    let plural = PLURAL_UNITS.iter().any(|(u, _)| *u == word) || PERIOD_UNITS.contains(&word);
    // عاما, شهرا, يوما, سنه follow a count, never stand alone as periods.
    plural && (counted || !word.ends_with(['ا', 'ه']))
}

/// `عامين`, `شهرين`: a count of two in the word itself.
fn is_dual_unit(word: &str) -> bool {
    COUNTED_UNITS.iter().any(|(u, n, _)| *u == word && *n == 2)
}

/// `الأيام`, `السنوات`, `الأسبوع`, `العقد`: a unit with the article.
fn is_definite_unit(word: &str) -> bool {
    word.strip_prefix("ال")
        .is_some_and(|u| is_unit(u, false) || matches!(u, "اسبوع" | "شهر" | "عام" | "سنه" | "عقد"))
}

/// Past, coming or recent: `الماضية`, `المقبل`, `الأخيرة`.
fn is_relative(word: &str) -> bool {
    PAST.contains(&word) || FUTURE.contains(&word) || PERIOD_RECENT.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dates of `text` given the model's `DATE` spans (start, end) and
    /// the words it gave other types.
    fn run(text: &str, model: &[(usize, usize)], taken: &[usize]) -> Vec<String> {
        let words: Vec<&str> = text.split(' ').collect();
        let model: Vec<Range<usize>> = model.iter().map(|&(s, e)| s..e).collect();
        complete_dates(&words, &model, |i| !taken.contains(&i))
            .into_iter()
            .map(|r| words[r].join(" "))
            .collect()
    }

    #[test]
    fn widens_a_span_cut_short() {
        // "الأول من [مارس 2024]"
        assert_eq!(
            run("وصل الوفد في الأول من مارس 2024 إلى الرياض", &[(5, 7)], &[8]),
            ["الأول من مارس 2024"]
        );
        assert_eq!(run("وصل مساء أمس", &[(2, 3)], &[]), ["مساء أمس"]);
        // ... or the model missed the whole of it; a lone أمس stays its call.
        assert_eq!(run("وصل مساء أمس إلى أنقرة", &[], &[]), ["مساء أمس"]);
        assert!(run("وصل أمس إلى أنقرة", &[], &[]).is_empty());
    }

    #[test]
    fn adds_explicit_dates_the_model_missed() {
        assert_eq!(
            run("حتى يوم 19 مايو / أيار بحسب المنظمة", &[], &[]),
            ["يوم 19 مايو / أيار"]
        );
        assert_eq!(
            run("رقم 100 ( 15 / 12 / 1986 ) .", &[], &[]),
            ["15 / 12 / 1986"]
        );
        assert_eq!(run("تأسست عام ( 1977 ) في", &[], &[]), ["عام ( 1977 )"]);
        assert_eq!(
            run("الاجتماع يوم الأربعاء المقبل", &[], &[]),
            ["يوم الأربعاء المقبل"]
        );
    }

    #[test]
    fn leaves_lone_numbers_and_prepositions_out() {
        assert!(run("قتل 1500 شخص", &[], &[]).is_empty());
        assert_eq!(run("يستمر حتى 15/12/2023 .", &[], &[]), ["15/12/2023"]);
        assert!(run("ركض 1000 م في", &[], &[]).is_empty());
        assert!(run("ثورة 1936 - 1939 .", &[], &[]).is_empty());
        assert!(run("بعد صلاة الجمعة", &[], &[]).is_empty());
        assert!(run("أحداث أيلول الأسود", &[], &[]).is_empty());
        assert_eq!(run("في 13 يناير 2022 .", &[], &[]), ["13 يناير 2022"]);
        // The model's bare year stays, not widened over the preposition.
        assert_eq!(run("ولد في 1950", &[(2, 3)], &[]), ["1950"]);
        // ... and let go of when the model took it in.
        assert_eq!(
            run("يستمر حتى 15/12/2023 .", &[(1, 3)], &[]),
            ["15/12/2023"]
        );
    }

    #[test]
    fn a_span_the_grammar_cannot_read_gives_way() {
        // The model cut inside the brackets: "( 15 / 12 / 1986".
        assert_eq!(
            run("رقم ( 15 / 12 / 1986 ) .", &[(1, 7)], &[]),
            ["15 / 12 / 1986"]
        );
    }

    #[test]
    fn other_entities_are_never_overwritten() {
        // "مارس" as part of a person's name the model found.
        assert!(run("قال مارس 2024", &[], &[1]).is_empty());
        assert_eq!(run("زار شباط 2020 بيروت", &[], &[3]), ["شباط 2020"]);
    }

    #[test]
    fn ranges_stay_two_dates() {
        assert_eq!(
            run(
                "من 8 / 9 / 2007 حتى 9 / 9 / 2007 .",
                &[(1, 6), (7, 12)],
                &[]
            ),
            ["8 / 9 / 2007", "9 / 9 / 2007"]
        );
        assert_eq!(
            run("من 8 / 9 / 2007 حتى 9 / 9 / 2007 .", &[], &[]),
            ["8 / 9 / 2007", "9 / 9 / 2007"]
        );
        assert_eq!(run("ففي يوم 14 مايو تم", &[], &[]), ["يوم 14 مايو"]);
    }

    #[test]
    fn periods_are_dates() {
        assert_eq!(run("أطفال في عمر 12 عاما .", &[], &[]), ["12 عاما"]);
        assert_eq!(run("وبعد سنوات قررت الذهاب", &[], &[]), ["وبعد سنوات"]);
        assert_eq!(run("في الأيام الأخيرة هرب", &[], &[]), ["الأيام الأخيرة"]);
        assert_eq!(
            run("تضاعف العدد خلال الأيام الخمسة الماضية ،", &[], &[]),
            ["خلال الأيام الخمسة الماضية"]
        );
        assert_eq!(run("تستمر لعدة أيام .", &[], &[]), ["لعدة أيام"]);
        assert_eq!(run("بقي منذ عامين هناك", &[], &[]), ["منذ عامين"]);
        // The model's span takes its lead in.
        assert_eq!(
            run("خلال السنوات الماضية ،", &[(1, 3)], &[]),
            ["خلال السنوات الماضية"]
        );
    }

    #[test]
    fn units_alone_are_not_periods() {
        // A bare unit needs a lead or a count; a singular needs a count.
        assert!(run("مرت سنوات", &[], &[]).is_empty());
        assert!(run("بعد عقد اجتماع", &[], &[]).is_empty());
        assert!(run("منذ عاما", &[], &[]).is_empty());
        assert!(run("الأيام الجميلة", &[], &[]).is_empty());
        assert!(run("قتل 12 شخصا", &[], &[]).is_empty());
        // Nor over words the model gave another type.
        assert!(run("فندق 12 عاما", &[], &[0, 1]).is_empty());
    }

    #[test]
    fn unknown_model_spans_are_kept() {
        assert_eq!(run("في الأيام الأخيرة هرب", &[(1, 3)], &[]), ["الأيام الأخيرة"]);
        // Two months that are not consecutive have no value, but stay one span.
        assert_eq!(
            run("وبين يناير ومارس تراجع", &[(0, 3)], &[]),
            ["وبين يناير ومارس"]
        );
        assert_eq!(
            run("منذ بداية يناير 919 .", &[(1, 4)], &[]),
            ["بداية يناير 919"]
        );
        assert_eq!(
            run("وقع في 20 / شعبان / 1428 هـ", &[(2, 7)], &[]),
            ["20 / شعبان / 1428"]
        );
    }
}

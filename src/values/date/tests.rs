//! Tests of date values: the table of `tests/data/dates.tsv`, calendars,
//! the lexicon and the parser.

use super::calendar::*;
use super::lexicon::*;
use super::tokens::*;
use super::*;

const TABLE: &str = include_str!("../../../tests/data/dates.tsv");

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
                year(y) && digits(m, 2) && in_range(m, 1, 12) && digits(d, 2) && in_range(d, 1, 31)
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
            [y, m] if ["H1", "H2", "Q1", "Q2", "Q3", "Q4", "SP", "SU", "FA", "WI"].contains(m) => {
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
    let any =
        (0i32..=9999, 1u32..=12, 1u32..=28).prop_map(|(year, month, day)| Ymd { year, month, day });
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

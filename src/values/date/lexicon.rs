//! The words of dates: month, weekday and unit names, numbers, markers,
//! all written folded.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use super::tokens::*;
use super::*;

// ---------------------------------------------------------------------------
// Words
// ---------------------------------------------------------------------------
// All word lists below are written in folded form (see `fold_char`); a unit
// test checks that.

/// Gregorian month names, folded on first use.
pub(super) const GREGORIAN_MONTHS: &[(&str, u32)] = &[
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
pub(super) const HIJRI_MONTHS: &[(&str, u32)] = &[
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
pub(super) const WEEKDAYS: &[(&str, u32)] = &[
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
pub(super) const DATE_WORD_EXTRAS: &[&str] = &["تشرين", "كانون", "جمادي", "شوال", "القعده"];
/// One-word Gregorian month names that `is_date_word` leaves out.
pub(super) const DATE_WORD_EXCLUDED: &[&str] = &["ماي", "اب"];
/// Calendar markers accepted by `is_date_word`.
pub(super) const DATE_MARKERS: &[&str] = &[
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

pub(super) const HIJRI_MARKS: &[&str] =
    &["ه", "هجري", "هجريه", "الهجري", "الهجريه", "للهجره", "هجريا"];
pub(super) const GREG_MARKS: &[&str] = &[
    "م",
    "ميلادي",
    "ميلاديه",
    "الميلادي",
    "الميلاديه",
    "للميلاد",
    "ميلاديا",
];
pub(super) const YEAR_WORDS: &[&str] = &["عام", "سنه", "العام", "السنه", "عامي", "سنتي"];
pub(super) const MONTH_WORDS: &[&str] = &["شهر", "الشهر", "شهري"];
pub(super) const DAY_WORDS: &[&str] = &["يوم", "يومي"];
pub(super) const TO_WORDS: &[&str] = &["الي", "حتي", "لغايه"];
pub(super) const PAST: &[&str] = &[
    "الماضي",
    "الماضيه",
    "المنصرم",
    "المنصرمه",
    "الفايت",
    "الفايته",
];
pub(super) const PRESENT: &[&str] = &["الجاري", "الجاريه", "الحالي", "الحاليه"];
pub(super) const FUTURE: &[&str] = &["المقبل", "المقبله", "القادم", "القادمه"];
pub(super) const THIS: &[&str] = &["هذا", "هذه"];
/// Vague modifiers that are dropped ("early 2022" keeps the value 2022).
pub(super) const MODIFIERS: &[&str] = &[
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
pub(super) const LEADING: &[&str] = &[
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
pub(super) const ITEM_PREFIXES: &[&str] = &["ب", "ل", "ك", "ف", "في"];
/// Parts of the day and their TIMEX3 codes.
pub(super) const PARTS_OF_DAY: &[(&str, &str)] = &[
    ("صباح", "MO"),
    ("فجر", "MO"),
    ("ضحي", "MO"),
    ("ظهر", "MI"),
    ("ظهيره", "MI"),
    ("عصر", "AF"),
    ("مساء", "EV"),
    ("ليله", "NI"),
];
pub(super) const ORDINAL_UNITS: &[(&str, u32)] = &[
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
pub(super) const TWENTIETH: &[&str] = &["العشرين", "العشرون"];
pub(super) const THIRTIETH: &[&str] = &["الثلاثين", "الثلاثون"];
/// Decade stems: العشرينيات … التسعينيات.
pub(super) const DECADE_STEMS: &[(&str, u32)] = &[
    ("عشرين", 2),
    ("ثلاثين", 3),
    ("اربعين", 4),
    ("خمسين", 5),
    ("ستين", 6),
    ("سبعين", 7),
    ("ثمانين", 8),
    ("تسعين", 9),
];
pub(super) const SEASONS: &[(&str, &str)] = &[
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
pub(super) enum Unit {
    Day,
    Week,
    Month,
    Year,
}

/// Durations that carry their own count (singular and dual).
pub(super) const COUNTED_UNITS: &[(&str, i64, Unit)] = &[
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
pub(super) const PLURAL_UNITS: &[(&str, Unit)] = &[
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
pub(super) const NUMBER_WORDS: &[(&str, i64)] = &[
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
pub(super) const OTHER_WORDS: &[&str] = &[
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
pub(super) struct Lexicon {
    /// Month phrases (one to three words) -> calendar and month.
    pub(super) months: HashMap<String, (Calendar, u32)>,
    /// Weekday -> (ISO number, written with the article).
    pub(super) weekdays: HashMap<String, (u32, bool)>,
    /// Decade words -> decade digit.
    pub(super) decades: HashMap<String, u32>,
    /// Every word the parser knows, for clitic splitting.
    pub(super) known: HashSet<String>,
    /// Words accepted by `is_date_word`.
    pub(super) date_words: HashSet<String>,
}

pub(super) fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(build_lexicon)
}

pub(super) fn build_lexicon() -> Lexicon {
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

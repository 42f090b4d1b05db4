//! Leading clitics to leave out of entity spans.
//!
//! Arabic writes conjunctions (و ف) and one-letter prepositions (ب ل ك) as
//! part of the next word: "ولبنان" is "و" + "لبنان". NER corpora such as
//! ANERcorp keep them attached, so a tagger labels the whole word, but the
//! entity the user wants is "لبنان". [`leading_clitic_len`] says how many
//! bytes to drop from the start of an entity's first word.
//!
//! The hard part is that many names begin with the same letters (لبنان,
//! بغداد, كندا, فرنسا, وليد). The rules, in order:
//!
//! 1. A word listed in the lexicon (`data/clitic-lexicon.txt`) is never
//!    split: "لبنان", "بغداد", "وليد" stay whole.
//! 2. The candidate clitics are one letter (و ف ب ل ك) or two (و/ف followed
//!    by ب ل ك), tried shortest first. A candidate is stripped when what
//!    remains
//!    - is a listed word of at least three letters ("لموسكو" → "موسكو",
//!      "وبغداد" → "بغداد", "لمجلس" → "مجلس"), or
//!    - starts with the article "ال" followed by at least two letters, and
//!      the clitic does not end in ل ("والولايات" → "الولايات", "بالعراق" →
//!      "العراق", "وبالعراق" → "العراق"). After ل the article loses its
//!      alef, so "لال..." is not ل + ال.
//! 3. ل + ال is written "لل" ("للأمم" = ل + الأمم). Stripping ل would leave
//!    "لأمم", which is no slice of the name, so such a word is kept whole
//!    ("للأمم المتحدة"); a و or ف before it is still stripped ("وللأمم" →
//!    "للأمم").
//! 4. Anything else is kept whole: for an unknown word a kept conjunction
//!    ("وطوكيو") costs less than a cut name.
//!
//! Lookups fold words as every look-up does ([`crate::text::fold`]), so
//! they work on raw or normalized words alike. The returned length counts
//! the word's own bytes, including marks on the clitic letters.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::text::fold::{fold_letter, is_dropped};

/// The lexicon's source, embedded at compile time.
const LEXICON_SOURCE: &str = include_str!("../../data/clitic-lexicon.txt");

/// Fewest letters a listed remainder must have to license stripping; shorter
/// entries are too likely to be an accident ("بن" in "لبن").
const MIN_LISTED_LETTERS: usize = 3;

/// Fewest letters after "ال" for the article rule ("بالي" is not ب + الي).
const MIN_AFTER_ARTICLE: usize = 2;

/// Number of bytes of `word` taken by a leading conjunction/preposition
/// clitic that should be left out of an entity starting with `word`, or 0
/// to keep the word whole. See the module docs for the rules.
#[must_use]
pub fn leading_clitic_len(word: &str) -> usize {
    let lexicon = lexicon();
    let Some(whole) = Key::new(word) else {
        return 0;
    };
    if lexicon.contains(whole.as_str()) {
        return 0;
    }
    // Folded first two letters and the byte offsets where the 2nd and 3rd
    // letters start (marks after a letter belong to it).
    let mut first = ['\0'; 2];
    let mut starts = [0usize; 3];
    let mut letters = 0;
    for (at, c) in word.char_indices() {
        if is_dropped(c) {
            continue;
        }
        if let Some(slot) = first.get_mut(letters) {
            *slot = fold_letter(c);
        }
        starts[letters] = at;
        letters += 1;
        if letters == starts.len() {
            break;
        }
    }
    let [a, b] = first;
    if letters < 2 || !is_clitic_letter(a) {
        return 0;
    }
    let conjunction = matches!(a, 'و' | 'ف');
    if strips(&word[starts[1]..], a, conjunction) {
        return starts[1];
    }
    if letters == 3
        && conjunction
        && matches!(b, 'ب' | 'ل' | 'ك')
        && strips(&word[starts[2]..], b, false)
    {
        return starts[2];
    }
    0
}

/// The longest leading clitic cluster of `word`, (و|ف)? (ب|ل|ك)?, as its
/// clitics one by one, and the rest of the word (empty when the word is all
/// clitics). The one reader of clitic clusters: [`clitic_prefixes`], the
/// country table and the date lexicon all read them here.
#[must_use]
pub fn split_leading_clitics(word: &str) -> (Vec<&str>, &str) {
    let mut parts = Vec::new();
    let mut rest = word;
    for letters in [&['و', 'ف'][..], &['ب', 'ل', 'ك'][..]] {
        if let Some(r) = rest.strip_prefix(letters) {
            parts.push(&rest[..rest.len() - r.len()]);
            rest = r;
        }
    }
    (parts, rest)
}

/// Byte lengths of possible leading clitic clusters of a word, shortest
/// first, never the whole word: (و|ف)? (ب|ل|ك)?, so `&word[p..]` is the
/// word behind each. Unlike [`leading_clitic_len`], which decides where an
/// entity starts, this lists every reading, for lookups that try each.
#[must_use]
pub fn clitic_prefixes(word: &str) -> Vec<usize> {
    let mut out = vec![0];
    let mut at = 0;
    for part in split_leading_clitics(word).0 {
        at += part.len();
        out.push(at);
    }
    out.retain(|&p| p < word.len());
    out
}

fn is_clitic_letter(c: char) -> bool {
    matches!(c, 'و' | 'ف' | 'ب' | 'ل' | 'ك')
}

/// Whether removing a clitic ending in `clitic` leaves `rest` as the start
/// of a name. `conjunction_only`: the clitic is a lone و/ف.
fn strips(rest: &str, clitic: char, conjunction_only: bool) -> bool {
    let Some(key) = Key::new(rest) else {
        return false;
    };
    let rest = key.as_str();
    if key.letters >= MIN_LISTED_LETTERS && lexicon().contains(rest) {
        return true;
    }
    let min_len = 2 + MIN_AFTER_ARTICLE;
    if clitic != 'ل' && key.letters >= min_len && rest.starts_with("ال") {
        return true;
    }
    conjunction_only && key.letters >= min_len && rest.starts_with("لل")
}

/// The lexicon's words, folded like lookup keys.
fn lexicon() -> &'static HashSet<Box<str>> {
    static LEXICON: OnceLock<HashSet<Box<str>>> = OnceLock::new();
    LEXICON.get_or_init(|| {
        lexicon_words()
            .filter_map(Key::new)
            .map(|k| k.as_str().into())
            .collect()
    })
}

/// The lexicon's entries as written (comments and blank lines skipped).
fn lexicon_words() -> impl Iterator<Item = &'static str> {
    LEXICON_SOURCE
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|w| !w.is_empty())
}

/// A lookup key on the stack: the word without marks, letters folded.
struct Key {
    buf: [u8; Key::CAPACITY],
    len: usize,
    letters: usize,
}

impl Key {
    /// Longer words are not in the lexicon; no need to allocate for them.
    const CAPACITY: usize = 96;

    fn new(word: &str) -> Option<Key> {
        let mut key = Key {
            buf: [0; Key::CAPACITY],
            len: 0,
            letters: 0,
        };
        for c in word.chars() {
            if is_dropped(c) {
                continue;
            }
            let c = fold_letter(c);
            let end = key.len + c.len_utf8();
            let slot = key.buf.get_mut(key.len..end)?;
            c.encode_utf8(slot);
            key.len = end;
            key.letters += 1;
        }
        Some(key)
    }

    fn as_str(&self) -> &str {
        // Only whole chars are ever written, so this never fails.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one reading of clitic clusters that every look-up shares.
    #[test]
    fn clitic_clusters_are_read_one_way() {
        assert_eq!(
            split_leading_clitics("وبالقاهرة"),
            (vec!["و", "ب"], "القاهرة")
        );
        assert_eq!(split_leading_clitics("فلمصر"), (vec!["ف", "ل"], "مصر"));
        assert_eq!(split_leading_clitics("كالعادة"), (vec!["ك"], "العادة"));
        assert_eq!(split_leading_clitics("وب"), (vec!["و", "ب"], ""));
        assert_eq!(split_leading_clitics("مصر"), (vec![], "مصر"));
        // One conjunction and one preposition at most, in that order.
        assert_eq!(split_leading_clitics("بوفد"), (vec!["ب"], "وفد"));
        assert_eq!(clitic_prefixes("وبالقاهرة"), vec![0, 2, 4]);
        assert_eq!(clitic_prefixes("وب"), vec![0, 2]);
    }

    /// The word left after stripping.
    fn rest(word: &str) -> &str {
        &word[leading_clitic_len(word)..]
    }

    #[test]
    fn strips_conjunction_before_listed_names() {
        assert_eq!(rest("وفرنسا"), "فرنسا");
        assert_eq!(rest("ولبنان"), "لبنان");
        assert_eq!(rest("وبغداد"), "بغداد");
        assert_eq!(rest("ولندن"), "لندن");
        assert_eq!(rest("فباكستان"), "باكستان");
    }

    #[test]
    fn strips_preposition_before_listed_names() {
        assert_eq!(rest("لموسكو"), "موسكو");
        assert_eq!(rest("بمصر"), "مصر");
        assert_eq!(rest("كفرنسا"), "فرنسا");
        assert_eq!(rest("للبنان"), "لبنان");
        assert_eq!(rest("بإسرائيل"), "إسرائيل");
    }

    #[test]
    fn strips_before_org_head_words() {
        assert_eq!(rest("لمجلس"), "مجلس");
        assert_eq!(rest("لوزارة"), "وزارة");
        assert_eq!(rest("ومنظمة"), "منظمة");
        assert_eq!(rest("بجامعة"), "جامعة");
        assert_eq!(rest("لحزب"), "حزب");
        assert_eq!(rest("وشركة"), "شركة");
        assert_eq!(rest("للاتحاد"), "للاتحاد");
        assert_eq!(rest("واتحاد"), "اتحاد");
        assert_eq!(rest("لهيئة"), "هيئة");
        assert_eq!(rest("لبنك"), "بنك");
    }

    #[test]
    fn strips_two_letter_clitics() {
        assert_eq!(rest("وبموسكو"), "موسكو");
        assert_eq!(rest("ولمجلس"), "مجلس");
        assert_eq!(rest("فلمنظمة"), "منظمة");
        assert_eq!(rest("وكمصر"), "مصر");
    }

    #[test]
    fn strips_before_article() {
        assert_eq!(rest("والولايات"), "الولايات");
        assert_eq!(rest("بالعراق"), "العراق");
        assert_eq!(rest("وبالعراق"), "العراق");
        assert_eq!(rest("فالمملكة"), "المملكة");
        assert_eq!(rest("كالسودان"), "السودان");
        assert_eq!(rest("بالأردن"), "الأردن");
    }

    #[test]
    fn lam_plus_article_stays_whole() {
        assert_eq!(leading_clitic_len("للأمم"), 0);
        assert_eq!(leading_clitic_len("للمنظمة"), 0);
        assert_eq!(rest("وللأمم"), "للأمم");
        assert_eq!(rest("فللمنظمة"), "للمنظمة");
        // ل is never ل + ال written with the alef.
        assert_eq!(leading_clitic_len("لالة"), 0);
    }

    #[test]
    fn names_that_begin_with_clitic_letters_stay_whole() {
        for name in [
            "لبنان",
            "بغداد",
            "كندا",
            "فنلندا",
            "بروكسل",
            "ليبيا",
            "وارسو",
            "بيروت",
            "فلسطين",
            "فرنسا",
            "بريطانيا",
            "بلجيكا",
            "لندن",
            "كوريا",
            "فيتنام",
            "بنغلاديش",
            "وليد",
            "فاطمة",
            "كريم",
            "بكر",
            "لبنى",
            "كمال",
        ] {
            assert_eq!(leading_clitic_len(name), 0, "{name}");
        }
    }

    #[test]
    fn names_with_clitic_letters_plus_al_stay_whole() {
        for name in ["بالي", "كاليفورنيا", "فاليتا", "بالاو", "والاس", "كالكوتا"]
        {
            assert_eq!(leading_clitic_len(name), 0, "{name}");
        }
        // Too short after the article to be ب + ال...
        assert_eq!(leading_clitic_len("بالم"), 0);
    }

    #[test]
    fn unknown_words_are_kept_whole() {
        assert_eq!(leading_clitic_len("وطوكيوكو"), 0);
        assert_eq!(leading_clitic_len("بسمارك"), 0);
        assert_eq!(leading_clitic_len("لميس"), 0);
        assert_eq!(leading_clitic_len("فيصلية"), 0);
        assert_eq!(leading_clitic_len("مصر"), 0);
        assert_eq!(leading_clitic_len("القاهرة"), 0);
    }

    #[test]
    fn short_remainders_do_not_license() {
        // "بن" is listed nowhere as a license; two letters never are.
        assert_eq!(leading_clitic_len("لبن"), 0);
        assert_eq!(leading_clitic_len("و"), 0);
        assert_eq!(leading_clitic_len("وب"), 0);
        assert_eq!(leading_clitic_len(""), 0);
        assert_eq!(leading_clitic_len("بال"), 0);
    }

    #[test]
    fn diacritics_and_letter_variants_are_ignored() {
        // The byte count covers the clitic's own marks.
        assert_eq!(rest("وَفَرَنْسا"), "فَرَنْسا");
        assert_eq!(rest("وَبِبَغْدَادَ"), "بَغْدَادَ");
        assert_eq!(rest("لِمَجْلِسِ"), "مَجْلِسِ");
        assert_eq!(rest("وبـغداد"), "بـغداد");
        assert_eq!(rest("بـالعراق"), "العراق");
        assert_eq!(leading_clitic_len("بَغْدَادُ"), 0);
        assert_eq!(leading_clitic_len("فاطمه"), 0);
        assert_eq!(leading_clitic_len("لبنى"), 0);
        assert_eq!(leading_clitic_len("لبني"), 0);
        assert_eq!(rest("لامريكا"), "امريكا");
        assert_eq!(rest("لأمريكا"), "أمريكا");
        assert_eq!(rest("\u{200F}ولبنان"), "لبنان");
    }

    #[test]
    fn non_arabic_words_are_kept() {
        assert_eq!(leading_clitic_len("London"), 0);
        assert_eq!(leading_clitic_len("2022"), 0);
        assert_eq!(leading_clitic_len("و2022"), 0);
    }

    #[test]
    fn very_long_words_do_not_allocate_or_panic() {
        let long = "و".repeat(200);
        assert_eq!(leading_clitic_len(&long), 0);
        let long = format!("و{}", "ب".repeat(100));
        assert_eq!(leading_clitic_len(&long), 0);
    }

    #[test]
    fn lexicon_entries_are_single_arabic_words() {
        let mut count = 0;
        for w in lexicon_words() {
            count += 1;
            assert!(
                w.chars().all(|c| ('\u{0621}'..='\u{064A}').contains(&c)),
                "lexicon entry {w:?} is not a plain Arabic word"
            );
            assert!(w.chars().count() >= 2, "lexicon entry {w:?} too short");
        }
        assert!(count > 500);
        assert!(lexicon().len() > 500);
    }

    #[test]
    fn every_listed_word_stays_whole_and_licenses_stripping() {
        for w in lexicon_words() {
            assert_eq!(leading_clitic_len(w), 0, "{w}");
            for clitic in ["و", "ب", "ل"] {
                let prefixed = format!("{clitic}{w}");
                // A few are names themselves ("وجدة" is Oujda, not و + جدة).
                let listed = Key::new(&prefixed).is_some_and(|k| lexicon().contains(k.as_str()));
                if w.chars().count() >= MIN_LISTED_LETTERS && !listed {
                    assert_eq!(rest(&prefixed), w, "{prefixed}");
                }
            }
        }
    }
}

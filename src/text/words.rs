//! Word splitting and sentence breaks with byte offsets.
//!
//! Meant for normalized text (see [`crate::text::normalize`]); it also works
//! on raw text. The tokenization follows Arabic NER corpora such as ANERcorp
//! and AQMAR: whitespace separates words, every punctuation mark or symbol is
//! a word of its own, and clitics stay attached to their word (splitting them
//! off an entity is [`crate::text::clitics`]'s job). In detail:
//!
//! - a run of Arabic-script letters (with their combining marks, tatweel,
//!   ZWJ/ZWNJ) is one word;
//! - a run of other letters and digits is one word (`CNN`, `G20`, `5G`);
//! - a run of digits is one word, including single separators `.` `,` `/`
//!   `-` `:` `٫` `٬` that stand between two digits (`3.5`, `1,000`,
//!   `15/1/1959`, `2022-01-13`, `١٣/١/٢٠٢٢`, `10:30`);
//! - Arabic letters and digits or other letters do not join (`عام2022` is
//!   two words);
//! - any other character (punctuation, symbols, emoji) is a word of its own,
//!   together with what extends it: combining marks, variation selectors,
//!   skin-tone modifiers, a second regional indicator (flags) and ZWJ
//!   sequences;
//! - invisible format characters other than ZWJ/ZWNJ separate words, like
//!   whitespace and control characters.

use unicode_normalization::char::is_combining_mark;

/// A word: byte offsets `start..end` into the text it was split from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Word {
    /// First byte of the word.
    pub start: usize,
    /// One past the last byte of the word.
    pub end: usize,
}

impl Word {
    /// The word's text in `text` (empty if the offsets do not fit `text`).
    #[must_use]
    pub fn text<'a>(&self, text: &'a str) -> &'a str {
        text.get(self.start..self.end).unwrap_or("")
    }
}

/// Character classes for splitting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Space,
    /// Continues whatever word is open.
    Extend,
    Arabic,
    Letter,
    Digit,
    /// Punctuation, symbols, emoji.
    Other,
}

/// Kind of the word being built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Arabic,
    /// Non-Arabic letters, possibly with digits.
    Alnum,
    /// Digits only (with separators).
    Number,
    Other,
}

fn class(c: char) -> Class {
    match c {
        'a'..='z' | 'A'..='Z' => Class::Letter,
        '0'..='9' => Class::Digit,
        '!'..='~' => Class::Other,
        // Arabic letters, the common case.
        '\u{0621}'..='\u{063A}' | '\u{0641}'..='\u{064A}' => Class::Arabic,
        '\u{200C}' | '\u{200D}' | '\u{FE00}'..='\u{FE0F}' | '\u{1F3FB}'..='\u{1F3FF}' => {
            Class::Extend
        }
        '\u{E0020}'..='\u{E007F}' => Class::Extend,
        _ if c.is_whitespace() || c.is_control() => Class::Space,
        _ if is_combining_mark(c) => Class::Extend,
        _ if c.is_alphabetic() => {
            if is_arabic_script(c) {
                Class::Arabic
            } else {
                Class::Letter
            }
        }
        _ if c.is_numeric() => Class::Digit,
        _ if is_format(c) => Class::Space,
        _ => Class::Other,
    }
}

fn is_arabic_script(c: char) -> bool {
    matches!(c,
        '\u{0600}'..='\u{06FF}'
        | '\u{0750}'..='\u{077F}'
        | '\u{0870}'..='\u{08FF}'
        | '\u{FB50}'..='\u{FDFF}'
        | '\u{FE70}'..='\u{FEFF}')
}

/// Invisible format characters (other than ZWJ/ZWNJ, which join).
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{061C}'
        | '\u{200B}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{FEFF}')
}

fn is_regional_indicator(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

/// Separators allowed between two digits inside a number.
fn is_digit_separator(c: char) -> bool {
    matches!(c, '.' | ',' | '/' | '-' | ':' | '٫' | '٬')
}

/// Splits `text` into words (see the module docs).
#[must_use]
pub fn split_words(text: &str) -> Vec<Word> {
    let mut words = Vec::with_capacity(text.len() / 6 + 1);
    // The open word: start, kind, last char, whether a second regional
    // indicator may still join.
    let mut open: Option<(usize, Kind)> = None;
    let mut prev = '\0';
    let mut flag_open = false;
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let cls = class(c);
        let joins = match (open, cls) {
            (_, Class::Space) => false,
            (Some(_), Class::Extend) => true,
            (Some((_, Kind::Arabic)), Class::Arabic) => true,
            (Some((_, Kind::Alnum | Kind::Number)), Class::Letter | Class::Digit) => true,
            (Some((_, Kind::Number | Kind::Alnum)), Class::Other) => {
                // A separator between two digits stays inside the number.
                is_digit_separator(c)
                    && class(prev) == Class::Digit
                    && chars.peek().is_some_and(|&(_, n)| class(n) == Class::Digit)
            }
            (Some((_, Kind::Other)), Class::Other) => {
                prev == '\u{200D}' || (flag_open && is_regional_indicator(c))
            }
            _ => false,
        };
        if joins {
            if let Some((start, kind)) = open {
                let kind = match (kind, cls) {
                    (Kind::Number, Class::Letter) => Kind::Alnum,
                    _ => kind,
                };
                open = Some((start, kind));
            }
            flag_open = false;
        } else {
            if let Some((start, _)) = open.take() {
                words.push(Word { start, end: at });
            }
            open = match cls {
                Class::Space => None,
                Class::Arabic => Some((at, Kind::Arabic)),
                Class::Letter => Some((at, Kind::Alnum)),
                Class::Digit => Some((at, Kind::Number)),
                Class::Other | Class::Extend => Some((at, Kind::Other)),
            };
            flag_open = is_regional_indicator(c);
        }
        prev = c;
    }
    if let Some((start, _)) = open {
        words.push(Word {
            start,
            end: text.len(),
        });
    }
    words
}

/// Characters that end a sentence.
fn is_terminal(word: &str) -> bool {
    matches!(
        word,
        "." | "!" | "?" | "؟" | "…" | "۔" | "‼" | "⁇" | "⁈" | "⁉"
    )
}

/// Closing punctuation that belongs to the sentence it follows.
fn is_closer(word: &str) -> bool {
    matches!(
        word,
        ")" | "]" | "}" | "»" | "\"" | "'" | "”" | "’" | "›" | "〉" | "﴿"
    )
}

fn has_line_break(gap: &str) -> bool {
    gap.contains([
        '\n', '\r', '\u{0B}', '\u{0C}', '\u{85}', '\u{2028}', '\u{2029}',
    ])
}

/// Whether `word` is a single letter (an initial or an abbreviation such as
/// `د.` for doctor).
fn is_single_letter(word: &str) -> bool {
    let mut chars = word.chars().filter(|&c| class(c) != Class::Extend);
    matches!(chars.next(), Some(c) if c.is_alphabetic()) && chars.next().is_none()
}

/// Whether a (normalized) word is a definite nisba adjective: `ال`, a stem,
/// then `ي` or `ية` (`المصري`, `الأردنية`), as follows the name of an
/// organization (`البنك المركزي الأردني`).
pub fn is_definite_nisba(word: &str) -> bool {
    let stem = word
        .strip_prefix("ال")
        .and_then(|w| w.strip_suffix("ية").or_else(|| w.strip_suffix('ي')));
    stem.is_some_and(|s| s.chars().count() >= 2)
}

/// Indices of the words in `words` (from [`split_words`] on `text`) that
/// end a sentence, ascending. The last word always ends one, so the
/// sentences are `words[0..=b0]`, `words[b0 + 1..=b1]`, and so on.
///
/// A sentence ends:
/// - at a line break (after the last word before it);
/// - at `.` `!` `?` `؟` `…` `۔` (and `‼` etc.) followed by whitespace or the
///   end of the text; in a cluster such as `؟!`, `...` or `.»` the break is
///   after the cluster's last mark, closing quotes and brackets included.
///
/// Not at a mark directly followed by a letter or digit (`U.S.A`, `a.com`;
/// a `.` inside a number is already part of the number's word), nor at a
/// `.` right after a single letter (`د. محمد`, `J. Smith`).
#[must_use]
pub fn sentence_breaks(text: &str, words: &[Word]) -> Vec<usize> {
    let mut breaks = Vec::new();
    // Inside a cluster of terminal marks and closers that started with a
    // real terminal mark.
    let mut in_cluster = false;
    for (i, w) in words.iter().enumerate() {
        let word = w.text(text);
        let next = words.get(i + 1);
        let gap = match next {
            Some(n) => text.get(w.end..n.start).unwrap_or(" "),
            None => text.get(w.end..).unwrap_or(""),
        };
        if is_terminal(word) {
            let abbreviation = word == "."
                && i > 0
                && words[i - 1].end == w.start
                && is_single_letter(words[i - 1].text(text));
            in_cluster = in_cluster || !abbreviation;
        } else if !is_closer(word) {
            in_cluster = false;
        }
        let last = next.is_none();
        let ends = if gap.is_empty() {
            // The cluster goes on only with more marks or closers; any other
            // word glued on cancels it (U.S.A).
            match next {
                Some(n) => {
                    let n = n.text(text);
                    if in_cluster && !is_terminal(n) && !is_closer(n) {
                        in_cluster = false;
                    }
                    false
                }
                None => true,
            }
        } else {
            in_cluster
        };
        if last || ends || has_line_break(gap) {
            breaks.push(i);
            in_cluster = false;
        }
    }
    breaks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definite_nisba_adjectives() {
        for w in ["المصري", "الأردني", "الأردنية", "الوطنية", "الفرنسي"]
        {
            assert!(is_definite_nisba(w), "{w}");
        }
        for w in ["مصري", "البنك", "الري", "الية", "القاهرة", "النبي2", "علي"]
        {
            assert!(!is_definite_nisba(w), "{w}");
        }
    }

    fn split(text: &str) -> Vec<&str> {
        split_words(text).iter().map(|w| w.text(text)).collect()
    }

    fn sentences(text: &str) -> Vec<String> {
        let words = split_words(text);
        let mut out = Vec::new();
        let mut from = 0;
        for b in sentence_breaks(text, &words) {
            let s = words[from].start;
            let e = words[b].end;
            out.push(text[s..e].to_string());
            from = b + 1;
        }
        out
    }

    #[test]
    fn arabic_sentence_with_punctuation() {
        assert_eq!(
            split("قال الوزير: «سنعود غدا»، ثم غادر."),
            vec![
                "قال",
                "الوزير",
                ":",
                "«",
                "سنعود",
                "غدا",
                "»",
                "،",
                "ثم",
                "غادر",
                "."
            ]
        );
    }

    #[test]
    fn clitics_stay_attached() {
        assert_eq!(split("وبالمدرسة ولبنان"), vec!["وبالمدرسة", "ولبنان"]);
    }

    #[test]
    fn arabic_punctuation_is_separate() {
        assert_eq!(
            split("هل حضرت؟ نعم؛ بنسبة ٥٠٪ (تقريبا)"),
            vec![
                "هل",
                "حضرت",
                "؟",
                "نعم",
                "؛",
                "بنسبة",
                "٥٠",
                "٪",
                "(",
                "تقريبا",
                ")"
            ]
        );
    }

    #[test]
    fn numbers_keep_their_separators() {
        assert_eq!(
            split("ولد في 15/1/1959 وعمره 3.5 ودفع 1,000 يوم 2022-01-13 الساعة 10:30"),
            vec![
                "ولد",
                "في",
                "15/1/1959",
                "وعمره",
                "3.5",
                "ودفع",
                "1,000",
                "يوم",
                "2022-01-13",
                "الساعة",
                "10:30"
            ]
        );
        assert_eq!(split("بتاريخ ١٣/١/٢٠٢٢"), vec!["بتاريخ", "١٣/١/٢٠٢٢"]);
        assert_eq!(split("٣٫٥ و١٬٠٠٠"), vec!["٣٫٥", "و", "١٬٠٠٠"]);
    }

    #[test]
    fn separators_not_between_digits_split() {
        assert_eq!(split("عام 2022."), vec!["عام", "2022", "."]);
        assert_eq!(split("1, 2"), vec!["1", ",", "2"]);
        assert_eq!(split("-5"), vec!["-", "5"]);
        assert_eq!(split("5-"), vec!["5", "-"]);
        assert_eq!(split("1..2"), vec!["1", ".", ".", "2"]);
    }

    #[test]
    fn arabic_and_digits_do_not_join() {
        assert_eq!(split("عام2022م"), vec!["عام", "2022", "م"]);
    }

    #[test]
    fn latin_runs() {
        assert_eq!(
            split("قناة CNN وشركة G20 وCOVID-19"),
            vec!["قناة", "CNN", "وشركة", "G20", "و", "COVID", "-", "19"]
        );
        assert_eq!(split("5G"), vec!["5G"]);
        assert_eq!(split("café"), vec!["café"]);
    }

    #[test]
    fn emoji_and_symbols_are_words() {
        assert_eq!(split("رائع👍👍"), vec!["رائع", "👍", "👍"]);
        let family = "👨\u{200D}👩\u{200D}👧";
        assert_eq!(
            split(&format!("عائلة {family}!")),
            vec!["عائلة", family, "!"]
        );
        assert_eq!(split("🇸🇦🇪🇬"), vec!["🇸🇦", "🇪🇬"]);
        assert_eq!(split("👍🏽x"), vec!["👍🏽", "x"]);
        assert_eq!(split("$5 ©"), vec!["$", "5", "©"]);
        assert_eq!(split("❤\u{FE0F}"), vec!["❤\u{FE0F}"]);
    }

    #[test]
    fn repeated_punctuation_splits_per_mark() {
        assert_eq!(split("ماذا؟!..."), vec!["ماذا", "؟", "!", ".", ".", "."]);
    }

    #[test]
    fn whitespace_controls_and_format_chars_separate() {
        assert_eq!(
            split(" أ\u{A0}ب\tج\nد\0ه\u{200F}و "),
            vec!["أ", "ب", "ج", "د", "ه", "و"]
        );
        assert!(split_words("").is_empty());
        assert!(split_words(" \n\t").is_empty());
    }

    #[test]
    fn raw_text_marks_and_joiners_stay_inside() {
        assert_eq!(
            split("مُحَمَّدٌ عبد\u{200C}الله"),
            vec!["مُحَمَّدٌ", "عبد\u{200C}الله"]
        );
        // A mark with no word before it is a word of its own.
        assert_eq!(split(" \u{064E}"), vec!["\u{064E}"]);
    }

    #[test]
    fn offsets_are_bytes() {
        let text = "في بيروت";
        let w = split_words(text);
        assert_eq!(
            w,
            vec![Word { start: 0, end: 4 }, Word { start: 5, end: 15 }]
        );
    }

    #[test]
    fn sentence_breaks_basic() {
        assert_eq!(
            sentences("وصل الوفد. بدأ الاجتماع! هل انتهى؟ نعم"),
            vec!["وصل الوفد.", "بدأ الاجتماع!", "هل انتهى؟", "نعم"]
        );
    }

    #[test]
    fn no_break_inside_numbers_or_glued_words() {
        assert_eq!(
            sentences("بلغ النمو 3.5 بالمئة. انتهى"),
            vec!["بلغ النمو 3.5 بالمئة.", "انتهى"]
        );
        assert_eq!(sentences("زار U.S.A أمس. ثم"), vec!["زار U.S.A أمس.", "ثم"]);
        assert_eq!(
            sentences("الموقع example.com جيد"),
            vec!["الموقع example.com جيد"]
        );
    }

    #[test]
    fn no_break_after_single_letter_abbreviation() {
        assert_eq!(
            sentences("قال د. سامي إن الوضع مستقر. وأضاف"),
            vec!["قال د. سامي إن الوضع مستقر.", "وأضاف"]
        );
        assert_eq!(
            sentences("J. Smith came. Then"),
            vec!["J. Smith came.", "Then"]
        );
    }

    #[test]
    fn clusters_break_once_after_closers() {
        assert_eq!(sentences("ماذا؟! لا أعرف"), vec!["ماذا؟!", "لا أعرف"]);
        assert_eq!(sentences("انتظر... ثم تكلم"), vec!["انتظر...", "ثم تكلم"]);
        assert_eq!(
            sentences("قال: «سأعود.» ثم خرج"),
            vec!["قال: «سأعود.»", "ثم خرج"]
        );
        assert_eq!(sentences("(انتهى.) بعدها"), vec!["(انتهى.)", "بعدها"]);
    }

    #[test]
    fn line_breaks_end_sentences() {
        assert_eq!(
            sentences("عنوان الخبر\nنص الخبر هنا\r\n\r\nفقرة"),
            vec!["عنوان الخبر", "نص الخبر هنا", "فقرة"]
        );
    }

    #[test]
    fn last_word_always_ends_and_empty_has_none() {
        assert_eq!(sentence_breaks("", &[]), Vec::<usize>::new());
        let text = "بلا نهاية";
        let words = split_words(text);
        assert_eq!(sentence_breaks(text, &words), vec![1]);
    }

    #[test]
    fn bad_offsets_do_not_panic() {
        let words = [Word { start: 3, end: 100 }, Word { start: 1, end: 2 }];
        let _ = sentence_breaks("abc", &words);
    }
}

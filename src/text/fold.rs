//! One folding for look-ups: the keys of the clitic lexicon, the country
//! table and the date lexicon are all made by [`fold`], so a spelling that
//! matches in one matches in all.
//!
//! Folding drops what normalization removes from model input (harakat,
//! shadda, sukun, Quranic marks, tatweel, invisible format characters) and
//! writes each letter that Arabic text spells several ways one way:
//! أ إ آ ٱ → ا, ى ی ئ → ي, ة ھ → ه, ؤ → و, ک → ك. It keeps no alignment:
//! keys are compared, never reported. Model input is normalized by
//! [`normalize`](crate::text::normalize::normalize), which keeps the
//! alignment and folds letters only for models trained so (a narrower set,
//! [`NormalizeOptions::letters`](crate::text::normalize::NormalizeOptions),
//! part of what those models learned).

use crate::text::normalize::{is_invisible, is_removed_mark};

/// Whether folding drops `c` (marks, tatweel, invisible characters).
#[must_use]
pub fn is_dropped(c: char) -> bool {
    is_removed_mark(c) || is_invisible(c)
}

/// The one spelling of a letter that Arabic text writes several ways.
#[must_use]
pub fn fold_letter(c: char) -> char {
    match c {
        'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
        'ى' | 'ی' | 'ئ' => 'ي',
        'ة' | 'ھ' => 'ه',
        'ؤ' => 'و',
        'ک' => 'ك',
        _ => c,
    }
}

/// A character folded, or `None` when it is dropped.
#[must_use]
pub fn fold_char(c: char) -> Option<char> {
    (!is_dropped(c)).then(|| fold_letter(c))
}

/// `text` folded.
#[must_use]
pub fn fold(text: &str) -> String {
    text.chars().filter_map(fold_char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules every look-up shares.
    #[test]
    fn shared_rules() {
        assert_eq!(fold("أحمد إبراهيم آمال ٱلله"), "احمد ابراهيم امال الله");
        assert_eq!(fold("مصطفى فارسی رئيس"), "مصطفي فارسي رييس");
        assert_eq!(fold("القاهرة ھنا"), "القاهره هنا");
        assert_eq!(fold("مسؤول کتاب"), "مسوول كتاب");
        // Marks, tatweel and invisible characters go; other text stays.
        assert_eq!(fold("مُحَمَّـــد\u{200F}\u{FEFF}\u{00AD}"), "محمد");
        assert_eq!(fold("15 يناير، 2022 ABC"), "15 يناير، 2022 ABC");
    }

    #[test]
    fn folding_is_idempotent() {
        for s in ["أُمَّة", "مِصْرُ العَرَبِيَّة", "ٱلْقُرْآن", "ئؤھکى"]
        {
            assert_eq!(fold(&fold(s)), fold(s));
        }
    }
}

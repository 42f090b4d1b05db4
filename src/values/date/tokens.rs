//! Folding and tokens of a date mention.

use crate::text::clitics::{clitic_prefixes, split_leading_clitics};

use super::lexicon::*;

// ---------------------------------------------------------------------------
// Folding and tokens
// ---------------------------------------------------------------------------

/// Maps a character to its folded form ([`text::fold`](crate::text::fold)),
/// with digits of every script as ASCII and Arabic punctuation as its
/// Latin twin; `None` drops it.
pub(super) fn fold_char(c: char) -> Option<char> {
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

pub(super) fn fold(text: &str) -> String {
    text.chars().filter_map(fold_char).collect()
}

/// A token of a folded date expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
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
pub(super) const IGNORED_PUNCT: &[char] = &[',', '.', ';', ':', '"', '\'', '«', '»', '!', '?', '؟'];

/// Folds, tokenizes and splits attached clitics off known words.
pub(super) fn tokens(text: &str) -> Vec<Tok> {
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
pub(super) fn number(digits: &[char]) -> (u32, usize) {
    let value = digits.iter().try_fold(0u32, |acc, d| {
        acc.checked_mul(10)?.checked_add(d.to_digit(10)?)
    });
    (value.unwrap_or(u32::MAX), digits.len())
}

/// Splits leading clitics (و ف, then ب ل ك; لل = ل + ال) off words that are
/// unknown as written but known without them, and splits words made only of
/// clitics (وال before a number) into their parts.
pub(super) fn split_clitics(toks: Vec<Tok>) -> Vec<Tok> {
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
pub(super) fn clitics_only(word: &str) -> Option<Vec<String>> {
    let (clitics, mut rest) = split_leading_clitics(word);
    let mut parts: Vec<String> = clitics.into_iter().map(str::to_string).collect();
    if rest == "ال" {
        parts.push("ال".to_string());
        rest = "";
    }
    (rest.is_empty() && !parts.is_empty()).then_some(parts)
}

/// `ق.م`, `قبل الميلاد`, `قبل الهجرة`: dates before an era are out of scope.
pub(super) fn names_era_before(toks: &[Tok]) -> bool {
    toks.windows(2).any(|pair| match pair {
        [Tok::W(a), Tok::W(b)] => {
            (a == "ق" && b == "م") || (a == "قبل" && (b == "الميلاد" || b == "الهجره"))
        }
        _ => false,
    })
}

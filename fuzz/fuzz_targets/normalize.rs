//! The text layer on any text: normalization and its alignment, words,
//! sentences, clitics, and the date and country readers of entity texts.

#![no_main]

use libfuzzer_sys::fuzz_target;

use arabic_ner::text::clitics::leading_clitic_len;
use arabic_ner::text::normalize::{normalize, NormalizeOptions};
use arabic_ner::text::words::{sentence_breaks, split_words};
use arabic_ner::values::country::country_code;
use arabic_ner::values::date::{is_date_word, normalize_date, Ymd};

fuzz_target!(|data: &[u8]| {
    // Four bytes for a reference date and two offsets, the rest is text.
    let (head, rest) = data.split_at(data.len().min(4));
    let mut h = [0u8; 4];
    h[..head.len()].copy_from_slice(head);
    let input = String::from_utf8_lossy(rest);
    let year = i32::from(i16::from_le_bytes([h[0], h[1]])) * 3;
    let reference = Ymd::new(year, u32::from(h[2] % 13), u32::from(h[3] % 32));
    for letters in [false, true] {
        let n = normalize(&input, &NormalizeOptions { letters });
        assert_eq!(n.original_len(), input.len());
        // Arbitrary spans map to char boundaries inside the input.
        let a = usize::from(h[2]) * n.len() / 256;
        let b = usize::from(h[3]) * n.len() / 255;
        let (s, e) = n.original_span(a, b);
        assert!(s <= e && e <= input.len());
        assert!(input.is_char_boundary(s) && input.is_char_boundary(e));
        let words = split_words(&n.text);
        let breaks = sentence_breaks(&n.text, &words);
        assert!(breaks.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(breaks.last().copied(), words.len().checked_sub(1));
        let mut prev_end = 0;
        for w in &words {
            assert!(w.start < w.end && w.end <= n.len());
            let word = &n.text[w.start..w.end];
            let (s, e) = n.original_span(w.start, w.end);
            assert!(s < e, "word {word:?} maps to nothing");
            assert!(input.is_char_boundary(s) && input.is_char_boundary(e));
            // Words of the normalized text are apart in the input too.
            assert!(prev_end <= s, "words overlap in the input: {word:?}");
            prev_end = e;
            let k = leading_clitic_len(word);
            assert!(k <= word.len() && word.is_char_boundary(k));
            let original = &input[s..e];
            let _ = is_date_word(original);
            let _ = is_date_word(word);
            let _ = country_code(original);
        }
        // Dates and countries of runs of words, as entity texts are.
        for pair in words.windows(3) {
            let (s, _) = n.original_span(pair[0].start, pair[0].end);
            let (_, e) = n.original_span(pair[2].start, pair[2].end);
            let mention = &input[s..e];
            let _ = normalize_date(mention, reference);
            let _ = country_code(mention);
        }
    }
    let _ = normalize_date(&input, reference);
    let _ = country_code(&input);
});

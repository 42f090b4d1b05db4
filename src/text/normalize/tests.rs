use super::*;
use crate::text::words::split_words;
use proptest::prelude::*;

fn norm(s: &str) -> Normalized {
    normalize(s, &NormalizeOptions::default())
}

fn norm_letters(s: &str) -> Normalized {
    normalize(s, &NormalizeOptions { letters: true })
}

/// The original slice for the normalized substring `needle` (first hit).
fn orig_of<'a>(input: &'a str, n: &Normalized, needle: &str) -> &'a str {
    let at = n.text.find(needle).expect("needle in normalized text");
    let (s, e) = n.original_span(at, at + needle.len());
    &input[s..e]
}

#[test]
fn clean_text_is_unchanged_and_one_segment() {
    let input = "ذهب سامي إلى المكتبة صباحا ثم عاد. Then he left at 9:30!";
    let n = norm(input);
    assert_eq!(n.text, input);
    assert_eq!(n.segments.len(), 1);
    assert_eq!(n.original_span(0, n.len()), (0, input.len()));
    assert_eq!(n.original_span(7, 13), (7, 13));
}

#[test]
fn long_clean_text_costs_one_segment() {
    let input = "كتب الطالب رسالة طويلة إلى صديقه. ".repeat(2000);
    let n = norm(&input);
    assert_eq!(n.segments.len(), 1);
    assert_eq!(n.text, input);
}

#[test]
fn empty_input() {
    let n = norm("");
    assert!(n.is_empty());
    assert_eq!(n.len(), 0);
    assert_eq!(n.original_span(0, 0), (0, 0));
    assert_eq!(n.original_span(3, 9), (0, 0));
    assert_eq!(n.original_offset(0), 0);
}

#[test]
fn tashkeel_removed_and_final_tanween_belongs_to_word() {
    let input = "مُحَمَّدٌ";
    let n = norm(input);
    assert_eq!(n.text, "محمد");
    assert_eq!(n.original_span(0, n.len()), (0, input.len()));
}

#[test]
fn word_in_sentence_maps_back_whole() {
    let input = "وصلَ مُحَمَّدٌ، وسلّمَ على الحاضرين";
    let n = norm(input);
    assert_eq!(n.text, "وصل محمد، وسلم على الحاضرين");
    assert_eq!(orig_of(input, &n, "محمد"), "مُحَمَّدٌ");
    assert_eq!(orig_of(input, &n, "وسلم"), "وسلّمَ");
    assert_eq!(orig_of(input, &n, "وصل"), "وصلَ");
    assert_eq!(orig_of(input, &n, "،"), "،");
}

#[test]
fn inner_prefix_of_word_ends_at_its_last_letter() {
    let input = "مُحَمَّدٌ";
    let n = norm(input);
    // "مح" ends at ح, whose fatha follows it.
    let (s, e) = n.original_span(0, "مح".len());
    assert_eq!(&input[s..e], "مُحَ");
}

#[test]
fn tatweel_removed_and_kept_in_span() {
    let input = "جاء محمـــد ومعه سعيـد";
    let n = norm(input);
    assert_eq!(n.text, "جاء محمد ومعه سعيد");
    assert_eq!(orig_of(input, &n, "محمد"), "محمـــد");
    assert_eq!(orig_of(input, &n, "سعيد"), "سعيـد");
}

#[test]
fn trailing_tatweel_and_marks_attach() {
    let input = "قالـــً ثم";
    let n = norm(input);
    assert_eq!(n.text, "قال ثم");
    assert_eq!(orig_of(input, &n, "قال"), "قالـــً");
}

#[test]
fn quranic_marks_and_superscript_alef_removed() {
    let input = "هٰذا كِتَابٌ ۚ مُبِينٌ ۖ";
    let n = norm(input);
    assert_eq!(n.text, "هذا كتاب  مبين ");
}

#[test]
fn invisible_controls_removed_but_not_attached() {
    let input = "\u{200F}سافر\u{200C} خالد\u{202B}\u{200D} أمس\u{202C}";
    let n = norm(input);
    assert_eq!(n.text, "سافر خالد أمس");
    assert_eq!(orig_of(input, &n, "سافر"), "سافر");
    assert_eq!(orig_of(input, &n, "خالد"), "خالد");
    assert_eq!(orig_of(input, &n, "أمس"), "أمس");
    // Inside a span they are covered.
    let input = "عبد\u{200C}الله";
    let n = norm(input);
    assert_eq!(n.text, "عبدالله");
    assert_eq!(n.original_span(0, n.len()), (0, input.len()));
}

#[test]
fn bom_and_alm_removed() {
    let n = norm("\u{FEFF}نص\u{061C} قصير");
    assert_eq!(n.text, "نص قصير");
    assert_eq!(n.original_offset(0), 3);
}

#[test]
fn whitespace_and_controls() {
    let input = "أ\tب\u{A0}ج\u{3000}د\u{2009}ه\0و\u{1}ز\u{7F}ح\u{90}ط";
    let n = norm(input);
    assert_eq!(n.text, "أ ب ج د ه و ز ح ط");
    for (i, c) in n.text.char_indices() {
        let (s, e) = n.original_span(i, i + c.len_utf8());
        assert!(e > s);
        if c == ' ' {
            assert!(input[s..e]
                .chars()
                .all(|o| o.is_whitespace() || o.is_control()));
        }
    }
}

#[test]
fn line_breaks_become_newlines() {
    let input = "سطر\r\nسطر\rسطر\nسطر\u{2028}سطر\u{85}سطر\u{0C}سطر";
    let n = norm(input);
    assert_eq!(n.text, "سطر\nسطر\nسطر\nسطر\nسطر\nسطر\nسطر");
    let first_nl = n.text.find('\n').unwrap();
    let (s, e) = n.original_span(first_nl, first_nl + 1);
    assert_eq!(&input[s..e], "\r\n");
}

#[test]
fn lam_alef_ligature_expands_one_to_two() {
    // U+FEFB is the isolated lam-alef ligature.
    let input = "\u{FEFB} شك";
    let n = norm(input);
    assert_eq!(n.text, "لا شك");
    assert_eq!(n.original_span(0, 2), (0, 3));
    assert_eq!(n.original_span(2, 4), (0, 3));
    assert_eq!(n.original_span(0, 4), (0, 3));
    assert_eq!(orig_of(input, &n, "شك"), "شك");
}

#[test]
fn lam_alef_with_hamza_composes() {
    // U+FEF7: lam with alef with hamza above, isolated.
    let n = norm("\u{FEF7}");
    assert_eq!(n.text, "لأ");
    let n = norm_letters("\u{FEF7}");
    assert_eq!(n.text, "لا");
}

#[test]
fn presentation_letters_become_base_letters() {
    let input = "في \u{FE91}\u{FED0}\u{FEAA}\u{FE8D}\u{FEA9} اليوم";
    let n = norm(input);
    assert_eq!(n.text, "في بغداد اليوم");
    assert_eq!(
        orig_of(input, &n, "بغداد"),
        "\u{FE91}\u{FED0}\u{FEAA}\u{FE8D}\u{FEA9}"
    );
}

#[test]
fn word_ligatures_expand_but_phrase_ligatures_stay() {
    let n = norm("\u{FDF2}");
    assert_eq!(n.text, "الله");
    // U+FDFD, the basmala, has no decomposition and stays a symbol.
    assert_eq!(norm("\u{FDFD}").text, "\u{FDFD}");
    // U+FDFA and U+FDFB decompose to several words, which would all
    // map back to the one character and overlap: they stay one word.
    let input = "\u{FDFA} نبدأ \u{FDFB}";
    let n = norm(input);
    assert_eq!(n.text, input);
    let words = split_words(&n.text);
    assert_eq!(words.len(), 3, "{:?}", n.text);
    assert_eq!(n.original_span(words[0].start, words[0].end), (0, 3));
}

#[test]
fn spacing_harakat_forms_are_removed_as_marks() {
    // U+FE70 (fathatan, spacing form) after a letter; U+FE7D shadda medial.
    let input = "كتاب\u{FE70} ش\u{FE7D}د";
    let n = norm(input);
    assert_eq!(n.text, "كتاب شد");
    assert_eq!(orig_of(input, &n, "كتاب"), "كتاب\u{FE70}");
}

#[test]
fn decomposed_hamza_composes() {
    let input = "ا\u{0654}حمد و\u{0654}";
    let n = norm(input);
    assert_eq!(n.text, "أحمد ؤ");
    assert_eq!(orig_of(input, &n, "أحمد"), "ا\u{0654}حمد");
    let n = norm_letters(input);
    assert_eq!(n.text, "احمد ؤ");
    // A stray hamza that composes with nothing is removed as a mark.
    assert_eq!(norm("ب\u{0654}").text, "ب");
}

#[test]
fn letters_option() {
    let input = "أحمد وإيمان في آمد ٱلمدينة على مكتبة ی ک";
    assert_eq!(norm(input).text, input);
    let n = norm_letters(input);
    assert_eq!(n.text, "احمد وايمان في امد المدينه علي مكتبه ي ك");
    // Same-length replacements keep the alignment linear.
    assert_eq!(n.segments.len(), 1);
    assert_eq!(orig_of(input, &n, "المدينه"), "ٱلمدينة");
}

#[test]
fn persian_and_other_letters_kept() {
    let input = "پژوهش گروه چای";
    assert_eq!(norm(input).text, input);
}

#[test]
fn emoji_kept() {
    let input = "👨\u{200D}👩\u{200D}👧 🇸🇦 👍🏽";
    let n = norm(input);
    // ZWJ is an invisible control and goes; the pictographs stay.
    assert_eq!(n.text, "👨👩👧 🇸🇦 👍🏽");
}

#[test]
fn non_boundary_and_out_of_range_offsets() {
    let input = "سَلام";
    let n = norm(input);
    assert_eq!(n.text, "سلام");
    // Byte 1 is inside س: widened to the whole letter.
    assert_eq!(n.original_span(1, 3), (0, input.find('ل').unwrap() + 2));
    assert_eq!(n.original_span(0, 100), (0, input.len()));
    assert_eq!(
        n.original_span(6, 2),
        (n.original_offset(6), n.original_offset(6))
    );
    assert_eq!(n.original_offset(100), input.len());
}

#[test]
fn original_offset_points_at_char_start() {
    let input = "أَبْ\u{FEFB}";
    let n = norm(input);
    assert_eq!(n.text, "أبلا");
    assert_eq!(n.original_offset(0), 0);
    assert_eq!(n.original_offset(2), 4);
    assert_eq!(n.original_offset(4), 8);
    assert_eq!(n.original_offset(6), 8);
    assert_eq!(n.original_offset(8), input.len());
}

#[test]
fn mutated_text_never_panics() {
    let mut n = norm("مُحَمَّدٌ");
    n.text.push_str("زيادة كبيرة");
    for i in 0..=n.text.len() + 2 {
        for j in i..=n.text.len() + 2 {
            let _ = n.original_span(i, j);
        }
    }
    n.text.clear();
    let _ = n.original_span(0, 5);
}

/// Characters that stress the normalizer.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::sample::select(
            "ابتثجحخدذرسشصضطظعغفقكلمنهويءآأإؤئىةٱپچژگکی".chars().collect::<Vec<_>>()
        ),
        3 => prop::sample::select(vec![
            '\u{064B}', '\u{064E}', '\u{0650}', '\u{0651}', '\u{0652}', '\u{0653}',
            '\u{0654}', '\u{0655}', '\u{0670}', '\u{0640}', '\u{0615}', '\u{06D6}',
            '\u{06ED}', '\u{08F0}',
        ]),
        2 => prop::sample::select(vec![
            '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{202B}',
            '\u{202C}', '\u{2067}', '\u{2069}', '\u{061C}', '\u{FEFF}', '\u{00AD}',
        ]),
        2 => prop::sample::select(vec![
            '\u{FEFB}', '\u{FEFC}', '\u{FEF5}', '\u{FEF7}', '\u{FEF9}', '\u{FE8D}',
            '\u{FE91}', '\u{FEE0}', '\u{FDF2}', '\u{FDFA}', '\u{FDFB}', '\u{FDFC}',
            '\u{FDFD}', '\u{FC5E}', '\u{FE70}', '\u{FE71}', '\u{FE7D}', '\u{FBA4}',
            '\u{FBB0}', '\u{FB8A}', '\u{FDD0}',
        ]),
        2 => prop::sample::select(vec![
            ' ', '\n', '\r', '\t', '\0', '\u{1}', '\u{0B}', '\u{85}', '\u{A0}',
            '\u{2028}', '\u{3000}', '.', '،', '؟', '!', '«', '»', '(', ')', '-',
            '/', ':', ',',
        ]),
        2 => prop::sample::select(
            "0123456789٠١٢٣٤٥٦٧٨٩۰۱۲aZé".chars().collect::<Vec<_>>()
        ),
        1 => prop::sample::select(vec![
            '👨', '👩', '🇸', '🇦', '👍', '🏽', '\u{FE0F}', '\u{20E3}', '😀',
        ]),
        1 => any::<char>(),
    ]
}

fn tricky_string() -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..40).prop_map(|v| v.into_iter().collect())
}

fn check_alignment(input: &str, opts: &NormalizeOptions) -> Result<(), TestCaseError> {
    let n = normalize(input, opts);
    prop_assert_eq!(n.original_len(), input.len());
    let mut prev = (0, 0);
    for (i, c) in n.text.char_indices() {
        let (s, e) = n.original_span(i, i + c.len_utf8());
        prop_assert!(
            s < e && e <= input.len(),
            "char {:?} at {} -> {}..{}",
            c,
            i,
            s,
            e
        );
        prop_assert!(input.is_char_boundary(s) && input.is_char_boundary(e));
        prop_assert!(s >= prev.0 && e >= prev.1, "not monotonic at {}", i);
        prop_assert_eq!(n.original_offset(i), s);
        prev = (s, e);
    }
    // Any span covers exactly its first char's start to its last's end.
    let bounds: Vec<usize> = n.text.char_indices().map(|(i, _)| i).collect();
    for (k, &a) in bounds.iter().enumerate() {
        for &b in bounds[k + 1..].iter().chain(std::iter::once(&n.text.len())) {
            let (s, e) = n.original_span(a, b);
            let (s1, _) = n.original_span(a, ceil_boundary(&n.text, a + 1));
            let last = floor_boundary(&n.text, b - 1);
            let (_, e1) = n.original_span(last, b);
            prop_assert_eq!((s, e), (s1, e1));
        }
    }
    for w in split_words(&n.text) {
        let word = &n.text[w.start..w.end];
        let (s, e) = n.original_span(w.start, w.end);
        let again = normalize(&input[s..e], opts);
        prop_assert!(
            again.text.contains(word),
            "word {:?} not in {:?} (orig {:?})",
            word,
            again.text,
            &input[s..e]
        );
    }
    let twice = normalize(&n.text, opts);
    prop_assert_eq!(&twice.text, &n.text, "not idempotent");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn alignment_invariants(input in tricky_string(), letters in any::<bool>()) {
        check_alignment(&input, &NormalizeOptions { letters })?;
    }

    #[test]
    fn alignment_invariants_any_unicode(input in any::<String>(), letters in any::<bool>()) {
        check_alignment(&input, &NormalizeOptions { letters })?;
    }
}

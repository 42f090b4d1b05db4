//! Robustness: hostile text through the whole tagging path, bad model and
//! data files, and one tagger shared by many threads.
//!
//! The tagging properties use the context-free oracle of `common`, whose
//! word labels do not depend on the neighbours, the batch or the window, so
//! that "tagged alone", "tagged in a batch" and "tagged in small windows"
//! must agree exactly, scores included.
//!
//! Process kills, resumption and full disks are in `tests/kill.rs`.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

use arabic_ner::entity::Document;
use arabic_ner::model::config::BertConfig;
use arabic_ner::model::NerModel;
use arabic_ner::tagger::{Aggregation, TagOptions};
use arabic_ner::train::data::{parse_conll, read_conll, ReadOptions};
use arabic_ner::{Error, Tagger};

use common::{ModelSpec, TokFiles};

// ---------------------------------------------------------------------------
// Taggers over one oracle model
// ---------------------------------------------------------------------------

/// Window sizes and strides compared with the default tagger.
const WINDOWS: [(usize, usize); 8] = [
    (3, 0),
    (3, 1),
    (4, 2),
    (5, 1),
    (5, 128),
    (6, 3),
    (7, 2),
    (8, 4),
];

struct Taggers {
    /// Default options.
    default: Tagger,
    /// One window at a time through the model.
    one_by_one: Tagger,
    /// Small windows: `(max_pieces, stride, tagger)`.
    windowed: Vec<(usize, usize, Tagger)>,
    /// Other aggregations, for alone-versus-batch only.
    average: Tagger,
    max: Tagger,
    /// Entity types of the model.
    types: BTreeSet<String>,
}

fn load(dir: &Path, opts: TagOptions) -> Tagger {
    Tagger::with_model(NerModel::from_dir(dir).expect("oracle loads"), opts)
}

/// The taggers, built once for all tests of this file. The model folder is
/// deleted once they are loaded: a loaded model needs no files.
fn taggers() -> &'static Taggers {
    static TAGGERS: OnceLock<Taggers> = OnceLock::new();
    TAGGERS.get_or_init(|| {
        let dir = common::oracle_dir();
        let d = dir.path();
        let windowed = WINDOWS
            .iter()
            .map(|&(m, s)| {
                let opts = TagOptions {
                    max_pieces: Some(m),
                    stride: s,
                    batch_size: 3,
                    ..TagOptions::default()
                };
                (m, s, load(d, opts))
            })
            .collect();
        let default = load(d, TagOptions::default());
        let types = default.entity_types();
        Taggers {
            one_by_one: load(
                d,
                TagOptions {
                    batch_size: 1,
                    ..TagOptions::default()
                },
            ),
            windowed,
            average: load(
                d,
                TagOptions {
                    aggregation: Aggregation::Average,
                    ..TagOptions::default()
                },
            ),
            max: load(
                d,
                TagOptions {
                    aggregation: Aggregation::Max,
                    ..TagOptions::default()
                },
            ),
            default,
            types,
        }
    })
}

fn tag_one(t: &Tagger, text: &str) -> Document {
    let mut docs = t.tag_documents(&[text]).expect("tagging never fails");
    assert_eq!(docs.len(), 1);
    docs.pop().expect("one document")
}

// ---------------------------------------------------------------------------
// Hostile text
// ---------------------------------------------------------------------------

/// Words of the oracle: whole vocabulary words, words WordPiece splits, and
/// multi-word entities.
fn oracle_words() -> Vec<String> {
    let mut words: Vec<String> = common::VOCAB
        .iter()
        .filter(|e| !e.piece.starts_with("##"))
        .map(|e| e.piece.to_string())
        .collect();
    words.extend(
        [
            "شركة",
            "القاهرة",
            "جديدة",
            "العلاقات",
            "سمير الخطيب",
            "ليلى منصور",
            "شركة النور للطيران",
            "الاتحاد الأوروبي",
            "الولايات المتحدة",
            "والولايات المتحدة",
            "13 يناير 2022",
            "زار سمير الخطيب القاهرة أمس.",
        ]
        .map(String::from),
    );
    words
}

/// Characters and strings that break naive text handling.
const HOSTILE: &[&str] = &[
    // Diacritics, superscript alef, tatweel, Quranic marks.
    "\u{064B}",
    "\u{064E}",
    "\u{0650}",
    "\u{0651}",
    "\u{0652}",
    "\u{0653}",
    "\u{0654}",
    "\u{0655}",
    "\u{0670}",
    "\u{0640}",
    "\u{0640}\u{0640}\u{0640}",
    "\u{0610}",
    "\u{06D6}",
    "\u{08F0}",
    // Punctuation, Arabic and Latin.
    ".",
    "،",
    "؛",
    "؟",
    "!",
    "…",
    "...",
    "«",
    "»",
    "(",
    ")",
    "\"",
    "-",
    "/",
    ":",
    "٪",
    "۔",
    // Line ends, BOM, controls.
    "\r\n",
    "\r",
    "\n",
    "\u{0B}",
    "\u{0C}",
    "\u{85}",
    "\u{2028}",
    "\u{2029}",
    "\u{FEFF}",
    "\0",
    "\u{01}",
    "\u{1B}",
    "\u{7F}",
    "\u{9F}",
    "\t",
    // Spaces that are not ASCII.
    "\u{A0}",
    "\u{2009}",
    "\u{3000}",
    // Zero-width characters and bidi controls.
    "\u{200B}",
    "\u{200C}",
    "\u{200D}",
    "\u{200E}",
    "\u{200F}",
    "\u{061C}",
    "\u{202A}",
    "\u{202B}",
    "\u{202C}",
    "\u{202D}",
    "\u{202E}",
    "\u{2066}",
    "\u{2067}",
    "\u{2068}",
    "\u{2069}",
    "\u{2060}",
    "\u{00AD}",
    // Presentation forms: فرنسا, lam-alef, ligatures of whole phrases,
    // Allah, spacing harakat, the rial sign.
    "\u{FED3}\u{FEAE}\u{FEE7}\u{FEB4}\u{FE8E}",
    "\u{FEFB}",
    "\u{FEF5}",
    "\u{FDFA}",
    "\u{FDFB}",
    "\u{FDF2}",
    "\u{FDFD}",
    "\u{FE70}",
    "\u{FE7C}",
    "\u{FC5E}",
    "\u{FCF2}",
    "\u{FDFC}",
    "\u{FD3E}",
    // Persian and Urdu letters.
    "پ",
    "چ",
    "ژ",
    "گ",
    "ک",
    "ی",
    "ے",
    "ہ",
    "ۀ",
    "ٹ",
    "ڈ",
    "ڑ",
    "ں",
    "ھ",
    "ایران",
    "پاکستان",
    // Arabic-Indic and extended digits, number separators.
    "٠",
    "١٣",
    "٢٠٢٢",
    "۱۴۰۲",
    "٣٫٥",
    "١٬٠٠٠",
    "١٣/١/٢٠٢٢",
    // Arabic number signs (format characters).
    "\u{0600}",
    "\u{06DD}",
    // Emoji: plain, skin tone, flag, ZWJ family, keycap, variation.
    "👍",
    "👍🏽",
    "🇸🇦",
    "🇸",
    "👨\u{200D}👩\u{200D}👧",
    "1\u{FE0F}\u{20E3}",
    "❤\u{FE0F}",
    "\u{E0067}",
    // Latin, mixed, URLs.
    "CNN",
    "G20",
    "café",
    "COVID-19",
    "U.S.A",
    "example.com",
    "a\u{301}",
    "ß",
    "İ",
    // Other scripts and odd code points.
    "中文",
    "\u{10FFFF}",
    "\u{FFFD}",
    "\u{FFFF}",
    "\u{E000}",
    "\u{1D400}",
];

/// Decorations slipped inside a word.
const INSIDE: &[&str] = &[
    "\u{064E}", "\u{0651}", "\u{0652}", "\u{0640}", "\u{200C}", "\u{200D}", "\u{200B}", "\u{200F}",
    "\u{202B}", "\u{FEFF}", "\u{00AD}", "\u{0670}", "\u{0654}", "\0", "\r", "👍", "٣", "a",
];

/// An oracle word, maybe with hostile characters slipped inside.
fn decorated_word() -> impl Strategy<Value = String> {
    (
        prop::sample::select(oracle_words()),
        prop::collection::vec(
            (any::<prop::sample::Index>(), prop::sample::select(INSIDE)),
            0..3,
        ),
    )
        .prop_map(|(word, inserts)| {
            let mut chars: Vec<String> = word.chars().map(String::from).collect();
            for (at, s) in inserts {
                let i = at.index(chars.len() + 1);
                chars.insert(i, s.to_string());
            }
            chars.concat()
        })
}

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        5 => prop::sample::select(oracle_words()),
        2 => decorated_word(),
        3 => prop::sample::select(HOSTILE).prop_map(String::from),
        1 => (0xFB50u32..=0xFEFF).prop_map(|c| char::from_u32(c).unwrap_or('?').to_string()),
        1 => (0x0600u32..=0x06FF).prop_map(|c| char::from_u32(c).unwrap_or('?').to_string()),
        1 => any::<char>().prop_map(String::from),
    ]
}

fn separator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        " ", " ", " ", "", "", "\n", "\r\n", "\t", "  ", "\u{A0}", ". ", "، ", "\n\n",
    ])
}

/// Text mixing oracle words with hostile characters.
fn hostile_text() -> impl Strategy<Value = String> {
    prop::collection::vec((piece(), separator()), 0..40).prop_map(|v| {
        let mut s = String::new();
        for (p, sep) in v {
            s.push_str(&p);
            s.push_str(sep);
        }
        s
    })
}

// ---------------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------------

/// `text` for a message: its start only when it is long.
fn show(text: &str) -> String {
    if text.len() <= 400 {
        format!("{text:?}")
    } else {
        let cut: String = text.chars().take(100).collect();
        format!("{cut:?}... ({} bytes)", text.len())
    }
}

/// Every entity and word of `doc` is a well-formed span of `text`. Linear
/// in the size of the text (it runs on a megabyte).
fn check_document(text: &str, doc: &Document, types: &BTreeSet<String>) {
    let mut prev_end = 0;
    for w in &doc.words {
        let what = || format!("word {w:?} in {}", show(text));
        assert!(
            w.byte_start <= w.byte_end && w.byte_end <= text.len(),
            "{}",
            what()
        );
        assert!(
            text.is_char_boundary(w.byte_start) && text.is_char_boundary(w.byte_end),
            "{}",
            what()
        );
        assert!(
            prev_end <= w.byte_start,
            "unsorted or overlapping {}",
            what()
        );
        prev_end = w.byte_end;
    }
    if let Some(last) = doc.words.last() {
        assert!(
            last.sentence_end,
            "the last word ends a sentence: {}",
            show(text)
        );
    }
    // Words are sorted and apart, so their ends are sorted too.
    let word_at = |byte: usize| {
        let i = doc.words.partition_point(|w| w.byte_end <= byte);
        doc.words
            .get(i)
            .filter(|w| w.byte_start <= byte && byte < w.byte_end)
    };
    let (mut prev_end, mut chars_before) = (0, 0);
    for e in &doc.entities {
        let what = || format!("entity {e:?} in {}", show(text));
        assert!(e.byte_start < e.byte_end, "empty {}", what());
        assert!(e.byte_end <= text.len(), "past the end: {}", what());
        assert!(
            text.is_char_boundary(e.byte_start) && text.is_char_boundary(e.byte_end),
            "not on char boundaries: {}",
            what()
        );
        assert!(
            prev_end <= e.byte_start,
            "unsorted or overlapping: {}",
            what()
        );
        assert_eq!(e.text, text[e.byte_start..e.byte_end], "{}", what());
        chars_before += text[prev_end..e.byte_start].chars().count();
        assert_eq!(e.start, chars_before, "char start: {}", what());
        assert_eq!(
            e.end - e.start,
            e.text.chars().count(),
            "char end: {}",
            what()
        );
        chars_before = e.end;
        prev_end = e.byte_end;
        assert!(
            e.score.is_finite() && (0.0..=1.0).contains(&e.score),
            "score: {}",
            what()
        );
        assert!(types.contains(&e.label), "label: {}", what());
        assert!(!e.text.trim().is_empty(), "blank {}", what());
        // Made of whole words, less a leading clitic.
        assert!(
            word_at(e.byte_start).is_some(),
            "starts outside a word: {}",
            what()
        );
        assert_eq!(
            word_at(e.byte_end - 1).map(|w| w.byte_end),
            Some(e.byte_end),
            "does not end with a word: {}",
            what()
        );
    }
}

/// Tags `text` alone, checks it, and checks that the window-limited and
/// one-window-at-a-time taggers agree with it.
fn check_text(text: &str) -> Document {
    let t = taggers();
    let doc = tag_one(&t.default, text);
    check_document(text, &doc, &t.types);
    assert_eq!(
        tag_one(&t.one_by_one, text),
        doc,
        "batch size 1 differs: {text:?}"
    );
    for (m, s, w) in &t.windowed {
        assert_eq!(
            tag_one(w, text),
            doc,
            "max_pieces {m} stride {s} differs: {text:?}"
        );
    }
    for other in [&t.average, &t.max] {
        let alone = tag_one(other, text);
        check_document(text, &alone, &t.types);
    }
    // `tag` is `tag_documents` without the words.
    assert_eq!(t.default.tag(text).expect("tag"), doc.entities);
    doc
}

proptest! {
    #![proptest_config(Config { cases: 96, ..Config::default() })]

    /// Any text: well-formed entities, the same in small windows.
    #[test]
    fn hostile_text_gives_well_formed_entities(text in hostile_text()) {
        check_text(&text);
    }

    /// Any string at all, not only the mixtures above.
    #[test]
    fn any_string_gives_well_formed_entities(text in any::<String>()) {
        check_text(&text);
    }

    /// A text gives the same entities alone and in the middle of a batch,
    /// for every aggregation.
    #[test]
    fn alone_or_in_a_batch_gives_the_same(
        a in hostile_text(),
        b in hostile_text(),
        c in hostile_text(),
    ) {
        let t = taggers();
        for tagger in [&t.default, &t.average, &t.max, &t.windowed[0].2] {
            let batch = tagger.tag_documents(&[&a, &b, &c, &b]).expect("batch");
            prop_assert_eq!(batch.len(), 4);
            for (text, doc) in [&a, &b, &c, &b].into_iter().zip(&batch) {
                prop_assert_eq!(&tag_one(tagger, text), doc);
            }
            let entities = tagger.tag_batch(&[&c, &a]).expect("batch");
            prop_assert_eq!(&entities[1], &tagger.tag(&a).expect("tag"));
        }
    }

    /// Gluing texts together with a line break gives the entities of each
    /// part, shifted: sentences do not leak into one another.
    #[test]
    fn line_separated_texts_tag_independently(a in hostile_text(), b in hostile_text()) {
        let t = taggers();
        // Only texts without a trailing decoration that could glue onto
        // the next line (a combining mark at the start of `b`).
        let joined = format!("{a}\n\n{b}");
        let doc = tag_one(&t.default, &joined);
        check_document(&joined, &doc, &t.types);
        let first = tag_one(&t.default, &a);
        let n = first.entities.len();
        prop_assert!(doc.entities.len() >= n);
        for (x, y) in first.entities.iter().zip(&doc.entities) {
            prop_assert_eq!(&x.text, &y.text);
            prop_assert_eq!(x.byte_start, y.byte_start);
            prop_assert_eq!(&x.label, &y.label);
        }
    }
}

// ---------------------------------------------------------------------------
// Fixed hostile cases
// ---------------------------------------------------------------------------

/// `(label, text)` of the entities of `text`.
fn found(text: &str) -> Vec<(String, String)> {
    check_text(text)
        .entities
        .into_iter()
        .map(|e| (e.label, e.text))
        .collect()
}

fn ents(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(l, t)| (l.to_string(), t.to_string()))
        .collect()
}

#[test]
fn degenerate_texts_give_nothing() {
    for text in [
        "",
        " ",
        "\n\r\n\r",
        "\u{FEFF}",
        "\0\0\0",
        "\u{064E}\u{064F}\u{0650}\u{0651}\u{0652}\u{064B}",
        "\u{0640}\u{0640}\u{0640}\u{0640}",
        ".،؛؟!…«»()[]{}\"'-/:٪",
        "... ؟؟؟ !!! ، ، ،",
        "\u{200B}\u{200C}\u{200D}\u{200E}\u{200F}\u{202A}\u{202E}\u{2066}\u{2069}\u{061C}",
        "\u{FE70}\u{FE72}\u{FE7C}",
        "👍👍🏽🇸🇦",
        "\u{10FFFF}\u{FFFD}",
    ] {
        assert!(found(text).is_empty(), "{text:?}");
    }
}

#[test]
fn entities_survive_hostile_surroundings() {
    let base = ents(&[("PER", "سمير الخطيب"), ("LOC", "فرنسا")]);
    for text in [
        "زار سمير الخطيب فرنسا.",
        "\u{FEFF}زار سمير الخطيب فرنسا\r\n",
        "زار\0سمير الخطيب\u{1B}فرنسا",
        "\u{200F}زار سمير الخطيب فرنسا\u{200F}",
        "زار \u{202B}سمير الخطيب\u{202C} فرنسا👍",
        "CNN: زار سمير الخطيب فرنسا 2021",
    ] {
        assert_eq!(found(text), base, "{text:?}");
    }
    // Spaces other than ASCII separate words like a space.
    assert_eq!(
        found("زار\u{A0}سمير\u{2009}الخطيب\u{3000}فرنسا"),
        ents(&[("PER", "سمير\u{2009}الخطيب"), ("LOC", "فرنسا")])
    );
    // Marks, tatweel, joiners inside a word stay inside its span.
    assert_eq!(
        found("زار سَمِيرٌ الخطـــيب فرن\u{200C}سا"),
        ents(&[("PER", "سَمِيرٌ الخطـــيب"), ("LOC", "فرن\u{200C}سا")])
    );
    // Presentation forms are read as the letters they show.
    assert_eq!(
        found("زار \u{FED3}\u{FEAE}\u{FEE7}\u{FEB4}\u{FE8E}"),
        ents(&[("LOC", "\u{FED3}\u{FEAE}\u{FEE7}\u{FEB4}\u{FE8E}")])
    );
    // A line break ends an entity: two sentences.
    assert_eq!(
        found("سمير\r\nالخطيب"),
        ents(&[("PER", "سمير"), ("PER", "الخطيب")])
    );
    // Persian letters and Arabic-Indic digits are just other words.
    assert_eq!(
        found("زار ایران ١٣ يناير ٢٠٢٢ ثم فرنسا"),
        ents(&[("DATE", "١٣ يناير ٢٠٢٢"), ("LOC", "فرنسا")])
    );
}

/// A ligature of a whole phrase (U+FDFA, U+FDFB) is one character of the
/// input: it must not become several words sharing that character.
#[test]
fn phrase_ligatures_stay_one_word() {
    for text in [
        "\u{FDFA}",
        "قال \u{FDFA} فرنسا",
        "\u{FDFB}فرنسا",
        "فرنسا\u{FDFA}\u{FDFB}",
        "سمير \u{FDFA}\u{FDFA} سمير",
    ] {
        let doc = check_text(text);
        for (at, _) in text.match_indices(['\u{FDFA}', '\u{FDFB}']) {
            let covering = doc
                .words
                .iter()
                .filter(|w| w.byte_start <= at && at < w.byte_end)
                .count();
            assert_eq!(covering, 1, "byte {at} of {text:?}: {:?}", doc.words);
        }
    }
}

#[test]
fn one_megabyte_line_without_spaces() {
    // سمير، فرنسا. 2022 👍 CNN with a fatha and a tatweel, glued together:
    // seven words a repetition, one sentence of about 150,000 words.
    let unit = "سمير،فرنسا.2022👍CNN\u{064E}ـ";
    let text = unit.repeat((1 << 20) / unit.len() + 1);
    assert!(text.len() >= 1 << 20 && !text.contains(char::is_whitespace));
    let t = taggers();
    let doc = tag_one(&t.default, &text);
    check_document(&text, &doc, &t.types);
    // Every repetition holds a person, a place and a date.
    let reps = text.matches(unit).count();
    assert_eq!(doc.entities.len(), 3 * reps);
    assert_eq!(doc.words.len(), 7 * reps);
    // The same in small windows, on the first 64 KB (small windows over
    // the whole megabyte cost as much again).
    let part = &text[..unit.len() * ((64 << 10) / unit.len())];
    let small = load(
        oracle_template(),
        TagOptions {
            max_pieces: Some(8),
            stride: 3,
            batch_size: 256,
            ..TagOptions::default()
        },
    );
    let whole = tag_one(&t.default, part);
    assert_eq!(tag_one(&small, part), whole);
    assert_eq!(whole.entities, doc.entities[..whole.entities.len()]);
    // One word of a megabyte: a single unknown word, nothing found.
    let word = "سمير".repeat((1 << 20) / "سمير".len());
    let doc = tag_one(&t.default, &word);
    check_document(&word, &doc, &t.types);
    assert_eq!(doc.words.len(), 1);
    assert!(doc.entities.is_empty());
}

// ---------------------------------------------------------------------------
// Many threads
// ---------------------------------------------------------------------------

#[test]
fn one_tagger_many_threads_same_results() {
    let t = taggers();
    let mut runner = TestRunner::deterministic();
    let texts: Vec<String> = (0..120)
        .map(|_| {
            hostile_text()
                .new_tree(&mut runner)
                .expect("value")
                .current()
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let single: Vec<Document> = refs.iter().map(|x| tag_one(&t.default, x)).collect();
    let threads = 4;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let (refs, single) = (&refs, &single);
                s.spawn(move || {
                    // Each thread walks the texts from its own place, one by
                    // one or in batches of its own size.
                    let n = refs.len();
                    for round in 0..2 {
                        if (k + round) % 2 == 0 {
                            for i in (0..n).map(|i| (i + k * 31) % n) {
                                assert_eq!(tag_one(&t.default, refs[i]), single[i], "text {i}");
                            }
                        } else {
                            for chunk in (0..n).collect::<Vec<_>>().chunks(k + 2) {
                                let batch: Vec<&str> = chunk.iter().map(|&i| refs[i]).collect();
                                let docs = t.default.tag_documents(&batch).expect("batch");
                                for (&i, d) in chunk.iter().zip(&docs) {
                                    assert_eq!(d, &single[i], "text {i}");
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("no thread panicked");
        }
    });
}

// ---------------------------------------------------------------------------
// Readers: CoNLL and config.json
// ---------------------------------------------------------------------------

fn conll_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(vec![
            "w", "كلمة", "B-PER", "I-PER", "E-LOC", "S-ORG", "O", "U-PER", "L-LOC", "X-PER",
            "B-", "I", "b-per", "B-بيت", "$#$", " ", " ", " ", "\t", "\n", "\n", "\r\n", "\r",
            "\u{feff}", "\u{a0}", "\u{2028}", "\u{85}", "\0", "",
        ]).prop_map(String::from),
        1 => prop::sample::select(HOSTILE).prop_map(String::from),
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..80).prop_map(|v| v.concat())
}

fn check_conll(text: &str) -> Result<(), TestCaseError> {
    let lines = text.lines().count();
    for scheme in [None, Some("bio"), Some("iob1"), Some("iobes")] {
        let opts = ReadOptions {
            scheme: scheme.map(|s| s.parse().expect("scheme")),
            map: "PER=O,LOC=PLACE".parse().expect("map"),
        };
        match parse_conll(text, "data/x.conll", &opts) {
            Ok(sentences) => {
                for s in sentences {
                    prop_assert!(!s.words.is_empty());
                    prop_assert_eq!(s.words.len(), s.tags.len());
                    prop_assert!(s.line >= 1 && s.line <= lines);
                }
            }
            Err(e) => {
                let msg = e.to_string();
                let line = e.line().expect("a parse error has a line");
                prop_assert!(line >= 1 && line <= lines, "{}", msg);
                let prefix = format!("data/x.conll:{line}: ");
                prop_assert!(msg.starts_with(&prefix), "{}", msg);
                prop_assert!(!msg.contains('\n'), "{}", msg);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(Config { cases: 256, ..Config::default() })]

    #[test]
    fn conll_reader_never_panics(text in conll_text()) {
        check_conll(&text)?;
    }

    #[test]
    fn conll_reader_never_panics_on_any_string(text in any::<String>()) {
        check_conll(&text)?;
    }

    /// Bytes from disk, valid UTF-8 or not.
    #[test]
    fn conll_files_of_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bytes.txt");
        std::fs::write(&path, &bytes).expect("write");
        match read_conll(&path, &ReadOptions::default()) {
            Ok(_) => prop_assert!(std::str::from_utf8(&bytes).is_ok()),
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.contains("bytes.txt"), "{}", msg);
                if std::str::from_utf8(&bytes).is_err() {
                    prop_assert!(msg.contains("not valid UTF-8"), "{}", msg);
                }
            }
        }
    }

    /// `config.json` of any JSON text: a value or an error, never a panic.
    #[test]
    fn config_reader_never_panics(text in any::<String>()) {
        if let Ok(cfg) = serde_json::from_str::<BertConfig>(&text) {
            let _ = cfg.labels(Path::new("config.json"));
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("config.json");
        std::fs::write(&path, &text).expect("write");
        if let Err(e) = BertConfig::from_file(&path) {
            prop_assert!(e.to_string().contains("config.json"), "{}", e);
        }
    }
}

/// JSON values for one field of a config.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop::sample::select(vec![
            0i64,
            1,
            2,
            3,
            8,
            9,
            16,
            32,
            64,
            127,
            128,
            512,
            -1,
            -2,
            1 << 31,
            1 << 40,
            i64::MIN,
            i64::MAX,
        ])
        .prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(vec![
            "",
            "gelu",
            "gelu_new",
            "relu",
            "silu",
            "absolute",
            "relative_key",
            "O",
            "B-PER",
            "\u{FFFD}",
            "0",
            "-1",
            "1e3",
        ])
        .prop_map(|s| json!(s)),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec!["0", "1", "2", "8", "9", "00", "-1", "x", "", " 1"])
                    .prop_map(String::from),
                inner,
                0..10
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const CONFIG_KEYS: &[&str] = &[
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "hidden_act",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "max_position_embeddings",
    "type_vocab_size",
    "layer_norm_eps",
    "pad_token_id",
    "id2label",
    "label2id",
    "position_embedding_type",
    "model_type",
    "architectures",
    "arabic_ner",
];

/// The oracle folder, written once; tests copy it.
fn oracle_template() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(common::oracle_dir).path()
}

proptest! {
    #![proptest_config(Config { cases: 64, ..Config::default() })]

    /// The oracle with a few fields of `config.json` replaced or removed:
    /// it loads and tags, or fails naming a file of the folder.
    #[test]
    fn edited_config_loads_or_fails_clearly(
        edits in prop::collection::vec(
            (prop::sample::select(CONFIG_KEYS), prop::option::of(json_value())),
            1..4,
        )
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        common::copy_dir(oracle_template(), dir.path());
        let mut cfg = common::read_config(dir.path());
        for (key, value) in edits {
            let obj = cfg.as_object_mut().expect("object");
            match value {
                Some(v) => obj.insert(key.to_string(), v),
                None => obj.remove(key),
            };
        }
        common::write_config(dir.path(), &cfg);
        match NerModel::from_dir(dir.path()) {
            Ok(model) => {
                let tagger = Tagger::with_model(model, TagOptions {
                    max_pieces: Some(4),
                    ..TagOptions::default()
                });
                let texts = ["زار سمير الخطيب فرنسا.", "", "شركة النور للطيران 13 يناير 2022"];
                let _ = tagger.tag_documents(&texts);
            }
            Err(e) => {
                prop_assert!(matches!(e, Error::Model { .. } | Error::Io { .. }), "{:?}", e);
                let msg = e.to_string();
                let dir_name = dir.path().display().to_string();
                prop_assert!(msg.starts_with(&dir_name), "{}", msg);
                prop_assert!(!msg.contains('\n'), "{}", msg);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Bad model folders and data files, through the command line
// ---------------------------------------------------------------------------

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_arabic-ner")
}

fn run_with_stdin(args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(bin())
        .args(args)
        .env("HF_HUB_OFFLINE", "1")
        .env("RAYON_NUM_THREADS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run arabic-ner");
    let mut input = child.stdin.take().expect("stdin");
    // A command that fails early does not read its input.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    child.wait_with_output().expect("wait")
}

/// The command failed with `code` and one line on stderr that contains
/// every one of `needles`, and no panic.
fn assert_clear_error(out: &Output, code: i32, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected {needles:?}; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].starts_with("arabic-ner: error: "), "{stderr}");
    for n in needles {
        assert!(lines[0].contains(n), "{n:?} not in: {stderr}");
    }
}

fn tag_model(dir: &Path) -> Output {
    run_with_stdin(
        &["tag", "--model", dir.to_str().expect("UTF-8 path")],
        "زار سمير الخطيب فرنسا.",
    )
}

/// A copy of the oracle folder with a vocab.txt tokenizer (so that the
/// tokenizer files are easy to edit).
fn broken_model() -> tempfile::TempDir {
    ModelSpec::oracle().tokenizer(TokFiles::Vocab).build()
}

#[test]
fn good_model_tags() {
    let dir = broken_model();
    let out = tag_model(dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("سمير الخطيب"), "{stdout}");
}

#[test]
fn truncated_or_corrupt_weights() {
    let dir = broken_model();
    let st = dir.path().join("model.safetensors");
    let good = std::fs::read(&st).expect("read");
    let header = u64::from_le_bytes(good[..8].try_into().expect("8 bytes")) as usize;
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("4 bytes", good[..4].to_vec()),
        ("header cut", good[..8 + header / 2].to_vec()),
        ("data cut", good[..good.len() / 2].to_vec()),
        ("one byte short", good[..good.len() - 1].to_vec()),
    ];
    let mut huge = good.clone();
    huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    cases.push(("huge header length", huge));
    let mut garbled = good.clone();
    for b in &mut garbled[8..8 + header.min(64)] {
        *b = b'\xff';
    }
    cases.push(("garbled header", garbled));
    let mut json_junk = good.clone();
    json_junk[8] = b'[';
    cases.push(("header not an object", json_junk));
    for (what, bytes) in cases {
        std::fs::write(&st, &bytes).expect("write");
        let out = tag_model(dir.path());
        eprintln!("case: {what}");
        assert_clear_error(&out, 4, &["model.safetensors"]);
    }
}

#[test]
fn config_that_disagrees_with_the_weights() {
    let edits: Vec<(&str, Value, &str)> = vec![
        ("hidden_size", json!(64), "config implies"),
        ("num_hidden_layers", json!(3), "encoder.layer.2."),
        ("intermediate_size", json!(47), "config implies"),
        ("max_position_embeddings", json!(512), "config implies"),
        ("vocab_size", json!(5000), "config implies"),
        ("type_vocab_size", json!(1), "config implies"),
    ];
    for (key, value, needle) in edits {
        let dir = broken_model();
        let mut cfg = common::read_config(dir.path());
        cfg[key] = value;
        common::write_config(dir.path(), &cfg);
        let out = tag_model(dir.path());
        assert_clear_error(&out, 4, &["model.safetensors", needle]);
    }
    // Fewer labels than classifier rows.
    let dir = broken_model();
    let mut cfg = common::read_config(dir.path());
    cfg["id2label"] = json!({"0": "O", "1": "B-PER", "2": "I-PER"});
    common::write_config(dir.path(), &cfg);
    assert_clear_error(
        &tag_model(dir.path()),
        4,
        &["model.safetensors", "id2label"],
    );
}

#[test]
fn config_errors_name_config_json() {
    let cases: Vec<(&str, Option<Value>)> = vec![
        ("id2label", None),
        ("id2label", Some(json!({}))),
        ("id2label", Some(json!({"0": "O", "2": "B-PER"}))),
        ("id2label", Some(json!({"zero": "O"}))),
        ("id2label", Some(json!(["O"]))),
        ("hidden_size", Some(json!(-8))),
        ("hidden_size", Some(json!("32"))),
        ("num_attention_heads", Some(json!(0))),
        ("num_attention_heads", Some(json!(5))),
        ("hidden_act", Some(json!("swish"))),
        // Quoted in the message: it must stay one line.
        ("hidden_act", Some(json!("gelu\nnew\r\u{1b}[31m"))),
        ("id2label", Some(json!({"0\n1": "O"}))),
        ("position_embedding_type", Some(json!("relative_key"))),
        ("vocab_size", None),
        ("max_position_embeddings", Some(json!(0))),
        ("max_position_embeddings", Some(json!(2))),
        ("pad_token_id", Some(json!(100_000))),
    ];
    for (key, value) in cases {
        let dir = broken_model();
        let mut cfg = common::read_config(dir.path());
        let obj = cfg.as_object_mut().expect("object");
        match value {
            Some(v) => obj.insert(key.to_string(), v),
            None => obj.remove(key),
        };
        common::write_config(dir.path(), &cfg);
        let out = tag_model(dir.path());
        assert_clear_error(&out, 4, &["config.json"]);
    }
    // Not JSON at all, and not even UTF-8.
    for bytes in [&b"{\"vocab_size\": 3"[..], b"\xff\xfe{}", b""] {
        let dir = broken_model();
        std::fs::write(dir.path().join("config.json"), bytes).expect("write");
        let out = tag_model(dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains("config.json"), "{stderr}");
    }
}

#[test]
fn tokenizer_with_another_vocabulary_size() {
    let dir = broken_model();
    let mut pieces = common::pieces();
    pieces.extend(["زائد", "آخر", "##ثالث"]);
    common::write_vocab(&dir.path().join("vocab.txt"), &pieces);
    assert_clear_error(&tag_model(dir.path()), 4, &["vocab.txt", "vocab_size"]);

    let dir = common::oracle_dir();
    let mut cfg = common::read_config(dir.path());
    cfg["vocab_size"] = json!(common::pieces().len() - 3);
    common::write_config(dir.path(), &cfg);
    // The weights have more rows than the config too; either is named.
    let out = tag_model(dir.path());
    assert_clear_error(&out, 4, &["tokenizer.json"]);

    // A vocabulary without [CLS].
    let dir = broken_model();
    let pieces: Vec<&str> = common::pieces()
        .into_iter()
        .map(|p| if p == "[CLS]" { "[KLS]" } else { p })
        .collect();
    common::write_vocab(&dir.path().join("vocab.txt"), &pieces);
    assert_clear_error(&tag_model(dir.path()), 4, &["vocab.txt", "[CLS]"]);
}

#[test]
fn missing_files() {
    for name in ["model.safetensors", "vocab.txt", "config.json"] {
        let dir = broken_model();
        std::fs::remove_file(dir.path().join(name)).expect("remove");
        let out = tag_model(dir.path());
        let dir_name = dir.path().display().to_string();
        assert_clear_error(&out, 4, &[&dir_name]);
    }
}

/// JSON text with an escaped lone surrogate (`"\ud800"`) is not a string
/// Rust can hold: every JSON file of a model folder reports it as an error
/// that names the file.
#[test]
fn lone_surrogates_in_json_files() {
    // serde_json refuses it rather than panicking or replacing it.
    assert!(serde_json::from_str::<String>(r#""\ud800""#).is_err());
    assert!(serde_json::from_str::<Value>(r#"{"a": "x\udfff"}"#).is_err());
    // A well-formed pair is fine.
    assert_eq!(
        serde_json::from_str::<String>(r#""\ud83d\ude00""#).expect("pair"),
        "😀"
    );

    // config.json: a label, and a key.
    for (find, replace) in [
        ("\"B-PER\"", "\"B-\\ud800PER\""),
        ("\"hidden_act\"", "\"hidden\\udc00_act\""),
    ] {
        let dir = broken_model();
        let path = dir.path().join("config.json");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(find));
        std::fs::write(&path, text.replacen(find, replace, 1)).expect("write");
        assert_clear_error(&tag_model(dir.path()), 4, &["config.json", "hex escape"]);
    }

    // tokenizer_config.json, read with vocab.txt.
    let dir = broken_model();
    std::fs::write(
        dir.path().join("tokenizer_config.json"),
        r#"{"do_lower_case": false, "unk_token": "[UNK\udbff]"}"#,
    )
    .expect("write");
    assert_clear_error(
        &tag_model(dir.path()),
        4,
        &["tokenizer_config.json", "hex escape"],
    );

    // tokenizer.json.
    let dir = common::oracle_dir();
    let path = dir.path().join("tokenizer.json");
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains("\"[MASK]\""));
    std::fs::write(&path, text.replace("\"[MASK]\"", "\"[MA\\ud800SK]\"")).expect("write");
    assert_clear_error(&tag_model(dir.path()), 4, &["tokenizer.json", "hex escape"]);

    // A label written with an escaped surrogate pair loads and is used.
    let dir = broken_model();
    let path = dir.path().join("config.json");
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, text.replace("\"B-LOC\"", "\"B-\\ud83d\\ude00\"")).expect("write");
    let out = tag_model(dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Training data with a line without a tag, or a tag of another scheme:
/// one error naming the file and line.
#[test]
fn bad_conll_files_name_file_and_line() {
    let base = ModelSpec::random(3).build();
    let work = tempfile::tempdir().expect("temp dir");
    let cases: Vec<(&str, &str, Option<&str>, &str)> = vec![
        (
            "no tag",
            "زار O\nسمير B-PER\nالخطيب\n",
            None,
            ":3: line has a word but no tag",
        ),
        (
            "BILOU",
            "زار O\n\nسمير U-PER\n",
            None,
            ":3: unknown tag prefix \"U-PER\"",
        ),
        ("lower case", "سمير b-per\n", None, ":1: unknown tag prefix"),
        (
            "no type",
            "\u{feff}زار O\nسمير B-\n",
            None,
            ":2: tag \"B-\" has no entity type",
        ),
        (
            "IOBES in BIO",
            "سمير B-PER\r\nالخطيب E-PER\r\n",
            Some("bio"),
            ":2: tag \"E-PER\" is not part of the bio scheme",
        ),
    ];
    for (what, text, scheme, needle) in cases {
        let train = work
            .path()
            .join(format!("{}.conll", what.replace(' ', "-")));
        std::fs::write(&train, text).expect("write");
        let out_dir = work.path().join(format!("out-{}", what.replace(' ', "-")));
        let mut args = vec![
            "train",
            "--base",
            base.path().to_str().expect("path"),
            "--train",
            train.to_str().expect("path"),
            "--out",
            out_dir.to_str().expect("path"),
            "--epochs",
            "1",
        ];
        if let Some(s) = scheme {
            args.extend(["--scheme", s]);
        }
        let out = run_with_stdin(&args, "");
        let file = train.display().to_string();
        assert_clear_error(&out, 3, &[&format!("{file}{needle}")]);
        assert!(
            !out_dir.join("checkpoints").exists(),
            "{what}: nothing trained"
        );
    }
    // Not UTF-8 (Windows-1256 Arabic): the byte and line are named.
    let train = work.path().join("cp1256.conll");
    std::fs::write(&train, b"x O\n\xd3\xe3\xed\xd1 B-PER\n").expect("write");
    let out = run_with_stdin(
        &[
            "train",
            "--base",
            base.path().to_str().expect("path"),
            "--train",
            train.to_str().expect("path"),
            "--out",
            work.path().join("out-cp").to_str().expect("path"),
        ],
        "",
    );
    assert_clear_error(&out, 3, &["cp1256.conll", "line 2", "UTF-8"]);
}

/// Input files in the wrong encoding: UTF-16 (as Windows editors save),
/// Windows-1256, Latin-1. One error naming the file (and line), or with
/// `--skip-invalid` a warning and the rest tagged.
#[test]
fn input_files_in_the_wrong_encoding() {
    let model = oracle_template();
    let work = tempfile::tempdir().expect("temp dir");
    let good = "زار سمير الخطيب فرنسا.\r\n";
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(good.encode_utf16().flat_map(|u| u.to_le_bytes()));
    let cp1256 = b"\xd2\xc7\xd1 \xd3\xe3\xed\xd1\n".to_vec();
    let mut mixed = good.as_bytes().to_vec();
    mixed.extend_from_slice(b"caf\xe9\n");
    mixed.extend_from_slice(good.as_bytes());
    for (name, bytes, line) in [
        ("utf16.txt", utf16, 1),
        ("cp1256.txt", cp1256, 1),
        ("mixed.txt", mixed, 2),
    ] {
        let path = work.path().join(name);
        std::fs::write(&path, &bytes).expect("write");
        let p = path.to_str().expect("path");
        let m = model.to_str().expect("path");
        let out = run_with_stdin(&["tag", "--model", m, p], "");
        assert_clear_error(&out, 3, &[&format!("{p}:{line}: not UTF-8 at byte")]);
        let out = run_with_stdin(&["tag", "--model", m, "--lines", p], "");
        assert_clear_error(&out, 3, &[&format!("{p}:{line}: not UTF-8")]);
        let out = run_with_stdin(&["tag", "--model", m, "--lines", "--skip-invalid", p], "");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("warning") && stderr.contains(p), "{stderr}");
        if name == "mixed.txt" {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert_eq!(stdout.matches("سمير الخطيب").count(), 2, "{stdout}");
        }
    }
}

// ---------------------------------------------------------------------------
// Options and numbers out of range; messages kept to one line
// ---------------------------------------------------------------------------

#[test]
fn a_model_without_labels_exits_4_for_tag_and_eval() {
    let spec = ModelSpec::random(4);
    let dir = spec.build();
    common::write_config(dir.path(), &spec.config(common::pieces().len(), &[]));
    let tensors = spec.tensors(common::pieces().len(), 0);
    arabic_ner::model::weights::save_safetensors(
        &tensors,
        &dir.path().join("model.safetensors"),
        arabic_ner::model::weights::Storage::F32,
    )
    .expect("save");
    let model = dir.path().to_str().expect("UTF-8 path");
    assert_clear_error(&tag_model(dir.path()), 4, &["config.json", "id2label"]);
    let data = dir.path().join("dev.txt");
    std::fs::write(&data, "سمير B-PER\nزار O\n").expect("write");
    let out = run_with_stdin(
        &[
            "eval",
            "--model",
            model,
            "--data",
            data.to_str().expect("path"),
        ],
        "",
    );
    assert_clear_error(&out, 4, &["config.json", "id2label"]);
}

#[test]
fn tag_options_out_of_range_are_usage_errors() {
    let dir = broken_model();
    let model = dir.path().to_str().expect("UTF-8 path");
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (vec!["--entity-bias", "NaN"], &["--entity-bias", "NaN"]),
        (vec!["--entity-bias", "inf"], &["--entity-bias"]),
        (vec!["--entity-bias", "1000"], &["--entity-bias"]),
        (vec!["--min-score", "NaN"], &["--min-score"]),
        (vec!["--batch-size", "0"], &["--batch-size"]),
        (vec!["--max-length", "0"], &["--max-length"]),
        (
            vec!["--max-length", "8", "--stride", "8"],
            &["--stride 8", "window of 8"],
        ),
        // The model's window: 128 positions, 126 pieces.
        (vec!["--stride", "126"], &["--stride 126", "126"]),
        (vec!["--threads", "5000"], &["--threads"]),
        (vec!["--threads", "0"], &["--threads"]),
        (
            vec!["--labels", "PER,FOO"],
            &["FOO", "DATE, LOC, ORG, PER, COUNTRY"],
        ),
        (
            vec!["--reference-date", "10000-01-01"],
            &["--reference-date"],
        ),
    ];
    for (opts, needles) in cases {
        let mut args = vec!["tag", "--model", model];
        args.extend(&opts);
        let out = run_with_stdin(&args, "زار سمير الخطيب فرنسا.");
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!("case {opts:?}");
        assert_eq!(out.status.code(), Some(2), "{opts:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        for n in needles {
            assert!(stderr.contains(n), "{opts:?}: {n:?} not in {stderr}");
        }
    }
    // In range, negative numbers written as separate arguments included.
    for opts in [
        vec!["--min-score", "-1"],
        vec!["--entity-bias", "-1.5"],
        vec!["--labels", "PER,COUNTRY"],
        vec!["--max-length", "8", "--stride", "7"],
        vec!["--threads", "2"],
    ] {
        let mut args = vec!["tag", "--model", model];
        args.extend(&opts);
        let out = run_with_stdin(&args, "زار سمير الخطيب فرنسا.");
        assert!(
            out.status.success(),
            "{opts:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn train_options_out_of_range_are_usage_errors_before_anything_is_written() {
    let base = ModelSpec::random(3).build();
    let work = tempfile::tempdir().expect("temp dir");
    let train = work.path().join("train.txt");
    std::fs::write(&train, "زار O\nسمير B-PER\n").expect("write");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--lr", "NaN"], "--lr"),
        (vec!["--lr", "inf"], "--lr"),
        (vec!["--lr=-0.001"], "--lr"),
        (vec!["--lr", "1.5"], "--lr"),
        (vec!["--warmup", "1.5"], "--warmup"),
        (vec!["--warmup", "NaN"], "--warmup"),
        (vec!["--dropout", "1"], "--dropout"),
        (vec!["--dropout", "NaN"], "--dropout"),
        (vec!["--batch-size", "0"], "--batch-size"),
        (vec!["--max-length", "0"], "--max-length"),
        (vec!["--clip", "NaN"], "--clip"),
        (vec!["--weight-decay", "inf"], "--weight-decay"),
    ];
    for (k, (opts, needle)) in cases.into_iter().enumerate() {
        let out_dir = work.path().join(format!("out-{k}"));
        let mut args = vec![
            "train",
            "--base",
            base.path().to_str().expect("path"),
            "--train",
            train.to_str().expect("path"),
            "--out",
            out_dir.to_str().expect("path"),
        ];
        args.extend(&opts);
        let out = run_with_stdin(&args, "");
        eprintln!("case {opts:?}");
        assert_clear_error(&out, 2, &[needle]);
        assert!(!out_dir.exists(), "{opts:?} wrote {}", out_dir.display());
    }
}

#[test]
fn errors_stay_one_short_line_with_backtraces_on() {
    // A checkpoint whose pickle starts with an unknown op-code: the tensor
    // library's error carries a backtrace when RUST_BACKTRACE is set.
    let dir = tempfile::tempdir().expect("temp dir");
    common::copy_dir(&common::fixture("tiny-bin"), dir.path());
    let checkpoint = dir.path().join("pytorch_model.bin");
    let mut bytes = std::fs::read(&checkpoint).expect("read");
    let name = b"data.pkl";
    let at = bytes
        .windows(name.len())
        .position(|w| w == name)
        .expect("a data.pkl entry");
    // Its local file header: 30 bytes, then the name and the extra field.
    let header = bytes[..at]
        .windows(4)
        .rposition(|w| w == b"PK\x03\x04")
        .expect("a local file header");
    let field = |i: usize| u16::from_le_bytes([bytes[header + i], bytes[header + i + 1]]) as usize;
    let data = header + 30 + field(26) + field(28);
    assert_eq!(bytes[data], 0x80, "a pickle starts with PROTO");
    bytes[data] = 0xfe;
    std::fs::write(&checkpoint, &bytes).expect("write");
    let out = Command::new(bin())
        .args(["tag", "--model", dir.path().to_str().expect("path")])
        .env("RUST_BACKTRACE", "1")
        .env("RAYON_NUM_THREADS", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_clear_error(
        &out,
        4,
        &["pytorch_model.bin", "cannot read PyTorch checkpoint"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.len() < 400, "{} bytes: {stderr}", stderr.len());
    assert!(
        !stderr.contains("backtrace") && !stderr.contains("\\n"),
        "{stderr}"
    );
}

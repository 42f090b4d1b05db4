//! Tagging with the oracle model (see `tests/common/mod.rs`): a model whose
//! answer for every word is known, so that these tests check the tagger's
//! own work: normalization, offsets, windows, batches, BIO decoding,
//! clitics, filters and values.

mod common;

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;

use arabic_ner::entity::Document;
use arabic_ner::tagger::{TagOptions, TaggerBuilder};
use arabic_ner::values::date::Ymd;
use arabic_ner::{Entity, Tagger};
use common::ModelSpec;

/// The oracle tagger with the builder's options.
fn oracle(options: impl FnOnce(TaggerBuilder) -> TaggerBuilder) -> Tagger {
    let dir = ModelSpec::oracle().build();
    let builder = Tagger::builder().model(dir.path().to_str().expect("UTF-8 temp path"));
    // Everything is in memory once built: the folder may go.
    options(builder).build().expect("oracle model loads")
}

fn default_oracle() -> Tagger {
    oracle(|b| b)
}

/// One default oracle for the property tests, built once.
fn shared() -> &'static Tagger {
    static TAGGER: OnceLock<Tagger> = OnceLock::new();
    TAGGER.get_or_init(default_oracle)
}

/// `(label, text)` of each entity.
fn pairs(entities: &[Entity]) -> Vec<(String, String)> {
    entities
        .iter()
        .map(|e| (e.label.clone(), e.text.clone()))
        .collect()
}

fn owned(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(l, t)| (l.to_string(), t.to_string()))
        .collect()
}

/// Sentences written for these tests, with what the oracle must find in
/// them (clitics stripped, the default).
const CASES: &[(&str, &[(&str, &str)])] = &[
    (
        "زار سمير الخطيب بغداد يوم 13 يناير 2022 ثم عاد إلى لبنان.",
        &[
            ("PER", "سمير الخطيب"),
            ("LOC", "بغداد"),
            ("DATE", "يوم 13 يناير 2022"),
            ("LOC", "لبنان"),
        ],
    ),
    (
        "تحدث الوزير عن العلاقات بين مصر وفرنسا.",
        &[("LOC", "مصر"), ("LOC", "فرنسا")],
    ),
    (
        "سافر الرئيس لموسكو أمس.",
        &[("LOC", "موسكو"), ("DATE", "أمس")],
    ),
    (
        "اتفقت مصر والولايات المتحدة على خطة جديدة.",
        &[("LOC", "مصر"), ("LOC", "الولايات المتحدة")],
    ),
    (
        "أعلنت شركة النور للطيران عن رحلات جديدة إلى القاهرة.",
        &[("ORG", "شركة النور للطيران"), ("LOC", "القاهرة")],
    ),
    (
        "وقال الاتحاد الأوروبي إن الاجتماع كان في بغداد.",
        &[("ORG", "الاتحاد الأوروبي"), ("LOC", "بغداد")],
    ),
    (
        "زارت ليلى منصور القاهرة أمس.",
        &[("PER", "ليلى منصور"), ("LOC", "القاهرة"), ("DATE", "أمس")],
    ),
    (
        "عاد الوزير من القاهرة وبغداد إلى لبنان.",
        &[("LOC", "القاهرة"), ("LOC", "بغداد"), ("LOC", "لبنان")],
    ),
];

/// Checks the offsets contract of one document.
fn check_offsets(input: &str, doc: &Document) {
    let mut last_end = 0;
    for e in &doc.entities {
        assert!(e.byte_start < e.byte_end, "empty entity {e:?} in {input:?}");
        assert!(e.byte_start >= last_end, "entities overlap in {input:?}");
        last_end = e.byte_end;
        assert_eq!(
            input.get(e.byte_start..e.byte_end),
            Some(e.text.as_str()),
            "byte offsets of {e:?} in {input:?}"
        );
        assert_eq!(
            input[..e.byte_start].chars().count(),
            e.start,
            "char start of {e:?} in {input:?}"
        );
        let by_chars: String = input.chars().skip(e.start).take(e.end - e.start).collect();
        assert_eq!(by_chars, e.text, "char offsets of {e:?} in {input:?}");
        assert_eq!(e.text.trim(), e.text, "entity with edge space in {input:?}");
    }
    let mut last = 0;
    for w in &doc.words {
        assert!(
            w.byte_start < w.byte_end && w.byte_start >= last,
            "{input:?}"
        );
        let word = input.get(w.byte_start..w.byte_end).expect("word offsets");
        assert!(!word.trim().is_empty(), "blank word in {input:?}");
        last = w.byte_end;
    }
}

fn tag_doc(t: &Tagger, text: &str) -> Document {
    let mut docs = t.tag_documents(&[text]).expect("tagging works");
    assert_eq!(docs.len(), 1);
    let doc = docs.pop().unwrap_or_default();
    check_offsets(text, &doc);
    doc
}

/// Removes Arabic diacritics, tatweel and the superscript alef, and
/// collapses the spaces that stray ones leave.
fn strip_marks(s: &str) -> String {
    let bare: String = s
        .chars()
        .filter(|c| !matches!(c, '\u{064B}'..='\u{0652}' | '\u{0640}' | '\u{0670}'))
        .collect();
    bare.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn finds_the_expected_entities() {
    let t = default_oracle();
    for (text, want) in CASES {
        let doc = tag_doc(&t, text);
        assert_eq!(pairs(&doc.entities), owned(want), "{text}");
        // Every word is labelled.
        let n_words = arabic_ner::text::words::split_words(text).len();
        assert_eq!(doc.words.len(), n_words, "{text}");
    }
}

#[test]
fn word_labels_come_from_the_first_piece() {
    let t = default_oracle();
    let doc = tag_doc(&t, "أعلنت شركة النور للطيران عن رحلات جديدة إلى القاهرة.");
    let labels: Vec<&str> = doc.words.iter().map(|w| w.label.as_str()).collect();
    assert_eq!(
        labels,
        ["O", "B-ORG", "I-ORG", "I-ORG", "O", "O", "O", "O", "B-LOC", "O"]
    );
    assert!(doc.words.last().unwrap().sentence_end);
    assert!(!doc.words[0].sentence_end);
}

#[test]
fn offsets_hold_on_diacritics_tatweel_latin_digits_and_crlf() {
    let t = default_oracle();
    let inputs = [
        // Full diacritics.
        "زَارَ سَمِيرٌ الْخَطِيبُ بَغْدَادَ يَوْمَ 13 يَنَايِرَ 2022 ثُمَّ عَادَ إِلَى لُبْنَانَ.",
        // Tatweel inside and at the end of words.
        "زار سمــير الخطيـــب بغــــداد يوم 13 ينـاير 2022 ثم عاد إلى لبنانـ.",
        // Latin, digits and Arabic glued together.
        "قال سمير الخطيب لCNN إن قمة G20 في بغداد عام2022 وفي 13 يناير 2022 أيضا، 3.5% فقط.",
        // CRLF and blank lines.
        "زار سمير الخطيب بغداد\r\nثم عاد إلى لبنان\r\n\r\nسافر الرئيس لموسكو أمس\r\n",
        // Invisible controls, a ligature, a presentation form and an emoji.
        "\u{200F}زار سمير\u{200C} الخطيب \u{202B}بغداد\u{202C} ﻻ ﺑﻐﺪاد 🇱🇧 لبنان 👍🏽.",
        // A clitic with marks on it, and a stray mark between words.
        "تحدث الوزير عن مصرَ وَفَرَنْسَا ً والولايات المتحدة.",
        // Arabic-Indic digits and punctuation without spaces.
        "(بغداد)،(لبنان)؟ ١٣ يناير ٢٠٢٢!",
    ];
    for input in inputs {
        let doc = tag_doc(&t, input);
        assert!(!doc.entities.is_empty(), "nothing found in {input:?}");
    }

    // The diacritized sentence gives the clean sentence's entities, with
    // the marks kept in the reported text.
    let doc = tag_doc(&t, inputs[0]);
    let bare: Vec<(String, String)> = doc
        .entities
        .iter()
        .map(|e| (e.label.clone(), strip_marks(&e.text)))
        .collect();
    assert_eq!(bare, owned(CASES[0].1));
    assert_eq!(doc.entities[0].text, "سَمِيرٌ الْخَطِيبُ");
    assert_eq!(doc.entities[3].text, "لُبْنَانَ");

    // Tatweel: kept inside the span, the trailing one too.
    let doc = tag_doc(&t, inputs[1]);
    assert_eq!(
        pairs(&doc.entities),
        owned(&[
            ("PER", "سمــير الخطيـــب"),
            ("LOC", "بغــــداد"),
            ("DATE", "يوم 13 ينـاير 2022"),
            ("LOC", "لبنانـ"),
        ])
    );

    // CRLF: the line breaks end sentences and shift no offset.
    let doc = tag_doc(&t, inputs[3]);
    assert_eq!(
        pairs(&doc.entities),
        owned(&[
            ("PER", "سمير الخطيب"),
            ("LOC", "بغداد"),
            ("LOC", "لبنان"),
            ("LOC", "موسكو"),
            ("DATE", "أمس"),
        ])
    );
    let ends: Vec<bool> = doc.words.iter().map(|w| w.sentence_end).collect();
    assert_eq!(ends.iter().filter(|e| **e).count(), 3);

    // Invisible controls stay outside the span; the presentation forms
    // (lam-alef, the isolated-form بغداد) are read as their letters.
    let doc = tag_doc(&t, inputs[4]);
    assert_eq!(
        pairs(&doc.entities),
        owned(&[
            ("PER", "سمير\u{200C} الخطيب"),
            ("LOC", "بغداد"),
            ("LOC", "ﺑﻐﺪاد"),
            ("LOC", "لبنان"),
        ])
    );

    // Marks on the clitic go with the clitic.
    let doc = tag_doc(&t, inputs[5]);
    assert_eq!(
        pairs(&doc.entities),
        owned(&[("LOC", "مصرَ"), ("LOC", "فَرَنْسَا"), ("LOC", "الولايات المتحدة"),])
    );
}

#[test]
fn stray_marks_do_not_shift_or_drop_labels() {
    let t = default_oracle();
    let clean = "زار سمير الخطيب بغداد ثم عاد إلى لبنان.";
    let want = owned(&[("PER", "سمير الخطيب"), ("LOC", "بغداد"), ("LOC", "لبنان")]);
    assert_eq!(pairs(&tag_doc(&t, clean).entities), want);
    let noisy = [
        "\u{064E}زار سمير الخطيب بغداد ثم عاد إلى لبنان.",
        "زار \u{064B} سمير الخطيب \u{0651}بغداد ثم عاد إلى لبنان.",
        "زار سمير \u{0640}\u{0640} الخطيب بغداد \u{0652} ثم عاد إلى لبنان \u{064F}.",
        "زار سمير الخطيب بغداد ثم عاد إلى لبنان.\u{0650}\u{0650}",
        "زار\u{0670} سمير الخطيب بغداد ثم عاد إلى لبنان\u{064D}\u{064D}.",
    ];
    for text in noisy {
        let doc = tag_doc(&t, text);
        let got: Vec<(String, String)> = doc
            .entities
            .iter()
            .map(|e| (e.label.clone(), strip_marks(&e.text)))
            .collect();
        assert_eq!(got, want, "{text:?}");
        let labels: Vec<&str> = doc.words.iter().map(|w| w.label.as_str()).collect();
        assert_eq!(
            labels,
            ["O", "B-PER", "I-PER", "B-LOC", "O", "O", "O", "B-LOC", "O"],
            "{text:?}"
        );
    }
}

/// A text with short sentences and one long sentence without a stop.
fn long_text() -> String {
    let mut s = String::new();
    for (text, _) in CASES {
        s.push_str(text);
        s.push(' ');
    }
    let long: Vec<&str> = CASES.iter().map(|(t, _)| t.trim_end_matches('.')).collect();
    s.push_str(&long.join(" ، "));
    s.push('\n');
    s.push_str(&s.clone());
    s
}

#[test]
fn windows_give_the_single_pass_result() {
    let text = long_text();
    let single = default_oracle();
    let reference = tag_doc(&single, &text);
    assert!(reference.entities.len() > 40);
    // The long sentence really fits one window of the default size.
    let longest = reference
        .words
        .split(|w| w.sentence_end)
        .map(|s| s.len())
        .max()
        .unwrap();
    assert!(longest > 60 && longest < 110, "longest sentence {longest}");
    for (max_pieces, stride) in [(4, 1), (4, 2), (4, 0), (3, 1), (1, 0), (5, 4), (16, 4)] {
        let windowed = oracle(|b| b.max_pieces(max_pieces).stride(stride).batch_size(7));
        let doc = tag_doc(&windowed, &text);
        assert_eq!(
            doc, reference,
            "max_pieces {max_pieces} stride {stride} differs from one pass"
        );
    }
}

#[test]
fn sentences_read_together_give_the_sentence_by_sentence_result() {
    // The oracle is context-free: reading neighbours along must change
    // nothing, whatever the budget and windows.
    let text = long_text();
    let reference = tag_doc(&default_oracle(), &text);
    let texts: Vec<&str> = CASES.iter().map(|(t, _)| *t).collect();
    let batch_reference = default_oracle().tag_batch(&texts).unwrap();
    for (context, max_pieces) in [
        (1, None),
        (12, None),
        (40, None),
        (500, None),
        (30, Some(8)),
    ] {
        let t = oracle(|b| {
            let b = b.context_pieces(context).batch_size(3);
            match max_pieces {
                Some(n) => b.max_pieces(n).stride(2),
                None => b,
            }
        });
        assert_eq!(tag_doc(&t, &text), reference, "context {context}");
        // Runs never join sentences of different texts.
        assert_eq!(
            t.tag_batch(&texts).unwrap(),
            batch_reference,
            "context {context}"
        );
    }
}

#[test]
fn an_entity_running_on_into_the_next_sentence_starts_afresh_there() {
    // Read together, `سمير | الخطيب` decodes as one person across the
    // sentence break; each sentence keeps well-formed labels.
    let sentences = vec![vec!["زار", "سمير"], vec!["الخطيب", "بغداد"]];
    for context in [0, 64] {
        let t = oracle(|b| b.context_pieces(context));
        assert_eq!(
            t.label_words(&sentences).unwrap(),
            [vec!["O", "B-PER"], vec!["B-PER", "B-LOC"]],
            "context {context}"
        );
    }
}

#[test]
fn tag_and_tag_batch_agree() {
    let t = default_oracle();
    let one_by_one = oracle(|b| b.batch_size(1));
    let long = long_text();
    let mut texts: Vec<&str> = CASES.iter().map(|(t, _)| *t).collect();
    texts.push("");
    texts.push(&long);
    texts.push("لا شيء هنا");
    let batch = t.tag_batch(&texts).unwrap();
    assert_eq!(batch.len(), texts.len());
    for (text, from_batch) in texts.iter().zip(&batch) {
        assert_eq!(&t.tag(text).unwrap(), from_batch, "{text}");
        assert_eq!(&one_by_one.tag(text).unwrap(), from_batch, "{text}");
    }
    // Documents keep their order and their own offsets.
    for ((text, want), got) in CASES.iter().zip(&batch) {
        assert_eq!(&pairs(got), &owned(want), "{text}");
    }
    assert!(batch[CASES.len()].is_empty());
}

#[test]
fn clitics_are_stripped_or_kept() {
    let strip = default_oracle();
    let keep = oracle(|b| b.keep_clitics(true));
    let cases = [
        ("تحدث الوزير عن مصر وفرنسا.", "فرنسا", "وفرنسا"),
        ("سافر الرئيس لموسكو.", "موسكو", "لموسكو"),
        (
            "اتفقت مصر والولايات المتحدة.",
            "الولايات المتحدة",
            "والولايات المتحدة",
        ),
        ("عاد الوزير من القاهرة وبغداد.", "بغداد", "وبغداد"),
        // Names that begin with a clitic letter stay whole either way.
        ("عاد الوزير إلى لبنان.", "لبنان", "لبنان"),
        ("عاد الوزير إلى بغداد.", "بغداد", "بغداد"),
    ];
    for (text, stripped, kept) in cases {
        let last = |t: &Tagger| {
            let doc = tag_doc(t, text);
            let e = doc.entities.last().expect("an entity").clone();
            assert_eq!(e.label, "LOC");
            e
        };
        let s = last(&strip);
        let k = last(&keep);
        assert_eq!(s.text, stripped, "{text}");
        assert_eq!(k.text, kept, "{text}");
        assert_eq!(s.byte_end, k.byte_end);
        assert_eq!(s.byte_start - k.byte_start, kept.len() - stripped.len());
        assert_eq!(
            s.start - k.start,
            kept.chars().count() - stripped.chars().count()
        );
    }
}

#[test]
fn clitic_stripping_follows_the_model_config() {
    let dir = ModelSpec::oracle().build();
    let text = "تحدث الوزير عن مصر وفرنسا.";
    let last = || {
        let t = Tagger::new(dir.path().to_str().unwrap()).unwrap();
        t.tag(text).unwrap().last().unwrap().text.clone()
    };
    // No `arabic_ner` section at all: the default strips.
    let mut cfg = common::read_config(dir.path());
    assert!(cfg.get("arabic_ner").is_none());
    assert_eq!(last(), "فرنسا");
    cfg["arabic_ner"] = serde_json::json!({});
    common::write_config(dir.path(), &cfg);
    assert_eq!(last(), "فرنسا");
    cfg["arabic_ner"] = serde_json::json!({"strip_clitics": false});
    common::write_config(dir.path(), &cfg);
    assert_eq!(last(), "وفرنسا");
}

#[test]
fn label_filters() {
    let text = CASES[0].0;
    let only = |labels: &[&str]| {
        let t = oracle(|b| b.labels(labels.iter().copied()));
        pairs(&tag_doc(&t, text).entities)
    };
    assert_eq!(only(&["PER"]), owned(&[("PER", "سمير الخطيب")]));
    assert_eq!(only(&["LOC"]), owned(&[("LOC", "بغداد"), ("LOC", "لبنان")]));
    // COUNTRY selects places that name a state: لبنان, not بغداد.
    assert_eq!(only(&["COUNTRY"]), owned(&[("LOC", "لبنان")]));
    assert_eq!(
        only(&["DATE", "COUNTRY"]),
        owned(&[("DATE", "يوم 13 يناير 2022"), ("LOC", "لبنان")])
    );
    // A type the model does not have is a usage error naming the types
    // it has (COUNTRY among them: the model has places).
    let dir = ModelSpec::oracle().build();
    let e = match Tagger::builder()
        .model(dir.path().to_str().unwrap())
        .labels(["PER", "MISC"])
        .build()
    {
        Err(e) => e,
        Ok(_) => panic!("MISC accepted by a model without it"),
    };
    assert_eq!(e.exit_code(), 2, "{e}");
    assert_eq!(
        e.to_string(),
        "--labels: the model has no type MISC (it has DATE, LOC, ORG, PER, COUNTRY)"
    );
    let t = oracle(|b| b.labels(["COUNTRY"]));
    let got = pairs(&t.tag(CASES[3].0).unwrap());
    assert_eq!(got, owned(&[("LOC", "مصر"), ("LOC", "الولايات المتحدة")]));
    let types: Vec<String> = default_oracle().entity_types().into_iter().collect();
    assert_eq!(types, ["DATE", "LOC", "ORG", "PER"]);
}

#[test]
fn min_score_drops_unsure_entities() {
    let text = CASES[5].0;
    let all = default_oracle().tag(text).unwrap();
    assert_eq!(pairs(&all), owned(CASES[5].1));
    let (org, loc) = (&all[0], &all[1]);
    assert!(
        org.score > 0.5 && org.score < 0.8,
        "weak entity scored {}",
        org.score
    );
    assert!(loc.score > 0.99, "sure entity scored {}", loc.score);
    let sure = oracle(|b| b.min_score(0.8)).tag(text).unwrap();
    assert_eq!(pairs(&sure), owned(&[("LOC", "بغداد")]));
    assert_eq!(sure[0], *loc);
    let none = oracle(|b| b.min_score(0.9999)).tag(text).unwrap();
    assert!(none.len() <= 1);
    assert!(oracle(|b| b.min_score(1.01)).tag(text).unwrap().is_empty());
}

#[test]
fn country_codes_and_date_values() {
    let t = default_oracle();
    let country = |text: &str| -> Vec<(String, Option<&'static str>)> {
        t.tag(text)
            .unwrap()
            .into_iter()
            .filter(|e| e.label == "LOC")
            .map(|e| (e.text, e.country))
            .collect()
    };
    assert_eq!(
        country(CASES[0].0),
        [
            ("بغداد".to_string(), None),
            ("لبنان".to_string(), Some("LB"))
        ]
    );
    assert_eq!(
        country(CASES[1].0),
        [
            ("مصر".to_string(), Some("EG")),
            ("فرنسا".to_string(), Some("FR"))
        ]
    );
    assert_eq!(
        country(CASES[3].0),
        [
            ("مصر".to_string(), Some("EG")),
            ("الولايات المتحدة".to_string(), Some("US"))
        ]
    );
    assert_eq!(country(CASES[4].0), [("القاهرة".to_string(), None)]);
    // The code is kept when the clitic is.
    let keep = oracle(|b| b.keep_clitics(true));
    let e = keep.tag(CASES[1].0).unwrap();
    assert_eq!((e[1].text.as_str(), e[1].country), ("وفرنسا", Some("FR")));

    // Only places get a code, only dates a value.
    for e in t
        .tag_batch(&CASES.iter().map(|c| c.0).collect::<Vec<_>>())
        .unwrap()
        .concat()
    {
        if e.label != "LOC" {
            assert_eq!(e.country, None, "{e:?}");
        }
        if e.label != "DATE" {
            assert_eq!(e.date, None, "{e:?}");
        }
    }

    let date = &t.tag(CASES[0].0).unwrap()[2];
    assert_eq!(date.label, "DATE");
    assert_eq!(
        date.date.as_ref().map(|d| d.value.as_str()),
        Some("2022-01-13")
    );
    // A relative date has a value only against a reference date.
    let yesterday = t.tag(CASES[2].0).unwrap();
    assert_eq!(yesterday[1].text, "أمس");
    assert_eq!(yesterday[1].date, None);
    let dated = oracle(|b| b.reference_date(Ymd::new(2022, 3, 1).unwrap()));
    let yesterday = dated.tag(CASES[2].0).unwrap();
    assert_eq!(
        yesterday[1].date.as_ref().map(|d| d.value.as_str()),
        Some("2022-02-28")
    );
    // The value goes into JSON beside the other fields.
    let json = serde_json::to_value(date).unwrap();
    assert_eq!(json["value"], "2022-01-13");
    assert_eq!(json["label"], "DATE");
    assert!(json.get("country").is_none());
}

#[test]
fn empty_and_blank_texts_have_no_entities() {
    let t = default_oracle();
    for text in [
        "",
        " ",
        "\n\n",
        "\r\n \t",
        "\u{200F}",
        "\u{064E}\u{0640}",
        "...",
        "؟!",
    ] {
        let doc = tag_doc(&t, text);
        assert!(doc.entities.is_empty(), "{text:?}");
        assert!(t.tag(text).unwrap().is_empty());
    }
    assert!(t.tag_batch(&[]).unwrap().is_empty());
    assert_eq!(t.tag_batch(&["", ""]).unwrap(), vec![vec![], vec![]]);
    assert!(t.label_words::<&str>(&[]).unwrap().is_empty());
}

#[test]
fn label_words_follows_the_oracle() {
    let t = default_oracle();
    let sentences = vec![
        vec!["زار", "سمير", "الخطيب", "بغداد"],
        vec!["وَفَرَنْسَا", "شركة", "CNN", "13", "يناير", "2022"],
    ];
    let got = t.label_words(&sentences).unwrap();
    assert_eq!(
        got,
        [
            vec!["O", "B-PER", "I-PER", "B-LOC"],
            vec!["B-LOC", "B-ORG", "O", "B-DATE", "I-DATE", "I-DATE"],
        ]
    );
}

#[test]
fn tagger_is_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Tagger>();
    assert_send_sync::<TagOptions>();

    let t = Arc::new(oracle(|b| b.max_pieces(6).stride(2)));
    let long = long_text();
    let mut texts: Vec<String> = CASES.iter().map(|(t, _)| t.to_string()).collect();
    texts.push(long);
    let want: Vec<Vec<Entity>> = texts.iter().map(|x| t.tag(x).unwrap()).collect();
    let results: Vec<Vec<Vec<Entity>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|k| {
                let t = Arc::clone(&t);
                let texts = &texts;
                s.spawn(move || {
                    // Each thread goes through the texts in its own order.
                    let mut out = vec![Vec::new(); texts.len()];
                    for round in 0..3 {
                        for i in 0..texts.len() {
                            let j = (i * (k + 1) + round) % texts.len();
                            out[j] = t.tag(&texts[j]).unwrap();
                        }
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in results {
        assert_eq!(r, want);
    }
}

/// Pieces of text for the property tests: vocabulary words, unknown
/// words, marks, tatweel, Latin, digits, punctuation, line breaks.
fn texty() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "سمير",
        "الخطيب",
        "بغداد",
        "وفرنسا",
        "لموسكو",
        "والولايات",
        "المتحدة",
        "لبنان",
        "شركة",
        "النور",
        "13",
        "يناير",
        "2022",
        "أمس",
        "كتاب",
        "CNN",
        "G20",
        "3.5",
        "١٣",
        " ",
        " ",
        " ",
        "\u{064E}",
        "\u{0651}",
        "\u{0640}",
        "\u{0670}",
        "\u{200F}",
        "\u{200D}",
        "ﻻ",
        "\r\n",
        "\n",
        ".",
        "،",
        "؟",
        "(",
        ")",
        "👍🏽",
        "é",
        "\t",
    ]);
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

/// Diacritics and tatweel, never the composing marks U+0653..U+0655
/// (those turn ا into أ, which is a different letter).
fn mark() -> impl Strategy<Value = char> {
    prop::sample::select(vec![
        '\u{064B}', '\u{064C}', '\u{064D}', '\u{064E}', '\u{064F}', '\u{0650}', '\u{0651}',
        '\u{0652}', '\u{0640}', '\u{0670}',
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn offsets_contract_holds_on_any_mix(text in texty()) {
        tag_doc(shared(), &text);
    }

    #[test]
    fn offsets_contract_holds_on_any_string(text in any::<String>()) {
        tag_doc(shared(), &text);
    }

    #[test]
    fn inserted_marks_change_nothing_but_offsets(
        case in 0..CASES.len(),
        inserts in prop::collection::vec((any::<prop::sample::Index>(), mark()), 0..12),
    ) {
        let t = shared();
        let clean = CASES[case].0;
        let mut chars: Vec<char> = clean.chars().collect();
        for (at, m) in inserts {
            // Not inside a number: a mark there would split it.
            let i = at.index(chars.len() + 1);
            let digit = |k: usize| chars.get(k).is_some_and(|c| c.is_ascii_digit());
            if digit(i) && i > 0 && digit(i - 1) {
                continue;
            }
            chars.insert(i, m);
        }
        let noisy: String = chars.into_iter().collect();
        let doc = tag_doc(t, &noisy);
        let got: Vec<(String, String)> = doc
            .entities
            .iter()
            .map(|e| (e.label.clone(), strip_marks(&e.text)))
            .collect();
        prop_assert_eq!(got, owned(CASES[case].1), "{:?}", noisy);
    }
}

#[test]
fn the_date_grammar_completes_dates() {
    // The oracle knows "13 يناير 2022" and "أمس" but not مارس, مساء or يوم.
    let text = "وصل سمير الخطيب مساء أمس، وكان في بغداد يوم 13 يناير 2022 وفي 5 مارس 2021 ثم في لبنان 1500 يوم.";
    let with = pairs(&default_oracle().tag(text).unwrap());
    let dates: Vec<&str> = with
        .iter()
        .filter(|(l, _)| l == "DATE")
        .map(|(_, t)| t.as_str())
        .collect();
    assert_eq!(dates, ["مساء أمس", "يوم 13 يناير 2022", "5 مارس 2021"]);
    let without = pairs(&oracle(|b| b.date_grammar(false)).tag(text).unwrap());
    let dates: Vec<&str> = without
        .iter()
        .filter(|(l, _)| l == "DATE")
        .map(|(_, t)| t.as_str())
        .collect();
    assert_eq!(dates, ["أمس", "13 يناير 2022"]);
    // Other entities are the same either way.
    let others = |v: &[(String, String)]| -> Vec<(String, String)> {
        v.iter().filter(|(l, _)| l != "DATE").cloned().collect()
    };
    assert_eq!(others(&with), others(&without));
}

#[test]
fn entity_bias_trades_precision_for_recall() {
    // The oracle gives the weak ORG about 0.6 and O about 0.4.
    let text = CASES[5].0;
    let all = default_oracle().tag(text).unwrap();
    let against = oracle(|b| b.entity_bias(-1.0)).tag(text).unwrap();
    assert_eq!(pairs(&against), owned(&[("LOC", "بغداد")]));
    assert_eq!(against[0], all[1], "a sure entity keeps its span and score");
    let towards = oracle(|b| b.entity_bias(1.0)).tag(text).unwrap();
    assert_eq!(towards, all, "scores stay the model's probabilities");
}

#[test]
fn a_stride_not_below_the_window_is_refused_when_asked_for() {
    // Asked for: a usage error naming both.
    let dir = common::oracle_dir();
    let model = dir.path().to_str().unwrap();
    for (max_pieces, stride) in [(5, 5), (5, 8), (1, 1)] {
        let e = match Tagger::builder()
            .model(model)
            .max_pieces(max_pieces)
            .stride(stride)
            .build()
        {
            Err(e) => e,
            Ok(_) => panic!("stride {stride} over a window of {max_pieces} accepted"),
        };
        assert_eq!(e.exit_code(), 2, "{e}");
        assert!(e.to_string().contains(&format!("--stride {stride}")), "{e}");
    }
    // Left at its default, it is cut to the window, whatever the window.
    assert!(Tagger::builder().model(model).max_pieces(5).build().is_ok());
}

//! The CoNLL reader and label maps on any text: no panic, sentences well
//! formed, errors naming the file and a line that exists.

#![no_main]

use libfuzzer_sys::fuzz_target;

use arabic_ner::scheme::{encode, spans, Scheme};
use arabic_ner::train::data::{parse_conll, LabelMap, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count();
    // A label map from the first line, in both of its forms.
    let first = text.lines().next().unwrap_or("");
    let _ = first.parse::<LabelMap>();
    let _ = LabelMap::from_toml_str(&text, "map.toml");
    for scheme in [
        None,
        Some(Scheme::Bio),
        Some(Scheme::Iob1),
        Some(Scheme::Iobes),
    ] {
        let opts = ReadOptions {
            scheme,
            map: "PER=O,LOC=PLACE,GPE=LOC".parse().expect("map"),
        };
        match parse_conll(&text, "fuzz.conll", &opts) {
            Ok(sentences) => {
                for s in sentences {
                    assert!(!s.words.is_empty());
                    assert_eq!(s.words.len(), s.tags.len());
                    assert!(s.line >= 1 && s.line <= lines);
                    // Clean BIO: its spans encode back to the same tags.
                    assert_eq!(encode(&spans(&s.tags), s.tags.len(), Scheme::Bio), s.tags);
                }
            }
            Err(e) => {
                let line = e.line().expect("a parse error has a line");
                assert!(line >= 1 && line <= lines, "{e}");
                assert!(e.to_string().starts_with(&format!("fuzz.conll:{line}: ")));
            }
        }
    }
});

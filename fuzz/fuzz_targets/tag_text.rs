//! Text to entities through the whole tagger: normalization, words,
//! sentences, windows, batches, decoding, spans, dates and countries.
//!
//! Input: the first byte picks a window size, the rest is text (invalid
//! UTF-8 replaced); `\u{1}` separates the texts of one batch. Checks that
//! nothing panics, that every document is well formed, and that each text
//! gives the same document alone, in the batch, and in small windows.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

use arabic_ner::model::NerModel;
use arabic_ner::tagger::{Aggregation, TagOptions};
use arabic_ner::Tagger;
use arabic_ner_fuzz::{check_document, oracle_dir};

struct Taggers {
    default: Tagger,
    /// One per window size 1..=8, with a stride of a third of it.
    windowed: Vec<Tagger>,
    average: Tagger,
}

fn taggers() -> &'static Taggers {
    static T: OnceLock<Taggers> = OnceLock::new();
    T.get_or_init(|| {
        let load = |opts: TagOptions| {
            Tagger::with_model(NerModel::from_dir(oracle_dir()).expect("oracle"), opts)
        };
        Taggers {
            default: load(TagOptions::default()),
            windowed: (1..=8)
                .map(|m| {
                    load(TagOptions {
                        max_pieces: Some(m),
                        stride: m / 3,
                        batch_size: 2,
                        ..TagOptions::default()
                    })
                })
                .collect(),
            average: load(TagOptions {
                aggregation: Aggregation::Average,
                ..TagOptions::default()
            }),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&knob, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let texts: Vec<&str> = text.split('\u{1}').take(4).collect();
    let t = taggers();
    let batch = t
        .default
        .tag_documents(&texts)
        .expect("tagging does not fail");
    assert_eq!(batch.len(), texts.len());
    let windowed = &t.windowed[knob as usize % t.windowed.len()];
    for (text, doc) in texts.iter().zip(&batch) {
        check_document(text, doc);
        let alone = t.default.tag_documents(&[text]).expect("alone");
        assert_eq!(&alone[0], doc, "alone and in a batch differ");
        let small = windowed.tag_documents(&[text]).expect("windows");
        assert_eq!(&small[0], doc, "small windows differ");
    }
    let averaged = t.average.tag_documents(&texts).expect("average");
    for (text, doc) in texts.iter().zip(&averaged) {
        check_document(text, doc);
    }
});

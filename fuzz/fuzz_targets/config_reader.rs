//! `config.json` of any content beside the oracle's weights and tokenizer:
//! the reader and the model loader give a value or an error naming a file of
//! the folder, never a panic; a model that loads also tags.

#![no_main]

use libfuzzer_sys::fuzz_target;

use arabic_ner::model::config::BertConfig;
use arabic_ner::model::NerModel;
use arabic_ner::tagger::TagOptions;
use arabic_ner::Tagger;
use arabic_ner_fuzz::scratch_dir;

fuzz_target!(|data: &[u8]| {
    if let Ok(cfg) = serde_json::from_slice::<BertConfig>(data) {
        let _ = cfg.labels(std::path::Path::new("config.json"));
    }
    let dir = scratch_dir();
    let path = dir.join("config.json");
    std::fs::write(&path, data).expect("write config.json");
    if let Err(e) = BertConfig::from_file(&path) {
        assert!(e.to_string().contains("config.json"), "{e}");
    }
    match NerModel::from_dir(dir) {
        Ok(model) => {
            let tagger = Tagger::with_model(
                model,
                TagOptions {
                    max_pieces: Some(3),
                    batch_size: 2,
                    ..TagOptions::default()
                },
            );
            let texts = ["زار سمير الخطيب فرنسا يوم 13 يناير 2022.", "", "شركة النور"];
            // Weights that fit but make no sense may give a tensor error;
            // they must not panic.
            let _ = tagger.tag_documents(&texts);
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with(&*dir.to_string_lossy()), "{msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }
});

//! `arabic-ner eval`: precision, recall and F1 of a model on labelled data.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::Args;

use arabic_ner::scheme::Scheme;
use arabic_ner::tagger::TaggerBuilder;
use arabic_ner::train::data::{document_ranges, write_conll, LabelMap};
use arabic_ner::train::metrics::{entity_types, keep_types, score};
use arabic_ner::train::trainer::{read_corpus, Corpus};
use arabic_ner::{Error, Result};

#[derive(Args)]
pub struct EvalArgs {
    /// Model folder or Hub id (default: the shipped model).
    #[arg(long, short)]
    model: Option<String>,
    /// Labelled data in CoNLL form (`word TAG`).
    #[arg(long)]
    data: PathBuf,
    /// Label map for the data: `PERS=PER,MIS=MISC,GPE=LOC`.
    #[arg(long)]
    map: Option<String>,
    /// Tag scheme of the data; detected when absent.
    #[arg(long)]
    scheme: Option<Scheme>,
    /// Entity types scored, comma-separated (default: those the data labels;
    /// predictions of other types count as O).
    #[arg(long, value_delimiter = ',')]
    labels: Option<Vec<String>>,
    #[command(flatten)]
    labelling: super::LabellingArgs,
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Write `word gold pred` lines here.
    #[arg(long)]
    write_predictions: Option<PathBuf>,
    /// Print the scores as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: EvalArgs) -> Result<()> {
    let map: LabelMap = match &a.map {
        Some(m) => m
            .parse()
            .map_err(|e: arabic_ner::train::data::DataError| Error::Usage(format!("--map: {e}")))?,
        None => LabelMap::default(),
    };
    let sentences = read_corpus(&Corpus {
        path: a.data.clone(),
        map,
        scheme: a.scheme,
    })?;
    let mut b = a
        .labelling
        .apply(TaggerBuilder::default())
        .batch_size(a.batch_size);
    if let Some(m) = &a.model {
        b = b.model(m.clone());
    }
    let tagger = b.build()?;
    let t0 = std::time::Instant::now();
    let words: Vec<&Vec<String>> = sentences.iter().map(|s| &s.words).collect();
    let words: Vec<Vec<&str>> = words
        .iter()
        .map(|w| w.iter().map(String::as_str).collect())
        .collect();
    let pred = tagger.label_documents(&words, &document_ranges(&sentences))?;
    let secs = t0.elapsed().as_secs_f64();
    let types: BTreeSet<String> = match &a.labels {
        Some(l) => l.iter().map(|s| s.trim().to_string()).collect(),
        None => entity_types(sentences.iter().flat_map(|s| &s.tags)),
    };
    let gold: Vec<Vec<String>> = sentences
        .iter()
        .map(|s| keep_types(&s.tags, &types))
        .collect();
    let pred: Vec<Vec<String>> = pred.iter().map(|p| keep_types(p, &types)).collect();
    let scores = score(&gold, &pred);
    let n_words: usize = sentences.iter().map(|s| s.words.len()).sum();
    if a.json {
        let per: serde_json::Map<String, serde_json::Value> = scores
            .per_type
            .iter()
            .map(|(k, p)| (k.clone(), serde_json::json!({"precision": p.precision, "recall": p.recall, "f1": p.f1, "support": p.support})))
            .collect();
        let m = &scores.micro;
        println!(
            "{}",
            serde_json::json!({
                "data": a.data.display().to_string(),
                "sentences": sentences.len(),
                "words": n_words,
                "seconds": secs,
                "per_type": per,
                "micro": {"precision": m.precision, "recall": m.recall, "f1": m.f1, "support": m.support},
            })
        );
    } else {
        println!(
            "{}: {} sentences, {n_words} words, {secs:.1}s",
            a.data.display(),
            sentences.len()
        );
        println!(
            "scored types: {}",
            types.iter().cloned().collect::<Vec<_>>().join(", ")
        );
        println!("{scores}");
    }
    if let Some(path) = &a.write_predictions {
        let mut buf = Vec::new();
        write_conll(&mut buf, &sentences, &pred).map_err(|e| Error::Io {
            path: path.clone(),
            source: e,
        })?;
        arabic_ner::model::weights::write_atomic(path, &buf)?;
    }
    Ok(())
}

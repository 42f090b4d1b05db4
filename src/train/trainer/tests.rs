use super::*;

fn tokenizer(dir: &Path) -> WordTokenizer {
    std::fs::write(
        dir.join("vocab.txt"),
        "[PAD]\n[UNK]\n[CLS]\n[SEP]\na\nb\nc\n",
    )
    .unwrap();
    WordTokenizer::from_dir(dir).unwrap()
}

#[test]
fn unlabelled_and_masked_date_words_are_out_of_the_loss() {
    let dir = tempfile::tempdir().unwrap();
    let tok = tokenizer(dir.path());
    let ids: HashMap<String, i64> = bio_labels(&["PER".to_string()].into())
        .into_iter()
        .enumerate()
        .map(|(i, l)| (l, i as i64))
        .collect();
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let sentences = [
        Sentence {
            unlabelled: vec![false, true, false],
            ..Sentence::new(words(&["a", "b", "c"]), words(&["O", "O", "B-PER"]), 1)
        },
        Sentence::new(words(&["a", "يناير"]), words(&["O", "O"]), 5),
    ];
    let norm = NormalizeOptions::default();
    let targets = |mask_dates| -> Vec<Vec<i64>> {
        make_examples(&sentences, &tok, &norm, &ids, 16, mask_dates)
            .unwrap()
            .into_iter()
            .map(|e| e.targets)
            .collect()
    };
    let (o, b_per) = (ids["O"], ids["B-PER"]);
    assert_eq!(
        targets(false),
        [
            vec![IGNORE, o, IGNORE, b_per, IGNORE],
            vec![IGNORE, o, o, IGNORE]
        ]
    );
    assert_eq!(
        targets(true),
        [
            vec![IGNORE, o, IGNORE, b_per, IGNORE],
            vec![IGNORE, o, IGNORE, IGNORE]
        ]
    );
}

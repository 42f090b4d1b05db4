use super::*;
use proptest::prelude::*;

fn opts(map: &str) -> ReadOptions {
    ReadOptions {
        scheme: None,
        map: map.parse().expect("valid map"),
    }
}

fn parse(text: &str, o: &ReadOptions) -> Result<Vec<Sentence>, DataError> {
    parse_conll(text, "t.txt", o)
}

#[test]
fn joined_sentences_keep_words_tags_and_unlabelled_flags() {
    let w = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let a = Sentence::new(w(&["زار", "عمان"]), w(&["O", "B-LOC"]), 3);
    let b = Sentence {
        unlabelled: vec![true, false],
        ..Sentence::new(w(&["مهرجان", "."]), w(&["O", "O"]), 6)
    };
    let j = Sentence::join(&[a.clone(), b]);
    assert_eq!(j.words, w(&["زار", "عمان", "مهرجان", "."]));
    assert_eq!(j.tags, w(&["O", "B-LOC", "O", "O"]));
    assert_eq!(j.line, 3);
    assert_eq!(j.unlabelled, [false, false, true, false]);
    // No flags anywhere: none in the join either.
    assert!(Sentence::join(&[a.clone(), a]).unlabelled.is_empty());
}

#[test]
fn reads_sentences_and_lines() {
    let text = "\u{feff}w1 B-PERS\r\nw2 I-PERS\r\n\r\n\r\n\nw3\tO\n$#$ O\nw4  B-LOC \n";
    let s = parse(text, &opts("")).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].words, ["w1", "w2"]);
    assert_eq!(s[0].tags, ["B-PERS", "I-PERS"]);
    assert_eq!(s[0].line, 1);
    assert_eq!(s[1].words, ["w3", "w4"]);
    assert_eq!(s[1].tags, ["O", "B-LOC"]);
    assert_eq!(s[1].line, 6);
}

#[test]
fn empty_and_blank_inputs() {
    assert!(parse("", &opts("")).unwrap().is_empty());
    assert!(parse("\n\n  \n\t\n", &opts("")).unwrap().is_empty());
    assert!(parse("$#$ O\n\n$#$\n", &opts("")).unwrap().is_empty());
}

#[test]
fn nested_columns_are_ignored() {
    let text = "a B-ORG\nb I-ORG B-PERS\nc I-ORG I-PERS B-X\nd O\n";
    let s = parse(text, &opts("")).unwrap();
    assert_eq!(s[0].tags, ["B-ORG", "I-ORG", "I-ORG", "O"]);
}

#[test]
fn conll_2003_files_read_the_last_column_and_their_documents() {
    let text = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\
                German JJ B-NP B-MISC\n\nPeter NNP B-NP B-PER\n\n\
                -DOCSTART- -X- O O\n\nBRUSSELS NNP B-NP B-LOC\n1996-08-22 CD I-NP O\n";
    let s = parse(text, &opts("")).unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].words, ["EU", "rejects", "German"]);
    assert_eq!(s[0].tags, ["B-ORG", "O", "B-MISC"]);
    assert_eq!(s[0].line, 3);
    assert_eq!(s[1].tags, ["B-PER"]);
    assert_eq!(s[2].words, ["BRUSSELS", "1996-08-22"]);
    assert_eq!(s[2].tags, ["B-LOC", "O"]);
    assert_eq!(
        s.iter().map(|x| x.doc_start).collect::<Vec<_>>(),
        [true, false, true]
    );
    assert_eq!(document_ranges(&s), [0..2, 2..3]);
    // A -DOCSTART- line ends the sentence before it, blank line or not.
    let s = parse(
        "a NN B-NP O\n-DOCSTART- -X- O O\nb NN B-NP B-PER\n",
        &opts(""),
    )
    .unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[1].tags, ["B-PER"]);
    assert!(s[1].doc_start);
    // IOB1, as the original CoNLL-2003 files are tagged.
    let s = parse(
        "a NN I-NP I-PER\nb NN I-NP I-PER\nc NN I-NP B-PER\n",
        &opts(""),
    )
    .unwrap();
    assert_eq!(s[0].tags, ["B-PER", "I-PER", "B-PER"]);
}

#[test]
fn the_tag_column_is_chosen_by_the_files_shape() {
    // Four columns without -DOCSTART-: the second column is a part of
    // speech, not a tag.
    assert_eq!(
        Layout::of("a NNP B-NP B-PER\nb VBZ B-VP O\n"),
        Layout::LastTag
    );
    // Wojood: the second column is a tag, the others nested ones.
    assert_eq!(
        Layout::of("a B-ORG\nb I-ORG B-PERS B-X\n"),
        Layout::FirstTag
    );
    assert_eq!(Layout::of("a O\n"), Layout::FirstTag);
    assert_eq!(Layout::of(""), Layout::FirstTag);
    // -DOCSTART- in a file of two columns: the last is the second.
    assert_eq!(Layout::of("-DOCSTART- O\na B-PER\n"), Layout::LastTag);
    let s = parse("-DOCSTART- O\n\na B-PER\n", &opts("")).unwrap();
    assert_eq!(s[0].tags, ["B-PER"]);
    assert!(s[0].doc_start);
    // A bad tag in the second column of a Wojood file stays an error,
    // not a reason to read the file another way.
    let text = "a B-ORG I-X\nb X-ORG B-PERS\n";
    assert_eq!(Layout::of(text), Layout::FirstTag);
    let e = parse(text, &opts("")).unwrap_err();
    assert_eq!(e.line(), Some(2));
    // Wojood files read as before: nested columns ignored.
    let s = parse("a B-ORG\nb I-ORG B-PERS\nc O\n", &opts("")).unwrap();
    assert_eq!(s[0].tags, ["B-ORG", "I-ORG", "O"]);
    assert!(!s[0].doc_start);
    assert_eq!(document_ranges(&s), vec![0..s.len()]);
}

#[test]
fn output_is_clean_bio() {
    // IOB1 in, BIO out.
    let s = parse("a I-PER\nb I-PER\nc B-PER\nd O\ne I-LOC\n", &opts("")).unwrap();
    assert_eq!(s[0].tags, ["B-PER", "I-PER", "B-PER", "O", "B-LOC"]);
    // IOBES in, BIO out.
    let s = parse("a S-PER\nb B-LOC\nc E-LOC\n", &opts("")).unwrap();
    assert_eq!(s[0].tags, ["B-PER", "B-LOC", "I-LOC"]);
}

#[test]
fn label_map_renames_and_drops() {
    let o = opts("PERS=PER, GPE=LOC ,NORP=O,");
    let text = "a B-PERS\nb I-PERS\nc B-GPE\nd B-LOC\ne B-NORP\nf I-NORP\ng B-ORG\n";
    let s = parse(text, &o).unwrap();
    assert_eq!(
        s[0].tags,
        ["B-PER", "I-PER", "B-LOC", "B-LOC", "O", "O", "B-ORG"]
    );
    // A type change inside an entity splits it before mapping, so the
    // two parts stay two entities even when they map to one type.
    let s = parse("a B-GPE\nb I-LOC\n", &o).unwrap();
    assert_eq!(s[0].tags, ["B-LOC", "B-LOC"]);
}

#[test]
fn types_mapped_to_unknown_are_o_and_marked_unlabelled() {
    let o = opts("MIS=?,PERS=PER");
    let s = parse("a B-MIS\nb I-MIS\nc O\nd B-PERS\n\ne B-PERS\n", &o).unwrap();
    assert_eq!(s[0].tags, ["O", "O", "O", "B-PER"]);
    assert_eq!(s[0].unlabelled, [true, true, false, false]);
    assert!(s[0].is_unlabelled(1) && !s[0].is_unlabelled(2));
    // A sentence with nothing unlabelled keeps no flags.
    assert!(s[1].unlabelled.is_empty() && !s[1].is_unlabelled(0));
    // The map round-trips through its spec form.
    let map: LabelMap = "MIS=?".parse().unwrap();
    assert_eq!(map.to_string(), "MIS=?");
    assert!(map.is_unlabelled("MIS") && !map.is_unlabelled("PER"));
    assert_eq!(map.apply("MIS"), None);
}

#[test]
fn label_map_spec_errors() {
    let err = |s: &str| s.parse::<LabelMap>().unwrap_err().to_string();
    assert_eq!(err("PERS"), "label map entry \"PERS\": expected FROM=TO");
    assert_eq!(err("=PER"), "label map entry \"=PER\": empty label");
    assert_eq!(err("A=B,A=C"), "label map entry \"A=C\": A is mapped twice");
    assert_eq!(
        err("O=PER"),
        "label map entry \"O=PER\": O is not an entity type"
    );
    assert!(err("A=B=C").contains("cannot contain"));
    assert!(err("A B=C").contains("cannot contain"));
    let m: LabelMap = " ".parse().unwrap();
    assert!(m.is_empty());
}

#[test]
fn label_map_display_round_trips() {
    let m: LabelMap = "PERS=PER,MIS=MISC,NORP=O".parse().unwrap();
    assert_eq!(m.to_string(), "MIS=MISC,NORP=O,PERS=PER");
    assert_eq!(m.to_string().parse::<LabelMap>().unwrap(), m);
    assert_eq!(m.len(), 3);
    assert_eq!(m.apply("PERS"), Some("PER"));
    assert_eq!(m.apply("NORP"), None);
    assert_eq!(m.apply("ORG"), Some("ORG"));
}

#[test]
fn label_map_toml() {
    let m = LabelMap::from_toml_str("[map]\nPERS = \"PER\"\nNORP = \"O\"\n", "m.toml").unwrap();
    assert_eq!(m, "PERS=PER,NORP=O".parse().unwrap());
    assert!(LabelMap::from_toml_str("", "m.toml").unwrap().is_empty());
    let e = LabelMap::from_toml_str("[maps]\nA = \"B\"\n", "m.toml").unwrap_err();
    assert!(
        e.to_string().starts_with("m.toml: invalid label map:"),
        "{e}"
    );
    let e = LabelMap::from_toml_str("[map]\nA = 1\n", "m.toml").unwrap_err();
    assert!(matches!(e, DataError::MapToml { .. }));
    let e = LabelMap::from_toml_str("[map]\n\"O\" = \"X\"\n", "m.toml").unwrap_err();
    assert!(matches!(e, DataError::MapEntry { .. }));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("map.toml");
    std::fs::write(&path, "[map]\nGPE = \"LOC\"\n").unwrap();
    let m = LabelMap::from_toml_file(&path).unwrap();
    assert_eq!(m.apply("GPE"), Some("LOC"));
    let missing = LabelMap::from_toml_file(&dir.path().join("nope.toml")).unwrap_err();
    assert!(matches!(missing, DataError::Io { .. }));
}

#[test]
fn error_messages_name_file_and_line() {
    let e = parse("a O\n\nb\n", &opts("")).unwrap_err();
    assert_eq!(e.to_string(), "t.txt:3: line has a word but no tag");
    assert_eq!(e.line(), Some(3));
    let e = parse("a O\nb X-PER\n", &opts("")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.txt:2: unknown tag prefix \"X-PER\" (expected B-, I-, E-, S- or O)"
    );
    let e = parse("a B-\n", &opts("")).unwrap_err();
    assert_eq!(e.to_string(), "t.txt:1: tag \"B-\" has no entity type");
    // The BOM does not shift line numbers.
    let e = parse("\u{feff}a\n", &opts("")).unwrap_err();
    assert_eq!(e.line(), Some(1));
}

#[test]
fn explicit_scheme_is_checked() {
    let o = ReadOptions {
        scheme: Some(Scheme::Bio),
        map: LabelMap::new(),
    };
    let e = parse("a B-PER\nb E-PER\n", &o).unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.txt:2: tag \"E-PER\" is not part of the bio scheme"
    );
    let o = ReadOptions {
        scheme: Some(Scheme::Iobes),
        map: LabelMap::new(),
    };
    assert_eq!(
        parse("a B-PER\nb E-PER\n", &o).unwrap()[0].tags,
        ["B-PER", "I-PER"]
    );
}

#[test]
fn file_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.txt");
    let e = read_conll(&missing, &opts("")).unwrap_err();
    assert!(matches!(e, DataError::Io { .. }));
    assert!(e.to_string().contains("missing.txt: cannot read:"), "{e}");

    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, b"a O\nb\xff O\n").unwrap();
    let e = read_conll(&bad, &opts("")).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("bad.txt: not valid UTF-8 at byte 5 (line 2)"),
        "{e}"
    );

    let good = dir.path().join("good.txt");
    std::fs::write(&good, "a B-LOC\n").unwrap();
    assert_eq!(read_conll(&good, &opts("")).unwrap()[0].tags, ["B-LOC"]);
}

#[test]
fn write_then_read_back() {
    let text = "w1 B-PER\nw2 I-PER\n\nw3 O\n";
    let sents = parse(text, &opts("")).unwrap();
    let pred = vec![vec!["B-PER", "O"], vec!["B-LOC"]];
    let mut buf = Vec::new();
    write_conll(&mut buf, &sents, &pred).unwrap();
    let written = String::from_utf8(buf).unwrap();
    assert_eq!(written, "w1 B-PER B-PER\nw2 I-PER O\n\nw3 O B-LOC\n\n");
    // The gold column reads back as the tag column.
    assert_eq!(parse(&written, &opts("")).unwrap(), sents);

    let short = vec![vec!["O"]];
    let e = write_conll(Vec::new(), &sents, &short).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    let spaced = vec![vec!["B PER", "O"], vec!["O"]];
    assert!(write_conll(Vec::new(), &sents, &spaced).is_err());
}

/// Text built from pieces that matter to the parser.
fn conllish() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "w", "كلمة", "B-PER", "I-PER", "E-LOC", "S-ORG", "O", "X-PER", "B-", "I", "$#$", " ", "\t",
        "\n", "\r\n", "\r", "\u{feff}", "\u{a0}", "",
    ]);
    prop::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

fn check(text: &str) {
    let line_count = text.lines().count();
    for scheme in [None, Some(Scheme::Bio), Some(Scheme::Iobes)] {
        let o = ReadOptions {
            scheme,
            map: "PER=O,LOC=PLACE".parse().expect("valid map"),
        };
        match parse_conll(text, "p.txt", &o) {
            Ok(sentences) => {
                for s in sentences {
                    assert!(!s.words.is_empty());
                    assert_eq!(s.words.len(), s.tags.len());
                    assert!(s.line >= 1 && s.line <= line_count);
                    // Clean BIO: re-encoding the spans gives the same tags.
                    let again = encode(&crate::scheme::spans(&s.tags), s.tags.len(), Scheme::Bio);
                    assert_eq!(again, s.tags);
                }
            }
            Err(e) => {
                let line = e.line().expect("parse errors carry a line");
                assert!(line >= 1 && line <= line_count, "{e}");
            }
        }
    }
}

proptest! {
    #[test]
    fn parse_never_panics_on_any_string(text in any::<String>()) {
        check(&text);
    }

    #[test]
    fn parse_never_panics_on_conll_like_text(text in conllish()) {
        check(&text);
    }
}

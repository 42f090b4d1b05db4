//! The model shipped in `models/` loads with no flags and tags the sample
//! text of `data/` sensibly.

use arabic_ner::{Entity, Tagger};

fn sample() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample.txt");
    std::fs::read_to_string(path).expect("data/sample.txt is part of the repository")
}

fn find<'a>(entities: &'a [Entity], text: &str) -> Option<&'a Entity> {
    entities.iter().find(|e| e.text == text)
}

#[test]
fn shipped_model_tags_the_sample() {
    let tagger = Tagger::builder().build().expect("the shipped model loads");
    let text = sample();
    let entities = tagger.tag(&text).expect("tagging works");

    for e in &entities {
        assert_eq!(&text[e.byte_start..e.byte_end], e.text);
        let chars: String = text.chars().skip(e.start).take(e.end - e.start).collect();
        assert_eq!(chars, e.text);
    }
    let has = |label: &str| entities.iter().any(|e| e.label == label);
    for label in ["PER", "ORG", "LOC", "DATE"] {
        assert!(has(label), "no {label} entity in {entities:#?}");
    }

    let paris = find(&entities, "باريس").expect("باريس is found");
    assert_eq!(paris.label, "LOC");
    assert_eq!(paris.country, None, "a capital is not a country");

    let lebanon = find(&entities, "لبنان").expect("لبنان is found");
    assert_eq!(lebanon.label, "LOC");
    assert_eq!(lebanon.country, Some("LB"));

    // والولايات-type clitics are stripped; here "الولايات المتحدة" has none.
    let us = find(&entities, "الولايات المتحدة").expect("الولايات المتحدة is found");
    assert_eq!(us.country, Some("US"));

    let un = find(&entities, "الأمم المتحدة").expect("الأمم المتحدة is found");
    assert_eq!(un.label, "ORG");
}

#[test]
fn a_name_comes_back_as_the_same_entity() {
    // Named in full twice, then by the family name alone in contexts that
    // say little: each mention is a person.
    let text = "صرح المدرب يورغن كلوب بأن الفريق جاهز. وقال المدرب يورغن كلوب إن المباراة صعبة. وأشاد الجمهور بخطة كلوب. وتنتهي عقود كلوب مع النادي قريبا.";
    let tagger = Tagger::builder().build().expect("the shipped model loads");
    let entities = tagger.tag(text).expect("tagging works");
    let people: Vec<(&str, usize)> = entities
        .iter()
        .filter(|e| e.label == "PER")
        .map(|e| (e.text.as_str(), e.byte_start))
        .collect();
    let klopp: Vec<usize> = text.match_indices("كلوب").map(|(at, _)| at).collect();
    assert_eq!(klopp.len(), 4);
    for at in klopp {
        assert!(
            people
                .iter()
                .any(|&(t, start)| start <= at && at + "كلوب".len() <= start + t.len()),
            "كلوب at byte {at} is not in a person: {people:?}"
        );
    }
}

#[test]
fn a_name_takes_the_type_most_of_its_mentions_have() {
    // The model alone calls the company a person in the last sentence,
    // where the verb and no شركة give little away.
    let text = "أعلنت شركة انرون إفلاسها أمس. وقالت شركة انرون إن ديونها كبيرة. وخسر انرون كل شيء في السوق.";
    let labels = |propagate: bool| -> Vec<(String, String)> {
        let tagger = Tagger::builder()
            .propagate_names(propagate)
            .build()
            .expect("the shipped model loads");
        let entities = tagger.tag(text).expect("tagging works");
        entities
            .into_iter()
            .filter(|e| e.text == "انرون")
            .map(|e| (e.text, e.label))
            .collect()
    };
    let alone = labels(false);
    assert_eq!(alone.len(), 3, "{alone:?}");
    assert!(alone.iter().any(|(_, l)| l != "ORG"), "{alone:?}");
    let together = labels(true);
    assert_eq!(together.len(), 3, "{together:?}");
    assert!(together.iter().all(|(_, l)| l == "ORG"), "{together:?}");
}

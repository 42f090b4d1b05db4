//! The streaming reader of documents on any bytes: no panic; valid text
//! comes back whole from its parts, with offsets into its document, and each
//! part's context is the text next to it; invalid text is an error naming
//! a line and a byte, or a warning with `--skip-invalid`.

#![no_main]

use libfuzzer_sys::fuzz_target;

use arabic_ner::input::{DocumentReader, Part};

fuzz_target!(|data: &[u8]| {
    // First byte: the mode and the part size (64 to 575 bytes).
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let per_line = mode & 1 == 1;
    let part = 64 + usize::from(mode >> 1) * 4;
    let reader = DocumentReader::new(bytes, "fuzz.txt", per_line, false).with_part_bytes(part);
    let mut parts: Vec<Part> = Vec::new();
    for p in reader {
        match p {
            Ok(p) => {
                assert!(p.core.start <= p.core.end && p.core.end <= p.text.len());
                assert!(p.core_text().len() <= part);
                parts.push(p);
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.starts_with("fuzz.txt:") && msg.contains("not UTF-8"), "{msg}");
                return;
            }
        }
    }
    let text = std::str::from_utf8(bytes).expect("parts came back only from valid text");
    let docs: Vec<&str> = if per_line {
        // A line break ends a line (a `\r` before it is not the line's); the
        // last line may have none.
        let mut lines: Vec<&str> = text.split('\n').collect();
        let last = lines.pop().unwrap_or("");
        let mut docs: Vec<&str> = lines
            .into_iter()
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect();
        if !last.is_empty() {
            docs.push(last);
        }
        docs
    } else {
        vec![text]
    };
    let mut at = 0;
    for (n, doc) in docs.iter().enumerate() {
        let mut joined = String::new();
        while at < parts.len() && (!per_line || parts[at].line == Some(n + 1)) {
            let p = &parts[at];
            assert_eq!(p.byte_offset, joined.len());
            assert_eq!(p.char_offset, joined.chars().count());
            assert!(joined.ends_with(&p.text[..p.core.start]));
            assert!(doc[joined.len() + p.core.len()..].starts_with(&p.text[p.core.end..]));
            joined.push_str(p.core_text());
            at += 1;
            if !p.continues {
                break;
            }
        }
        assert_eq!(&joined, doc);
    }
    assert_eq!(at, parts.len());
    // Skipping instead of failing never panics either.
    for p in DocumentReader::new(bytes, "fuzz.txt", per_line, true).with_part_bytes(part) {
        assert!(p.is_ok());
    }
});

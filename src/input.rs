//! Reading text to tag as a stream of documents.
//!
//! A document is a whole input (a file, standard input) or, in line mode,
//! one line of it. Memory must not grow with the size of one document, so a
//! document longer than [`PART_BYTES`] is read in parts that end at a
//! sentence break (a line break where there is one near the end of the part,
//! otherwise the last sentence end the tagger's own splitter finds, then the
//! last space, then the last character). Each part carries its offsets in its
//! document, so that entity offsets reported from a part still index the
//! whole document. A part is tagged with up to [`CONTEXT_BYTES`] of whole
//! sentences of its neighbours on each side (read, not reported), so that
//! names propagate and sentences are read in context across a cut as they
//! are inside a part.
//!
//! Input is read in blocks and never waits for more than the current part:
//! a pipe that delivers one line at a time gets each line's result as soon
//! as it is tagged (see [`DocumentReader::is_waiting`]).

use std::io::{BufRead, BufReader, Read};

use crate::entity::Document;
use crate::error::{Error, Result};
use crate::text::words::{sentence_breaks, split_words};

/// Documents longer than this are read in parts of at most this size.
pub const PART_BYTES: usize = 1 << 20;

/// Text of the neighbouring parts read with a part, on each side: about
/// twenty news sentences, the reach of name propagation.
pub const CONTEXT_BYTES: usize = 8 << 10;

/// A document, or a part of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The text to tag: the part, with the end of the previous part before
    /// it and the start of the next after it when the document is cut.
    pub text: String,
    /// The part itself: the byte range of `text` whose entities are reported.
    pub core: std::ops::Range<usize>,
    /// In line mode, the 1-based number of the document's line.
    pub line: Option<usize>,
    /// 1-based index of the part when the document is cut in parts; `None`
    /// for a document read whole.
    pub part: Option<usize>,
    /// Whether the document goes on in the next part.
    pub continues: bool,
    /// Byte offset of the part (`text[core]`) in its document.
    pub byte_offset: usize,
    /// Character offset of the part in its document.
    pub char_offset: usize,
}

impl Part {
    /// The part itself, without its neighbours' text.
    pub fn core_text(&self) -> &str {
        &self.text[self.core.clone()]
    }

    /// What the tagger found in `text`, restricted to the part itself, with
    /// offsets relative to [`Part::core_text`]. Entities never cross the
    /// sentence break where a part ends.
    pub fn keep_core(&self, mut doc: Document) -> Document {
        let (start, end) = (self.core.start, self.core.end);
        if start == 0 && end == self.text.len() {
            return doc;
        }
        let chars_before = self.text[..start].chars().count();
        doc.entities
            .retain(|e| e.byte_start >= start && e.byte_end <= end);
        for e in &mut doc.entities {
            e.byte_start -= start;
            e.byte_end -= start;
            e.start -= chars_before;
            e.end -= chars_before;
        }
        doc.words
            .retain(|w| w.byte_start >= start && w.byte_end <= end);
        for w in &mut doc.words {
            w.byte_start -= start;
            w.byte_end -= start;
        }
        doc
    }
}

/// Reads documents (or their parts) from a byte stream.
pub struct DocumentReader<R: Read> {
    reader: BufReader<R>,
    name: String,
    per_line: bool,
    part_bytes: usize,
    skip_invalid: bool,
    /// Bytes of the current document not yet handed out.
    buf: Vec<u8>,
    /// The current document's end is in `buf`.
    doc_end: bool,
    /// The input is at its end.
    eof: bool,
    finished: bool,
    /// Line of the input where `buf` starts (1-based).
    line: usize,
    /// The current document's line (line mode).
    doc_line: usize,
    /// Offsets of `buf`'s start in the current document (in whole mode,
    /// the document is the input).
    doc_bytes: usize,
    doc_chars: usize,
    parts: usize,
    /// Whole sentences at the end of the previous part, read before the next.
    before: String,
}

impl<R: Read> DocumentReader<R> {
    /// A reader of `input`, named `name` in error messages. With `per_line`
    /// each line is a document (`\n` or `\r\n` ends it); otherwise the whole
    /// input is one. With `skip_invalid`, a document (or part) that is not
    /// UTF-8 is skipped with a warning on standard error instead of failing.
    pub fn new(input: R, name: impl Into<String>, per_line: bool, skip_invalid: bool) -> Self {
        DocumentReader {
            reader: BufReader::with_capacity(1 << 16, input),
            name: name.into(),
            per_line,
            part_bytes: PART_BYTES,
            skip_invalid,
            buf: Vec::new(),
            doc_end: false,
            eof: false,
            finished: false,
            line: 1,
            doc_line: 1,
            doc_bytes: 0,
            doc_chars: 0,
            parts: 0,
            before: String::new(),
        }
    }

    /// Sets the part size (at least 64 bytes; for tests and tuning).
    pub fn with_part_bytes(mut self, n: usize) -> Self {
        self.part_bytes = n.max(64);
        self
    }

    /// True when no input is buffered: the next read may wait for a writer
    /// (a pipe, a terminal), so what was read so far should be tagged and
    /// written now.
    pub fn is_waiting(&self) -> bool {
        self.reader.buffer().is_empty() && !self.eof
    }

    /// Reads more of the current document into `buf`.
    fn fill(&mut self) -> Result<()> {
        let name = &self.name;
        let avail = self.reader.fill_buf().map_err(|e| Error::io(name, e))?;
        if avail.is_empty() {
            self.eof = true;
            self.doc_end = true;
            return Ok(());
        }
        let want = self.part_bytes + CONTEXT_BYTES + 1;
        let room = want - self.buf.len().min(want - 1);
        let take = avail.len().min(room.max(1));
        let (used, end) = if self.per_line {
            match avail[..take].iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.buf.extend_from_slice(&avail[..i]);
                    if self.buf.last() == Some(&b'\r') {
                        self.buf.pop();
                    }
                    (i + 1, true)
                }
                None => {
                    self.buf.extend_from_slice(&avail[..take]);
                    (take, false)
                }
            }
        } else {
            self.buf.extend_from_slice(&avail[..take]);
            (take, false)
        };
        self.reader.consume(used);
        if end {
            self.doc_end = true;
        }
        Ok(())
    }

    /// The next document or part, or `None` at the end of the input.
    pub fn next_part(&mut self) -> Result<Option<Part>> {
        loop {
            if self.finished {
                return Ok(None);
            }
            if self.per_line && self.buf.is_empty() && !self.doc_end && self.parts == 0 {
                // A new line starts only if there is input left.
                let name = &self.name;
                let at_end = self
                    .reader
                    .fill_buf()
                    .map_err(|e| Error::io(name, e))?
                    .is_empty();
                if at_end {
                    self.finished = true;
                    return Ok(None);
                }
            }
            while !self.doc_end && self.buf.len() <= self.part_bytes + CONTEXT_BYTES {
                self.fill()?;
            }
            let cut = if self.doc_end && self.buf.len() <= self.part_bytes {
                self.buf.len()
            } else {
                find_cut(&self.buf, self.part_bytes)
            };
            let continues = cut < self.buf.len() || !self.doc_end;
            let whole = !continues && self.parts == 0;
            let bytes: Vec<u8> = self.buf.drain(..cut).collect();
            if !whole {
                self.parts += 1;
            }
            let part_no = (!whole).then_some(self.parts);
            let byte_offset = self.doc_bytes;
            let char_offset = self.doc_chars;
            let start_line = self.line;
            self.doc_bytes += bytes.len();
            if !self.per_line {
                self.line += bytes.iter().filter(|&&b| b == b'\n').count();
            }
            let line = self.per_line.then_some(self.doc_line);
            let result = match String::from_utf8(bytes) {
                Ok(core) => {
                    self.doc_chars += core.chars().count();
                    let after = if continues {
                        context_after(&self.buf)
                    } else {
                        ""
                    };
                    let before = std::mem::take(&mut self.before);
                    if continues {
                        self.before = context_before(&core).to_string();
                    }
                    let mut text = String::with_capacity(before.len() + core.len() + after.len());
                    text.push_str(&before);
                    text.push_str(&core);
                    text.push_str(after);
                    Ok(Part {
                        core: before.len()..before.len() + core.len(),
                        text,
                        line,
                        part: part_no,
                        continues,
                        byte_offset,
                        char_offset,
                    })
                }
                Err(e) => {
                    self.before.clear();
                    let bad = e.utf8_error().valid_up_to();
                    // Offsets go on as if each invalid byte were a character.
                    self.doc_chars += String::from_utf8_lossy(e.as_bytes()).chars().count();
                    let msg = if self.per_line {
                        format!(
                            "{}:{}: not UTF-8 (byte {} of the line)",
                            self.name,
                            self.doc_line,
                            byte_offset + bad
                        )
                    } else {
                        let before = &e.as_bytes()[..bad];
                        let line = start_line + before.iter().filter(|&&b| b == b'\n').count();
                        format!(
                            "{}:{line}: not UTF-8 at byte {}",
                            self.name,
                            byte_offset + bad
                        )
                    };
                    Err(msg)
                }
            };
            if !continues {
                self.end_document();
            }
            match result {
                Ok(p) => return Ok(Some(p)),
                Err(msg) if self.skip_invalid => {
                    let what = match (part_no, self.per_line) {
                        (Some(_), _) => "part",
                        (None, true) => "line",
                        (None, false) => "input",
                    };
                    eprintln!("arabic-ner: warning: {msg}; {what} skipped");
                }
                Err(msg) => return Err(Error::input(msg)),
            }
        }
    }

    fn end_document(&mut self) {
        if self.per_line && !self.eof {
            self.doc_line += 1;
            self.line += 1;
            self.doc_end = false;
        } else {
            self.finished = true;
        }
        self.parts = 0;
        self.doc_bytes = 0;
        self.doc_chars = 0;
        self.before.clear();
    }
}

impl<R: Read> Iterator for DocumentReader<R> {
    type Item = Result<Part>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_part().transpose()
    }
}

/// The whole sentences that start `next` within [`CONTEXT_BYTES`] (valid
/// UTF-8 only).
fn context_after(next: &[u8]) -> &str {
    let window = &next[..next.len().min(CONTEXT_BYTES)];
    let valid = match std::str::from_utf8(window) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&window[..e.valid_up_to()]).unwrap_or(""),
    };
    if valid.len() == next.len() {
        return valid; // the rest of the document
    }
    let words = split_words(valid);
    let Some(last) = words.len().checked_sub(1) else {
        return "";
    };
    // The last word may be cut off: a break after it does not count.
    match sentence_breaks(valid, &words)
        .iter()
        .rev()
        .find(|&&b| b < last)
    {
        Some(&b) => &valid[..words[b + 1].start],
        None => "",
    }
}

/// The whole sentences that end `text` within [`CONTEXT_BYTES`].
fn context_before(text: &str) -> &str {
    let mut from = text.len().saturating_sub(CONTEXT_BYTES);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    if from == 0 {
        return text;
    }
    let tail = &text[from..];
    let words = split_words(tail);
    // The first word may be cut off: the context starts after a break.
    match sentence_breaks(tail, &words).first() {
        Some(&b) if b + 1 < words.len() => &tail[words[b + 1].start..],
        _ => "",
    }
}

/// Where to end a part of at most `limit` bytes of `buf` (`buf` is longer):
/// after a line break in the second half, else at a sentence break, else
/// after a space, else at a character boundary. Never 0.
fn find_cut(buf: &[u8], limit: usize) -> usize {
    let limit = limit.min(buf.len());
    let window = &buf[..limit];
    if let Some(i) = window[limit / 2..].iter().rposition(|&b| b == b'\n') {
        return limit / 2 + i + 1;
    }
    // Sentence breaks as the tagger sees them, in the valid text near the end
    // (the splitter's cost stays small and independent of the part size).
    let valid = match std::str::from_utf8(window) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&window[..e.valid_up_to()]).unwrap_or(""),
    };
    if valid.is_empty() {
        // Invalid from the start: a part of its own, reported as such.
        return char_boundary(buf, limit);
    }
    let mut from = valid.len().saturating_sub(64 << 10).max(valid.len() / 2);
    while !valid.is_char_boundary(from) {
        from += 1;
    }
    let tail = &valid[from..];
    let words = split_words(tail);
    if words.len() > 1 {
        // The last word may be cut off: a break after it does not count.
        let last = words.len() - 1;
        if let Some(&b) = sentence_breaks(tail, &words)
            .iter()
            .rev()
            .find(|&&b| b < last)
        {
            return from + words[b + 1].start;
        }
        // No sentence end: after the last space before the last word.
        return from + words[last].start;
    }
    if valid.len() < window.len() {
        // Text up to an invalid byte: the invalid rest is a part of its own.
        return valid.len().max(1);
    }
    char_boundary(buf, limit)
}

/// The last character boundary of `buf` at or before `at` (after `0`).
fn char_boundary(buf: &[u8], at: usize) -> usize {
    let mut i = at.min(buf.len());
    // At most three continuation bytes (10xxxxxx) end a character early.
    for _ in 0..3 {
        if i > 1 && i < buf.len() && (buf[i] & 0xC0) == 0x80 {
            i -= 1;
        }
    }
    i.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8], per_line: bool, part: usize) -> Vec<Part> {
        DocumentReader::new(input, "t", per_line, false)
            .with_part_bytes(part)
            .map(|p| p.unwrap())
            .collect()
    }

    /// The parts of each document, joined, give the document back, their
    /// offsets say where they are, and the context around each is the text
    /// of the document next to it.
    fn check_parts(doc: &str, parts: &[Part]) {
        let mut joined = String::new();
        for (i, p) in parts.iter().enumerate() {
            let core = p.core_text();
            assert_eq!(p.byte_offset, joined.len());
            assert_eq!(p.char_offset, joined.chars().count());
            assert_eq!(&doc[p.byte_offset..p.byte_offset + core.len()], core);
            assert_eq!(p.continues, i + 1 < parts.len());
            let before = &p.text[..p.core.start];
            let after = &p.text[p.core.end..];
            assert!(joined.ends_with(before));
            assert!(doc[p.byte_offset + core.len()..].starts_with(after));
            assert!(before.len() <= CONTEXT_BYTES && after.len() <= CONTEXT_BYTES);
            joined.push_str(core);
        }
        assert_eq!(joined, doc);
    }

    #[test]
    fn small_input_is_one_document() {
        let parts = read_all("سطر أول\nسطر ثان\n".as_bytes(), false, 1 << 20);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].part, None);
        assert_eq!(parts[0].text, "سطر أول\nسطر ثان\n");
        assert_eq!(parts[0].core, 0..parts[0].text.len());
        assert!(!parts[0].continues);
    }

    #[test]
    fn empty_input_is_one_empty_document_or_no_line() {
        assert_eq!(read_all(b"", false, 1 << 20).len(), 1);
        assert_eq!(read_all(b"", true, 1 << 20).len(), 0);
    }

    #[test]
    fn lines_are_documents() {
        let parts = read_all("أ\r\n\nب ج\nد".as_bytes(), true, 1 << 20);
        let got: Vec<(Option<usize>, &str)> =
            parts.iter().map(|p| (p.line, p.text.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (Some(1), "أ"),
                (Some(2), ""),
                (Some(3), "ب ج"),
                (Some(4), "د")
            ]
        );
        assert!(parts.iter().all(|p| p.part.is_none()));
    }

    #[test]
    fn long_text_without_line_breaks_is_cut_at_sentence_ends() {
        let sentence = "زار الرئيس القاهرة يوم الخميس. ";
        let doc = sentence.repeat(200);
        let parts = read_all(doc.as_bytes(), false, 1000);
        assert!(parts.len() > 5, "{}", parts.len());
        check_parts(&doc, &parts);
        for p in &parts[..parts.len() - 1] {
            let core = p.core_text();
            assert!(core.len() <= 1000);
            assert!(core.ends_with(". "), "{:?}", &core[core.len() - 20..]);
        }
        assert_eq!(parts[0].part, Some(1));
    }

    #[test]
    fn text_without_sentence_ends_or_spaces_is_cut_at_characters() {
        let doc = "كلمات بلا نقطة ".repeat(300);
        let parts = read_all(doc.as_bytes(), false, 500);
        check_parts(&doc, &parts);
        assert!(parts[..parts.len() - 1]
            .iter()
            .all(|p| p.core_text().ends_with(' ')));
        let doc = "ب".repeat(2000);
        let parts = read_all(doc.as_bytes(), false, 301);
        check_parts(&doc, &parts);
        assert!(parts.iter().all(|p| p.core_text().len() <= 301));
    }

    #[test]
    fn a_long_line_is_cut_and_keeps_its_line_number() {
        let long = "جملة طويلة جدا. ".repeat(100);
        let input = format!("قصير\n{long}\nآخر\n");
        let parts = read_all(input.as_bytes(), true, 300);
        assert_eq!(parts[0].line, Some(1));
        let middle: Vec<Part> = parts
            .iter()
            .filter(|p| p.line == Some(2))
            .cloned()
            .collect();
        assert!(middle.len() > 3);
        check_parts(&long, &middle);
        assert_eq!(parts.last().unwrap().line, Some(3));
        assert_eq!(parts.last().unwrap().core_text(), "آخر");
    }

    #[test]
    fn invalid_bytes_are_named_by_line_and_absolute_byte() {
        let mut input = "سطر\n".repeat(400).into_bytes();
        let at = input.len();
        input.extend_from_slice(b"ok \xff bad\n");
        let err = DocumentReader::new(&input[..], "f.txt", false, false)
            .with_part_bytes(512)
            .collect::<Result<Vec<_>>>()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("f.txt:401: not UTF-8 at byte {}", at + 3)
        );
        let err = DocumentReader::new(&input[..], "f.txt", true, false)
            .collect::<Result<Vec<_>>>()
            .unwrap_err();
        assert_eq!(err.to_string(), "f.txt:401: not UTF-8 (byte 3 of the line)");
    }

    #[test]
    fn skipped_invalid_lines_leave_the_others() {
        let parts: Vec<Part> = DocumentReader::new(&b"a\n\xff\nc\n"[..], "t", true, true)
            .map(|p| p.unwrap())
            .collect();
        let got: Vec<(Option<usize>, &str)> =
            parts.iter().map(|p| (p.line, p.text.as_str())).collect();
        assert_eq!(got, vec![(Some(1), "a"), (Some(3), "c")]);
    }

    #[test]
    fn parts_never_split_a_character() {
        // Every part size over mixed scripts: parts are valid UTF-8 and join
        // back to the input.
        let doc = "aب😀ج d".repeat(50);
        for size in 64..90 {
            let parts = read_all(doc.as_bytes(), false, size);
            check_parts(&doc, &parts);
        }
    }

    #[test]
    fn parts_are_read_with_whole_sentences_of_their_neighbours() {
        let doc: String = (0..3000).map(|i| format!("الجملة رقم {i} هنا. ")).collect();
        let parts: Vec<Part> = DocumentReader::new(doc.as_bytes(), "t", false, false)
            .with_part_bytes(20_000)
            .map(|p| p.unwrap())
            .collect();
        assert!(parts.len() > 3);
        check_parts(&doc, &parts);
        for (i, p) in parts.iter().enumerate() {
            let before = &p.text[..p.core.start];
            let after = &p.text[p.core.end..];
            assert_eq!(before.is_empty(), i == 0);
            assert_eq!(after.is_empty(), i + 1 == parts.len());
            // Whole sentences, and most of the context allowed.
            if i > 0 {
                assert!(before.starts_with("الجملة"), "{before:.40}");
                assert!(before.len() > CONTEXT_BYTES / 2);
            }
            if i + 1 < parts.len() {
                assert!(after.ends_with(". "), "{after:.40}");
                assert!(after.len() > CONTEXT_BYTES / 2);
            }
        }
    }

    #[test]
    fn only_the_core_of_a_part_is_reported() {
        use crate::entity::{Entity, TaggedWord};
        let p = Part {
            text: "😀 أ. ب ج. د.".to_string(),
            core: "😀 أ. ".len().."😀 أ. ب ج. ".len(),
            line: None,
            part: Some(2),
            continues: true,
            byte_offset: 100,
            char_offset: 50,
        };
        let entity = |text: &str, start: usize| {
            let byte_start = p.text.find(text).unwrap();
            Entity {
                label: "PER".into(),
                text: text.into(),
                start,
                end: start + text.chars().count(),
                byte_start,
                byte_end: byte_start + text.len(),
                score: 1.0,
                country: None,
                date: None,
            }
        };
        let word = |text: &str| {
            let byte_start = p.text.find(text).unwrap();
            TaggedWord {
                byte_start,
                byte_end: byte_start + text.len(),
                label: "B-PER".into(),
                sentence_end: false,
            }
        };
        let doc = Document {
            entities: vec![entity("أ", 2), entity("ب ج", 5), entity("د", 10)],
            words: vec![word("أ"), word("ب"), word("ج"), word("د")],
        };
        let kept = p.keep_core(doc);
        assert_eq!(kept.entities.len(), 1);
        let e = &kept.entities[0];
        assert_eq!(&p.core_text()[e.byte_start..e.byte_end], "ب ج");
        let chars: Vec<char> = p.core_text().chars().collect();
        assert_eq!(chars[e.start..e.end].iter().collect::<String>(), "ب ج");
        let words: Vec<&str> = kept
            .words
            .iter()
            .map(|w| &p.core_text()[w.byte_start..w.byte_end])
            .collect();
        assert_eq!(words, ["ب", "ج"]);
    }

    proptest::proptest! {
        /// Any text, any part size, either mode: the parts of each document
        /// give it back, with their offsets; and bytes that are not UTF-8
        /// give an error, never a panic.
        #[test]
        fn any_text_reads_back_from_its_parts(
            text in "(\\PC|[ .\n؟!])*",
            part in 64usize..400,
            per_line: bool,
        ) {
            let parts: Vec<Part> = DocumentReader::new(text.as_bytes(), "t", per_line, false)
                .with_part_bytes(part)
                .map(|p| p.unwrap())
                .collect();
            if per_line {
                let lines: Vec<&str> = text.lines().collect();
                let mut by_line: Vec<Vec<Part>> = vec![Vec::new(); lines.len()];
                for p in parts {
                    by_line[p.line.unwrap() - 1].push(p);
                }
                for (line, ps) in lines.iter().zip(&by_line) {
                    let line = line.strip_suffix('\r').unwrap_or(line);
                    check_parts(line, ps);
                }
            } else {
                check_parts(&text, &parts);
            }
        }

        #[test]
        fn any_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2000), part in 64usize..300, per_line: bool) {
            for skip in [false, true] {
                let reader = DocumentReader::new(&bytes[..], "t", per_line, skip).with_part_bytes(part);
                for p in reader.flatten() {
                    proptest::prop_assert!(p.core.end <= p.text.len());
                }
            }
        }
    }
}

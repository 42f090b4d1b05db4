//! Writing tagged documents: JSON Lines, JSON, CoNLL, TSV, inline text and
//! a standalone HTML view. Writers stream: each document is written when it
//! is done, so output starts before the input is read to the end.

use std::io::{self, Write};
use std::str::FromStr;

use serde::Serialize;

use crate::entity::{Document, Entity};
use crate::error::Error;
use crate::values;

/// Output formats of `arabic-ner tag`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Json,
    Conll,
    Tsv,
    Inline,
    Html,
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "jsonl" => Format::Jsonl,
            "json" => Format::Json,
            "conll" => Format::Conll,
            "tsv" => Format::Tsv,
            "inline" => Format::Inline,
            "html" => Format::Html,
            _ => {
                return Err(Error::Usage(format!(
                    "unknown format {s:?} (jsonl, json, conll, tsv, inline, html)"
                )))
            }
        })
    }
}

/// Where a document came from.
#[derive(Debug, Clone, Default)]
pub struct Source<'a> {
    /// File path, or `-` for standard input.
    pub source: &'a str,
    /// 1-based line number when each line is a document.
    pub line: Option<usize>,
    /// 1-based part number when a long document is read in parts
    /// (see [`crate::input`]).
    pub part: Option<usize>,
    /// Where the text starts in its document, in bytes and in characters:
    /// entity offsets are written relative to the document.
    pub byte_offset: usize,
    pub char_offset: usize,
    /// The document goes on in the next part.
    pub continues: bool,
}

impl<'a> Source<'a> {
    /// A whole document.
    pub fn whole(source: &'a str, line: Option<usize>) -> Self {
        Source {
            source,
            line,
            ..Source::default()
        }
    }

    /// Where a part of a document came from.
    pub fn of_part(source: &'a str, p: &crate::input::Part) -> Self {
        Source {
            source,
            line: p.line,
            part: p.part,
            byte_offset: p.byte_offset,
            char_offset: p.char_offset,
            continues: p.continues,
        }
    }

    /// `e` with offsets into the whole document.
    fn place(&self, e: &Entity) -> Entity {
        let mut e = e.clone();
        e.start += self.char_offset;
        e.end += self.char_offset;
        e.byte_start += self.byte_offset;
        e.byte_end += self.byte_offset;
        e
    }

    /// The label shown for the document: `path`, `path:line`, with the part.
    fn label(&self) -> String {
        let mut s = match self.line {
            Some(l) => format!("{}:{l}", self.source),
            None => self.source.to_string(),
        };
        if let Some(p) = self.part {
            s.push_str(&format!(" (part {p})"));
        }
        s
    }
}

#[derive(Serialize)]
struct JsonDoc<'a> {
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    part: Option<usize>,
    entities: std::borrow::Cow<'a, [Entity]>,
}

impl<'a> JsonDoc<'a> {
    fn new(src: &Source<'a>, doc: &'a Document) -> Self {
        let entities = if src.byte_offset == 0 && src.char_offset == 0 {
            std::borrow::Cow::Borrowed(&doc.entities[..])
        } else {
            std::borrow::Cow::Owned(doc.entities.iter().map(|e| src.place(e)).collect())
        };
        JsonDoc {
            source: src.source,
            line: src.line,
            part: src.part,
            entities,
        }
    }
}

/// A streaming writer of one format.
pub struct Writer<W: Write> {
    out: W,
    format: Format,
    docs: usize,
    labels: Vec<String>,
}

/// Colours of entity types in the HTML view; others cycle through the rest.
const COLOURS: [(&str, &str); 5] = [
    ("PER", "#fbd0d9"),
    ("ORG", "#c7e4ff"),
    ("LOC", "#ccf0c4"),
    ("DATE", "#ffe3a8"),
    ("MISC", "#e2d6f7"),
];
const EXTRA_COLOURS: [&str; 4] = ["#d6f5f2", "#f5e0cc", "#e8e8e8", "#f9d6f2"];

fn colour(label: &str, i: usize) -> &'static str {
    COLOURS
        .iter()
        .find(|(l, _)| *l == label)
        .map(|(_, c)| *c)
        .unwrap_or(EXTRA_COLOURS[i % EXTRA_COLOURS.len()])
}

fn escape_html(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// TSV fields cannot hold tabs or line breaks.
fn tsv_field(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

impl<W: Write> Writer<W> {
    /// A writer; `labels` are the entity types, for the HTML legend.
    pub fn new(out: W, format: Format, labels: Vec<String>) -> io::Result<Self> {
        let mut w = Writer {
            out,
            format,
            docs: 0,
            labels,
        };
        w.begin()?;
        Ok(w)
    }

    fn begin(&mut self) -> io::Result<()> {
        match self.format {
            Format::Json => writeln!(self.out, "["),
            Format::Tsv => writeln!(
                self.out,
                "source\tline\tstart\tend\tlabel\tscore\ttext\t{}",
                values::COLUMNS.join("\t")
            ),
            Format::Html => self.html_head(),
            _ => Ok(()),
        }
    }

    fn html_head(&mut self) -> io::Result<()> {
        let mut legend = String::new();
        let mut css = String::new();
        for (i, l) in self.labels.iter().enumerate() {
            let c = colour(l, i);
            let l = escape_html(l);
            css.push_str(&format!("mark.e-{l}{{background:{c}}}\n"));
            legend.push_str(&format!("<mark class=\"e-{l}\">{l}</mark> "));
        }
        write!(
            self.out,
            "<!DOCTYPE html>\n<html lang=\"ar\" dir=\"rtl\">\n<head>\n<meta charset=\"utf-8\">\n\
<title>arabic-ner</title>\n<style>\n\
body{{font-family:'Noto Naskh Arabic','Amiri',serif;font-size:20px;line-height:2.4;max-width:56em;margin:2em auto;padding:0 1em;color:#222}}\n\
mark{{padding:.15em .4em;border-radius:.35em;margin:0 .1em}}\n\
mark small{{font:bold 11px sans-serif;margin-inline-start:.4em;color:#555;vertical-align:middle}}\n\
.doc{{border-bottom:1px solid #ddd;padding:1em 0;white-space:pre-wrap}}\n\
.src{{font:12px monospace;color:#888;direction:ltr;text-align:left}}\n\
.legend{{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:2px solid #ccc}}\n\
{css}</style>\n</head>\n<body>\n<div class=\"legend\">{legend}</div>\n"
        )
    }

    /// Writes one document.
    pub fn write(&mut self, src: &Source, text: &str, doc: &Document) -> io::Result<()> {
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut self.out, &JsonDoc::new(src, doc))?;
                writeln!(self.out)?;
            }
            Format::Json => {
                if self.docs > 0 {
                    writeln!(self.out, ",")?;
                }
                serde_json::to_writer_pretty(&mut self.out, &JsonDoc::new(src, doc))?;
            }
            Format::Conll => {
                for w in &doc.words {
                    let word = &text[w.byte_start..w.byte_end];
                    // A word never holds whitespace after splitting, but
                    // keep the two columns intact whatever happens.
                    let word: String = word
                        .chars()
                        .map(|c| if c.is_whitespace() { '_' } else { c })
                        .collect();
                    writeln!(self.out, "{word} {}", w.label)?;
                    if w.sentence_end {
                        writeln!(self.out)?;
                    }
                }
            }
            Format::Tsv => {
                for e in &doc.entities {
                    let e = &src.place(e);
                    let values: Vec<String> =
                        values::columns(e).iter().map(|v| tsv_field(v)).collect();
                    writeln!(
                        self.out,
                        "{}\t{}\t{}\t{}\t{}\t{:.4}\t{}\t{}",
                        tsv_field(src.source),
                        src.line.map(|l| l.to_string()).unwrap_or_default(),
                        e.start,
                        e.end,
                        e.label,
                        e.score,
                        tsv_field(&e.text),
                        values.join("\t")
                    )?;
                }
            }
            Format::Inline => {
                let mut at = 0;
                let mut s = String::with_capacity(text.len() + doc.entities.len() * 8);
                for e in &doc.entities {
                    s.push_str(&text[at..e.byte_start]);
                    s.push('[');
                    s.push_str(&e.text);
                    s.push_str("](");
                    s.push_str(&e.label);
                    s.push(')');
                    at = e.byte_end;
                }
                s.push_str(&text[at..]);
                if s.ends_with('\n') || src.continues {
                    write!(self.out, "{s}")?;
                } else {
                    writeln!(self.out, "{s}")?;
                }
            }
            Format::Html => {
                let src_line = src.label();
                write!(
                    self.out,
                    "<div class=\"doc\"><div class=\"src\">{}</div>",
                    escape_html(&src_line)
                )?;
                let mut at = 0;
                for e in &doc.entities {
                    write!(self.out, "{}", escape_html(&text[at..e.byte_start]))?;
                    let mut title = format!("{} {:.2}", e.label, e.score);
                    for (name, v) in values::COLUMNS.iter().zip(values::columns(e)) {
                        if !v.is_empty() {
                            title.push_str(&format!(" {name}={v}"));
                        }
                    }
                    write!(
                        self.out,
                        "<mark class=\"e-{l}\" title=\"{t}\">{x}<small>{l}</small></mark>",
                        l = escape_html(&e.label),
                        t = escape_html(&title),
                        x = escape_html(&e.text)
                    )?;
                    at = e.byte_end;
                }
                writeln!(self.out, "{}</div>", escape_html(&text[at..]))?;
            }
        }
        self.docs += 1;
        Ok(())
    }

    /// Pushes what was written so far to the output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Closes the output (JSON's bracket, HTML's end) and flushes.
    pub fn finish(mut self) -> io::Result<W> {
        match self.format {
            Format::Json => {
                if self.docs > 0 {
                    writeln!(self.out)?;
                }
                writeln!(self.out, "]")?;
            }
            Format::Html => writeln!(self.out, "</body>\n</html>")?,
            _ => {}
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

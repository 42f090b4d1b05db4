//! `arabic-ner tag`: files, folders or standard input to entities.

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use arabic_ner::output::{Format, Source, Writer};
use arabic_ner::tagger::TaggerBuilder;
use arabic_ner::values::date::Ymd;
use arabic_ner::{Error, Result, Tagger};

/// Files larger than this are tagged in parts that start at line breaks.
const WHOLE_FILE_LIMIT: u64 = 64 << 20;
/// Text gathered before the model runs: enough to batch well, small enough
/// that output starts early and memory stays flat.
const CHUNK_BYTES: usize = 256 << 10;
const CHUNK_DOCS: usize = 512;

#[derive(Args)]
pub struct TagArgs {
    /// Files or folders (all `*.txt` below them); `-` or nothing reads standard input.
    paths: Vec<PathBuf>,
    /// Model folder or Hub id `org/name[@revision]` (default: the shipped model).
    #[arg(long, short)]
    model: Option<String>,
    /// Each line is a document (its line number is reported).
    #[arg(long)]
    lines: bool,
    /// Output format: jsonl, json, conll, tsv, inline, html.
    #[arg(long, short, default_value = "jsonl")]
    format: Format,
    /// Keep only these labels, comma-separated (`COUNTRY` selects country mentions).
    #[arg(long, value_delimiter = ',')]
    labels: Option<Vec<String>>,
    /// Drop entities scored below this.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    min_score: f32,
    /// Windows run through the model together.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    #[command(flatten)]
    labelling: super::LabellingArgs,
    /// Keep a leading conjunction or preposition (و ف ب ل ك) in entity spans.
    #[arg(long)]
    keep_clitics: bool,
    /// Most word pieces in a window (longer sentences get overlapping windows).
    #[arg(long)]
    max_length: Option<usize>,
    /// Word pieces shared by consecutive windows (default 128, at most half
    /// the window); must be below the window.
    #[arg(long)]
    stride: Option<usize>,
    /// Date that relative dates resolve against (YYYY-MM-DD).
    #[arg(long)]
    reference_date: Option<Ymd>,
    /// Write here instead of standard output (atomically, when done).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Warn about input that is not UTF-8 and go on, instead of failing.
    #[arg(long)]
    skip_invalid: bool,
}

/// One input: a file or standard input.
enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    fn name(&self) -> String {
        match self {
            Input::Stdin => "-".into(),
            Input::File(p) => p.display().to_string(),
        }
    }
}

fn collect_inputs(paths: &[PathBuf]) -> Result<Vec<Input>> {
    if paths.is_empty() {
        return Ok(vec![Input::Stdin]);
    }
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            out.push(Input::Stdin);
        } else if p.is_dir() {
            let mut files = Vec::new();
            walk(p, &mut files)?;
            files.sort();
            out.extend(files.into_iter().map(Input::File));
        } else if p.is_file() {
            out.push(Input::File(p.clone()));
        } else {
            return Err(Error::Input {
                message: format!("{}: no such file or folder", p.display()),
            });
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    for entry in rd {
        let entry = entry.map_err(|e| Error::Io {
            path: dir.to_path_buf(),
            source: e,
        })?;
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "txt") {
            out.push(path);
        }
    }
    Ok(())
}

/// Documents waiting for the model.
struct Pending {
    docs: Vec<(String, Option<usize>, String)>,
    bytes: usize,
}

struct Run<'a, W: Write> {
    tagger: &'a Tagger,
    writer: Writer<W>,
    /// The output file, or `<stdout>`, for error messages.
    out_name: PathBuf,
    pending: Pending,
    bar: Option<ProgressBar>,
}

impl<W: Write> Run<'_, W> {
    fn push(&mut self, source: String, line: Option<usize>, text: String) -> Result<()> {
        self.pending.bytes += text.len();
        self.pending.docs.push((source, line, text));
        if self.pending.bytes >= CHUNK_BYTES || self.pending.docs.len() >= CHUNK_DOCS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.pending.docs.is_empty() {
            return Ok(());
        }
        let texts: Vec<&str> = self
            .pending
            .docs
            .iter()
            .map(|(_, _, t)| t.as_str())
            .collect();
        let docs = self.tagger.tag_documents(&texts)?;
        for ((source, line, text), doc) in self.pending.docs.iter().zip(&docs) {
            self.writer
                .write(
                    &Source {
                        source,
                        line: *line,
                    },
                    text,
                    doc,
                )
                .map_err(|e| Error::Io {
                    path: self.out_name.clone(),
                    source: e,
                })?;
        }
        if let Some(b) = &self.bar {
            b.inc(self.pending.bytes as u64);
        }
        self.pending.docs.clear();
        self.pending.bytes = 0;
        Ok(())
    }
}

fn not_utf8(name: &str, line: Option<usize>, offset: usize) -> String {
    match line {
        Some(l) => format!("{name}:{l}: not UTF-8 (byte {offset} of the line)"),
        None => format!("{name}: not UTF-8 at byte {offset}"),
    }
}

fn read_lines<W: Write>(
    run: &mut Run<W>,
    input: &Input,
    reader: &mut dyn BufRead,
    skip_invalid: bool,
) -> Result<()> {
    let name = input.name();
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        buf.clear();
        let read = reader.read_until(b'\n', &mut buf).map_err(|e| Error::Io {
            path: PathBuf::from(&name),
            source: e,
        })?;
        if read == 0 {
            break;
        }
        n += 1;
        if buf.ends_with(b"\n") {
            buf.pop();
            if buf.ends_with(b"\r") {
                buf.pop();
            }
        }
        match std::str::from_utf8(&buf) {
            Ok(s) => run.push(name.clone(), Some(n), s.to_string())?,
            Err(e) => {
                let msg = not_utf8(&name, Some(n), e.valid_up_to());
                if !skip_invalid {
                    return Err(Error::Input { message: msg });
                }
                eprintln!("arabic-ner: warning: {msg}; line skipped");
            }
        }
    }
    Ok(())
}

fn read_document<W: Write>(
    run: &mut Run<W>,
    input: &Input,
    reader: &mut dyn BufRead,
    size: Option<u64>,
    skip_invalid: bool,
) -> Result<()> {
    let name = input.name();
    let io_err = |e| Error::Io {
        path: PathBuf::from(&name),
        source: e,
    };
    if size.is_none_or(|s| s <= WHOLE_FILE_LIMIT) {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(io_err)?;
        return match String::from_utf8(bytes) {
            Ok(s) => run.push(name.clone(), None, s),
            Err(e) => {
                let msg = not_utf8(&name, None, e.utf8_error().valid_up_to());
                if skip_invalid {
                    eprintln!("arabic-ner: warning: {msg}; file skipped");
                    Ok(())
                } else {
                    Err(Error::Input { message: msg })
                }
            }
        };
    }
    // A very large file: parts of about 1 MB that end at line breaks, each
    // reported with the number of its first line.
    let mut part = Vec::new();
    let mut first_line = 1;
    let mut line_no = 0;
    let mut offset = 0usize;
    loop {
        let before = part.len();
        let read = reader.read_until(b'\n', &mut part).map_err(io_err)?;
        if read > 0 {
            line_no += 1;
        }
        if read == 0 || part.len() >= 1 << 20 {
            if part.is_empty() {
                break;
            }
            match String::from_utf8(std::mem::take(&mut part)) {
                Ok(s) => run.push(name.clone(), Some(first_line), s)?,
                Err(e) => {
                    let msg = not_utf8(&name, None, offset + e.utf8_error().valid_up_to());
                    if !skip_invalid {
                        return Err(Error::Input { message: msg });
                    }
                    eprintln!("arabic-ner: warning: {msg}; part skipped");
                }
            }
            offset += before + read;
            first_line = line_no + 1;
            if read == 0 {
                break;
            }
        }
    }
    Ok(())
}

pub fn run(a: TagArgs) -> Result<()> {
    let inputs = collect_inputs(&a.paths)?;
    let mut builder = a
        .labelling
        .apply(TaggerBuilder::default())
        .batch_size(a.batch_size)
        .keep_clitics(a.keep_clitics)
        .min_score(a.min_score);
    if let Some(m) = &a.model {
        builder = builder.model(m.clone());
    }
    if let Some(l) = &a.labels {
        builder = builder.labels(
            l.iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        );
    }
    if let Some(n) = a.max_length {
        builder = builder.max_pieces(n);
    }
    if let Some(n) = a.stride {
        builder = builder.stride(n);
    }
    if let Some(d) = a.reference_date {
        builder = builder.reference_date(d);
    }
    let tagger = builder.build()?;
    let labels: Vec<String> = tagger.entity_types().into_iter().collect();

    let total: u64 = inputs
        .iter()
        .filter_map(|i| match i {
            Input::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            Input::Stdin => None,
        })
        .sum();
    let bar = (std::io::stderr().is_terminal() && total > 1 << 20).then(|| {
        let b = ProgressBar::new(total);
        b.set_style(
            ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    });

    // Output goes to a temporary file beside the target and replaces it only
    // when everything succeeded, so a failure never leaves half a file. A
    // target that exists and is not a regular file (/dev/null, a pipe) is
    // written directly: renaming over it would replace the device itself.
    let special = a
        .output
        .as_ref()
        .and_then(|p| std::fs::metadata(p).ok())
        .is_some_and(|m| !m.is_file() && !m.is_dir());
    let (sink, tmp): (Box<dyn Write>, Option<tempfile::NamedTempFile>) = match &a.output {
        Some(path) if special => {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| Error::Io {
                    path: path.clone(),
                    source: e,
                })?;
            (Box::new(std::io::BufWriter::new(file)), None)
        }
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::Io {
                path: dir.to_path_buf(),
                source: e,
            })?;
            let file = tmp.reopen().map_err(|e| Error::Io {
                path: path.clone(),
                source: e,
            })?;
            (Box::new(std::io::BufWriter::new(file)), Some(tmp))
        }
        None => (
            Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            None,
        ),
    };
    let out_name = a
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("<stdout>"));
    let writer = Writer::new(sink, a.format, labels).map_err(|e| Error::Io {
        path: out_name.clone(),
        source: e,
    })?;
    let mut run = Run {
        tagger: &tagger,
        writer,
        out_name: out_name.clone(),
        pending: Pending {
            docs: Vec::new(),
            bytes: 0,
        },
        bar,
    };
    for input in &inputs {
        let (mut reader, size): (Box<dyn BufRead>, Option<u64>) = match input {
            Input::Stdin => (Box::new(BufReader::new(std::io::stdin().lock())), None),
            Input::File(p) => {
                let f = std::fs::File::open(p).map_err(|e| Error::Io {
                    path: p.clone(),
                    source: e,
                })?;
                let size = f.metadata().ok().map(|m| m.len());
                (Box::new(BufReader::with_capacity(1 << 16, f)), size)
            }
        };
        if a.lines {
            read_lines(&mut run, input, &mut reader, a.skip_invalid)?;
        } else {
            read_document(&mut run, input, &mut reader, size, a.skip_invalid)?;
        }
    }
    run.flush()?;
    if let Some(b) = &run.bar {
        b.finish_and_clear();
    }
    let sink = run.writer.finish().map_err(|e| Error::Io {
        path: out_name.clone(),
        source: e,
    })?;
    drop(sink);
    if let (Some(tmp), Some(path)) = (tmp, &a.output) {
        arabic_ner::model::weights::set_public_permissions(tmp.as_file(), path)?;
        tmp.as_file().sync_all().map_err(|e| Error::Io {
            path: path.clone(),
            source: e,
        })?;
        tmp.persist(path).map_err(|e| Error::Io {
            path: path.clone(),
            source: e.error,
        })?;
    }
    Ok(())
}

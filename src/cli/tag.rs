//! `arabic-ner tag`: files, folders or standard input to entities.

use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use arabic_ner::fs::AtomicFile;
use arabic_ner::input::{DocumentReader, Part};
use arabic_ner::output::{Format, Source, Writer};
use arabic_ner::tagger::TaggerBuilder;
use arabic_ner::values::date::Ymd;
use arabic_ner::{Error, Result, Tagger};

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
    /// Documents longer than this many bytes are read in parts that end at
    /// sentence breaks, each reported with offsets into its document.
    #[arg(long, value_name = "BYTES", default_value_t = arabic_ner::input::PART_BYTES,
          value_parser = parse_part_size)]
    part_size: usize,
    /// Follow symbolic links inside folders (loops are detected and skipped).
    #[arg(long, short = 'L')]
    follow: bool,
}

fn parse_part_size(s: &str) -> std::result::Result<usize, String> {
    let n: usize = s.parse().map_err(|e| format!("{e}"))?;
    if n < 256 {
        return Err("must be at least 256".into());
    }
    Ok(n)
}

/// One input: a file (or a named stream: a FIFO, `/dev/stdin`) or standard
/// input.
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

fn warn(msg: impl std::fmt::Display) {
    eprintln!("arabic-ner: warning: {msg}");
}

/// The inputs named on the command line, folders walked. A path given by
/// name is read whatever it is (a FIFO or `/dev/stdin` as a stream); inside
/// folders only regular `*.txt` files are read, symbolic links are followed
/// only with `follow` (loops and files met twice are skipped), and other
/// kinds of file are skipped with a warning.
fn collect_inputs(paths: &[PathBuf], follow: bool) -> Result<Vec<Input>> {
    if paths.is_empty() {
        return Ok(vec![Input::Stdin]);
    }
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for p in paths {
        if p.as_os_str() == "-" {
            out.push(Input::Stdin);
            continue;
        }
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => walk(p, follow, &mut seen, &mut out)?,
            Ok(_) => out.push(Input::File(p.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let what = if std::fs::symlink_metadata(p).is_ok() {
                    "a symbolic link to nothing"
                } else {
                    "no such file or folder"
                };
                return Err(Error::Input {
                    message: format!("{}: {what}", p.display()),
                });
            }
            Err(e) => {
                return Err(Error::Io {
                    path: p.clone(),
                    source: e,
                })
            }
        }
    }
    Ok(out)
}

fn walk(
    dir: &Path,
    follow: bool,
    seen: &mut std::collections::HashSet<(u64, u64)>,
    out: &mut Vec<Input>,
) -> Result<()> {
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(follow)
        .sort_by_file_name();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) if e.loop_ancestor().is_some() => {
                let at = e
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                warn(format_args!("{at}: a symbolic link loop, skipped"));
                continue;
            }
            // Below the folder named, what cannot be read (a link to nothing
            // or in a loop, a folder without permission) is skipped, as
            // ripgrep and find do.
            Err(e) if e.depth() > 0 => {
                let at = e
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                let why = e
                    .io_error()
                    .map(|io| io.to_string())
                    .unwrap_or_else(|| e.to_string());
                warn(format_args!("{at}: {why}, skipped"));
                continue;
            }
            Err(e) => {
                let path = e.path().unwrap_or(dir).to_path_buf();
                let source = e
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("cannot walk the folder"));
                return Err(Error::Io { path, source });
            }
        };
        let path = entry.path();
        let ft = entry.file_type();
        if ft.is_dir() {
            continue;
        }
        if path.extension().is_none_or(|e| e != "txt") {
            continue;
        }
        if ft.is_symlink() {
            // Only without `follow` (a followed link reports its target's type).
            warn(format_args!(
                "{}: a symbolic link, skipped (--follow reads links)",
                path.display()
            ));
            continue;
        }
        if !ft.is_file() {
            warn(format_args!(
                "{}: not a regular file, skipped (name it on the command line to read it)",
                path.display()
            ));
            continue;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if let Ok(m) = entry.metadata() {
                if !seen.insert((m.dev(), m.ino())) {
                    continue; // the same file reached through another link
                }
            }
        }
        out.push(Input::File(path.to_path_buf()));
    }
    #[cfg(not(unix))]
    let _ = seen;
    Ok(())
}

/// Documents waiting for the model.
struct Pending {
    docs: Vec<(String, Part)>,
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
    fn write_err(&self) -> impl Fn(std::io::Error) -> Error + '_ {
        |e| Error::Io {
            path: self.out_name.clone(),
            source: e,
        }
    }

    fn push(&mut self, source: String, part: Part) -> Result<()> {
        self.pending.bytes += part.text.len();
        self.pending.docs.push((source, part));
        if self.pending.bytes >= CHUNK_BYTES || self.pending.docs.len() >= CHUNK_DOCS {
            self.flush()?;
        }
        Ok(())
    }

    /// Tags what is pending and writes it.
    fn flush(&mut self) -> Result<()> {
        if self.pending.docs.is_empty() {
            return Ok(());
        }
        let texts: Vec<&str> = self
            .pending
            .docs
            .iter()
            .map(|(_, p)| p.text.as_str())
            .collect();
        let docs = self.tagger.tag_documents(&texts)?;
        for ((source, part), doc) in self.pending.docs.iter().zip(docs) {
            let doc = part.keep_core(doc);
            self.writer
                .write(&Source::of_part(source, part), part.core_text(), &doc)
                .map_err(self.write_err())?;
        }
        if let Some(b) = &self.bar {
            // The input read, without the neighbours' text read again.
            let read: usize = self.pending.docs.iter().map(|(_, p)| p.core.len()).sum();
            b.inc(read as u64);
        }
        self.pending.docs.clear();
        self.pending.bytes = 0;
        Ok(())
    }

    /// Tags and writes what is pending, and pushes it out to the reader of
    /// the output (a line-by-line filter in a pipeline).
    fn flush_through(&mut self) -> Result<()> {
        self.flush()?;
        self.writer.flush().map_err(self.write_err())
    }

    /// Reads one input to its end. A stream (a pipe, a terminal, a FIFO)
    /// may wait for its writer: whenever nothing more is buffered, what was
    /// read so far is tagged and written out (a line-by-line filter). A
    /// regular file never waits, and is tagged in full batches.
    fn read(
        &mut self,
        name: String,
        reader: Box<dyn Read>,
        stream: bool,
        a: &TagArgs,
    ) -> Result<()> {
        let mut docs = DocumentReader::new(reader, name.clone(), a.lines, a.skip_invalid)
            .with_part_bytes(a.part_size);
        while let Some(part) = docs.next_part()? {
            self.push(name.clone(), part)?;
            if stream && docs.is_waiting() {
                self.flush_through()?;
            }
        }
        Ok(())
    }
}

/// Whether standard input is a regular file (`< file`), which never waits.
fn is_regular(stdin: &std::io::Stdin) -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        stdin
            .as_fd()
            .try_clone_to_owned()
            .ok()
            .map(std::fs::File::from)
            .and_then(|f| f.metadata().ok())
            .is_some_and(|m| m.is_file())
    }
    #[cfg(not(unix))]
    {
        let _ = stdin;
        false
    }
}

/// Standard output, checked: if the process was started with it closed, the
/// runtime put `/dev/null` there, and writing would lose everything silently.
fn stdout_file() -> Result<std::fs::File> {
    let err = |source| Error::Io {
        path: PathBuf::from("<stdout>"),
        source,
    };
    if crate::STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(err(std::io::Error::other("standard output is closed")));
    }
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let fd = std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map_err(err)?;
        Ok(std::fs::File::from(fd))
    }
    #[cfg(windows)]
    {
        use std::os::windows::io::AsHandle;
        let h = std::io::stdout()
            .as_handle()
            .try_clone_to_owned()
            .map_err(err)?;
        Ok(std::fs::File::from(h))
    }
}

/// Closes a file and reports what the close reports (a write that failed
/// late, on a network file system say).
fn close_checked(file: std::fs::File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::fd::IntoRawFd;
        let fd = file.into_raw_fd();
        // SAFETY: `fd` was just released by its owner and is closed once.
        if unsafe { libc::close(fd) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        drop(file);
        Ok(())
    }
}

/// Where the output goes.
enum Sink {
    /// Standard output, or an existing special file (`/dev/null`, a FIFO)
    /// written in place.
    Direct(std::fs::File),
    Atomic(AtomicFile),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Direct(f) => f.write(buf),
            Sink::Atomic(f) => f.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Direct(f) => f.flush(),
            Sink::Atomic(f) => f.flush(),
        }
    }
}

fn open_sink(output: Option<&Path>) -> Result<Sink> {
    let Some(path) = output else {
        return Ok(Sink::Direct(stdout_file()?));
    };
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    // A target that exists and is not a regular file (/dev/null, a pipe) is
    // written directly: renaming over it would replace the device itself.
    let special = std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir());
    if special {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io_err)?;
        return Ok(Sink::Direct(f));
    }
    Ok(Sink::Atomic(AtomicFile::create(path)?))
}

/// Finishes the output: everything flushed and closed, and a file written
/// with `--output` put in place. Any failure here is an error.
fn close_sink(sink: Sink, name: &Path) -> Result<()> {
    let io_err = |source| Error::Io {
        path: name.to_path_buf(),
        source,
    };
    match sink {
        Sink::Direct(f) => close_checked(f).map_err(io_err),
        Sink::Atomic(f) => f.commit().map(|_| ()),
    }
}

pub fn run(a: TagArgs) -> Result<()> {
    let inputs = collect_inputs(&a.paths, a.follow)?;
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
    // when everything succeeded, so a failure never leaves half a file; on
    // Ctrl-C or a termination signal the temporary file is removed.
    let sink = open_sink(a.output.as_deref())?;
    if matches!(sink, Sink::Atomic(_)) {
        let _ = ctrlc::set_handler(|| {
            arabic_ner::fs::remove_registered();
            std::process::exit(arabic_ner::error::exit::INTERRUPTED);
        });
    }
    let out_name = a
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("<stdout>"));
    let writer =
        Writer::new(BufWriter::with_capacity(1 << 16, sink), a.format, labels).map_err(|e| {
            Error::Io {
                path: out_name.clone(),
                source: e,
            }
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
        let (reader, stream): (Box<dyn Read>, bool) = match input {
            Input::Stdin => {
                let stdin = std::io::stdin();
                let stream = !is_regular(&stdin);
                (Box::new(stdin.lock()), stream)
            }
            Input::File(p) => {
                let f = std::fs::File::open(p).map_err(|e| Error::Io {
                    path: p.clone(),
                    source: e,
                })?;
                let stream = f.metadata().map_or(true, |m| !m.is_file());
                (Box::new(f), stream)
            }
        };
        run.read(input.name(), reader, stream, &a)?;
    }
    run.flush()?;
    if let Some(b) = &run.bar {
        b.finish_and_clear();
    }
    let io_err = |e| Error::Io {
        path: out_name.clone(),
        source: e,
    };
    let sink = run
        .writer
        .finish()
        .map_err(io_err)?
        .into_inner()
        .map_err(|e| io_err(e.into_error()))?;
    close_sink(sink, &out_name)
}

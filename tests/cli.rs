//! The `arabic-ner` command, run as a process on the oracle model.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;

use common::{ModelSpec, LABELS};

const BIN: &str = env!("CARGO_BIN_EXE_arabic-ner");

const FIRST: &str = "زار سمير الخطيب بغداد يوم 13 يناير 2022 ثم عاد إلى لبنان.";
const SECOND: &str = "تحدث الوزير عن العلاقات بين مصر وفرنسا.";

/// A work folder with the oracle model in `model/`.
struct Setup {
    dir: TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        ModelSpec::oracle().write(&dir.path().join("model"));
        Setup { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn model(&self) -> String {
        self.path("model").display().to_string()
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Runs `arabic-ner` with these arguments and standard input.
    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("ARABIC_NER_MODEL")
            .env("HF_HUB_OFFLINE", "1")
            .env("HF_HOME", self.path("hf-home"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("arabic-ner starts");
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    }

    /// `arabic-ner tag --model <oracle> ARGS`.
    fn tag(&self, args: &[&str], stdin: &[u8]) -> Output {
        let model = self.model();
        let mut all = vec!["tag", "--model", model.as_str()];
        all.extend_from_slice(args);
        self.run(&all, stdin)
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_ok(o: &Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "exit {:?}, stderr: {}",
        o.status,
        stderr(o)
    );
}

fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {} stderr: {}",
        stdout(o),
        stderr(o)
    );
}

/// JSON Lines output as values.
fn jsonl(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `(label, text)` of the entities of a JSON document.
fn entity_pairs(doc: &Value) -> Vec<(String, String)> {
    doc["entities"]
        .as_array()
        .expect("entities array")
        .iter()
        .map(|e| {
            (
                e["label"].as_str().unwrap().to_string(),
                e["text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn first_entities() -> Vec<(String, String)> {
    pairs(&[
        ("PER", "سمير الخطيب"),
        ("LOC", "بغداد"),
        ("DATE", "يوم 13 يناير 2022"),
        ("LOC", "لبنان"),
    ])
}

#[test]
fn jsonl_and_json() {
    let s = Setup::new();
    let input = s.write("in.txt", format!("{FIRST}\n{SECOND}\n"));
    let input = input.to_str().unwrap();

    let out = s.tag(&[input], b"");
    assert_ok(&out);
    let docs = jsonl(&out);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["source"], input);
    assert!(docs[0].get("line").is_none());
    let mut want = first_entities();
    want.extend(pairs(&[("LOC", "مصر"), ("LOC", "فرنسا")]));
    assert_eq!(entity_pairs(&docs[0]), want);
    let e = &docs[0]["entities"];
    assert_eq!(e[2]["value"], "2022-01-13");
    assert_eq!(e[3]["country"], "LB");
    assert_eq!(e[5]["country"], "FR");
    // Offsets are characters of the file's text.
    let text = format!("{FIRST}\n{SECOND}\n");
    for ent in e.as_array().unwrap() {
        let (start, end) = (
            ent["start"].as_u64().unwrap() as usize,
            ent["end"].as_u64().unwrap() as usize,
        );
        let slice: String = text.chars().skip(start).take(end - start).collect();
        assert_eq!(slice, ent["text"].as_str().unwrap());
        let (bs, be) = (
            ent["byte_start"].as_u64().unwrap() as usize,
            ent["byte_end"].as_u64().unwrap() as usize,
        );
        assert_eq!(&text[bs..be], ent["text"].as_str().unwrap());
    }

    let out = s.tag(&["--format", "json", input, input], b"");
    assert_ok(&out);
    let v: Value = serde_json::from_str(&stdout(&out)).expect("json output parses");
    let arr = v.as_array().expect("an array of documents");
    assert_eq!(arr.len(), 2);
    assert_eq!(entity_pairs(&arr[1]), want);

    // No input document at all still gives valid JSON.
    let empty = s.write("empty-dir/none.md", "");
    let out = s.tag(
        &[
            "--format",
            "json",
            empty.parent().unwrap().to_str().unwrap(),
        ],
        b"",
    );
    assert_ok(&out);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v, serde_json::json!([]));
}

#[test]
fn conll_tsv_html_inline() {
    let s = Setup::new();
    let input = s.write("in.txt", format!("{FIRST}\n{SECOND}\n"));
    let input = input.to_str().unwrap();

    // CoNLL: two columns, a blank line after each sentence.
    let out = s.tag(&["--format", "conll", input], b"");
    assert_ok(&out);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.iter().filter(|l| l.is_empty()).count(), 2, "{text}");
    assert!(lines.last().unwrap().is_empty());
    let rows: Vec<Vec<&str>> = lines
        .iter()
        .filter(|l| !l.is_empty())
        .map(|l| l.split(' ').collect())
        .collect();
    assert!(rows.iter().all(|r| r.len() == 2), "{text}");
    assert!(rows.iter().all(|r| LABELS.contains(&r[1])), "{text}");
    let words: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    let want: Vec<&str> = FIRST
        .trim_end_matches('.')
        .split(' ')
        .chain(["."])
        .collect();
    assert_eq!(&words[..want.len()], &want[..]);
    assert_eq!(rows[1], ["سمير", "B-PER"]);
    assert_eq!(rows[2], ["الخطيب", "I-PER"]);
    // The word keeps its clitic: CoNLL labels words, not spans.
    assert!(rows.contains(&vec!["وفرنسا", "B-LOC"]));

    // TSV: the header, then one row of nine fields per entity.
    let out = s.tag(&["--format", "tsv", input], b"");
    assert_ok(&out);
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "source\tline\tstart\tend\tlabel\tscore\ttext\tcountry\tvalue"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 6);
    for r in &rows {
        assert_eq!(r.len(), 9, "{r:?}");
        assert_eq!(r[0], input);
        assert_eq!(r[1], "");
        let (a, b): (usize, usize) = (r[2].parse().unwrap(), r[3].parse().unwrap());
        assert!(a < b);
        let score: f32 = r[5].parse().unwrap();
        assert!(score > 0.9 && score <= 1.0);
    }
    assert_eq!(rows[0][4..7], ["PER", rows[0][5], "سمير الخطيب"]);
    assert_eq!(rows[2][8], "2022-01-13");
    assert_eq!(rows[3][7], "LB");

    // HTML: right to left, one mark per entity, escaped.
    s.write("html.txt", "سمير الخطيب <b> & بغداد");
    let out = s.tag(&["--format", "html", "html.txt", input], b"");
    assert_ok(&out);
    let html = stdout(&out);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("dir=\"rtl\""));
    assert!(html.trim_end().ends_with("</html>"));
    assert_eq!(
        html.matches("<mark class=\"e-").count() - 4,
        2 + 6,
        "{html}"
    );
    assert!(html.contains("<mark class=\"e-PER\" title=\"PER "));
    assert!(html.contains("&lt;b&gt; &amp; "));
    assert!(!html.contains("<b>"));
    assert!(html.contains("value=2022-01-13"));

    // Inline: brackets around entities, the rest untouched.
    let out = s.tag(&["--format", "inline", "--lines", input], b"");
    assert_ok(&out);
    assert_eq!(
        stdout(&out),
        "زار [سمير الخطيب](PER) [بغداد](LOC) [يوم 13 يناير 2022](DATE) ثم عاد إلى [لبنان](LOC).\n\
         تحدث الوزير عن العلاقات بين [مصر](LOC) و[فرنسا](LOC).\n"
    );

    // An unknown format is a usage error.
    let out = s.tag(&["--format", "xml", input], b"");
    assert_exit(&out, 2);
}

#[test]
fn standard_input_and_lines() {
    let s = Setup::new();
    let input = format!("{FIRST}\r\n\r\n{SECOND}\n");
    for args in [vec![], vec!["-"]] {
        let out = s.tag(&args, input.as_bytes());
        assert_ok(&out);
        let docs = jsonl(&out);
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0]["source"], "-");
        assert_eq!(entity_pairs(&docs[0]).len(), 6);
    }

    let out = s.tag(&["--lines", "-"], input.as_bytes());
    assert_ok(&out);
    let docs = jsonl(&out);
    let lines: Vec<u64> = docs.iter().map(|d| d["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [1, 2, 3]);
    assert_eq!(entity_pairs(&docs[0]), first_entities());
    assert!(entity_pairs(&docs[1]).is_empty());
    assert_eq!(
        entity_pairs(&docs[2]),
        pairs(&[("LOC", "مصر"), ("LOC", "فرنسا")])
    );
    // Offsets count from the start of each line.
    assert_eq!(docs[2]["entities"][0]["start"], 28);

    // A file and standard input together, in order.
    let f = s.write("a.txt", SECOND);
    let out = s.tag(&["--lines", f.to_str().unwrap(), "-"], FIRST.as_bytes());
    assert_ok(&out);
    let docs = jsonl(&out);
    let sources: Vec<&str> = docs.iter().map(|d| d["source"].as_str().unwrap()).collect();
    assert_eq!(sources, [f.to_str().unwrap(), "-"]);
}

#[test]
fn folders_are_walked_for_txt_files() {
    let s = Setup::new();
    s.write("docs/b.txt", SECOND);
    s.write("docs/a.txt", FIRST);
    s.write("docs/sub/deeper/c.txt", "عاد الوزير إلى لبنان.");
    s.write("docs/notes.md", FIRST);
    s.write("docs/sub/data.json", "{}");
    let out = s.tag(&["docs"], b"");
    assert_ok(&out);
    let docs = jsonl(&out);
    let sources: Vec<String> = docs
        .iter()
        .map(|d| d["source"].as_str().unwrap().replace('\\', "/"))
        .collect();
    assert_eq!(
        sources,
        ["docs/a.txt", "docs/b.txt", "docs/sub/deeper/c.txt"]
    );
    assert_eq!(entity_pairs(&docs[0]), first_entities());
    assert_eq!(entity_pairs(&docs[2]), pairs(&[("LOC", "لبنان")]));
}

#[test]
fn unreadable_input_fails_with_exit_3() {
    let s = Setup::new();
    let good = s.write("good.txt", FIRST);
    let missing = s.path("missing/nowhere.txt");
    let out = s.tag(&[missing.to_str().unwrap()], b"");
    assert_exit(&out, 3);
    assert!(
        stderr(&out).contains(missing.to_str().unwrap()),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());

    // Not UTF-8: the file and byte offset are named.
    let mut bytes = "زار سمير".as_bytes().to_vec();
    let offset = bytes.len();
    bytes.extend_from_slice(b"\xff\xfe ");
    bytes.extend_from_slice("بغداد".as_bytes());
    let bad = s.write("bad.txt", &bytes);
    let out = s.tag(&[bad.to_str().unwrap()], b"");
    assert_exit(&out, 3);
    let err = stderr(&out);
    assert!(err.contains(bad.to_str().unwrap()), "{err}");
    assert!(err.contains(&format!("byte {offset}")), "{err}");

    // With --lines the line is named too.
    let lined = s.write(
        "lined.txt",
        [FIRST.as_bytes(), b"\n", &bytes, b"\n"].concat(),
    );
    let out = s.tag(&["--lines", lined.to_str().unwrap()], b"");
    assert_exit(&out, 3);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{}:2:", lined.display())) && err.contains(&format!("byte {offset}")),
        "{err}"
    );

    // --skip-invalid warns, goes on, and succeeds.
    let out = s.tag(
        &[
            "--skip-invalid",
            bad.to_str().unwrap(),
            good.to_str().unwrap(),
        ],
        b"",
    );
    assert_ok(&out);
    assert!(stderr(&out).contains("warning"), "{}", stderr(&out));
    assert!(stderr(&out).contains(bad.to_str().unwrap()));
    let docs = jsonl(&out);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["source"], good.to_str().unwrap());
    let out = s.tag(&["--skip-invalid", "--lines", lined.to_str().unwrap()], b"");
    assert_ok(&out);
    let docs = jsonl(&out);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["line"], 1);
}

#[test]
fn bad_model_fails_with_exit_4() {
    let s = Setup::new();
    let input = s.write("in.txt", FIRST);
    let input = input.to_str().unwrap();
    let run = |model: &str| s.run(&["tag", "--model", model, input], b"");

    let out = run(s.path("no-such-model").to_str().unwrap());
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("no-such-model"));

    let empty = s.path("empty-model");
    std::fs::create_dir_all(&empty).unwrap();
    let out = run(empty.to_str().unwrap());
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("no config.json"), "{}", stderr(&out));

    let broken = s.path("broken-model");
    ModelSpec::oracle().write(&broken);
    std::fs::write(broken.join("model.safetensors"), b"\x10\x00\x00").unwrap();
    let out = run(broken.to_str().unwrap());
    assert_exit(&out, 4);
    let err = stderr(&out);
    assert!(
        err.contains("model.safetensors") && err.contains("not a valid safetensors"),
        "{err}"
    );
    // One line, no panic.
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"));

    for broken in common::Broken::ALL {
        let dir = broken.build();
        let out = run(dir.path().to_str().unwrap());
        assert_exit(&out, 4);
        let err = stderr(&out);
        let (file, problem) = broken.expected();
        let named = match file {
            Some(f) => dir.path().join(f),
            None => dir.path().to_path_buf(),
        };
        assert!(
            err.contains(&named.display().to_string()) && err.contains(problem),
            "{broken:?}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }

    // An id that is not in the (empty, offline) cache.
    let out = run("some-org/some-model");
    assert_exit(&out, 4);
    assert!(stderr(&out).contains("some-org/some-model"));

    // An ensemble member with other labels, and a good one.
    let member = s.path("member");
    ModelSpec::oracle().write(&member);
    let mut cfg = common::read_config(&member);
    cfg["id2label"]["1"] = "B-MISC".into();
    common::write_config(&member, &cfg);
    let member = member.to_str().unwrap();
    let out = s.tag(&["--ensemble", member, input], b"");
    assert_exit(&out, 4);
    let err = stderr(&out);
    assert!(err.contains(member) && err.contains("labels"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    ModelSpec::oracle().write(Path::new(member));
    assert_ok(&s.tag(&["--ensemble", member, input], b""));
}

#[test]
fn output_file_is_replaced_only_on_success() {
    let s = Setup::new();
    let good = s.write("in/good.txt", FIRST);
    let mut bytes = FIRST.as_bytes().to_vec();
    bytes.push(0xC3);
    let bad = s.write("in/bad.txt", &bytes);
    let target = s.write("out/result.jsonl", "previous contents\n");
    let listing = || {
        let mut v: Vec<String> = std::fs::read_dir(s.path("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };

    let out = s.tag(
        &[
            "--output",
            target.to_str().unwrap(),
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
        b"",
    );
    assert_exit(&out, 3);
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "previous contents\n"
    );
    assert_eq!(listing(), ["result.jsonl"], "a temporary file was left");
    assert!(stdout(&out).is_empty());

    let out = s.tag(
        &[
            "-o",
            target.to_str().unwrap(),
            "--format",
            "json",
            good.to_str().unwrap(),
        ],
        b"",
    );
    assert_ok(&out);
    assert!(stdout(&out).is_empty());
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(entity_pairs(&v[0]), first_entities());
    assert_eq!(listing(), ["result.jsonl"]);

    // A new file in a folder that exists.
    let fresh = s.path("out/new.tsv");
    let out = s.tag(
        &["-o", fresh.to_str().unwrap(), "-f", "tsv", "-"],
        FIRST.as_bytes(),
    );
    assert_ok(&out);
    assert_eq!(std::fs::read_to_string(&fresh).unwrap().lines().count(), 5);
}

/// Runs `child` to its end, failing the test (and killing it) after `secs`.
fn wait_or_kill(mut child: std::process::Child, secs: u64) -> Output {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("still running after {secs} s; stderr: {}", stderr(&out));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

impl Setup {
    /// `arabic-ner tag --model <oracle> ARGS` started with standard input
    /// and output piped.
    fn spawn_tag(&self, args: &[&str]) -> std::process::Child {
        Command::new(BIN)
            .args(["tag", "--model", &self.model()])
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("ARABIC_NER_MODEL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("arabic-ner starts")
    }
}

/// Entities of JSON Lines records as `(label, text, byte_start, byte_end,
/// start, end)`, checked against `input`: each text is the slice of the input
/// at its byte and character offsets.
fn placed_entities(docs: &[Value], input: &str) -> Vec<(String, String, u64, u64)> {
    let chars: Vec<char> = input.chars().collect();
    let mut v = Vec::new();
    for d in docs {
        for e in d["entities"].as_array().unwrap() {
            let (bs, be) = (
                e["byte_start"].as_u64().unwrap(),
                e["byte_end"].as_u64().unwrap(),
            );
            let (cs, ce) = (e["start"].as_u64().unwrap(), e["end"].as_u64().unwrap());
            let text = e["text"].as_str().unwrap();
            assert_eq!(&input[bs as usize..be as usize], text);
            let by_chars: String = chars[cs as usize..ce as usize].iter().collect();
            assert_eq!(by_chars, text);
            v.push((
                e["label"].as_str().unwrap().to_string(),
                text.to_string(),
                bs,
                be,
            ));
        }
    }
    v
}

#[test]
fn long_documents_are_read_in_parts_with_offsets_into_the_document() {
    let s = Setup::new();
    // No line break at all, and characters beyond the BMP before each
    // sentence, so that byte and character offsets differ.
    let input = format!("😀 {FIRST} {SECOND} ").repeat(40);
    let f = s.write("long.txt", &input);
    let whole = s.tag(&[f.to_str().unwrap()], b"");
    assert_ok(&whole);
    let whole_docs = jsonl(&whole);
    assert_eq!(whole_docs.len(), 1);
    assert!(whole_docs[0].get("part").is_none());
    let expected = placed_entities(&whole_docs, &input);
    assert_eq!(expected.len(), 40 * 6);

    for args in [
        vec!["--part-size", "1000", f.to_str().unwrap()],
        vec!["--part-size", "1000", "-"],
    ] {
        let out = s.tag(&args, input.as_bytes());
        assert_ok(&out);
        let docs = jsonl(&out);
        assert!(docs.len() >= input.len() / 1000, "{} parts", docs.len());
        let parts: Vec<u64> = docs.iter().map(|d| d["part"].as_u64().unwrap()).collect();
        assert_eq!(parts, (1..=docs.len() as u64).collect::<Vec<_>>());
        assert_eq!(placed_entities(&docs, &input), expected);
    }

    // The same through --lines: a line longer than a part keeps its number.
    let lined = format!("{FIRST}\n{input}\n{SECOND}\n");
    let out = s.tag(&["--lines", "--part-size", "1000", "-"], lined.as_bytes());
    assert_ok(&out);
    let docs = jsonl(&out);
    let long: Vec<Value> = docs.iter().filter(|d| d["line"] == 2).cloned().collect();
    assert!(long.len() > 5);
    assert_eq!(placed_entities(&long, &input), expected);
    assert_eq!(docs.last().unwrap()["line"], 3);

    // Inline output of the parts is the input, marked.
    let out = s.tag(
        &["--part-size", "1000", "-f", "inline", f.to_str().unwrap()],
        b"",
    );
    assert_ok(&out);
    let unmarked = stdout(&out)
        .replace("](PER)", "")
        .replace("](LOC)", "")
        .replace("](DATE)", "")
        .replace('[', "");
    assert_eq!(unmarked.trim_end(), input.trim_end());
}

#[test]
fn a_line_filter_answers_each_line_before_the_next_arrives() {
    use std::io::{BufRead, BufReader};
    let s = Setup::new();
    let mut child = s.spawn_tag(&["--lines"]);
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout_pipe = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout_pipe).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    for (i, text) in [FIRST, SECOND].iter().enumerate() {
        writeln!(stdin, "{text}").unwrap();
        stdin.flush().unwrap();
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no answer to line {} while the input stays open", i + 1));
        let v: Value = serde_json::from_str(&got).unwrap();
        assert_eq!(v["line"], i as u64 + 1);
    }
    drop(stdin);
    let out = wait_or_kill(child, 60);
    assert_ok(&out);
}

#[test]
fn closed_standard_output_is_an_error() {
    let s = Setup::new();
    let f = s.write("a.txt", FIRST);
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec '{BIN}' tag --model '{}' '{}' >&-",
            s.model(),
            f.display()
        ))
        .output()
        .unwrap();
    assert_exit(&out, 5);
    assert!(
        stderr(&out).contains("standard output is closed"),
        "{}",
        stderr(&out)
    );
    // A write to /dev/null asked for by a redirection is fine.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec '{BIN}' tag --model '{}' '{}' > /dev/null",
            s.model(),
            f.display()
        ))
        .output()
        .unwrap();
    assert_ok(&out);
    // A full device fails with the system error, not a silent exit 0.
    let out = s.tag(&["-o", "/dev/full", f.to_str().unwrap()], b"");
    assert_exit(&out, 5);
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec '{BIN}' tag --model '{}' '{}' > /dev/full",
            s.model(),
            f.display()
        ))
        .output()
        .unwrap();
    assert_exit(&out, 5);
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

#[test]
fn folders_skip_links_loops_and_special_files() {
    let s = Setup::new();
    s.write("docs/a.txt", FIRST);
    s.write("docs/sub/b.txt", SECOND);
    let docs = s.path("docs");
    std::os::unix::fs::symlink("..", docs.join("sub/up")).unwrap();
    std::os::unix::fs::symlink("loop2", docs.join("loop1")).unwrap();
    std::os::unix::fs::symlink("loop1", docs.join("loop2")).unwrap();
    std::os::unix::fs::symlink("a.txt", docs.join("alias.txt")).unwrap();
    mkfifo(&docs.join("pipe.txt"));

    let child = s.spawn_tag(&["docs"]);
    let out = wait_or_kill(child, 120);
    assert_ok(&out);
    let sources: Vec<String> = jsonl(&out)
        .iter()
        .map(|d| d["source"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sources, ["docs/a.txt", "docs/sub/b.txt"]);
    let err = stderr(&out);
    assert!(err.contains("docs/pipe.txt: not a regular file"), "{err}");
    assert!(err.contains("docs/alias.txt: a symbolic link"), "{err}");

    // Following links: the loop back to a parent is skipped, and a file
    // reached twice is read once.
    let child = s.spawn_tag(&["--follow", "docs"]);
    let out = wait_or_kill(child, 120);
    assert_ok(&out);
    let sources: Vec<String> = jsonl(&out)
        .iter()
        .map(|d| d["source"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(sources, ["docs/a.txt", "docs/sub/b.txt"]);
    assert!(stderr(&out).contains("loop"), "{}", stderr(&out));
}

#[test]
fn named_streams_are_read() {
    let s = Setup::new();
    let fifo = s.path("stream");
    mkfifo(&fifo);
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || std::fs::write(writer_path, FIRST).unwrap());
    let child = s.spawn_tag(&[fifo.to_str().unwrap()]);
    let out = wait_or_kill(child, 120);
    writer.join().unwrap();
    assert_ok(&out);
    assert_eq!(entity_pairs(&jsonl(&out)[0]), first_entities());

    let out = s.tag(&["/dev/stdin"], SECOND.as_bytes());
    assert_ok(&out);
    assert_eq!(jsonl(&out)[0]["source"], "/dev/stdin");
    assert_eq!(entity_pairs(&jsonl(&out)[0]).len(), 2);
}

#[test]
fn output_follows_links_and_respects_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let s = Setup::new();
    let f = s.write("in.txt", FIRST);
    let real = s.write("out/real.jsonl", "old\n");
    let link = s.path("out/link.jsonl");
    std::os::unix::fs::symlink("real.jsonl", &link).unwrap();
    let out = s.tag(&["-o", link.to_str().unwrap(), f.to_str().unwrap()], b"");
    assert_ok(&out);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&real).unwrap().contains("سمير"));

    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o444)).unwrap();
    let out = s.tag(&["-o", real.to_str().unwrap(), f.to_str().unwrap()], b"");
    assert_exit(&out, 5);
    assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o444
    );
    let entries = std::fs::read_dir(s.path("out")).unwrap().count();
    assert_eq!(entries, 2, "a temporary file was left");
}

#[test]
fn a_signal_removes_the_temporary_output_and_a_later_run_removes_stale_ones() {
    let s = Setup::new();
    std::fs::create_dir_all(s.path("out")).unwrap();
    let target = s.path("out/result.jsonl");
    // Left by a run that was killed (no process has that id).
    let stale = s.path("out/.result.jsonl.4000000000.Ab12Cd.tmp");
    std::fs::write(&stale, "half").unwrap();
    let listing = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(s.path("out"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // Reading standard input that stays open: the output is unfinished.
        let child = s.spawn_tag(&["-o", target.to_str().unwrap(), "-"]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !listing()
            .iter()
            .any(|n| n.contains(&format!(".{}.", child.id())))
        {
            assert!(
                std::time::Instant::now() < deadline,
                "no temporary file: {:?}",
                listing()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(!stale.exists(), "the stale file of a dead run is removed");
        // SAFETY: sends a signal to the child just started.
        unsafe { libc::kill(child.id() as i32, signal) };
        let out = wait_or_kill(child, 60);
        assert_exit(&out, 130);
        assert!(listing().is_empty(), "left behind: {:?}", listing());
    }
}

#[test]
fn empty_input_gives_no_entities() {
    let s = Setup::new();
    let out = s.tag(&[], b"");
    assert_ok(&out);
    for d in jsonl(&out) {
        assert!(entity_pairs(&d).is_empty());
    }
    let empty = s.write("empty.txt", "");
    let blank = s.write("blank.txt", "\n \n\t\n");
    for format in ["jsonl", "tsv", "conll", "inline"] {
        let out = s.tag(
            &[
                "-f",
                format,
                empty.to_str().unwrap(),
                blank.to_str().unwrap(),
            ],
            b"",
        );
        assert_ok(&out);
        let text = stdout(&out);
        match format {
            "jsonl" => {
                let docs = jsonl(&out);
                assert_eq!(docs.len(), 2);
                assert!(docs.iter().all(|d| entity_pairs(d).is_empty()));
            }
            "tsv" => assert_eq!(text.lines().count(), 1, "{text}"),
            "conll" => assert!(text.trim().is_empty(), "{text:?}"),
            _ => assert!(!text.contains('['), "{text:?}"),
        }
    }
    let out = s.tag(&["--lines"], b"");
    assert_ok(&out);
    assert!(stdout(&out).is_empty());
}

#[test]
fn options_reach_the_tagger() {
    let s = Setup::new();
    let input = s.write("in.txt", format!("{FIRST}\n{SECOND}"));
    let input = input.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = extra.to_vec();
        args.push(input);
        let out = s.tag(&args, b"");
        assert_ok(&out);
        entity_pairs(&jsonl(&out)[0])
    };
    assert_eq!(
        run(&["--labels", "COUNTRY"]),
        pairs(&[("LOC", "لبنان"), ("LOC", "مصر"), ("LOC", "فرنسا")])
    );
    assert_eq!(
        run(&["--labels", "PER,DATE"]),
        pairs(&[("PER", "سمير الخطيب"), ("DATE", "يوم 13 يناير 2022")])
    );
    assert_eq!(run(&["--keep-clitics"])[5], ("LOC".into(), "وفرنسا".into()));
    assert!(run(&["--min-score", "1.5"]).is_empty());
    assert_eq!(
        run(&["--max-length", "3", "--stride", "1", "--batch-size", "2"]),
        run(&[])
    );
}

const CONLL: &str = "\
زار O
سمير B-PER
الخطيب I-PER
بغداد B-LOC
يوم B-DATE
13 I-DATE
يناير I-DATE
2022 I-DATE
. O

أعلنت O
شركة B-ORG
النور I-ORG
للطيران I-ORG
إلى O
كندا B-LOC
. O

وصل O
الوزير O
إلى O
القاهرة O
";

#[test]
fn eval_scores_per_type_and_writes_predictions() {
    let s = Setup::new();
    let data = s.write("gold.txt", CONLL);
    let model = s.model();
    let preds = s.path("pred.txt");
    let out = s.run(
        &[
            "eval",
            "--model",
            &model,
            "--data",
            data.to_str().unwrap(),
            "--write-predictions",
            preds.to_str().unwrap(),
        ],
        b"",
    );
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.contains("3 sentences, 20 words"), "{text}");
    let row = |name: &str| -> Vec<String> {
        text.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row in {text}"))
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    assert_eq!(row("PER"), ["PER", "1.0000", "1.0000", "1.0000", "1"]);
    assert_eq!(row("ORG"), ["ORG", "1.0000", "1.0000", "1.0000", "1"]);
    assert_eq!(row("DATE"), ["DATE", "1.0000", "1.0000", "1.0000", "1"]);
    assert_eq!(row("LOC"), ["LOC", "0.5000", "0.5000", "0.5000", "2"]);
    assert_eq!(
        row("micro avg"),
        ["micro", "avg", "0.8000", "0.8000", "0.8000", "5"]
    );

    let written = std::fs::read_to_string(&preds).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), 20 + 3);
    assert_eq!(lines[1], "سمير B-PER B-PER");
    assert!(lines.contains(&"كندا B-LOC O"), "{written}");
    assert!(lines.contains(&"القاهرة O B-LOC"), "{written}");
    assert!(lines
        .iter()
        .all(|l| l.is_empty() || l.split(' ').count() == 3));

    // JSON scores, and a label map on the data.
    let mapped = s.write(
        "gold-pers.txt",
        CONLL.replace("-PER", "-PERS").replace("-DATE", "-TIME"),
    );
    let out = s.run(
        &[
            "eval",
            "--model",
            &model,
            "--data",
            mapped.to_str().unwrap(),
            "--map",
            "PERS=PER,TIME=O",
            "--json",
        ],
        b"",
    );
    assert_ok(&out);
    let v: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["per_type"]["PER"]["f1"], 1.0);
    assert_eq!(v["per_type"]["LOC"]["recall"], 0.5);
    // DATE is mapped away in the data, so it is not scored.
    assert!(v["per_type"].get("DATE").is_none(), "{v}");
    assert!(v["per_type"].get("PERS").is_none(), "{v}");
    let micro = v["micro"]["f1"].as_f64().unwrap();
    assert!((micro - 0.75).abs() < 1e-9, "{v}");

    // Malformed data names the file and line.
    let bad = s.write("bad.txt", "زار O\nسمير\n");
    let out = s.run(
        &["eval", "--model", &model, "--data", bad.to_str().unwrap()],
        b"",
    );
    assert_exit(&out, 3);
    assert!(
        stderr(&out).contains(&format!("{}:2:", bad.display())),
        "{}",
        stderr(&out)
    );
}

/// The oracle loads through a path with spaces and non-ASCII letters.
#[test]
fn model_path_with_spaces_and_arabic() {
    let s = Setup::new();
    let odd: &Path = &s.path("نموذج تجريبي");
    ModelSpec::oracle().write(odd);
    let out = s.run(
        &["tag", "--model", odd.to_str().unwrap(), "-"],
        FIRST.as_bytes(),
    );
    assert_ok(&out);
    assert_eq!(entity_pairs(&jsonl(&out)[0]), first_entities());
}

#[test]
fn pretrain_writes_a_base_and_names_bad_text() {
    let s = Setup::new();
    let text = s.write(
        "news.txt",
        "زار سمير الخطيب بغداد .\nعاد الرئيس من موسكو .\n",
    );
    let (model, text) = (s.model(), text.to_str().unwrap().to_string());
    let args = |out: &str, text: &str| {
        let mut a = vec!["pretrain", "--base", model.as_str(), "--out", out];
        if !text.is_empty() {
            a.extend(["--text", text]);
        }
        a.extend(["--epochs", "2", "--head-steps", "1"]);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |a: Vec<String>| s.run(&a.iter().map(String::as_str).collect::<Vec<_>>(), b"");

    let out = run(args("adapted", &text));
    assert_ok(&out);
    assert!(stderr(&out).contains("epoch 2: loss"), "{}", stderr(&out));
    assert_eq!(
        common::read_config(&s.path("adapted"))["architectures"][0],
        "BertForMaskedLM"
    );

    let out = run(args("none", ""));
    assert_exit(&out, 2);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));

    let bad = s.write("bad.txt", b"\xd8\xb2\xd8\xa7\xd8\xb1\n\xff\n");
    let out = run(args("bad", bad.to_str().unwrap()));
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("bad.txt:2"), "{}", stderr(&out));
    assert!(!s.path("bad").join("config.json").exists());
}

/// The oracle's words in CoNLL-2003 layout: document lines, then
/// `word POS chunk NER`, tags in IOB1 as the original files have them.
const CONLL_2003: &str = "-DOCSTART- -X- -X- O\n\n\
زار VBD B-VP O\nسمير NNP B-NP I-PER\nالخطيب NNP I-NP I-PER\nفرنسا NNP B-NP I-LOC\n. . O O\n\n\
-DOCSTART- -X- -X- O\n\n\
وصل VBD B-VP O\nالرئيس NN B-NP O\nإلى IN B-PP O\nمصر NNP B-NP I-LOC\n";

#[test]
fn eval_and_train_read_conll_2003_files() {
    let s = Setup::new();
    let data = s.write("conll2003.txt", CONLL_2003);
    let model = s.model();
    let out = s.run(
        &[
            "eval",
            "--model",
            &model,
            "--data",
            data.to_str().unwrap(),
            "--json",
        ],
        b"",
    );
    assert_ok(&out);
    let v: Value = serde_json::from_str(stdout(&out).trim()).expect("JSON");
    assert_eq!(v["sentences"], 2, "{v}");
    assert_eq!(v["words"], 9, "{v}");
    assert_eq!(v["per_type"]["PER"]["support"], 1, "{v}");
    assert_eq!(v["per_type"]["LOC"]["support"], 2, "{v}");
    assert_eq!(v["micro"]["f1"], 1.0, "{v}");
    // Training reads it too: its types, from the last column.
    let out_dir = s.path("trained");
    let out = s.run(
        &[
            "train",
            "--base",
            &model,
            "--train",
            data.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--epochs",
            "1",
            "--context",
            "64",
        ],
        b"",
    );
    assert_ok(&out);
    assert!(stderr(&out).contains("training on"), "{}", stderr(&out));
    assert!(out_dir.join("config.json").is_file());
}

#[test]
fn import_e5_names_bad_input_with_its_exit_code() {
    let s = Setup::new();
    let tok = s.write("tokenizer.json", "{}");
    let out = s.path("base");
    let import = |bin: &Path| {
        s.run(
            &[
                "import-e5",
                "--bin",
                bin.to_str().unwrap(),
                "--tokenizer",
                tok.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            b"",
        )
    };
    let missing = s.path("missing.bin");
    let o = import(&missing);
    assert_exit(&o, 3);
    assert!(stderr(&o).contains("missing.bin"), "{}", stderr(&o));
    let garbled = s.write("garbled.bin", vec![0x5au8; 4096]);
    let o = import(&garbled);
    assert_exit(&o, 4);
    assert!(
        stderr(&o).contains("garbled.bin: bad magic"),
        "{}",
        stderr(&o)
    );
    let truncated = s.write("truncated.bin", b"E5S1\x01\x00\x00\x00\x80\x01");
    let o = import(&truncated);
    assert_exit(&o, 4);
    assert!(stderr(&o).contains("truncated"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn train_settings_come_from_the_config_file_and_the_command_line() {
    let s = Setup::new();
    s.write("data/gold.txt", CONLL);
    let cfg = s.write(
        "cfg/train.toml",
        format!(
            "base = \"{}\"\nout = \"{}\"\nlr = 0.0003\nepochs = 3\nfreeze_embeddings = true\nsave_every = 0\n\n[[train]]\npath = \"../data/gold.txt\"\nmap = \"PER=PER\"\n",
            s.model(),
            s.path("run").display()
        ),
    );
    let out = s.run(
        &[
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--epochs",
            "1",
            "--max-steps",
            "2",
        ],
        b"",
    );
    assert_ok(&out);
    let args: Value =
        serde_json::from_str(&std::fs::read_to_string(s.path("run/training_args.json")).unwrap())
            .unwrap();
    // From the file, from the command line over the file, and the corpus
    // path relative to the file.
    assert_eq!(args["lr"], 0.0003, "{args}");
    assert_eq!(args["epochs"], 1, "{args}");
    assert_eq!(args["max_steps"], 2, "{args}");
    assert_eq!(args["freeze_embeddings"], true, "{args}");
    let train = args["train"][0]["path"].as_str().unwrap();
    assert!(
        train.ends_with("data/gold.txt") && train.contains("cfg"),
        "{train}"
    );
    assert_eq!(args["mask_unlabelled_dates"], true, "{args}");

    // The command line's flags override the file too.
    let out = s.run(
        &[
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            s.path("run2").to_str().unwrap(),
            "--max-steps",
            "1",
            "--no-date-masking",
            "--freeze-embeddings",
            "false",
        ],
        b"",
    );
    assert_ok(&out);
    let args: Value =
        serde_json::from_str(&std::fs::read_to_string(s.path("run2/training_args.json")).unwrap())
            .unwrap();
    assert_eq!(args["epochs"], 3, "{args}");
    assert_eq!(args["mask_unlabelled_dates"], false, "{args}");
    assert_eq!(args["freeze_embeddings"], false, "{args}");

    // A key no setting has is a usage error naming it and the file.
    let bad = s.write(
        "cfg/bad.toml",
        format!("base = \"{}\"\nlearning_rate = 0.1\n", s.model()),
    );
    let out = s.run(&["train", "--config", bad.to_str().unwrap()], b"");
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("bad.toml") && err.contains("learning_rate"),
        "{err}"
    );
}

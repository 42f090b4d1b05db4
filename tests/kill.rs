//! Work is never lost: `train` killed with SIGKILL at random moments leaves
//! a loadable checkpoint that `--resume` continues to the same model;
//! `tag --output` killed or out of space leaves the old file in place; a
//! full disk is an error, not a corrupt file.
//!
//! Kill moments are random; the seed is printed and can be fixed with
//! `ARABIC_NER_KILL_SEED`. A full disk is simulated without privileges: a
//! file-size limit (`ulimit -f`, with SIGXFSZ ignored) makes writes past it
//! fail with `EFBIG` exactly where a full disk fails with `ENOSPC`; and
//! `/dev/full` where the output can be a device.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use arabic_ner::model::weights::Weights;
use arabic_ner::model::NerModel;
use arabic_ner::Tagger;

use common::{ModelSpec, Rng};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_arabic-ner")
}

fn rng() -> Rng {
    let seed = std::env::var("ARABIC_NER_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("kill moments from ARABIC_NER_KILL_SEED={seed}");
    Rng::new(seed)
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

// ---------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------

/// A small corpus in the oracle's words: 40 sentences.
fn corpus() -> String {
    let sentences: [&[(&str, &str)]; 5] = [
        &[
            ("زار", "O"),
            ("سمير", "B-PER"),
            ("الخطيب", "I-PER"),
            ("فرنسا", "B-LOC"),
            (".", "O"),
        ],
        &[
            ("سافر", "O"),
            ("ليلى", "B-PER"),
            ("منصور", "I-PER"),
            ("إلى", "O"),
            ("موسكو", "B-LOC"),
        ],
        &[
            ("أعلنت", "O"),
            ("شركة", "B-ORG"),
            ("النور", "I-ORG"),
            ("للطيران", "I-ORG"),
            ("عن", "O"),
            ("رحلات", "O"),
            ("جديدة", "O"),
        ],
        &[
            ("وصل", "O"),
            ("الوزير", "O"),
            ("إلى", "O"),
            ("بغداد", "B-LOC"),
            ("يوم", "O"),
            ("13", "B-DATE"),
            ("يناير", "I-DATE"),
            ("2022", "I-DATE"),
        ],
        &[
            ("قال", "O"),
            ("الرئيس", "O"),
            ("إن", "O"),
            ("الاتحاد", "B-ORG"),
            ("الأوروبي", "I-ORG"),
            ("مع", "O"),
            ("مصر", "B-LOC"),
        ],
    ];
    let mut text = String::new();
    for _ in 0..8 {
        for s in sentences {
            for (w, t) in s {
                text.push_str(&format!("{w} {t}\n"));
            }
            text.push('\n');
        }
    }
    text
}

/// 40 sentences in batches of 2, 3 epochs.
const TOTAL_STEPS: u64 = 60;

struct TrainSetup {
    base: tempfile::TempDir,
    work: tempfile::TempDir,
    data: PathBuf,
}

impl TrainSetup {
    fn new() -> Self {
        let base = ModelSpec::random(11).build();
        let work = tempfile::tempdir().expect("temp dir");
        let data = work.path().join("train.conll");
        std::fs::write(&data, corpus()).expect("write corpus");
        TrainSetup { base, work, data }
    }

    fn out(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    /// `arabic-ner train --resume` into `out` with `extra` options.
    fn command(&self, out: &Path, extra: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args([
            "train",
            "--base",
            path_str(self.base.path()),
            "--train",
            path_str(&self.data),
            "--out",
            path_str(out),
            "--epochs",
            "3",
            "--batch-size",
            "2",
            "--lr",
            "1e-3",
            "--max-length",
            "30",
            "--seed",
            "7",
            "--save-every",
            "1",
            "--resume",
        ])
        .args(extra)
        .env("RAYON_NUM_THREADS", "1")
        .env("HF_HUB_OFFLINE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        c
    }

    fn run(&self, out: &Path, extra: &[&str]) -> Output {
        self.command(out, extra).output().expect("run train")
    }
}

fn assert_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The step of the checkpoint `checkpoints/latest` names, after checking
/// that it is complete: state, weights and optimizer moments all read.
/// `None` when no checkpoint was written yet.
fn check_latest(out: &Path) -> Option<u64> {
    let root = out.join("checkpoints");
    let latest = root.join("latest");
    let name = std::fs::read_to_string(&latest).ok()?;
    let dir = root.join(name.trim());
    assert!(
        dir.starts_with(&root) && dir != root,
        "latest names {name:?}"
    );
    let state = std::fs::read_to_string(dir.join("state.json")).expect("state.json of latest");
    let state: serde_json::Value = serde_json::from_str(&state).expect("state.json is JSON");
    let step = state["step"].as_u64().expect("state has a step");
    assert_eq!(dir.file_name(), Some(format!("step-{step}").as_ref()));
    let w = Weights::from_safetensors(&dir.join("model.safetensors")).expect("checkpoint weights");
    assert!(w.contains("classifier.weight"));
    Weights::from_safetensors(&dir.join("optimizer.safetensors")).expect("optimizer moments");
    Some(step)
}

/// Every file under `dir` that is not a temporary file (`.tmp…`, left by a
/// kill) is complete: JSON parses, safetensors read.
fn check_no_corrupt_file(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            check_no_corrupt_file(&path);
        } else if name.starts_with(".tmp") {
            continue;
        } else if name.ends_with(".safetensors") {
            Weights::from_safetensors(&path)
                .unwrap_or_else(|e| panic!("{} is corrupt: {e}", path.display()));
        } else if name.ends_with(".json") {
            let text = std::fs::read_to_string(&path).expect("read");
            serde_json::from_str::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("{} is corrupt: {e}", path.display()));
        }
    }
}

/// Largest difference between two checkpoints' tensors of the same names.
fn max_difference(a: &Path, b: &Path) -> f32 {
    let a = Weights::from_safetensors(a).expect("weights a");
    let b = Weights::from_safetensors(b).expect("weights b");
    let (sa, sb) = (a.sorted(), b.sorted());
    assert_eq!(
        sa.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        sb.iter().map(|(n, _)| *n).collect::<Vec<_>>()
    );
    let mut max = 0f32;
    for ((name, x), (_, y)) in sa.iter().zip(&sb) {
        assert_eq!(x.dims(), y.dims(), "{name}");
        let x = x
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .expect("f32");
        let y = y
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .expect("f32");
        for (p, q) in x.iter().zip(&y) {
            max = max.max((p - q).abs());
        }
    }
    max
}

fn wait_or_kill(mut child: Child, after: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + after;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            // SIGKILL on Unix.
            child.kill().expect("kill");
            child.wait().expect("wait");
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn train_killed_at_random_moments_resumes_to_the_same_model() {
    let setup = TrainSetup::new();
    let mut rng = rng();

    // The run nothing interrupts, and how long it takes.
    let reference = setup.out("reference");
    let t0 = Instant::now();
    let out = setup.run(&reference, &[]);
    let full = t0.elapsed();
    assert_success(&out, "uninterrupted run");
    let total = check_latest(&reference).expect("a checkpoint");
    assert_eq!(total, TOTAL_STEPS);

    // The same run, killed again and again.
    let out_dir = setup.out("killed");
    let mut last_step = 0;
    let mut kills = 0;
    for round in 0..12 {
        // Early enough that a resumed run (which has less to do) is often
        // killed too.
        let at = Duration::from_secs_f64(full.as_secs_f64() * (0.05 + 0.35 * rng.uniform()));
        let child = setup.command(&out_dir, &[]).spawn().expect("spawn train");
        let finished = wait_or_kill(child, at);
        if finished.is_none() {
            kills += 1;
        }
        check_no_corrupt_file(&out_dir);
        if let Some(step) = check_latest(&out_dir) {
            assert!(
                step >= last_step,
                "round {round}: latest went back from step {last_step} to {step}"
            );
            last_step = step;
        }
        eprintln!("round {round}: killed after {at:?}, latest step {last_step}");
        if last_step == total {
            break;
        }
    }
    assert!(kills > 0, "no run was killed");
    let out = setup.run(&out_dir, &[]);
    assert_success(&out, "resumed run");
    assert_eq!(check_latest(&out_dir), Some(total));
    check_no_corrupt_file(&out_dir);

    // Resuming gave the model the uninterrupted run gave.
    let diff = max_difference(
        &reference.join("model.safetensors"),
        &out_dir.join("model.safetensors"),
    );
    assert!(diff <= 1e-5, "resumed model differs by {diff}");
    let model = NerModel::from_dir(&out_dir).expect("trained model loads");
    let tagger = Tagger::with_model(model, Default::default());
    tagger.tag("زار سمير الخطيب فرنسا.").expect("tags");
}

/// Killed after the checkpoint of the last step but before the end of the
/// last epoch: the folder still holds the model of the epoch before, and
/// resuming must finish the epoch and write the final model.
#[test]
fn resume_after_the_last_step_writes_the_final_model() {
    let setup = TrainSetup::new();
    let full = setup.out("full");
    assert_success(&setup.run(&full, &[]), "full run");
    let before = setup.out("before");
    // Two epochs done: `before/model.safetensors` is the model of epoch 2.
    assert_success(
        &setup.run(&before, &["--max-steps", "40"]),
        "run of two epochs",
    );
    let final_model = setup.work.path().join("final.safetensors");
    std::fs::copy(full.join("model.safetensors"), &final_model).expect("copy");
    // The folder as a kill leaves it: the checkpoint of step 60 taken
    // before the epoch ended, and the model of epoch 2.
    std::fs::copy(
        before.join("model.safetensors"),
        full.join("model.safetensors"),
    )
    .expect("copy");
    let state_path = full.join("checkpoints").join("step-60").join("state.json");
    let text = std::fs::read_to_string(&state_path).expect("state");
    let mut state: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(state["epoch"], 3);
    state["epoch"] = 2.into();
    state["batch_in_epoch"] = 20.into();
    std::fs::write(&state_path, state.to_string()).expect("write state");

    assert_success(&setup.run(&full, &[]), "resumed run");
    let diff = max_difference(&final_model, &full.join("model.safetensors"));
    assert!(diff <= 1e-5, "the final model differs by {diff}");
}

/// Killed after the final model's weights were written but before its
/// `config.json` (written last): resuming completes the folder.
#[test]
fn resume_completes_a_half_written_final_model() {
    let setup = TrainSetup::new();
    let out_dir = setup.out("half");
    let out = setup.run(&out_dir, &["--max-steps", "3"]);
    assert_success(&out, "first run");
    assert_eq!(check_latest(&out_dir), Some(3));
    NerModel::from_dir(&out_dir).expect("model after the first run");
    // The state a kill between the two writes leaves.
    std::fs::remove_file(out_dir.join("config.json")).expect("remove config.json");
    let out = setup.run(&out_dir, &["--max-steps", "3"]);
    assert_success(&out, "resumed run");
    NerModel::from_dir(&out_dir).expect("model after resuming");
}

/// Runs `args` under a file-size limit of `blocks` (shell `ulimit -f`
/// units), with SIGXFSZ ignored so that writes past it fail with EFBIG.
fn limited(blocks: u32, program: &str, args: &[&str]) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {blocks} || exit 99; exec \"$0\" \"$@\""
        ))
        .arg(program)
        .args(args);
    c
}

#[test]
fn full_disk_during_training_keeps_the_last_checkpoint() {
    let setup = TrainSetup::new();
    let out_dir = setup.out("full");
    let out = setup.run(&out_dir, &["--max-steps", "3"]);
    assert_success(&out, "first run");
    assert_eq!(check_latest(&out_dir), Some(3));

    // Go on with a few kilobytes of "disk": the next checkpoint cannot be
    // written.
    let cmd = setup.command(&out_dir, &[]);
    let args: Vec<&str> = cmd
        .get_args()
        .map(|a| a.to_str().expect("UTF-8 arg"))
        .collect();
    let out = limited(8, bin(), &args)
        .env("RAYON_NUM_THREADS", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run train");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("File too large") && stderr.contains(&*out_dir.to_string_lossy()),
        "{stderr}"
    );
    assert_eq!(check_latest(&out_dir), Some(3), "latest is still step 3");
    check_no_corrupt_file(&out_dir);
    let leftovers: Vec<_> = walk(&out_dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(".tmp"))
        })
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // With room again, the run finishes.
    let out = setup.run(&out_dir, &[]);
    assert_success(&out, "run after the disk was freed");
    assert_eq!(check_latest(&out_dir), Some(TOTAL_STEPS));
    NerModel::from_dir(&out_dir).expect("model loads");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Tagging to a file
// ---------------------------------------------------------------------------

struct TagSetup {
    model: tempfile::TempDir,
    work: tempfile::TempDir,
    input: PathBuf,
}

impl TagSetup {
    fn new(lines: usize) -> Self {
        let model = common::oracle_dir();
        let work = tempfile::tempdir().expect("temp dir");
        let input = work.path().join("input.txt");
        let line = "زار سمير الخطيب القاهرة يوم 13 يناير 2022 مع شركة النور للطيران.\n";
        std::fs::write(&input, line.repeat(lines)).expect("write input");
        TagSetup { model, work, input }
    }

    fn args<'a>(&'a self, output: &'a str) -> Vec<&'a str> {
        vec![
            "tag",
            "--model",
            path_str(self.model.path()),
            "--lines",
            path_str(&self.input),
            "--output",
            output,
        ]
    }

    fn command(&self, output: &Path) -> Command {
        let mut c = Command::new(bin());
        c.args(self.args(path_str(output)))
            .env("RAYON_NUM_THREADS", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }
}

const OLD: &str = "{\"old\": \"a good file from an earlier run\"}\n";

#[test]
fn tag_output_killed_midway_keeps_the_old_file() {
    let setup = TagSetup::new(4000);
    let mut rng = rng();
    let reference = setup.work.path().join("reference.jsonl");
    let t0 = Instant::now();
    let out = setup.command(&reference).output().expect("run tag");
    let full = t0.elapsed();
    assert_success(&out, "tag");
    let expected = std::fs::read_to_string(&reference).expect("read output");
    assert_eq!(expected.lines().count(), 4000);

    let target = setup.work.path().join("entities.jsonl");
    let mut kills = 0;
    for round in 0..6 {
        std::fs::write(&target, OLD).expect("write old output");
        let at = Duration::from_secs_f64(full.as_secs_f64() * rng.uniform());
        let child = setup.command(&target).spawn().expect("spawn tag");
        let finished = wait_or_kill(child, at);
        let now = std::fs::read_to_string(&target).expect("target still there");
        match finished {
            None => {
                kills += 1;
                assert!(
                    now == OLD || now == expected,
                    "round {round}: killed after {at:?}, the target holds {} bytes of something else",
                    now.len()
                );
            }
            Some(status) => {
                assert!(status.success());
                assert_eq!(now, expected);
            }
        }
    }
    assert!(kills > 0, "no run was killed");
}

#[test]
fn full_disk_while_tagging_keeps_the_old_file() {
    let setup = TagSetup::new(400);
    let target = setup.work.path().join("entities.jsonl");
    std::fs::write(&target, OLD).expect("write old output");
    let args = setup.args(path_str(&target));
    let out = limited(8, bin(), &args)
        .env("RAYON_NUM_THREADS", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run tag");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("File too large"), "{stderr}");
    assert!(
        stderr.contains("entities.jsonl"),
        "the output is named: {stderr}"
    );
    assert_eq!(std::fs::read_to_string(&target).expect("read"), OLD);
    let files: Vec<_> = walk(setup.work.path());
    assert_eq!(files.len(), 2, "no temporary file left: {files:?}");
}

/// A named pipe as `--output`: written through, and still a pipe after.
#[test]
fn tag_output_to_a_named_pipe() {
    use std::os::unix::fs::FileTypeExt;
    let setup = TagSetup::new(50);
    let fifo = setup.work.path().join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("no mkfifo: skipped");
        return;
    }
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).expect("read the pipe"))
    };
    let out = setup.command(&fifo).output().expect("run tag");
    assert_success(&out, "tag to a pipe");
    // Checked before waiting for the reader, which would wait forever on a
    // pipe that was renamed over and never opened for writing.
    let kind = std::fs::metadata(&fifo).expect("pipe").file_type();
    assert!(kind.is_fifo(), "the pipe was replaced by a file");
    let text = reader.join().expect("reader");
    assert_eq!(text.lines().count(), 50);
}

/// `/dev/full` fails every write with ENOSPC: the error is reported and the
/// device stays a device (a rename over it would have replaced it).
#[test]
fn tag_output_to_dev_full_and_dev_null() {
    use std::os::unix::fs::FileTypeExt;
    let is_device = |p: &str| {
        std::fs::metadata(p)
            .map(|m| m.file_type().is_char_device())
            .unwrap_or(false)
    };
    let setup = TagSetup::new(50);
    if is_device("/dev/full") {
        let out = setup
            .command(Path::new("/dev/full"))
            .output()
            .expect("run tag");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(5), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains("/dev/full"), "{stderr}");
        assert!(stderr.contains("No space left"), "{stderr}");
        assert!(is_device("/dev/full"), "/dev/full was replaced");
    }
    if is_device("/dev/null") {
        let out = setup
            .command(Path::new("/dev/null"))
            .output()
            .expect("run tag");
        assert_success(&out, "tag to /dev/null");
        assert!(is_device("/dev/null"), "/dev/null was replaced");
    }
}

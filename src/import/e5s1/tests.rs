use super::*;

/// Quantize 32 values the way GGML's reference Q4_0 quantizer does
/// (scale from the signed value of largest magnitude, divided by -8).
fn quantize_block(x: &[f32; 32]) -> Vec<u8> {
    let max = x
        .iter()
        .copied()
        .fold(0f32, |m, v| if v.abs() > m.abs() { v } else { m });
    let d = max / -8.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let q = |v: f32| ((v * id + 8.5) as u8).min(15);
    let mut out = f16::from_f32(d).to_bits().to_le_bytes().to_vec();
    for j in 0..16 {
        out.push(q(x[j]) | (q(x[j + 16]) << 4));
    }
    out
}

fn quantize(values: &[f32]) -> Vec<u8> {
    values
        .chunks_exact(32)
        .flat_map(|c| quantize_block(c.try_into().expect("32 values")))
        .collect()
}

/// Small but complete synthetic model: hidden 32, one layer, 2 heads.
struct Synth {
    h: usize,
    ff: usize,
    voc: usize,
    maxp: usize,
    tvs: usize,
    pieces: Vec<(&'static str, f32)>,
    /// Overrides the directory's tensor count when set.
    tensor_count: Option<i32>,
    /// Overrides the element count of `l0.q.w` when set.
    q_elems: Option<u32>,
}

impl Synth {
    fn new() -> Self {
        Synth {
            h: 32,
            ff: 64,
            voc: 6,
            maxp: 8,
            tvs: 2,
            pieces: vec![
                ("<s>", 0.0),
                ("<pad>", 0.0),
                ("</s>", 0.0),
                ("<unk>", 0.0),
                ("\u{2581}", -2.0),
                ("\u{2581}سلام", -3.5),
            ],
            tensor_count: None,
            q_elems: None,
        }
    }

    fn config(&self) -> E5s1Config {
        E5s1Config {
            version: 1,
            hidden_size: self.h,
            num_hidden_layers: 1,
            num_attention_heads: 2,
            intermediate_size: self.ff,
            vocab_size: self.voc,
            max_position_embeddings: self.maxp,
            type_vocab_size: self.tvs,
            layer_norm_eps: 1e-12,
        }
    }

    /// Deterministic value of element `i` of tensor number `t`; every
    /// value is k * 0.25 with k in -8..=7 so Q4_0 with d = 0.25 (block
    /// containing -2.0) reproduces it exactly.
    fn value(t: usize, i: usize) -> f32 {
        let k = ((t * 7 + i * 3) % 16) as f32 - 8.0;
        k * 0.25
    }

    fn image(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(b"E5S1");
        b.extend_from_slice(&1u32.to_le_bytes());
        for v in [self.h, 1, 2, self.ff, self.voc, self.maxp, self.tvs] {
            b.extend_from_slice(&(v as i32).to_le_bytes());
        }
        b.extend_from_slice(&1e-12f32.to_le_bytes());
        b.extend_from_slice(&32i32.to_le_bytes());
        // vocabulary
        b.extend_from_slice(&(self.pieces.len() as i32).to_le_bytes());
        for id in [0i32, 2, 1, 3] {
            b.extend_from_slice(&id.to_le_bytes());
        }
        let blob: Vec<u8> = self.pieces.iter().flat_map(|(p, _)| p.bytes()).collect();
        b.extend_from_slice(&(blob.len() as u64).to_le_bytes());
        let mut off = 0u32;
        b.extend_from_slice(&off.to_le_bytes());
        for (p, _) in &self.pieces {
            off += p.len() as u32;
            b.extend_from_slice(&off.to_le_bytes());
        }
        for (_, s) in &self.pieces {
            b.extend_from_slice(&s.to_le_bytes());
        }
        b.extend_from_slice(&blob);
        // normalizer: one entry mapping U+00A0 to a space
        let mut nm = 0xA0u32.to_le_bytes().to_vec();
        nm.push(1);
        nm.extend_from_slice(&0x20u32.to_le_bytes());
        b.extend_from_slice(&1i32.to_le_bytes());
        b.extend_from_slice(&(nm.len() as u32).to_le_bytes());
        b.extend_from_slice(&nm);
        // directory, then data
        let plan = tensor_plan(&self.config());
        let mut payloads = Vec::new();
        for (t, (src, _, shape)) in plan.iter().enumerate() {
            let n: usize = shape.iter().product();
            let vals: Vec<f32> = (0..n).map(|i| Self::value(t, i)).collect();
            let q4 = src.ends_with(".w") && !src.starts_with("emb.") || src == "emb.word";
            let data = if q4 {
                quantize(&vals)
            } else {
                vals.iter().flat_map(|v| v.to_le_bytes()).collect()
            };
            payloads.push((src.clone(), u8::from(q4), n as u32, data));
        }
        let count = self.tensor_count.unwrap_or(plan.len() as i32);
        b.extend_from_slice(&count.to_le_bytes());
        let dir_len: usize = payloads
            .iter()
            .map(|(s, ..)| 2 + s.len() + 1 + 4 + 16)
            .sum();
        let mut data_off = (b.len() + dir_len) as u64;
        for (src, dtype, n, data) in &payloads {
            b.extend_from_slice(&(src.len() as u16).to_le_bytes());
            b.extend_from_slice(src.as_bytes());
            b.push(*dtype);
            let n = if src == "l0.q.w" {
                self.q_elems.unwrap_or(*n)
            } else {
                *n
            };
            b.extend_from_slice(&n.to_le_bytes());
            b.extend_from_slice(&data_off.to_le_bytes());
            b.extend_from_slice(&(data.len() as u64).to_le_bytes());
            data_off += data.len() as u64;
        }
        for (.., data) in &payloads {
            b.extend_from_slice(data);
        }
        b
    }

    fn tokenizer_json(&self) -> Value {
        json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": [],
            "normalizer": null,
            "pre_tokenizer": {"type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "always", "split": true},
            "post_processor": null,
            "decoder": null,
            "model": {
                "type": "Unigram",
                "unk_id": 3,
                "vocab": self.pieces.iter().map(|(p, s)| json!([p, s])).collect::<Vec<_>>(),
            }
        })
    }
}

fn parse(bytes: &[u8]) -> Result<E5s1Model, ImportError> {
    E5s1Model::parse(bytes, Path::new("synthetic.bin"))
}

#[test]
fn dequantizes_known_block() {
    // d = 0.5; byte j holds q = j (low) and q = 15 - j (high).
    let mut block = f16::from_f32(0.5).to_bits().to_le_bytes().to_vec();
    block.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
    let out = dequantize_q4_0(&block).expect("valid block");
    assert_eq!(out.len(), 32);
    for j in 0..16 {
        assert_eq!(out[j], (j as f32 - 8.0) * 0.5);
        assert_eq!(out[j + 16], (7.0 - j as f32) * 0.5);
    }
}

#[test]
fn q4_round_trip_of_representable_values() {
    let vals: Vec<f32> = (0..64)
        .map(|i| ((i * 5 % 16) as f32 - 8.0) * 0.125)
        .collect();
    assert_eq!(dequantize_q4_0(&quantize(&vals)).expect("valid"), vals);
}

#[test]
fn dequantize_rejects_partial_block_and_nan_scale() {
    assert!(dequantize_q4_0(&[0u8; 17]).is_none());
    let mut block = f16::NAN.to_bits().to_le_bytes().to_vec();
    block.extend([0u8; 16]);
    assert!(dequantize_q4_0(&block).is_none());
}

#[test]
fn parses_synthetic_image() {
    let s = Synth::new();
    let m = parse(&s.image()).expect("valid image");
    assert_eq!(m.config, s.config());
    assert_eq!(m.vocab.pieces.len(), 6);
    assert_eq!(m.vocab.pieces[5], "\u{2581}سلام");
    assert_eq!((m.vocab.bos_id, m.vocab.eos_id, m.vocab.pad_id), (0, 2, 1));
    assert_eq!(m.tensors.len(), 5 + 16);
    let plan = tensor_plan(&s.config());
    for (t, (tensor, (_, hf, shape))) in m.tensors.iter().zip(&plan).enumerate() {
        assert_eq!(&tensor.name, hf);
        assert_eq!(&tensor.shape, shape);
        // Both f32 and Q4_0 tensors come back exactly, in [out, in] order.
        let want: Vec<f32> = (0..tensor.data.len()).map(|i| Synth::value(t, i)).collect();
        assert_eq!(tensor.data, want, "{hf}");
    }
    let fi = &m.tensors[5 + 10];
    assert_eq!(fi.name, "encoder.layer.0.intermediate.dense.weight");
    assert_eq!(fi.shape, vec![64, 32]);
    assert_eq!(
        m.num_parameters(),
        plan.iter()
            .map(|(.., s)| s.iter().product::<usize>())
            .sum::<usize>()
    );
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let image = Synth::new().image();
    for len in 0..image.len() {
        let err = parse(&image[..len]).expect_err("truncated image must fail");
        let msg = err.to_string();
        assert!(msg.contains("synthetic.bin"), "{msg}");
        if len >= 4 {
            assert!(
                matches!(err, ImportError::Truncated { .. }),
                "len {len}: {msg}"
            );
        }
    }
}

#[test]
fn truncated_message_names_the_byte() {
    let image = Synth::new().image();
    let err = parse(&image[..10]).expect_err("truncated");
    assert_eq!(
        err.to_string(),
        "synthetic.bin: truncated at byte 8: header needs 4 bytes but only 2 remain"
    );
}

#[test]
fn corrupt_headers_are_reported() {
    let mut image = Synth::new().image();
    image[0] = b'X';
    assert!(matches!(parse(&image), Err(ImportError::BadMagic { .. })));

    let mut s = Synth::new();
    s.tensor_count = Some(20);
    let err = parse(&s.image()).expect_err("count");
    assert!(
        matches!(
            err,
            ImportError::TensorCount {
                expected: 21,
                found: 20,
                ..
            }
        ),
        "{err}"
    );

    let mut s = Synth::new();
    s.q_elems = Some(32 * 31);
    let err = parse(&s.image()).expect_err("shape");
    assert!(err.to_string().contains("l0.q.w"), "{err}");
    assert!(err.to_string().contains("shape mismatch"), "{err}");

    // An absurd layer count is a count mismatch, not an allocation attempt.
    let mut image = Synth::new().image();
    image[12..16].copy_from_slice(&i32::MAX.to_le_bytes());
    assert!(matches!(
        parse(&image),
        Err(ImportError::TensorCount { .. })
    ));

    let mut image = Synth::new().image();
    image[8..12].copy_from_slice(&(-5i32).to_le_bytes());
    assert!(matches!(parse(&image), Err(ImportError::BadHeader { .. })));
}

#[test]
fn imports_to_hf_folder() {
    let s = Synth::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("m.bin");
    let tok = dir.path().join("tok.json");
    std::fs::write(&bin, s.image()).expect("write");
    std::fs::write(&tok, s.tokenizer_json().to_string()).expect("write");
    let out = dir.path().join("out/nested");
    let summary = import_e5s1(&bin, &tok, &out).expect("import");
    assert_eq!(summary.num_tensors, 21);
    assert_eq!(summary.vocab_size, 6);

    let cfg: Value = serde_json::from_slice(&std::fs::read(out.join("config.json")).expect("read"))
        .expect("json");
    assert_eq!(cfg["vocab_size"], 6);
    assert_eq!(cfg["hidden_size"], 32);
    assert_eq!(cfg["layer_norm_eps"], 1e-12);
    assert_eq!(cfg["pad_token_id"], 1);
    assert_eq!(cfg["architectures"][0], "BertModel");

    let st = std::fs::read(out.join("model.safetensors")).expect("read");
    assert_eq!(st.len() as u64, summary.safetensors_bytes);
    let st = safetensors::SafeTensors::deserialize(&st).expect("safetensors");
    let q = st
        .tensor("encoder.layer.0.attention.self.query.weight")
        .expect("query");
    assert_eq!(q.shape(), &[32, 32]);
    assert_eq!(q.dtype(), Dtype::F32);
    let first = f32::from_le_bytes(q.data()[..4].try_into().expect("4 bytes"));
    assert_eq!(first, Synth::value(5, 0));
    assert_eq!(
        std::fs::read(out.join("tokenizer.json")).expect("read"),
        std::fs::read(&tok).expect("read")
    );
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn rejects_tokenizer_with_other_pieces() {
    let s = Synth::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("m.bin");
    let tok = dir.path().join("tok.json");
    std::fs::write(&bin, s.image()).expect("write");
    let mut t = s.tokenizer_json();
    t["model"]["vocab"][5] = json!(["\u{2581}other", -3.5]);
    std::fs::write(&tok, t.to_string()).expect("write");
    let err = import_e5s1(&bin, &tok, &dir.path().join("out")).expect_err("mismatch");
    assert!(matches!(err, ImportError::Tokenizer { .. }), "{err}");
    assert!(err.to_string().contains("piece 5"), "{err}");
    assert!(!dir.path().join("out/config.json").exists());
}

#[test]
fn import_errors_have_the_documented_exit_codes() {
    let s = Synth::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (bin, tok) = (d.join("m.bin"), d.join("tok.json"));
    std::fs::write(&bin, s.image()).expect("write");
    std::fs::write(&tok, s.tokenizer_json().to_string()).expect("write");
    let run = |bin: &Path, tok: &Path, out: &Path| -> crate::Error {
        import_e5s1(bin, tok, out).expect_err("fails").into()
    };
    let check = |e: crate::Error, code: i32, file: &Path, needle: &str| {
        let shown = e.to_string();
        assert_eq!(e.exit_code(), code, "{shown}");
        let name = file.display().to_string();
        assert!(shown.starts_with(&name), "{shown}");
        // The path once, not twice.
        assert_eq!(shown.matches(&name).count(), 1, "{shown}");
        assert!(shown.contains(needle), "{needle:?} not in {shown}");
        assert!(!shown.contains('\n'), "{shown}");
    };
    let out = d.join("out");
    // Missing inputs: exit 3.
    check(
        run(&d.join("none.bin"), &tok, &out),
        3,
        &d.join("none.bin"),
        "cannot read",
    );
    check(
        run(&bin, &d.join("none.json"), &out),
        3,
        &d.join("none.json"),
        "cannot read",
    );
    check(run(d, &tok, &out), 3, d, "cannot read");
    // Malformed model files: exit 4.
    let bad = d.join("bad.bin");
    std::fs::write(&bad, b"PK\x03\x04 not an E5S1 file").expect("write");
    check(run(&bad, &tok, &out), 4, &bad, "bad magic");
    let image = s.image();
    std::fs::write(&bad, &image[..image.len() / 2]).expect("write");
    check(run(&bad, &tok, &out), 4, &bad, "truncated");
    let bad_tok = d.join("bad.json");
    std::fs::write(&bad_tok, b"{ not json").expect("write");
    check(run(&bin, &bad_tok, &out), 4, &bad_tok, "invalid JSON");
    // A failing write: exit 5 (a regular file where a folder should be).
    let blocker = d.join("file");
    std::fs::write(&blocker, b"x").expect("write");
    let e = run(&bin, &tok, &blocker.join("out"));
    assert_eq!(e.exit_code(), 5, "{e}");
    assert!(matches!(e, crate::Error::Io { .. }), "{e}");
}

use std::collections::HashMap;

use candle_core::{Device, Tensor, Var, D};

use super::*;
use crate::model::bert::{parameter_shapes, BertForTokenClassification, Dropout, Mode};
use crate::model::pad_batch;
use crate::model::weights::Weights;

fn config(act: &str, dropout: f64) -> BertConfig {
    serde_json::from_str(&format!(
        r#"{{"vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 2,
            "num_attention_heads": 4, "intermediate_size": 24,
            "max_position_embeddings": 24, "hidden_act": "{act}",
            "hidden_dropout_prob": {dropout}, "attention_probs_dropout_prob": {dropout},
            "layer_norm_eps": 1e-5}}"#
    ))
    .unwrap()
}

/// Random parameters: values in (−0.5, 0.5), layer norms around 1.
fn parameters(cfg: &BertConfig, labels: usize, seed: u64) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    random_values(parameter_shapes(cfg, labels), seed)
}

fn random_values(
    shapes: Vec<(String, Vec<usize>)>,
    seed: u64,
) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let mut rng = Dropout::new(seed);
    shapes
        .into_iter()
        .map(|(name, dims)| {
            let n: usize = dims.iter().product();
            let base = if name.contains("LayerNorm.weight") {
                1.0
            } else {
                0.0
            };
            let v = (0..n)
                .map(|_| base + ((rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5))
                .collect();
            (name, dims, v)
        })
        .collect()
}

fn windows() -> (Vec<Vec<u32>>, Vec<Vec<i64>>) {
    let seqs = vec![
        vec![2, 5, 9, 13, 3],
        vec![2, 7, 7, 21, 33, 39, 11, 4, 3],
        vec![2, 1, 3],
    ];
    let targets = vec![
        vec![-1, 0, 2, -1, -1],
        vec![-1, 1, -1, 2, 0, 0, -1, 1, -1],
        vec![-1, 2, -1],
    ];
    (seqs, targets)
}

/// Loss and gradients of the hand-written step.
fn by_hand(
    cfg: &BertConfig,
    params: &[(String, Vec<usize>, Vec<f32>)],
    freeze_word: bool,
) -> (f32, Vec<Vec<f32>>) {
    let net = TokenClassifierNet::new(cfg, 3);
    let (seqs, targets) = windows();
    let seqs: Vec<&[u32]> = seqs.iter().map(|s| s.as_slice()).collect();
    let targets: Vec<&[i64]> = targets.iter().map(|s| s.as_slice()).collect();
    let w: Vec<&[f32]> = params.iter().map(|p| p.2.as_slice()).collect();
    let mut grads: Vec<Vec<f32>> = params
        .iter()
        .map(|p| {
            if freeze_word && p.0 == "embeddings.word_embeddings.weight" {
                Vec::new()
            } else {
                vec![0.0; p.2.len()]
            }
        })
        .collect();
    let mut tape = Tape::default();
    let loss = net
        .step(&w, &seqs, &targets, 7, &mut tape, &mut grads)
        .unwrap();
    (loss, grads)
}

/// Loss and gradients of the reference graph, differentiated by candle.
fn reference(cfg: &BertConfig, params: &[(String, Vec<usize>, Vec<f32>)]) -> (f32, Vec<Vec<f32>>) {
    let dev = Device::Cpu;
    let mut tensors = HashMap::new();
    let mut vars = Vec::new();
    for (name, dims, v) in params {
        let var =
            Var::from_tensor(&Tensor::from_vec(v.clone(), dims.as_slice(), &dev).unwrap()).unwrap();
        tensors.insert(name.clone(), var.as_tensor().clone());
        vars.push(var);
    }
    let net = BertForTokenClassification::load(&Weights::new(tensors, "test"), cfg, 3).unwrap();
    let (seqs, targets) = windows();
    let refs: Vec<&[u32]> = seqs.iter().map(|s| s.as_slice()).collect();
    let (ids, mask) = pad_batch(&refs, 0).unwrap();
    let len = ids.dims()[1];
    let (mut tg, mut wt) = (Vec::new(), Vec::new());
    for t in &targets {
        for p in 0..len {
            let y = t.get(p).copied().unwrap_or(-1);
            tg.push(y.max(0) as u32);
            wt.push(if y >= 0 { 1f32 } else { 0.0 });
        }
    }
    let tg = Tensor::from_vec(tg, (seqs.len(), len), &dev).unwrap();
    let wt = Tensor::from_vec(wt, (seqs.len(), len), &dev).unwrap();
    let mut drop = Dropout::new(1);
    let logits = net
        .forward(&ids, &mask, &mut Mode::Train(&mut drop))
        .unwrap();
    let logp = candle_nn::ops::log_softmax(&logits, D::Minus1).unwrap();
    let picked = logp
        .gather(&tg.unsqueeze(2).unwrap(), 2)
        .unwrap()
        .squeeze(2)
        .unwrap();
    let count = wt.sum_all().unwrap().to_scalar::<f32>().unwrap();
    let loss = ((picked * wt).unwrap().sum_all().unwrap() * (-1.0 / count as f64)).unwrap();
    let grads = loss.backward().unwrap();
    let g = vars
        .iter()
        .map(|v| {
            grads
                .get(v.as_tensor())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        })
        .collect();
    (loss.to_scalar().unwrap(), g)
}

fn assert_close(name: &str, a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "{name}");
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-3);
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 2e-4 * scale + 1e-6,
            "{name}[{i}]: {x} by hand, {y} reference (scale {scale})"
        );
    }
}

#[test]
fn loss_and_every_gradient_match_the_reference_graph() {
    for act in ["gelu", "gelu_new", "relu"] {
        let cfg = config(act, 0.0);
        let params = parameters(&cfg, 3, 11);
        let (loss, grads) = by_hand(&cfg, &params, false);
        let (ref_loss, ref_grads) = reference(&cfg, &params);
        assert!(
            (loss - ref_loss).abs() < 1e-5 * ref_loss.abs().max(1.0),
            "{act}: loss {loss} vs {ref_loss}"
        );
        for ((p, g), r) in params.iter().zip(&grads).zip(&ref_grads) {
            assert!(
                r.iter().any(|&v| v != 0.0) || p.0.contains("token_type"),
                "{act} {}: no gradient",
                p.0
            );
            assert_close(&format!("{act} {}", p.0), g, r);
        }
    }
}

#[test]
fn frozen_word_embeddings_get_no_gradient_and_leave_the_others_alone() {
    let cfg = config("gelu", 0.0);
    let params = parameters(&cfg, 3, 5);
    let (loss, grads) = by_hand(&cfg, &params, false);
    let (frozen_loss, frozen) = by_hand(&cfg, &params, true);
    assert_eq!(loss, frozen_loss);
    assert!(frozen[0].is_empty());
    assert_eq!(&grads[1..], &frozen[1..]);
}

#[test]
fn dropout_repeats_with_its_seed_and_drops_about_its_share() {
    let cfg = config("gelu", 0.25);
    let params = parameters(&cfg, 3, 3);
    let net = TokenClassifierNet::new(&cfg, 3);
    let (seqs, targets) = windows();
    let seqs: Vec<&[u32]> = seqs.iter().map(|s| s.as_slice()).collect();
    let targets: Vec<&[i64]> = targets.iter().map(|s| s.as_slice()).collect();
    let w: Vec<&[f32]> = params.iter().map(|p| p.2.as_slice()).collect();
    let run = |seed| {
        let mut grads: Vec<Vec<f32>> = params.iter().map(|p| vec![0.0; p.2.len()]).collect();
        let mut tape = Tape::default();
        let loss = net
            .step(&w, &seqs, &targets, seed, &mut tape, &mut grads)
            .unwrap();
        let kept = tape.layers[0]
            .keep1
            .iter()
            .map(|&k| k as usize)
            .sum::<usize>() as f64
            / tape.layers[0].keep1.len() as f64;
        (loss, grads, kept)
    };
    let (a, ga, kept) = run(1);
    let (b, gb, _) = run(1);
    let (c, _, _) = run(2);
    assert_eq!((a, &ga), (b, &gb));
    assert_ne!(a, c);
    assert!((0.6..0.9).contains(&kept), "kept {kept}");
}

#[test]
fn windows_longer_than_the_positions_and_unknown_pieces_are_errors() {
    let cfg = config("gelu", 0.0);
    let params = parameters(&cfg, 3, 3);
    let net = TokenClassifierNet::new(&cfg, 3);
    let w: Vec<&[f32]> = params.iter().map(|p| p.2.as_slice()).collect();
    let mut grads: Vec<Vec<f32>> = params.iter().map(|p| vec![0.0; p.2.len()]).collect();
    let long = vec![1u32; 25];
    let t = vec![0i64; 25];
    assert!(net
        .step(&w, &[&long], &[&t], 1, &mut Tape::default(), &mut grads)
        .is_err());
    assert!(net
        .step(
            &w,
            &[&[2, 40, 3]],
            &[&[0, 0, 0]],
            1,
            &mut Tape::default(),
            &mut grads
        )
        .is_err());
}

/// Loss and gradients of the masked-LM step, by hand and by the reference.
#[test]
fn masked_lm_loss_and_gradients_match_the_reference_graph() {
    use crate::model::bert::{BertModel, MaskedLmHead};
    let cfg = config("gelu", 0.0);
    let params = random_values(MaskedLmNet::slot_shapes(&cfg), 21);
    let (seqs, _) = windows();
    // Positions into the windows laid end to end: 5 + 9 + 3 pieces.
    let positions = [1usize, 3, 6, 9, 10, 15];
    let targets = [4u32, 9, 33, 0, 39, 12];

    let net = MaskedLmNet::new(&cfg);
    let refs: Vec<&[u32]> = seqs.iter().map(|s| s.as_slice()).collect();
    let w: Vec<&[f32]> = params.iter().map(|p| p.2.as_slice()).collect();
    let mut grads: Vec<Vec<f32>> = params.iter().map(|p| vec![0.0; p.2.len()]).collect();
    let (loss, hits) = net
        .step(
            &w,
            &refs,
            &positions,
            &targets,
            Some(3),
            &mut Tape::default(),
            &mut grads,
        )
        .unwrap();

    let dev = Device::Cpu;
    let mut tensors = HashMap::new();
    let mut vars = Vec::new();
    for (name, dims, v) in &params {
        let var =
            Var::from_tensor(&Tensor::from_vec(v.clone(), dims.as_slice(), &dev).unwrap()).unwrap();
        tensors.insert(name.clone(), var.as_tensor().clone());
        vars.push(var);
    }
    let weights = Weights::new(tensors, "test");
    let bert = BertModel::load(&weights, &cfg).unwrap();
    let head = MaskedLmHead::load(&weights, &cfg).unwrap();
    let (ids, mask) = pad_batch(&refs, 0).unwrap();
    let len = ids.dims()[1];
    let padded: Vec<u32> = positions
        .iter()
        .map(|&p| {
            let (mut row, mut start) = (0, 0);
            while p >= start + seqs[row].len() {
                start += seqs[row].len();
                row += 1;
            }
            (row * len + p - start) as u32
        })
        .collect();
    let mut drop = Dropout::new(1);
    let mut mode = Mode::Train(&mut drop);
    let x = bert.forward(&ids, &mask, &mut mode).unwrap();
    let (b, l, h) = x.dims3().unwrap();
    let picked = x
        .reshape((b * l, h))
        .unwrap()
        .index_select(&Tensor::new(padded.as_slice(), &dev).unwrap(), 0)
        .unwrap();
    let logits = head.forward(&picked, &mode).unwrap();
    let best = logits.argmax(D::Minus1).unwrap().to_vec1::<u32>().unwrap();
    let ref_hits = best.iter().zip(&targets).filter(|(a, b)| a == b).count();
    let ref_loss =
        candle_nn::loss::cross_entropy(&logits, &Tensor::new(&targets[..], &dev).unwrap()).unwrap();
    let ref_grads = ref_loss.backward().unwrap();
    let ref_loss = ref_loss.to_scalar::<f32>().unwrap();
    assert!(
        (loss - ref_loss).abs() < 1e-5 * ref_loss.abs().max(1.0),
        "loss {loss} vs {ref_loss}"
    );
    assert_eq!(hits, ref_hits);
    for ((p, g), var) in params.iter().zip(&grads).zip(&vars) {
        let r = ref_grads
            .get(var.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_close(&format!("masked LM {}", p.0), g, &r);
    }
}

#[test]
fn a_step_gives_the_same_numbers_on_any_number_of_threads() {
    // Enough pieces for several row blocks of a product and several chunks
    // of the column sums, and products wide enough for the packed kernel.
    let cfg: BertConfig = serde_json::from_str(
        r#"{"vocab_size": 40, "hidden_size": 32, "num_hidden_layers": 2,
            "num_attention_heads": 4, "intermediate_size": 80,
            "max_position_embeddings": 64, "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
            "layer_norm_eps": 1e-5}"#,
    )
    .unwrap();
    let params = parameters(&cfg, 3, 5);
    let net = TokenClassifierNet::new(&cfg, 3);
    let mut rng = Dropout::new(11);
    let seqs: Vec<Vec<u32>> = (0..14)
        .map(|i| {
            (0..10 + 3 * i)
                .map(|_| (rng.next_u64() % 40) as u32)
                .collect()
        })
        .collect();
    let targets: Vec<Vec<i64>> = seqs
        .iter()
        .map(|s| s.iter().map(|&id| id as i64 % 4 - 1).collect())
        .collect();
    let seqs: Vec<&[u32]> = seqs.iter().map(|s| s.as_slice()).collect();
    let targets: Vec<&[i64]> = targets.iter().map(|s| s.as_slice()).collect();
    let w: Vec<&[f32]> = params.iter().map(|p| p.2.as_slice()).collect();
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut grads: Vec<Vec<f32>> = params.iter().map(|p| vec![0.0; p.2.len()]).collect();
            let mut tape = Tape::default();
            let loss = net
                .step(&w, &seqs, &targets, 3, &mut tape, &mut grads)
                .unwrap();
            (loss, grads)
        })
    };
    let (one, g1) = run(1);
    for threads in [2, 3] {
        let (many, g) = run(threads);
        assert_eq!(one.to_bits(), many.to_bits(), "{threads} threads");
        for ((a, b), p) in g1.iter().zip(&g).zip(&params) {
            assert!(
                a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{}: {threads} threads",
                p.0
            );
        }
    }
}

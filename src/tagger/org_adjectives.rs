//! Organizations take the definite nisba adjective after them
//! (`[البنك المركزي] الأردني` → `[البنك المركزي الأردني]`) when the model
//! gives it some belief of continuing them.

use super::WordScore;
use crate::text::words::is_definite_nisba;

/// Least probability of `I-ORG` for an adjective to join the organization
/// before it; chosen on AQMAR dev and the Wojood validation set (0 joins
/// every one and loses there, 0.1 gains a little on both).
pub const ORG_ADJECTIVE_MIN_PROB: f32 = 0.1;

/// Indices of `O`, `B-ORG` and `I-ORG`.
#[derive(Debug, Clone, Copy)]
pub(super) struct OrgLabels {
    pub(super) outside: usize,
    pub(super) begin: usize,
    pub(super) inside: usize,
}

/// Gives `I-ORG` to each definite nisba adjective tagged `O` right after
/// an organization word when the model's `I-ORG` probability for it
/// reaches [`ORG_ADJECTIVE_MIN_PROB`]; a run of them joins one by one
/// (`الاتحاد الوطني الفلسطيني`). The joined word scores that probability.
pub(super) fn join_org_adjectives(
    words: &[&str],
    rows: &[&[f32]],
    scores: &mut [WordScore],
    org: OrgLabels,
) {
    for k in 1..scores.len().min(words.len()) {
        let after_org = [org.begin, org.inside].contains(&scores[k - 1].label);
        let p = rows[k][org.inside];
        if after_org
            && scores[k].label == org.outside
            && p >= ORG_ADJECTIVE_MIN_PROB
            && is_definite_nisba(words[k])
        {
            scores[k] = WordScore {
                label: org.inside,
                prob: p,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organizations_take_the_nisba_adjectives_after_them() {
        let org = OrgLabels {
            outside: 0,
            begin: 1,
            inside: 2,
        };
        // Probabilities of O, B-ORG, I-ORG for each word.
        let words = [
            "البنك",
            "المركزي",
            "الأردني",
            "الوطنية",
            "قال",
            "الأردني",
            "البنك",
            "العربي",
        ];
        let probs: [[f32; 3]; 8] = [
            [0.1, 0.8, 0.1],
            [0.1, 0.1, 0.8],
            [0.7, 0.0, 0.3],   // joins: 0.3 ≥ 0.1
            [0.8, 0.05, 0.15], // joins after the one before
            [0.9, 0.05, 0.05],
            [0.6, 0.0, 0.4], // after O: stays O
            [0.2, 0.7, 0.1],
            [0.95, 0.0, 0.05], // under the threshold
        ];
        let rows: Vec<&[f32]> = probs.iter().map(|r| r.as_slice()).collect();
        let mut scores: Vec<WordScore> = [1, 2, 0, 0, 0, 0, 1, 0]
            .iter()
            .zip(&probs)
            .map(|(&label, p)| WordScore {
                label,
                prob: p[label],
            })
            .collect();
        join_org_adjectives(&words, &rows, &mut scores, org);
        let labels: Vec<usize> = scores.iter().map(|w| w.label).collect();
        assert_eq!(labels, [1, 2, 2, 2, 0, 0, 1, 0]);
        assert_eq!(scores[2].prob, 0.3);
    }
}

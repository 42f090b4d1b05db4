//! Word-piece tokenization of pre-split words, for `tokenizer.json` files
//! (WordPiece, Unigram, BPE) and for a bare BERT `vocab.txt`.

use std::path::{Path, PathBuf};

use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::Tokenizer;

use crate::error::{Error, Result};

/// Splits single words into vocabulary ids and knows the special tokens.
///
/// Words are tokenized one at a time: every supported pre-tokenizer treats a
/// space as a hard boundary, so a word gets the same pieces alone as inside a
/// sentence, and tagging does not depend on batching or windows.
pub struct WordTokenizer {
    inner: Tokenizer,
    /// Id of the sequence-start token (`[CLS]` or `<s>`).
    pub cls: u32,
    /// Id of the sequence-end token (`[SEP]` or `</s>`).
    pub sep: u32,
    /// Id of the unknown-piece token, used for words that give no piece.
    pub unk: u32,
    vocab_size: usize,
    /// The file the tokenizer was read from.
    source: PathBuf,
}

/// Characters no Arabic vocabulary holds (an Egyptian hieroglyph and a
/// private-use character), encoded once at load.
const UNKNOWN_PROBE: &str = "\u{13000}\u{E000} x\u{13000}";

fn first_id(tok: &Tokenizer, names: &[&str]) -> Option<u32> {
    names.iter().find_map(|n| tok.token_to_id(n))
}

impl WordTokenizer {
    /// Loads `tokenizer.json`, or builds a BERT WordPiece tokenizer from
    /// `vocab.txt` and the options of `tokenizer_config.json`.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let json = dir.join("tokenizer.json");
        let vocab = dir.join("vocab.txt");
        let (inner, path, unk) = if json.is_file() {
            let t = Tokenizer::from_file(&json)
                .map_err(|e| Error::model(&json, format!("invalid tokenizer: {e}")))?;
            (t, json, None)
        } else if vocab.is_file() {
            let (t, unk) = Self::wordpiece(dir, &vocab)?;
            (t, vocab, Some(unk))
        } else {
            return Err(Error::model(
                dir,
                "no tokenizer.json or vocab.txt in the model folder",
            ));
        };
        Self::new(inner, &path, unk.as_deref())
    }

    /// A WordPiece tokenizer from `vocab.txt`, and the name of its unknown
    /// token (`unk_token` of `tokenizer_config.json`, or `[UNK]`).
    fn wordpiece(dir: &Path, vocab: &Path) -> Result<(Tokenizer, String)> {
        let cfg_path = dir.join("tokenizer_config.json");
        let cfg: serde_json::Value = if cfg_path.is_file() {
            let text = crate::model::config::read_json_text(&cfg_path)?;
            serde_json::from_str(text.strip_prefix('\u{feff}').unwrap_or(&text))
                .map_err(|e| Error::model(&cfg_path, format!("invalid JSON: {e}")))?
        } else {
            serde_json::Value::Null
        };
        let lower = cfg
            .get("do_lower_case")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let strip_accents = cfg.get("strip_accents").and_then(|v| v.as_bool());
        let unk = cfg
            .get("unk_token")
            .and_then(|v| v.as_str())
            .unwrap_or("[UNK]");
        let vocab_str = vocab
            .to_str()
            .ok_or_else(|| Error::model(vocab, "path is not UTF-8"))?;
        let model = WordPiece::from_file(vocab_str)
            .unk_token(unk.to_string())
            .build()
            .map_err(|e| Error::model(vocab, format!("invalid vocabulary: {e}")))?;
        let mut tok = Tokenizer::new(model);
        let _ = tok.with_normalizer(Some(BertNormalizer::new(true, true, strip_accents, lower)));
        tok.with_pre_tokenizer(Some(BertPreTokenizer));
        if tok.token_to_id(unk).is_none() {
            return Err(Error::model(
                vocab,
                format!(
                    "the unknown token {unk:?} (unk_token) is not in the vocabulary: words outside it could not be read"
                ),
            ));
        }
        Ok((tok, unk.to_string()))
    }

    /// `unk` names the unknown token when the tokenizer's model says which
    /// it is (a `vocab.txt` WordPiece); otherwise `[UNK]` or `<unk>`.
    fn new(inner: Tokenizer, path: &Path, unk: Option<&str>) -> Result<Self> {
        let cls = first_id(&inner, &["[CLS]", "<s>"])
            .ok_or_else(|| Error::model(path, "no [CLS] or <s> token in the vocabulary"))?;
        let sep = first_id(&inner, &["[SEP]", "</s>"])
            .ok_or_else(|| Error::model(path, "no [SEP] or </s> token in the vocabulary"))?;
        let unk = match unk {
            Some(name) => inner.token_to_id(name),
            None => first_id(&inner, &["[UNK]", "<unk>"]),
        }
        .ok_or_else(|| Error::model(path, "no [UNK] or <unk> token in the vocabulary"))?;
        // A model that cannot encode what its vocabulary lacks (a WordPiece
        // whose unknown token is missing, say) would fail on the first rare
        // character of some input: refuse it now rather than then.
        inner.encode(UNKNOWN_PROBE, false).map_err(|e| {
            Error::model(
                path,
                format!("cannot encode characters outside the vocabulary: {e}"),
            )
        })?;
        let vocab_size = inner.get_vocab_size(true);
        Ok(WordTokenizer {
            inner,
            cls,
            sep,
            unk,
            vocab_size,
            source: path.to_path_buf(),
        })
    }

    /// Id of the first of `names` in the vocabulary (`["[MASK]", "<mask>"]`).
    pub fn token_id(&self, names: &[&str]) -> Option<u32> {
        first_id(&self.inner, names)
    }

    /// Number of ids the tokenizer can produce (with added tokens).
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// The largest id the tokenizer can produce (with added tokens).
    pub fn max_id(&self) -> u32 {
        self.inner
            .get_vocab(true)
            .values()
            .copied()
            .max()
            .unwrap_or(0)
    }

    /// The file the tokenizer was read from (`tokenizer.json` or `vocab.txt`).
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// Whether `other` maps every piece to the same id, special tokens
    /// included, so both give the same ids for any text: the condition for
    /// models to share one encoding of it.
    pub fn same_vocabulary(&self, other: &WordTokenizer) -> bool {
        (self.cls, self.sep, self.unk, self.vocab_size)
            == (other.cls, other.sep, other.unk, other.vocab_size)
            && self.inner.get_vocab(true) == other.inner.get_vocab(true)
    }

    /// Appends the ids of one word to `out`; a word that gives no piece at
    /// all (for example a lone symbol the vocabulary lacks) gives `unk`, so
    /// that every word has at least one piece to carry its label.
    pub fn push_word(&self, word: &str, out: &mut Vec<u32>) -> Result<usize> {
        let enc = self
            .inner
            .encode(word, false)
            .map_err(|e| Error::input(format!("cannot tokenize {word:?}: {e}")))?;
        let ids = enc.get_ids();
        if ids.is_empty() {
            out.push(self.unk);
            return Ok(1);
        }
        out.extend_from_slice(ids);
        Ok(ids.len())
    }

    /// The pieces of a word as strings (for tests and debugging).
    pub fn pieces(&self, word: &str) -> Result<Vec<String>> {
        let enc = self
            .inner
            .encode(word, false)
            .map_err(|e| Error::input(format!("cannot tokenize {word:?}: {e}")))?;
        Ok(enc.get_tokens().to_vec())
    }
}

/// Word pieces of a sequence of words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedWords {
    /// Piece ids, without special tokens.
    pub ids: Vec<u32>,
    /// `starts[i]..starts[i + 1]` are the pieces of word `i`; one entry more
    /// than there are words.
    pub starts: Vec<usize>,
}

impl EncodedWords {
    /// Number of words.
    pub fn words(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// Several encodings' words in order, as one sequence.
    pub fn concat(parts: &[EncodedWords]) -> EncodedWords {
        let mut out = EncodedWords {
            ids: Vec::with_capacity(parts.iter().map(|p| p.ids.len()).sum()),
            starts: vec![0],
        };
        for p in parts {
            let base = out.ids.len();
            out.ids.extend_from_slice(&p.ids);
            out.starts.extend(p.starts.iter().skip(1).map(|s| s + base));
        }
        out
    }

    /// The pieces of word `i`.
    pub fn word(&self, i: usize) -> &[u32] {
        &self.ids[self.starts[i]..self.starts[i + 1]]
    }
}

impl WordTokenizer {
    /// Pieces of each word, in order; words should already be normalized.
    pub fn encode_words<S: AsRef<str>>(&self, words: &[S]) -> Result<EncodedWords> {
        let mut out = EncodedWords {
            ids: Vec::with_capacity(words.len() * 2),
            starts: Vec::with_capacity(words.len() + 1),
        };
        out.starts.push(0);
        for w in words {
            self.push_word(w.as_ref(), &mut out.ids)?;
            out.starts.push(out.ids.len());
        }
        Ok(out)
    }
}

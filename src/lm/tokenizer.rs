//! Word-level tokenizer, as usual for WikiText-2: tokens are whitespace-separated words,
//! every line ends with `<eos>`, the vocabulary is the set of words of the training file
//! (ids in order of first appearance, after `<unk>` = 0 and `<eos>` = 1), and any other word
//! becomes `<unk>`.

use super::LmError;
use std::collections::HashMap;

/// The unknown-word token.
pub const UNK: &str = "<unk>";
/// The end-of-line token.
pub const EOS: &str = "<eos>";

/// A word vocabulary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tokenizer {
    words: Vec<String>,
    index: HashMap<String, u32>,
}

impl Tokenizer {
    /// The vocabulary of `text`.
    pub fn from_text(text: &str) -> Self {
        let mut t = Tokenizer {
            words: Vec::new(),
            index: HashMap::new(),
        };
        t.push(UNK);
        t.push(EOS);
        for w in text.split_whitespace() {
            t.push(w);
        }
        t
    }

    /// A tokenizer with exactly these words (ids in order).
    ///
    /// # Errors
    /// [`LmError::Checkpoint`] if the list does not start with `<unk>`, `<eos>`, repeats a
    /// word or contains whitespace.
    pub fn from_words(words: Vec<String>) -> Result<Self, LmError> {
        if words.len() < 2 || words[0] != UNK || words[1] != EOS {
            return Err(LmError::Checkpoint(
                "vocabulary must start with <unk>, <eos>".into(),
            ));
        }
        let mut index = HashMap::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            if w.is_empty() || w.chars().any(char::is_whitespace) {
                return Err(LmError::Checkpoint(format!("bad vocabulary entry {w:?}")));
            }
            if index.insert(w.clone(), i as u32).is_some() {
                return Err(LmError::Checkpoint(format!(
                    "repeated vocabulary entry {w:?}"
                )));
            }
        }
        Ok(Tokenizer { words, index })
    }

    fn push(&mut self, w: &str) {
        if !self.index.contains_key(w) {
            self.index.insert(w.to_owned(), self.words.len() as u32);
            self.words.push(w.to_owned());
        }
    }

    /// Vocabulary size.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Always false (`<unk>` and `<eos>` are always present).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The words, by id.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The id of `word` (`<unk>`'s id if unknown).
    pub fn id(&self, word: &str) -> u32 {
        self.index.get(word).copied().unwrap_or(0)
    }

    /// Tokens of `text`: each line's words, then `<eos>`.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        for line in text.lines() {
            out.extend(line.split_whitespace().map(|w| self.id(w)));
            out.push(1);
        }
        out
    }

    /// Text of `ids`: words separated by one space, `<eos>` as a line break.
    ///
    /// # Errors
    /// [`LmError::Input`] for an id outside the vocabulary.
    pub fn decode(&self, ids: &[u32]) -> Result<String, LmError> {
        let mut s = String::new();
        let mut line_start = true;
        for &id in ids {
            let w = self
                .words
                .get(id as usize)
                .ok_or_else(|| LmError::Input(format!("token id {id} outside the vocabulary")))?;
            if id == 1 {
                s.push('\n');
                line_start = true;
            } else {
                if !line_start {
                    s.push(' ');
                }
                s.push_str(w);
                line_start = false;
            }
        }
        Ok(s)
    }
}

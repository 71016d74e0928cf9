//! Sufficient statistics of a multinomial naive Bayes model: paragraphs per class and
//! token occurrences per class. They are exact integers, so adding data (`--update`) and
//! removing it (`forget`) are exact, and the fitted model is a pure function of them.

use rustc_hash::FxHashMap;

/// Per-class paragraph and token counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Class names, sorted (the canonical order of every per-class vector).
    classes: Vec<String>,
    /// Paragraphs seen per class.
    docs: Vec<u64>,
    /// Token -> occurrences per class.
    tokens: FxHashMap<String, Vec<u64>>,
}

impl Counts {
    /// Empty statistics.
    pub fn new() -> Self {
        Self::default()
    }

    /// Class names in canonical (sorted) order.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Paragraphs per class, in [`Counts::classes`] order.
    pub fn docs(&self) -> &[u64] {
        &self.docs
    }

    /// Number of distinct tokens seen.
    pub fn distinct_tokens(&self) -> usize {
        self.tokens.len()
    }

    /// Index of `class`, adding it (and widening every vector) if new.
    pub fn class_index(&mut self, class: &str) -> usize {
        match self.classes.binary_search_by(|c| c.as_str().cmp(class)) {
            Ok(i) => i,
            Err(i) => {
                self.classes.insert(i, class.to_string());
                self.docs.insert(i, 0);
                for v in self.tokens.values_mut() {
                    v.insert(i, 0);
                }
                i
            }
        }
    }

    /// Index of an existing class.
    pub fn find_class(&self, class: &str) -> Option<usize> {
        self.classes
            .binary_search_by(|c| c.as_str().cmp(class))
            .ok()
    }

    /// Adds one paragraph of class `class` with the given tokens.
    pub fn add<'a>(&mut self, class: usize, tokens: impl IntoIterator<Item = &'a str>) {
        self.docs[class] += 1;
        let n = self.classes.len();
        for t in tokens {
            match self.tokens.get_mut(t) {
                Some(v) => v[class] += 1,
                None => {
                    let mut v = vec![0; n];
                    v[class] = 1;
                    self.tokens.insert(t.to_string(), v);
                }
            }
        }
    }

    /// Adds every count of `other` (classes are matched by name).
    pub fn merge(&mut self, other: &Counts) {
        let map: Vec<usize> = other.classes.iter().map(|c| self.class_index(c)).collect();
        let n = self.classes.len();
        for (i, &d) in other.docs.iter().enumerate() {
            self.docs[map[i]] += d;
        }
        for (tok, v) in &other.tokens {
            let mine = self.tokens.entry(tok.clone()).or_insert_with(|| vec![0; n]);
            for (i, &c) in v.iter().enumerate() {
                mine[map[i]] += c;
            }
        }
    }

    /// Removes every count of `other`; fails (changing nothing) if `other` holds anything
    /// this model never counted, since then it was not part of the training data.
    pub fn subtract(&mut self, other: &Counts) -> Result<(), String> {
        let mut map = Vec::with_capacity(other.classes.len());
        for (i, c) in other.classes.iter().enumerate() {
            match self.find_class(c) {
                Some(j) => map.push(j),
                None if other.docs[i] == 0 => map.push(usize::MAX),
                None => return Err(format!("class {c:?} is not in the model")),
            }
        }
        for (i, &d) in other.docs.iter().enumerate() {
            if d > 0 && self.docs[map[i]] < d {
                return Err(format!(
                    "the model was not trained on it: it holds more {:?} paragraphs than the model counted",
                    other.classes[i]
                ));
            }
        }
        let over = |tok: &str, v: &[u64]| {
            let mine = self.tokens.get(tok);
            (v.iter().enumerate())
                .find(|&(i, &c)| c > 0 && mine.is_none_or(|m| m[map[i]] < c))
                .map(|(i, _)| i)
        };
        if other.tokens.iter().any(|(tok, v)| over(tok, v).is_some()) {
            // Named by a word where one will do (a structure token such as __len_10_19__
            // says little), the first in byte order: the same in every run.
            let mut found: Vec<(&str, usize)> = (other.tokens.iter())
                .filter_map(|(tok, v)| over(tok, v).map(|i| (tok.as_str(), i)))
                .collect();
            found.sort_unstable_by_key(|&(tok, _)| (tok.starts_with("__"), tok));
            let (tok, i) = found[0];
            return Err(format!(
                "the model was not trained on it: it holds {:?} paragraphs with {tok:?} more often than the model counted",
                other.classes[i]
            ));
        }
        for (i, &d) in other.docs.iter().enumerate() {
            if d > 0 {
                self.docs[map[i]] -= d;
            }
        }
        for (tok, v) in &other.tokens {
            if let Some(mine) = self.tokens.get_mut(tok) {
                for (i, &c) in v.iter().enumerate() {
                    if c > 0 {
                        mine[map[i]] -= c;
                    }
                }
                if mine.iter().all(|&c| c == 0) {
                    self.tokens.remove(tok);
                }
            }
        }
        // A class with no paragraphs left is no longer a class of the model.
        while let Some(i) = self.docs.iter().position(|&d| d == 0) {
            if self.tokens.values().any(|v| v[i] > 0) {
                break;
            }
            self.classes.remove(i);
            self.docs.remove(i);
            for v in self.tokens.values_mut() {
                v.remove(i);
            }
        }
        Ok(())
    }

    /// Tokens with their per-class counts, sorted by token bytes (the canonical order).
    pub fn sorted_tokens(&self) -> Vec<(&str, &[u64])> {
        let mut v: Vec<(&str, &[u64])> = self
            .tokens
            .iter()
            .map(|(k, c)| (k.as_str(), c.as_slice()))
            .collect();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// Rebuilds statistics from parts (used by the model reader).
    pub(crate) fn from_parts(
        classes: Vec<String>,
        docs: Vec<u64>,
        tokens: FxHashMap<String, Vec<u64>>,
    ) -> Self {
        Counts {
            classes,
            docs,
            tokens,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_then_subtract_is_identity() {
        let mut a = Counts::new();
        let n = a.class_index("news");
        a.add(n, ["国务院", "会议"]);
        let mut b = Counts::new();
        let f = b.class_index("filler");
        b.add(f, ["哈哈", "会议"]);
        let n2 = b.class_index("news");
        b.add(n2, ["会议"]);
        let orig = a.clone();
        a.merge(&b);
        assert_eq!(a.classes(), ["filler", "news"]);
        assert_eq!(a.docs(), [1, 2]);
        a.subtract(&b).unwrap();
        assert_eq!(a, orig);
        assert!(a.subtract(&b).is_err());
        assert_eq!(a, orig, "a failed subtract changes nothing");
    }
}

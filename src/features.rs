//! Featurizer: turns one paragraph into the tokens the model counts.
//!
//! Tokens are jieba-rs words of a normalised copy of the line (full-width ASCII folded to
//! half-width, Latin lower-cased) plus a few structural pseudo-tokens (`__bullet__`,
//! `__len_20_39__`, ...). Normalisation happens here only: the bytes chaff writes are always
//! the input's own.

use crate::traditional::Traditional;
use jieba_rs::Jieba;
use serde::{Deserialize, Serialize};

/// Tokenizer settings; stored in every model so a model is always applied with the
/// featurizer it was trained with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Whether jieba's HMM guesses out-of-dictionary words.
    pub hmm: bool,
    /// Whether structural pseudo-tokens are added.
    pub structure: bool,
    /// Whether a line with no letter or digit (a separator such as `＊＊＊＊＊`, a run of
    /// `？`) gets no word tokens, so its class comes from its structure tokens, layout and
    /// neighbours: its symbols' counts come from unrelated text (`*` masks words in social
    /// posts, and five of them outvoted an article around a separator line). Models
    /// written before the setting existed count such words, and still do.
    #[serde(default)]
    pub wordless_symbol_lines: bool,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        // HMM off: measured on eval/dev it costs throughput and does not help (README).
        FeatureConfig {
            hmm: false,
            structure: true,
            wordless_symbol_lines: true,
        }
    }
}

/// jieba-rs with its default dictionary, built apart from a [`Featurizer`] so it can load
/// while the model does ([`crate::classifier::Classifier::load`]).
pub struct Segmenter(Jieba);

impl Segmenter {
    /// Loads the dictionary (tens of milliseconds).
    pub fn new() -> Segmenter {
        Segmenter(Jieba::new())
    }
}

impl Default for Segmenter {
    fn default() -> Self {
        Segmenter::new()
    }
}

/// Segmenter plus feature rules. Building one loads jieba's dictionary (tens of ms), so
/// build it once per process and share it (`&Featurizer` is `Sync`).
pub struct Featurizer {
    jieba: Jieba,
    config: FeatureConfig,
}

/// Characters that open a list item in dumps ("  • item").
const BULLETS: &[char] = &[
    '•', '·', '●', '○', '◆', '◇', '■', '□', '▪', '►', '▶', '★', '☆', '-', '*', '+', '–', '—',
];

/// Marks that end a finished sentence or a quoted/bracketed one.
const SENTENCE_END: &[char] = &[
    '。', '！', '？', '!', '?', '…', '”', '"', '」', '』', '）', ')', '】', '；', ';', '.', '：',
    ':',
];

impl Featurizer {
    /// A featurizer with the given settings.
    pub fn new(config: FeatureConfig) -> Self {
        Featurizer::with_segmenter(config, Segmenter::new())
    }

    /// A featurizer over an already loaded segmenter.
    pub fn with_segmenter(config: FeatureConfig, segmenter: Segmenter) -> Self {
        Featurizer {
            jieba: segmenter.0,
            config,
        }
    }

    /// The settings this featurizer applies.
    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    /// Calls `emit` once per feature token of `line` (a paragraph without its line ending).
    /// Tokens may repeat; each occurrence counts.
    pub fn for_each_token(&self, line: &str, mut emit: impl FnMut(&str)) {
        self.for_each_token_kind(line, |t, _| emit(t));
    }

    /// As [`Featurizer::for_each_token`], telling word tokens (`false`) from structure
    /// tokens (`true`).
    pub fn for_each_token_kind(&self, line: &str, mut emit: impl FnMut(&str, bool)) {
        let emit = std::cell::RefCell::new(&mut emit);
        self.for_each_batch(
            line,
            |words| words.iter().for_each(|w| (emit.borrow_mut())(w, false)),
            |t| (emit.borrow_mut())(t, true),
        );
    }

    /// The same tokens in batches: `words` receives the word tokens of the line (a huge
    /// line in several batches, one per segmented piece), then `structure` each structure
    /// token. The scorer takes a batch straight from jieba's output, without copying.
    pub fn for_each_batch(
        &self,
        line: &str,
        mut words: impl FnMut(&Words<'_>),
        mut structure: impl FnMut(&str),
    ) {
        // A huge line (a whole page without newlines) is segmented piece by piece, so
        // memory stays proportional to the piece, not the line. The buffer is taken out
        // of its slot, not borrowed, so a nested call would only allocate a fresh one.
        let mut norm = NORM_BUFFER.with(std::cell::Cell::take);
        let mut census = Census::default();
        let wordless = self.config.wordless_symbol_lines && !has_letter_or_digit(line);
        for piece in pieces(line, PIECE) {
            // Most lines need no normalisation: they are segmented where they are.
            let text = if normalize_scan(piece, &mut norm, &mut census) {
                norm.as_str()
            } else {
                piece
            };
            if !wordless {
                words(&Words(self.jieba.cut(text, self.config.hmm)));
            }
        }
        if norm.capacity() <= PIECE * 2 {
            NORM_BUFFER.with(|slot| slot.set(norm));
        }
        if self.config.structure {
            structure_tokens(line, &census, &mut structure);
        }
    }

    /// Convenience: the tokens of `line` as owned strings.
    pub fn tokens(&self, line: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_token(line, |t| out.push(t.to_string()));
        out
    }
}

/// The word tokens of one piece of a line, in order.
pub struct Words<'a>(Vec<jieba_rs::Token<'a>>);

impl<'a> Words<'a> {
    /// The tokens; whitespace, which jieba returns as tokens, is not a feature.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.0.iter().map(|t| t.word).filter(|w| !is_space(w))
    }
}

/// Whether a token is all whitespace (jieba emits spaces as tokens; they are not
/// features). Decided from the first byte for nearly every token
/// ([`crate::whitespace::can_start_whitespace`]).
fn is_space(w: &str) -> bool {
    match w.as_bytes().first() {
        Some(&b) if !crate::whitespace::can_start_whitespace(b) => false,
        _ => w.chars().all(char::is_whitespace),
    }
}

thread_local! {
    /// Each thread's normalisation buffer, reused line after line.
    static NORM_BUFFER: std::cell::Cell<String> = const { std::cell::Cell::new(String::new()) };
}

/// Longest piece of a line segmented at once.
const PIECE: usize = 16 * 1024;

/// Whether `line` has a letter or digit (`char::is_alphanumeric`). Nearly every line
/// has an ASCII one or a CJK ideograph (lead bytes E5-E9: U+5000-U+9FFF, all
/// ideographs) among its first bytes, found without decoding; only the rest are
/// decoded.
fn has_letter_or_digit(line: &str) -> bool {
    line.bytes()
        .any(|b| b.is_ascii_alphanumeric() || (0xE5..=0xE9).contains(&b))
        || line.chars().any(char::is_alphanumeric)
}

/// Splits `line` into pieces of at most about `max` bytes, after a sentence end or a
/// space when there is one in the last quarter of the window, else at a char boundary.
fn pieces(line: &str, max: usize) -> impl Iterator<Item = &str> {
    let mut rest = line;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        if rest.len() <= max {
            return Some(std::mem::take(&mut rest));
        }
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let window = &rest[..cut];
        let mut from = window.len() * 3 / 4;
        while !window.is_char_boundary(from) {
            from += 1;
        }
        let soft = window[from..]
            .rfind(|c: char| SENTENCE_END.contains(&c) || c.is_whitespace())
            .map(|i| {
                let at = from + i;
                at + window[at..].chars().next().map_or(1, char::len_utf8)
            });
        let cut = soft.unwrap_or(cut).max(1);
        let (head, tail) = rest.split_at(cut);
        rest = tail;
        Some(head)
    })
}

/// Folds full-width ASCII and the ideographic space to their half-width forms,
/// lower-cases ASCII letters, and maps Traditional characters to Simplified, so
/// "２０２２" and "2022", "經濟" and "经济" are one token each. (Training news is all
/// Simplified; without the mapping a Traditional news page would look like the
/// Traditional reviews among the filler.)
pub fn normalize(line: &str) -> String {
    let mut out = String::new();
    normalize_into(line, &mut out);
    out
}

/// [`normalize`] into a reused buffer (cleared first): the featurizer calls it once per
/// line, so it allocates nothing in the steady state.
pub fn normalize_into(line: &str, out: &mut String) {
    if !normalize_scan(line, out, &mut Census::default()) {
        out.push_str(line);
    }
}

/// What the structure tokens need to know about a line's characters, gathered while the
/// line is normalised: one pass over the text instead of two. Counts cover the whole
/// line, leading and trailing whitespace included.
#[derive(Debug, Default, Clone, PartialEq)]
struct Census {
    chars: usize,
    fwdigit: bool,
    emoji: bool,
    brackets: bool,
    hashes: usize,
    ats: bool,
    url_marks: bool,
}

/// [`normalize_into`], adding what it sees to `census`. Works on bytes: ASCII and the CJK
/// ideographs (nearly every character of a Chinese line) each take one test; the rarer
/// characters are decoded and matched in full. Returns whether the line changed: if not,
/// `out` is left empty rather than holding a copy of `line`.
fn normalize_scan(line: &str, out: &mut String, census: &mut Census) -> bool {
    out.clear();
    // Characters are counted as bytes minus continuation bytes, the latter tallied where
    // multi-byte characters are decoded anyway (ASCII, most bytes, costs nothing extra).
    let mut continuation = 0;
    let traditional = Traditional::get();
    let table = traditional.bits();
    let b = line.as_bytes();
    // Bits of the Traditional characters seen (their bitset bits), tested once at the end.
    let mut seen = 0u64;
    // Most characters map to themselves: they are copied a run at a time.
    let mut run = 0;
    let mut i = 0;
    while let Some(&x) = b.get(i) {
        if x < 0x80 {
            match x {
                b'A'..=b'Z' => {
                    if run == 0 {
                        out.reserve(line.len());
                    }
                    out.push_str(&line[run..i]);
                    out.push(char::from(x.to_ascii_lowercase()));
                    run = i + 1;
                }
                b'[' => census.brackets = true,
                b'#' => census.hashes += 1,
                b'@' => census.ats = true,
                // A web address holds "://" or "www." (see `has_url`); a mark near either
                // end of the piece, where it could be one's part, counts as well.
                b':' => census.url_marks |= b.get(i + 1..i + 3).is_none_or(|n| n == b"//"),
                b'.' => census.url_marks |= i < 3 || &b[i - 3..i] == b"www",
                _ => {}
            }
            i += 1;
            continue;
        }
        if (0xE4..=0xE9).contains(&x) {
            // A run of U+4000-U+9FFF, CJK ideographs: no fold, no structure cue; only the
            // Traditional check, whose bitset word is the code point's top 10 bits. A
            // loop of its own keeps the bits in a register.
            let (mut bits, from) = (0u64, i);
            // `chunks_exact` proves every index in bounds: no checks in the loop.
            for c in b[i..].chunks_exact(3) {
                let &[lead @ 0xE4..=0xE9, b1, b2] = c else {
                    break;
                };
                let word = (usize::from(lead & 0x0F) << 6) | usize::from(b1 & 0x3F);
                bits |= table[word & 1023] & (1 << (b2 & 0x3F));
                i += 3;
            }
            seen |= bits;
            continuation += (i - from) / 3 * 2;
            if i > from {
                continue;
            }
        }
        // `line` is valid UTF-8, so a lead byte's continuation bytes follow it.
        let tail = |k: usize| u32::from(b[i + k] & 0x3F);
        let (cp, len) = match x {
            0xC0..=0xDF => ((u32::from(x & 0x1F) << 6) | tail(1), 2),
            0xE0..=0xEF => ((u32::from(x & 0x0F) << 12) | (tail(1) << 6) | tail(2), 3),
            _ => (
                (u32::from(x & 0x07) << 18) | (tail(1) << 12) | (tail(2) << 6) | tail(3),
                4,
            ),
        };
        let folded = match cp {
            0xFF01..=0xFF5E => {
                match cp {
                    0xFF10..=0xFF19 => census.fwdigit = true,
                    0xFF03 => census.hashes += 1,
                    0xFF20 => census.ats = true,
                    _ => {}
                }
                // Full-width ASCII: the half-width character, lower-cased.
                Some(char::from((cp - 0xFEE0) as u8).to_ascii_lowercase())
            }
            0x3000 => Some(' '),
            _ => {
                census.emoji |= is_emoji(cp);
                if let Some(word) = table.get(cp as usize >> 6) {
                    seen |= word & (1 << (cp & 63));
                }
                None
            }
        };
        continuation += len - 1;
        if let Some(f) = folded {
            if run == 0 {
                out.reserve(line.len());
            }
            out.push_str(&line[run..i]);
            out.push(f);
            run = i + len;
        }
        i += len;
    }
    census.chars += line.len() - continuation;
    if run == 0 && seen == 0 {
        // Nothing folded (a fold at byte 0 moves `run` past it) and nothing Traditional.
        return false;
    }
    out.push_str(&line[run..]);
    if seen != 0 {
        // Rare: most lines have no Traditional character and skip the conversion.
        *out = traditional.convert(out);
    }
    true
}

fn is_emoji(cp: u32) -> bool {
    matches!(cp,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0xFE0F | 0x24C2 | 0x2B50 | 0x2B55 | 0x203C | 0x2049)
}

/// Structural pseudo-tokens: layout and register cues that words alone miss.
///
/// The character counts and trigger characters come from the [`Census`] taken while the
/// line was normalised; the costlier detectors (emoticons, hashtags, mentions, URLs) run
/// only on the few lines holding their trigger. The tests check this against the plain
/// definitions below.
fn structure_tokens(line: &str, census: &Census, emit: &mut impl FnMut(&str)) {
    let body = crate::whitespace::trim_start(line);
    let mut chars = body.chars();
    let bullet = chars.next().is_some_and(|first| {
        BULLETS.contains(&first) && chars.next().is_some_and(char::is_whitespace)
    });
    // A bulleted item is a list entry however it is indented; plain indentation is how
    // articles lay out paragraphs, a different cue.
    if bullet {
        emit("__bullet__");
    } else if body.len() != line.len() {
        emit("__indent__");
    }
    let lead = line.len() - body.len();
    let body = body.trim_end();
    // The census counted the whitespace around the body too (no cue is whitespace).
    let n = census.chars - line[..lead].chars().count() - line[lead + body.len()..].chars().count();
    emit(length_token(n));
    if body
        .chars()
        .next_back()
        .is_some_and(|c| !SENTENCE_END.contains(&c))
    {
        emit("__noend__");
    }
    if n == 80 {
        // Recommendation snippets are cut at exactly 80 characters.
        emit("__cut80__");
    }
    if census.fwdigit {
        emit("__fwdigit__");
    }
    if census.emoji {
        emit("__emoji__");
    }
    if census.brackets && has_emoticon(body) {
        emit("__emoticon__");
    }
    if census.hashes >= 2 && has_hashtag(body) {
        emit("__hashtag__");
    }
    if census.url_marks && has_url(body) {
        emit("__url__");
    }
    if census.ats && has_mention(body) {
        emit("__mention__");
    }
}

/// The length bucket of a line of `n` characters.
fn length_token(n: usize) -> &'static str {
    match n {
        0..=4 => "__len_0_4__",
        5..=9 => "__len_5_9__",
        10..=19 => "__len_10_19__",
        20..=39 => "__len_20_39__",
        40..=79 => "__len_40_79__",
        _ => "__len_80__",
    }
}

/// A web address: `http://`, `https://` or `www.`.
fn has_url(s: &str) -> bool {
    s.contains("http://") || s.contains("https://") || s.contains("www.")
}

/// `[哈哈]`-style emoticons: a short bracketed run without spaces.
fn has_emoticon(s: &str) -> bool {
    let mut rest = s;
    while let Some(i) = rest.find('[') {
        let after = &rest[i + 1..];
        if let Some(j) = after.find(']') {
            let inner = &after[..j];
            let n = inner.chars().count();
            if (1..=6).contains(&n) && !inner.contains(char::is_whitespace) {
                return true;
            }
        }
        rest = after;
    }
    false
}

/// `#话题#` hashtags (Weibo style: text between two '#', no line break).
fn has_hashtag(s: &str) -> bool {
    let parts: Vec<&str> = s.split(['#', '＃']).collect();
    parts.len() >= 3
        && parts[1..parts.len() - 1]
            .iter()
            .any(|p| !p.is_empty() && p.chars().count() <= 30)
}

/// `@name` mentions.
fn has_mention(s: &str) -> bool {
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '@' || c == '＠' {
            if let Some(&n) = it.peek() {
                if n.is_alphanumeric() || n == '_' {
                    return true;
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_into_pieces_at_char_boundaries() {
        let line = "新闻。".repeat(10_000) + &"字".repeat(10_000);
        let p: Vec<&str> = pieces(&line, 1000).collect();
        assert_eq!(p.concat(), line);
        assert!(p.iter().all(|x| x.len() <= 1000 && !x.is_empty()));
        assert!(p[0].ends_with('。'));
        assert_eq!(pieces("短", 1000).count(), 1);
    }

    #[test]
    fn space_tokens_are_told_from_the_first_byte() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let one = c.to_string();
            assert_eq!(is_space(&one), c.is_whitespace(), "U+{:04X}", c as u32);
            let two = format!("{c}x");
            assert!(!is_space(&two), "U+{:04X}x", c as u32);
        }
        assert!(is_space(""));
        assert!(is_space(" \u{3000}\t"));
    }

    #[test]
    fn a_line_without_a_letter_or_digit_has_no_words() {
        let kinds = |config: FeatureConfig, line: &str| {
            let mut out = (Vec::new(), Vec::new());
            Featurizer::new(config).for_each_token_kind(line, |t, structure| {
                if structure {
                    out.1.push(t.to_string())
                } else {
                    out.0.push(t.to_string())
                }
            });
            out
        };
        let new = FeatureConfig::default();
        let old = FeatureConfig {
            wordless_symbol_lines: false,
            ..FeatureConfig::default()
        };
        for line in [
            "＊＊＊＊＊",
            "　　＊＊＊＊＊",
            "？？？？？？",
            "……",
            "(╯‵□′)╯︵┻━┻",
            "🙂🙂",
        ] {
            let (words, structure) = kinds(new.clone(), line);
            assert!(words.is_empty(), "{line}: {words:?}");
            // The structure tokens stay: they are the line's evidence now.
            assert_eq!(structure, kinds(old.clone(), line).1, "{line}");
            assert!(!kinds(old.clone(), line).0.is_empty(), "{line}");
        }
        // One letter or digit, of any script, makes it a line of words.
        for line in ["＊＊好＊＊", "？？？Ａ", "１……", "— 30 —", "★★★ б"] {
            assert_eq!(kinds(new.clone(), line), kinds(old.clone(), line), "{line}");
        }
        // A model file without the setting (written before it) counts such words.
        let parsed: FeatureConfig =
            serde_json::from_str(r#"{"hmm": false, "structure": true}"#).unwrap();
        assert_eq!(parsed, old);
    }

    #[test]
    fn normalises_full_width() {
        assert_eq!(normalize("２０２２年ＡＢＣ"), "2022年abc");
        assert_eq!(normalize("經濟發展"), "经济发展");
    }

    /// The plain definition of the structure tokens, one test per cue: the single-pass
    /// `structure_tokens` must emit exactly these.
    fn structure_tokens_reference(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        let body = line.trim_start();
        let mut chars = body.chars();
        let bullet = chars.next().is_some_and(|first| {
            BULLETS.contains(&first) && chars.next().is_some_and(char::is_whitespace)
        });
        if bullet {
            out.push("__bullet__");
        } else if body.len() != line.len() {
            out.push("__indent__");
        }
        let body = body.trim_end();
        let n = body.chars().count();
        out.push(length_token(n));
        if body
            .chars()
            .last()
            .is_some_and(|c| !SENTENCE_END.contains(&c))
        {
            out.push("__noend__");
        }
        if n == 80 {
            out.push("__cut80__");
        }
        if body.chars().any(|c| ('０'..='９').contains(&c)) {
            out.push("__fwdigit__");
        }
        if body.chars().any(|c| is_emoji(c as u32)) {
            out.push("__emoji__");
        }
        if has_emoticon(body) {
            out.push("__emoticon__");
        }
        if has_hashtag(body) {
            out.push("__hashtag__");
        }
        if body.contains("http://") || body.contains("https://") || body.contains("www.") {
            out.push("__url__");
        }
        if has_mention(body) {
            out.push("__mention__");
        }
        out.into_iter().map(String::from).collect()
    }

    /// The plain definition of [`normalize`]: fold every character, then convert the
    /// whole line with fast2s.
    fn normalize_reference(line: &str) -> String {
        let folded: String = line
            .chars()
            .map(|c| match c {
                '\u{FF01}'..='\u{FF5E}' => {
                    char::from_u32(c as u32 - 0xFEE0).map_or(c, |h| h.to_ascii_lowercase())
                }
                '\u{3000}' => ' ',
                _ => c.to_ascii_lowercase(),
            })
            .collect();
        fast2s::convert(&folded)
    }

    /// The structure tokens as the featurizer computes them: census while normalising
    /// (a long line piece by piece), then the tokens.
    fn structure_of(line: &str) -> Vec<String> {
        let mut census = Census::default();
        let mut buf = String::new();
        for piece in pieces(line, 64) {
            normalize_scan(piece, &mut buf, &mut census);
        }
        let mut out = Vec::new();
        structure_tokens(line, &census, &mut |t| out.push(t.to_string()));
        out
    }

    #[test]
    fn web_addresses_are_found_across_piece_boundaries() {
        // `structure_of` cuts pieces of 64 bytes: every address, at every offset around
        // the first cut, and marks that are no address.
        for lead in 50..80 {
            for mark in [
                "http://x.cn",
                "https://x",
                "www.x",
                "a:b",
                "a.b",
                "ww.w",
                ":/",
            ] {
                let line = format!("{}{mark}{}", "a".repeat(lead), "a".repeat(70));
                assert_eq!(
                    structure_of(&line),
                    structure_tokens_reference(&line),
                    "{line}"
                );
            }
        }
    }

    #[test]
    fn single_pass_structure_tokens_match_their_definition() {
        let lines = [
            "",
            "  • 好开心[哈哈] #话题# @小明 😀",
            "\u{3000}\u{3000}会议指出。",
            "＃话题＃ 和 #另一个 ＠某人 @ 空",
            "访问 https://example.com 或 www.example.com：",
            "http:/ 不是网址 www 也不是.",
            "２０２４年１２月",
            "[] [太长了太长了太长了] [ok]",
            "# 只有一个井号",
            "##",
            "ⓂⓂ ☀️ ‼ 🀄",
        ];
        for line in lines {
            assert_eq!(
                structure_of(line),
                structure_tokens_reference(line),
                "{line:?}"
            );
        }
        let long = "字".repeat(80);
        assert_eq!(structure_of(&long), structure_tokens_reference(&long));
        // Every line of the seed page and the dev pages.
        let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
        let mut files = vec![shared.join("seed/page.txt")];
        if let Ok(dir) = std::fs::read_dir(shared.join("eval/dev/pages")) {
            files.extend(dir.filter_map(|e| e.ok().map(|e| e.path())));
        }
        let mut checked = 0;
        for f in files {
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            for line in text.lines() {
                assert_eq!(
                    structure_of(line),
                    structure_tokens_reference(line),
                    "{line:?}"
                );
                checked += 1;
            }
        }
        assert!(checked > 1000, "shared pages not found ({checked} lines)");
    }

    proptest::proptest! {
        #[test]
        fn structure_tokens_match_on_arbitrary_lines(
            line in "[ \\t\u{3000}•\\-*#＃@＠\\[\\]:.a-z0-9０-９wht/哈字。！😀☀éü]{0,90}"
        ) {
            proptest::prop_assert_eq!(structure_of(&line), structure_tokens_reference(&line));
        }

        #[test]
        fn normalize_into_matches_its_definition(
            line in "(\\PC|[Ａ-ｚ０-９\u{3000}經濟發展国]){0,60}"
        ) {
            let mut buf = String::from("stale");
            normalize_into(&line, &mut buf);
            proptest::prop_assert_eq!(buf, normalize_reference(&line));
        }

        #[test]
        fn has_letter_or_digit_is_any_alphanumeric(
            line in "(\\PC|[\u{4DC0}-\u{4DFF}\u{5000}-\u{9FFF}＊？*?。 ]){0,12}"
        ) {
            proptest::prop_assert_eq!(
                has_letter_or_digit(&line),
                line.chars().any(char::is_alphanumeric)
            );
        }
    }

    #[test]
    fn lines_of_symbols_have_no_letter_or_digit() {
        for (line, has) in [
            ("＊＊＊＊＊", false),
            ("䷀䷁ ？？", false), // Yijing hexagrams share lead byte E4 with ideographs
            ("", false),
            ("鿿", true), // U+9FFF, the last ideograph under lead byte E9
            ("＊２＊", true),
            ("— é —", true),
        ] {
            assert_eq!(has_letter_or_digit(line), has, "{line:?}");
        }
    }

    #[test]
    fn structure_cues() {
        let f = Featurizer::new(FeatureConfig::default());
        let t = f.tokens("  • 好开心[哈哈] #话题# @小明 😀");
        assert!(
            !t.iter().any(|x| x == "__indent__"),
            "a bullet is not an indent"
        );
        assert!(f
            .tokens("\u{3000}\u{3000}会议指出。")
            .iter()
            .any(|x| x == "__indent__"));
        for want in [
            "__bullet__",
            "__emoticon__",
            "__hashtag__",
            "__mention__",
            "__emoji__",
            "__noend__",
        ] {
            assert!(t.iter().any(|x| x == want), "{want} missing from {t:?}");
        }
        let t = f.tokens("国务院召开常务会议。");
        assert!(!t.iter().any(|x| x == "__noend__" || x == "__indent__"));
        assert!(t.iter().any(|x| x == "国务院"));
        assert!(!t.iter().any(|x| x.trim().is_empty()));
    }
}

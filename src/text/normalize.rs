//! Arabic text normalization that remembers where every character came from.
//!
//! The tagger reads [`Normalized::text`], but every entity it reports must be
//! a slice of the caller's *original* input. [`normalize`] therefore records
//! an alignment from normalized bytes back to original bytes, and
//! [`Normalized::original_span`] maps a normalized span back.
//!
//! # What is changed
//!
//! Always:
//! - removed: tashkeel U+064B..U+065F (the spec'd U+064B..U+0652 plus the
//!   rarer marks U+0653..U+065F when they do not combine, see below), the
//!   superscript alef U+0670, tatweel U+0640, Quranic marks U+0610..U+061A,
//!   U+06D6..U+06ED and U+08D3..U+08FF;
//! - removed: zero-width characters U+200B..U+200F, U+2060..U+2064, the BOM
//!   U+FEFF, the soft hyphen U+00AD, bidi controls U+202A..U+202E,
//!   U+2066..U+2069, U+206A..U+206F and the Arabic letter mark U+061C;
//! - Arabic presentation forms (U+FB50..U+FDFF, U+FE70..U+FEFE) become their
//!   base letters by per-character compatibility decomposition, so a
//!   ligature such as lam-alef yields two letters; spacing forms of harakat
//!   (U+FE70 etc.) are removed like the harakat themselves; the phrase
//!   ligatures U+FDFA and U+FDFB, which would decompose to several words,
//!   are kept as they are (one character cannot hold several words);
//! - a letter followed by a combining maddah or hamza (U+0653..U+0655) is
//!   composed into the precomposed letter (ا + U+0654 → أ), as NFC would;
//! - line breaks (LF, CR, CRLF, VT, FF, NEL, U+2028, U+2029) become `'\n'`
//!   (one per break; CRLF becomes a single `'\n'`), so sentence splitting can
//!   still see them; every other whitespace character becomes `' '`;
//! - other control characters, NUL included, become `' '`.
//!
//! With [`NormalizeOptions::letters`]: أ إ آ ٱ → ا, ى → ي, ة → ه, and the
//! Persian forms ی → ي and ک → ك that keyboards often put into Arabic text.
//!
//! # Alignment
//!
//! The alignment is run-length encoded: a run of characters copied unchanged
//! (or replaced by a character of the same UTF-8 length) is one segment, so
//! clean text costs a single segment whatever its length. Only the places
//! where something was removed, expanded or shortened add segments.

use unicode_normalization::char::decompose_compatible;

/// Options for [`normalize`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NormalizeOptions {
    /// Fold letter variants: أ إ آ ٱ → ا, ى → ي, ة → ه (and Persian ی → ي,
    /// ک → ك). Off by default; a model's config decides.
    pub letters: bool,
}

/// Normalized text plus its alignment to the original input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The normalized text. Do not modify it: the alignment describes this
    /// exact string (a modified text never makes the methods panic, but the
    /// offsets they return become meaningless).
    pub text: String,
    /// Sorted by `norm`, each covering at least one normalized byte.
    segments: Vec<Segment>,
    original_len: usize,
}

/// One piece of the alignment. It covers normalized bytes from `norm` up to
/// the next segment's `norm` (or the end of the text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    /// First normalized byte.
    norm: usize,
    /// First original byte.
    orig: usize,
    /// End of the original bytes that produced this segment's characters.
    orig_end: usize,
    /// `orig_end` extended over removed marks (harakat, tatweel, Quranic
    /// marks) that directly follow the segment's last character: they belong
    /// to the word that letter ends.
    attach_end: usize,
    /// Byte-for-byte: normalized byte `norm + k` is original byte `orig + k`.
    /// Otherwise the segment is one indivisible unit (a ligature, a composed
    /// pair, a changed-length replacement) and any part maps to all of it.
    linear: bool,
}

impl Normalized {
    /// The normalized text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Length of the normalized text in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Whether the normalized text is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Length in bytes of the original input.
    #[must_use]
    pub fn original_len(&self) -> usize {
        self.original_len
    }

    /// Maps the normalized byte span `norm_byte_start..norm_byte_end` to a
    /// byte span of the original input.
    ///
    /// The result covers every original character that produced any of the
    /// span's characters, the removed characters between them, and removed
    /// marks (harakat, tatweel, Quranic marks) directly after the span's last
    /// character. Removed characters before the first character, and removed
    /// invisible controls (bidi marks, zero-width characters) after the last
    /// one, are left out. Both ends are original char boundaries.
    ///
    /// Offsets that are not char boundaries are widened to the enclosing
    /// characters; offsets past the end are clamped. An empty (or reversed)
    /// span maps to an empty span at [`Normalized::original_offset`] of its
    /// start.
    #[must_use]
    pub fn original_span(&self, norm_byte_start: usize, norm_byte_end: usize) -> (usize, usize) {
        let start = floor_boundary(&self.text, norm_byte_start);
        let end = ceil_boundary(&self.text, norm_byte_end);
        if end <= start {
            let at = self.original_offset(start);
            return (at, at);
        }
        let (Some(first), Some(last)) = (
            self.segments.get(self.segment_at(start)),
            self.segments.get(self.segment_at(end - 1)),
        ) else {
            return (0, 0);
        };
        let orig_start = if first.linear {
            first.orig + (start - first.norm)
        } else {
            first.orig
        };
        let last_norm_end = self.segment_norm_end(self.segment_at(end - 1));
        let orig_end = if last.linear && end < last_norm_end {
            last.orig + (end - last.norm)
        } else {
            last.attach_end
        };
        let orig_end = orig_end.min(self.original_len);
        (orig_start.min(orig_end), orig_end)
    }

    /// Original byte offset where the normalized character at
    /// `norm_byte` starts; [`Normalized::original_len`] at or past the end.
    #[must_use]
    pub fn original_offset(&self, norm_byte: usize) -> usize {
        if norm_byte >= self.text.len() {
            return self.original_len;
        }
        let pos = floor_boundary(&self.text, norm_byte);
        match self.segments.get(self.segment_at(pos)) {
            Some(s) if s.linear => (s.orig + (pos - s.norm)).min(self.original_len),
            Some(s) => s.orig,
            None => self.original_len,
        }
    }

    /// Index of the segment containing normalized byte `pos`.
    fn segment_at(&self, pos: usize) -> usize {
        self.segments
            .partition_point(|s| s.norm <= pos)
            .saturating_sub(1)
    }

    fn segment_norm_end(&self, index: usize) -> usize {
        self.segments
            .get(index + 1)
            .map_or(self.text.len(), |s| s.norm)
    }
}

/// Normalizes `input` (see the module docs) and records the alignment.
#[must_use]
pub fn normalize(input: &str, opts: &NormalizeOptions) -> Normalized {
    let mut b = Builder {
        text: String::with_capacity(input.len()),
        segments: Vec::new(),
    };
    // Start of a pending run of unchanged characters, copied in one go.
    let mut run_start = 0;
    let mut chars = input.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let end = at + c.len_utf8();
        let action = classify(c, opts.letters);
        if matches!(action, Action::Keep) && composing_mark_after(c, chars.peek()).is_none() {
            continue;
        }
        b.copy(run_start, &input[run_start..at]);
        run_start = end;
        match action {
            Action::Keep | Action::Replace(_) => {
                let out = match action {
                    Action::Replace(r) => r,
                    _ => c,
                };
                if let Some((mark_end, composed)) = composing_mark_after(c, chars.peek()) {
                    chars.next();
                    run_start = mark_end;
                    b.unit(at, mark_end, fold(composed, opts.letters));
                } else if out.len_utf8() == c.len_utf8() {
                    b.copy(at, out.encode_utf8(&mut [0; 4]));
                } else {
                    b.unit(at, end, out);
                }
            }
            Action::CarriageReturn => {
                if let Some(&(lf_at, '\n')) = chars.peek() {
                    chars.next();
                    run_start = lf_at + 1;
                    b.unit(at, lf_at + 1, '\n');
                } else {
                    b.copy(at, "\n");
                }
            }
            Action::DropMark => b.drop_attached(at, end),
            Action::DropInvisible => {}
            Action::Compat => b.compat(at, c, opts.letters),
        }
    }
    b.copy(run_start, &input[run_start..]);
    Normalized {
        text: b.text,
        segments: b.segments,
        original_len: input.len(),
    }
}

/// What happens to one input character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Keep,
    Replace(char),
    /// CR, or CR LF together.
    CarriageReturn,
    /// A removed mark that belongs to the letter before it.
    DropMark,
    /// A removed invisible control that belongs to no letter.
    DropInvisible,
    /// A presentation form: decompose.
    Compat,
}

fn classify(c: char, letters: bool) -> Action {
    match c {
        // Printable ASCII and LF first: the bulk of most inputs.
        ' '..='~' | '\n' => Action::Keep,
        // Arabic letters without variants: the bulk of the rest.
        'ا' | 'ب' | 'ت'..='غ' | 'ف'..='ن' | 'ه' | 'و' | 'ي' => Action::Keep,
        '\r' => Action::CarriageReturn,
        '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}' => Action::Replace('\n'),
        '\0'..='\u{1F}' | '\u{7F}'..='\u{9F}' => Action::Replace(' '),
        _ if is_removed_mark(c) => Action::DropMark,
        _ if is_invisible(c) => Action::DropInvisible,
        _ if c.is_whitespace() => Action::Replace(' '),
        '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFE}' => Action::Compat,
        _ if letters => match fold_letter(c) {
            f if f == c => Action::Keep,
            f => Action::Replace(f),
        },
        _ => Action::Keep,
    }
}

/// Marks removed by normalization that attach to the preceding letter:
/// harakat and other Arabic combining marks, superscript alef, tatweel,
/// Quranic annotation marks.
pub(crate) fn is_removed_mark(c: char) -> bool {
    matches!(c,
        '\u{0610}'..='\u{061A}'
        | '\u{0640}'
        | '\u{064B}'..='\u{065F}'
        | '\u{0670}'
        | '\u{06D6}'..='\u{06ED}'
        | '\u{08D3}'..='\u{08FF}')
}

/// Invisible format characters removed by normalization: zero-width
/// characters, BOM, soft hyphen, bidi controls.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{061C}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}')
}

/// Letter folding of model input with [`NormalizeOptions::letters`]: fewer
/// letters than look-ups fold ([`crate::text::fold`]), since it is part of
/// what models trained with it have learned.
fn fold_letter(c: char) -> char {
    match c {
        'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
        'ى' | 'ی' => 'ي',
        'ة' => 'ه',
        'ک' => 'ك',
        _ => c,
    }
}

fn fold(c: char, letters: bool) -> char {
    if letters {
        fold_letter(c)
    } else {
        c
    }
}

/// The canonical compositions of Arabic letters with maddah/hamza above or
/// below (the only Arabic pairs NFC composes).
fn compose_arabic(base: char, mark: char) -> Option<char> {
    match (base, mark) {
        ('ا', '\u{0653}') => Some('آ'),
        ('ا', '\u{0654}') => Some('أ'),
        ('ا', '\u{0655}') => Some('إ'),
        ('و', '\u{0654}') => Some('ؤ'),
        ('ي', '\u{0654}') => Some('ئ'),
        ('ە', '\u{0654}') => Some('ۀ'),
        ('ہ', '\u{0654}') => Some('ۂ'),
        ('ے', '\u{0654}') => Some('ۓ'),
        _ => None,
    }
}

/// If `next` is a mark that composes with `base`, the end of that mark and
/// the composed letter.
fn composing_mark_after(base: char, next: Option<&(usize, char)>) -> Option<(usize, char)> {
    if !matches!(base, 'ا' | 'و' | 'ي' | 'ە' | 'ہ' | 'ے') {
        return None;
    }
    let &(at, mark) = next?;
    compose_arabic(base, mark).map(|composed| (at + mark.len_utf8(), composed))
}

struct Builder {
    text: String,
    segments: Vec<Segment>,
}

impl Builder {
    /// Appends `out`, which has the same UTF-8 length as the original bytes
    /// from `orig` and replaces them character for character.
    fn copy(&mut self, orig: usize, out: &str) {
        if out.is_empty() {
            return;
        }
        let orig_end = orig + out.len();
        match self.segments.last_mut() {
            Some(s) if s.linear && s.orig_end == orig => {
                s.orig_end = orig_end;
                s.attach_end = orig_end;
            }
            _ => self.segments.push(Segment {
                norm: self.text.len(),
                orig,
                orig_end,
                attach_end: orig_end,
                linear: true,
            }),
        }
        self.text.push_str(out);
    }

    /// Appends `out` as an indivisible replacement of `orig..orig_end`.
    fn unit(&mut self, orig: usize, orig_end: usize, out: char) {
        self.start_unit(orig, orig_end);
        self.text.push(out);
    }

    fn start_unit(&mut self, orig: usize, orig_end: usize) {
        self.segments.push(Segment {
            norm: self.text.len(),
            orig,
            orig_end,
            attach_end: orig_end,
            linear: false,
        });
    }

    /// Records a removed mark at `orig..orig_end`: it extends the previous
    /// segment if nothing but such marks lies between them.
    fn drop_attached(&mut self, orig: usize, orig_end: usize) {
        if let Some(s) = self.segments.last_mut() {
            if s.attach_end == orig {
                s.attach_end = orig_end;
            }
        }
    }

    /// Appends the compatibility decomposition of presentation form `c`,
    /// itself normalized, as one unit.
    fn compat(&mut self, orig: usize, c: char, letters: bool) {
        let orig_end = orig + c.len_utf8();
        // The longest decomposition (U+FDFA) has 18 characters.
        let mut parts = ['\0'; 24];
        let mut n = 0;
        let mut overflow = false;
        decompose_compatible(c, |d| match parts.get_mut(n) {
            Some(slot) => {
                *slot = d;
                n += 1;
            }
            None => overflow = true,
        });
        let parts = &parts[..n];
        if overflow || parts.is_empty() {
            // Cannot happen with current Unicode data; keep the character.
            self.unit(orig, orig_end, c);
            return;
        }
        // Spacing forms of harakat decompose to a space plus marks: they are
        // marks, not word separators.
        if parts
            .iter()
            .enumerate()
            .all(|(i, &d)| is_removed_mark(d) || (i == 0 && d == ' '))
        {
            self.drop_attached(orig, orig_end);
            return;
        }
        // A ligature of a whole phrase (U+FDFA, U+FDFB) decomposes to
        // several words, which could only all map back to this one
        // character: entities would share it. It stays one word, as is.
        if parts.iter().any(|d| d.is_whitespace()) {
            self.copy(orig, c.encode_utf8(&mut [0; 4]));
            return;
        }
        let text_start = self.text.len();
        self.start_unit(orig, orig_end);
        let mut last: Option<char> = None;
        for &d in parts {
            if let Some(composed) = last.and_then(|l| compose_arabic(l, d)) {
                self.text.pop();
                self.text.push(fold(composed, letters));
                last = None;
                continue;
            }
            let out = match classify(d, letters) {
                Action::Keep | Action::Compat => d,
                Action::Replace(r) => r,
                Action::CarriageReturn => '\n',
                Action::DropMark | Action::DropInvisible => continue,
            };
            self.text.push(out);
            last = Some(d);
        }
        if self.text.len() == text_start {
            // Everything was removed; drop the empty unit again.
            self.segments.pop();
            self.drop_attached(orig, orig_end);
        }
    }
}

fn floor_boundary(s: &str, pos: usize) -> usize {
    let mut pos = pos.min(s.len());
    while !s.is_char_boundary(pos) {
        pos -= 1;
    }
    pos
}

fn ceil_boundary(s: &str, pos: usize) -> usize {
    let mut pos = pos.min(s.len());
    while !s.is_char_boundary(pos) {
        pos += 1;
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::words::split_words;
    use proptest::prelude::*;

    fn norm(s: &str) -> Normalized {
        normalize(s, &NormalizeOptions::default())
    }

    fn norm_letters(s: &str) -> Normalized {
        normalize(s, &NormalizeOptions { letters: true })
    }

    /// The original slice for the normalized substring `needle` (first hit).
    fn orig_of<'a>(input: &'a str, n: &Normalized, needle: &str) -> &'a str {
        let at = n.text.find(needle).expect("needle in normalized text");
        let (s, e) = n.original_span(at, at + needle.len());
        &input[s..e]
    }

    #[test]
    fn clean_text_is_unchanged_and_one_segment() {
        let input = "ذهب سامي إلى المكتبة صباحا ثم عاد. Then he left at 9:30!";
        let n = norm(input);
        assert_eq!(n.text, input);
        assert_eq!(n.segments.len(), 1);
        assert_eq!(n.original_span(0, n.len()), (0, input.len()));
        assert_eq!(n.original_span(7, 13), (7, 13));
    }

    #[test]
    fn long_clean_text_costs_one_segment() {
        let input = "كتب الطالب رسالة طويلة إلى صديقه. ".repeat(2000);
        let n = norm(&input);
        assert_eq!(n.segments.len(), 1);
        assert_eq!(n.text, input);
    }

    #[test]
    fn empty_input() {
        let n = norm("");
        assert!(n.is_empty());
        assert_eq!(n.len(), 0);
        assert_eq!(n.original_span(0, 0), (0, 0));
        assert_eq!(n.original_span(3, 9), (0, 0));
        assert_eq!(n.original_offset(0), 0);
    }

    #[test]
    fn tashkeel_removed_and_final_tanween_belongs_to_word() {
        let input = "مُحَمَّدٌ";
        let n = norm(input);
        assert_eq!(n.text, "محمد");
        assert_eq!(n.original_span(0, n.len()), (0, input.len()));
    }

    #[test]
    fn word_in_sentence_maps_back_whole() {
        let input = "وصلَ مُحَمَّدٌ، وسلّمَ على الحاضرين";
        let n = norm(input);
        assert_eq!(n.text, "وصل محمد، وسلم على الحاضرين");
        assert_eq!(orig_of(input, &n, "محمد"), "مُحَمَّدٌ");
        assert_eq!(orig_of(input, &n, "وسلم"), "وسلّمَ");
        assert_eq!(orig_of(input, &n, "وصل"), "وصلَ");
        assert_eq!(orig_of(input, &n, "،"), "،");
    }

    #[test]
    fn inner_prefix_of_word_ends_at_its_last_letter() {
        let input = "مُحَمَّدٌ";
        let n = norm(input);
        // "مح" ends at ح, whose fatha follows it.
        let (s, e) = n.original_span(0, "مح".len());
        assert_eq!(&input[s..e], "مُحَ");
    }

    #[test]
    fn tatweel_removed_and_kept_in_span() {
        let input = "جاء محمـــد ومعه سعيـد";
        let n = norm(input);
        assert_eq!(n.text, "جاء محمد ومعه سعيد");
        assert_eq!(orig_of(input, &n, "محمد"), "محمـــد");
        assert_eq!(orig_of(input, &n, "سعيد"), "سعيـد");
    }

    #[test]
    fn trailing_tatweel_and_marks_attach() {
        let input = "قالـــً ثم";
        let n = norm(input);
        assert_eq!(n.text, "قال ثم");
        assert_eq!(orig_of(input, &n, "قال"), "قالـــً");
    }

    #[test]
    fn quranic_marks_and_superscript_alef_removed() {
        let input = "هٰذا كِتَابٌ ۚ مُبِينٌ ۖ";
        let n = norm(input);
        assert_eq!(n.text, "هذا كتاب  مبين ");
    }

    #[test]
    fn invisible_controls_removed_but_not_attached() {
        let input = "\u{200F}سافر\u{200C} خالد\u{202B}\u{200D} أمس\u{202C}";
        let n = norm(input);
        assert_eq!(n.text, "سافر خالد أمس");
        assert_eq!(orig_of(input, &n, "سافر"), "سافر");
        assert_eq!(orig_of(input, &n, "خالد"), "خالد");
        assert_eq!(orig_of(input, &n, "أمس"), "أمس");
        // Inside a span they are covered.
        let input = "عبد\u{200C}الله";
        let n = norm(input);
        assert_eq!(n.text, "عبدالله");
        assert_eq!(n.original_span(0, n.len()), (0, input.len()));
    }

    #[test]
    fn bom_and_alm_removed() {
        let n = norm("\u{FEFF}نص\u{061C} قصير");
        assert_eq!(n.text, "نص قصير");
        assert_eq!(n.original_offset(0), 3);
    }

    #[test]
    fn whitespace_and_controls() {
        let input = "أ\tب\u{A0}ج\u{3000}د\u{2009}ه\0و\u{1}ز\u{7F}ح\u{90}ط";
        let n = norm(input);
        assert_eq!(n.text, "أ ب ج د ه و ز ح ط");
        for (i, c) in n.text.char_indices() {
            let (s, e) = n.original_span(i, i + c.len_utf8());
            assert!(e > s);
            if c == ' ' {
                assert!(input[s..e]
                    .chars()
                    .all(|o| o.is_whitespace() || o.is_control()));
            }
        }
    }

    #[test]
    fn line_breaks_become_newlines() {
        let input = "سطر\r\nسطر\rسطر\nسطر\u{2028}سطر\u{85}سطر\u{0C}سطر";
        let n = norm(input);
        assert_eq!(n.text, "سطر\nسطر\nسطر\nسطر\nسطر\nسطر\nسطر");
        let first_nl = n.text.find('\n').unwrap();
        let (s, e) = n.original_span(first_nl, first_nl + 1);
        assert_eq!(&input[s..e], "\r\n");
    }

    #[test]
    fn lam_alef_ligature_expands_one_to_two() {
        // U+FEFB is the isolated lam-alef ligature.
        let input = "\u{FEFB} شك";
        let n = norm(input);
        assert_eq!(n.text, "لا شك");
        assert_eq!(n.original_span(0, 2), (0, 3));
        assert_eq!(n.original_span(2, 4), (0, 3));
        assert_eq!(n.original_span(0, 4), (0, 3));
        assert_eq!(orig_of(input, &n, "شك"), "شك");
    }

    #[test]
    fn lam_alef_with_hamza_composes() {
        // U+FEF7: lam with alef with hamza above, isolated.
        let n = norm("\u{FEF7}");
        assert_eq!(n.text, "لأ");
        let n = norm_letters("\u{FEF7}");
        assert_eq!(n.text, "لا");
    }

    #[test]
    fn presentation_letters_become_base_letters() {
        let input = "في \u{FE91}\u{FED0}\u{FEAA}\u{FE8D}\u{FEA9} اليوم";
        let n = norm(input);
        assert_eq!(n.text, "في بغداد اليوم");
        assert_eq!(
            orig_of(input, &n, "بغداد"),
            "\u{FE91}\u{FED0}\u{FEAA}\u{FE8D}\u{FEA9}"
        );
    }

    #[test]
    fn word_ligatures_expand_but_phrase_ligatures_stay() {
        let n = norm("\u{FDF2}");
        assert_eq!(n.text, "الله");
        // U+FDFD, the basmala, has no decomposition and stays a symbol.
        assert_eq!(norm("\u{FDFD}").text, "\u{FDFD}");
        // U+FDFA and U+FDFB decompose to several words, which would all
        // map back to the one character and overlap: they stay one word.
        let input = "\u{FDFA} نبدأ \u{FDFB}";
        let n = norm(input);
        assert_eq!(n.text, input);
        let words = split_words(&n.text);
        assert_eq!(words.len(), 3, "{:?}", n.text);
        assert_eq!(n.original_span(words[0].start, words[0].end), (0, 3));
    }

    #[test]
    fn spacing_harakat_forms_are_removed_as_marks() {
        // U+FE70 (fathatan, spacing form) after a letter; U+FE7D shadda medial.
        let input = "كتاب\u{FE70} ش\u{FE7D}د";
        let n = norm(input);
        assert_eq!(n.text, "كتاب شد");
        assert_eq!(orig_of(input, &n, "كتاب"), "كتاب\u{FE70}");
    }

    #[test]
    fn decomposed_hamza_composes() {
        let input = "ا\u{0654}حمد و\u{0654}";
        let n = norm(input);
        assert_eq!(n.text, "أحمد ؤ");
        assert_eq!(orig_of(input, &n, "أحمد"), "ا\u{0654}حمد");
        let n = norm_letters(input);
        assert_eq!(n.text, "احمد ؤ");
        // A stray hamza that composes with nothing is removed as a mark.
        assert_eq!(norm("ب\u{0654}").text, "ب");
    }

    #[test]
    fn letters_option() {
        let input = "أحمد وإيمان في آمد ٱلمدينة على مكتبة ی ک";
        assert_eq!(norm(input).text, input);
        let n = norm_letters(input);
        assert_eq!(n.text, "احمد وايمان في امد المدينه علي مكتبه ي ك");
        // Same-length replacements keep the alignment linear.
        assert_eq!(n.segments.len(), 1);
        assert_eq!(orig_of(input, &n, "المدينه"), "ٱلمدينة");
    }

    #[test]
    fn persian_and_other_letters_kept() {
        let input = "پژوهش گروه چای";
        assert_eq!(norm(input).text, input);
    }

    #[test]
    fn emoji_kept() {
        let input = "👨\u{200D}👩\u{200D}👧 🇸🇦 👍🏽";
        let n = norm(input);
        // ZWJ is an invisible control and goes; the pictographs stay.
        assert_eq!(n.text, "👨👩👧 🇸🇦 👍🏽");
    }

    #[test]
    fn non_boundary_and_out_of_range_offsets() {
        let input = "سَلام";
        let n = norm(input);
        assert_eq!(n.text, "سلام");
        // Byte 1 is inside س: widened to the whole letter.
        assert_eq!(n.original_span(1, 3), (0, input.find('ل').unwrap() + 2));
        assert_eq!(n.original_span(0, 100), (0, input.len()));
        assert_eq!(
            n.original_span(6, 2),
            (n.original_offset(6), n.original_offset(6))
        );
        assert_eq!(n.original_offset(100), input.len());
    }

    #[test]
    fn original_offset_points_at_char_start() {
        let input = "أَبْ\u{FEFB}";
        let n = norm(input);
        assert_eq!(n.text, "أبلا");
        assert_eq!(n.original_offset(0), 0);
        assert_eq!(n.original_offset(2), 4);
        assert_eq!(n.original_offset(4), 8);
        assert_eq!(n.original_offset(6), 8);
        assert_eq!(n.original_offset(8), input.len());
    }

    #[test]
    fn mutated_text_never_panics() {
        let mut n = norm("مُحَمَّدٌ");
        n.text.push_str("زيادة كبيرة");
        for i in 0..=n.text.len() + 2 {
            for j in i..=n.text.len() + 2 {
                let _ = n.original_span(i, j);
            }
        }
        n.text.clear();
        let _ = n.original_span(0, 5);
    }

    /// Characters that stress the normalizer.
    fn tricky_char() -> impl Strategy<Value = char> {
        prop_oneof![
            4 => prop::sample::select(
                "ابتثجحخدذرسشصضطظعغفقكلمنهويءآأإؤئىةٱپچژگکی".chars().collect::<Vec<_>>()
            ),
            3 => prop::sample::select(vec![
                '\u{064B}', '\u{064E}', '\u{0650}', '\u{0651}', '\u{0652}', '\u{0653}',
                '\u{0654}', '\u{0655}', '\u{0670}', '\u{0640}', '\u{0615}', '\u{06D6}',
                '\u{06ED}', '\u{08F0}',
            ]),
            2 => prop::sample::select(vec![
                '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{202B}',
                '\u{202C}', '\u{2067}', '\u{2069}', '\u{061C}', '\u{FEFF}', '\u{00AD}',
            ]),
            2 => prop::sample::select(vec![
                '\u{FEFB}', '\u{FEFC}', '\u{FEF5}', '\u{FEF7}', '\u{FEF9}', '\u{FE8D}',
                '\u{FE91}', '\u{FEE0}', '\u{FDF2}', '\u{FDFA}', '\u{FDFB}', '\u{FDFC}',
                '\u{FDFD}', '\u{FC5E}', '\u{FE70}', '\u{FE71}', '\u{FE7D}', '\u{FBA4}',
                '\u{FBB0}', '\u{FB8A}', '\u{FDD0}',
            ]),
            2 => prop::sample::select(vec![
                ' ', '\n', '\r', '\t', '\0', '\u{1}', '\u{0B}', '\u{85}', '\u{A0}',
                '\u{2028}', '\u{3000}', '.', '،', '؟', '!', '«', '»', '(', ')', '-',
                '/', ':', ',',
            ]),
            2 => prop::sample::select(
                "0123456789٠١٢٣٤٥٦٧٨٩۰۱۲aZé".chars().collect::<Vec<_>>()
            ),
            1 => prop::sample::select(vec![
                '👨', '👩', '🇸', '🇦', '👍', '🏽', '\u{FE0F}', '\u{20E3}', '😀',
            ]),
            1 => any::<char>(),
        ]
    }

    fn tricky_string() -> impl Strategy<Value = String> {
        prop::collection::vec(tricky_char(), 0..40).prop_map(|v| v.into_iter().collect())
    }

    fn check_alignment(input: &str, opts: &NormalizeOptions) -> Result<(), TestCaseError> {
        let n = normalize(input, opts);
        prop_assert_eq!(n.original_len(), input.len());
        let mut prev = (0, 0);
        for (i, c) in n.text.char_indices() {
            let (s, e) = n.original_span(i, i + c.len_utf8());
            prop_assert!(
                s < e && e <= input.len(),
                "char {:?} at {} -> {}..{}",
                c,
                i,
                s,
                e
            );
            prop_assert!(input.is_char_boundary(s) && input.is_char_boundary(e));
            prop_assert!(s >= prev.0 && e >= prev.1, "not monotonic at {}", i);
            prop_assert_eq!(n.original_offset(i), s);
            prev = (s, e);
        }
        // Any span covers exactly its first char's start to its last's end.
        let bounds: Vec<usize> = n.text.char_indices().map(|(i, _)| i).collect();
        for (k, &a) in bounds.iter().enumerate() {
            for &b in bounds[k + 1..].iter().chain(std::iter::once(&n.text.len())) {
                let (s, e) = n.original_span(a, b);
                let (s1, _) = n.original_span(a, ceil_boundary(&n.text, a + 1));
                let last = floor_boundary(&n.text, b - 1);
                let (_, e1) = n.original_span(last, b);
                prop_assert_eq!((s, e), (s1, e1));
            }
        }
        for w in split_words(&n.text) {
            let word = &n.text[w.start..w.end];
            let (s, e) = n.original_span(w.start, w.end);
            let again = normalize(&input[s..e], opts);
            prop_assert!(
                again.text.contains(word),
                "word {:?} not in {:?} (orig {:?})",
                word,
                again.text,
                &input[s..e]
            );
        }
        let twice = normalize(&n.text, opts);
        prop_assert_eq!(&twice.text, &n.text, "not idempotent");
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn alignment_invariants(input in tricky_string(), letters in any::<bool>()) {
            check_alignment(&input, &NormalizeOptions { letters })?;
        }

        #[test]
        fn alignment_invariants_any_unicode(input in any::<String>(), letters in any::<bool>()) {
            check_alignment(&input, &NormalizeOptions { letters })?;
        }
    }
}

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
mod tests;

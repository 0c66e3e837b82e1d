//! The fonts of the charts: DejaVu Sans for Latin text, an embedded Noto Sans CJK subset (or a
//! system CJK font) when a chart's texts hold Chinese.

use super::*;

pub(super) const FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
pub(super) const FAMILY: &str = "sans-serif";
/// The subset of Noto Sans CJK SC (`scripts/fonts/build-cjk-subset.sh` builds it).
pub(super) const CJK_FONT: &[u8] =
    include_bytes!("../../../assets/fonts/NotoSansCJKsc-Regular-subset.otf");
pub(super) const CJK_FAMILY: &str = "cjk";
pub(super) const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// System fonts with every Chinese character (the embedded subset has the common ones), at
/// their Debian paths (packages fonts-noto-cjk, fonts-wqy-microhei, fonts-wqy-zenhei), with
/// the index of the face to use in the collection: the first one that is there replaces the
/// subset. One that is there but unreadable is skipped with a warning.
pub const SYSTEM_CJK_FONTS: [(&str, u32); 3] = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2), // Noto Sans CJK SC
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
];

pub(super) fn register_fonts() {
    use plotters::style::register_font;
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if register_font(FAMILY, FontStyle::Normal, FONT).is_err() {
            tracing::warn!("the embedded chart font is unreadable");
        }
        for (path, index) in SYSTEM_CJK_FONTS {
            let data = match std::fs::read(path) {
                Ok(data) => data,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    tracing::warn!("charts: cannot read the CJK font {path}: {e}");
                    continue;
                }
            };
            let Some(face) = collection_face(data, index) else {
                tracing::warn!("charts: {path} has no font number {index}");
                continue;
            };
            // plotters keeps a font for the whole process
            let face: &'static [u8] = Box::leak(face.into_boxed_slice());
            if register_font(CJK_FAMILY, FontStyle::Normal, face).is_ok() {
                tracing::debug!("charts: CJK text with {path}");
                return;
            }
            tracing::warn!("charts: the CJK font {path} is unreadable");
        }
        if register_font(CJK_FAMILY, FontStyle::Normal, CJK_FONT).is_err() {
            tracing::warn!("the embedded CJK chart font is unreadable");
        }
    });
}

/// The font number `index` of a font collection (`ttcf`, as a `.ttc` file) as a font of its
/// own (ab_glyph, under plotters, reads the first font of a collection only): its table
/// directory, with the tables' offsets moved by its own length, followed by the whole
/// collection. A single font is kept as it is (for index 0). None when there is no such font.
pub(super) fn collection_face(data: Vec<u8>, index: u32) -> Option<Vec<u8>> {
    if !data.starts_with(b"ttcf") {
        return (index == 0).then_some(data);
    }
    let be32 = |b: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    if index >= be32(&data, 8)? {
        return None;
    }
    let dir = be32(&data, 12 + 4 * index as usize)? as usize;
    let tables = u16::from_be_bytes(data.get(dir + 4..dir + 6)?.try_into().ok()?) as usize;
    let len = 12 + 16 * tables;
    let mut font = data.get(dir..dir + len)?.to_vec();
    for t in 0..tables {
        // a table record: tag, checksum, offset, length
        let at = 12 + 16 * t + 8;
        let offset = be32(&font, at)?.checked_add(len as u32)?;
        font[at..at + 4].copy_from_slice(&offset.to_be_bytes());
    }
    font.extend_from_slice(&data);
    Some(font)
}

/// A character that DejaVu Sans does not have and a CJK font does: Han, CJK punctuation and
/// symbols, full-width forms, kana, Hangul.
pub(super) fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{1100}'..='\u{11FF}' // Hangul jamo
        | '\u{2E80}'..='\u{4DBF}' // radicals, CJK punctuation, kana, ..., Han extension A
        | '\u{4E00}'..='\u{9FFF}' // Han
        | '\u{AC00}'..='\u{D7AF}' // Hangul syllables
        | '\u{F900}'..='\u{FAFF}' // compatibility ideographs
        | '\u{FE30}'..='\u{FE4F}' // compatibility forms
        | '\u{FF00}'..='\u{FFEF}' // full-width and half-width forms
        | '\u{20000}'..='\u{3FFFF}' // Han, extensions B to H
    )
}

/// The font of a chart's texts: a family, and how much larger than DejaVu Sans to ask for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Typeface {
    family: &'static str,
    scale: f64,
}

pub(super) const LATIN: Typeface = Typeface {
    family: FAMILY,
    scale: 1.0,
};
/// plotters sizes a font by its line height (ascent + descent): 1.448 em in Noto Sans CJK,
/// 1.164 em in DejaVu Sans. 1.25 times the size gives about the same em: Latin letters as
/// large as DejaVu's, Chinese characters an em wide.
pub(super) const CJK: Typeface = Typeface {
    family: CJK_FAMILY,
    scale: 1.25,
};

impl Typeface {
    /// The family and size to draw text of `size` (in DejaVu Sans' terms) with.
    pub(super) fn at(self, size: f64) -> (&'static str, f64) {
        (self.family, size * self.scale)
    }
}

/// The font of a chart's texts: the CJK font when any of them has a CJK character, DejaVu
/// Sans otherwise (so charts without CJK text look as they always did). One font for all the
/// texts of a chart, so that they look alike.
pub(super) fn typeface<'a>(texts: impl IntoIterator<Item = &'a str>) -> Typeface {
    if texts.into_iter().any(|t| t.chars().any(is_cjk)) {
        CJK
    } else {
        LATIN
    }
}

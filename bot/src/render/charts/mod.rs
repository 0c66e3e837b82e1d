//! Charts of a job's runs: rendered to PNG in Rust (plotters' bitmap backend into a buffer,
//! encoded with `png`), and as a compact text form (sparklines, bars) for chats that cannot
//! show images.
//!
//! Text is drawn with embedded fonts, so no system font is needed: DejaVu Sans, and for a
//! chart with Chinese (CJK) text in it (a title, a job name, a failure cause) a subset of
//! Noto Sans CJK SC (`assets/fonts/README.md`: ASCII, common punctuation and the 3,755 common
//! Chinese characters of GB2312 level 1) for all of that chart's text. A system Noto Sans CJK
//! or WenQuanYi font, when installed at its Debian path, replaces the subset (it has every
//! character); see [`SYSTEM_CJK_FONTS`].
//!
//! A [`Chart`] holds only its data, so building one is cheap; the PNG is drawn when an
//! adapter that shows images asks for it ([`Chart::image`]). The output is deterministic
//! for given data (and, for a chart with CJK text, the same CJK font).

use crate::domain::exec::{ExecId, Execution, Status};
use crate::i18n::Lang;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::sync::Once;

mod draw;
mod fonts;

pub use crate::domain::chart::{Chart, DurationPoint, ResourcePoint};

use draw::{draw_duration, draw_failures, draw_resources};
pub use fonts::SYSTEM_CJK_FONTS;
use fonts::*;

/// Width and height of every chart, in pixels.
pub const WIDTH: u32 = 800;
pub const HEIGHT: u32 = 400;

/// How many runs a trend chart shows at most.
pub const MAX_RUNS: usize = 20;

/// The colours of the data points (tests look for them).
pub const OK_COLOR: RGBColor = RGBColor(44, 160, 44);
pub const FAIL_COLOR: RGBColor = RGBColor(214, 39, 40);
pub const LINE_COLOR: RGBColor = RGBColor(31, 119, 180);
pub const MEDIAN_COLOR: RGBColor = RGBColor(150, 150, 150);
pub const CPU_COLOR: RGBColor = RGBColor(255, 127, 14);
pub const MEMORY_COLOR: RGBColor = RGBColor(148, 103, 189);
pub const BAR_COLOR: RGBColor = RGBColor(214, 39, 40);

/// An image attachment: PNG bytes with a file name and an alternative text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub name: String,
    pub alt: String,
    pub png: Vec<u8>,
}

/// Data points as drawn: (pixel centre, RGB colour).
pub type Points = Vec<((i32, i32), (u8, u8, u8))>;

/// A drawn chart, with where its data points landed (pixel coordinates).
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub png: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// The centre of each data point (markers, or the middle of each bar's end), with the
    /// colour it was drawn in.
    pub points: Points,
}

/// The duration in seconds of an ended run that actually ran.
fn secs(e: &Execution) -> Option<f64> {
    let (s, f) = (e.started_at?, e.finished_at?);
    Some((f - s).num_milliseconds().max(0) as f64 / 1000.0)
}

/// The median of some values.
pub fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

impl Chart {
    /// The duration chart of a job from its executions (any order); None with fewer than two
    /// runs that ran.
    pub fn duration(job: &str, execs: &[Execution]) -> Option<Chart> {
        let mut ended: Vec<&Execution> = execs
            .iter()
            .filter(|e| e.job == job && e.status.is_terminal() && e.started_at.is_some())
            .filter(|e| {
                matches!(
                    e.status,
                    Status::Succeeded | Status::Failed | Status::TimedOut
                )
            })
            .collect();
        ended.sort_by_key(|e| e.id);
        let skip = ended.len().saturating_sub(MAX_RUNS);
        let runs: Vec<DurationPoint> = ended[skip..]
            .iter()
            .filter_map(|e| {
                Some(DurationPoint {
                    id: e.id,
                    secs: secs(e)?,
                    ok: e.status == Status::Succeeded,
                })
            })
            .collect();
        if runs.len() < 2 {
            return None;
        }
        let ok: Vec<f64> = runs.iter().filter(|r| r.ok).map(|r| r.secs).collect();
        Some(Chart::Duration {
            job: job.to_string(),
            median: median(&ok),
            runs,
            lang: Lang::En,
        })
    }

    /// The resource chart of a job; None with fewer than two measured runs.
    pub fn resources(job: &str, execs: &[Execution]) -> Option<Chart> {
        let mut measured: Vec<&Execution> = execs
            .iter()
            .filter(|e| e.job == job && e.cpu_ms.is_some() && e.max_rss_kb.is_some())
            .collect();
        measured.sort_by_key(|e| e.id);
        let skip = measured.len().saturating_sub(MAX_RUNS);
        let runs: Vec<ResourcePoint> = measured[skip..]
            .iter()
            .map(|e| ResourcePoint {
                id: e.id,
                cpu_secs: e.cpu_ms.unwrap_or(0).max(0) as f64 / 1000.0,
                peak_mib: e.max_rss_kb.unwrap_or(0).max(0) as f64 / 1024.0,
            })
            .collect();
        (runs.len() >= 2).then(|| Chart::Resources {
            job: job.to_string(),
            runs,
            lang: Lang::En,
        })
    }

    /// The failures-by-cause chart of some executions; None without failures.
    pub fn failures(scope: &str, execs: &[Execution]) -> Option<Chart> {
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for e in execs.iter().filter(|e| super::analysis::is_failure(e)) {
            *counts.entry(super::analysis::cause(e)).or_default() += 1;
        }
        if counts.is_empty() {
            return None;
        }
        let mut causes: Vec<(String, usize)> = counts.into_iter().collect();
        causes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        causes.truncate(8);
        Some(Chart::Failures {
            scope: scope.to_string(),
            causes,
            lang: Lang::En,
        })
    }

    /// The chart with its texts in `lang`.
    pub fn in_lang(mut self, to: Lang) -> Chart {
        match &mut self {
            Chart::Duration { lang, .. }
            | Chart::Resources { lang, .. }
            | Chart::Failures { lang, .. } => *lang = to,
        }
        self
    }

    /// The language of the chart's texts.
    pub fn lang(&self) -> Lang {
        match self {
            Chart::Duration { lang, .. }
            | Chart::Resources { lang, .. }
            | Chart::Failures { lang, .. } => *lang,
        }
    }

    /// A file name for the PNG (`backup-database-duration.png`).
    pub fn file_name(&self) -> String {
        let (what, kind) = match self {
            Chart::Duration { job, .. } => (job.as_str(), "duration"),
            Chart::Resources { job, .. } => (job.as_str(), "resources"),
            Chart::Failures { scope, .. } => (scope.as_str(), "failures"),
        };
        let safe: String = what
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!("{safe}-{kind}.png")
    }

    /// The chart's title (also its alternative text's start).
    pub fn title(&self) -> String {
        let lang = self.lang();
        match self {
            Chart::Duration { job, runs, .. } => {
                tr!(lang, "chart-duration-title", job = job, runs = runs.len())
            }
            Chart::Resources { job, runs, .. } => {
                tr!(lang, "chart-resources-title", job = job, runs = runs.len())
            }
            Chart::Failures { scope, .. } => tr!(lang, "chart-failures-title", scope = scope),
        }
    }

    /// The alternative text of the image: the title and the text form.
    pub fn alt(&self) -> String {
        format!(
            "{}{}{}",
            self.title(),
            tr!(self.lang(), "full-stop-space"),
            self.text()
                .replace('\n', &tr!(self.lang(), "fact-separator"))
        )
    }

    /// The compact text form: sparklines and bars.
    pub fn text(&self) -> String {
        let lang = self.lang();
        match self {
            Chart::Duration { runs, median, .. } => {
                let v: Vec<f64> = runs.iter().map(|r| r.secs).collect();
                let (lo, hi) = min_max(&v);
                let range = match median {
                    Some(m) => tr!(
                        lang,
                        "chart-range-usual",
                        min = secs_text(lo),
                        max = secs_text(hi),
                        usual = secs_text(*m)
                    ),
                    None => tr!(
                        lang,
                        "chart-range",
                        min = secs_text(lo),
                        max = secs_text(hi)
                    ),
                };
                let mut s = tr!(
                    lang,
                    "chart-duration-text",
                    runs = runs.len(),
                    line = sparkline(&v),
                    range = range
                );
                let failed: Vec<String> = runs
                    .iter()
                    .filter(|r| !r.ok)
                    .map(|r| format!("#{}", r.id))
                    .collect();
                if !failed.is_empty() {
                    s.push_str(&tr!(lang, "chart-failed-runs", ids = failed.join(", ")));
                }
                s
            }
            Chart::Resources { runs, .. } => {
                let cpu: Vec<f64> = runs.iter().map(|r| r.cpu_secs).collect();
                let mem: Vec<f64> = runs.iter().map(|r| r.peak_mib).collect();
                tr!(
                    lang,
                    "chart-resources-text",
                    runs = runs.len(),
                    cpu = sparkline(&cpu),
                    cpu_max = secs_text(min_max(&cpu).1),
                    memory = sparkline(&mem),
                    memory_max = format!("{:.1}", min_max(&mem).1)
                )
            }
            Chart::Failures { causes, .. } => {
                let causes: Vec<(String, usize)> = causes
                    .iter()
                    .map(|(c, n)| (cause_label(c, lang), *n))
                    .collect();
                let max = causes.iter().map(|c| c.1).max().unwrap_or(1).max(1);
                let width = causes
                    .iter()
                    .map(|c| super::pad_width(&short(&c.0, 40)))
                    .max()
                    .unwrap_or(0);
                let mut s = tr!(lang, "chart-failures-text");
                for (cause, n) in &causes {
                    let label = short(cause, 40);
                    let pad = width - super::pad_width(&label);
                    let bar = "█".repeat((n * 20).div_ceil(max).max(1));
                    s.push_str(&format!("\n  {label}{} {bar} {n}", " ".repeat(pad)));
                }
                s
            }
        }
    }

    /// Draws the chart.
    pub fn render(&self) -> Result<Rendered, String> {
        register_fonts();
        let (w, h) = (WIDTH, HEIGHT);
        let mut buf = vec![0u8; (w * h * 3) as usize];
        let points = {
            let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
            root.fill(&WHITE).map_err(err)?;
            let lang = self.lang();
            let points = match self {
                Chart::Duration { runs, median, .. } => {
                    draw_duration(&root, &self.title(), runs, *median, lang)?
                }
                Chart::Resources { runs, .. } => draw_resources(&root, &self.title(), runs, lang)?,
                Chart::Failures { causes, .. } => {
                    let causes: Vec<(String, usize)> = causes
                        .iter()
                        .map(|(c, n)| (cause_label(c, lang), *n))
                        .collect();
                    draw_failures(&root, &self.title(), &causes, lang)?
                }
            };
            root.present().map_err(err)?;
            points
        };
        let mut png = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut png, w, h);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut wr = enc.write_header().map_err(|e| e.to_string())?;
            wr.write_image_data(&buf).map_err(|e| e.to_string())?;
        }
        Ok(Rendered {
            png,
            width: w,
            height: h,
            points,
        })
    }

    /// The chart as an image attachment.
    pub fn image(&self) -> Result<Image, String> {
        Ok(Image {
            name: self.file_name(),
            alt: self.alt(),
            png: self.render()?.png,
        })
    }
}

/// A failure cause ([`super::analysis::cause`]) in `lang`: the causes the analysis names
/// itself are translated, a failing line of output stays as it is.
pub fn cause_label(cause: &str, lang: Lang) -> String {
    if lang == Lang::En {
        return cause.to_string();
    }
    match cause {
        "timeout" => tr!(lang, "status-timed_out"),
        "cancelled" => tr!(lang, "status-cancelled"),
        "interrupted" => tr!(lang, "status-interrupted"),
        "failed to start" => tr!(lang, "cause-failed-to-start"),
        "unknown" => tr!(lang, "cause-unknown"),
        c => match (c.strip_prefix("exit code "), c.strip_prefix("killed by ")) {
            (Some(code), _) => tr!(lang, "exit-code", code = code),
            (_, Some(signal)) => tr!(lang, "killed-by", signal = signal),
            _ => c.to_string(),
        },
    }
}

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("cannot draw the chart: {e:?}")
}

fn min_max(v: &[f64]) -> (f64, f64) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if v.is_empty() {
        (0.0, 0.0)
    } else {
        (lo, hi)
    }
}

/// `▁▃█▂`: one block per value, scaled between the smallest and the largest.
pub fn sparkline(v: &[f64]) -> String {
    let (lo, hi) = min_max(v);
    v.iter()
        .map(|x| {
            if hi - lo < 1e-9 {
                BLOCKS[3]
            } else {
                BLOCKS[(((x - lo) / (hi - lo)) * 7.0).round().clamp(0.0, 7.0) as usize]
            }
        })
        .collect()
}

fn secs_text(s: f64) -> String {
    crate::i18n::format::duration_std(std::time::Duration::from_millis((s * 1000.0).round() as u64))
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_with_cjk_text_use_the_cjk_font() {
        assert!(is_cjk('磁') && is_cjk('，') && is_cjk('。') && is_cjk('（') && is_cjk('𠀀'));
        assert!(!is_cjk('a') && !is_cjk('é') && !is_cjk('…') && !is_cjk('“') && !is_cjk('█'));
        assert_eq!(typeface(["backup: duration", "#1001", "42.5s"]), LATIN);
        assert_eq!(typeface(["backup: duration", "磁盘空间不足"]), CJK);
        assert_eq!(typeface(["备份: duration"]), CJK);
        assert_eq!(LATIN.at(13.0), (FAMILY, 13.0));
    }

    fn be32(b: &[u8], at: usize) -> usize {
        u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as usize
    }

    /// (tag, bytes) of each table of a font.
    fn tables(font: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let n = u16::from_be_bytes(font[4..6].try_into().unwrap()) as usize;
        (0..n)
            .map(|t| {
                let rec = 12 + 16 * t;
                let (offset, len) = (be32(font, rec + 8), be32(font, rec + 12));
                (
                    font[rec..rec + 4].to_vec(),
                    font[offset..offset + len].to_vec(),
                )
            })
            .collect()
    }

    #[test]
    fn a_font_of_a_collection_stands_alone() {
        // a collection of the two embedded fonts, as in a .ttc: header, fonts (their table
        // offsets from the start of the file)
        let fonts = [FONT, CJK_FONT];
        let mut ttc = b"ttcf\0\x01\0\0\0\0\0\x02".to_vec();
        let header = 12 + 4 * fonts.len();
        let starts = [header, header + FONT.len().next_multiple_of(4)];
        for start in starts {
            ttc.extend_from_slice(&(start as u32).to_be_bytes());
        }
        for (font, start) in fonts.iter().zip(starts) {
            ttc.resize(start, 0);
            let mut font = font.to_vec();
            for t in 0..u16::from_be_bytes([font[4], font[5]]) as usize {
                let at = 12 + 16 * t + 8;
                let moved = (be32(&font, at) + start) as u32;
                font[at..at + 4].copy_from_slice(&moved.to_be_bytes());
            }
            ttc.extend_from_slice(&font);
        }
        for (i, font) in fonts.iter().enumerate() {
            let face = collection_face(ttc.clone(), i as u32).unwrap();
            assert_eq!(tables(&face), tables(font), "font {i}");
            let face: &'static [u8] = Box::leak(face.into_boxed_slice());
            assert!(plotters::style::register_font("test", FontStyle::Normal, face).is_ok());
        }
        assert_eq!(collection_face(ttc, 2), None);
        assert_eq!(collection_face(FONT.to_vec(), 0).as_deref(), Some(FONT));
        assert_eq!(collection_face(FONT.to_vec(), 1), None);
        assert_eq!(collection_face(b"ttcf".to_vec(), 0), None);
    }

    #[test]
    fn sparklines() {
        assert_eq!(sparkline(&[1.0, 2.0, 8.0]), "▁▂█");
        assert_eq!(sparkline(&[3.0, 3.0]), "▄▄");
        assert_eq!(sparkline(&[]), "");
    }
}

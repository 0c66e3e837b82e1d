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

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";
/// The subset of Noto Sans CJK SC (`scripts/fonts/build-cjk-subset.sh` builds it).
const CJK_FONT: &[u8] = include_bytes!("../../assets/fonts/NotoSansCJKsc-Regular-subset.otf");
const CJK_FAMILY: &str = "cjk";
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// System fonts with every Chinese character (the embedded subset has the common ones), at
/// their Debian paths (packages fonts-noto-cjk, fonts-wqy-microhei, fonts-wqy-zenhei), with
/// the index of the face to use in the collection: the first one that is there replaces the
/// subset. One that is there but unreadable is skipped with a warning.
pub const SYSTEM_CJK_FONTS: [(&str, u32); 3] = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2), // Noto Sans CJK SC
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
];

fn register_fonts() {
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
fn collection_face(data: Vec<u8>, index: u32) -> Option<Vec<u8>> {
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
fn is_cjk(c: char) -> bool {
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
struct Typeface {
    family: &'static str,
    scale: f64,
}

const LATIN: Typeface = Typeface {
    family: FAMILY,
    scale: 1.0,
};
/// plotters sizes a font by its line height (ascent + descent): 1.448 em in Noto Sans CJK,
/// 1.164 em in DejaVu Sans. 1.25 times the size gives about the same em: Latin letters as
/// large as DejaVu's, Chinese characters an em wide.
const CJK: Typeface = Typeface {
    family: CJK_FAMILY,
    scale: 1.25,
};

impl Typeface {
    /// The family and size to draw text of `size` (in DejaVu Sans' terms) with.
    fn at(self, size: f64) -> (&'static str, f64) {
        (self.family, size * self.scale)
    }
}

/// The font of a chart's texts: the CJK font when any of them has a CJK character, DejaVu
/// Sans otherwise (so charts without CJK text look as they always did). One font for all the
/// texts of a chart, so that they look alike.
fn typeface<'a>(texts: impl IntoIterator<Item = &'a str>) -> Typeface {
    if texts.into_iter().any(|t| t.chars().any(is_cjk)) {
        CJK
    } else {
        LATIN
    }
}

pub use crate::domain::chart::{Chart, DurationPoint, ResourcePoint};

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
        "timeout" => tr!(lang, "status-timed-out"),
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

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

fn rgb(c: RGBColor) -> (u8, u8, u8) {
    (c.0, c.1, c.2)
}

/// The upper end of a y axis: a bit above the largest value.
fn top(max: f64) -> f64 {
    if max <= 0.0 {
        1.0
    } else {
        max * 1.15
    }
}

fn run_label(ids: &[ExecId], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() < 0.01 && i >= 0.0 && (i as usize) < ids.len() {
        format!("#{}", ids[i as usize])
    } else {
        String::new()
    }
}

fn draw_duration(
    root: &Area<'_>,
    title: &str,
    runs: &[DurationPoint],
    median: Option<f64>,
    lang: Lang,
) -> Result<Points, String> {
    let n = runs.len();
    let ids: Vec<ExecId> = runs.iter().map(|r| r.id).collect();
    let max = runs
        .iter()
        .map(|r| r.secs)
        .fold(median.unwrap_or(0.0), f64::max);
    let desc = tr!(lang, "chart-duration-axis");
    let desc = desc.as_str();
    let usual = median.map(|m| tr!(lang, "chart-usual-legend", usual = secs_text(m)));
    let (ok_label, failed_label) = (
        tr!(lang, "chart-succeeded-legend"),
        tr!(lang, "chart-failed-legend"),
    );
    let (ok_label, failed_label) = (ok_label.as_str(), failed_label.as_str());
    // the axes' labels: the runs, and durations like theirs
    let ticks: Vec<String> = (0..n)
        .map(|i| run_label(&ids, i as f64))
        .chain(runs.iter().map(|r| secs_text(r.secs)))
        .collect();
    let font = typeface(
        [title, desc, ok_label, failed_label]
            .into_iter()
            .chain(usual.as_deref())
            .chain(ticks.iter().map(String::as_str)),
    );
    let mut chart = ChartBuilder::on(root)
        .caption(title, font.at(22.0))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top(max))
        .map_err(err)?;
    let fmt_x = |x: &f64| run_label(&ids, *x);
    let fmt_y = |y: &f64| secs_text(*y);
    chart
        .configure_mesh()
        .x_labels(n.min(10) + 1)
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&fmt_y)
        .y_desc(desc)
        .label_style(font.at(13.0))
        .axis_desc_style(font.at(14.0))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    if let (Some(m), Some(usual)) = (median, usual) {
        chart
            .draw_series(LineSeries::new(
                [(-0.5, m), (n as f64 - 0.5, m)],
                MEDIAN_COLOR.stroke_width(2),
            ))
            .map_err(err)?
            .label(usual)
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], MEDIAN_COLOR.stroke_width(2)));
    }
    chart
        .draw_series(LineSeries::new(
            runs.iter().enumerate().map(|(i, r)| (i as f64, r.secs)),
            LINE_COLOR.stroke_width(2),
        ))
        .map_err(err)?;
    chart
        .draw_series(
            runs.iter()
                .enumerate()
                .filter(|(_, r)| r.ok)
                .map(|(i, r)| Circle::new((i as f64, r.secs), 5, OK_COLOR.filled())),
        )
        .map_err(err)?
        .label(ok_label)
        .legend(|(x, y)| Circle::new((x + 10, y), 5, OK_COLOR.filled()));
    if runs.iter().any(|r| !r.ok) {
        chart
            .draw_series(
                runs.iter()
                    .enumerate()
                    .filter(|(_, r)| !r.ok)
                    .map(|(i, r)| Circle::new((i as f64, r.secs), 5, FAIL_COLOR.filled())),
            )
            .map_err(err)?
            .label(failed_label)
            .legend(|(x, y)| Circle::new((x + 10, y), 5, FAIL_COLOR.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .label_font(font.at(13.0))
        .draw()
        .map_err(err)?;
    Ok(runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            (
                chart.backend_coord(&(i as f64, r.secs)),
                rgb(if r.ok { OK_COLOR } else { FAIL_COLOR }),
            )
        })
        .collect())
}

fn draw_resources(
    root: &Area<'_>,
    title: &str,
    runs: &[ResourcePoint],
    lang: Lang,
) -> Result<Points, String> {
    let n = runs.len();
    let ids: Vec<ExecId> = runs.iter().map(|r| r.id).collect();
    let (cpu_desc, memory_desc) = (tr!(lang, "chart-cpu-axis"), tr!(lang, "chart-memory-axis"));
    let (cpu_desc, memory_desc) = (cpu_desc.as_str(), memory_desc.as_str());
    let ticks: Vec<String> = (0..n).map(|i| run_label(&ids, i as f64)).collect();
    let font = typeface(
        [title, cpu_desc, memory_desc]
            .into_iter()
            .chain(ticks.iter().map(String::as_str)),
    );
    let root = root.titled(title, font.at(22.0)).map_err(err)?;
    let panels = root.split_evenly((2, 1));
    let mut points = Vec::new();
    let series: [(&str, RGBColor, Vec<f64>); 2] = [
        (
            cpu_desc,
            CPU_COLOR,
            runs.iter().map(|r| r.cpu_secs).collect(),
        ),
        (
            memory_desc,
            MEMORY_COLOR,
            runs.iter().map(|r| r.peak_mib).collect(),
        ),
    ];
    for (panel, (desc, color, values)) in panels.iter().zip(series) {
        let max = values.iter().copied().fold(0.0, f64::max);
        let mut chart = ChartBuilder::on(panel)
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top(max))
            .map_err(err)?;
        let fmt_x = |x: &f64| run_label(&ids, *x);
        let fmt_y = |y: &f64| format!("{y:.1}");
        chart
            .configure_mesh()
            .x_labels(n.min(10) + 1)
            .x_label_formatter(&fmt_x)
            .y_label_formatter(&fmt_y)
            .y_labels(5)
            .y_desc(desc)
            .label_style(font.at(12.0))
            .axis_desc_style(font.at(13.0))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                values.iter().enumerate().map(|(i, v)| (i as f64, *v)),
                color.stroke_width(2),
            ))
            .map_err(err)?;
        chart
            .draw_series(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Circle::new((i as f64, *v), 5, color.filled())),
            )
            .map_err(err)?;
        for (i, v) in values.iter().enumerate() {
            points.push((chart.backend_coord(&(i as f64, *v)), rgb(color)));
        }
    }
    Ok(points)
}

fn draw_failures(
    root: &Area<'_>,
    title: &str,
    causes: &[(String, usize)],
    lang: Lang,
) -> Result<Points, String> {
    let n = causes.len();
    let max = causes.iter().map(|c| c.1).max().unwrap_or(1) as f64;
    let desc = tr!(lang, "chart-failures-axis");
    let desc = desc.as_str();
    let font = typeface(
        [title, desc]
            .into_iter()
            .chain(causes.iter().map(|c| c.0.as_str())),
    );
    let mut chart = ChartBuilder::on(root)
        .caption(title, font.at(22.0))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(290)
        .build_cartesian_2d(0f64..top(max), 0f64..n as f64)
        .map_err(err)?;
    let fmt_x = |x: &f64| {
        if (x - x.round()).abs() < 1e-6 {
            format!("{}", x.round() as i64)
        } else {
            String::new()
        }
    };
    let no_y = |_: &f64| String::new();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&no_y)
        .y_labels(0)
        .x_desc(desc)
        .label_style(font.at(13.0))
        .axis_desc_style(font.at(14.0))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    // the most frequent cause on top
    let row = |i: usize| (n - 1 - i) as f64;
    chart
        .draw_series(causes.iter().enumerate().map(|(i, (_, c))| {
            Rectangle::new(
                [(0.0, row(i) + 0.2), (*c as f64, row(i) + 0.8)],
                BAR_COLOR.filled(),
            )
        }))
        .map_err(err)?;
    let label = TextStyle::from(font.at(14.0).into_font())
        .color(&BLACK)
        .pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Right,
            plotters::style::text_anchor::VPos::Center,
        ));
    let count = TextStyle::from(font.at(14.0).into_font())
        .color(&BLACK)
        .pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Left,
            plotters::style::text_anchor::VPos::Center,
        ));
    let mut points = Vec::new();
    for (i, (cause, c)) in causes.iter().enumerate() {
        let (x0, y) = chart.backend_coord(&(0.0, row(i) + 0.5));
        let (x1, _) = chart.backend_coord(&(*c as f64, row(i) + 0.5));
        // at most 36 characters, and fewer when they are wider than the room between the
        // margin and the bar (CJK characters are about twice as wide as Latin letters)
        let room = x0 - 8 - 12;
        let width = |s: &str| {
            root.estimate_text_size(s, &label)
                .map_or(0, |(w, _)| w as i32)
        };
        let mut text = short(cause, 36);
        while width(&text) > room && text.chars().count() > 2 {
            text = short(&text, text.chars().count() - 1);
        }
        root.draw(&Text::new(text, (x0 - 8, y), label.clone()))
            .map_err(err)?;
        root.draw(&Text::new(c.to_string(), (x1 + 6, y), count.clone()))
            .map_err(err)?;
        // the middle of the bar, a few pixels before its end
        points.push((((x0 + x1) / 2, y), rgb(BAR_COLOR)));
    }
    Ok(points)
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

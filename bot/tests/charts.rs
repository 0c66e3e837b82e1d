//! Charts: valid PNG images of the expected size, with the expected data points where the
//! chart builder says they are; deterministic; the README's example images in docs/images/
//! are the current rendering (`cargo run -p bot --example chart_examples` rewrites them); and
//! Chinese text is drawn with real glyphs (not boxes) from the embedded CJK font, which has
//! every Chinese character of the messages.

#[path = "common/chart_history.rs"]
mod chart_history;

use bot::i18n::Lang;
use bot::render::charts::{self, Chart, Rendered};
use chart_history::history;

/// Decodes a PNG into (width, height, RGB bytes).
fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let dec = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = dec.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG data");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn pixel(img: &(u32, u32, Vec<u8>), (x, y): (i32, i32)) -> (u8, u8, u8) {
    let i = ((y as u32 * img.0 + x as u32) * 3) as usize;
    (img.2[i], img.2[i + 1], img.2[i + 2])
}

/// The PNG is valid, of the expected size, and each data point is drawn where the builder
/// put it, in its colour.
fn check(r: &Rendered, expected_points: usize) -> (u32, u32, Vec<u8>) {
    assert_eq!(&r.png[..8], b"\x89PNG\r\n\x1a\n");
    let img = decode(&r.png);
    assert_eq!((img.0, img.1), (charts::WIDTH, charts::HEIGHT));
    assert_eq!((r.width, r.height), (charts::WIDTH, charts::HEIGHT));
    assert_eq!(r.points.len(), expected_points);
    for (at, colour) in &r.points {
        assert!(at.0 >= 0 && at.1 >= 0 && (at.0 as u32) < img.0 && (at.1 as u32) < img.1);
        assert_eq!(pixel(&img, *at), *colour, "the point at {at:?}");
    }
    img
}

#[test]
fn duration_chart_has_every_run_and_the_usual_line() {
    let h = history();
    let c = Chart::duration("backup-database", &h).unwrap();
    let Chart::Duration { runs, median, .. } = &c else {
        panic!()
    };
    assert_eq!(runs.len(), 13);
    assert_eq!(runs[0].id, 1001, "oldest first");
    // the median of the successful runs: 40.8 41.2 41.9 42.0 42.5 42.8 43.0 45.0 61.9 -> 42.5
    assert_eq!(*median, Some(42.5));
    let r = c.render().unwrap();
    let img = check(&r, 13);
    // failed points are red, the others green
    let red = r.points.iter().filter(|p| p.1 == (214, 39, 40)).count();
    assert_eq!(red, 4);
    // x increases with the run, y (pixels grow downwards) falls as the duration grows
    assert!(r.points.windows(2).all(|w| w[0].0 .0 < w[1].0 .0));
    let slow = r.points[5].0;
    let quick = r.points[7].0;
    assert!(slow.1 < quick.1);
    // the usual line: grey pixels at the median's height between two points
    assert!(r.points[0].0 .0 > 60);
    let text = c.text();
    assert!(text.starts_with("Duration, last 13 runs: "), "{text}");
    assert_eq!(text.matches(|c| ('▁'..='█').contains(&c)).count(), 13);
    assert!(text.contains("usual 42.5s"), "{text}");
    assert!(
        text.contains("failed: #1004, #1009, #1011, #1013"),
        "{text}"
    );
    // deterministic
    assert_eq!(c.render().unwrap().png, r.png);
    let _ = img;
}

#[test]
fn resource_chart_has_cpu_and_memory_points() {
    let h = history();
    let c = Chart::resources("backup-database", &h).unwrap();
    let r = c.render().unwrap();
    check(&r, 26);
    let cpu = r.points.iter().filter(|p| p.1 == (255, 127, 14)).count();
    let mem = r.points.iter().filter(|p| p.1 == (148, 103, 189)).count();
    assert_eq!((cpu, mem), (13, 13));
    // the memory panel is below the CPU panel
    assert!(r.points[13].0 .1 > charts::HEIGHT as i32 / 2);
    assert!(c.text().contains("CPU time, last 13 runs: "));
}

#[test]
fn failure_chart_groups_by_cause() {
    let h = history();
    let c = Chart::failures("backup-database", &h).unwrap();
    let Chart::Failures { causes, .. } = &c else {
        panic!()
    };
    assert_eq!(
        causes,
        &vec![
            (
                "error: connection to N.N.N.N:N refused (attempt N)".to_string(),
                2
            ),
            ("fatal: checksum mismatch in chunk <id>".to_string(), 1),
            ("timeout".to_string(), 1),
        ]
    );
    let r = c.render().unwrap();
    check(&r, 3);
    // the longest bar (2) is on top and twice as long as the others
    assert!(r.points[0].0 .1 < r.points[1].0 .1);
    let text = c.text();
    assert!(text.contains("████████████████████ 2"), "{text}");
    assert!(text.contains("timeout"), "{text}");
}

#[test]
fn readme_examples_are_the_current_rendering() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/images");
    let h = history();
    for c in [
        Chart::duration("backup-database", &h).unwrap(),
        Chart::resources("backup-database", &h).unwrap(),
        Chart::failures("backup-database", &h).unwrap(),
    ] {
        let path = dir.join(c.file_name());
        let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            committed == c.render().unwrap().png,
            "{} is not the current rendering: run `cargo run -p bot --example chart_examples`",
            path.display()
        );
    }
}

/// The failure chart of some causes, one failure each but for the first (two).
fn failures(causes: &[&str]) -> Chart {
    Chart::Failures {
        scope: "backup-database".into(),
        causes: causes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.to_string(), if i == 0 { 2 } else { 1 }))
            .collect(),
        lang: Lang::En,
    }
}

/// The pixels of a rectangle (x from `x.0` to `x.1`, y likewise) as RGB bytes.
fn region(img: &(u32, u32, Vec<u8>), x: (u32, u32), y: (u32, u32)) -> Vec<u8> {
    let mut out = Vec::new();
    for row in y.0..y.1 {
        let i = ((row * img.0 + x.0) * 3) as usize;
        out.extend_from_slice(&img.2[i..i + ((x.1 - x.0) * 3) as usize]);
    }
    out
}

/// How many pixels of some RGB bytes are dark (text is black on white).
fn dark(rgb: &[u8]) -> usize {
    rgb.chunks(3)
        .filter(|p| p.iter().map(|&c| c as u32).sum::<u32>() < 3 * 128)
        .count()
}

/// Chinese text is drawn with glyphs of its own: two charts that differ only in Chinese
/// strings of the same length differ in the pixels of those strings (missing glyphs would be
/// the same boxes, or nothing, for every character), and each string has about as much ink
/// as Chinese characters of its size.
fn assert_drawn_apart(a: &[u8], b: &[u8], chars: usize, what: &str) {
    assert!(a != b, "{what}: the same pixels for different Chinese text");
    for (text, ink) in [("first", dark(a)), ("second", dark(b))] {
        // at sizes 14 to 22 a Chinese character has some 35 to 115 dark pixels (the box of a
        // missing glyph some 15)
        assert!(
            (20 * chars..150 * chars).contains(&ink),
            "{what}, {text} text: {ink} dark pixels for {chars} characters"
        );
    }
}

#[test]
fn chinese_failure_causes_are_drawn_as_glyphs() {
    let a = failures(&["磁盘空间不足", "连接数据库超时"])
        .render()
        .unwrap();
    let b = failures(&["内存使用过高", "备份文件已损坏"])
        .render()
        .unwrap();
    let (img_a, img_b) = (check(&a, 2), check(&b, 2));
    assert_eq!(a.points, b.points, "the same bars");
    // each cause is drawn left of its bar (which starts after x = 300), centred on it
    for (i, chars) in [(0, 6), (1, 7)] {
        let y = a.points[i].0 .1 as u32;
        let (x, y) = ((0, 295), (y - 10, y + 10));
        let (ra, rb) = (region(&img_a, x, y), region(&img_b, x, y));
        assert_drawn_apart(&ra, &rb, chars, &format!("cause {i}"));
    }
}

#[test]
fn chinese_job_names_are_drawn_as_glyphs() {
    let h = history();
    let Some(Chart::Duration { runs, median, .. }) = Chart::duration("backup-database", &h) else {
        panic!()
    };
    let chart = |job: &str| Chart::Duration {
        job: job.into(),
        runs: runs.clone(),
        median,
        lang: Lang::En,
    };
    let (a, b) = (chart("备份数据库"), chart("清理旧日志"));
    assert!(a.title().starts_with("备份数据库: "));
    let (ra, rb) = (a.render().unwrap(), b.render().unwrap());
    let (img_a, img_b) = (check(&ra, 13), check(&rb, 13));
    // the title is in the top 40 rows; the rest of the two charts is the same
    let (w, h) = (charts::WIDTH, charts::HEIGHT);
    assert!(region(&img_a, (0, w), (40, h)) == region(&img_b, (0, w), (40, h)));
    // the job name starts the (centred) title, right of the y axis' labels: 5 characters
    // about 19 pixels wide
    let left = |img| {
        (80..w)
            .find(|&x| dark(&region(img, (x, x + 1), (0, 40))) > 0)
            .unwrap()
    };
    let x = left(&img_a).min(left(&img_b));
    let names = |img| region(img, (x, x + 5 * 19), (0, 40));
    assert_drawn_apart(&names(&img_a), &names(&img_b), 5, "job name");
}

const LONG_CAUSE: &str =
    "连接数据库超时，重试了三次仍然失败，请检查数据库服务器的网络配置和防火墙设置";

#[test]
fn long_chinese_causes_are_shortened_to_fit() {
    let r = failures(&[LONG_CAUSE, "timeout"]).render().unwrap();
    let img = check(&r, 2);
    let y = r.points[0].0 .1 as u32;
    let (left, label) = (
        region(&img, (0, 10), (y - 10, y + 10)),
        region(&img, (10, 295), (y - 10, y + 10)),
    );
    assert_eq!(dark(&left), 0, "the label runs off the image");
    assert!(dark(&label) > 35 * 10);
}

/// The characters that scripts/fonts/build-cjk-subset.sh takes from bot/locales/.
fn chinese(c: char) -> bool {
    matches!(c,
        '\u{2E80}'..='\u{2FDF}' // radicals
        | '\u{3000}'..='\u{303F}' // CJK symbols and punctuation
        | '\u{3400}'..='\u{4DBF}' // Han, extension A
        | '\u{4E00}'..='\u{9FFF}' // Han
        | '\u{F900}'..='\u{FAFF}' // compatibility ideographs
        | '\u{FE30}'..='\u{FE4F}' // compatibility forms
        | '\u{FF00}'..='\u{FFEF}' // full-width and half-width forms
        | '\u{20000}'..='\u{3FFFF}' // Han, extensions B to H
    )
}

/// The embedded CJK font (a subset) has every Chinese character of the bot's messages
/// (the .ftl files under bot/locales/, once there) and of the tests, and the common punctuation.
#[test]
fn the_cjk_font_has_the_characters_of_the_messages() {
    use ab_glyph::Font;
    let font = ab_glyph::FontRef::try_from_slice(include_bytes!(
        "../assets/fonts/NotoSansCJKsc-Regular-subset.otf"
    ))
    .unwrap();
    let locales = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    let tests = "磁盘空间不足 连接数据库超时 内存使用过高 备份文件已损坏 备份数据库 清理旧日志 \
                 ，。：；（）！？、“”《》… 0123456789 ABCXYZ abcxyz #%()-./:";
    let mut texts = vec![("the tests".to_string(), format!("{tests}{LONG_CAUSE}"))];
    let mut dirs = vec![locales];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "ftl") {
                let text = std::fs::read_to_string(&path).unwrap();
                texts.push((path.display().to_string(), text));
            }
        }
    }
    for (name, text) in texts {
        let missing: String = text
            .chars()
            .filter(|&c| (c.is_ascii_graphic() || chinese(c)) && font.glyph_id(c).0 == 0)
            .collect();
        assert!(
            missing.is_empty(),
            "{name}: the embedded CJK font lacks {missing:?}: run scripts/fonts/build-cjk-subset.sh"
        );
    }
}

/// A chart for a Chinese speaker: its title, axes and text form are Chinese, and the PNG
/// draws them (more ink than boxes would give, and different from the English chart).
#[test]
fn charts_speak_the_language_of_the_reply() {
    let h = history();
    let Some(en) = Chart::duration("backup-database", &h) else {
        panic!()
    };
    let zh = en.clone().in_lang(Lang::Zh);
    assert!(
        zh.title().starts_with("backup-database：最近 "),
        "{}",
        zh.title()
    );
    assert!(zh.title().ends_with(" 次运行的耗时"), "{}", zh.title());
    assert!(zh.text().starts_with("耗时，最近 "), "{}", zh.text());
    assert!(en.text().starts_with("Duration, last "), "{}", en.text());
    let (png_en, png_zh) = (en.render().unwrap().png, zh.render().unwrap().png);
    assert_ne!(png_en, png_zh);
    let f = failures(&["exit code 3", "timeout", "磁盘空间不足"]).in_lang(Lang::Zh);
    assert_eq!(f.title(), "backup-database：按原因统计的失败");
    let text = f.text();
    assert!(text.starts_with("按原因统计的失败："), "{text}");
    assert!(text.contains("退出码 3"), "{text}");
    assert!(text.contains("超时"), "{text}");
    assert!(text.contains("磁盘空间不足"), "{text}");
}

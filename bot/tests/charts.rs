//! Charts: valid PNG images of the expected size, with the expected data points where the
//! chart builder says they are; deterministic; and the README's example images in docs/images/
//! are the current rendering (`cargo run -p bot --example chart_examples` rewrites them).

#[path = "common/chart_history.rs"]
mod chart_history;

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

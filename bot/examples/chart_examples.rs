//! Writes the example charts of the README (docs/images/*.png) from a fixed run history, and
//! prints each chart's text form. `bot/tests/charts.rs` checks that the committed images are
//! the current rendering.
//!
//! ```sh
//! cargo run -p bot --example chart_examples
//! ```

#[path = "../tests/common/chart_history.rs"]
mod chart_history;

use bot::render::charts::Chart;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/images");
    std::fs::create_dir_all(&dir)?;
    let h = chart_history::history();
    for c in [
        Chart::duration("backup-database", &h),
        Chart::resources("backup-database", &h),
        Chart::failures("backup-database", &h),
    ]
    .into_iter()
    .flatten()
    {
        let path = dir.join(c.file_name());
        std::fs::write(&path, c.render()?.png)?;
        println!("{}\n{}\n", path.display(), c.text());
    }
    Ok(())
}

//! Drawing the three charts with plotters.

use super::fonts::typeface;
use super::*;

pub(super) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

pub(super) fn rgb(c: RGBColor) -> (u8, u8, u8) {
    (c.0, c.1, c.2)
}

/// The upper end of a y axis: a bit above the largest value.
pub(super) fn top(max: f64) -> f64 {
    if max <= 0.0 {
        1.0
    } else {
        max * 1.15
    }
}

pub(super) fn run_label(ids: &[ExecId], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() < 0.01 && i >= 0.0 && (i as usize) < ids.len() {
        format!("#{}", ids[i as usize])
    } else {
        String::new()
    }
}

pub(super) fn draw_duration(
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

pub(super) fn draw_resources(
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

pub(super) fn draw_failures(
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

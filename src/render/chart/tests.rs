use super::data::{Axis, Shape, Stacking, prepare};
use super::*;
use crate::kql::datetime::parse_datetime;
use crate::kql::types::Type;
use crate::kql::value::Value;

fn at(text: &str) -> i64 {
    parse_datetime(text).unwrap()
}

fn render(text: &str) -> Visualization {
    crate::kql::visualization::visualization(&format!("T | {text}")).unwrap()
}

fn releases() -> (Vec<Column>, Vec<Row>) {
    let columns = vec![Column::new("Day", Type::DateTime), Column::new("Releases", Type::Long)];
    let rows = vec![
        vec![Value::DateTime(at("2026-11-24")), Value::Long(2)],
        vec![Value::DateTime(at("2026-11-26")), Value::Long(1)],
    ];
    (columns, rows)
}

const WEEK: (&str, &str) = ("2026-11-23T08:00:00Z", "2026-11-30T08:00:00Z");

fn week() -> Option<(i64, i64)> {
    Some((at(WEEK.0), at(WEEK.1)))
}

#[test]
fn columns_over_days_get_a_slot_for_every_day_of_the_window() {
    let (columns, rows) = releases();
    let plot = prepare(&render("render columnchart"), &columns, &rows, week(), chrono_tz::UTC).unwrap();
    let Axis::Categories(labels) = &plot.axis else { panic!("categories expected") };
    // From Monday's midnight (the window starts at 08:00) to Monday 30th (the window ends in it).
    assert_eq!(labels.first().map(String::as_str), Some("Mon 23 Nov"));
    assert_eq!(labels.last().map(String::as_str), Some("Mon 30 Nov"));
    assert_eq!(labels.len(), 8);
    assert_eq!(plot.series.len(), 1);
    assert_eq!(plot.series[0].name, "Releases");
    assert_eq!(plot.series[0].values, [None, Some(2.0), None, Some(1.0), None, None, None, None]);
    assert!(!plot.legend, "one series needs no legend");
}

#[test]
fn a_time_chart_is_a_line_over_time_split_by_its_text_column() {
    let columns = vec![
        Column::new("Timestamp", Type::DateTime),
        Column::new("ActionType", Type::String),
        Column::new("n", Type::Long),
    ];
    let rows = vec![
        vec![Value::DateTime(at("2026-11-24T10:00:00Z")), Value::string("Isolate"), Value::Long(3)],
        vec![Value::DateTime(at("2026-11-24T09:00:00Z")), Value::string("Release"), Value::Long(1)],
        vec![Value::DateTime(at("2026-11-24T10:00:00Z")), Value::string("Isolate"), Value::Long(4)],
    ];
    let plot = prepare(&render("render timechart"), &columns, &rows, week(), chrono_tz::UTC).unwrap();
    assert_eq!(plot.shape, Shape::Lines);
    let Axis::Time { points, start, end } = &plot.axis else { panic!("a time axis expected") };
    assert_eq!(points, &[at("2026-11-24T09:00:00Z"), at("2026-11-24T10:00:00Z")], "sorted");
    assert_eq!(Some((*start, *end)), week());
    let names: Vec<&str> = plot.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["Isolate", "Release"]);
    assert_eq!(plot.series[0].values, [None, Some(7.0)], "a repeated point adds up");
    assert!(plot.legend);
}

#[test]
fn properties_choose_the_columns_and_the_stacking() {
    let columns = vec![
        Column::new("User", Type::String),
        Column::new("Logons", Type::Long),
        Column::new("Failures", Type::Long),
        Column::new("Ratio", Type::Real),
    ];
    let rows = vec![
        vec![Value::string("b@contoso"), Value::Long(5), Value::Long(1), Value::Real(0.2)],
        vec![Value::string("a@contoso"), Value::Long(2), Value::Long(0), Value::Real(0.0)],
    ];
    let plot = prepare(
        &render("render barchart with (ycolumns=Logons, Failures, kind=stacked, title='Top users')"),
        &columns,
        &rows,
        week(),
        chrono_tz::UTC,
    )
    .unwrap();
    assert_eq!((plot.shape, plot.stacking), (Shape::Bars, Stacking::Stacked));
    assert_eq!(
        plot.axis,
        Axis::Categories(vec!["b@contoso".into(), "a@contoso".into()]),
        "text keeps the query's order"
    );
    assert_eq!(plot.series.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["Logons", "Failures"]);
    assert_eq!(plot.title, "Top users");

    let missing = prepare(&render("render barchart with (ycolumns=Logins)"), &columns, &rows, week(), chrono_tz::UTC);
    let message = missing.unwrap_err().to_string();
    assert!(
        message.contains("ycolumns names 'Logins'") && message.contains("User, Logons, Failures, Ratio"),
        "{message}"
    );
}

#[test]
fn what_cannot_be_drawn_says_why() {
    let columns = vec![Column::new("DeviceName", Type::String), Column::new("When", Type::DateTime)];
    let rows = vec![vec![Value::string("pc-1"), Value::DateTime(at("2026-11-24"))]];
    let error = prepare(&render("render columnchart"), &columns, &rows, week(), chrono_tz::UTC).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the result has no numeric column to draw besides the x axis 'DeviceName' (its columns: DeviceName (string), When (datetime))"
    );
    let error = prepare(&render("render treemap"), &columns, &rows, week(), chrono_tz::UTC).unwrap_err();
    assert!(
        error.to_string().starts_with("huntbook does not draw a 'treemap' (it draws columnchart, barchart"),
        "{error}"
    );
}

#[test]
fn a_pie_keeps_its_largest_slices_and_adds_up_the_rest() {
    let columns = vec![Column::new("Country", Type::String), Column::new("Count", Type::Long)];
    let rows: Vec<Row> = (1..=14).map(|n| vec![Value::string(format!("c{n}")), Value::Long(n)]).collect();
    let plot = prepare(&render("render piechart"), &columns, &rows, week(), chrono_tz::UTC).unwrap();
    let Axis::Categories(labels) = &plot.axis else { panic!("categories expected") };
    assert_eq!(labels.len(), 10);
    assert_eq!(labels[0], "c14");
    assert_eq!(labels[9], "Other (5)");
    assert_eq!(plot.series[0].values[9], Some(15.0), "1 + 2 + 3 + 4 + 5");
}

#[test]
fn labels_from_hits_are_one_line_and_short() {
    // As a table cell shows it: a line break a space, a NUL and a bidi override by their code points.
    assert_eq!(data::label("pc-1\r\nBcc: x\u{202e}y\0"), "pc-1 Bcc: x‹U+202E›y‹U+0000›");
    assert_eq!(data::label(&"x".repeat(100)).chars().count(), 60);
    assert_eq!(data::label("  "), "(empty)");
}

/// The image's pixels, decoded.
fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    (info.width, info.height, pixels)
}

#[test]
fn a_column_chart_is_a_png_with_its_bars_where_the_days_are() {
    let (columns, rows) = releases();
    let chart = draw_chart(
        &render("render columnchart with (title='Releases per day')"),
        &columns,
        &rows,
        week(),
        chrono_tz::UTC,
    )
    .unwrap();
    assert_eq!(chart.title, "Releases per day");
    assert_eq!(chart.description, "Column chart \"Releases per day\": Tue 24 Nov 2, Thu 26 Nov 1");
    let (width, height, pixels) = decode(&chart.png);
    assert_eq!((width, height), (WIDTH * 2, HEIGHT * 2));
    // Columns of pixels holding the first palette colour (#2563eb): the bars, in the 2nd and 4th of 8 slots.
    let blue = |x: u32| {
        (0..height).any(|y| {
            let at = ((y * width + x) * 3) as usize;
            pixels[at..at + 3] == [0x25, 0x63, 0xeb]
        })
    };
    // Runs of such columns: two bars, in the 2nd and 4th of 8 slots that fill the plot to its right edge.
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for x in (0..width).filter(|x| blue(*x)) {
        match runs.last_mut() {
            Some(run) if run.1 + 1 == x => run.1 = x,
            _ => runs.push((x, x)),
        }
    }
    assert_eq!(runs.len(), 2, "{runs:?}");
    let center = |run: (u32, u32)| f64::from(run.0 + run.1) / 2.0;
    let slot = (center(runs[1]) - center(runs[0])) / 2.0;
    let left = center(runs[0]) - 1.5 * slot;
    assert!(left > 24.0 && left < 120.0, "the plot starts after the value labels: {left}");
    let right = left + 8.0 * slot;
    assert!((right - f64::from(width - 24)).abs() < 4.0, "8 slots end at the right margin: {right}");
}

#[test]
fn every_shape_draws_and_an_empty_result_says_so() {
    let (columns, rows) = releases();
    for kind in ["columnchart", "barchart", "timechart", "linechart", "areachart", "piechart"] {
        let chart = draw_chart(&render(&format!("render {kind}")), &columns, &rows, week(), chrono_tz::UTC);
        let chart = chart.unwrap_or_else(|error| panic!("{kind}: {error}"));
        assert_eq!(decode(&chart.png).0, WIDTH * 2, "{kind}");
        if let Ok(dir) = std::env::var("HUNTBOOK_SAVE_CHARTS") {
            std::fs::write(format!("{dir}/{kind}.png"), &chart.png).unwrap();
        }
    }
    let chart = draw_chart(&render("render timechart"), &columns, &[], week(), chrono_tz::UTC).unwrap();
    assert_eq!(chart.description, "Line chart \"Releases\": no values");
}

#[test]
fn extreme_values_draw_and_keep_short_labels() {
    assert_eq!(draw::format_number(12_400.0), "12,400");
    assert_eq!(draw::format_number(-1_500_000.0), "-1.5M");
    assert_eq!(draw::format_number(0.25), "0.25");
    assert_eq!(draw::format_number(9.2e18), "9.20e18");
    let columns =
        vec![Column::new("Host", Type::String), Column::new("Bytes", Type::Long), Column::new("Ratio", Type::Real)];
    let rows = vec![
        vec![Value::string("a"), Value::Long(i64::MAX), Value::Real(f64::MIN_POSITIVE)],
        vec![Value::string("b"), Value::Long(i64::MIN), Value::Real(-1e300)],
    ];
    for kind in ["columnchart", "barchart", "linechart", "piechart"] {
        let chart = draw_chart(&render(&format!("render {kind}")), &columns, &rows, week(), chrono_tz::UTC);
        assert!(chart.is_ok(), "{kind}: {:?}", chart.err());
    }
}

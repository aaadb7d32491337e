//! A plot drawn into pixels with plotters' bitmap backend, and written as a PNG. The layout is done here
//! (title, legend, axes, labels that never overlap), plotters rasterizes shapes and text, and the text is set
//! in DejaVu Sans (a Latin, Greek and Cyrillic subset, vendored with its licence) so that a chart looks the
//! same on every machine. Images are drawn at twice the size they are shown, for sharp text on high-density
//! screens.

use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::ChartError;
use super::data::{Axis, Plot, Series, Shape, Stacking};

/// The size a chart is shown at, in CSS pixels.
pub const WIDTH: u32 = 640;
pub const HEIGHT: u32 = 320;
/// Device pixels per CSS pixel.
const SCALE: i32 = 2;
const FAMILY: &str = "huntbook-sans";
const FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-subset.ttf");

/// Series colours: distinguishable by most colour-blind readers, in this order.
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x25, 0x63, 0xeb),
    RGBColor(0xf5, 0x9e, 0x0b),
    RGBColor(0x10, 0xb9, 0x81),
    RGBColor(0xdc, 0x26, 0x26),
    RGBColor(0x8b, 0x5c, 0xf6),
    RGBColor(0x0e, 0xa5, 0xe9),
    RGBColor(0xea, 0x58, 0x0c),
    RGBColor(0x65, 0xa3, 0x0d),
    RGBColor(0xdb, 0x27, 0x77),
    RGBColor(0x64, 0x74, 0x8b),
];
const INK: RGBColor = RGBColor(0x11, 0x18, 0x27);
const MUTED: RGBColor = RGBColor(0x4b, 0x55, 0x63);
const GRID: RGBColor = RGBColor(0xe5, 0xe7, 0xeb);
const AXIS: RGBColor = RGBColor(0x9c, 0xa3, 0xaf);

const fn px(css: i32) -> i32 {
    css * SCALE
}

const PAD: i32 = px(12);

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn failed(error: impl std::fmt::Display) -> ChartError {
    ChartError::Draw(error.to_string())
}

fn font_family() -> Result<&'static str, ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let registered =
        *REGISTERED.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if registered { Ok(FAMILY) } else { Err(ChartError::Draw("the chart font could not be read".to_string())) }
}

/// `12,400`, `1.5M`, `0.25`.
pub fn format_number(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e12 {
        return format!("{value:.2e}");
    }
    if magnitude >= 1e6 {
        let text = format!("{:.1}", value / 1e6);
        return format!("{}M", text.trim_end_matches(".0"));
    }
    if value.fract() == 0.0 {
        #[allow(clippy::cast_possible_truncation)] // below a million, checked above
        let whole = value as i64;
        let digits = whole.unsigned_abs().to_string();
        let mut grouped = String::new();
        for (index, digit) in digits.chars().enumerate() {
            if index > 0 && (digits.len() - index).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        return if whole < 0 { format!("-{grouped}") } else { grouped };
    }
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Ticks 1, 2 or 5 × 10ⁿ apart covering `[low, high]`, about `count` of them.
fn nice_ticks(low: f64, high: f64, count: f64, integers: bool) -> (f64, f64, Vec<f64>) {
    let (low, high) = if high <= low + f64::EPSILON { (low, low + 1.0) } else { (low, high) };
    let raw = (high - low) / count;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * power).find(|step| *step >= raw).unwrap_or(10.0 * power);
    let step = if integers { step.max(1.0) } else { step };
    let start = (low / step).floor() * step;
    let end = (high / step).ceil() * step;
    let mut ticks = Vec::new();
    let mut tick = start;
    while tick <= end + step / 2.0 && ticks.len() < 50 {
        ticks.push(if tick.abs() < step / 1e6 { 0.0 } else { tick });
        tick += step;
    }
    (start, end, ticks)
}

struct Painter<'a, 'b> {
    area: &'b Area<'a>,
    family: &'static str,
}

impl Painter<'_, '_> {
    fn style(&self, size: i32, color: &'static RGBColor, pos: Pos) -> TextStyle<'static> {
        TextStyle::from((self.family, f64::from(size)).into_font()).color(color).pos(pos)
    }

    fn text_width(&self, text: &str, size: i32) -> i32 {
        let style = TextStyle::from((self.family, f64::from(size)).into_font());
        self.area.estimate_text_size(text, &style).map_or(0, |(w, _)| i32::try_from(w).unwrap_or(i32::MAX))
    }

    /// `text` cut with "…" to fit `width`.
    fn fitted(&self, text: &str, size: i32, width: i32) -> String {
        if self.text_width(text, size) <= width {
            return text.to_string();
        }
        let mut chars: Vec<char> = text.chars().collect();
        while !chars.is_empty() {
            chars.pop();
            let candidate: String = chars.iter().collect::<String>() + "…";
            if self.text_width(&candidate, size) <= width {
                return candidate;
            }
        }
        String::new()
    }

    fn text(
        &self,
        text: &str,
        at: (i32, i32),
        size: i32,
        color: &'static RGBColor,
        pos: Pos,
    ) -> Result<(), ChartError> {
        if text.is_empty() {
            return Ok(());
        }
        self.area.draw(&Text::new(text.to_string(), at, self.style(size, color, pos))).map_err(failed)
    }

    fn rect(&self, from: (i32, i32), to: (i32, i32), color: RGBColor) -> Result<(), ChartError> {
        self.area.draw(&Rectangle::new([from, to], color.filled())).map_err(failed)
    }

    fn line(&self, points: Vec<(i32, i32)>, color: RGBColor, width: i32) -> Result<(), ChartError> {
        let width = u32::try_from(width).unwrap_or(1);
        self.area.draw(&PathElement::new(points, color.stroke_width(width))).map_err(failed)
    }
}

/// The plot area, in device pixels.
#[derive(Clone, Copy)]
struct Frame {
    left: i32,
    top: i32,
    right: i32,
    bottom: i32,
}

/// Draws the plot; the PNG's bytes.
pub fn draw(plot: &Plot) -> Result<Vec<u8>, ChartError> {
    let family = font_family()?;
    let (width, height) = (WIDTH * SCALE.unsigned_abs(), HEIGHT * SCALE.unsigned_abs());
    let mut pixels = vec![255u8; (width * height * 3) as usize];
    {
        let area = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        area.fill(&WHITE).map_err(failed)?;
        let painter = Painter { area: &area, family };
        let canvas_width = i32::try_from(width).unwrap_or(i32::MAX);
        let canvas_height = i32::try_from(height).unwrap_or(i32::MAX);
        let mut top = PAD;
        if !plot.title.is_empty() {
            let title = painter.fitted(&plot.title, px(16), canvas_width - 2 * PAD);
            painter.text(&title, (PAD, top), px(16), &INK, Pos::new(HPos::Left, VPos::Top))?;
            top += px(26);
        }
        if plot.legend && plot.shape != Shape::Pie {
            top = legend(&painter, &plot.series, top, canvas_width)?;
        }
        if let Some(ytitle) = &plot.ytitle
            && plot.shape != Shape::Pie
        {
            painter.text(ytitle, (PAD, top), px(12), &MUTED, Pos::new(HPos::Left, VPos::Top))?;
            top += px(16);
        }
        let mut bottom = canvas_height - PAD - px(18);
        if let Some(xtitle) = &plot.xtitle
            && plot.shape != Shape::Pie
        {
            painter.text(
                xtitle,
                (canvas_width / 2, canvas_height - PAD),
                px(12),
                &MUTED,
                Pos::new(HPos::Center, VPos::Bottom),
            )?;
            bottom -= px(16);
        }
        let frame = Frame { left: PAD, top: top + px(6), right: canvas_width - PAD, bottom };
        let empty = plot.series.iter().all(|series| series.values.iter().all(Option::is_none));
        if empty {
            painter.text(
                "Nothing to draw in this window",
                ((frame.left + frame.right) / 2, (frame.top + frame.bottom) / 2),
                px(13),
                &MUTED,
                Pos::new(HPos::Center, VPos::Center),
            )?;
        } else {
            match plot.shape {
                Shape::Columns | Shape::Lines => vertical(&painter, plot, frame)?,
                Shape::Bars => horizontal(&painter, plot, frame)?,
                Shape::Pie => pie(&painter, plot, frame)?,
            }
        }
        area.present().map_err(failed)?;
    }
    encode(&pixels, width, height)
}

fn encode(pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::High);
        let mut writer = encoder.write_header().map_err(failed)?;
        writer.write_image_data(pixels).map_err(failed)?;
        writer.finish().map_err(failed)?;
    }
    Ok(bytes)
}

/// The legend under the title: a swatch and a name per series, on at most two lines; returns the next top.
fn legend(painter: &Painter, series: &[Series], top: i32, width: i32) -> Result<i32, ChartError> {
    let line = px(18);
    let (mut x, mut y) = (PAD, top);
    for (index, one) in series.iter().enumerate() {
        let name = painter.fitted(&one.name, px(12), width / 3);
        let item = px(14) + painter.text_width(&name, px(12)) + px(14);
        if x + item > width - PAD && x > PAD {
            if y > top {
                let rest = format!("+{} more", series.len() - index);
                painter.text(&rest, (x, y + px(1)), px(12), &MUTED, Pos::new(HPos::Left, VPos::Top))?;
                break;
            }
            x = PAD;
            y += line;
        }
        painter.rect((x, y + px(2)), (x + px(10), y + px(12)), PALETTE[index % PALETTE.len()])?;
        painter.text(&name, (x + px(14), y + px(1)), px(12), &INK, Pos::new(HPos::Left, VPos::Top))?;
        x += item;
    }
    Ok(y + line)
}

/// The value range: what the bars stack to, or the values themselves; bars always include zero.
fn value_range(plot: &Plot, categories: usize) -> (f64, f64) {
    if plot.stacking == Stacking::Percent && plot.shape != Shape::Lines {
        return (0.0, 100.0);
    }
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    if plot.stacking == Stacking::Stacked && plot.shape != Shape::Lines {
        for category in 0..categories {
            let values = plot.series.iter().filter_map(|s| s.values.get(category).copied().flatten());
            let (up, down) =
                values.fold((0.0, 0.0), |(up, down), v| if v >= 0.0 { (up + v, down) } else { (up, down + v) });
            low = low.min(down);
            high = high.max(up);
        }
    } else {
        for value in plot.series.iter().flat_map(|s| s.values.iter().flatten()) {
            low = low.min(*value);
            high = high.max(*value);
        }
    }
    if !low.is_finite() {
        (low, high) = (0.0, 1.0);
    }
    low = low.min(0.0);
    (plot.ymin.unwrap_or(low), plot.ymax.unwrap_or(high.max(low)))
}

/// Each category's values as drawn: shares of 100 for `stacked100`.
fn shown_values(plot: &Plot, category: usize) -> Vec<Option<f64>> {
    let values: Vec<Option<f64>> = plot.series.iter().map(|s| s.values.get(category).copied().flatten()).collect();
    if plot.stacking != Stacking::Percent {
        return values;
    }
    let sum: f64 = values.iter().flatten().map(|v| v.abs()).sum();
    values.iter().map(|v| v.map(|v| if sum > 0.0 { v.abs() / sum * 100.0 } else { 0.0 })).collect()
}

fn category_count(plot: &Plot) -> usize {
    match &plot.axis {
        Axis::Categories(labels) => labels.len(),
        Axis::Time { points, .. } => points.len(),
    }
}

#[allow(clippy::cast_possible_truncation)] // pixel positions
fn scale(value: f64, low: f64, high: f64, from: i32, to: i32) -> i32 {
    let share = if high > low { (value - low) / (high - low) } else { 0.0 };
    (f64::from(from) + share * f64::from(to - from)).round() as i32
}

/// Columns and lines: categories or time across, values up.
fn vertical(painter: &Painter, plot: &Plot, frame: Frame) -> Result<(), ChartError> {
    let categories = category_count(plot);
    let (low, high) = value_range(plot, categories);
    let (low, high, ticks) = nice_ticks(low, high, 5.0, plot.integers && plot.stacking != Stacking::Percent);
    let labels: Vec<String> = ticks.iter().map(|t| format_number(*t)).collect();
    let room = (frame.right - frame.left) * 30 / 100;
    let label_width = labels.iter().map(|l| painter.text_width(l, px(12))).max().unwrap_or(0).min(room);
    let frame = Frame { left: frame.left + label_width + px(8), ..frame };
    let y = |value: f64| scale(value, low, high, frame.bottom, frame.top);
    for (tick, label) in ticks.iter().zip(&labels) {
        let at = y(*tick);
        painter.line(vec![(frame.left, at), (frame.right, at)], GRID, px(1) / 2)?;
        painter.text(label, (frame.left - px(6), at), px(12), &MUTED, Pos::new(HPos::Right, VPos::Center))?;
    }
    let zero = y(0.0_f64.clamp(low, high));
    painter.line(vec![(frame.left, zero), (frame.right, zero)], AXIS, px(1))?;

    let width = f64::from(frame.right - frame.left);
    #[allow(clippy::cast_precision_loss)]
    let slot = width / categories.max(1) as f64;
    #[allow(clippy::cast_possible_truncation)]
    let slot_x = |index: usize, offset: f64| frame.left + ((index as f64 + offset) * slot).round() as i32;

    match (&plot.axis, plot.shape) {
        (Axis::Time { points, start, end }, _) => {
            #[allow(clippy::cast_precision_loss)]
            let x = |ticks: i64| scale(ticks as f64, *start as f64, *end as f64, frame.left, frame.right);
            time_labels(painter, plot, frame, *start, *end)?;
            let xs: Vec<i32> = points.iter().map(|t| x(*t)).collect();
            draw_lines(painter, plot, &xs, &y)?;
        }
        (Axis::Categories(labels), Shape::Lines) => {
            category_labels(painter, labels, frame, slot)?;
            let xs: Vec<i32> = (0..categories).map(|index| slot_x(index, 0.5)).collect();
            draw_lines(painter, plot, &xs, &y)?;
        }
        (Axis::Categories(labels), _) => {
            category_labels(painter, labels, frame, slot)?;
            for category in 0..categories {
                let values = shown_values(plot, category);
                bars(painter, plot.stacking, &values, (slot_x(category, 0.0), slot_x(category, 1.0)), &|v| y(v), true)?;
            }
        }
    }
    Ok(())
}

/// One category's bars within `[from, to)` across the category axis; `value_at` maps a value onto the value
/// axis. Vertical columns when `upright`, horizontal bars otherwise.
fn bars(
    painter: &Painter,
    stacking: Stacking,
    values: &[Option<f64>],
    (from, to): (i32, i32),
    value_at: &dyn Fn(f64) -> i32,
    upright: bool,
) -> Result<(), ChartError> {
    let place = |across: (i32, i32), along: (i32, i32), color: RGBColor| {
        let (a, b) = if upright {
            ((across.0, along.0.min(along.1)), (across.1, along.0.max(along.1)))
        } else {
            ((along.0.min(along.1), across.0), (along.0.max(along.1), across.1))
        };
        painter.rect(a, b, color)
    };
    let slot = f64::from(to - from);
    #[allow(clippy::cast_possible_truncation)]
    if stacking == Stacking::Side {
        let group = slot * 0.76;
        #[allow(clippy::cast_precision_loss)]
        let bar = group / values.len().max(1) as f64;
        let gap = if bar > f64::from(px(6)) { px(1) } else { 0 };
        for (index, value) in values.iter().enumerate() {
            let Some(value) = value else { continue };
            #[allow(clippy::cast_precision_loss)]
            let start = f64::from(from) + (slot - group) / 2.0 + index as f64 * bar;
            let across = (start.round() as i32, (start + bar).round() as i32 - gap);
            place(across, (value_at(0.0), value_at(*value)), PALETTE[index % PALETTE.len()])?;
        }
    } else {
        let bar = slot * 0.6;
        let start = f64::from(from) + (slot - bar) / 2.0;
        let across = (start.round() as i32, (start + bar).round() as i32);
        let (mut up, mut down) = (0.0, 0.0);
        for (index, value) in values.iter().enumerate() {
            let Some(value) = value else { continue };
            let base = if *value >= 0.0 { &mut up } else { &mut down };
            let next = *base + value;
            place(across, (value_at(*base), value_at(next)), PALETTE[index % PALETTE.len()])?;
            *base = next;
        }
    }
    Ok(())
}

fn draw_lines(painter: &Painter, plot: &Plot, xs: &[i32], y: &dyn Fn(f64) -> i32) -> Result<(), ChartError> {
    let dots = xs.len() <= 40;
    for (index, series) in plot.series.iter().enumerate() {
        let color = PALETTE[index % PALETTE.len()];
        // A point the series has no value at is passed over, as Kusto's charts do: the line joins its neighbours.
        let run: Vec<(i32, i32)> =
            xs.iter().zip(&series.values).filter_map(|(x, value)| value.map(|value| (*x, y(value)))).collect();
        if run.len() > 1 {
            painter.line(run.clone(), color, px(2))?;
        }
        if dots || run.len() == 1 {
            for (x, value) in xs.iter().zip(&series.values) {
                if let Some(value) = value {
                    painter.area.draw(&Circle::new((*x, y(*value)), px(3), color.filled())).map_err(failed)?;
                }
            }
        }
    }
    Ok(())
}

/// Category names under the axis, every k-th one so that none overlaps the next.
fn category_labels(painter: &Painter, labels: &[String], frame: Frame, slot: f64) -> Result<(), ChartError> {
    let widest = labels.iter().map(|l| painter.text_width(l, px(12))).max().unwrap_or(0);
    let wanted = f64::from(widest.min(px(140)) + px(10));
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let every = ((wanted / slot.max(1.0)).ceil() as usize).max(1);
    #[allow(clippy::cast_possible_truncation)]
    let room = (slot * every as f64) as i32 - px(6);
    for (index, label) in labels.iter().enumerate().step_by(every) {
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let center = frame.left + ((index as f64 + 0.5) * slot).round() as i32;
        let text = painter.fitted(label, px(12), room);
        let center = within_canvas(painter, &text, center, frame);
        painter.text(&text, (center, frame.bottom + px(5)), px(12), &MUTED, Pos::new(HPos::Center, VPos::Top))?;
    }
    Ok(())
}

/// The center of a label under the axis, moved in so that the whole label is on the canvas.
fn within_canvas(painter: &Painter, text: &str, center: i32, frame: Frame) -> i32 {
    let half = painter.text_width(text, px(12)) / 2;
    center.clamp(PAD + half, (frame.right - half).max(PAD + half))
}

/// Instants under a time axis: a step of minutes to weeks that leaves room for each label.
fn time_labels(painter: &Painter, plot: &Plot, frame: Frame, start: i64, end: i64) -> Result<(), ChartError> {
    const MINUTE: i64 = 600_000_000;
    const STEPS: [i64; 14] = [1, 5, 15, 30, 60, 120, 180, 360, 720, 1440, 2 * 1440, 7 * 1440, 14 * 1440, 28 * 1440];
    let span = (end - start).max(1);
    let room = i64::from((frame.right - frame.left) / px(90)).max(2);
    let step = STEPS.iter().map(|m| m * MINUTE).find(|step| span / step <= room).unwrap_or(28 * 1440 * MINUTE);
    let daily = step >= 1440 * MINUTE;
    let mut tick = start - start.rem_euclid(step);
    if tick < start {
        tick += step;
    }
    while tick <= end {
        #[allow(clippy::cast_precision_loss)]
        let x = scale(tick as f64, start as f64, end as f64, frame.left, frame.right);
        let label = if daily { super::data::format_day(tick) } else { super::data::format_time(tick, plot.timezone) };
        painter.line(vec![(x, frame.bottom), (x, frame.bottom + px(4))], AXIS, px(1))?;
        let center = within_canvas(painter, &label, x, frame);
        painter.text(&label, (center, frame.bottom + px(5)), px(12), &MUTED, Pos::new(HPos::Center, VPos::Top))?;
        tick += step;
    }
    Ok(())
}

/// Bars: categories down the left, values across.
fn horizontal(painter: &Painter, plot: &Plot, frame: Frame) -> Result<(), ChartError> {
    let Axis::Categories(labels) = &plot.axis else { return Ok(()) };
    let categories = labels.len();
    let (low, high) = value_range(plot, categories);
    let (low, high, ticks) = nice_ticks(low, high, 5.0, plot.integers && plot.stacking != Stacking::Percent);
    let room = (frame.right - frame.left) * 35 / 100;
    let widest = labels.iter().map(|l| painter.text_width(l, px(12))).max().unwrap_or(0).min(room);
    let frame = Frame { left: frame.left + widest + px(8), ..frame };
    let x = |value: f64| scale(value, low, high, frame.left, frame.right - px(4));
    for tick in &ticks {
        let at = x(*tick);
        painter.line(vec![(at, frame.top), (at, frame.bottom)], GRID, px(1) / 2)?;
        painter.text(
            &format_number(*tick),
            (at, frame.bottom + px(5)),
            px(12),
            &MUTED,
            Pos::new(HPos::Center, VPos::Top),
        )?;
    }
    let zero = x(0.0_f64.clamp(low, high));
    painter.line(vec![(zero, frame.top), (zero, frame.bottom)], AXIS, px(1))?;
    #[allow(clippy::cast_precision_loss)]
    let slot = f64::from(frame.bottom - frame.top) / categories.max(1) as f64;
    for (category, label) in labels.iter().enumerate() {
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let (from, to) = (
            frame.top + (category as f64 * slot).round() as i32,
            frame.top + ((category + 1) as f64 * slot).round() as i32,
        );
        if slot >= f64::from(px(9)) {
            let text = painter.fitted(label, px(12), widest);
            painter.text(
                &text,
                (frame.left - px(6), (from + to) / 2),
                px(12),
                &MUTED,
                Pos::new(HPos::Right, VPos::Center),
            )?;
        }
        bars(painter, plot.stacking, &shown_values(plot, category), (from, to), &|v| x(v), false)?;
    }
    Ok(())
}

/// A pie on the left, its legend with values and shares on the right.
fn pie(painter: &Painter, plot: &Plot, frame: Frame) -> Result<(), ChartError> {
    let (Axis::Categories(labels), Some(series)) = (&plot.axis, plot.series.first()) else { return Ok(()) };
    let values: Vec<f64> = series.values.iter().map(|v| v.unwrap_or(0.0)).collect();
    let sum: f64 = values.iter().sum();
    if sum <= 0.0 {
        return Ok(());
    }
    let half = (frame.right - frame.left) / 2;
    let radius = ((frame.bottom - frame.top) / 2).min(half / 2) - px(4);
    let center = (frame.left + half / 2, (frame.top + frame.bottom) / 2);
    let mut angle = -std::f64::consts::FRAC_PI_2;
    for (index, value) in values.iter().enumerate() {
        let sweep = value / sum * std::f64::consts::TAU;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let steps = ((sweep.to_degrees().ceil()) as usize).max(2);
        let mut points = vec![center];
        for step in 0..=steps {
            #[allow(clippy::cast_precision_loss)]
            let at = angle + sweep * step as f64 / steps as f64;
            #[allow(clippy::cast_possible_truncation)]
            points.push((
                center.0 + (f64::from(radius) * at.cos()).round() as i32,
                center.1 + (f64::from(radius) * at.sin()).round() as i32,
            ));
        }
        painter.area.draw(&Polygon::new(points, PALETTE[index % PALETTE.len()].filled())).map_err(failed)?;
        angle += sweep;
    }
    // White edges between slices.
    let mut angle = -std::f64::consts::FRAC_PI_2;
    for value in &values {
        #[allow(clippy::cast_possible_truncation)]
        let edge = (
            center.0 + (f64::from(radius) * angle.cos()).round() as i32,
            center.1 + (f64::from(radius) * angle.sin()).round() as i32,
        );
        if values.len() > 1 {
            painter.line(vec![center, edge], WHITE, px(2))?;
        }
        angle += value / sum * std::f64::consts::TAU;
    }
    if plot.legend {
        let left = frame.left + half + px(8);
        let line = px(20);
        let count = i32::try_from(values.len()).unwrap_or(i32::MAX);
        let mut y = (frame.top + frame.bottom) / 2 - count * line / 2;
        for (index, (label, value)) in labels.iter().zip(&values).enumerate() {
            painter.rect((left, y + px(3)), (left + px(10), y + px(13)), PALETTE[index % PALETTE.len()])?;
            let share = value / sum * 100.0;
            let text = format!("{label} — {} ({share:.0} %)", format_number(*value));
            let text = painter.fitted(&text, px(12), frame.right - left - px(14));
            painter.text(&text, (left + px(14), y + px(2)), px(12), &INK, Pos::new(HPos::Left, VPos::Top))?;
            y += line;
        }
    }
    Ok(())
}

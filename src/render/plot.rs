//! SVG plots for notebooks: piano rolls of scores and heatmaps of matrices, drawn with plotters'
//! SVG backend into a string (no system fonts needed: text becomes SVG `<text>` elements that
//! the browser lays out).

use super::Svg;

use anyhow::{anyhow, ensure, Result};
use plotters::prelude::*;

use crate::score::Score;

/// Turns any plotters error into an `anyhow` error with some context.
/// Turns a plotters error into one naming what was being drawn.
pub(super) fn plot_err<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> anyhow::Error {
    move |e| anyhow!("drawing {what}: {e}")
}

pub use crate::score::pitch_name;

fn is_black_key(pitch: i32) -> bool {
    matches!(pitch.rem_euclid(12), 1 | 3 | 6 | 8 | 10)
}

/// Bar-line positions in ticks from the score's time-signature map (4/4 before the first
/// signature or when there is none), up to and including the bar that contains `end`.
pub fn bar_ticks(score: &Score, end: u32) -> Vec<u32> {
    let tpq = u64::from(score.ticks_per_quarter.max(1));
    let mut sigs: Vec<(u32, u8, u8)> = score
        .time_signatures
        .iter()
        .map(|t| (t.tick, t.numerator, t.denominator))
        .collect();
    sigs.sort_by_key(|s| s.0);
    if sigs.first().is_none_or(|s| s.0 > 0) {
        sigs.insert(0, (0, 4, 4));
    }
    let mut bars = Vec::new();
    for (i, &(tick, num, den)) in sigs.iter().enumerate() {
        let seg_end = sigs.get(i + 1).map_or(u64::from(end), |s| u64::from(s.0));
        let bar_len = (tpq * 4 * u64::from(num.max(1)) / u64::from(den.max(1))).max(1);
        let mut t = u64::from(tick);
        if i + 1 == sigs.len() {
            // Last meter: bar lines until the one at or after `end` closes the piece.
            loop {
                bars.push(t.min(u64::from(u32::MAX)) as u32);
                if t >= u64::from(end) || bars.len() >= 10_000 {
                    break;
                }
                t += bar_len;
            }
        } else {
            while t < seg_end && bars.len() < 10_000 {
                bars.push(t as u32);
                t += bar_len;
            }
        }
    }
    bars.dedup();
    bars
}

/// Draws a piano roll: one rectangle per note (colour per track, opacity by velocity), pitch on
/// the y axis labelled with names such as `C4`, time on the x axis in beats (quarter notes),
/// grey bar lines from the time-signature map with bar numbers, and a legend when there is
/// more than one track.
pub fn piano_roll_svg(score: &Score, title: &str) -> Result<Svg> {
    let tpq = f64::from(score.ticks_per_quarter.max(1));
    let notes = score
        .tracks
        .iter()
        .flat_map(|t| t.notes.iter())
        .collect::<Vec<_>>();
    let (mut lo, mut hi) = notes.iter().fold((i32::MAX, i32::MIN), |(lo, hi), n| {
        (lo.min(i32::from(n.pitch)), hi.max(i32::from(n.pitch)))
    });
    if notes.is_empty() {
        (lo, hi) = (60, 72);
    }
    // At least an octave, a semitone of margin either side.
    let span = hi - lo;
    if span < 12 {
        lo -= (12 - span) / 2;
        hi = lo + 12;
    }
    lo = (lo - 1).max(0);
    hi = (hi + 1).min(127);

    let end_tick = score.end_tick().max(score.ticks_per_quarter.into());
    let bars = bar_ticks(score, end_tick);
    let x_end = f64::from(*bars.last().unwrap_or(&end_tick)).max(f64::from(end_tick)) / tpq;

    let semitones = (hi - lo + 1) as u32;
    let height = (semitones * 14 + 130).clamp(320, 1400);
    let width = ((x_end * 24.0) as u32 + 160).clamp(700, 1600);
    let plot_h = f64::from(height - 130);
    let per_semitone = plot_h / f64::from(semitones);
    let step = if per_semitone >= 13.0 {
        1
    } else if per_semitone * 6.0 >= 13.0 {
        6
    } else {
        12
    };
    // The y coordinate is in tenths of a semitone (integers, so plotters can label chosen
    // key points): pitch p is centred on 10p.
    let keys: Vec<i32> = (lo..=hi)
        .filter(|p| p.rem_euclid(step) == 0)
        .map(|p| p * 10)
        .collect();

    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err("background"))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(
                0f64..x_end,
                (lo * 10 - 5..hi * 10 + 5).with_key_points(keys),
            )
            .map_err(plot_err("piano roll axes"))?;

        // Black-key rows shaded like a keyboard.
        chart
            .draw_series((lo..=hi).filter(|p| is_black_key(*p)).map(|p| {
                Rectangle::new(
                    [(0.0, p * 10 - 5), (x_end, p * 10 + 5)],
                    RGBColor(240, 240, 244).filled(),
                )
            }))
            .map_err(plot_err("keyboard rows"))?;

        chart
            .configure_mesh()
            .disable_x_mesh()
            .disable_y_mesh()
            .x_desc("beats (quarter notes)")
            .y_desc("pitch")
            .y_label_formatter(&|y| pitch_name(y.div_euclid(10)))
            .x_label_formatter(&|x| format!("{x}"))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(plot_err("piano roll mesh"))?;

        let (y_top, y_bottom) = (hi * 10 + 5, lo * 10 - 5);
        for &b in &bars {
            let x = f64::from(b) / tpq;
            chart
                .draw_series(LineSeries::new(
                    [(x, y_bottom), (x, y_top)],
                    RGBColor(150, 150, 150).stroke_width(1),
                ))
                .map_err(plot_err("bar lines"))?;
        }
        let label_every = bars.len().div_ceil(40).max(1);
        chart
            .draw_series(
                bars.iter()
                    .enumerate()
                    .filter(|(i, b)| i % label_every == 0 && **b < end_tick)
                    .map(|(i, b)| {
                        Text::new(
                            format!("{}", i + 1),
                            (f64::from(*b) / tpq + 0.05, y_top),
                            ("sans-serif", 10)
                                .into_font()
                                .color(&RGBColor(110, 110, 110)),
                        )
                    }),
            )
            .map_err(plot_err("bar numbers"))?;

        let several = score.tracks.iter().filter(|t| !t.notes.is_empty()).count() > 1;
        for (ti, track) in score.tracks.iter().enumerate() {
            if track.notes.is_empty() {
                continue;
            }
            let color = Palette99::pick(ti).to_rgba();
            let anno = chart
                .draw_series(track.notes.iter().map(|n| {
                    let x0 = f64::from(n.start) / tpq;
                    let x1 = f64::from(n.end()) / tpq;
                    let y = i32::from(n.pitch) * 10;
                    let alpha = 0.35 + 0.65 * f64::from(n.velocity.min(127)) / 127.0;
                    Rectangle::new([(x0, y - 4), (x1, y + 4)], color.mix(alpha).filled())
                }))
                .map_err(plot_err("notes"))?;
            if several {
                let name = if track.name.is_empty() {
                    if track.is_drum {
                        format!("track {ti} (drums)")
                    } else {
                        format!("track {ti} (program {})", track.program)
                    }
                } else {
                    track.name.clone()
                };
                anno.label(name).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
            }
        }
        if several {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 12))
                .draw()
                .map_err(plot_err("legend"))?;
        }
        root.present().map_err(plot_err("piano roll"))?;
    }
    Ok(Svg(buf))
}

/// Viridis colour map, `t` in `0..=1`.
fn viridis(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (STOPS.len() - 1) as f64;
    let i = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - i as f64;
    let lerp = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))
}

/// Most cells drawn along x and y; larger matrices are block-averaged down to this.
const MAX_HEATMAP_COLS: usize = 800;
const MAX_HEATMAP_ROWS: usize = 400;

/// Block-averages `rows` (ragged rows padded with NaN) to at most the given size. Returns the
/// matrix and the block sizes along rows and columns.
fn downsample(
    rows: &[Vec<f32>],
    max_rows: usize,
    max_cols: usize,
) -> (Vec<Vec<f32>>, usize, usize) {
    let n_rows = rows.len();
    let n_cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let by = n_rows.div_ceil(max_rows).max(1);
    let bx = n_cols.div_ceil(max_cols).max(1);
    if by == 1 && bx == 1 {
        let padded = rows
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.resize(n_cols, f32::NAN);
                r
            })
            .collect();
        return (padded, 1, 1);
    }
    let out = (0..n_rows.div_ceil(by))
        .map(|r| {
            (0..n_cols.div_ceil(bx))
                .map(|c| {
                    let (mut sum, mut n) = (0.0f64, 0usize);
                    for row in &rows[r * by..((r + 1) * by).min(n_rows)] {
                        for v in row.iter().skip(c * bx).take(bx) {
                            if v.is_finite() {
                                sum += f64::from(*v);
                                n += 1;
                            }
                        }
                    }
                    if n == 0 {
                        f32::NAN
                    } else {
                        (sum / n as f64) as f32
                    }
                })
                .collect()
        })
        .collect();
    (out, by, bx)
}

/// Draws a matrix as a heatmap (viridis colours, a colour bar with the value range): `rows[r][c]`
/// is the cell in row `r` (y axis, row 0 at the top, like an image) and column `c` (x axis).
/// Ragged rows are padded; NaN or infinite cells are drawn light grey. Matrices larger than
/// 400 × 800 are block-averaged for drawing (axes keep the original indices).
pub fn heatmap_svg(rows: &[Vec<f32>], title: &str, x_label: &str, y_label: &str) -> Result<Svg> {
    let n_rows = rows.len();
    let n_cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    ensure!(
        n_rows > 0 && n_cols > 0,
        "heatmap_svg: nothing to draw ({n_rows} rows, {n_cols} columns)"
    );
    let (cells, by, bx) = downsample(rows, MAX_HEATMAP_ROWS, MAX_HEATMAP_COLS);
    let (mut vmin, mut vmax) = cells
        .iter()
        .flatten()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(f64::from(v)), hi.max(f64::from(v)))
        });
    if !vmin.is_finite() {
        (vmin, vmax) = (0.0, 1.0);
    }
    if vmax - vmin < 1e-12 {
        let pad = (vmin.abs() * 1e-3).max(0.5);
        vmin -= pad;
        vmax += pad;
    }

    let width = 900u32;
    let height = ((cells.len() as u32) * 4 + 160).clamp(360, 900);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err("background"))?;
        let root = root
            .titled(title, ("sans-serif", 20))
            .map_err(plot_err("title"))?;
        let (main, bar) = root.split_horizontally(width - 110);

        let mut chart = ChartBuilder::on(&main)
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..n_cols as f64, n_rows as f64..0f64)
            .map_err(plot_err("heatmap axes"))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(&|x| format!("{}", x.floor() as i64))
            .y_label_formatter(&|y| format!("{}", y.floor() as i64))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(plot_err("heatmap mesh"))?;
        let span = vmax - vmin;
        chart
            .draw_series(cells.iter().enumerate().flat_map(|(r, row)| {
                row.iter().enumerate().map(move |(c, &v)| {
                    let color = if v.is_finite() {
                        viridis((f64::from(v) - vmin) / span)
                    } else {
                        RGBColor(220, 220, 220)
                    };
                    let (x0, y0) = ((c * bx) as f64, (r * by) as f64);
                    let x1 = ((c + 1) * bx).min(n_cols) as f64;
                    let y1 = ((r + 1) * by).min(n_rows) as f64;
                    Rectangle::new([(x0, y0), (x1, y1)], color.filled())
                })
            }))
            .map_err(plot_err("heatmap cells"))?;

        let mut scale = ChartBuilder::on(&bar)
            .margin_top(10)
            .margin_bottom(50)
            .margin_left(8)
            .margin_right(4)
            .right_y_label_area_size(60)
            .build_cartesian_2d(0f64..1f64, vmin..vmax)
            .map_err(plot_err("colour bar axes"))?;
        scale
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_labels(6)
            .label_style(("sans-serif", 11))
            .draw()
            .map_err(plot_err("colour bar mesh"))?;
        let steps = 64;
        scale
            .draw_series((0..steps).map(|i| {
                let a = vmin + span * f64::from(i) / f64::from(steps);
                let b = vmin + span * f64::from(i + 1) / f64::from(steps);
                let mid = (f64::from(i) + 0.5) / f64::from(steps);
                Rectangle::new([(0.0, a), (1.0, b)], viridis(mid).filled())
            }))
            .map_err(plot_err("colour bar"))?;
        root.present().map_err(plot_err("heatmap"))?;
    }
    Ok(Svg(buf))
}

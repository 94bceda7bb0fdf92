//! Plots drawn with plotters into SVG strings, for showing inline in a notebook.

use super::plot::plot_err;
use super::Svg;
use crate::train::History;
use anyhow::Result;
use plotters::prelude::*;

/// One named series of (epoch, value) points.
struct EpochLine {
    name: String,
    color: RGBAColor,
    points: Vec<(f64, f64)>,
}

/// Train and validation loss per epoch, with an optional horizontal reference line (for example the
/// unigram entropy a model must beat).
pub fn loss_curve_svg(history: &History, reference: Option<(f64, &str)>) -> Result<Svg> {
    let line =
        |name: &str, color: RGBColor, value: fn(&crate::train::EpochRecord) -> f64| EpochLine {
            name: name.to_string(),
            color: color.to_rgba(),
            points: history
                .records
                .iter()
                .map(|r| (r.epoch as f64, value(r)))
                .collect(),
        };
    let lines = [
        line("train", BLUE, |r| r.train_loss),
        line("valid", RED, |r| r.valid_loss),
    ];
    epoch_chart_svg(
        (640, 360),
        "Loss per epoch (nats per token)",
        "loss",
        &lines,
        reference,
    )
}

/// The validation loss per epoch of many runs on one plot (a sweep's runs), one coloured line
/// each, labelled with the run's name. Runs without a validated epoch are left out of the plot
/// but not of the legend's count.
pub fn loss_curves_svg(curves: &[(String, &History)]) -> Result<Svg> {
    let lines: Vec<EpochLine> = curves
        .iter()
        .enumerate()
        .map(|(i, (name, history))| EpochLine {
            name: name.clone(),
            color: Palette99::pick(i).to_rgba(),
            points: history
                .records
                .iter()
                .map(|r| (r.epoch as f64, r.valid_loss))
                .collect(),
        })
        .collect();
    epoch_chart_svg(
        (720, 400),
        "Validation loss per epoch, every run (nats per token)",
        "validation loss",
        &lines,
        None,
    )
}

/// Lines with a dot at each epoch and a legend; points that are not finite (an epoch not
/// validated) are left out, and so is a line left with none. The y axis spans every drawn value
/// and the reference line's.
fn epoch_chart_svg(
    size: (u32, u32),
    caption: &str,
    y_desc: &str,
    lines: &[EpochLine],
    reference: Option<(f64, &str)>,
) -> Result<Svg> {
    let finite: Vec<Vec<(f64, f64)>> = lines
        .iter()
        .map(|l| {
            let keep = |p: &&(f64, f64)| p.1.is_finite();
            l.points.iter().filter(keep).copied().collect()
        })
        .collect();
    let drawn = || finite.iter().flatten();
    let epochs = drawn().map(|p| p.0).fold(1.0f64, f64::max);
    let values = || drawn().map(|p| p.1).chain(reference.map(|(y, _)| y));
    let top = values().fold(0.0f64, f64::max).max(1e-3) * 1.05;
    let bottom = values().fold(top, f64::min) * 0.9;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err("background"))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(52)
            .build_cartesian_2d(0.5f64..epochs + 0.5, bottom..top)
            .map_err(plot_err("axes"))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(y_desc)
            .x_label_formatter(&|x| {
                if x.fract() == 0.0 {
                    format!("{x:.0}")
                } else {
                    String::new()
                }
            })
            .draw()
            .map_err(plot_err("mesh"))?;
        for (line, points) in lines.iter().zip(finite) {
            if points.is_empty() {
                continue;
            }
            let color = line.color;
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(plot_err("a line"))?
                .label(line.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            chart
                .draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 3, color.filled())),
                )
                .map_err(plot_err("dots"))?;
        }
        if let Some((y, name)) = reference {
            let grey = RGBColor(120, 120, 120);
            chart
                .draw_series(LineSeries::new(
                    vec![(0.5, y), (epochs + 0.5, y)],
                    grey.stroke_width(1),
                ))
                .map_err(plot_err("the reference line"))?
                .label(name.to_string())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], grey));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err("legend"))?;
        root.present().map_err(plot_err("the plot"))?;
    }
    Ok(Svg(svg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::EpochRecord;

    #[test]
    fn loss_curve_is_svg_with_both_series() -> Result<()> {
        let record = EpochRecord::with_losses;
        let history = History {
            records: vec![record(1, 3.0, 2.8), record(2, 2.0, 2.1)],
        };
        let svg = loss_curve_svg(&history, Some((3.2, "unigram")))?.0;
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for label in ["train", "valid", "unigram", "epoch"] {
            assert!(svg.contains(label), "missing {label}");
        }
        assert!(svg.matches("<circle").count() >= 4);
        Ok(())
    }

    #[test]
    fn many_runs_share_one_plot() -> Result<()> {
        let record = |epoch, valid_loss| EpochRecord::with_losses(epoch, 3.0, valid_loss);
        let a = History {
            records: vec![record(1, 3.0), record(2, 2.5), record(3, 2.2)],
        };
        let b = History {
            records: vec![record(1, 2.9)],
        };
        let empty = History::default();
        let curves = vec![
            ("sweep-000".to_string(), &a),
            ("sweep-001".to_string(), &b),
            ("sweep-002".to_string(), &empty),
        ];
        let svg = loss_curves_svg(&curves)?.0;
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("sweep-000") && svg.contains("sweep-001"));
        assert!(
            !svg.contains("sweep-002"),
            "a run without epochs has no line"
        );
        assert_eq!(svg.matches("<circle").count(), 4);
        let none = loss_curves_svg(&[])?.0;
        assert!(none.contains("<svg"), "an empty sweep still draws axes");
        Ok(())
    }
}

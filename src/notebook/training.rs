//! How training shows itself: any model (its summary and parameter table), a loss history (curve
//! and table), a trainer, generated pieces, and the loss curve redrawn every few epochs while a
//! notebook trains ([`PlotEvery`]).

use super::{evcxr_block, in_notebook};
use crate::generate::{Generator, Piece};
use crate::model::{Ddsp, FrameLstm, LstmLm, Model, PitchLstm, SampleRnn, WindowLstm};
use crate::render::{loss_curve_svg, pre, table, ToHtml};
use crate::train::{Callback, Control, DataInfo, History, StopReason, Trainer};
use anyhow::Result;
use html_escape::encode_text as esc;

/// Any model as HTML: its summary line and a table of its parameters.
pub fn model_html(model: &dyn Model) -> String {
    let rows = model.named_parameters().into_iter().map(|(name, t)| {
        vec![
            format!("<code>{}</code>", esc(&name)),
            format!("{:?}", t.size()),
            t.numel().to_string(),
        ]
    });
    format!(
        "<div><b>{}</b>{}</div>",
        esc(&model.summary()),
        table(&["parameter", "shape", "count"], rows)
    )
}

macro_rules! model_to_html {
    ($($t:ty),*) => {$(
        impl ToHtml for $t {
            fn to_html(&self) -> String {
                model_html(self)
            }
        }
    )*};
}

model_to_html!(LstmLm, WindowLstm, FrameLstm, PitchLstm, Ddsp, SampleRnn);

impl ToHtml for History {
    fn to_html(&self) -> String {
        let rows = self.records.iter().map(|r| {
            vec![
                r.epoch.to_string(),
                format!("{:.4}", r.train_loss),
                format!("{:.4}", r.valid_loss),
                r.valid_accuracy
                    .map(|a| format!("{:.1}%", 100.0 * a))
                    .unwrap_or_default(),
                format!("{:.1e}", r.lr),
                format!("{:.1}", r.seconds),
                format!("{:.0}", r.tokens_per_second),
            ]
        });
        let plot = loss_curve_svg(self, None).map(|s| s.0).unwrap_or_default();
        format!(
            "<div>{plot}{}</div>",
            table(
                &[
                    "epoch",
                    "train loss",
                    "valid loss",
                    "valid accuracy",
                    "lr",
                    "seconds",
                    "targets/s"
                ],
                rows
            )
        )
    }
}

impl ToHtml for Trainer {
    fn to_html(&self) -> String {
        let stop = self
            .last_stop
            .map(|r| format!(", stopped: {r:?}"))
            .unwrap_or_default();
        format!(
            "<div><b>Trainer</b>: {} epochs of {}, step {}{stop}{}{}</div>",
            self.epoch,
            self.config.epochs,
            self.step,
            model_html(self.model()),
            self.history.to_html()
        )
    }
}

impl ToHtml for Piece {
    fn to_html(&self) -> String {
        let what = match &self.roll {
            Some(_) => "frames",
            None if self.abc.is_some() => "characters",
            None => "tokens",
        };
        let summary = format!(
            "<b>Generated piece</b> ({} encoding): {} primer {what} + {} new, {} notes in all",
            self.encoding,
            self.primer_steps,
            self.new_steps(),
            self.note_count()
        );
        let text = self.abc.as_deref().map(pre).unwrap_or_default();
        let music = match (&self.score, &self.problem) {
            (Some(score), _) => score.to_html(),
            (None, Some(problem)) => format!("<p>no score: {}</p>", esc(problem)),
            (None, None) => String::new(),
        };
        format!("<div>{summary}{text}{music}</div>")
    }
}

impl ToHtml for Generator {
    fn to_html(&self) -> String {
        let from = self
            .meta
            .as_ref()
            .map(|m| {
                format!(
                    " from checkpoint <code>{}</code> (epoch {}, step {})",
                    esc(&m.name),
                    m.progress.epoch,
                    m.progress.step
                )
            })
            .unwrap_or_default();
        format!(
            "<div><b>Generator</b>{from}: {}{}</div>",
            esc(&self.encoding.describe()),
            model_html(self.model.as_ref())
        )
    }
}

/// Shows the loss curve (train and validation per epoch) after every `every` epochs, and once more
/// when training ends if the last epoch was not shown.
///
/// The plot is printed for evcxr (as an inline SVG) only inside a notebook kernel; elsewhere (a test,
/// the headless binary) it is kept in [`PlotEvery::last_svg`] and nothing is printed.
#[derive(Debug, Clone)]
pub struct PlotEvery {
    /// Epochs between plots (at least 1).
    pub every: usize,
    /// The most recent plot.
    pub last_svg: Option<String>,
    /// How many plots were made.
    pub shown: usize,
    last_epoch_shown: usize,
    inline: bool,
}

impl PlotEvery {
    /// A plot every `every` epochs (0 is taken as 1).
    pub fn new(every: usize) -> Self {
        PlotEvery {
            every: every.max(1),
            last_svg: None,
            shown: 0,
            last_epoch_shown: 0,
            inline: in_notebook(),
        }
    }

    /// Forces printing on or off (by default it prints only inside an evcxr kernel).
    pub fn inline(mut self, inline: bool) -> Self {
        self.inline = inline;
        self
    }

    fn show(&mut self, trainer: &Trainer) -> Result<()> {
        let svg = loss_curve_svg(&trainer.history, None)?.0;
        if self.inline {
            println!("{}", evcxr_block("image/svg+xml", &svg));
        }
        self.last_svg = Some(svg);
        self.shown += 1;
        self.last_epoch_shown = trainer.epoch;
        Ok(())
    }
}

impl Callback for PlotEvery {
    fn on_epoch_end(&mut self, trainer: &mut Trainer, _data: &DataInfo) -> Result<Control> {
        if trainer.epoch.is_multiple_of(self.every) {
            self.show(trainer)?;
        }
        Ok(Control::Continue)
    }

    fn on_train_end(
        &mut self,
        trainer: &mut Trainer,
        _data: &DataInfo,
        _reason: StopReason,
    ) -> Result<()> {
        if trainer.epoch > self.last_epoch_shown && !trainer.history.records.is_empty() {
            self.show(trainer)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SequenceBatches;
    use crate::model::LstmConfig;
    use crate::train::TrainConfig;
    use tch::Device;

    #[test]
    fn plots_every_second_epoch_and_at_the_end() -> Result<()> {
        let tokens: Vec<i64> = (0..600).map(|i| (i % 5) as i64).collect();
        let train = SequenceBatches::new(tokens.clone(), 10, 4)?;
        let valid = SequenceBatches::new(tokens, 10, 4)?;
        let model = LstmLm::new(LstmConfig::debug(5), Device::Cpu)?;
        let mut trainer = Trainer::new(model, TrainConfig::quiet(5, 1e-2))
            .with_callback(PlotEvery::new(2).inline(false));
        trainer.fit(&train, &valid)?;
        let plot = trainer.callback::<PlotEvery>().expect("the callback");
        // epochs 2 and 4, then epoch 5 at the end
        assert_eq!(plot.shown, 3);
        let svg = plot.last_svg.as_deref().unwrap_or_default();
        let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        assert!(svg.contains("valid"), "the validation curve is labelled");
        let html = trainer.to_html();
        assert!(html.contains("lstm.weight_ih_l0") && html.contains("<svg"));
        Ok(())
    }
}

//! A callback that shows the loss curve inline every N epochs while a notebook trains, so a long
//! run can be watched without waiting for `fit` to return.

use super::callback::{Callback, Control, DataInfo};
use super::Trainer;
use crate::notebook::evcxr_block;
use crate::render::loss_curve_svg;
use anyhow::Result;

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
            inline: std::env::var_os("EVCXR_IS_RUNTIME").is_some(),
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
    fn on_epoch_end(&mut self, trainer: &Trainer, _data: &DataInfo) -> Result<Control> {
        if trainer.epoch.is_multiple_of(self.every) {
            self.show(trainer)?;
        }
        Ok(Control::Continue)
    }

    fn on_train_end(
        &mut self,
        trainer: &Trainer,
        _data: &DataInfo,
        _reason: super::callback::StopReason,
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
    use crate::model::{LstmConfig, LstmLm};
    use crate::train::{AdamConfig, TrainConfig};
    use tch::Device;

    #[test]
    fn plots_every_second_epoch_and_at_the_end() -> Result<()> {
        let tokens: Vec<i64> = (0..600).map(|i| (i % 5) as i64).collect();
        let train = SequenceBatches::new(tokens.clone(), 10, 4)?;
        let valid = SequenceBatches::new(tokens, 10, 4)?;
        let config = TrainConfig {
            epochs: 5,
            adam: AdamConfig {
                lr: 1e-2,
                ..AdamConfig::default()
            },
            verbose: false,
            ..TrainConfig::default()
        };
        let model = LstmLm::new(LstmConfig::debug(5), Device::Cpu)?;
        let mut trainer =
            Trainer::new(model, config).with_callback(PlotEvery::new(2).inline(false));
        trainer.fit(&train, &valid)?;
        let plot = trainer.callback::<PlotEvery>().expect("the callback");
        // epochs 2 and 4, then epoch 5 at the end
        assert_eq!(plot.shown, 3);
        let svg = plot.last_svg.as_deref().unwrap_or_default();
        let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        assert!(svg.contains("valid"), "the validation curve is labelled");
        Ok(())
    }
}

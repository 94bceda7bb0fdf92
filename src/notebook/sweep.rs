//! A sweep's status inline in a notebook: the table `tunesmith sweep status` prints (state, epoch,
//! step, best validation loss, settings, note per run) and every run's validation loss on one plot.

use crate::render::{loss_curves_svg, table, Svg, ToHtml};
use crate::sweep::{RunState, SweepStatus};
use anyhow::Result;
use html_escape::encode_text as esc;

fn state_cell(state: RunState) -> String {
    let color = match state {
        RunState::Pending => "#777",
        RunState::Running => "#1f6fd1",
        RunState::Finished => "#2a8a2a",
        RunState::Failed => "#c62828",
    };
    format!("<b style=\"color:{color}\">{state}</b>")
}

/// The validation loss of every run of a sweep, one line each.
pub fn sweep_curves(status: &SweepStatus) -> Result<Svg> {
    let curves: Vec<(String, &crate::train::History)> = status
        .runs
        .iter()
        .map(|r| (r.name.clone(), &r.history))
        .collect();
    loss_curves_svg(&curves)
}

impl ToHtml for SweepStatus {
    fn to_html(&self) -> String {
        let rows = self.runs.iter().map(|r| {
            vec![
                format!("<code>{}</code>", esc(&r.name)),
                state_cell(r.state),
                format!("{}/{}", r.epoch, r.epochs),
                r.step.to_string(),
                r.best_valid
                    .map(|(loss, epoch)| format!("{loss:.4} (epoch {epoch})"))
                    .unwrap_or_default(),
                esc(&r.label()).into_owned(),
                esc(&r.note).into_owned(),
            ]
        });
        let plot = if self.runs.iter().any(|r| !r.history.records.is_empty()) {
            sweep_curves(self).map(|s| s.0).unwrap_or_default()
        } else {
            String::new()
        };
        format!(
            "<div><b>{}</b><br/><code>{}</code>{}{plot}</div>",
            esc(&self.summary()),
            esc(&self.dir.display().to_string()),
            table(
                &[
                    "run",
                    "state",
                    "epoch",
                    "step",
                    "best valid loss",
                    "settings",
                    "note"
                ],
                rows
            )
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::RunStatus;
    use crate::train::{EpochRecord, History};
    use std::collections::BTreeMap;

    fn run(name: &str, state: RunState, losses: &[f64]) -> RunStatus {
        let records = losses
            .iter()
            .enumerate()
            .map(|(i, &valid_loss)| EpochRecord::with_losses(i + 1, valid_loss + 0.1, valid_loss))
            .collect();
        RunStatus {
            index: 0,
            name: name.into(),
            settings: BTreeMap::from([("train.adam.lr".into(), serde_json::json!(0.01))]),
            state,
            note: "stopped by SIGTERM <now>".into(),
            epoch: losses.len(),
            epochs: 3,
            step: 10,
            best_valid: None,
            checkpoint: None,
            checkpoint_unix: None,
            starts: 1,
            history: History { records },
        }
    }

    #[test]
    fn a_sweep_shows_a_table_and_its_curves() {
        let status = SweepStatus {
            dir: "/shared/s".into(),
            name: "s".into(),
            jobs: vec!["12".into()],
            runs: vec![
                run("s-000", RunState::Finished, &[2.0, 1.5, 1.2]),
                run("s-001", RunState::Pending, &[2.1]),
                run("s-002", RunState::Failed, &[]),
            ],
        };
        let html = status.to_html();
        roxmltree::Document::parse(&html).expect("well-formed HTML fragment");
        for text in [
            "s-000",
            "finished",
            "pending",
            "failed",
            "3/3",
            "train.adam.lr=0.01",
            "job 12",
        ] {
            assert!(html.contains(text), "missing {text}");
        }
        assert!(html.contains("&lt;now&gt;"), "notes are escaped");
        assert!(html.contains("<svg"), "the curves are missing");
        assert_eq!(
            html.matches("<circle").count(),
            4,
            "one point per validated epoch"
        );
        let empty = SweepStatus {
            runs: vec![run("s-000", RunState::Pending, &[])],
            ..status
        };
        assert!(
            !empty.to_html().contains("<svg"),
            "no plot before any epoch"
        );
    }
}

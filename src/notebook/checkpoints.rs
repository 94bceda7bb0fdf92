//! What a checkpoint holds, shown inline in a notebook: its metadata (model, encoding, progress,
//! optimizer, files) with the loss curve so far, and the list of a run's checkpoints.

use crate::checkpoint::format::CheckpointKind;
use crate::checkpoint::store::best;
use crate::checkpoint::{Checkpoint, Meta, RunCheckpoints};
use crate::render::{loss_curve_svg, table, ToHtml};
use html_escape::encode_text as esc;

fn kind_name(kind: CheckpointKind) -> &'static str {
    match kind {
        CheckpointKind::Epoch => "end of epoch",
        CheckpointKind::Step => "inside an epoch",
    }
}

/// The model's config as `key value` pairs, for one table cell.
fn config_summary(config: &serde_json::Value) -> String {
    match config.as_object() {
        Some(map) => map
            .iter()
            .map(|(k, v)| format!("{} {}", esc(k), esc(&v.to_string())))
            .collect::<Vec<_>>()
            .join(", "),
        None => esc(&config.to_string()).into_owned(),
    }
}

impl ToHtml for Meta {
    fn to_html(&self) -> String {
        let loss = self
            .valid_loss
            .or_else(|| self.history.last_valid_loss())
            .map(|l| {
                format!(
                    "{l:.4} nats ({:.3} bits) per token",
                    l / std::f64::consts::LN_2
                )
            })
            .unwrap_or_else(|| "not validated yet".into());
        let bytes: u64 = self.files.values().map(|f| f.bytes).sum();
        let rows = vec![
            vec!["checkpoint".into(), esc(&self.name).into_owned()],
            vec!["kind".into(), kind_name(self.kind).into()],
            vec![
                "format".into(),
                format!(
                    "{} v{}, written by tunesmith {}",
                    esc(&self.format),
                    self.format_version,
                    esc(&self.crate_version)
                ),
            ],
            vec![
                "model".into(),
                format!(
                    "{}: {}; {} parameters",
                    esc(&self.model.architecture),
                    config_summary(&self.model.config),
                    self.model.parameters
                ),
            ],
            vec![
                "encoding".into(),
                esc(&self.encoding.describe()).into_owned(),
            ],
            vec![
                "progress".into(),
                format!(
                    "{} epochs done, step {}, batch {} of the open epoch",
                    self.progress.epoch, self.progress.step, self.progress.batch_in_epoch
                ),
            ],
            vec!["validation loss".into(), loss],
            vec![
                "optimizer".into(),
                format!(
                    "{} at step {}, lr {}",
                    esc(&self.optimizer.kind),
                    self.optimizer.step,
                    self.optimizer.config.lr
                ),
            ],
            vec![
                "files".into(),
                self.files
                    .iter()
                    .map(|(name, f)| format!("<code>{}</code> {} bytes", esc(name), f.bytes))
                    .chain(std::iter::once(format!("{bytes} bytes of tensors in all")))
                    .collect::<Vec<_>>()
                    .join("<br/>"),
            ],
        ];
        let plot = if self.history.records.is_empty() {
            String::new()
        } else {
            loss_curve_svg(&self.history, None)
                .map(|s| s.0)
                .unwrap_or_default()
        };
        format!("<div>{}{plot}</div>", table(&["", ""], rows))
    }
}

impl ToHtml for Checkpoint {
    fn to_html(&self) -> String {
        let tensors: i64 = self.weights.iter().map(|(_, t)| t.numel() as i64).sum();
        format!(
            "<div><b>Checkpoint</b> <code>{}</code>: {} weight tensors ({} values){}{}</div>",
            esc(&self.path.display().to_string()),
            self.weights.len(),
            tensors,
            if self.optimizer.is_some() {
                ", optimizer state loaded"
            } else {
                ", opened for generation only"
            },
            self.meta.to_html()
        )
    }
}

impl ToHtml for RunCheckpoints {
    fn to_html(&self) -> String {
        let best_name = best(&self.entries).map(|e| e.name());
        let rows = self.entries.iter().map(|e| match &e.meta {
            Ok(m) => vec![
                format!("<code>{}</code>", esc(&e.name())),
                kind_name(m.kind).into(),
                m.progress.epoch.to_string(),
                m.progress.step.to_string(),
                m.valid_loss.map(|l| format!("{l:.4}")).unwrap_or_default(),
                if best_name.as_deref() == Some(e.name().as_str()) {
                    "best".into()
                } else {
                    String::new()
                },
            ],
            Err(reason) => vec![
                format!("<code>{}</code>", esc(&e.name())),
                format!("damaged: {}", esc(reason)),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ],
        });
        format!(
            "<div><b>{}</b>: {} checkpoints{}</div>",
            esc(&self.run_dir.display().to_string()),
            self.entries.len(),
            table(
                &["checkpoint", "kind", "epochs", "step", "valid loss", ""],
                rows
            )
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::run_checkpoints;
    use anyhow::Result;
    use std::path::PathBuf;

    fn fixture_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checkpoint-v1")
    }

    #[test]
    fn a_checkpoint_shows_model_progress_files_and_loss_curve() -> Result<()> {
        let ckpt = Checkpoint::load(&fixture_dir().join("epoch-0008"))?;
        let html = ckpt.to_html();
        let doc = roxmltree::Document::parse(&html).expect("well-formed HTML fragment");
        let text: String = doc
            .descendants()
            .filter_map(|n| n.text())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(text.contains("epoch-0008"), "{text}");
        assert!(text.contains("weights.safetensors"), "{text}");
        assert!(text.contains("8 epochs done"), "{text}");
        assert!(
            text.contains(&format!("{} parameters", ckpt.meta.model.parameters)),
            "{text}"
        );
        assert!(html.contains("<svg"), "loss curve missing");
        Ok(())
    }

    #[test]
    fn a_run_lists_its_checkpoints_and_marks_damaged_ones() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let good = dir.path().join("epoch-0008");
        std::fs::create_dir(&good)?;
        for entry in std::fs::read_dir(fixture_dir().join("epoch-0008"))? {
            let entry = entry?;
            std::fs::copy(entry.path(), good.join(entry.file_name()))?;
        }
        let bad = dir.path().join("epoch-0009");
        std::fs::create_dir(&bad)?;
        std::fs::write(bad.join("meta.json"), "{ not json")?;
        let html = run_checkpoints(dir.path())?.to_html();
        roxmltree::Document::parse(&html).expect("well-formed HTML fragment");
        assert!(html.contains("2 checkpoints"), "{html}");
        assert!(html.contains("damaged"), "{html}");
        assert!(html.contains("best"), "{html}");
        Ok(())
    }
}

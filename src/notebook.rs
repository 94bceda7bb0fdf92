//! Inline display in evcxr notebooks: every type a user inspects shows itself as HTML or SVG when it
//! is the last expression of a cell (evcxr calls its `evcxr_display` method).

use crate::abc::{CleanTune, Tune};
use crate::corpus::AbcCorpus;
use crate::encode::{CharVocab, TokenEncoding};
use crate::model::LstmLm;
use crate::report::LoadReport;
use crate::score::Score;
use crate::train::History;
use html_escape::encode_text as esc;

/// The text evcxr reads from standard output to show `content` (of MIME type `mime`) inline.
pub fn evcxr_block(mime: &str, content: &str) -> String {
    format!("EVCXR_BEGIN_CONTENT {mime}\n{content}\nEVCXR_END_CONTENT")
}

/// Prints a value for evcxr with the given MIME type.
pub fn emit(mime: &str, content: &str) {
    println!("{}", evcxr_block(mime, content));
}

/// Anything that can render itself as an HTML fragment.
pub trait ToHtml {
    /// The HTML fragment.
    fn to_html(&self) -> String;
}

/// An HTML fragment, shown inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Html(pub String);

impl ToHtml for Html {
    fn to_html(&self) -> String {
        self.0.clone()
    }
}

/// An SVG picture, shown inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Svg(pub String);

impl Svg {
    /// Shows the picture in a notebook.
    pub fn evcxr_display(&self) {
        emit("image/svg+xml", &self.0);
    }

    /// The SVG markup.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Writes the picture to a file, atomically; the error names the file.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> anyhow::Result<()> {
        crate::fsutil::write_atomic(path.as_ref(), self.0.as_bytes())
    }
}

impl std::fmt::Display for Svg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Adds the inherent `evcxr_display` method to types that implement [`ToHtml`].
macro_rules! display_as_html {
    ($($t:ty),* $(,)?) => {$(
        impl $t {
            /// Shows the value inline as HTML in an evcxr notebook.
            pub fn evcxr_display(&self) {
                emit("text/html", &ToHtml::to_html(self));
            }
        }
    )*};
}

display_as_html!(
    Html, Tune, CleanTune, CharVocab, LoadReport, AbcCorpus, History, LstmLm, TuneList, Score,
    TokenView
);

/// An HTML table of class `tunesmith`: escaped header cells, row cells taken as HTML.
pub(crate) fn table(headers: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    classed_table("tunesmith", headers, rows)
}

/// An HTML table of CSS class `class`: escaped header cells, row cells taken as HTML.
pub(crate) fn classed_table(
    class: &str,
    headers: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> String {
    let mut html = format!("<table class=\"{class}\"><thead><tr>");
    for h in headers {
        html.push_str(&format!("<th>{}</th>", esc(h)));
    }
    html.push_str("</tr></thead><tbody>");
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            html.push_str(&format!("<td>{cell}</td>"));
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html
}

fn pre(text: &str) -> String {
    format!("<pre>{}</pre>", esc(text))
}

impl ToHtml for Tune {
    fn to_html(&self) -> String {
        let rows = self
            .header
            .iter()
            .map(|(l, v)| vec![format!("{l}:"), esc(v).to_string()]);
        format!(
            "<div><b>{}</b>{}{}{}</div>",
            esc(&self.label()),
            crate::render::sheet_music_html(&self.to_abc()),
            table(&["field", "value"], rows),
            pre(&self.body.join("\n"))
        )
    }
}

impl ToHtml for CleanTune {
    fn to_html(&self) -> String {
        format!(
            "<div><b>{}</b> <i>{}</i>{}{}</div>",
            esc(&self.title),
            esc(&self.label),
            crate::render::sheet_music_html(&self.text),
            pre(&self.text)
        )
    }
}

/// Several ABC tunes (for example generated ones), shown side by side with their shape checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TuneList(pub Vec<String>);

impl ToHtml for TuneList {
    fn to_html(&self) -> String {
        let cells: String = self
            .0
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let ok = crate::metrics::abc_shape(t).is_well_formed();
                format!(
                    "<div style=\"display:inline-block;vertical-align:top;margin:4px\"><b>#{}</b> {}{}{}</div>",
                    i + 1,
                    if ok { "well formed" } else { "malformed" },
                    crate::render::sheet_music_html(t),
                    pre(t)
                )
            })
            .collect();
        format!("<div>{cells}</div>")
    }
}

fn show_char(c: char) -> String {
    match c {
        '\n' => "\\n".into(),
        ' ' => "space".into(),
        c => esc(&c.to_string()).to_string(),
    }
}

impl ToHtml for CharVocab {
    fn to_html(&self) -> String {
        let total: u64 = self.counts.iter().sum();
        let mut by_count: Vec<usize> = (0..self.len()).collect();
        by_count.sort_by(|&a, &b| self.counts[b].cmp(&self.counts[a]));
        let rows = by_count.into_iter().map(|i| {
            vec![
                i.to_string(),
                format!("<code>{}</code>", show_char(self.chars[i])),
                self.counts[i].to_string(),
                format!(
                    "{:.2}%",
                    100.0 * self.counts[i] as f64 / total.max(1) as f64
                ),
            ]
        });
        format!(
            "<div><b>{} characters</b>, {} occurrences, unigram entropy {:.3} nats ({:.3} bits){}</div>",
            self.len(),
            total,
            self.unigram_entropy(),
            crate::metrics::nats_to_bits(self.unigram_entropy()),
            table(&["id", "char", "count", "share"], rows)
        )
    }
}

impl ToHtml for LoadReport {
    fn to_html(&self) -> String {
        let reasons = table(
            &["skipped", "reason"],
            self.reasons()
                .into_iter()
                .map(|(r, n)| vec![n.to_string(), esc(&r).to_string()]),
        );
        let examples = table(
            &["file", "item", "reason"],
            self.skipped.iter().take(10).map(|s| {
                vec![
                    esc(&s.path.display().to_string()).to_string(),
                    esc(&s.item).to_string(),
                    esc(&s.reason).to_string(),
                ]
            }),
        );
        format!(
            "<div><b>{} files, {} read, {} skipped</b>{reasons}<details><summary>first skipped items</summary>{examples}</details></div>",
            self.files,
            self.read,
            self.skipped.len()
        )
    }
}

impl ToHtml for AbcCorpus {
    fn to_html(&self) -> String {
        let first = self.tunes.first().map(ToHtml::to_html).unwrap_or_default();
        format!(
            "<div><b>{} tunes, {} characters</b>{}<p>First tune:</p>{first}</div>",
            self.tunes.len(),
            self.total_chars(),
            self.report.to_html()
        )
    }
}

impl ToHtml for History {
    fn to_html(&self) -> String {
        let rows = self.records.iter().map(|r| {
            vec![
                r.epoch.to_string(),
                format!("{:.4}", r.train_loss),
                format!("{:.4}", r.valid_loss),
                format!("{:.1}", r.seconds),
                format!("{:.0}", r.tokens_per_second),
            ]
        });
        let plot = crate::render::loss_curve_svg(self, None)
            .map(|s| s.0)
            .unwrap_or_default();
        format!(
            "<div>{plot}{}</div>",
            table(
                &["epoch", "train loss", "valid loss", "seconds", "tokens/s"],
                rows
            )
        )
    }
}

impl ToHtml for LstmLm {
    fn to_html(&self) -> String {
        let rows = self.named_parameters().into_iter().map(|(name, t)| {
            vec![
                format!("<code>{}</code>", esc(&name)),
                format!("{:?}", t.size()),
                t.numel().to_string(),
            ]
        });
        format!(
            "<div><b>{}</b>{}</div>",
            esc(&self.to_string()),
            table(&["parameter", "shape", "count"], rows)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_table_lists_characters_with_counts() {
        let html = CharVocab::from_texts(["aab\n"]).to_html();
        assert!(html.contains("<table") && html.contains("</table>"));
        assert!(html.contains("<code>\\n</code>") && html.contains(">2<"));
    }

    #[test]
    fn html_is_escaped() {
        let list = TuneList(vec!["M:1\nL:1\nK:C\n<b>|\n".into()]);
        assert!(list.to_html().contains("&lt;b&gt;"));
    }
}

/// Longest stretch of a score rendered for its inline player, in seconds.
const PLAYER_SECONDS: f64 = 90.0;

impl ToHtml for Score {
    fn to_html(&self) -> String {
        let tempo = self
            .tempos
            .first()
            .map_or(120.0, |t| 60e6 / f64::from(t.micros_per_quarter.max(1)));
        let meter = self.time_signatures.first().map_or("4/4".to_string(), |m| {
            format!("{}/{}", m.numerator, m.denominator)
        });
        let rows = self.tracks.iter().enumerate().map(|(i, t)| {
            let pitches = t.notes.iter().map(|n| n.pitch);
            let range = match (pitches.clone().min(), pitches.max()) {
                (Some(lo), Some(hi)) => format!(
                    "{}–{}",
                    crate::render::pitch_name(i32::from(lo)),
                    crate::render::pitch_name(i32::from(hi))
                ),
                _ => "–".into(),
            };
            vec![
                i.to_string(),
                esc(&t.name).to_string(),
                if t.is_drum {
                    "drums".into()
                } else {
                    t.program.to_string()
                },
                t.channel.to_string(),
                t.notes.len().to_string(),
                range,
            ]
        });
        let summary = format!(
            "<b>Score</b>: {} tracks, {} notes, {:.1} s, {:.0} BPM, {meter}, {} ticks per quarter",
            self.tracks.len(),
            self.note_count(),
            self.duration_seconds(),
            tempo,
            self.ticks_per_quarter
        );
        let roll = crate::render::piano_roll_svg(self, "")
            .map(|s| s.0)
            .unwrap_or_else(|e| format!("<p>no piano roll: {}</p>", esc(&format!("{e:#}"))));
        let player = if self.duration_seconds() <= PLAYER_SECONDS {
            crate::render::listen(self)
                .map(|a| a.to_html())
                .unwrap_or_else(|e| format!("<p>no audio: {}</p>", esc(&format!("{e:#}"))))
        } else {
            format!("<p>longer than {PLAYER_SECONDS} s: render it with <code>listen(&amp;score)</code></p>")
        };
        format!(
            "<div>{summary}{}{}{roll}{player}</div>",
            crate::render::engrave::score_sheet_music_html(self),
            table(
                &["track", "name", "program", "channel", "notes", "range"],
                rows
            )
        )
    }
}

/// Token ids shown beside what they stand for (for example characters), as an inline table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenView {
    /// The ids.
    pub ids: Vec<i64>,
    /// What each id stands for, in the same order.
    pub labels: Vec<String>,
}

impl TokenView {
    /// A view of ids of any [`TokenEncoding`] (notes and chords, events...), each labelled with
    /// its token name.
    pub fn new<E: TokenEncoding + ?Sized>(encoding: &E, ids: &[i64]) -> Self {
        TokenView {
            ids: ids.to_vec(),
            labels: encoding.token_names(ids),
        }
    }

    /// A view of character ids decoded by `vocab`; ids outside the vocabulary show as `?`.
    pub fn chars(vocab: &CharVocab, ids: &[i64]) -> Self {
        let labels = ids
            .iter()
            .map(|&id| {
                usize::try_from(id)
                    .ok()
                    .and_then(|i| vocab.chars.get(i))
                    .map_or("?".to_string(), |&c| show_char(c))
            })
            .collect();
        TokenView {
            ids: ids.to_vec(),
            labels,
        }
    }
}

impl ToHtml for TokenView {
    fn to_html(&self) -> String {
        let cells = |f: &dyn Fn(usize) -> String| -> String {
            (0..self.ids.len())
                .map(|i| format!("<td>{}</td>", f(i)))
                .collect()
        };
        format!(
            "<div><b>{} tokens</b><table class=\"tunesmith\"><tr><th>id</th>{}</tr><tr><th>token</th>{}</tr></table></div>",
            self.ids.len(),
            cells(&|i| self.ids[i].to_string()),
            cells(&|i| format!("<code>{}</code>", esc(&self.labels[i])))
        )
    }
}

#[cfg(test)]
mod display_tests {
    use super::*;
    use crate::score::{Note, Track};

    #[test]
    fn a_score_shows_summary_piano_roll_and_player() {
        let mut score = Score::default();
        score.tracks.push(Track {
            name: "melody".into(),
            notes: vec![Note {
                pitch: 69,
                start: 0,
                duration: 480,
                velocity: 90,
            }],
            ..Track::default()
        });
        let html = score.to_html();
        assert!(html.contains("1 tracks, 1 notes"), "{html}");
        assert!(
            html.contains("<svg") && html.contains("<audio"),
            "piano roll and player expected"
        );
        assert!(html.contains("A4"), "pitch range named");
    }

    #[test]
    fn token_view_names_tokens_of_any_encoding() {
        let vocab = crate::encode::EventVocab::default();
        let html = TokenView::new(&vocab, &[60, 188, 256]).to_html();
        assert!(
            html.contains("<code>on C4</code>")
                && html.contains("<code>off C4</code>")
                && html.contains("<code>shift 1</code>"),
            "{html}"
        );
        assert!(roxmltree::Document::parse(&html).is_ok(), "{html}");
    }

    #[test]
    fn token_view_pairs_ids_with_characters() {
        let vocab = CharVocab::from_texts(["ab\n"]);
        let ids = vocab.encode("ba\n").unwrap_or_default();
        let html = TokenView::chars(&vocab, &ids).to_html();
        assert!(
            html.contains("<code>b</code>") && html.contains("<code>\\n</code>"),
            "{html}"
        );
    }
}

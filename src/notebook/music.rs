//! How music and its encodings show themselves: tunes, corpora and load reports, vocabularies,
//! scores (summary, piano roll, player), token views and lists of generated tunes.

use crate::abc::{CleanTune, Tune};
use crate::corpus::AbcCorpus;
use crate::encode::{CharVocab, TokenEncoding};
use crate::midi::MidiCorpusReport;
use crate::render::{pre, table, ToHtml};
use crate::report::LoadReport;
use crate::score::Score;
use html_escape::encode_text as esc;

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
                let verdict = match crate::abc::to_score::bar_check(t) {
                    Err(_) => "does not parse",
                    Ok(c) if c.adds_up() => "every bar adds up",
                    Ok(_) => "bars do not add up",
                };
                format!(
                    "<div style=\"display:inline-block;vertical-align:top;margin:4px\"><b>#{}</b> {}{}{}</div>",
                    i + 1,
                    verdict,
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

impl ToHtml for MidiCorpusReport {
    fn to_html(&self) -> String {
        let rows = table(
            &["", ""],
            self.lines().into_iter().map(|(label, value)| {
                vec![format!("<b>{}</b>", esc(&label)), esc(&value).to_string()]
            }),
        );
        let skipped = table(
            &["skipped file", "reason"],
            self.load.skipped.iter().map(|s| {
                vec![
                    esc(&s.path.display().to_string()).to_string(),
                    esc(&s.reason).to_string(),
                ]
            }),
        );
        let skipped = if self.load.skipped.is_empty() {
            String::new()
        } else {
            format!(
                "<details open><summary>{} files skipped</summary>{skipped}</details>",
                self.load.skipped.len()
            )
        };
        format!("<div><b>MIDI corpus</b>{rows}{skipped}</div>")
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
                    crate::score::pitch_name(i32::from(lo)),
                    crate::score::pitch_name(i32::from(hi))
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

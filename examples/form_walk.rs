//! Walks held-out tunes through the constraint under `Form::Learned` and reports where it refuses
//! them: how many tunes of the corpus the form rules let through, and the text around each
//! refusal (what the form rules do not yet allow). Also counts the tunes' short interior bars by
//! whether they border a section bar line.
//!
//! Usage: `cargo run --release --example form_walk -- [valid|test] [SHOW]`

use anyhow::Result;
use tunesmith::abc::to_score::{bar_check, tune_form, BarFit};
use tunesmith::abc::CleanOptions;
use tunesmith::corpus::{abc_files_in, load_default_abc_corpus};
use tunesmith::generate::abc_constraint::bar_lengths;
use tunesmith::generate::Form;
use tunesmith::metrics::fixed_split;

fn main() -> Result<()> {
    let part = std::env::args().nth(1).unwrap_or_else(|| "valid".into());
    let show: usize = std::env::args().nth(2).map_or(Ok(12), |a| a.parse())?;
    let corpus = load_default_abc_corpus(&CleanOptions::default())?;
    let split = fixed_split(&corpus.tunes, |t| t.text.as_str());
    let held: Vec<String> = match part.as_str() {
        "test" => split.test.iter().map(|t| t.text.clone()).collect(),
        "valid" => split.valid.iter().map(|t| t.text.clone()).collect(),
        dir => {
            // A folder of generated tunes (`.abc`, one each): their header and music.
            abc_files_in(std::path::Path::new(dir))?
                .iter()
                .filter_map(|p| std::fs::read_to_string(p).ok())
                .map(|t| {
                    t.lines()
                        .filter(|l| !(l.starts_with("X:") || l.starts_with("T:")))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .collect()
        }
    };
    let (mut passed, mut regular, mut shown) = (0, 0, 0);
    let (mut short_edge, mut short_inner, mut interior) = (0, 0, 0);
    let (mut long, mut unmetered) = (0, 0);
    for tune in held.iter() {
        let text = format!("{}\n\n", tune.trim_end());
        if let Ok(check) = bar_check(&text) {
            let n = check.bars.len();
            for bar in check.bars.iter().skip(1).take(n.saturating_sub(2)) {
                interior += 1;
                long += usize::from(bar.fit == BarFit::Long);
                unmetered += usize::from(matches!(bar.fit, BarFit::Unmetered | BarFit::Unreadable));
                if bar.fit == BarFit::Short {
                    if bar.at_section_edge {
                        short_edge += 1;
                    } else {
                        short_inner += 1;
                    }
                }
            }
        }
        let is_regular = tune_form(&text).is_ok_and(|f| f.regular);
        regular += usize::from(is_regular);
        let (_, refused) = bar_lengths(&text, &Form::Learned);
        match refused {
            None => passed += 1,
            Some(at) if shown < show && !tune.contains("/2\n") && !tune.contains("M:none") => {
                shown += 1;
                let chars: Vec<char> = text.chars().collect();
                let from = at.saturating_sub(60);
                let before: String = chars[from..at].iter().collect();
                let after: String = chars[at..(at + 30).min(chars.len())].iter().collect();
                let head: String = text.lines().take(2).collect::<Vec<_>>().join(" ");
                println!("[{head}] regular={is_regular} …{before:?} ⟂ {after:?}");
            }
            Some(_) => {}
        }
    }
    println!(
        "{part}: {} tunes, {regular} regular, {passed} followed to the end under the learned form",
        held.len()
    );
    println!(
        "interior bars {interior}: short at a section edge {short_edge}, short elsewhere \
         {short_inner}, long {long}, unmetered or unreadable {unmetered}"
    );
    Ok(())
}

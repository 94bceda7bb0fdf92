//! Why held-out tunes have an irregular form: splits them by whether their bars add up (the
//! reader's `adds_up`, what the ABC constraint demands) and, among those that do, by part.
//!
//! Usage: `cargo run --release --example form_irregular -- [train|valid|test]`

use anyhow::Result;
use tunesmith::abc::to_score::{bar_check, tune_form};
use tunesmith::abc::CleanOptions;
use tunesmith::corpus::load_default_abc_corpus;
use tunesmith::metrics::fixed_split;

fn main() -> Result<()> {
    let part = std::env::args().nth(1).unwrap_or_else(|| "valid".into());
    let corpus = load_default_abc_corpus(&CleanOptions::default())?;
    let split = fixed_split(&corpus.tunes, |t| t.text.as_str());
    let tunes = match part.as_str() {
        "train" => split.train,
        "test" => split.test,
        _ => split.valid,
    };
    let (mut n, mut regular, mut adds_irregular, mut fails) = (0, 0, 0, 0);
    let mut shown = 0;
    for t in &tunes {
        let text = format!("{}\n\n", t.text.trim_end());
        let (Ok(check), Ok(form)) = (bar_check(&text), tune_form(&text)) else {
            continue;
        };
        n += 1;
        if form.regular {
            regular += 1;
        } else if check.adds_up() && form.meter.is_some() {
            adds_irregular += 1;
            if shown < 8 {
                shown += 1;
                let parts: Vec<String> = form
                    .parts
                    .iter()
                    .map(|p| {
                        format!(
                            "{:?} pickup {} written {}",
                            p.bars, p.pickup, p.written_bars
                        )
                    })
                    .collect();
                println!("{parts:?}\n{text}");
            }
        } else {
            fails += 1;
        }
    }
    println!("{part}: {n} tunes read, {regular} regular, {adds_irregular} irregular with bars that add up, {fails} irregular otherwise");
    Ok(())
}

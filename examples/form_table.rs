//! Counts the forms of the default corpus's training tunes (the train part of the fixed split) per
//! meter and unit length, prints the most common per meter, and, given a path, writes the table
//! as JSON: `src/generate/default_forms.json` is the one `Form::Learned` draws from, compiled into
//! the crate.
//!
//! Usage: `cargo run --release --example form_table -- [src/generate/default_forms.json]`

use anyhow::{Context, Result};
use tunesmith::abc::to_score::FormTable;
use tunesmith::abc::CleanOptions;
use tunesmith::corpus::load_default_abc_corpus;
use tunesmith::metrics::fixed_split;

fn main() -> Result<()> {
    let out = std::env::args().nth(1);
    let corpus = load_default_abc_corpus(&CleanOptions::default())?;
    let split = fixed_split(&corpus.tunes, |t| t.text.as_str());
    let train: Vec<&str> = split.train.iter().map(|t| t.text.as_str()).collect();
    let (table, report) = FormTable::from_tunes(&train);
    println!("{} training tunes: {report:?}", train.len());
    for (meter, forms) in &table.by_meter {
        let total: u32 = forms.iter().map(|f| f.count).sum();
        let top: Vec<String> = forms
            .iter()
            .take(5)
            .map(|f| format!("{:?}×{}", f.parts, f.count))
            .collect();
        println!("{meter:>5}: {total:>5} tunes; {}", top.join(", "));
    }
    if let Some(out) = out {
        let json = serde_json::to_string(&table)?;
        std::fs::write(&out, json + "\n").with_context(|| format!("cannot write {out}"))?;
        println!("wrote {out}");
    }
    Ok(())
}

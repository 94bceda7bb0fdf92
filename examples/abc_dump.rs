//! Prints the notes of ABC tunes as JSON.
//!
//! `cargo run --example abc_dump -- FILE [--no-repeats] [--split]`
//!
//! Without `--split` the file is one tune and the output is one JSON object.
//! With `--split` the file is cut at lines starting `X:` and each tune gives one
//! JSON line: `{"index": i, "notes": [[pitch, start, duration], ...]}` or
//! `{"index": i, "error": "..."}`.

use anyhow::{Context, Result};
use serde_json::{json, Value};
use tunesmith::abc::to_score::{abc_to_score_with, AbcToScoreOptions};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .context("usage: abc_dump FILE [--no-repeats] [--split]")?;
    let opts = AbcToScoreOptions {
        expand_repeats: !args.iter().any(|a| a == "--no-repeats"),
        ..AbcToScoreOptions::default()
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    if args.iter().any(|a| a == "--split") {
        for (index, tune) in split_tunes(&text).iter().enumerate() {
            println!("{}", dump(tune, &opts, index));
        }
    } else {
        println!("{}", dump(&text, &opts, 0));
    }
    Ok(())
}

/// The tune's notes (or its error) as JSON.
fn dump(tune: &str, opts: &AbcToScoreOptions, index: usize) -> Value {
    match abc_to_score_with(tune, opts) {
        Ok(score) => {
            let notes: Vec<Value> = score.tracks[0]
                .notes
                .iter()
                .map(|n| json!([n.pitch, n.start, n.duration]))
                .collect();
            json!({ "index": index, "ticks_per_quarter": score.ticks_per_quarter, "notes": notes })
        }
        Err(e) => json!({ "index": index, "error": e.to_string() }),
    }
}

/// Cuts a multi-tune file at lines starting with `X:` (text before the first is dropped).
fn split_tunes(text: &str) -> Vec<String> {
    let mut tunes: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("X:") {
            tunes.push(String::new());
        }
        if let Some(tune) = tunes.last_mut() {
            tune.push_str(line);
            tune.push('\n');
        }
    }
    tunes
}

//! How often a model's tunes end on the tonic, by whether they ended by themselves and by their
//! length in bars: does the model know how to end a tune, or does the form's end cut it off?
//! (Issue 20: 49.5% of the shipped model's tunes end on the tonic against 77.4% of the test
//! tunes.)
//!
//! Usage: `cargo run --release --example ending_diagnosis -- CHECKPOINT [N] [FORM] [CANDIDATES]
//! [unconstrained]` (defaults: 200 tunes, `learned`, 1 candidate, the ABC constraint on; FORM as
//! `tunesmith generate --form`). With `ENDING_DIAGNOSIS_OUT=DIR` the tunes are also written there.
//!
//! `ending_diagnosis CHECKPOINT hazard [valid|test]` reads the held-out tunes instead, each from a
//! zero state, and asks at the end of every line of music how likely the model finds a blank line
//! there (which ends the tune), by whether the line is the tune's last and whether its last note
//! is the tonic (its letter is the `K:` tonic's, accidentals aside).

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use tunesmith::abc::CleanOptions;
use tunesmith::corpus::load_default_abc_corpus;
use tunesmith::encode::Encoding;
use tunesmith::generate::{open_for_generation, Form, Generator, Primer, SampleConfig};
use tunesmith::metrics::{fixed_split, TuneStatistics};
use tunesmith::model::Stepper;

/// The letter of the last note written in `line` (chord symbols in quotes skipped), upper case.
fn last_note_letter(line: &str) -> Option<char> {
    let mut in_quote = false;
    let mut last = None;
    for c in line.chars() {
        match c {
            '"' => in_quote = !in_quote,
            'A'..='G' | 'a'..='g' if !in_quote => last = Some(c.to_ascii_uppercase()),
            _ => {}
        }
    }
    last
}

/// The model's probability of ending each held-out tune at each of its line ends.
fn hazard(generator: &Generator, part: &str) -> Result<()> {
    let corpus = load_default_abc_corpus(&CleanOptions::default())?;
    let split = fixed_split(&corpus.tunes, |t| t.text.as_str());
    let tunes = if part == "test" {
        &split.test
    } else {
        &split.valid
    };
    let Encoding::Chars(vocab) = &generator.encoding else {
        anyhow::bail!("hazard needs a character model");
    };
    let Stepper::Tokens(stepper) = generator.model.stepper() else {
        anyhow::bail!("hazard needs a token model");
    };
    let kernel = stepper
        .lanes()?
        .context("the model has no CPU kernel to read tunes with")?;
    let newline = vocab.encode("\n")?[0];
    // (the tune's last line, ends on the tonic) -> (line ends, summed probability of ending)
    let mut groups = BTreeMap::<(bool, bool), (usize, f64)>::new();
    let (mut whole, mut read) = (0.0, 0);
    let mut logits = Vec::new();
    for tune in tunes {
        let body = tune.text.trim_end();
        let Some(tonic) = body
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("K:"))
            .and_then(|k| k.trim().chars().next())
        else {
            continue;
        };
        let text = format!("\n\n{body}\n\n");
        let chars: Vec<char> = text.chars().collect();
        let ids = vocab.encode(&text)?;
        let Some(music) = text
            .find("\nK:")
            .and_then(|k| text[k + 1..].find('\n').map(|e| k + 1 + e))
        else {
            continue;
        };
        let mut state = kernel.zero_state(1);
        let mut line_start = music + 1;
        let mut no_early_end = 1.0;
        for i in 0..ids.len() - 1 {
            kernel.step_with(&mut state, &[ids[i]], &mut logits, None)?;
            if i <= music || chars[i] != '\n' || chars[i - 1] == '\n' {
                continue;
            }
            let top = logits.iter().copied().fold(f32::MIN, f32::max);
            let total: f64 = logits.iter().map(|&l| f64::from(l - top).exp()).sum();
            let p_end = f64::from(logits[newline as usize] - top).exp() / total;
            let line: String = chars[line_start..i].iter().collect();
            let last_line = chars[i + 1] == '\n';
            let on_tonic = last_note_letter(&line) == Some(tonic);
            let group = groups.entry((last_line, on_tonic)).or_default();
            group.0 += 1;
            group.1 += p_end;
            if !last_line {
                no_early_end *= 1.0 - p_end;
            }
            line_start = i + 1;
        }
        whole += no_early_end;
        read += 1;
    }
    println!("{read} {part} tunes, each from a zero state: the model's probability of a blank line (the end) after each line of music");
    println!("| line | last note | line ends | mean probability of ending there |");
    println!("|---|---|---:|---:|");
    for ((last_line, on_tonic), (n, sum)) in groups.iter().rev() {
        println!(
            "| {} | {} | {n} | {:.3} |",
            if *last_line {
                "the tune's last"
            } else {
                "any other"
            },
            if *on_tonic { "tonic" } else { "not the tonic" },
            sum / *n as f64
        );
    }
    println!(
        "mean probability that a tune is not ended before its last line: {:.3}",
        whole / read.max(1) as f64
    );
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let checkpoint = args
        .get(1)
        .context("usage: ending_diagnosis CHECKPOINT [N] [FORM] [CANDIDATES] [unconstrained]")?;
    if args.get(2).map(String::as_str) == Some("hazard") {
        let generator = open_for_generation(std::path::Path::new(checkpoint), tch::Device::Cpu)?;
        return hazard(&generator, args.get(3).map_or("test", String::as_str));
    }
    let count: usize = args.get(2).map_or(Ok(200), |a| a.parse()).context("N")?;
    let form: Form = args.get(3).map_or(Ok(Form::Learned), |a| a.parse())?;
    let candidates: usize = args
        .get(4)
        .map_or(Ok(1), |a| a.parse())
        .context("CANDIDATES")?;
    let constrained = args.get(5).map(String::as_str) != Some("unconstrained");
    let generator = open_for_generation(std::path::Path::new(checkpoint), tch::Device::Cpu)?;
    let config = SampleConfig {
        form: form.clone(),
        candidates,
        abc_constraints: constrained,
        ..SampleConfig::default()
    };
    let pieces = generator.generate_many(count, &Primer::none(), &config)?;
    let tunes: Vec<String> = pieces
        .iter()
        .map(|p| p.abc.clone().unwrap_or_default())
        .collect();
    if let Ok(dir) = std::env::var("ENDING_DIAGNOSIS_OUT") {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {dir}"))?;
        for (i, tune) in tunes.iter().enumerate() {
            let path = std::path::Path::new(&dir).join(format!("tune_{i:03}.abc"));
            std::fs::write(&path, tune).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    let stats = TuneStatistics::of_tunes(&tunes);
    let mut groups = BTreeMap::<(bool, &str), (usize, usize)>::new();
    for (piece, figures) in pieces.iter().zip(&stats.per_tune) {
        let length = match figures.bars {
            0..=8 => "1-8 bars",
            9..=16 => "9-16 bars",
            _ => "17 bars or more",
        };
        let group = groups.entry((piece.reached_step_cap, length)).or_default();
        group.0 += 1;
        group.1 += usize::from(figures.ends_on_tonic == Some(true));
    }
    println!(
        "{count} tunes, form {form:?}, {candidates} candidates each, constraint {constrained}"
    );
    println!("| reached the step cap | length | tunes | ending on the tonic |");
    println!("|---|---|---:|---:|");
    for ((capped, length), (tunes, tonic)) in groups {
        println!(
            "| {} | {length} | {tunes} | {tonic} ({:.0}%) |",
            if capped { "yes" } else { "no" },
            100.0 * tonic as f64 / tunes as f64
        );
    }
    Ok(())
}

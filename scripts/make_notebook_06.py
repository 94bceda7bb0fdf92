"""Writes notebooks/06_benchmark.ipynb from the cells below (run: python scripts/make_notebook_06.py)."""
import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
md("""# 06 · Benchmark: bits per character and sample quality

A short version of the benchmarks in `docs/benchmarks.md`, small enough to run in a couple of minutes
on 2 CPU cores:

1. **Bits per character** of a small character LSTM on the *fixed* held-out split of the default ABC
   corpus. The split is a pure function of each tune's cleaned text (a hash), so figures from any
   version of the crate compare.
2. **Sample quality** of tunes the model writes, measured exactly as the training and test tunes are:
   does the crate's ABC reader convert them, do their bars add up to the meter, and how do their
   pitch-class entropy, scale consistency, pitch range and note density compare? How many bars in a
   row did the model copy from one training tune?
3. A **two-minute run of the polyphonic piano-roll benchmark** (JSB Chorales) beside the published
   figures, when the benchmark data is at hand (`TUNESMITH_BENCH_DATA`, or `../shared/data/bl2012`
   next to the repository); without it, the published figures alone.

The full-size runs (`cargo run --release --example bench_abc_bpc`) train longer and score better."""),
code(""":cache 2000
:dep tunesmith = { path = ".." }"""),
code("""use tunesmith::prelude::*;
use tunesmith::metrics::{fixed_split, sequences_nll, stream_nll, sample_quality, quality_table, figures_table, CopyIndex, SPLIT_VERSION};
use std::path::PathBuf;
let device = best_device();
let mut run = NotebookRun::start("06_benchmark")?;
let out_dir: PathBuf = run.out_dir.clone();
println!("running on {}; files go to {}", describe_device(device), out_dir.display());"""),
md("""## 1 · The fixed split
Each tune goes to test when the 64-bit FNV-1a hash of its cleaned text is 0 modulo 20, to valid when it
is 1, and to train otherwise: about 5% / 5% / 90%, independent of load order and of any random number
generator, and identical tunes always share a part."""),
code("""let corpus = load_default_abc_corpus(&CleanOptions::default())?;
let split = fixed_split(&corpus.tunes, |t| t.text.as_str());
let train_texts: Vec<String> = split.train.iter().map(|t| t.text.clone()).collect();
let valid_texts: Vec<String> = split.valid.iter().map(|t| t.text.clone()).collect();
let test_texts: Vec<String> = split.test.iter().map(|t| t.text.clone()).collect();
let vocab = CharVocab::from_texts(corpus.tunes.iter().map(|t| t.text.as_str()));
let unigram = vocab.unigram_entropy();
println!("split {SPLIT_VERSION}: train {} tunes, valid {}, test {}; {} characters in the vocabulary",
         train_texts.len(), valid_texts.len(), test_texts.len(), vocab.len());"""),
md("""## 2 · A small model, trained briefly
Embedding 48 → LSTM 2×128 → dropout 0.1 → linear, on 800 training tunes for a fixed number of epochs
(the full benchmark uses 2×256 on all of them). The corpus lists the Essen songs first and the Irish
collections after them, so the 800 are every 13th training tune, a sample of all three collections."""),
code("""let train_ids = vocab.encode_tunes(train_texts.iter().step_by(13).take(800).map(|t| t.as_str()))?;
let valid_ids = vocab.encode_tunes(valid_texts.iter().map(|t| t.as_str()))?;
let test_ids = vocab.encode_tunes(test_texts.iter().map(|t| t.as_str()))?;
let train = SequenceBatches::new(train_ids, 100, 32)?;
let valid = SequenceBatches::new(valid_ids.clone(), 100, 32)?;
let model = seeded(42, || LstmLm::new(LstmConfig { vocab_size: vocab.len() as i64, embed_dim: 48, hidden_size: 128, num_layers: 2, dropout: 0.1 }, device))?;
let config = TrainConfig { epochs: run.epochs(4)?, adam: AdamConfig { lr: 3e-3, ..AdamConfig::default() },
                           seed: 42, max_seconds: Some(1800.0), valid_limit: 60_000, ..TrainConfig::default() };
let mut trainer = Trainer::new(model, config);
trainer.fit(&train, &valid)?;
println!("{} epochs, {} steps", trainer.epoch, trainer.step);"""),
md("""Bits per character on the whole valid and test parts, read two ways: each tune on its own from a
zero state (after the blank line that precedes it), and the whole stream with the LSTM state carried
(16 lanes read 100 characters at a time). Beside them the unigram entropy: the loss of a model that
knows only how often each character occurs. (The trainer's per-epoch validation line reads only the
first 60,000 characters, all Essen songs; the whole part also holds the Irish collections.)"""),
code("""// Each tune after the blank line that precedes it in training, ending with its own blank line.
let valid_seqs: Vec<Vec<i64>> = valid_texts.iter().map(|t| vocab.encode_tunes([format!("\\n\\n{t}").as_str()])).collect::<Result<_>>()?;
let test_seqs: Vec<Vec<i64>> = test_texts.iter().map(|t| vocab.encode_tunes([format!("\\n\\n{t}").as_str()])).collect::<Result<_>>()?;
let valid_nll = sequences_nll(trainer.model_as::<LstmLm>()?, &valid_seqs)?;
let test_nll = sequences_nll(trainer.model_as::<LstmLm>()?, &test_seqs)?;
let valid_stream = stream_nll(trainer.model_as::<LstmLm>()?, &valid_ids, 100, 16)?;
let test_stream = stream_nll(trainer.model_as::<LstmLm>()?, &test_ids, 100, 16)?;
let bpc_rows = vec![
    vec!["this notebook: LSTM 2×128, 800 tunes, each tune from a zero state".to_string(), format!("{} epochs", trainer.epoch),
         format!("{:.3}", valid_nll.bits_per_token()), format!("{:.3}", test_nll.bits_per_token())],
    vec!["the same, whole stream with the state carried".to_string(), format!("{} epochs", trainer.epoch),
         format!("{:.3}", valid_stream.bits_per_token()), format!("{:.3}", test_stream.bits_per_token())],
    vec!["unigram entropy of the corpus".to_string(), "–".to_string(),
         format!("{:.3}", nats_to_bits(unigram)), format!("{:.3}", nats_to_bits(unigram))],
];
figures_table(&["model", "training", &format!("valid bits/char ({SPLIT_VERSION})"), "test bits/char"], &bpc_rows)"""),
md("""## 3 · Sample quality
Twenty tunes at temperature 0.8, measured against the held-out test tunes and the training tunes
(copies are looked for in the training tunes; a test tune's longest copied run shows how much real
tunes share with the corpus)."""),
code("""let sampling = SampleConfig { temperature: 0.8, seed: 7, max_steps: 1000, ..SampleConfig::default() };
let pieces = generate_many(trainer.model(), &Encoding::from(vocab.clone()), 20, &Primer::none(), &sampling)?;
write_pieces(&out_dir, "generated", &pieces)?;
let tunes: Vec<String> = pieces.iter().filter_map(|p| p.abc.clone()).collect();
let index = CopyIndex::new(train_texts.iter().map(|t| t.as_str()));
let generated = sample_quality(&tunes, Some(&index));
let held_out = sample_quality(&test_texts, Some(&index));
let training = sample_quality(&train_texts, None);
quality_table(&[("generated", &generated), ("test tunes", &held_out), ("train tunes", &training)])"""),
code("""TuneList(tunes.iter().take(3).cloned().collect())"""),
md("""## 4 · The polyphonic benchmark, briefly, beside the published figures
Test negative log-likelihood per frame (nats) of the piano-roll benchmark of Boulanger-Lewandowski et
al. (2012), with the LSTM, GRU and TCN figures published by Bai, Kolter and Koltun (2018). The short
run trains the crate's best JSB model for two minutes on one thread: a 1×512 `FrameLstm` with the
skip path and **pitch autoregression** (each key of the next frame also reads the keys below it in
that same frame, so the model can learn chords instead of guessing every key on its own), keeps the
epoch with the best validation NLL, and reads the test set once. The ten-minute runs of both
datasets are in `docs/benchmarks.md` (`cargo run --release --example bench_polyphonic -- --preset best`)."""),
code("""use tunesmith::bench::{run_benchmark, PolyBenchConfig, PolyDataset};
let bench_dir = std::env::var("TUNESMITH_BENCH_DATA").map(PathBuf::from)
    .unwrap_or_else(|_| PathBuf::from("../../shared/data/bl2012"));
let jsb_path = bench_dir.join("JSB_Chorales.json");
let short_run = if jsb_path.exists() {
    let data = PolyDataset::load(&jsb_path)?;
    let model = FrameLstmConfig { input_dropout: 0.2, skip_connection: true, pitch_autoregression: true, ..FrameLstmConfig::piano(512, 1, 0.5) };
    let config = PolyBenchConfig { model, batch_size: 8, adam: AdamConfig { lr: 3e-3, ..AdamConfig::default() },
                                   max_seconds: Some(120.0), ..PolyBenchConfig::default() };
    tch::set_num_threads(1);
    let result = run_benchmark(&data, &config, device)?;
    println!("JSB Chorales: test NLL {:.2} after {} epochs in {:.0} s ({})", result.test_nll, result.epochs, result.seconds, result.model);
    Some(result)
} else {
    println!("no benchmark data at {} (set TUNESMITH_BENCH_DATA): the published figures alone", bench_dir.display());
    None
};"""),
code("""let jsb_short = match &short_run {
    Some(r) => format!("{:.2} ({:.0} s)", r.test_nll, r.seconds),
    None => "not run".to_string(),
};
let published = vec![
    vec!["JSB Chorales".to_string(), jsb_short, "8.45".to_string(), "8.43".to_string(), "8.10".to_string(), "11.09".to_string()],
    vec!["Nottingham".to_string(), "not run".to_string(), "3.29".to_string(), "3.46".to_string(), "3.07".to_string(), "10.26".to_string()],
];
figures_table(&["test NLL per frame", "tunesmith, short run", "LSTM (published)", "GRU (published)", "TCN (published)", "independent Bernoulli floor"], &published)"""),
code("""let summary = run.finish(serde_json::json!({
    "split": SPLIT_VERSION, "train_tunes": train_texts.len(), "valid_tunes": valid_texts.len(), "test_tunes": test_texts.len(),
    "epochs": trainer.epoch, "valid_bpc": valid_nll.bits_per_token(), "test_bpc": test_nll.bits_per_token(),
    "valid_bpc_stream": valid_stream.bits_per_token(), "test_bpc_stream": test_stream.bits_per_token(),
    "unigram_bits": nats_to_bits(unigram),
    "jsb_short_run": short_run.as_ref().map(|r| serde_json::json!({"test_nll": r.test_nll, "epochs": r.epochs, "seconds": r.seconds, "parameters": r.parameters})),
    "generated": generated, "test": held_out, "train": training,
}))?;
println!("summary written to {}", summary.display());"""),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata = {"kernelspec": {"name": "tunesmith", "display_name": "Rust (tunesmith)", "language": "rust"},
               "language_info": {"name": "rust", "file_extension": ".rs", "mimetype": "text/rust"}}
nbf.write(nb, "notebooks/06_benchmark.ipynb")

"""Writes notebooks/01_abc_char_lstm.ipynb from the cells below (run: python scripts/make_notebook_01.py)."""
import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
md("""# 01 · A character-level LSTM that writes folk tunes in ABC notation

This is the first workflow of the daily log that started tunesmith: take tunes written in
[ABC notation](https://abcnotation.com/), clean away everything that is not music, and train a
2-layer character-level LSTM until it goes from noise to well-formed ABC.

Every step below is a plain function of the `tunesmith` crate; every value it makes shows itself
inline when it is the last expression of a cell. The whole notebook runs in a few minutes on 2 CPU
cores (and on a GPU when there is one)."""),
md("""## Setup
Dependencies go in the first cell only (a `:dep` added later resets the notebook's variables).
`:cache` keeps compiled crates between kernel restarts."""),
code(""":cache 2000
:dep tunesmith = { path = ".." }"""),
code("""use tunesmith::prelude::*;
let device = best_device();
// Where files go (TUNESMITH_OUT, else ../out/01_abc_char_lstm) and the figures this notebook records.
let mut run = NotebookRun::start("01_abc_char_lstm")?;
let out_dir = run.out_dir.clone();
println!("training on {}; files go to {}", describe_device(device), out_dir.display());"""),
md("""## 1 · The corpus
The default corpus is the ABC collections shipped inside the `music21` Python package: the Essen
folk songs, O'Neill's *Music of Ireland* (1850) and *Ryan's Mammoth Collection*. tunesmith finds
them in the Python environment at run time."""),
code("""let corpus_dir = music21_corpus_dir()?;
println!("music21 corpus: {}", corpus_dir.display());
let corpus = load_default_abc_corpus(&CleanOptions::default())?;
corpus.report"""),
md("""Here is one tune as it is written in its file: a header of fields (title `T:`, notes `N:`,
origin `O:`, …) and then the music. The seed cleaned titles and descriptions out by hand;"""),
code("""let essen = corpus_dir.join("essenFolksong").join("altdeu10.abc");
let text = std::fs::read_to_string(&essen)?;
let raw_tune = split_tunebook(&text, &essen).into_iter().next().context("no tune")??;
raw_tune"""),
md("""`clean_tune` keeps only the meter `M:`, the unit length `L:`, the key `K:` and the music, and
normalises whitespace:"""),
code("""clean_tune(&raw_tune, &CleanOptions::default())?"""),
md("""## 2 · The character vocabulary
Each distinct character gets an id. The *unigram entropy* is the loss of a model that knows only how
often each character occurs: the model has to get well below it."""),
code("""let vocab = CharVocab::from_texts(corpus.tunes.iter().map(|t| t.text.as_str()));
vocab.save(&out_dir.join("vocab.json"))?;
let unigram = vocab.unigram_entropy();
vocab"""),
md("""## 3 · Training data
Split by tune (10% held out for validation), join the tunes with a blank line between them (the
end-of-tune marker the sampler stops at), and cut the stream into sequences: many-to-many, the
targets are the inputs shifted by one character. To fit a few minutes of CPU we train on a slice of the
corpus."""),
code("""let (train_tunes, valid_tunes) = split_train_valid(&corpus.tunes, 0.1, 42);
let train_ids = vocab.encode_tunes(train_tunes.iter().take(1500).map(|t| t.text.as_str()))?;
let valid_ids = vocab.encode_tunes(valid_tunes.iter().take(300).map(|t| t.text.as_str()))?;
println!("train: {} tunes, {} characters; valid: {} tunes, {} characters",
         train_tunes.len().min(1500), train_ids.len(), valid_tunes.len().min(300), valid_ids.len());
println!("the first tune as ids: {:?} …", &train_ids[..40]);
println!("decoded back: {:?}", vocab.decode(&train_ids[..40])?);"""),
code("""let seq_len = 100;
let train = SequenceBatches::new(train_ids, seq_len, 32)?;
let valid = SequenceBatches::new(valid_ids, seq_len, 32)?;
println!("{} batches of 32 × {} characters per epoch", train.batches_per_epoch(), seq_len);"""),
md("""## 4 · The model
Embedding → 2 LSTM layers → dropout → linear, as in the seed. Parameters are named as in PyTorch."""),
code("""let model = seeded(42, || LstmLm::new(LstmConfig { vocab_size: vocab.len() as i64, embed_dim: 48, hidden_size: 256, num_layers: 2, dropout: 0.1 }, device))?;
model"""),
md("""## 5 · Training
Adam with gradient clipping; one line per epoch with train and validation loss (nats per character),
time and throughput, and the loss curve every four epochs (`PlotEvery`). Twelve epochs take about two
minutes on 2 CPU cores; raise `epochs` for better tunes (`max_seconds` is only a safety cap)."""),
code("""let epochs = run.epochs(12)?; // TUNESMITH_EPOCHS overrides it (the tests run it short)
let config = TrainConfig { epochs, adam: AdamConfig { lr: 3e-3, ..AdamConfig::default() },
                           seed: 42, max_seconds: Some(1200.0), valid_limit: 60_000, ..TrainConfig::default() };
let mut trainer = Trainer::new(model, config).with_callback(PlotEvery::new(4));
let untrained = trainer.evaluate(&valid).loss;
println!("before training: valid loss {untrained:.4} (unigram entropy {unigram:.4})");
trainer.fit(&train, &valid)?;
println!("done: {} epochs, {} steps", trainer.epoch, trainer.step);"""),
code("""let curve = loss_curve_svg(&trainer.history, Some((unigram, "unigram entropy")))?;
curve.save(&out_dir.join("loss.svg"))?;
curve"""),
md("""## 6 · New tunes
Sampling runs the LSTM one step per new character, carrying its state, and stops at the blank line
that ends a tune. Temperature below 1 makes the model more conservative. Each tune shows as sheet
music (engraved by Verovio from the ABC the model wrote) above its text, so you can read what it
composed; then the first playable one as a `Score`, with its piano roll and a player."""),
code("""let encoding = Encoding::from(vocab.clone());
let sampling = SampleConfig { temperature: 0.8, seed: 7, max_steps: 1200, ..SampleConfig::default() };
let pieces = generate_many(trainer.model(), &encoding, 8, &Primer::none(), &sampling)?;
let paths = write_pieces(&out_dir, "generated", &pieces)?;
println!("wrote {} tunes to {}", paths.len(), out_dir.display());
let tunes: Vec<String> = pieces.iter().filter_map(|p| p.abc.clone()).collect();
TuneList(tunes.clone())"""),
code("""tunes.iter().filter_map(|t| abc_to_score(t).ok()).find(|s| s.note_count() > 0).context("no playable tune")?"""),
md("""## 7 · How did it do?"""),
code("""let last = trainer.history.last_valid_loss().unwrap_or(f64::NAN);
let share = well_formed_share(&tunes);
run.finish(serde_json::json!({
    "tunes_loaded": corpus.tunes.len(), "tunes_skipped": corpus.report.skipped.len(),
    "vocab_size": vocab.len(), "unigram_entropy": unigram, "valid_loss_untrained": untrained,
    "valid_loss_first_epoch": trainer.history.records.first().map(|r| r.valid_loss),
    "valid_loss_last": last, "bits_per_char": nats_to_bits(last), "epochs": trainer.epoch,
    "tokens_per_second": trainer.history.records.iter().map(|r| r.tokens_per_second).sum::<f64>() / trainer.history.records.len().max(1) as f64,
    "generated": tunes.len(), "well_formed_share": share,
}))?;"""),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata = {"kernelspec": {"name": "tunesmith", "display_name": "Rust (tunesmith)", "language": "rust"},
               "language_info": {"name": "rust", "file_extension": ".rs", "mimetype": "text/rust"}}
nbf.write(nb, "notebooks/01_abc_char_lstm.ipynb")

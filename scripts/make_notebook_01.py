"""Writes notebooks/01_abc_char_lstm.ipynb from the cells below (run: python scripts/make_notebook_01.py)."""
import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
md("""# 01 · A character-level LSTM that writes folk tunes in ABC notation

This is the first workflow of the daily log that started tunesmith: take tunes written in
[ABC notation](https://abcnotation.com/), clean away everything that is not music, and train a
2-layer character-level LSTM until it goes from noise to tunes whose bars add up.

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
that ends a tune. Temperature below 1 makes the model more conservative. While it writes, a small
ABC state machine follows the tune and never lets the model write a note that overflows its bar,
a bar line before the bar is full, or an ending with something left open (`abc_constraints`, on
by default). It also knows the **form** of a tune: once the model has written the header, each tune
draws a form from the corpus's forms for its meter and unit length (`Form::Learned`, the default:
for a jig in 6/8 most often two parts of 8 bars, for an Essen song in 2/4 one part of 8, 12 or 16),
and the machine lets a part close (`||`, `:|`, `|]`) only when its bars are written, lets a pick-up
open a part only if its closing bar balances it, and ends the tune when its last part is closed.
`Form::Parts(vec![8, 8])` asks for one form; `Form::Free` turns the form off. All of this is a mask on
what the model may write next: the model's probabilities are never changed otherwise.

All eight tunes are written at once by the crate's own CPU kernel. Each shows as sheet music
(engraved by Verovio from the ABC the model wrote) above its text, with whether its bars add up by
the crate's reader; then the first playable one as a `Score`, with its piano roll and a player."""),
code("""let encoding = Encoding::from(vocab.clone());
let sampling = SampleConfig { temperature: 0.8, seed: 7, max_steps: 1200, ..SampleConfig::default() };
let pieces = generate_many(trainer.model(), &encoding, 8, &Primer::none(), &sampling)?;
let paths = write_pieces(&out_dir, "generated", &pieces)?;
for piece in &pieces {
    println!("form {:?}{}", piece.form.clone().unwrap_or_default(),
             if piece.reached_step_cap { " (cut at max_steps)" } else { "" });
}
let tunes: Vec<String> = pieces.iter().filter_map(|p| p.abc.clone()).collect();
TuneList(tunes.clone())"""),
code("""tunes.iter().filter_map(|t| abc_to_score(t).ok()).find(|s| s.note_count() > 0).context("no playable tune")?"""),
md("""## 7 · How did it do?
A tune is more than bars that add up. `TuneStatistics` reads a set of tunes with the crate's reader
and measures what makes them tunes: length in bars, the share of interior bars that are full bars of
the meter, parts and their lengths, repeats and endings, how often a bar repeats an earlier one, notes
per quarter, range, pitch classes relative to the tonic, intervals, durations, ending on the tonic.
`compare` puts 64 tunes of this model beside the 300 held-out tunes it never saw, with a distance per
statistic (total variation for distributions, relative difference for means). music21, the
independent judge, checks the crate's figures in a test (`tests/tune_statistics_music21.rs`)."""),
code("""let many = generate_many(trainer.model(), &encoding, 64, &Primer::none(), &SampleConfig { seed: 100, ..sampling.clone() })?;
let generated: Vec<String> = many.iter().filter_map(|p| p.abc.clone()).collect();
let held_out: Vec<String> = valid_tunes.iter().take(300).map(|t| t.text.clone()).collect();
let ours = TuneStatistics::of_tunes(&generated);
let theirs = TuneStatistics::of_tunes(&held_out);
let comparison = TuneStatistics::compare(&ours, &theirs);
comparison"""),
code("""let last = trainer.history.last_valid_loss().unwrap_or(f64::NAN);
let share = bars_add_up_share(&tunes);
let ended = many.iter().filter(|p| !p.reached_step_cap).count() as f64 / many.len() as f64;
run.finish(serde_json::json!({
    "tunes_loaded": corpus.tunes.len(), "tunes_skipped": corpus.report.skipped.len(),
    "vocab_size": vocab.len(), "unigram_entropy": unigram, "valid_loss_untrained": untrained,
    "valid_loss_first_epoch": trainer.history.records.first().map(|r| r.valid_loss),
    "valid_loss_last": last, "bits_per_char": nats_to_bits(last), "epochs": trainer.epoch,
    "tokens_per_second": trainer.history.records.iter().map(|r| r.tokens_per_second).sum::<f64>() / trainer.history.records.len().max(1) as f64,
    "generated": tunes.len(), "bars_add_up_share": share,
    "statistics_tunes": generated.len(), "ended_by_themselves": ended,
    "full_interior_bars": ours.figure("share of full interior bars").and_then(|f| f.value()),
    "full_interior_bars_held_out": theirs.figure("share of full interior bars").and_then(|f| f.value()),
}))?;"""),
md("""## 8 · Or skip training: the model that ships
`models/abc_folk` is the crate's best character model, trained on the ~10,400 training tunes of the
fixed benchmark split for 90 minutes on this kind of 2-core machine, then 4 minutes more with the
tunes in a shuffled order (its recipe is `configs/abc_folk.json`, `configs/abc_folk_tunes.json` and
`models/abc_folk/README.md`; the README gives its bits per character on the test split). It loads in a second and writes tunes with no training at all: here eight tunes as
sheet music with a player, then 64 of its tunes beside held-out tunes of the test split, which it
never saw.

The model comes with the sampling settings chosen for it on the validation tunes, in
`models/abc_folk/sampling.json`: `generator.sampling` holds them (temperature 0.95 and its own tilt,
the rest `SampleConfig`'s defaults), and `SampleConfig { seed: 1, ..generator.sampling.clone() }`
starts from them. Four settings shape what it writes (each can be turned off to hear the difference):
- `copy_memory`: tunes repeat their phrases, and an LSTM does not copy well; the memory mixes in
  "what came next the last time these characters were seen", trusted more the longer the match;
  its weights are fitted on held-out tunes and sharpened a little for sampling, so that the tunes
  repeat about as many bars as real ones (`CopyMemory::off()` samples the model alone).
- `header`: the `M:` and `L:` lines are drawn from the corpus's mix of headers (`Header::Model` lets
  the model write them; from a zero state it rarely starts a reel).
- `candidates`: eight tunes are drawn under the ABC mask and one is kept in proportion to how much
  of the model's probability the mask took away where it stepped in decisively (a bar line or an
  end the model did not want), so that tunes the mask had to force are rare (`candidates: 1`
  keeps the first draw).
- `tilt`: the choice among the candidates favours those that end on the tonic and those that use
  their scale more evenly, by the factors under which three tunes in four end there and the
  pitch classes' entropy is the training tunes' (fitted to this model at its temperature; the
  model alone ends about half of its tunes there; `Tilt::off()` chooses by the mask alone)."""),
code("""let shipped = std::env::var("TUNESMITH_PRETRAINED").map(std::path::PathBuf::from)
    .unwrap_or_else(|_| std::path::PathBuf::from("../models/abc_folk"));
let generator = open_for_generation(&shipped, device)?;
println!("{}", generator.model.summary());
let shipped_sampling = SampleConfig { seed: 1, ..generator.sampling.clone() };
let pieces = generator.generate_many(8, &Primer::none(), &shipped_sampling)?;
write_pieces(&out_dir, "shipped", &pieces)?;
TuneList(pieces.iter().filter_map(|p| p.abc.clone()).collect())"""),
code("""pieces.iter().filter_map(|p| p.score.clone()).find(|s| s.note_count() > 0).context("no playable tune")?"""),
md("""The same tune through the neural flute that ships with the crate (`models/flute_synth`: a DDSP-style
model the project trained on its own SoundFont renderings), beside the SoundFont flute it learned from,
each with its spectrogram. `listen_neural(&score, ShippedSynth::Flute)` gives the audio alone."""),
code("""let shipped_score = pieces.iter().filter_map(|p| p.score.clone()).find(|s| s.note_count() > 0).context("no playable tune")?;
neural_beside_soundfont(&shipped_score, ShippedSynth::Flute)?"""),
code("""let many = generator.generate_many(64, &Primer::none(), &SampleConfig { seed: 1000, ..shipped_sampling.clone() })?;
let shipped_tunes: Vec<String> = many.iter().filter_map(|p| p.abc.clone()).collect();
let test_texts: Vec<String> = fixed_split(&corpus.tunes, |t| t.text.as_str()).test.iter().map(|t| t.text.clone()).collect();
let shipped_stats = TuneStatistics::of_tunes(&shipped_tunes);
let shipped_vs_test = TuneStatistics::compare(&shipped_stats, &TuneStatistics::of_tunes(&test_texts));
run.record("shipped_tunes", shipped_tunes.len())?;
run.record("shipped_ended_by_themselves", many.iter().filter(|p| !p.reached_step_cap).count())?;
run.record("shipped_full_interior_bars", shipped_stats.figure("share of full interior bars").and_then(|f| f.value()))?;
run.write_summary()?;
shipped_vs_test"""),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata = {"kernelspec": {"name": "tunesmith", "display_name": "Rust (tunesmith)", "language": "rust"},
               "language_info": {"name": "rust", "file_extension": ".rs", "mimetype": "text/rust"}}
nbf.write(nb, "notebooks/01_abc_char_lstm.ipynb")

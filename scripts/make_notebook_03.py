"""Writes notebooks/03_midi_note_vocabulary.ipynb (run: python scripts/make_notebook_03.py)."""
import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
md("""# 03 · MIDI as a vocabulary of notes and chords

The seed project (after Classical-Piano-Composer) read MIDI files, turned every note into its pitch name
(`E4`) and every chord into its pitches joined by dots (`C4.E4.G4`), and trained an LSTM to predict the
101st token from the 100 before it. It lost the rhythm (every token advanced time by a fixed half beat),
and it fed the tokens to the network as normalised scalars (`id / vocab_size`), which tells the model
that neighbouring ids are similar when they are not.

This tutorial does the same job properly:

1. write a MIDI corpus from the ABC tunes that ship with music21 (or read any folder you name),
2. build the notes-and-chords vocabulary **with durations and offsets in each token**, every piece
   transposed to C so the vocabulary is shared across keys,
3. train the seed's **many-to-one** model (a window of token ids → the next id) with **learned
   embeddings** and attention pooling over the window,
4. check the event encoding (note-on, note-off, time-shift, velocity) round trip,
5. generate a piece from a MIDI primer with temperature and top-p sampling, and write it as `.mid`.

To use your own MIDI files, set `TUNESMITH_MIDI_DIR` to their folder before starting the kernel."""),
code(""":cache 2000
:dep tunesmith = { path = ".." }"""),
code("""use tunesmith::prelude::*;
use tunesmith::encode::notes::UNK_ID;
use std::path::PathBuf;
use std::time::Instant;
let mut run = NotebookRun::start("03_midi_note_vocabulary")?;
let out_dir = run.out_dir.clone();
let device = best_device();
// A model this small trains fastest on one CPU thread: more threads mostly wait on each other.
if device == Device::Cpu { tch::set_num_threads(1); }
println!("{}", describe_device(device));"""),
md("""## 1 · A MIDI corpus
`write_default_midi_corpus` converts ABC tunes (keys, accidentals, broken rhythm, tuplets, ties, chords,
repeats) to Standard MIDI Files. `load_midi_corpus` then reads a folder recursively and in parallel;
a damaged file would be skipped with its reason, never a panic. Set `TUNESMITH_MIDI_DIR` to read your own
folder of `.mid` files instead (a pianist's files: a key sounds once, struck again when a note-on comes
while it sounds; the sustain pedal holds piano notes, `MidiReadOptions { sustain_pedal: SustainPedal::Off, .. }`
with `load_midi_corpus_with_options` turns that off).

`corpus.summary(steps)` says what was read: files read and skipped with each reason, formats, tracks and
their programs, drum tracks left out, tempo and meter changes, what the key rules did, and how far the note
onsets move on the grid of the encoding below (12 steps a quarter). A headless run prints the same report
to its log."""),
code("""let midi_dir = match std::env::var("TUNESMITH_MIDI_DIR") {
    Ok(dir) => PathBuf::from(dir),
    Err(_) => {
        let dir = out_dir.join("midi_corpus");
        let written = write_default_midi_corpus(&dir, 800)?;
        println!("wrote {} MIDI files into {} ({} ABC tunes skipped on the way)", written.read, dir.display(), written.skipped.len());
        dir
    }
};
let started = Instant::now();
let corpus = load_midi_corpus(&midi_dir)?;
let read_seconds = started.elapsed().as_secs_f64();
println!("read {} files in {:.2} s ({:.0} files per second)", corpus.scores.len(), read_seconds, corpus.scores.len() as f64 / read_seconds.max(1e-9));
let corpus_summary = corpus.summary(tunesmith::encode::notes::GRID_PER_QUARTER);
corpus_summary.clone()"""),
md("""One piece of the corpus as a piano roll (pitch names on the left, bar lines from its meter):"""),
code("""let first_score = corpus.scores[0].1.clone();
let first_name = corpus.scores[0].0.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
println!("{}: {} notes, {:.1} s", first_name, first_score.note_count(), first_score.duration_seconds());
piano_roll_svg(&first_score, &format!("piano roll: {first_name}"))?"""),
md("""## 2 · The notes-and-chords vocabulary
The default `NoteVocabConfig` puts each element's duration and its offset to the next element into the
token, in quarter notes: `E4:1/2@1/2` is an eighth-note E4 followed by the next element an eighth later;
`C4.E4.G4:2@2` a half-note C major chord. Pieces are transposed so their estimated tonic is C. Tokens
seen only once in the training pieces map to `<unk>` (id 0).

The vocabulary is built from the training pieces only, so validation measures real generalisation."""),
code("""let (train_set, valid_set) = split_train_valid(&corpus.scores, 0.1, 3);
let train_scores: Vec<Score> = train_set.iter().map(|(_, s)| s.clone()).collect();
let vocab = NoteVocab::build(&train_scores, &NoteVocabConfig { min_count: 2, ..NoteVocabConfig::default() })?;
let seed_vocab = NoteVocab::build(&train_scores, &NoteVocabConfig::seed())?;
println!("{} train pieces, {} valid pieces", train_set.len(), valid_set.len());
println!("the seed's vocabulary (pitches only, original keys): {} tokens; with durations and offsets, in C: {} tokens",
    seed_vocab.len(), vocab.len());
vocab.save(&out_dir.join("note_vocab.json"))?;
vocab"""),
md("""One piece as a token sequence:"""),
code("""let first_ids = vocab.encode_score(&train_set[0].1)?;
println!("{}: {} tokens", train_set[0].0.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), first_ids.len());
TokenView::new(&vocab, &first_ids[..first_ids.len().min(40)])"""),
md("""## 3 · The many-to-one window model
Each example is a window of `window` token ids inside one piece and the id that follows it: the seed's
"100 notes predict the next", here 32. `WindowLstm` embeds the ids (a learned vector per token, not a
scalar), runs an LSTM over the window, pools all its outputs with additive attention (as the seed's
reference model did), and predicts the next id. The one `Trainer` trains it as it trains every model:
Adam, gradient clipping, a seeded batch order, a line per epoch with the validation accuracy."""),
code("""let window = 32;
fn encode_all(vocab: &NoteVocab, set: &[(PathBuf, Score)]) -> Result<Vec<Vec<i64>>> {
    set.iter().map(|(_, s)| vocab.encode_score(s)).collect()
}
let train = WindowBatches::from_pieces(encode_all(&vocab, &train_set)?, window, 64)?;
let valid = WindowBatches::from_pieces(encode_all(&vocab, &valid_set)?, window, 256)?;
println!("{} training windows, {} validation windows of {} tokens", train.len(), valid.len(), window);
let model_config = WindowConfig { vocab_size: vocab.len() as i64, window, embed_dim: 64, hidden_size: 128,
    num_layers: 1, dropout: 0.3, attention: true };
WindowLstm::new(model_config.clone(), device)?"""),
md("""The seed lost days of training to dying runtimes, and fixed it with a checkpoint every epoch on a
mounted drive and music every ten epochs. Here the `Checkpointer` saves every epoch (and every 25 steps)
into a folder that stands for the drive (`TUNESMITH_DRIVE` points it at a real one), and `SampleEvery`
writes two pieces every two epochs into the run's `samples/` folder as `.mid` files, continuing the
opening of a validation piece. Every session builds its trainer the same way."""),
code("""let drive = run.drive()?;
let run_name = "notes-window";
// A demonstration starts afresh; a real notebook keeps the folder, that is the point.
let _ = std::fs::remove_dir_all(drive.join(run_name));
let checkpoint = CheckpointConfig { every_steps: Some(25), ..CheckpointConfig::new(&drive, run_name) };
let train_config = TrainConfig { epochs: run.epochs(6)?, seed: 3, adam: AdamConfig { lr: 3e-3, ..AdamConfig::default() },
    ..TrainConfig::default() };
let sampling = SampleConfig { temperature: 0.9, top_p: 0.92, length: Length::Notes(32), banned: vec![UNK_ID], ..SampleConfig::default() };
let primer_path = valid_set[0].0.clone();
/// A trainer as every session builds it; `interrupt_at` stands for the kernel dying at that step.
fn session(config: &WindowConfig, train: &TrainConfig, checkpoint: &CheckpointConfig, vocab: &NoteVocab,
           sampling: &SampleConfig, primer: &std::path::Path, interrupt_at: Option<u64>) -> Result<Trainer> {
    let model = seeded(3, || WindowLstm::new(config.clone(), best_device()))?;
    let mut trainer = Trainer::new(model, train.clone());
    if let Some(step) = interrupt_at { trainer.add_callback(InterruptAt(step)); }
    let samples = SampleEvery::into_run(2, &checkpoint.run_dir(), vocab.clone()).with_count(2)
        .with_config(sampling.clone()).with_primer(Primer::midi(primer).first(config.window));
    Ok(trainer.with_callback(Checkpointer::new(checkpoint.clone(), vocab.clone())).with_callback(samples))
}"""),
md("""Session 1 dies in the middle of epoch 2 (a SIGINT to this process stands for it: the trainer finishes
its step, saves and returns), and the trainer is dropped as a dead kernel drops it."""),
code("""let interrupt_at = train.batches_per_epoch() as u64 + 20;
let started = Instant::now();
let mut trainer = session(&model_config, &train_config, &checkpoint, &vocab, &sampling, &primer_path, Some(interrupt_at))?;
trainer.fit(&train, &valid)?;
println!("session 1 stopped: {:?} at step {}, after {} epochs", trainer.last_stop, trainer.step, trainer.epoch);
drop(trainer);
run_checkpoints(&drive.join(run_name))?"""),
md("""Session 2 runs the same cell again and continues from the checkpoint the interrupt wrote."""),
code("""let mut trainer = session(&model_config, &train_config, &checkpoint, &vocab, &sampling, &primer_path, None)?;
trainer.fit(&train, &valid)?;
let train_seconds = started.elapsed().as_secs_f64();
let resumed = trainer.callback::<Checkpointer>().and_then(|c| c.resumed.clone()).context("no resume")?;
println!("session 2 {resumed}; {:?} after {} epochs ({:.0} s for both sessions)", trainer.last_stop, trainer.epoch, train_seconds);
let history = trainer.history.clone();
loss_curve_svg(&history, Some((vocab.unigram_entropy(), "unigram entropy")))?"""),
code("""let train_eval = evaluate(trainer.model(), &train, 5000);
let valid_eval = evaluate(trainer.model(), &valid, usize::MAX);
println!("train: loss {:.3} nats, accuracy {:.1}% (first 5000 windows)", train_eval.loss, 100.0 * train_eval.accuracy.unwrap_or(f64::NAN));
println!("valid: loss {:.3} nats ({:.2} bits), accuracy {:.1}%", valid_eval.loss, nats_to_bits(valid_eval.loss), 100.0 * valid_eval.accuracy.unwrap_or(f64::NAN));
println!("a model that ignored the context would score the unigram entropy, {:.3} nats", vocab.unigram_entropy());
let samples_written: Vec<String> = std::fs::read_dir(drive.join(run_name).join("samples"))?
    .filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
println!("music written while training: {samples_written:?}");
history"""),
md("""## 4 · Event tokens keep timing exactly
The event encoding writes a piece as note-on, note-off, time-shift and velocity tokens on a grid of 12
steps per quarter note, so any rhythm on that grid (sixteenths and triplets included) survives the round
trip exactly; the notes-and-chords tokens keep one element per onset instead."""),
code("""let events = EventVocab::new(EventConfig::default());
let piece = valid_set[0].1.clone();
let event_ids = events.encode_score(&piece)?;
let back = events.decode_ids(&event_ids)?;
/// Every note as (pitch, start, duration), times in quarter notes (the two scores may differ in resolution).
fn in_quarters(s: &Score) -> Vec<(u8, String, String)> {
    let tpq = f64::from(s.ticks_per_quarter);
    let mut notes: Vec<(u8, String, String)> = s.tracks.iter().flat_map(|t| t.notes.iter())
        .map(|n| (n.pitch, format!("{:.4}", f64::from(n.start) / tpq), format!("{:.4}", f64::from(n.duration) / tpq))).collect();
    notes.sort();
    notes
}
let events_exact = in_quarters(&piece) == in_quarters(&back);
println!("{} events for {} notes; decoded notes identical in pitch, start and duration: {}", event_ids.len(), piece.note_count(), events_exact);
TokenView::new(&events, &event_ids[..event_ids.len().min(30)])"""),
md("""## 5 · Generate from the reloaded checkpoint, with a MIDI primer
`open_for_generation` rebuilds whichever model the drive holds (here the window model with its config)
with its vocabulary. The primer is the opening of a validation piece, read from its MIDI file and encoded
with that vocabulary. Sampling uses temperature 0.9 and nucleus (top-p 0.92) filtering, never samples
`<unk>`, and stops after 64 new notes. The piece (primer included) is decoded to a `Score` and written as
`.mid`."""),
code("""let generator = open_for_generation(&drive.join(run_name), device)?;
let sample = SampleConfig { temperature: 0.9, top_p: 0.92, seed: 7, max_steps: 500, length: Length::Notes(64),
    banned: vec![UNK_ID], ..SampleConfig::default() };
let generated = generator.generate(&Primer::midi(&primer_path).first(window), &sample)?;
let midi_path = generated.write(&out_dir, "generated")?;
let new_notes = vocab.decode_ids(generated.new_ids())?.note_count();
println!("primer: the first {} tokens of {}", generated.primer_steps, primer_path.display());
println!("{} new tokens, {new_notes} new notes → {}", generated.new_steps(), midi_path.display());
TokenView::new(&vocab, &generated.new_ids()[..generated.new_steps().min(24)])"""),
code("""generated.score.clone().context("the piece decodes")?"""),
md("""The generated piece through the neural piano that ships with the crate (`models/piano_synth`), beside
the SoundFont piano it learned from, each with its spectrogram."""),
code("""neural_beside_soundfont(&generated.score.clone().context("the piece decodes")?, ShippedSynth::Piano)?"""),
code("""let last = history.records.last().cloned().context("no epoch was trained")?;
run.finish(serde_json::json!({
    "midi_files_read": corpus.report.read, "midi_files_skipped": corpus.report.skipped.len(),
    "midi_notes_read": corpus_summary.key_events.notes, "midi_onsets_off_grid": corpus_summary.onset_shift.off_grid_share,
    "midi_files_per_second": corpus.scores.len() as f64 / read_seconds.max(1e-9),
    "vocab_size": vocab.len(), "seed_vocab_size": seed_vocab.len(), "unigram_entropy": vocab.unigram_entropy(),
    "window": window, "train_windows": train.len(), "valid_windows": valid.len(), "epochs": history.records.len(),
    "train_seconds": train_seconds,
    "train_loss_first": history.records[0].train_loss, "train_loss": last.train_loss,
    "valid_loss_first": history.records[0].valid_loss, "valid_loss": valid_eval.loss,
    "train_accuracy": train_eval.accuracy, "valid_accuracy": valid_eval.accuracy,
    "interrupted_at_step": interrupt_at, "resumed_from": resumed.from, "samples_written": samples_written.len(),
    "event_round_trip_exact": events_exact, "event_vocab_size": events.vocab_size(),
    "generated_tokens": generated.new_steps(), "generated_notes": new_notes,
    "generated_midi": "generated.mid" }))?;"""),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata = {"kernelspec": {"name": "tunesmith", "display_name": "Rust (tunesmith)", "language": "rust"},
               "language_info": {"name": "rust", "file_extension": ".rs", "mimetype": "text/rust"}}
nbf.write(nb, "notebooks/03_midi_note_vocabulary.ipynb")

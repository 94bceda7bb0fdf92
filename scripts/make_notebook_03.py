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
let out_dir = PathBuf::from(std::env::var("TUNESMITH_OUT").unwrap_or_else(|_| "../out/03_midi_note_vocabulary".into()));
std::fs::create_dir_all(&out_dir)?;
let device = best_device();
// A model this small trains fastest on one CPU thread: more threads mostly wait on each other.
if device == Device::Cpu { tch::set_num_threads(1); }
println!("{}", describe_device(device));"""),
md("""## 1 · A MIDI corpus
`write_default_midi_corpus` converts ABC tunes (keys, accidentals, broken rhythm, tuplets, ties, chords,
repeats) to Standard MIDI Files. `load_midi_corpus` then reads a folder recursively and in parallel;
a damaged file would be skipped with its reason, never a panic."""),
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
corpus.report.clone()"""),
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
Each example is a window of `window` token ids inside one piece and the id that follows it.
`WindowLstm` embeds the ids (a learned vector per token, not a scalar), runs an LSTM over the window,
pools all its outputs with additive attention (as the seed's reference model did), and predicts the next
id. `fit` trains any such model with Adam, gradient clipping and a seeded batch order, printing the loss
and the validation accuracy after every epoch."""),
code("""let window = 32;
fn encode_all(vocab: &NoteVocab, set: &[(PathBuf, Score)]) -> Result<Vec<Vec<i64>>> {
    set.iter().map(|(_, s)| vocab.encode_score(s)).collect()
}
let train = WindowBatches::from_pieces(encode_all(&vocab, &train_set)?, window, 64)?;
let valid = WindowBatches::from_pieces(encode_all(&vocab, &valid_set)?, window, 256)?;
println!("{} training windows, {} validation windows of {} tokens", train.len(), valid.len(), window);
tch::manual_seed(3);
let model = WindowLstm::new(WindowConfig { vocab_size: vocab.len() as i64, embed_dim: 64, hidden_size: 128,
    num_layers: 1, dropout: 0.3, attention: true }, device)?;
model"""),
code("""let epochs: usize = std::env::var("TUNESMITH_EPOCHS").ok().and_then(|s| s.parse().ok()).unwrap_or(6);
let options = FitOptions { epochs, seed: 3, adam: AdamConfig { lr: 3e-3, ..AdamConfig::default() }, ..FitOptions::default() };
let valid_batches = valid.sequential(usize::MAX, device);
let started = Instant::now();
let history = fit(&model, &options, &mut |epoch| train.epoch_batches(3, epoch, device), &valid_batches)?;
let train_seconds = started.elapsed().as_secs_f64();
println!("trained {} epochs in {:.0} s", history.records.len(), train_seconds);
loss_curve_svg(&history, Some((vocab.unigram_entropy(), "unigram entropy")))?"""),
code("""let train_eval = evaluate_batches(&model, &train.sequential(5000, device));
let valid_eval = evaluate_batches(&model, &valid_batches);
println!("train: loss {:.3} nats, accuracy {:.1}% (first 5000 windows)", train_eval.loss, 100.0 * train_eval.accuracy.unwrap_or(f64::NAN));
println!("valid: loss {:.3} nats ({:.2} bits), accuracy {:.1}%", valid_eval.loss, nats_to_bits(valid_eval.loss), 100.0 * valid_eval.accuracy.unwrap_or(f64::NAN));
println!("a model that ignored the context would score the unigram entropy, {:.3} nats", vocab.unigram_entropy());
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
md("""## 5 · Generate from a MIDI primer
The primer is the opening of a validation piece, read from its MIDI file and encoded with the same
vocabulary. Sampling uses temperature 0.9 and nucleus (top-p 0.92) filtering, never samples `<unk>`, and
stops after 64 new notes. The piece (primer included) is decoded to a `Score` and written as `.mid`."""),
code("""let primer_path = valid_set[0].0.clone();
let primer = primer_ids_from_midi(&vocab, &primer_path, window)?;
println!("primer: the first {} tokens of {}", primer.len(), primer_path.display());
let sample = TokenSampleConfig { temperature: 0.9, top_p: 0.92, seed: 7, max_tokens: 500, max_notes: Some(64),
    banned: vec![UNK_ID], ..TokenSampleConfig::default() };
let generated = generate_piece(&model.sliding(window), &vocab, &primer, &sample)?;
let midi_path = out_dir.join("generated.mid");
generated.write_midi(&midi_path)?;
println!("{} new tokens, {} new notes → {}", generated.ids.len(), generated.continuation.note_count(), midi_path.display());
TokenView::new(&vocab, &generated.ids[..generated.ids.len().min(24)])"""),
code("""generated.score.clone()"""),
code("""let last = history.records.last().cloned().context("no epoch was trained")?;
let summary = serde_json::json!({
    "midi_files_read": corpus.report.read, "midi_files_skipped": corpus.report.skipped.len(),
    "midi_files_per_second": corpus.scores.len() as f64 / read_seconds.max(1e-9),
    "vocab_size": vocab.len(), "seed_vocab_size": seed_vocab.len(), "unigram_entropy": vocab.unigram_entropy(),
    "window": window, "train_windows": train.len(), "valid_windows": valid.len(), "epochs": history.records.len(),
    "train_seconds": train_seconds,
    "train_loss_first": history.records[0].train_loss, "train_loss": last.train_loss,
    "valid_loss_first": history.records[0].valid_loss, "valid_loss": valid_eval.loss,
    "train_accuracy": train_eval.accuracy, "valid_accuracy": valid_eval.accuracy,
    "event_round_trip_exact": events_exact, "event_vocab_size": events.vocab_size(),
    "generated_tokens": generated.ids.len(), "generated_notes": generated.continuation.note_count(),
    "generated_midi": "generated.mid" });
tunesmith::fsutil::write_atomic(&out_dir.join("summary.json"), serde_json::to_string_pretty(&summary)?.as_bytes())?;
println!("{}", serde_json::to_string_pretty(&summary)?);"""),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata = {"kernelspec": {"name": "tunesmith", "display_name": "Rust (tunesmith)", "language": "rust"},
               "language_info": {"name": "rust", "file_extension": ".rs", "mimetype": "text/rust"}}
nbf.write(nb, "notebooks/03_midi_note_vocabulary.ipynb")

"""Writes notebooks/02_midi_piano_roll.ipynb (run: python scripts/make_notebook_02.py)."""
import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
md("""# 02 · MIDI and the piano roll

The seed of this project encoded piano music as piano rolls (frames × 88 keys) and its LSTM learned
nothing: the rolls were **mostly zeros** (predicting silence everywhere is almost right) and **every
piece was in a different key**. This tutorial builds a MIDI corpus from the ABC corpus, looks at the
rolls, fixes both problems (transposition to C; a sigmoid loss with positive-class weighting), trains a
multi-hot LSTM (`FrameLstm`), and writes a generated piece as a `.mid` file."""),
code(""":cache 2000
:dep tunesmith = { path = ".." }"""),
code("""use tunesmith::prelude::*;
use tunesmith::bench::polyphonic::windows;
use tunesmith::model::frame_lstm::next_frame_batch;
use tunesmith::train::{fit, FitOptions};
use std::path::PathBuf;
let out_dir = PathBuf::from(std::env::var("TUNESMITH_OUT").unwrap_or_else(|_| "../out/02_midi_piano_roll".into()));
std::fs::create_dir_all(&out_dir)?;
// Small LSTM steps gain nothing from several threads, and lose a lot on a busy machine.
tch::set_num_threads(1);
const NAMES: [&str; 12] = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];"""),
md("""## 1 · A MIDI corpus written from the ABC corpus
Three hundred tunes of the default ABC corpus become `.mid` files (any folder of MIDI files would do:
pass its path to `load_midi_corpus`). Reading them back gives `Score`s."""),
code("""let corpus = load_default_abc_corpus(&CleanOptions::default())?;
let midi_dir = out_dir.join("midi");
let written = write_midi_corpus_from_abc(&corpus.tunes, &midi_dir, 300)?;
let midi = load_midi_corpus(&midi_dir)?;
println!("{} tunes tried, {} MIDI files written; {} read back, {} skipped",
    written.files, written.read, midi.scores.len(), midi.report.skipped.len());
midi.report"""),
md("""## 2 · The seed's first problem: mostly zeros
A piano roll on a sixteenth-note grid: each frame lists the keys that sound. Its density, the share of
cells that are on, is about one percent for these tunes: a model that always predicts silence is right
99 times in 100, which is where the seed's model stayed."""),
code("""let plain = PianoRollConfig { transpose_to_c: false, ..PianoRollConfig::default() };
let (path, score) = midi.scores[0].clone();
println!("{}", path.display());
let roll = PianoRoll::from_score(&score, &plain)?;
roll"""),
code("""let plain_rolls: Vec<PianoRoll> = midi.scores.iter().map(|(_, s)| PianoRoll::from_score(s, &plain)).collect::<Result<_>>()?;
let mean_density = plain_rolls.iter().map(|r| r.density()).sum::<f64>() / plain_rolls.len() as f64;
println!("mean density {:.2}% over {} rolls: about {:.0} off cells for each on cell", 100.0 * mean_density, plain_rolls.len(), positive_weight(&plain_rolls));"""),
md("""## 3 · The seed's second problem: every piece in a different key
`estimate_key` finds each score's key (Krumhansl–Schmuckler, weighted by duration). The default
`PianoRollConfig` moves every piece so its tonic is C, so the model sees one key instead of twelve."""),
code("""let mut before = [0usize; 12];
let mut after = [0usize; 12];
for (_, s) in &midi.scores {
    let (tonic, _) = estimate_key(s);
    before[tonic as usize] += 1;
    let (moved, _) = estimate_key(&transpose_score(s, tunesmith::encode::key::transposition_to_c(s)));
    after[moved as usize] += 1;
}
fn row(counts: &[usize; 12]) -> String {
    counts.iter().enumerate().filter(|&(_, &n)| n > 0).map(|(i, n)| format!("{} {n}", NAMES[i])).collect::<Vec<_>>().join(", ")
}
println!("tonics before: {}\\ntonics after:  {}", row(&before), row(&after));
let (tonic, minor) = estimate_key(&score);
println!("the first tune: {} {}, moved by {} semitones", NAMES[tonic as usize], if minor { "minor" } else { "major" }, tunesmith::encode::key::transposition_to_c(&score));
let config = PianoRollConfig::default();
PianoRoll::from_score(&score, &config)?"""),
md("""## 4 · A multi-hot LSTM with positive-class weighting
`FrameLstm` reads a frame (88 zeros and ones) and gives 88 note probabilities for the next one
(sigmoid, binary cross-entropy summed over the keys). With `pitch_autoregression` each key of the next
frame also reads the keys below it in that frame, so the model learns which notes sound together
(chords) instead of guessing every key on its own; the probabilities still multiply to an exact
distribution over frames. Weighting the on cells by the off/on
ratio makes "all silence" an expensive answer. Training windows are 64 frames of the transposed rolls;
ten percent of the tunes are held out. The training loss below is the weighted one; the validation
loss is the plain NLL per frame (nats), the unit of the polyphonic benchmark."""),
code("""let rolls: Vec<PianoRoll> = midi.scores.iter().map(|(_, s)| PianoRoll::from_score(s, &config)).collect::<Result<_>>()?;
let n_valid = rolls.len() / 10;
let valid_rolls: Vec<PianoRoll> = rolls[..n_valid].to_vec();
let train_rolls: Vec<PianoRoll> = rolls[n_valid..].to_vec();
let weight = positive_weight(&train_rolls);
let device = Device::Cpu;
/// Windows of 64 frames in an order that depends on `seed`, 32 to a batch.
fn to_batches(rs: &[PianoRoll], seed: u64, device: Device) -> Vec<(tch::Tensor, tch::Tensor)> {
    let pieces = windows(&rs.iter().map(|r| r.to_tensor(device)).collect::<Vec<_>>(), 64);
    let mut order: Vec<usize> = (0..pieces.len()).collect();
    order.sort_by_key(|&i| (i as u64).wrapping_mul(2654435761).wrapping_add(seed) % 1_000_003);
    order.chunks(32).filter_map(|c| next_frame_batch(&c.iter().map(|&i| &pieces[i]).collect::<Vec<_>>())).collect()
}
let valid_batches = to_batches(&valid_rolls, 0, device);
println!("{} training rolls, {} held out; positive-class weight {weight:.1}", train_rolls.len(), valid_rolls.len());
tch::manual_seed(2);
let mut model = FrameLstm::new(FrameLstmConfig { input_dropout: 0.1, skip_connection: true, pitch_autoregression: true, ..FrameLstmConfig::piano(128, 1, 0.2) }, device)?;
model.pos_weight = Some(weight);
model"""),
code("""let epochs: usize = std::env::var("TUNESMITH_EPOCHS").ok().and_then(|s| s.parse().ok()).unwrap_or(12);
let options = FitOptions { epochs, adam: AdamConfig { lr: 3e-3, ..AdamConfig::default() }, clip_norm: 5.0, seed: 2, max_seconds: Some(1200.0), verbose: true };
let history = fit(&model, &options, &mut |epoch| to_batches(&train_rolls, epoch as u64 + 1, device), &valid_batches)?;
loss_curve_svg(&history, None)?"""),
md("""## 5 · Generate, look, write MIDI
Sixteen frames of a held-out tune's MIDI file prime the model; it then writes eight bars of 4/4, frame by
frame. Sampling divides out the positive-class weight, so notes are drawn with calibrated probabilities."""),
code("""let primer_path = midi.scores[n_valid / 2].0.clone();
let primer = primer_from_midi(&primer_path, &config, 16)?;
let sample = RollSampleConfig { temperature: 0.9, seed: 7, length: RollLength::Bars { bars: 8, numerator: 4, denominator: 4 }, max_notes: Some(4), undo_pos_weight: true };
let generated = sample_roll(&model, config, Some(&primer), &sample)?;
let new_notes = PianoRoll::from_frames(generated.frames[primer.len()..].to_vec(), config).to_score().note_count();
println!("primer: {} frames of {}; generated {} frames with {new_notes} notes", primer.len(), primer_path.display(), generated.len() - primer.len());
generated"""),
code("""let mid_path = out_dir.join("generated_piano_roll.mid");
let generated_score = generated.to_score();
write_midi_file(&generated_score, &mid_path)?;
let back = read_midi_file(&mid_path)?;
println!("{} written: {} notes, read back {}", mid_path.display(), generated_score.note_count(), back.note_count());
let summary = serde_json::json!({
    "midi_written": written.read, "midi_read": midi.scores.len(),
    "mean_density": mean_density, "positive_weight": weight,
    "tonics_before": before.iter().filter(|&&n| n > 0).count(), "tonics_after": after.iter().filter(|&&n| n > 0).count(),
    "parameters": model.parameter_count(),
    "train_loss_first": history.records.first().map(|r| r.train_loss), "train_loss_last": history.records.last().map(|r| r.train_loss),
    "valid_nll_first": history.records.first().map(|r| r.valid_loss), "valid_nll_last": history.records.last().map(|r| r.valid_loss),
    "epochs": history.records.len(), "seconds": history.records.iter().map(|r| r.seconds).sum::<f64>(),
    "generated_frames": generated.len() - primer.len(), "generated_notes": new_notes, "notes_with_primer": generated_score.note_count(),
    "mid": mid_path.file_name().map(|n| n.to_string_lossy().into_owned()) });
tunesmith::fsutil::write_atomic(&out_dir.join("summary.json"), serde_json::to_string_pretty(&summary)?.as_bytes())?;
println!("{}", serde_json::to_string_pretty(&summary)?);"""),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata = {"kernelspec": {"name": "tunesmith", "display_name": "Rust (tunesmith)", "language": "rust"},
               "language_info": {"name": "rust", "file_extension": ".rs", "mimetype": "text/rust"}}
nbf.write(nb, "notebooks/02_midi_piano_roll.ipynb")

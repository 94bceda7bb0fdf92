"""Writes notebooks/02_midi_piano_roll.ipynb (run: python scripts/make_notebook_02.py)."""
import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
md("""# 02 · MIDI and the piano roll

The seed of this project encoded piano music as piano rolls (frames × 88 keys) and its LSTM learned
nothing: the rolls were **mostly zeros** (predicting silence everywhere is almost right) and **every
piece was in a different key**. This tutorial builds a MIDI corpus from the ABC corpus, looks at the
rolls, fixes both problems (transposition to C; a sigmoid loss with positive-class weighting), trains a
multi-hot LSTM (`FrameLstm`) with checkpoints on a drive (interrupted and resumed on the way, music written
every few epochs), and writes a piece generated from the reloaded checkpoint as a `.mid` file. Last, a
pitch-invariant model (`PitchLstm`, the biaxial LSTM) answers the second problem in its architecture: it
reads the tunes in their own keys, and `RollStatistics` holds its pieces against held-out tunes, statistic
by statistic."""),
code(""":cache 2000
:dep tunesmith = { path = ".." }"""),
code("""use tunesmith::prelude::*;
let mut run = NotebookRun::start("02_midi_piano_roll")?;
let out_dir = run.out_dir.clone();
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
distribution over frames. Weighting the on cells by the off/on ratio (`positive_weight`) makes "all
silence" an expensive answer. `RollBatches` cuts the transposed rolls into windows of 64 frames, 32 to a
batch, in an order that depends only on (seed, epoch); ten percent of the tunes are held out. The
training loss is the weighted one; the validation loss is the plain NLL per frame (nats), the unit of the
polyphonic benchmark."""),
code("""let rolls: Vec<PianoRoll> = midi.scores.iter().map(|(_, s)| PianoRoll::from_score(s, &config)).collect::<Result<_>>()?;
let n_valid = rolls.len() / 10;
let valid_rolls: Vec<PianoRoll> = rolls[..n_valid].to_vec();
let train_rolls: Vec<PianoRoll> = rolls[n_valid..].to_vec();
let weight = positive_weight(&train_rolls);
let device = Device::Cpu;
let train = RollBatches::new(&train_rolls, 64, 32)?;
let valid = RollBatches::new(&valid_rolls, 0, 32)?;
println!("{} training rolls ({} batches per epoch), {} held out; positive-class weight {weight:.1}",
    train_rolls.len(), train.batches_per_epoch(), valid_rolls.len());
let model_config = FrameLstmConfig { input_dropout: 0.1, skip_connection: true, pitch_autoregression: true,
    positive_weight: Some(weight), ..FrameLstmConfig::piano(128, 1, 0.2) };
FrameLstm::new(model_config.clone(), device)?"""),
md("""## 5 · Training that survives the runtime
The seed lost whole days of training when the notebook's runtime died. Here every epoch (and every 10
steps) is checkpointed to a folder that stands for the mounted drive (`TUNESMITH_DRIVE` points it at a
real one), and every 4 epochs the model writes four bars of music into the run's `samples/` folder as
`.mid` files. Every session builds its trainer the same way: the model from its seed, the checkpointer,
the samples and a loss plot."""),
code("""let drive = run.drive()?;
let run_name = "piano-roll";
// A demonstration starts afresh; a real notebook keeps the folder, that is the point.
let _ = std::fs::remove_dir_all(drive.join(run_name));
let checkpoint = CheckpointConfig { every_steps: Some(10), ..CheckpointConfig::new(&drive, run_name) };
let train_config = TrainConfig { epochs: run.epochs(12)?, adam: AdamConfig { lr: 3e-3, ..AdamConfig::default() },
    clip_norm: 5.0, seed: 2, max_seconds: Some(1200.0), ..TrainConfig::default() };
let sampling = SampleConfig { temperature: 0.9, length: Length::Bars(4), max_notes_per_frame: Some(4), ..SampleConfig::default() };
let primer_path = midi.scores[n_valid / 2].0.clone();
/// A trainer as every session builds it; `interrupt_at` stands for the kernel dying at that step.
fn session(model: &FrameLstmConfig, train: &TrainConfig, checkpoint: &CheckpointConfig, roll: PianoRollConfig,
           sampling: &SampleConfig, primer: &std::path::Path, interrupt_at: Option<u64>) -> Result<Trainer> {
    let model = seeded(2, || FrameLstm::new(model.clone(), Device::Cpu))?;
    let mut trainer = Trainer::new(model, train.clone());
    if let Some(step) = interrupt_at { trainer.add_callback(InterruptAt(step)); }
    let samples = SampleEvery::into_run(4, &checkpoint.run_dir(), roll)
        .with_config(sampling.clone()).with_primer(Primer::midi(primer).first(16));
    Ok(trainer.with_callback(Checkpointer::new(checkpoint.clone(), roll)).with_callback(samples).with_callback(PlotEvery::new(4)))
}"""),
md("""Session 1 is interrupted in the middle of epoch 3 (a SIGINT to this process, as Ctrl-C would send):
the trainer finishes its step, saves and returns. Then the trainer is dropped, as a dead kernel drops
it."""),
code("""let interrupt_at = 2 * train.batches_per_epoch() as u64 + 5;
let mut trainer = session(&model_config, &train_config, &checkpoint, config, &sampling, &primer_path, Some(interrupt_at))?;
trainer.fit(&train, &valid)?;
println!("session 1 stopped: {:?} at step {}, after {} epochs", trainer.last_stop, trainer.step, trainer.epoch);
drop(trainer);
run_checkpoints(&drive.join(run_name))?"""),
md("""Session 2 runs the same cell again: `fit` finds the newest checkpoint, restores the weights, the
optimizer, the counters and the loss history, and continues with the next batch, ending exactly where an
uninterrupted run would."""),
code("""let mut trainer = session(&model_config, &train_config, &checkpoint, config, &sampling, &primer_path, None)?;
trainer.fit(&train, &valid)?;
let resumed = trainer.callback::<Checkpointer>().and_then(|c| c.resumed.clone()).context("no resume")?;
println!("session 2 {resumed}; {:?} after {} epochs", trainer.last_stop, trainer.epoch);
let history = trainer.history.clone();
let samples_written: Vec<String> = std::fs::read_dir(drive.join(run_name).join("samples"))?
    .filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
println!("music written while training: {samples_written:?}");
loss_curve_svg(&history, None)?"""),
md("""## 6 · Generate from the reloaded checkpoint
`open_for_generation` needs only the drive: it finds the newest checkpoint, rebuilds whichever model was
saved (here the `FrameLstm` with its config) and its encoding (the piano-roll grid). Sixteen frames of a
held-out tune's MIDI file prime it; it then writes eight bars of 4/4, frame by frame, each key drawn from
low to high given the keys below it. Sampling divides out the positive-class weight, so notes are drawn
with calibrated probabilities."""),
code("""let generator = open_for_generation(&drive.join(run_name), device)?;
let sample = SampleConfig { temperature: 0.9, seed: 7, length: Length::Bars(8), max_notes_per_frame: Some(4), ..SampleConfig::default() };
let piece = generator.generate(&Primer::midi(&primer_path).first(16), &sample)?;
let generated = piece.roll.clone().context("a piano roll")?;
let new_notes = PianoRoll::from_frames(generated.frames[piece.primer_steps..].to_vec(), config).to_score().note_count();
println!("primer: {} frames of {}; generated {} frames with {new_notes} notes", piece.primer_steps, primer_path.display(), piece.new_steps());
generated"""),
md("""The same piece as the crate shows any generated piece: sheet music, its piano roll and a player."""),
code("""piece"""),
code("""let mid_path = piece.write(&out_dir, "generated_piano_roll")?;
let back = read_midi_file(&mid_path)?;
println!("{} written: {} notes, read back {}", mid_path.display(), piece.note_count(), back.note_count());
run.finish(serde_json::json!({
    "midi_written": written.read, "midi_read": midi.scores.len(),
    "mean_density": mean_density, "positive_weight": weight,
    "tonics_before": before.iter().filter(|&&n| n > 0).count(), "tonics_after": after.iter().filter(|&&n| n > 0).count(),
    "parameters": generator.model.parameter_count(),
    "train_loss_first": history.records.first().map(|r| r.train_loss), "train_loss_last": history.records.last().map(|r| r.train_loss),
    "valid_nll_first": history.records.first().map(|r| r.valid_loss), "valid_nll_last": history.records.last().map(|r| r.valid_loss),
    "epochs": history.records.len(), "seconds": history.records.iter().map(|r| r.seconds).sum::<f64>(),
    "interrupted_at_step": interrupt_at, "resumed_from": resumed.from, "samples_written": samples_written.len(),
    "generated_frames": piece.new_steps(), "generated_notes": new_notes, "notes_with_primer": piece.note_count(),
    "mid": mid_path.file_name().map(|n| n.to_string_lossy().into_owned()) }))?;"""),
md("""## 7 · Any key: a pitch-invariant model
Moving every tune to C answered the seed's second problem from the outside. `PitchLstm`, the biaxial LSTM
of Johnson (2017, "Generating Polyphonic Music Using Tied Parallel Networks"), answers it inside the model:
one LSTM runs along time *for every key*, with the same weights, reading what sounded around that key (an
octave each way), its pitch class and the position in the bar; a second LSTM runs across each new frame
from the lowest key to the highest, so each key knows the notes already chosen below it. A pattern learned
in one key is known in every key, so this model reads the rolls **in their own keys** (the `plain` rolls of
section 2). Its LSTMs run over the keys these tunes use (`key_range`); the other keys get a probability
each, starting near zero. Each tune is read after one silent frame (`with_lead_in`), so the model also
learns how tunes begin: section 8 draws pieces from nothing, and without it they would open with silence.
It trains for about two minutes through the same trainer and checkpoint format, beside the model
above; its validation loss is the same unit (NLL per frame, nats) on the same held-out tunes, but in their
own keys, so the two numbers describe different readings of the same music."""),
code("""let plain_train = RollBatches::new(&plain_rolls[n_valid..], 64, 16)?.with_lead_in()?;
let plain_valid = RollBatches::new(&plain_rolls[..n_valid], 0, 32)?.with_lead_in()?;
let pitch_config = PitchLstmConfig { low_pitch: i64::from(plain.low_pitch), num_pitches: plain.num_pitches as i64,
    key_range: plain_train.key_range(2), ..PitchLstmConfig::piano(64, 1, 32, 1, 0.2) };
let pitch_run = "pitch-roll";
let _ = std::fs::remove_dir_all(drive.join(pitch_run));
let pitch_model = seeded(2, || PitchLstm::new(pitch_config.clone(), device))?;
let pitch_before = evaluate(&pitch_model, &plain_valid, usize::MAX).loss;
println!("{} training rolls in their own keys ({} batches per epoch); untrained validation NLL {pitch_before:.2}",
    plain_rolls.len() - n_valid, plain_train.batches_per_epoch());
pitch_model"""),
code("""let pitch_train_config = TrainConfig { epochs: 3, adam: AdamConfig { lr: 3e-3, ..AdamConfig::default() }, clip_norm: 5.0,
    seed: 2, max_seconds: Some(120.0), ..TrainConfig::default() };
let mut pitch_trainer = Trainer::new(pitch_model, pitch_train_config)
    .with_callback(Checkpointer::new(CheckpointConfig::new(&drive, pitch_run), plain));
pitch_trainer.fit(&plain_train, &plain_valid)?;
let pitch_history = pitch_trainer.history.clone();
drop(pitch_trainer);
pitch_history"""),
md("""Generation goes through the same sampler: the reloaded checkpoint is primed with the first sixteen frames of
the same held-out tune, now in its own key, and draws eight bars, each frame's keys from low to high. The
piece shows as sheet music (engraved by Verovio from its ABC when the engraver is installed, `make setup`),
a piano roll and a player, beside the frame model's piece above; it is written as a `.mid` file, and its
ABC notation is printed."""),
code("""let pitch_generator = open_for_generation(&drive.join(pitch_run), device)?;
let pitch_piece = pitch_generator.generate(&Primer::midi(&primer_path).first(16), &sample)?;
let pitch_roll = pitch_piece.roll.clone().context("a piano roll")?;
let pitch_new_notes = PianoRoll::from_frames(pitch_roll.frames[pitch_piece.primer_steps..].to_vec(), plain).to_score().note_count();
let pitch_mid = pitch_piece.write(&out_dir, "generated_pitch_lstm")?;
println!("{}: {} generated frames with {pitch_new_notes} notes, written to {}", pitch_generator.model.architecture(),
    pitch_piece.new_steps(), pitch_mid.display());
let score = pitch_piece.score.clone().context("a score")?;
let abc = tunesmith::abc::score_to_abc(&score, &tunesmith::abc::ScoreToAbcOptions::default())?;
println!("{abc}");
pitch_piece"""),
md("""The piece through the neural piano that ships with the crate (`models/piano_synth`: a DDSP-style
model of 8 voices the project trained on its own SoundFont renderings of Bach chorales), beside the
SoundFont piano it learned from, each with its spectrogram. `listen_neural(&score, ShippedSynth::Piano)`
gives the audio alone."""),
code("""neural_beside_soundfont(&score, ShippedSynth::Piano)?"""),
md("""## 8 · Its pieces against held-out tunes
Does the pitch model write rolls like the tunes it learned from? `RollStatistics` reads a set of rolls:
notes per frame (polyphony), the share of silent frames, the pitch range, the pitch classes above each
piece's estimated key, the intervals inside chords, how many frames notes are held, where in the bar they
start, and whether the key stays put (the share of four-bar windows whose estimated key is the piece's).
`RollStatistics::compare` sets a few pieces drawn from no primer beside the held-out tunes (the `plain`
rolls of the validation tunes), with a distance per statistic: total variation for distributions, the
relative difference for means and shares. The bars are read as 4/4 from each roll's first frame, so the
onsets of tunes in 6/8 or 3/4, or with a pick-up, spread over the bar: both sets are read alike, but
that row says more about meters than about the model. `examples/roll_statistics.rs` does the same for
50 pieces of a model trained on Bach's chorales (docs/benchmarks.md)."""),
code("""let roll_pieces: usize = run.setting("TUNESMITH_ROLL_PIECES", 8)?;
let drawn = pitch_generator.generate_many(roll_pieces, &Primer::none(), &SampleConfig { seed: 11, ..sample.clone() })?;
let drawn_rolls: Vec<PianoRoll> = drawn.iter().map(|p| p.roll.clone().context("a piano roll")).collect::<Result<_>>()?;
let roll_config = RollStatisticsConfig::default();
let drawn_stats = RollStatistics::of_rolls(&drawn_rolls, &roll_config)?;
let held_out_stats = RollStatistics::of_rolls(&plain_rolls[..n_valid], &roll_config)?;
let roll_comparison = RollStatistics::compare(&drawn_stats, &held_out_stats)?;
let within = roll_comparison.rows.iter().filter(|r| r.distance <= 0.15).count();
let leading_silence: usize = drawn_rolls.iter().map(|r| r.frames.iter().take_while(|f| f.is_empty()).count()).sum();
println!("{} pieces of 8 bars against {} held-out tunes: {within} of {} statistics within 15%",
    drawn_rolls.len(), n_valid, roll_comparison.rows.len());
roll_comparison"""),
code("""run.finish(serde_json::json!({
    "roll_statistics_pieces": drawn_stats.per_piece.len(), "roll_statistics_rows": roll_comparison.rows.len(),
    "roll_statistics_within_15": within, "roll_statistics_leading_silence": leading_silence,
    "pitch_parameters": pitch_generator.model.parameter_count(), "pitch_valid_nll_before": pitch_before,
    "pitch_valid_nll_first": pitch_history.records.first().map(|r| r.valid_loss),
    "pitch_valid_nll_last": pitch_history.records.last().map(|r| r.valid_loss),
    "pitch_epochs": pitch_history.records.len(), "pitch_seconds": pitch_history.records.iter().map(|r| r.seconds).sum::<f64>(),
    "pitch_generated_frames": pitch_piece.new_steps(), "pitch_generated_notes": pitch_new_notes,
    "pitch_mid": pitch_mid.file_name().map(|n| n.to_string_lossy().into_owned()) }))?;"""),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata = {"kernelspec": {"name": "tunesmith", "display_name": "Rust (tunesmith)", "language": "rust"},
               "language_info": {"name": "rust", "file_extension": ".rs", "mimetype": "text/rust"}}
nbf.write(nb, "notebooks/02_midi_piano_roll.ipynb")

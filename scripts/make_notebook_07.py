"""Writes notebooks/07_neural_audio.ipynb (run: python scripts/make_notebook_07.py)."""
import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
md("""# 07 · Neural audio: an LSTM that turns notes into a waveform

Until now the crate turned notes into sound with a SoundFont or a simple built-in synthesizer. Here a
neural network makes the audio. The approach that learns on a CPU in minutes is DDSP (Engel et al.,
ICLR 2020): a small LSTM reads the notes frame by frame (250 frames a second) and predicts, for each
voice, a loudness, a balance of harmonics and the gains of a bank of noise bands; a harmonic-plus-noise
synthesizer written in tensor operations turns those into samples, so a loss on the audio (the
multi-resolution STFT distance) trains the network end to end.

The training audio is made by the crate itself: tunes of the default corpus rendered with the
SoundFont (flute, dry, mono, 16 kHz), cut into clips, split by tune so the tunes we listen to at the
end were never heard in training.

Short settings for the test suite come from the environment: `TUNESMITH_AUDIO_TRAIN_TUNES`,
`TUNESMITH_AUDIO_TEST_TUNES`, `TUNESMITH_AUDIO_MAX_SECONDS` (each tune's length),
`TUNESMITH_AUDIO_MINUTES` (the training budget), `TUNESMITH_SAMPLE_STEPS` (the sample-level model)
and `TUNESMITH_THREADS` (CPU threads, 1 by default)."""),
code(""":cache 2000
:dep tunesmith = { path = ".." }"""),
code("""use tunesmith::prelude::*;
use tunesmith::prelude::audio::*;
use std::path::PathBuf;
let mut run = NotebookRun::start("07_neural_audio")?;
let out_dir: PathBuf = run.out_dir.clone();
let selection = TuneSelection {
    train: run.setting("TUNESMITH_AUDIO_TRAIN_TUNES", 60)?,
    valid: 4,
    test: run.setting("TUNESMITH_AUDIO_TEST_TUNES", 3)?,
    max_seconds: run.setting("TUNESMITH_AUDIO_MAX_SECONDS", 12.0)?,
};
let minutes: f64 = run.setting("TUNESMITH_AUDIO_MINUTES", 5.0)?;
let layout = AudioFeatureConfig::default();
// These models are small: on a CPU shared with other work, one thread trains them fastest (two
// threads spend their time waiting for each other). Raise it on an idle machine; a GPU ignores it.
tch::set_num_threads(run.setting("TUNESMITH_THREADS", 1)?);
println!("{}", layout.describe());
println!("{selection:?}; training budget {minutes} min")"""),
md("""## 1 · Training pairs: notes and the audio they should sound like
The held-out split is fixed by a hash of each tune's text, so the test tunes are never heard in
training. Only one-note-at-a-time tunes are chosen here (the pitch accuracy is measured on such
material). Each tune is rendered with the SoundFont, and its notes become features per frame: for
each voice, the exact fundamental frequency of its pitch, the velocity, the time since its onset
and since its release."""),
code("""let corpus = load_default_abc_corpus(&CleanOptions::default())?;
let sets = audio_tune_sets(&corpus.tunes, &selection);
let data = audio_data(&sets, &layout, 1.0, 8, None)?;
println!("{} train tunes → {} clips ({:.0} s of audio); {} valid tunes; {} held-out tunes",
    sets.train.len(), data.train.len(), data.train.seconds(), sets.valid.len(), sets.test.len());
let pair = data.train.pairs()[0].clone();
println!("first pair: {} ({:.1} s, {} frames of {} features)", pair.name, pair.seconds(), pair.features.frames, pair.features.frame_width());
sets.train[0].1.clone()"""),
code("""// The features of the first voice over the first four seconds (rows: f0, velocity, onset, release...).
let width = pair.features.frame_width();
let shown = pair.features.frames.min(1000);
let rows: Vec<Vec<f32>> = (0..width).map(|f| (0..shown).map(|t| pair.features.values[t * width + f]).collect()).collect();
heatmap_svg(&rows, "note features per frame (all voices)", "frame (4 ms)", "feature")?"""),
code("""// What the model must learn to sound like: the SoundFont rendering, its spectrogram and a player.
compare_audio_html(&[("SoundFont (training target)", &pair_audio(&pair))])?"""),
md("""## 2 · Train the DDSP-style model for a few minutes, with checkpoints
The trainer, the checkpointer and the loss curve are the ones every model of the crate uses. The loss
is the multi-resolution STFT distance (FFT sizes 2048 down to 64, linear and log magnitudes)."""),
code("""let model = seeded(1, || Ddsp::new(DdspConfig::for_features(&layout, 96, 1), best_device()))?;
let encoding = Encoding::from(layout.clone());
let ckpt = CheckpointConfig { every_minutes: Some(2.0), handle_signals: false, ..CheckpointConfig::new(run.drive()?, "ddsp") };
let mut trainer = Trainer::new(model, TrainConfig {
    epochs: 1000, seed: 1, max_seconds: Some(minutes * 60.0), keep_best: true, valid_limit: 250 * 30,
    adam: AdamConfig { lr: 3e-3, ..AdamConfig::default() }, ..TrainConfig::default() })
    .with_callback(Checkpointer::new(ckpt, encoding.clone()));
trainer.fit(&data.train, &data.valid)?;
trainer.restore_best()?;
println!("stopped: {:?} after {} steps", trainer.last_stop, trainer.step);
trainer.model_as::<Ddsp>()?"""),
code("""loss_curve_svg(&trainer.history, None)?"""),
md("""## 3 · Listen: a held-out tune, neural beside the SoundFont and the built-in synthesizer
The model is opened again from its checkpoint, the way a later session would, and renders the notes of
a tune it never heard. Each rendering shows its spectrogram above its player."""),
code("""let generator = open_for_generation(&run.drive()?.join("ddsp"), best_device())?;
let (name, tune) = sets.test[0].clone();
let (neural, rendered) = neural_audio(generator.model.as_ref(), &generator.encoding, &tune, &SampleConfig::default())?;
let soundfont = reference_audio(&tune, &layout, None)?;
let builtin = builtin_audio(&tune, &layout, Some(&soundfont))?;
neural.write_wav(out_dir.join("neural.wav"))?;
soundfont.write_wav(out_dir.join("soundfont.wav"))?;
println!("{name}: {:.1} s rendered in {:.2} s, {:.1}× real time on this machine", rendered.seconds(), rendered.seconds_taken, rendered.real_time_factor());
compare_audio_html(&[("neural (DDSP-style LSTM)", &neural), ("SoundFont", &soundfont), ("built-in synthesizer", &builtin)])?"""),
md("""Any music can be rendered the same way: an ABC tune typed here, a MIDI file, or a piece a model
generated (`Primer::abc`, `Primer::midi`, `Primer::score`)."""),
code("""let typed = render_primer(generator.model.as_ref(), &generator.encoding,
    &Primer::abc("X:1\\nM:3/4\\nL:1/8\\nK:D\\nd2 fe dB|A4 FA|d2 cB AG|F6|]\\n"), &SampleConfig::default())?;
Audio { sample_rate: typed.sample_rate, channels: 1, samples: typed.samples.clone() }"""),
md("""## 4 · The metrics on the held-out tunes
Against the SoundFont rendering of each held-out tune: the multi-resolution STFT distance, the
log-spectral distance, the pitch accuracy (voiced frames whose estimated f0 is within 50 cents of the
written note) and the loudness error. The built-in synthesizer (scaled to the SoundFont's loudness) and
silence are the reference points."""),
code("""let (table, _) = evaluate_audio(generator.model.as_ref(), &generator.encoding, &sets.test, None)?;
println!("{}", table.to_markdown());
table"""),
md("""## 5 · A sample-level model (SampleRNN-style)
The kind of model the log's author had in mind: an LSTM that writes the waveform itself, one 8-bit
mu-law sample at a time (256 classes), conditioned on the same note features. A frame-level LSTM runs
once per frame; a small network predicts each sample from the frame's state and the previous samples.
Its loss in bits per sample can be compared with the 8-bit ceiling (a uniform guess costs 8 bits).

**Quality needs a GPU.** Such models learn from hours of audio over days of GPU time; on a 2-core CPU
this one can only show that it learns, by overfitting a quarter of a second of one clip, and its
rendering (drawn sample by sample through the crate's one sampler) is far slower than real time and
sounds like noise shaped by the notes. The DDSP-style model above is the one that sounds right on a CPU."""),
code("""let steps: usize = run.setting("TUNESMITH_SAMPLE_STEPS", 150)?;
let short = pair.slice(0..62);
let clip = AudioClips::new(vec![short.clone()], 62, 1)?;
let srnn = seeded(4, || SampleRnn::new(SampleRnnConfig::for_features(&layout, 64), Device::Cpu))?;
let bits_before = evaluate(&srnn, &clip, usize::MAX).loss / std::f64::consts::LN_2;
let mut strainer = Trainer::new(srnn, TrainConfig::quiet(steps, 3e-3));
strainer.fit(&clip, &clip)?;
let bits_after = evaluate(strainer.model(), &clip, usize::MAX).loss / std::f64::consts::LN_2;
println!("bits per sample on the clip: {bits_before:.2} untrained → {bits_after:.2} after {steps} steps (the 8-bit ceiling is 8.00)");"""),
code("""// A quarter of a second of notes, without the release tail: every sample is one step of the model.
let no_tail = Encoding::from(AudioFeatureConfig { tail_seconds: 0.0, ..layout.clone() });
let srnn_audio = render_audio(strainer.model(), &no_tail, &first_seconds(&sets.train[0].1, 0.25), &SampleConfig { temperature: 1.0, seed: 3, ..SampleConfig::default() })?;
println!("{:.2} s drawn in {:.1} s ({:.3}× real time)", srnn_audio.seconds(), srnn_audio.seconds_taken, srnn_audio.real_time_factor());
Audio { sample_rate: srnn_audio.sample_rate, channels: 1, samples: srnn_audio.samples.clone() }"""),
code("""let neural_row = table.row("ddsp").context("the neural row")?.clone();
let builtin_row = table.row("built-in synthesizer").context("the built-in row")?.clone();
run.finish(serde_json::json!({
    "train_tunes": sets.train.len(), "test_tunes": sets.test.len(), "steps": trainer.step,
    "neural_mr_stft": neural_row.mr_stft, "builtin_mr_stft": builtin_row.mr_stft,
    "neural_pitch_accuracy": neural_row.pitch_accuracy, "real_time_factor": table.real_time_factor,
    "sample_rnn_bits_before": bits_before, "sample_rnn_bits_after": bits_after,
    "wav_files": std::fs::read_dir(&out_dir)?.filter_map(|e| e.ok()).filter(|e| e.path().extension().is_some_and(|x| x == "wav")).count() }))?;"""),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata = {"kernelspec": {"name": "tunesmith", "display_name": "Rust (tunesmith)", "language": "rust"},
               "language_info": {"name": "rust", "file_extension": ".rs", "mimetype": "text/rust"}}
nbf.write(nb, "notebooks/07_neural_audio.ipynb")

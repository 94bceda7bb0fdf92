"""Writes notebooks/05_listen_and_look.ipynb (run: python scripts/make_notebook_05.py)."""
import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
md("""# 05 · Listen and look

Every step of a music model should be something you can see and hear. This tutorial renders tunes to
audio (with a General MIDI SoundFont when one is installed, else a built-in synthesizer), plays them
inline, draws piano rolls and heatmaps, and finally listens to what a freshly trained model writes."""),
code(""":cache 2000
:dep tunesmith = { path = ".." }"""),
code("""use tunesmith::prelude::*;
use tunesmith::render::{find_soundfont, render_score_builtin};
use std::path::PathBuf;
let mut run = NotebookRun::start("05_listen_and_look")?;
let out_dir: PathBuf = run.out_dir.clone();
match find_soundfont() {
    Some(sf) => println!("SoundFont: {}", sf.display()),
    None => println!("no SoundFont found: the built-in synthesizer will play"),
}"""),
md("""## 1 · A tune from the corpus, as a Score
`abc_to_score` reads keys, accidentals, lengths, broken rhythm, tuplets, ties, chords and repeats.
A `Score` shows a summary, a piano roll with pitch names and bar lines, and a player."""),
code("""let corpus = load_default_abc_corpus(&CleanOptions::default())?;
let tune = corpus.tunes.iter().find(|t| t.title.contains("Enchanted Valley")).unwrap_or(&corpus.tunes[0]).clone();
println!("{}\\n{}", tune.title, tune.text);
let score = abc_to_score(&tune.text)?;
score"""),
md("""## 2 · Two synthesizers
The SoundFont synthesizer plays General MIDI instruments; the built-in one is additive sine tones with
an envelope, always available. Both write `.wav` files."""),
code("""let options = RenderOptions::default();
let sf_audio = render_score(&score, &options)?;
sf_audio.write_wav(out_dir.join("corpus_tune.wav"))?;
println!("{:.1} s at {} Hz, {} channels", sf_audio.duration_seconds(), sf_audio.sample_rate, sf_audio.channels);
sf_audio"""),
code("""let builtin_audio = render_score_builtin(&score, &options)?;
builtin_audio.write_wav(out_dir.join("corpus_tune_builtin.wav"))?;
builtin_audio"""),
md("""## 3 · Through a MIDI file and back
Write the score as a Standard MIDI File, read it again, and listen to the file."""),
code("""let midi_path = out_dir.join("corpus_tune.mid");
write_midi_file(&score, &midi_path)?;
let back = read_midi_file(&midi_path)?;
println!("{} notes written, {} read back", score.note_count(), back.note_count());
listen_midi(&midi_path)?"""),
md("""## 4 · What a model sees
A batch of training sequences is a matrix of character ids. The heatmap shows one batch: each row a
sequence, each column a position, the colour the character id."""),
code("""let vocab = CharVocab::from_texts(corpus.tunes.iter().map(|t| t.text.as_str()));
let ids = vocab.encode_tunes(corpus.tunes.iter().take(400).map(|t| t.text.as_str()))?;
TokenView::chars(&vocab, &ids[..48])"""),
code("""let rows: Vec<Vec<f32>> = ids.chunks(96).take(16).map(|c| c.iter().map(|&i| i as f32).collect()).collect();
heatmap_svg(&rows, "one batch of 16 sequences", "position", "sequence")?"""),
md("""## 5 · Train briefly, then listen to what the model writes
A small model trained for about a minute (eight short epochs): its tunes are rough, but every step can be heard. The
progress line per epoch shows loss, time and throughput."""),
code("""let (train_tunes, valid_tunes) = split_train_valid(&corpus.tunes, 0.1, 5);
let train = SequenceBatches::new(vocab.encode_tunes(train_tunes.iter().take(1000).map(|t| t.text.as_str()))?, 100, 32)?;
let valid = SequenceBatches::new(vocab.encode_tunes(valid_tunes.iter().take(200).map(|t| t.text.as_str()))?, 100, 32)?;
let model = seeded(5, || LstmLm::new(LstmConfig { vocab_size: vocab.len() as i64, embed_dim: 32, hidden_size: 192, num_layers: 2, dropout: 0.0 }, best_device()))?;
let mut trainer = Trainer::new(model, TrainConfig { epochs: run.epochs(8)?, seed: 5, max_seconds: Some(1200.0),
    adam: AdamConfig { lr: 3e-3, ..AdamConfig::default() }, valid_limit: 40_000, ..TrainConfig::default() });
trainer.fit(&train, &valid)?;
trainer.model_as::<LstmLm>()?"""),
code("""trainer.history"""),
code("""let sampling = SampleConfig { temperature: 0.7, seed: 11, max_steps: 1500, ..SampleConfig::default() };
let pieces = generate_many(trainer.model(), &Encoding::from(vocab.clone()), 4, &Primer::none(), &sampling)?;
let generated: Vec<String> = pieces.iter().filter_map(|p| p.abc.clone()).collect();
let mut played = Vec::new();
for (i, text) in generated.iter().enumerate() {
    match abc_to_score(text) {
        Ok(s) if s.note_count() > 0 => {
            let audio = render_score(&s, &options)?;
            let path = out_dir.join(format!("generated_{}.wav", i + 1));
            audio.write_wav(&path)?;
            println!("tune {}: {} notes, {:.1} s → {}", i + 1, s.note_count(), audio.duration_seconds(), path.display());
            played.push(s);
        }
        Ok(_) => println!("tune {}: no notes", i + 1),
        Err(e) => println!("tune {}: not playable ABC: {e:#}", i + 1),
    }
}
println!("{} of {} generated tunes are playable", played.len(), generated.len());
TuneList(generated.clone())"""),
code("""played.first().cloned().context("no playable tune was generated")?"""),
code("""run.finish(serde_json::json!({ "generated": generated.len(), "playable": played.len(),
    "wav_files": std::fs::read_dir(&out_dir)?.filter_map(|e| e.ok()).filter(|e| e.path().extension().is_some_and(|x| x == "wav")).count(),
    "valid_loss_last": trainer.history.last_valid_loss() }))?;"""),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata = {"kernelspec": {"name": "tunesmith", "display_name": "Rust (tunesmith)", "language": "rust"},
               "language_info": {"name": "rust", "file_extension": ".rs", "mimetype": "text/rust"}}
nbf.write(nb, "notebooks/05_listen_and_look.ipynb")

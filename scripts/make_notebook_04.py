"""Writes notebooks/04_checkpoint_resume.ipynb from the cells below (run: python scripts/make_notebook_04.py)."""
import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
md("""# 04 · Checkpoints that survive: train, interrupt, resume

A notebook kernel can die at any moment: a laptop lid, a lost connection, *Interrupt kernel*, a full
drive. tunesmith checkpoints so that none of that loses training:

* a **checkpoint** is a folder `<dir>/<run>/epoch-0007/` (or `step-000000123/` inside an epoch) with
  `weights.safetensors`, `optimizer.safetensors` and `meta.json` (the model, its config and the
  vocabulary, for any of the crate's models): no pickle anywhere;
* it is written to a temporary sibling, flushed and **renamed** into place, so a crash at any instant
  leaves the previous checkpoint intact;
* running the same training again **resumes** from the newest valid checkpoint, and ends with the same
  weights, bit for bit, as a run that never stopped.

This notebook trains a small model, interrupts it in the middle of an epoch, throws the trainer away as
a dead kernel would, resumes in a fresh one, and checks the result against a run that was never
interrupted; then it writes a sweep of runs for a Slurm cluster and shows where they stand. It runs in
a few minutes on 2 CPU cores."""),
code(""":cache 2000
:dep tunesmith = { path = ".." }"""),
code("""use tunesmith::prelude::*;
let mut run = NotebookRun::start("04_checkpoint_resume")?;
// The drive: TUNESMITH_DRIVE, for example a mounted /content/drive/MyDrive/tunesmith, survives a lost
// machine; by default a folder beside the notebook's outputs stands for it.
let checkpoint_dir = run.drive()?;
let run_name = "abc-small";
// A demonstration starts afresh; a real notebook keeps the folder, that is the point.
let _ = std::fs::remove_dir_all(checkpoint_dir.join(run_name));
// Bit-for-bit resumption is promised on the CPU (GPU kernels are not all deterministic).
let device = Device::Cpu;
println!("checkpoints go to {}", checkpoint_dir.join(run_name).display());"""),
md("""## 1 · Data and model
A slice of the default corpus (the ABC collections inside music21) and a small 2-layer LSTM, so the
demonstration is quick. The data order of each epoch is a pure function of (seed, epoch): that is what
lets a resumed run see exactly the batches the uninterrupted one would."""),
code("""let corpus = load_default_abc_corpus(&CleanOptions::default())?;
let vocab = CharVocab::from_texts(corpus.tunes.iter().map(|t| t.text.as_str()));
let (train_tunes, valid_tunes) = split_train_valid(&corpus.tunes, 0.1, 42);
let train_ids = vocab.encode_tunes(train_tunes[..400].iter().map(|t| t.text.as_str()))?;
let valid_ids = vocab.encode_tunes(valid_tunes[..60].iter().map(|t| t.text.as_str()))?;
let train = SequenceBatches::new(train_ids, 64, 32)?;
let valid = SequenceBatches::new(valid_ids, 64, 32)?;
let unigram = vocab.unigram_entropy();
println!("{} tunes in the corpus; training on 400 ({} characters, {} batches per epoch), vocabulary {}",
         corpus.tunes.len(), train.len(), train.batches_per_epoch(), vocab.len());"""),
md("""Every session builds its trainer the same way: a model initialised from the seed, and a
`Checkpointer` callback that saves at every epoch end and every 15 steps (use `every_minutes` for long
epochs), keeps the last 3 checkpoints and the best one, and resumes from the newest valid checkpoint when
training starts; a `SampleEvery` callback writes sample tunes every 2 epochs, as the seed's author did
by hand every ten."""),
code("""let train_config = TrainConfig { epochs: 6, seed: 42, valid_limit: 20_000,
                                 adam: AdamConfig { lr: 3e-3, ..AdamConfig::default() }, ..TrainConfig::default() };
let checkpoint_config = CheckpointConfig { every_steps: Some(15), keep_last: 3, keep_best: true,
                                           ..CheckpointConfig::new(&checkpoint_dir, run_name) };
/// A model built from the seed and a trainer for it (the same in every session).
fn fresh_trainer(vocab: &CharVocab, train: &TrainConfig, device: Device) -> Result<Trainer> {
    let model = seeded(42, || LstmLm::new(LstmConfig { vocab_size: vocab.len() as i64, embed_dim: 32, hidden_size: 128, num_layers: 2, dropout: 0.1 }, device))?;
    Ok(Trainer::new(model, train.clone()))
}
/// What every session adds: checkpoints to the drive, and two tunes every two epochs in its samples/ folder.
fn checkpointing(trainer: Trainer, ckpt: &CheckpointConfig, vocab: &CharVocab) -> Trainer {
    let samples = SampleEvery::into_run(2, &ckpt.run_dir(), vocab.clone())
        .with_count(2)
        .with_config(SampleConfig { temperature: 0.8, max_steps: 600, ..SampleConfig::default() });
    trainer.with_callback(Checkpointer::new(ckpt.clone(), vocab.clone())).with_callback(samples)
}"""),
md("""## 2 · Session 1: train until interrupted
Pressing Ctrl-C in a terminal sends SIGINT; `kill` sends SIGTERM. While training, the first of either
makes the trainer finish its step, save a checkpoint and return normally (a second one ends the process).
Here a small callback sends SIGINT to this very process in the middle of epoch 3."""),
code("""let interrupt_at = 2 * train.batches_per_epoch() as u64 + 7;
// Callbacks run in the order they are added: the interrupt comes first, so the checkpointer sees it.
let trainer = fresh_trainer(&vocab, &train_config, device)?.with_callback(InterruptAt(interrupt_at));
let mut trainer = checkpointing(trainer, &checkpoint_config, &vocab);
trainer.fit(&train, &valid)?;
println!("fit returned: {:?} after {} epochs and {} steps", trainer.last_stop, trainer.epoch, trainer.step);
let epochs_before_resume = trainer.epoch;"""),
md("""What is on the drive now: the last checkpoints (the newest is the one the interrupt wrote, inside
epoch 3) and the samples of epoch 2."""),
code("""for f in std::fs::read_dir(checkpoint_dir.join(run_name).join("samples"))? { println!("samples/{}", f?.file_name().to_string_lossy()); };
run_checkpoints(&checkpoint_dir.join(run_name))?"""),
md("""## 3 · The kernel dies
Dropping the trainer is what a dead kernel does to it. (In evcxr, *Interrupt kernel* kills the process
that runs the cells outright, so nothing can be saved at that moment: what survives is the last periodic
checkpoint, which is why `every_steps` or `every_minutes` matter in a notebook. Outside a notebook, the
`tunesmith train --config FILE` command saves on SIGINT and SIGTERM.)"""),
code("""drop(trainer);"""),
md("""## 4 · Session 2: the same cell again resumes
A fresh model and trainer, built exactly as in session 1: `fit` finds the checkpoint, restores weights,
optimizer moments, counters, the open epoch's running loss and the loss history, and continues with the
next batch of epoch 3."""),
code("""let mut trainer = checkpointing(fresh_trainer(&vocab, &train_config, device)?, &checkpoint_config, &vocab);
trainer.fit(&train, &valid)?;
let resumed = trainer.callback::<Checkpointer>().and_then(|c| c.resumed.clone()).context("no resume")?;
println!("session 2 {resumed}; fit returned {:?} after {} epochs and {} steps", trainer.last_stop, trainer.epoch, trainer.step);"""),
md("""The loss curve runs on across the interruption: epochs 1–2 were trained in session 1, epoch 3 in
both sessions, the rest in session 2."""),
code("""for r in &trainer.history.records {
    let session = if r.epoch <= epochs_before_resume { "session 1" } else if r.epoch == epochs_before_resume + 1 { "sessions 1 and 2" } else { "session 2" };
    println!("{r}   [{session}]");
}
let curve = loss_curve_svg(&trainer.history, Some((unigram, "unigram entropy")))?;
curve.save(&run.path("loss.svg"))?;
curve"""),
md("""## 5 · Exactly as if it had never stopped
The same training without interruption, for comparison: same seed, same data, no checkpoints."""),
code("""let mut reference = fresh_trainer(&vocab, &train_config, device)?;
reference.fit(&train, &valid)?;
let same_weights = reference.model().named_parameters().iter().zip(trainer.model().named_parameters().iter())
    .all(|((na, a), (nb, b))| na == nb && a.equal(b));
let same_history = reference.history.records.iter().zip(&trainer.history.records)
    .all(|(a, b)| a.train_loss.to_bits() == b.train_loss.to_bits() && a.valid_loss.to_bits() == b.valid_loss.to_bits());
println!("identical weights: {same_weights}; identical loss history: {same_history}");"""),
md("""## 6 · Generating from a checkpoint
`open_for_generation` needs only the weights and `meta.json` (model config and vocabulary): no trainer,
no optimizer state, and no knowledge of which model it was. Given a run folder, it takes the newest valid
checkpoint."""),
code("""let generator = open_for_generation(&checkpoint_dir.join(run_name), device)?;
let meta = generator.meta.clone().context("opened from a checkpoint")?;
println!("{} from {} (epoch {}, step {}), written by tunesmith {}", generator.model.summary(), meta.name, meta.progress.epoch, meta.progress.step, meta.crate_version);
let pieces = generator.generate_many(3, &Primer::none(), &SampleConfig { temperature: 0.8, seed: 1, max_steps: 800, ..SampleConfig::default() })?;
TuneList(pieces.iter().filter_map(|p| p.abc.clone()).collect())"""),
md("""What the checkpoint holds, as its `meta.json` tells it:"""),
code("""meta"""),
md("""## 7 · Beyond one machine: a sweep on a Slurm cluster
The same checkpoints make many runs on a shared cluster safe. A sweep file names a base run config
(`tunesmith train --config`), the settings to vary (a grid, a list, seeds) and what every run asks Slurm
for; `tunesmith sweep sweep.json --submit` writes one run config per point and a job-array script
(`--requeue`, a signal before the time limit) into a folder on shared storage and submits it. A
preempted or time-limited task saves on its signal and, requeued, continues from its checkpoint.
Here the sweep is written from Rust: four runs (two learning rates × two seeds) of a tiny character
model on 200 of the tunes above."""),
code("""let sweep_root = run.path("sweep");
let _ = std::fs::remove_dir_all(&sweep_root);
let tunes: String = train_tunes[..200].iter().enumerate().map(|(i, t)| t.to_abc_file_text(i + 1) + "\\n").collect();
std::fs::create_dir_all(sweep_root.join("tunes"))?;
std::fs::write(sweep_root.join("tunes/some.abc"), tunes)?;
std::fs::write(sweep_root.join("run.json"), serde_json::json!({
    "corpus": {"abc": "tunes"}, "encoding": {"kind": "chars"},
    "model": {"architecture": "lstm_lm", "embed_dim": 16, "hidden_size": 64, "num_layers": 1, "dropout": 0.0},
    "batches": {"batch_size": 32, "seq_len": 64},
    "train": {"epochs": 3, "seed": 1, "verbose": false},
    "checkpoint": {"dir": "checkpoints", "run": "base", "verbose": false}}).to_string())?;
let spec: SweepSpec = serde_json::from_value(serde_json::json!({
    "name": "lr", "base": sweep_root.join("run.json"), "dir": sweep_root.join("lr"),
    "grid": {"train.adam.lr": [0.003, 0.01]}, "seeds": [1, 2],
    "slurm": {"partition": "gpu", "account": "my-lab", "time": "02:00:00", "cpus_per_task": 2, "mem": "8G", "gpus": 1}}))?;
let sweep = write_sweep(&spec, None)?;
println!("{} runs in {}; the job array asks Slurm for:", sweep.manifest.runs.len(), sweep.dir.display());
for line in std::fs::read_to_string(&sweep.script)?.lines().filter(|l| l.starts_with("#SBATCH")) { println!("{line}"); }"""),
md("""There is no cluster here, so two of the four runs are trained in this process, as their tasks would
train them (`run_task` records the start and the end in the sweep's state files, like the batch script).
`SweepStatus::read` (or `tunesmith sweep status DIR` from any machine that mounts the storage) reads
where every run stands from the files alone: the table and the runs' validation loss on one plot."""),
code("""for name in ["lr-000", "lr-003"] {
    let outcome = run_task(&sweep.dir, name)?;
    println!("{name}: {:?} after {} epochs", outcome.reason, outcome.epoch);
}
let sweep_status = SweepStatus::read(&sweep.dir)?;
println!("{}", sweep_status.summary());
sweep_status"""),
code("""run.finish(serde_json::json!({
    "interrupted_at_step": interrupt_at, "resumed_from": resumed.from, "epochs": trainer.epoch, "steps": trainer.step,
    "identical_weights": same_weights, "identical_history": same_history,
    "valid_loss_last": trainer.history.last_valid_loss(), "unigram_entropy": unigram,
    "sweep_runs": sweep_status.runs.len(), "sweep_finished": sweep_status.count(RunState::Finished),
}))?;"""),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata = {"kernelspec": {"name": "tunesmith", "display_name": "Rust (tunesmith)", "language": "rust"},
               "language_info": {"name": "rust", "file_extension": ".rs", "mimetype": "text/rust"}}
nbf.write(nb, "notebooks/04_checkpoint_resume.ipynb")

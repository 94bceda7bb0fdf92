"""Writes notebooks/00_quick_look.ipynb (run: python scripts/make_notebook_00.py).

A short tour with no training: one tune as text, sheet music, a piano roll, a player and tables.
The real-browser test (tests/browser_lab.rs) runs it in JupyterLab; each code cell's metadata
`tunesmith.expect` lists what the cell must show there (sheet, svg, audio, table)."""
import nbformat as nbf

md = nbf.v4.new_markdown_cell


def code(source, *expect):
    cell = nbf.v4.new_code_cell(source)
    if expect:
        cell.metadata["tunesmith"] = {"expect": list(expect)}
    return cell


cells = [
md("""# 00 · A quick look

What tunesmith shows you, in five cells and no training: a tune in [ABC notation](https://abcnotation.com/)
as text and as sheet music, the same tune as a `Score` with its piano roll, and a player to hear it.
Run the cells one by one with **Shift+Enter**, or all of them with **Run ▸ Run All Cells**.

The first cell compiles the crate into the kernel: a few minutes the first time on a small machine,
seconds after that (`:cache` keeps the compiled crates between kernels)."""),
code(""":cache 2000
:dep tunesmith = { path = ".." }"""),
code("""use tunesmith::prelude::*;
use std::path::Path;
// A short jig written for this tour: 6/8 time, D major, eight bars with a repeat.
let abc = "X:1
T:Quick Look Jig
C:tunesmith
M:6/8
L:1/8
Q:3/8=100
K:D
|:A|d2f a2f|e2c A2c|d2f afd|e3 e2A|
d2f a2f|gfe dcB|A2F Ace|d3 d2:|
";
let tune = split_tunebook(abc, Path::new("quick_look.abc")).into_iter().next().context("no tune")??;
tune""", "sheet", "table"),
md("""A `Tune` shows its sheet music (engraved by [Verovio](https://www.verovio.org/)), its header
fields and its text. `abc_to_score` reads it into a `Score`, the crate's one music type: it shows a
summary, a table of tracks, the sheet music, a piano roll with pitch names and bar lines, and a player."""),
code("""let score = abc_to_score(abc)?;
score""", "sheet", "svg", "audio", "table"),
md("""A piano roll on its own, as an SVG picture you could save with `.save(path)`:"""),
code("""piano_roll_svg(&score, "Quick Look Jig")?""", "svg"),
md("""And the audio on its own: rendered with a General MIDI SoundFont when one is installed (else a
built-in synthesizer). The player in the notebook is compressed (Ogg Vorbis); `.write_wav(path)` writes
full-quality WAV."""),
code("""let audio = listen(&score)?;
println!("{:.1} s at {} Hz, {} channels", audio.duration_seconds(), audio.sample_rate, audio.channels);
audio""", "audio"),
]
nb = nbf.v4.new_notebook(cells=cells)
nb.metadata = {"kernelspec": {"name": "tunesmith", "display_name": "Rust (tunesmith)", "language": "rust"},
               "language_info": {"name": "rust", "file_extension": ".rs", "mimetype": "text/rust"}}
nbf.write(nb, "notebooks/00_quick_look.ipynb")

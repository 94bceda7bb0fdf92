#!/usr/bin/env python3
"""Differential check of `abc_to_score` against music21 on corpus ABC tunes.

Samples tunes from music21's essenFolksong, oneills1850 and ryansMammoth corpora,
converts each with music21 (`converter.parse(text, format='abc')`, `stripTies()`,
first part, flattened, grace notes dropped) and with `examples/abc_dump.rs`
(`--no-repeats`, since music21 does not expand repeats unless asked; `--expand`
compares with repeats expanded on both sides, music21 via `expandRepeats()`), and
compares the sequences
of onsets as (sorted pitches, duration in quarter notes).

With `--normalize`, readings of music21's that no ABC standard supports are taken out of the
comparison, and the figure says so. Both readers get the music without what changes no pitch or
duration by the standard: slur marks, decorations (`.~uvTHM…`, `!trill!`, `+fermata+`), grace
notes `{…}` and quoted chord symbols and annotations. music21 misreads these: a broken rhythm is
lost when a slur mark, a `.`, `u` or grace notes stand between `>` and its note (`A>(B`, `A>.G`,
`A>{g}G` become two equal notes), the note after an `H` (fermata) is dropped, an annotation `">"`
swallows the note after it, and accidentals of grace notes carry into the bar. And a tie between
two different pitches is not a tie (music21's `stripTies` merges `B-c` into one long B; ABC 2.1
ties only equal pitches, and the crate reads two notes).

Usage: scripts/abc_vs_music21.py [--sample N] [--seed S] [--details FILE] [--expand] [--normalize | --both] [--jobs J]
Run from the crate root with a Python that has music21 (e.g. /work/main/.venv/bin/python).
"""

import argparse
import glob
import json
import multiprocessing
import os
import random
import re
import subprocess
import sys
import tempfile
import warnings
from fractions import Fraction

import music21

CORPORA = ("essenFolksong", "oneills1850", "ryansMammoth")
TICKS = 480


def split_tunes(text):
    """Cuts a file at lines starting with X: (same rule as abc_dump --split)."""
    tunes = []
    for line in text.splitlines():
        if line.startswith("X:"):
            tunes.append([])
        if tunes:
            tunes[-1].append(line)
    return ["\n".join(t) + "\n" for t in tunes]


def corpus_tunes():
    root = os.path.join(os.path.dirname(music21.__file__), "corpus")
    tunes = []
    for corpus in CORPORA:
        for path in sorted(glob.glob(os.path.join(root, corpus, "*.abc"))):
            with open(path, encoding="utf-8", errors="replace") as f:
                for i, tune in enumerate(split_tunes(f.read())):
                    tunes.append((f"{corpus}/{os.path.basename(path)}#{i}", tune))
    return tunes


# music21 reads tunes as ABC 1.3 (accidentals not carried through the bar) unless told
# otherwise; the converter follows ABC 2.1: carried to the end of the bar, same octave.
MUSIC21_PREFIX = "%abc-2.1\n%%propagate-accidentals octave\n"


# Single-letter decorations (ABC 2.1: `.`, `~` and the letters H-W, h-w); `u` and `v` are bowings.
DECORATIONS = re.compile(r"[.~H-Wh-w]")


def normalized(tune):
    """The tune's music lines without slur marks (tuplet marks such as `(3` kept), decorations,
    grace notes, chord symbols and annotations; inline fields such as `[K:G]` are kept."""
    out = []
    for line in tune.splitlines():
        if re.match(r"^[A-Za-z]:", line) or line.startswith("%"):
            out.append(line)
            continue
        line = re.sub(r'"[^"]*"', "", line)
        line = re.sub(r"\{[^}]*\}", "", line)
        line = re.sub(r"![^!\s]*!|\+[^+\s]*\+", "", line)
        parts = re.split(r"(\[[A-Za-z]:[^\]]*\])", line)
        parts = [p if re.match(r"\[[A-Za-z]:", p) else DECORATIONS.sub("", re.sub(r"\((?![0-9])|\)", "", p))
                 for p in parts]
        out.append("".join(parts))
    return "\n".join(out) + "\n"


def untie_different_pitches(stream):
    """Removes ties whose next note has other pitches (a slur written as a tie)."""
    notes = list(stream.flatten().notes)
    for a, b in zip(notes, notes[1:]):
        if a.tie is not None and a.tie.type in ("start", "continue"):
            if sorted(p.midi for p in a.pitches) != sorted(p.midi for p in b.pitches):
                a.tie = None
                if b.tie is not None and b.tie.type == "stop":
                    b.tie = None


def music21_parse(tune, expand=False):
    """music21's first part of the tune, repeats expanded when asked."""
    parsed = music21.converter.parse(MUSIC21_PREFIX + tune, format="abc", forceSource=True)
    if isinstance(parsed, music21.stream.Score) and parsed.parts:
        parsed = parsed.parts[0]
    if expand:
        parsed = parsed.expandRepeats()
    return parsed


def music21_events(parsed, normalize=False):
    """[(pitches, quarter_length)] of a parsed part, ties merged, graces dropped. With `normalize`
    ties between different pitches are first taken out (in place)."""
    if normalize:
        untie_different_pitches(parsed)
    parsed = parsed.stripTies()
    events = []
    for n in parsed.flatten().notes:
        ql = Fraction(n.duration.quarterLength).limit_denominator(1000)
        if ql == 0:
            continue
        events.append((tuple(sorted(p.midi for p in n.pitches)), ql))
    return events


def our_events(notes):
    """Groups [pitch, start, duration] rows by onset."""
    by_start = {}
    for pitch, start, duration in notes:
        by_start.setdefault(start, []).append((pitch, duration))
    events = []
    for start in sorted(by_start):
        group = by_start[start]
        events.append((tuple(sorted(p for p, _ in group)), Fraction(group[0][1], TICKS)))
    return events


def run_ours(tunes, expand):
    with tempfile.NamedTemporaryFile("w", suffix=".abc", delete=False) as f:
        f.write("".join(t for _, t in tunes))
        path = f.name
    cmd = ["cargo", "run", "-q", "--release", "--example", "abc_dump", "--", path, "--split"]
    if not expand:
        cmd.append("--no-repeats")
    env = dict(os.environ, CARGO_BUILD_JOBS="1")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    os.unlink(path)
    return [json.loads(line) for line in out.splitlines()]


def durations_match(a, b):
    """Equal within one tick (7-tuplets and the like round to ticks)."""
    return all(abs(x[1] - y[1]) * TICKS <= 1 for x, y in zip(a, b))


def music21_readings(item):
    """(raw, normalized) music21 readings of one tune, each a list of events or ("error", text).
    A tune that normalizing leaves unchanged is parsed once."""
    tune, expand, want = item
    out = []
    parsed = None  # the raw parse, kept for a normalized reading of the same text
    for normalize in want:
        text = normalized(tune) if normalize else tune
        try:
            if normalize and parsed is not None and text == tune:
                out.append(music21_events(parsed, True))
            else:
                parsed = music21_parse(text, expand)
                out.append(music21_events(parsed, normalize))
        except Exception as e:  # music21 rejects some tunes
            parsed = None
            out.append(("error", repr(e)))
    return out


def compare(tunes, ours, readings, details_path):
    """Counts of the tunes on which both readers agree; mismatches go to `details_path`."""
    counts = {"pitch": 0, "pitch+duration": 0, "compared": 0, "ours_error": 0, "m21_error": 0}
    with open(details_path, "w") as details:
        for (name, tune), mine, theirs in zip(tunes, ours, readings):
            if isinstance(theirs, tuple):
                counts["m21_error"] += 1
                details.write(f"== {name}: music21 error {theirs[1]}\n")
                continue
            counts["compared"] += 1
            if "error" in mine:
                counts["ours_error"] += 1
                details.write(f"== {name}: our error {mine['error']}\n")
                continue
            ev = our_events(mine["notes"])
            same_pitches = [p for p, _ in ev] == [p for p, _ in theirs]
            counts["pitch"] += same_pitches
            both = same_pitches and durations_match(ev, theirs)
            counts["pitch+duration"] += both
            if not both:
                first = next((i for i, (x, y) in enumerate(zip(ev, theirs)) if x != y), min(len(ev), len(theirs)))
                details.write(f"== {name}: ours {len(ev)} music21 {len(theirs)} first diff at {first}\n")
                details.write(f"   ours    {ev[max(0, first - 2): first + 4]}\n")
                details.write(f"   music21 {theirs[max(0, first - 2): first + 4]}\n")
    counts["tunes"] = len(tunes)
    return counts


def report(label, counts):
    n, total = counts["compared"], counts["tunes"]
    print(f"{label}: {json.dumps(counts)}")
    print(f"  pitch sequences equal: {counts['pitch']}/{n} = {counts['pitch'] / max(n, 1):.1%}")
    print(f"  pitches and durations equal: {counts['pitch+duration']}/{n} = {counts['pitch+duration'] / max(n, 1):.1%}"
          " of the tunes music21 reads")
    # A tune music21 cannot read counts against the agreement here.
    print(f"  of all {total} tunes: {counts['pitch+duration']}/{total} = "
          f"{counts['pitch+duration'] / max(total, 1):.1%} with the same pitches and durations")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--details", default="abc_vs_music21_mismatches.txt",
                    help="mismatches; with --both, FILE and FILE.normalized")
    ap.add_argument("--expand", action="store_true", help="compare with repeats expanded on both sides")
    ap.add_argument("--normalize", action="store_true",
                    help="slurs, decorations, grace notes and quoted text removed; ties between different pitches not merged")
    ap.add_argument("--both", action="store_true", help="raw and --normalize in one run (unchanged tunes parsed once)")
    ap.add_argument("--jobs", type=int, default=1, help="music21 worker processes")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    tunes = corpus_tunes()
    random.Random(args.seed).shuffle(tunes)
    tunes = tunes[: args.sample]
    want = (False, True) if args.both else (args.normalize,)
    # music21 first (the slow part), then the crate's reader in one process per reading.
    items = [(tune, args.expand, want) for _, tune in tunes]
    if args.jobs > 1:
        # Each worker in a session of its own: with the kernel's autogroups, processes of one
        # session share one slot of the CPU, so workers in one session would not run faster.
        with multiprocessing.Pool(args.jobs, initializer=os.setsid) as pool:
            readings = pool.map(music21_readings, items, chunksize=16)
    else:
        readings = [music21_readings(item) for item in items]
    for k, normalize in enumerate(want):
        texts = [(name, normalized(tune) if normalize else tune) for name, tune in tunes]
        ours = run_ours(texts, args.expand)
        assert len(ours) == len(texts), (len(ours), len(texts))
        details = args.details + (".normalized" if args.both and normalize else "")
        counts = compare(texts, ours, [r[k] for r in readings], details)
        report("normalized" if normalize else "raw", counts)


if __name__ == "__main__":
    sys.exit(main())

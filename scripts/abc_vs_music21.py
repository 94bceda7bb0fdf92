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

With `--both`, a third comparison is the one the figure of record uses: the crate reads the tune
as written, music21 the normalized text; the tunes this gains over the raw comparison are sorted by
the normalizing step that alone brings music21 to the crate's reading, and the crate's own reading
is checked to be unchanged by normalizing. `--demos` shows each misreading on its smallest case.

Usage: scripts/abc_vs_music21.py [--sample N] [--seed S] [--details FILE] [--expand] [--normalize | --both]
                                 [--jobs J] [--json FILE] [--emit] [--demos]
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


# What normalizing takes out, step by step (all of them unless told otherwise).
STEPS = ("quoted-printable", "quoted", "graces", "decorations", "slurs", "ties")
# The steps tried one at a time to sort the tunes normalizing gains: "grace-accidentals" takes out
# only the accidentals of grace notes, to tell that case from grace notes breaking a rhythm.
CLASSIFY_STEPS = ("quoted-printable", "quoted", "grace-accidentals", "graces", "decorations", "slurs", "ties")


def normalized(tune, steps=STEPS):
    """The tune's music lines without slur marks (tuplet marks such as `(3` kept), decorations,
    grace notes, chord symbols and annotations; inline fields such as `[K:G]` are kept. `steps`
    names the ones to take out ("ties" is not a text step: see `untie_different_pitches`)."""
    out = []
    lines = tune.splitlines()
    if "quoted-printable" in steps:
        lines = decoded_quoted_printable(lines)
    for line in lines:
        if not is_music(line):
            out.append(line)
            continue
        if "quoted" in steps:
            line = re.sub(r'"[^"]*"', "", line)
        if "graces" in steps:
            line = re.sub(r"\{[^}]*\}", "", line)
        elif "grace-accidentals" in steps:
            line = re.sub(r"\{[^}]*\}", lambda m: re.sub(r"[_^=]", "", m.group(0)), line)
        if "decorations" in steps:
            line = re.sub(r"![^!\s]*!|\+[^+\s]*\+", "", line)
        parts = re.split(r"(\[[A-Za-z]:[^\]]*\])", line)
        for i, part in enumerate(parts):
            if re.match(r"\[[A-Za-z]:", part):
                continue
            if "slurs" in steps:
                part = re.sub(r"\((?![0-9])|\)", "", part)
            if "decorations" in steps:
                part = DECORATIONS.sub("", part)
            parts[i] = part
        out.append("".join(parts))
    return "\n".join(out) + "\n"


def is_music(line):
    return not (re.match(r"^[A-Za-z]:", line) or line.startswith("%"))


def decoded_quoted_printable(lines):
    """The lines as they were before e-mail encoded them (RFC 2045, as some of Ryan's Mammoth
    went), when they show the encoding: `=3D` anywhere, or a music line ending in `=20` or `=`.
    `=3D` is `=`, `=20` a space, and a line ending in `=` runs on into the next. music21 reads the
    `=` of `=20` and of a soft line break as a natural sign on the next note; the crate decodes
    (src/abc/quoted_printable.rs, with the same test of whether a tune is encoded)."""
    def shows(line):
        line = line.rstrip()
        return "=3D" in line or (is_music(line) and line.endswith(("=20", "=")))
    if not any(shows(line) for line in lines):
        return lines
    out, pending = [], ""
    for line in lines:
        line = line.rstrip()
        soft = line.endswith("=")
        pending += re.sub(r"=([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), line[:-1] if soft else line)
        if not soft:
            out.append(pending)
            pending = ""
    if pending:
        out.append(pending)
    return out


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


def music21_events(parsed, untie=False):
    """[(pitches, quarter_length)] of a parsed part, ties merged, graces dropped. With `untie`
    ties between different pitches are first taken out (in place)."""
    if untie:
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
    """music21's readings of one tune, one per entry of `want` (a tuple of normalizing steps;
    empty for the tune as written), each a list of events or ("error", text). Readings of the
    same text share one parse."""
    tune, expand, want = item
    out = [None] * len(want)
    parses = {}  # text -> the parse, or the error
    # Untying changes a parse in place, so readings that untie come after those that do not.
    for k in sorted(range(len(want)), key=lambda k: "ties" in want[k]):
        steps = want[k]
        text = normalized(tune, steps) if steps else tune
        try:
            if text not in parses:
                try:
                    parses[text] = music21_parse(text, expand)
                except Exception as e:  # music21 rejects some tunes
                    parses[text] = ("error", repr(e))
            parsed = parses[text]
            out[k] = parsed if isinstance(parsed, tuple) else music21_events(parsed, "ties" in steps)
        except Exception as e:
            out[k] = ("error", repr(e))
    return out


def agree(mine, theirs):
    """Whether the crate's reading (a dump row) and music21's (events) give the same notes."""
    if isinstance(theirs, tuple) or "error" in mine:
        return False
    ev = our_events(mine["notes"])
    return [p for p, _ in ev] == [p for p, _ in theirs] and durations_match(ev, theirs)


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


def classify(tunes, ours, expand, jobs):
    """For tunes the crate reads as music21 does only once music21 is given the normalized text:
    which single normalizing step alone brings music21 to the crate's reading. Returns
    {step or "several": count} and [(name, steps that suffice)]."""
    items = [(tune, expand, tuple((step,) for step in CLASSIFY_STEPS)) for _, tune in tunes]
    readings = pool_map(music21_readings, items, jobs)
    counts, rows = {}, []
    for (name, _), mine, theirs in zip(tunes, ours, readings):
        enough = [step for step, reading in zip(CLASSIFY_STEPS, theirs) if agree(mine, reading)]
        key = enough[0] if len(enough) == 1 else ("/".join(enough) if enough else "several")
        counts[key] = counts.get(key, 0) + 1
        rows.append((name, enough))
    return counts, rows


def pool_map(function, items, jobs):
    if jobs > 1:
        # Each worker in a session of its own: with the kernel's autogroups, processes of one
        # session share one slot of the CPU, so workers in one session would not run faster.
        with multiprocessing.Pool(jobs, initializer=os.setsid) as pool:
            return pool.map(function, items, chunksize=16)
    return [function(item) for item in items]


# Where music21 and the crate part, each the smallest tune body that shows it, with the crate's
# reading (pitch, quarter length) in M:2/4, L:1/8, K:C. All but one are music21 misreading the
# ABC 2.1 standard; the grace note's accidental is a question the standard leaves open (the crate
# reads grace notes as ornaments outside the bar's accidentals). tests/abc_reader_music21.rs checks
# that the crate reads each so and music21 otherwise, which is why the comparison can take these
# marks out of what it gives music21.
DEMOS = [
    ("a slur mark between `>` and its note", "A>(B c)d", [(69, "3/4"), (71, "1/4"), (72, "1/2"), (74, "1/2")]),
    ("a staccato dot between `>` and its note", "A>.B cd", [(69, "3/4"), (71, "1/4"), (72, "1/2"), (74, "1/2")]),
    ("grace notes between `>` and its note (ABC 2.1, 4.12: they are transparent to broken rhythm)",
     "A>{g}B cd", [(69, "3/4"), (71, "1/4"), (72, "1/2"), (74, "1/2")]),
    ("a bowing between `>` and its note", "A>uB cd", [(69, "3/4"), (71, "1/4"), (72, "1/2"), (74, "1/2")]),
    ("the fermata `H` before a note", "HA B cd", [(69, "1/2"), (71, "1/2"), (72, "1/2"), (74, "1/2")]),
    ("an annotation that reads `>`", 'A">"B cd', [(69, "1/2"), (71, "1/2"), (72, "1/2"), (74, "1/2")]),
    ("a grace note's accidental (the standard is silent; music21 carries it into the bar)", "{^c}d c2 d", [(74, "1/2"), (72, "1"), (74, "1/2")]),
    ("a tie between two different pitches (ABC 2.1, 4.11: ties join notes of the same pitch)",
     "B-c d2", [(71, "1/2"), (72, "1/2"), (74, "1")]),
    ("quoted-printable text from e-mail: `=20` a space, not a natural sign on the next note",
     "^f f=20\nf", [(78, "1/2"), (78, "1/2"), (78, "1/2")]),
]


def demos():
    """[{label, body, standard, music21}] for each of music21's misreadings."""
    rows = []
    for label, body, crate in DEMOS:
        tune = f"X:1\nT:demo\nM:2/4\nL:1/8\nK:C\n{body}|\n"
        try:
            theirs = [[list(p), str(q)] for p, q in music21_events(music21_parse(tune))]
        except Exception as e:
            theirs = repr(e)
        rows.append({"label": label, "tune": tune, "crate": [[[p], q] for p, q in crate],
                     "music21": theirs})
    return rows


def emit_item(item):
    name, tune = item
    reading = music21_readings((tune, False, (STEPS,)))[0]
    if isinstance(reading, tuple):
        return {"name": name, "tune": tune, "music21_error": reading[1]}
    return {"name": name, "tune": tune, "music21": [[list(p), str(q)] for p, q in reading]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sample", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--details", default="abc_vs_music21_mismatches.txt",
                    help="mismatches; with --both, also FILE.normalized and FILE.as-written")
    ap.add_argument("--expand", action="store_true", help="compare with repeats expanded on both sides")
    ap.add_argument("--normalize", action="store_true",
                    help="slurs, decorations, grace notes and quoted text removed; ties between different pitches not merged")
    ap.add_argument("--both", action="store_true",
                    help="raw, --normalize, and the crate on the tune as written against music21 on the "
                         "normalized text, with the steps each gained tune needs")
    ap.add_argument("--jobs", type=int, default=1, help="music21 worker processes")
    ap.add_argument("--json", help="write the counts here as JSON")
    ap.add_argument("--only", help="a file whose lines start with tune names (as in FILE.gained): those tunes only")
    ap.add_argument("--emit", action="store_true",
                    help="print JSON lines {name, tune, music21} (music21's reading of the normalized "
                         "tune) for the sample, for a comparison made elsewhere (tests/abc_reader_music21.rs)")
    ap.add_argument("--demos", action="store_true",
                    help="print music21's reading of the smallest case of each misreading, as JSON")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    if args.demos:
        print(json.dumps(demos()))
        return 0
    tunes = corpus_tunes()
    random.Random(args.seed).shuffle(tunes)
    tunes = tunes[: args.sample]
    if args.only:
        with open(args.only) as f:
            names = {line.split()[0] for line in f if line.strip()}
        tunes = [t for t in tunes if t[0] in names]
    if args.emit:
        for row in pool_map(emit_item, tunes, args.jobs):
            print(json.dumps(row))
        return 0
    want = ((), STEPS) if args.both else ((STEPS if args.normalize else ()),)
    # music21 first (the slow part), then the crate's reader in one process per reading.
    readings = pool_map(music21_readings, [(tune, args.expand, want) for _, tune in tunes], args.jobs)
    results = {}
    ours_by_reading = []
    for k, steps in enumerate(want):
        texts = [(name, normalized(tune) if steps else tune) for name, tune in tunes]
        ours = run_ours(texts, args.expand)
        assert len(ours) == len(texts), (len(ours), len(texts))
        ours_by_reading.append(ours)
        label = "normalized" if steps else "raw"
        details = args.details + (".normalized" if args.both and steps else "")
        results[label] = compare(texts, ours, [r[k] for r in readings], details)
        report(label, results[label])
    if args.both:
        # The crate reads the tune as written; music21 reads it without what it misreads.
        raw_ours = ours_by_reading[0]
        results["as-written"] = compare(tunes, raw_ours, [r[1] for r in readings], args.details + ".as-written")
        report("as-written (the crate: the tune as written; music21: normalized)", results["as-written"])
        same = sum(a == b for a, b in zip(ours_by_reading[0], ours_by_reading[1]))
        results["crate_unchanged_by_normalizing"] = same
        print(f"  the crate reads {same}/{len(tunes)} tunes the same as written and normalized")
        gained = [(t, mine) for t, mine, r in zip(tunes, raw_ours, readings)
                  if not agree(mine, r[0]) and agree(mine, r[1])]
        counts, rows = classify([t for t, _ in gained], [m for _, m in gained], args.expand, args.jobs)
        results["gained_by_step"] = counts
        print(f"  {len(gained)} tunes agree as written only once music21 gets the normalized text; "
              f"the step that alone suffices: {json.dumps(counts)}")
        with open(args.details + ".gained", "w") as f:
            for name, enough in rows:
                f.write(f"{name}\t{','.join(enough) or 'several'}\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())

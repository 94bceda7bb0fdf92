#!/usr/bin/env python3
"""music21's per-tune figures for the check of `tunesmith::metrics::TuneStatistics`
(tests/tune_statistics_music21.rs).

Usage: tune_statistics_music21.py TUNES.jsonl
Reads JSON lines {"name": ..., "tune": ...} (one ABC tune each: header fields ending with K:,
then the music) and prints one JSON line per tune:

  {"name", "notes", "quarters", "pitch_range", "tonic", "pitch_classes" [12, above the tonic],
   "intervals" {semitones: count}, "durations" {"n/d" quarters: count}, "ends_on_tonic",
   "measures"}  or  {"name", "error"}

music21 reads the tune as the crate's reader check does (scripts/abc_vs_music21.py): ABC 2.1
accidentals, the text without the marks music21 misreads (slurs, decorations, grace notes,
quoted text), ties between different pitches not merged, ties merged, grace notes dropped, the
first part, repeats as written. Notes count each pitch of a chord; the melody is the highest
pitch of each onset; the tonic is that of the first key music21 makes of the K: field.
"""
import json
import os
import sys
import warnings
from fractions import Fraction

warnings.filterwarnings("ignore")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import music21  # noqa: E402
from abc_vs_music21 import music21_parse, normalized, untie_different_pitches  # noqa: E402


def tonic_of(part):
    """The tonic pitch class of the first key music21 reads, or None."""
    for k in part.recurse().getElementsByClass(music21.key.KeySignature):
        if isinstance(k, music21.key.Key):
            return k.tonic.pitchClass
        return k.asKey("major").tonic.pitchClass
    return None


def figures(tune):
    part = music21_parse(normalized(tune))
    tonic = tonic_of(part)
    measures = len(part.getElementsByClass(music21.stream.Measure))
    untie_different_pitches(part)
    notes = [n for n in part.stripTies().flatten().notes if n.duration.quarterLength > 0]
    pitches = [p.midi for n in notes for p in n.pitches]
    if not pitches:
        raise ValueError("no notes")
    first = min(Fraction(n.offset).limit_denominator(10000) for n in notes)
    last = max(Fraction(n.offset + n.duration.quarterLength).limit_denominator(10000) for n in notes)
    melody = {}
    durations = {}
    classes = [0] * 12
    for n in notes:
        offset = Fraction(n.offset).limit_denominator(10000)
        top = max(p.midi for p in n.pitches)
        melody[offset] = max(melody.get(offset, top), top)
        ql = Fraction(n.duration.quarterLength).limit_denominator(1000)
        durations[str(ql)] = durations.get(str(ql), 0) + len(n.pitches)
        for p in n.pitches:
            classes[(p.midi - (tonic or 0)) % 12] += 1
    tops = [melody[o] for o in sorted(melody)]
    intervals = {}
    for a, b in zip(tops, tops[1:]):
        intervals[str(b - a)] = intervals.get(str(b - a), 0) + 1
    return {
        "notes": len(pitches),
        "quarters": float(last - first),
        "pitch_range": max(pitches) - min(pitches),
        "tonic": tonic,
        "pitch_classes": classes,
        "intervals": intervals,
        "durations": durations,
        "ends_on_tonic": None if tonic is None else tops[-1] % 12 == tonic,
        "measures": measures,
    }


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    for row in rows:
        try:
            out = {"name": row["name"], **figures(row["tune"])}
        except Exception as e:  # music21 rejects some tunes
            out = {"name": row["name"], "error": repr(e)}
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""music21's reading of ABC tunes, as an oracle independent of tunesmith's own ABC reader.

Usage: music21_quality.py FILE_OR_DIR... [--jsonl OUT]
Reads every tune (one per X: block) of the given .abc files (folders: every *.abc under them),
parses it with music21 and prints one JSON object per tune (to OUT, or stdout) and a summary
line last:

  {"file": ..., "index": i, "parses": bool, "bars_add_up": bool, "measures": n,
   "regular_phrases": bool, "pitch_classes": [12 counts], "error": "..."?}

"bars_add_up" follows /work/shared/tools/abc_bars_music21.py exactly (the same parse, the same
rule): every measure of the first part lasts one bar of its time signature, except that the
first and last measures and measures beside a repeat sign or a double or final bar line may be
shorter; a tune needs at least two measures. "regular_phrases": the tune has a repeat sign, or
its measures (a short first measure, a pick-up, not counted) number a multiple of 4.
"pitch_classes": how many notes (chord notes each) of each pitch class C..B music21 reads.
"""
import glob
import json
import os
import sys
import warnings
from fractions import Fraction

warnings.filterwarnings("ignore")
import music21  # noqa: E402


def tunes_in(paths):
    for path in paths:
        cur = None
        index = 0
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
        for line in lines:
            if line.startswith("X:"):
                if cur is not None:
                    yield path, index, cur
                    index += 1
                cur = []
            if cur is not None:
                cur.append(line)
        if cur is not None:
            yield path, index, cur


def special(barline):
    return barline is not None and (
        getattr(barline, "type", "") in ("double", "final", "light-heavy", "heavy-light")
        or barline.classes[0] == "Repeat"
    )


def measure_tune(lines):
    out = {"parses": False, "bars_add_up": False, "measures": 0, "regular_phrases": False,
           "pitch_classes": [0] * 12}
    try:
        score = music21.converter.parse("%abc-2.1\n" + "\n".join(lines) + "\n", format="abc",
                                        forceSource=True)
    except Exception as e:  # music21 refuses the tune
        out["error"] = repr(e)[:200]
        return out
    out["parses"] = True
    part = score.parts[0] if hasattr(score, "parts") and score.parts else score
    for n in part.flatten().notes:
        for p in n.pitches:
            out["pitch_classes"][p.pitchClass] += 1
    ms = list(part.getElementsByClass("Measure"))
    out["measures"] = len(ms)
    if len(ms) < 2:
        return out
    ok = True
    repeats = False
    first_short = False
    for k, m in enumerate(ms):
        repeats |= any(b is not None and b.classes[0] == "Repeat" for b in (m.leftBarline, m.rightBarline))
        ts = m.timeSignature or m.getContextByClass("TimeSignature")
        if ts is None:
            ok = False
            continue
        want = Fraction(ts.barDuration.quarterLength).limit_denominator(1000)
        got = Fraction(m.duration.quarterLength).limit_denominator(1000)
        if k == 0 and got < want:
            first_short = True
        if got == want:
            continue
        near_section = special(m.leftBarline) or special(m.rightBarline) \
            or (k > 0 and special(ms[k - 1].rightBarline)) \
            or (k + 1 < len(ms) and special(ms[k + 1].leftBarline))
        if (k == 0 or k == len(ms) - 1 or near_section) and got < want:
            continue
        ok = False
    out["bars_add_up"] = ok
    counted = len(ms) - (1 if first_short else 0)
    out["regular_phrases"] = repeats or (counted > 0 and counted % 4 == 0)
    return out


def main():
    args = sys.argv[1:]
    out_path = None
    if "--jsonl" in args:
        i = args.index("--jsonl")
        out_path = args[i + 1]
        del args[i:i + 2]
    if not args:
        sys.exit(__doc__)
    paths = []
    for a in args:
        if os.path.isdir(a):
            paths += sorted(glob.glob(os.path.join(a, "**", "*.abc"), recursive=True))
        else:
            paths.append(a)
    out = open(out_path, "w") if out_path else sys.stdout
    n = parsed = adds_up = regular = 0
    for path, index, lines in tunes_in(paths):
        row = {"file": path, "index": index, **measure_tune(lines)}
        out.write(json.dumps(row) + "\n")
        n += 1
        parsed += row["parses"]
        adds_up += row["bars_add_up"]
        regular += row["regular_phrases"]
    if out_path:
        out.close()
    share = lambda k: k / max(n, 1)  # noqa: E731
    print(json.dumps({"summary": True, "tunes": n, "parses": share(parsed),
                      "bars_add_up": share(adds_up), "regular_phrases": share(regular)}))


if __name__ == "__main__":
    main()

"""pretty_midi's reading of MIDI files, for tests/midi_pretty_midi.rs.

Usage: python midi_notes_pretty_midi.py FILE...
Prints one JSON object per file: {"file": path, "notes": [[is_drum, program, pitch, start_s,
end_s, velocity], ...]} with times in seconds by pretty_midi's own tempo map, sorted.
"""
import json
import sys

import pretty_midi


def main(paths):
    for path in paths:
        midi = pretty_midi.PrettyMIDI(path)
        notes = []
        for instrument in midi.instruments:
            for note in instrument.notes:
                notes.append([
                    bool(instrument.is_drum),
                    int(instrument.program),
                    int(note.pitch),
                    float(note.start),
                    float(note.end),
                    int(note.velocity),
                ])
        notes.sort()
        print(json.dumps({"file": path, "notes": notes}))


if __name__ == "__main__":
    main(sys.argv[1:])

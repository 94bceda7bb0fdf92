//! Piano music on a grand staff: the notes of a score split between the right hand (treble staff)
//! and the left hand (bass staff), chord by chord or at a fixed key, and engraved with the note
//! values a pianist would write for them.
//!
//! Verovio's ABC reader takes one voice only, so the two hands go to the engraver as a two-track
//! MIDI file: music21 (in the project's Python environment beside Verovio) quantises it, writes
//! each hand's notes with proper note values and voices (a held half note under two quarters
//! stays a half note), and joins the staves with a brace; Verovio engraves the MusicXML.

use anyhow::Result;

use super::Svg;
use crate::score::{Note, Score, Track};

/// Middle C, the usual boundary between the hands.
const MIDDLE_C: u8 = 60;

/// Widest chord one hand takes without a penalty: a tenth, in semitones.
const HAND_SPAN: i32 = 16;

/// How the notes of a piano score are shared between the hands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HandSplit {
    /// Chord by chord (the notes starting together): the split that keeps each hand within a
    /// tenth and each staff near its own range (the right hand from about A3 up, the left hand
    /// up to about E4), as a pianist would share them.
    #[default]
    PerChord,
    /// Every note at or above this MIDI pitch to the right hand, the rest to the left (by hand).
    At(u8),
}

/// The pitched notes of `score` as two tracks, right hand (channel 0) then left hand (channel
/// 1), both on the piano, with the score's tempo and meter maps; drum tracks are left out.
pub fn split_hands(score: &Score, split: HandSplit) -> Score {
    let mut notes: Vec<Note> = score
        .tracks
        .iter()
        .filter(|t| !t.is_drum)
        .flat_map(|t| t.notes.iter().copied())
        .collect();
    notes.sort_by_key(|n| (n.start, n.pitch, n.duration));
    let (mut right, mut left) = (Vec::new(), Vec::new());
    for chord in notes.chunk_by(|a, b| a.start == b.start) {
        let to_left = match split {
            HandSplit::At(pitch) => chord.iter().filter(|n| n.pitch < pitch).count(),
            HandSplit::PerChord => left_hand_share(chord),
        };
        left.extend_from_slice(&chord[..to_left]);
        right.extend_from_slice(&chord[to_left..]);
    }
    let hand = |name: &str, channel: u8, notes: Vec<Note>| Track {
        name: name.to_string(),
        program: 0,
        channel,
        is_drum: false,
        notes,
    };
    Score {
        ticks_per_quarter: score.ticks_per_quarter,
        tempos: score.tempos.clone(),
        time_signatures: score.time_signatures.clone(),
        tracks: vec![hand("Right hand", 0, right), hand("Left hand", 1, left)],
    }
}

/// How many of the lowest notes of `chord` (sorted by pitch) the left hand takes: the split with
/// the least cost, where a hand stretched past a tenth costs 10 a semitone and a note far from its
/// staff costs 1 a semitone (right hand below A3, left hand above E4); among equal costs, one
/// hand rather than two, then the split nearest middle C.
fn left_hand_share(chord: &[Note]) -> usize {
    let cost = |to_left: usize| {
        let (left, right) = chord.split_at(to_left);
        let stretch = |hand: &[Note]| match (hand.first(), hand.last()) {
            (Some(low), Some(high)) => {
                (i32::from(high.pitch) - i32::from(low.pitch) - HAND_SPAN).max(0)
            }
            _ => 0,
        };
        let off_staff: i32 = left
            .iter()
            .map(|n| (i32::from(n.pitch) - 64).max(0))
            .chain(right.iter().map(|n| (57 - i32::from(n.pitch)).max(0)))
            .sum();
        let by_middle_c = chord.iter().filter(|n| n.pitch < MIDDLE_C).count();
        let hands = usize::from(!left.is_empty()) + usize::from(!right.is_empty());
        (
            10 * (stretch(left) + stretch(right)) + off_staff,
            hands,
            to_left.abs_diff(by_middle_c),
        )
    };
    (0..=chord.len()).min_by_key(|&k| cost(k)).unwrap_or(0)
}

/// True when a score reads better on a grand staff than on one staff: its pitched notes sound
/// together somewhere (chords, or a held note under moving ones), or come from several tracks.
pub fn wants_grand_staff(score: &Score) -> bool {
    let pitched: Vec<&Track> = score.tracks.iter().filter(|t| !t.is_drum).collect();
    if pitched.iter().filter(|t| !t.notes.is_empty()).count() > 1 {
        return true;
    }
    pitched.iter().any(|t| {
        let mut ends_so_far = 0;
        let mut notes: Vec<&Note> = t.notes.iter().collect();
        notes.sort_by_key(|n| n.start);
        notes.iter().any(|n| {
            let overlaps = n.start < ends_so_far;
            ends_so_far = ends_so_far.max(n.end());
            overlaps
        })
    })
}

/// Engraves `score` on a grand staff, its notes shared between the hands by `split`: treble and
/// bass staves joined by a brace, note values and voices written by music21 from the two hands,
/// the key signature estimated from the notes. When one hand has nothing to play, the other's
/// notes go on one staff with the clef that suits them.
///
/// # Errors
/// When no engraver is installed, or the score cannot be written as MIDI or read by music21.
pub fn engrave_grand_staff(score: &Score, split: HandSplit) -> Result<Svg> {
    let mut hands = split_hands(score, split);
    if hands.tracks.iter().any(|hand| hand.notes.is_empty()) {
        // One hand plays everything: one staff, its clef chosen by music21 from the notes.
        hands.tracks.retain(|hand| !hand.notes.is_empty());
        let midi = crate::midi::score_to_midi_bytes(&hands)?;
        return super::engrave::run_engraver("midi", &midi);
    }
    let midi = crate::midi::score_to_midi_bytes(&hands)?;
    super::engrave::run_engraver("piano", &midi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(pitch: u8, start: u32, duration: u32) -> Note {
        Note::new(pitch, start, duration)
    }

    fn one_track(notes: Vec<Note>) -> Score {
        let mut score = Score::new(480);
        score.tracks.push(Track {
            notes,
            ..Track::default()
        });
        score
    }

    /// Quarter notes of `pitches` starting at `start`.
    fn chord(pitches: &[u8], start: u32) -> Vec<Note> {
        pitches.iter().map(|&p| n(p, start, 480)).collect()
    }

    fn pitches(track: &Track) -> Vec<u8> {
        track.notes.iter().map(|n| n.pitch).collect()
    }

    #[test]
    fn chords_split_where_each_hand_stays_near_its_staff() {
        let score = one_track(
            [
                chord(&[48, 52, 55, 72, 76], 0), // C major: C3 E3 G3 under C5 E5
                chord(&[59], 480),               // a note just under middle C alone: left hand
                chord(&[36], 960),               // a low bass note alone: left hand
                chord(&[59, 62, 67], 1440),      // B3 D4 G4: one hand's chord, the right
            ]
            .concat(),
        );
        let hands = split_hands(&score, HandSplit::PerChord);
        assert_eq!(pitches(&hands.tracks[0]), vec![72, 76, 59, 62, 67]);
        assert_eq!(pitches(&hands.tracks[1]), vec![48, 52, 55, 59, 36]);
        let by_hand = split_hands(&score, HandSplit::At(60));
        assert_eq!(pitches(&by_hand.tracks[0]), vec![72, 76, 62, 67]);
        assert_eq!(pitches(&by_hand.tracks[1]), vec![48, 52, 55, 59, 36, 59]);
    }

    #[test]
    fn a_chord_too_wide_for_one_hand_is_shared() {
        // C4 to C6: two octaves, too wide for the right hand alone.
        let score = one_track(chord(&[60, 64, 79, 84], 0));
        let hands = split_hands(&score, HandSplit::PerChord);
        assert_eq!(pitches(&hands.tracks[0]), vec![79, 84]);
        assert_eq!(pitches(&hands.tracks[1]), vec![60, 64]);
    }

    #[test]
    fn drums_are_left_out_and_the_maps_are_kept() {
        let mut score = one_track(vec![n(60, 0, 10)]);
        score.tracks.push(Track {
            is_drum: true,
            channel: 9,
            notes: vec![n(36, 0, 10)],
            ..Track::default()
        });
        score
            .tempos
            .push(crate::score::TempoChange::new(0, 400_000));
        let hands = split_hands(&score, HandSplit::PerChord);
        assert_eq!(hands.note_count(), 1);
        assert_eq!(hands.tempos, score.tempos);
        assert_eq!((hands.tracks[0].channel, hands.tracks[1].channel), (0, 1));
    }

    #[test]
    fn a_piano_piece_engraves_on_a_grand_staff_with_plain_note_values() -> Result<()> {
        // Right hand: a half-note C5 held under E5 F5 quarters, then a half-note chord; left
        // hand: four quarter notes around C3. One bar of 4/4.
        let score = one_track(vec![
            n(72, 0, 960),
            n(76, 0, 480),
            n(77, 480, 480),
            n(72, 960, 960),
            n(76, 960, 960),
            n(79, 960, 960),
            n(48, 0, 480),
            n(43, 480, 480),
            n(45, 960, 480),
            n(47, 1440, 480),
        ]);
        assert!(wants_grand_staff(&score));
        let svg = crate::render::engrave_score(&score)?;
        let doc = roxmltree::Document::parse(svg.as_str())?;
        let of_class = |class: &str| {
            doc.descendants()
                .filter(|n| n.attribute("class") == Some(class))
                .collect::<Vec<_>>()
        };
        assert_eq!(of_class("staff").len(), 2, "treble and bass staves");
        assert_eq!(of_class("grpSym").len(), 1, "joined by a brace");
        assert!(svg.as_str().contains("#E062"), "a bass clef (SMuFL F clef)");
        assert!(
            of_class("tie").is_empty(),
            "no ties in one bar of plain values"
        );
        assert_eq!(of_class("note").len(), 10);
        let values: Vec<&str> = of_class("note")
            .iter()
            .chain(of_class("chord").iter())
            .filter_map(|n| n.attribute("data-dur"))
            .collect();
        assert_eq!(
            values.iter().filter(|v| **v == "4").count(),
            6,
            "{values:?}"
        );
        assert_eq!(
            values.iter().filter(|v| **v == "2").count(),
            2,
            "{values:?}"
        );
        assert!(values.iter().all(|v| *v == "2" || *v == "4"), "{values:?}");
        Ok(())
    }

    #[test]
    fn chords_for_one_hand_engrave_on_one_staff() -> Result<()> {
        // Chords high up only: the left hand has nothing, so one treble staff and no brace.
        let score = one_track([chord(&[72, 76, 79], 0), chord(&[74, 77, 81], 480)].concat());
        let svg = engrave_grand_staff(&score, HandSplit::PerChord)?;
        let doc = roxmltree::Document::parse(svg.as_str())?;
        let count = |class: &str| {
            doc.descendants()
                .filter(|n| n.attribute("class") == Some(class))
                .count()
        };
        assert_eq!((count("staff"), count("grpSym")), (1, 0));
        assert_eq!(count("note"), 6);
        Ok(())
    }

    #[test]
    fn melodies_stay_on_one_staff_and_polyphony_asks_for_two() {
        let melody = one_track(vec![n(60, 0, 480), n(62, 480, 480), n(64, 960, 480)]);
        assert!(!wants_grand_staff(&melody));
        let held = one_track(vec![n(60, 0, 960), n(64, 480, 480)]);
        assert!(wants_grand_staff(&held));
        let mut two_tracks = melody.clone();
        two_tracks.tracks.push(Track {
            channel: 1,
            notes: vec![n(40, 0, 480)],
            ..Track::default()
        });
        assert!(wants_grand_staff(&two_tracks));
    }
}

//! Executes notebook 00 (the quick look) through the real evcxr kernel, headless, and checks its
//! executed copy: the tune and the score as engraved sheet music, the piano rolls, two compressed
//! players and the tables, no errors. (tests/browser_lab.rs runs the same notebook in JupyterLab.)

mod common;

#[test]
fn notebook_00_shows_a_tune_as_sheet_music_piano_roll_and_player() {
    let run = common::execute_notebook("00_quick_look");
    let html = run.displays("text/html").join("\n");
    let sheets = html.matches("<div class=\"tunesmith-sheet\"><svg").count();
    assert_eq!(sheets, 2, "the tune and the score as sheet music");
    assert!(
        html.matches("class=\"note\"").count() >= 34 + 68,
        "the jig's 34 notes, and 68 with the repeat played out, engraved"
    );
    assert!(!html.contains("tunesmith-sheet-missing") && !html.contains("tunesmith-sheet-error"));
    let players = html
        .matches(
            "<audio controls=\"controls\" preload=\"metadata\" src=\"data:audio/ogg;base64,T2dnUw",
        )
        .count();
    assert_eq!(players, 2, "players of the score and of the audio");
    assert!(
        html.matches("<table").count() >= 2,
        "the header fields and the tracks"
    );
    let svgs = run.displays("image/svg+xml");
    common::assert_shown(&svgs, &["Quick Look Jig"], "the piano roll picture");
    assert!(run.stdout().contains("s at 44100 Hz"), "{}", run.stdout());
}

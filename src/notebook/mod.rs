//! Inline display in evcxr notebooks, and the helpers every tutorial shares. Every type a user
//! inspects shows itself as HTML or SVG when it is the last expression of a cell (evcxr calls its
//! `evcxr_display` method); the HTML itself comes from the layers below ([`crate::render`]).
//!
//! - [`music`]: tunes, corpora, vocabularies, scores, token views.
//! - [`training`]: models, loss histories, a live loss plot while training ([`PlotEvery`]),
//!   generated pieces.
//! - [`checkpoints`]: what a checkpoint holds and a run's checkpoints.
//! - [`sweep`]: a Slurm sweep's status table and its runs' loss curves.
//! - [`run`]: the output folder, settings from the environment and the summary file of a
//!   tutorial ([`NotebookRun`]).

pub mod checkpoints;
pub mod music;
pub mod run;
pub mod sweep;
pub mod training;

pub use crate::render::{Html, Svg, ToHtml};
pub use music::{TokenView, TuneList};
pub use run::NotebookRun;
pub use training::{model_html, PlotEvery};

use crate::abc::to_score::FormTable;
use crate::abc::{CleanTune, Tune};
use crate::bench::audio::AudioTable;
use crate::checkpoint::{Checkpoint, Meta, RunCheckpoints};
use crate::corpus::AbcCorpus;
use crate::encode::{CharVocab, EventVocab, NoteVocab, PianoRoll};
use crate::generate::{Generator, Piece};
use crate::metrics::{Distinguishability, RollStatistics, StatisticsComparison, TuneStatistics};
use crate::midi::MidiCorpusReport;
use crate::model::{Ddsp, FrameLstm, LstmLm, PitchLstm, SampleRnn, WindowLstm};
use crate::render::Audio;
use crate::report::LoadReport;
use crate::score::Score;
use crate::sweep::SweepStatus;
use crate::train::{History, Trainer};

/// The text evcxr reads from standard output to show `content` (of MIME type `mime`) inline.
pub fn evcxr_block(mime: &str, content: &str) -> String {
    format!("EVCXR_BEGIN_CONTENT {mime}\n{content}\nEVCXR_END_CONTENT")
}

/// Prints a value for evcxr with the given MIME type.
pub fn emit(mime: &str, content: &str) {
    println!("{}", evcxr_block(mime, content));
}

/// True inside an evcxr kernel (where printing a display block shows it).
pub fn in_notebook() -> bool {
    std::env::var_os("EVCXR_IS_RUNTIME").is_some()
}

/// Adds the inherent `evcxr_display` method to types with a `to_html` (their own or [`ToHtml`]).
macro_rules! display_as_html {
    ($($t:ty),* $(,)?) => {$(
        impl $t {
            /// Shows the value inline as HTML in an evcxr notebook.
            pub fn evcxr_display(&self) {
                emit("text/html", &self.to_html());
            }
        }
    )*};
}

display_as_html!(
    Html,
    Tune,
    CleanTune,
    CharVocab,
    NoteVocab,
    EventVocab,
    PianoRoll,
    LoadReport,
    MidiCorpusReport,
    AbcCorpus,
    TuneList,
    Score,
    TokenView,
    Audio,
    History,
    LstmLm,
    WindowLstm,
    FrameLstm,
    PitchLstm,
    Ddsp,
    SampleRnn,
    AudioTable,
    Trainer,
    Piece,
    Generator,
    Meta,
    Checkpoint,
    RunCheckpoints,
    SweepStatus,
    FormTable,
    TuneStatistics,
    RollStatistics,
    StatisticsComparison,
    Distinguishability,
);

impl Svg {
    /// Shows the picture in a notebook.
    pub fn evcxr_display(&self) {
        emit("image/svg+xml", &self.0);
    }
}

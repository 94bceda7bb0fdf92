//! tunesmith: music deep learning from Jupyter notebooks.
//!
//! The data path: corpus files → [`abc::Tune`] / [`score::Score`] → encodings ([`encode`]) →
//! batches ([`data`]) → an LSTM ([`model`]) trained by a [`train::Trainer`] → samples
//! ([`generate`]) → files, plots and displays ([`render`], [`notebook`]).
//!
//! In a notebook: `:dep tunesmith = { path = ".." }` then `use tunesmith::prelude::*;`.

pub mod abc;
pub mod bench;
pub mod checkpoint;
pub mod corpus;
pub mod data;
pub mod device;
pub mod encode;
pub mod fsutil;
pub mod generate;
pub mod generate_roll;
pub mod headless;
pub mod metrics;
pub mod midi;
pub mod model;
pub mod notebook;
pub mod render;
pub mod report;
pub mod score;
pub mod train;

/// What a notebook imports with `use tunesmith::prelude::*;`.
pub mod prelude {
    pub use crate::abc::{abc_to_score, clean_tune, split_tunebook, CleanOptions, CleanTune, Tune};
    pub use crate::checkpoint::{
        open_for_generation, run_checkpoints, CheckpointConfig, Checkpointer, RunCheckpoints,
    };
    pub use crate::corpus::{
        load_abc_dirs, load_default_abc_corpus, music21_corpus_dir, AbcCorpus,
    };
    pub use crate::data::{split_train_valid, SequenceBatches, WindowBatches};
    pub use crate::device::{best_device, describe_device};
    pub use crate::encode::{
        estimate_key, positive_weight, transpose_score, CharVocab, EventConfig, EventVocab,
        NoteVocab, NoteVocabConfig, PianoRoll, PianoRollConfig, TokenEncoding,
    };
    pub use crate::generate::{
        generate_piece, generate_tunes, primer_ids_from_midi, sample_text, write_abc_tunes,
        GeneratedPiece, SampleConfig, TokenSampleConfig,
    };
    pub use crate::generate_roll::{primer_from_midi, sample_roll, RollLength, RollSampleConfig};
    pub use crate::metrics::{abc_shape, nats_to_bits, well_formed_share};
    pub use crate::midi::{
        load_midi_corpus, read_midi_file, write_default_midi_corpus, write_midi_corpus_from_abc,
        write_midi_file, MidiCorpus,
    };
    pub use crate::model::{
        FrameLstm, FrameLstmConfig, LstmConfig, LstmLm, WindowConfig, WindowLstm,
    };
    pub use crate::notebook::{Html, Svg, TokenView, TuneList};
    pub use crate::render::{
        heatmap_svg, listen, listen_abc, listen_midi, loss_curve_svg, piano_roll_svg, render_score,
        Audio, RenderOptions,
    };
    pub use crate::report::LoadReport;
    pub use crate::score::{Note, Score, Track};
    pub use crate::train::{
        evaluate_batches, fit, AdamConfig, Callback, Control, DataInfo, FitOptions, History,
        PlotEvery, StopAtStep, StopReason, TrainConfig, Trainable, Trainer,
    };
    pub use anyhow::{Context, Result};
    pub use serde_json;
    pub use tch;
    pub use tch::Device;
}

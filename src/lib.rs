//! tunesmith: music deep learning from Jupyter notebooks.
//!
//! The data path, and the order modules import each other in (each only from those before it):
//! files ([`abc::Tune`] / [`midi`]) → [`score::Score`] → its sound ([`audio`]: the synthesizers,
//! WAV, spectra) → encodings ([`encode`]) → batches
//! ([`data`]) → a model ([`model`]) trained by the one [`train::Trainer`] → checkpoints
//! ([`checkpoint`]) → samples ([`generate`]) → files, plots and players ([`render`]) → displays
//! ([`notebook`]). [`corpus`] (folders of ABC files, the music21 collections, ABC corpora written
//! as MIDI) sits on the two file formats. [`metrics`], [`bench`] and [`headless`] sit on top; [`sweep`] sits beside
//! [`headless`] (many headless runs on a Slurm cluster), and the notebook shows its status.
//!
//! In a notebook: `:dep tunesmith = { path = ".." }` then `use tunesmith::prelude::*;`.

pub mod abc;
pub mod audio;
pub mod bench;
pub mod checkpoint;
pub mod corpus;
pub mod data;
pub mod device;
pub mod encode;
pub mod fsutil;
pub mod generate;
pub mod headless;
pub mod metrics;
pub mod midi;
pub mod model;
pub mod notebook;
pub mod render;
pub mod report;
pub mod score;
pub mod sweep;
pub mod train;

/// What a notebook imports with `use tunesmith::prelude::*;`.
pub mod prelude {
    pub use crate::abc::{abc_to_score, clean_tune, split_tunebook, CleanOptions, CleanTune, Tune};
    pub use crate::checkpoint::{
        load_model, load_model_as, run_checkpoints, CheckpointConfig, Checkpointer, RunCheckpoints,
    };
    pub use crate::corpus::{
        load_abc_dirs, load_default_abc_corpus, music21_corpus_dir, write_default_midi_corpus,
        write_midi_corpus_from_abc, AbcCorpus,
    };
    pub use crate::data::{
        split_train_valid, Batch, Batches, RollBatches, SequenceBatches, WindowBatches,
    };
    pub use crate::device::{best_device, describe_device};
    pub use crate::encode::{
        estimate_key, positive_weight, transpose_score, CharVocab, Encoding, EventConfig,
        EventVocab, NoteVocab, NoteVocabConfig, PianoRoll, PianoRollConfig, TokenEncoding,
    };
    pub use crate::generate::{
        generate, generate_many, open_for_generation, write_pieces, Form, Generator, Header,
        Length, Piece, Primer, SampleConfig, SampleEvery, Tilt,
    };
    #[allow(deprecated)]
    pub use crate::metrics::well_formed_share;
    pub use crate::metrics::{
        abc_shape, abc_shape_share, bars_add_up_share, distinguishability, fixed_split,
        nats_to_bits, RollStatistics, RollStatisticsConfig, SetStatistics, TuneStatistics,
    };
    pub use crate::midi::{
        load_midi_corpus, load_midi_corpus_with_options, read_midi_file, write_midi_file,
        MidiCorpus, MidiCorpusReport, MidiReadOptions, SustainPedal,
    };
    pub use crate::model::{
        CopyMemory, FrameLstm, FrameLstmConfig, LstmConfig, LstmLm, Model, PitchLstm,
        PitchLstmConfig, WindowConfig, WindowLstm,
    };
    pub use crate::notebook::sweep::sweep_curves;
    pub use crate::notebook::{Html, NotebookRun, PlotEvery, Svg, TokenView, TuneList};
    pub use crate::render::neural::{listen_neural, neural_beside_soundfont, ShippedSynth};
    pub use crate::render::{
        heatmap_svg, listen, listen_abc, listen_midi, loss_curve_svg, loss_curves_svg,
        piano_roll_svg, render_score, Audio, RenderOptions,
    };
    pub use crate::report::LoadReport;
    pub use crate::score::{Note, Score, Track};
    pub use crate::sweep::{run_task, write_sweep, RunState, SweepSpec, SweepStatus};
    pub use crate::train::{
        evaluate, evaluate_batches, seeded, AdamConfig, Callback, Control, DataInfo, EarlyStopping,
        Evaluation, History, InterruptAt, KeepBest, LrOnPlateau, StopAtStep, StopReason,
        TrainConfig, Trainer,
    };
    pub use anyhow::{Context, Result};
    pub use serde_json;
    pub use tch;
    pub use tch::Device;

    /// Neural audio (notebook 07): note features, training pairs rendered with the SoundFont,
    /// the waveform and sample-level models, rendering, spectrograms and the metrics table.
    pub mod audio {
        pub use crate::bench::audio::{
            audio_data, audio_tune_sets, evaluate_audio, first_seconds, AudioData, AudioTable,
            TuneSelection,
        };
        pub use crate::data::audio_pairs::{
            builtin_audio, pair_audio, reference_audio, training_pairs,
        };
        pub use crate::data::{AudioClips, AudioPair};
        pub use crate::encode::{AudioFeatureConfig, AudioFeatures};
        pub use crate::generate::{render_audio, render_primer, RenderedAudio};
        pub use crate::metrics::audio::{audio_metrics, AudioMetrics};
        pub use crate::model::{Ddsp, DdspConfig, SampleRnn, SampleRnnConfig};
        pub use crate::render::neural::neural_audio;
        pub use crate::render::spectrogram::{compare_audio_html, spectrogram_svg};
    }
}

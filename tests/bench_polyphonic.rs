//! The polyphonic benchmark's data and unit, on the real JSB Chorales file (read from
//! `../shared/data/bl2012`, which CI has beside the repository).

use std::path::PathBuf;
use tunesmith::bench::{baseline_nlls, split_batches, PolyDataset};
use tunesmith::metrics::roll_nll;
use tunesmith::model::{FrameLstm, FrameLstmConfig};

fn jsb_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/bl2012/JSB_Chorales.json")
}

#[test]
fn jsb_chorales_loads_with_the_published_split_sizes() {
    let data = PolyDataset::load(jsb_path()).expect("JSB Chorales");
    assert_eq!(data.name, "JSB_Chorales");
    assert_eq!(
        (data.train.len(), data.valid.len(), data.test.len()),
        (229, 76, 77)
    );
    assert_eq!(data.frame_counts(), (13_807, 4_602, 4_725));
    let pitches = data.train.iter().flatten().flatten();
    assert!(pitches.clone().all(|&p| (21..=108).contains(&p)));
    // Four-part chorales: most frames hold four notes.
    let frames = data.train.iter().flatten();
    let four = frames.clone().filter(|f| f.len() == 4).count();
    assert!(four * 2 > frames.count());
}

/// The reference floors of ../shared/data/README.md, in the same unit: independent Bernoulli per
/// pitch 11.09 and per-pitch first-order Markov 10.49 on the test set. Matching them checks the
/// frame NLL unit (sum over 88 pitches, nats, per predicted frame) end to end.
#[test]
fn baselines_reproduce_the_reference_floors() {
    let data = PolyDataset::load(jsb_path()).expect("JSB Chorales");
    let (bernoulli, markov) = baseline_nlls(&data.train, &data.test);
    assert!(
        (bernoulli - 11.09).abs() < 0.05,
        "Bernoulli floor {bernoulli}"
    );
    assert!((markov - 10.49).abs() < 0.05, "Markov floor {markov}");
}

/// An untrained model predicts p ≈ 1/2 for every key, about 88 ln 2 = 61 nats per frame.
#[test]
fn an_untrained_model_costs_about_a_coin_per_key() {
    let data = PolyDataset::load(jsb_path()).expect("JSB Chorales");
    let _generator = tunesmith::model::torch_rng::hold_seeded(0);
    let model =
        FrameLstm::new(FrameLstmConfig::piano(16, 1, 0.0), tch::Device::Cpu).expect("model");
    let test = split_batches(&data.test, 0, 32).expect("the test split");
    let nll = roll_nll(&model, &test);
    assert!(
        (nll - 88.0 * std::f64::consts::LN_2).abs() < 5.0,
        "untrained NLL {nll}"
    );
}

#[test]
fn a_missing_file_is_named_in_the_error() {
    let err = PolyDataset::load(jsb_path().with_file_name("Nope.json")).unwrap_err();
    assert!(format!("{err:#}").contains("Nope.json"));
}

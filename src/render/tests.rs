//! Tests of rendering (built-in and SoundFont synths), WAV/HTML output and SVG plots.

use std::path::Path;

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

use super::*;
use crate::score::{Note, Score, TempoChange, TimeSignature, Track};

const SR: u32 = 44_100;

/// A4 for 0.5 s, a 0.5 s rest, E5 for 0.5 s, at 120 BPM, on General MIDI `program`.
fn known_score(program: u8) -> Score {
    let mut score = Score::new(480);
    score.tempos.push(TempoChange::new(0, 500_000));
    score.tracks.push(Track {
        name: "melody".into(),
        program,
        channel: 0,
        is_drum: false,
        notes: vec![
            Note::new(69, 0, 480).with_velocity(100),
            Note::new(76, 960, 480).with_velocity(100),
        ],
    });
    score
}

/// Reads a WAV file back: (sample rate, channels, mono mix as f32).
fn read_wav(path: &Path) -> (u32, u16, Vec<f32>) {
    let mut reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    assert_eq!(spec.bits_per_sample, 16);
    assert_eq!(spec.sample_format, hound::SampleFormat::Int);
    let raw: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let ch = usize::from(spec.channels);
    let mono = raw
        .chunks_exact(ch)
        .map(|f| f.iter().map(|&s| f32::from(s) / 32768.0).sum::<f32>() / ch as f32)
        .collect();
    (spec.sample_rate, spec.channels, mono)
}

fn window(x: &[f32], sr: u32, from_s: f64, to_s: f64) -> &[f32] {
    let a = (from_s * f64::from(sr)) as usize;
    let b = ((to_s * f64::from(sr)) as usize).min(x.len());
    &x[a..b]
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|s| s * s).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

/// Frequency (Hz) of the largest spectral peak between 50 Hz and 5 kHz (Hann window, zero
/// padded FFT with parabolic interpolation).
fn peak_frequency(x: &[f32], sr: u32) -> f64 {
    let n = (x.len() * 4).next_power_of_two();
    let len = x.len() as f64;
    let mut buf: Vec<Complex<f64>> = (0..n)
        .map(|i| {
            let v = x.get(i).map_or(0.0, |&s| {
                let w = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / (len - 1.0)).cos();
                f64::from(s) * w
            });
            Complex::new(v, 0.0)
        })
        .collect();
    FftPlanner::new().plan_fft_forward(n).process(&mut buf);
    let bin_hz = f64::from(sr) / n as f64;
    let lo = (50.0 / bin_hz) as usize;
    let hi = (5000.0 / bin_hz) as usize;
    let mag: Vec<f64> = buf[..=hi + 1].iter().map(|c| c.norm()).collect();
    let k = (lo..=hi)
        .max_by(|&a, &b| mag[a].total_cmp(&mag[b]))
        .unwrap();
    let (a, b, c) = (mag[k - 1].ln(), mag[k].ln(), mag[k + 1].ln());
    let delta = 0.5 * (a - c) / (a - 2.0 * b + c);
    (k as f64 + delta) * bin_hz
}

/// Renders the known score, writes it as WAV, reads it back and checks duration, rate,
/// per-note fundamentals and the silent rest.
fn check_known_score_render(audio: &Audio, what: &str, rest_from: f64, rest_limit: f32) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("known.wav");
    audio.write_wav(&path).unwrap();
    let (sr, channels, mono) = read_wav(&path);
    assert_eq!(sr, SR, "{what}: sample rate");
    assert_eq!(channels, audio.channels, "{what}: channels");
    // 1.5 s of notes + 0.5 s tail.
    let dur = mono.len() as f64 / f64::from(sr);
    assert!((dur - 2.0).abs() < 0.002, "{what}: duration {dur}");
    assert!((audio.duration_seconds() - 2.0).abs() < 0.002);
    assert!(
        (audio.peak() - 0.9).abs() < 1e-3,
        "{what}: peak {}",
        audio.peak()
    );

    for (from, to, hz) in [(0.05, 0.45, 440.0), (1.05, 1.45, pitch_to_hz(76))] {
        let f = peak_frequency(window(&mono, sr, from, to), sr);
        assert!(
            (f / hz - 1.0).abs() < 0.03,
            "{what}: peak at {f:.1} Hz in {from}..{to} s, expected {hz:.1} Hz"
        );
        let level = rms(window(&mono, sr, from, to));
        assert!(level > 0.05, "{what}: note window too quiet ({level})");
    }
    let rest = rms(window(&mono, sr, rest_from, 0.99));
    assert!(
        rest < rest_limit,
        "{what}: RMS {rest} in the rest {rest_from}..0.99 s is not near silence"
    );
}

#[test]
fn builtin_synth_renders_known_score() {
    let opts = RenderOptions {
        tail_seconds: 0.5,
        ..RenderOptions::default()
    };
    let audio = render_score_builtin(&known_score(0), &opts).unwrap();
    assert_eq!(audio.sample_rate, SR);
    assert_eq!(audio.channels, 2);
    check_known_score_render(&audio, "built-in", 0.56, 0.002);
}

/// The SoundFont test needs a General MIDI SoundFont: `pip install pretty_midi` in the
/// project's `.venv` (or set `TUNESMITH_SOUNDFONT`, or install Debian's timgm6mb-soundfont).
fn soundfont_or_fail() -> std::path::PathBuf {
    find_soundfont().unwrap_or_else(|| {
        panic!(
            "no SoundFont found: set {SOUNDFONT_ENV} to an .sf2 file, install \
             timgm6mb-soundfont (/usr/share/sounds/sf2), or `pip install pretty_midi` in the \
             project's .venv (it bundles TimGM6mb.sf2)"
        )
    })
}

#[test]
fn soundfont_synth_renders_known_score() {
    let sf2 = soundfont_or_fail();
    let opts = RenderOptions {
        tail_seconds: 0.5,
        reverb: false,
        ..RenderOptions::default()
    };
    // A violin (program 40): TimGM6mb's violin release fades within ~100 ms, while its acoustic
    // piano rings on at -20 dB per 200 ms, too long for a near-silence check in the rest.
    let audio = render_score_soundfont(&known_score(40), &sf2, &opts).unwrap();
    assert_eq!(audio.sample_rate, SR);
    assert_eq!(audio.channels, 2);
    check_known_score_render(&audio, &format!("SoundFont {}", sf2.display()), 0.60, 0.005);

    // render_score picks the SoundFont up by itself and gives the same audio.
    let auto = render_score(&known_score(40), &opts).unwrap();
    assert_eq!(auto, audio);
}

#[test]
fn soundfont_synth_plays_drums_and_other_rates() {
    let sf2 = soundfont_or_fail();
    let mut score = known_score(0);
    score.tracks.push(Track {
        name: "drums".into(),
        program: 0,
        channel: 9,
        is_drum: true,
        notes: vec![
            Note::new(36, 0, 120).with_velocity(110),
            Note::new(38, 480, 120).with_velocity(110),
        ],
    });
    let opts = RenderOptions {
        sample_rate: 22_050,
        normalize_peak: 0.5,
        ..RenderOptions::default()
    };
    let audio = render_score_soundfont(&score, &sf2, &opts).unwrap();
    assert_eq!(audio.sample_rate, 22_050);
    assert!((audio.duration_seconds() - 2.5).abs() < 0.002);
    assert!((audio.peak() - 0.5).abs() < 1e-3);
    // The snare at 0.5 s fills what was the rest.
    let mono = audio.to_mono();
    assert!(rms(window(&mono, 22_050, 0.52, 0.6)) > 0.01);
    assert!(audio.samples.iter().all(|s| s.is_finite()));
}

#[test]
fn builtin_synth_follows_tempo_map_and_plays_drums() {
    let mut score = Score::new(480);
    // 120 BPM for one beat, then 60 BPM: tick 960 is at 0.5 + 1.0 = 1.5 s.
    score.tempos = vec![
        TempoChange::new(0, 500_000),
        TempoChange::new(480, 1_000_000),
    ];
    score.tracks.push(Track {
        program: 48,
        notes: vec![Note::new(60, 960, 480).with_velocity(90)],
        ..Track::default()
    });
    score.tracks.push(Track {
        is_drum: true,
        channel: 9,
        notes: vec![Note::new(42, 0, 60).with_velocity(100)],
        ..Track::default()
    });
    let audio = render_score_builtin(&score, &RenderOptions::default()).unwrap();
    let mono = audio.to_mono();
    assert!((audio.duration_seconds() - (2.5 + 1.0)).abs() < 0.002);
    assert!(rms(window(&mono, SR, 0.0, 0.05)) > 0.005, "hi-hat missing");
    assert!(
        rms(window(&mono, SR, 0.3, 1.45)) < 1e-3,
        "sound before the note"
    );
    let f = peak_frequency(window(&mono, SR, 1.7, 2.4), SR);
    assert!((f / pitch_to_hz(60) - 1.0).abs() < 0.03, "peak {f}");
    // Two tracks are panned apart: the channels differ.
    assert_ne!(audio.channel(0), audio.channel(1));
}

#[test]
fn empty_score_renders_the_tail_only() {
    let opts = RenderOptions {
        tail_seconds: 0.25,
        ..RenderOptions::default()
    };
    let audio = render_score_builtin(&Score::default(), &opts).unwrap();
    assert!((audio.duration_seconds() - 0.25).abs() < 1e-3);
    assert_eq!(audio.peak(), 0.0);
    assert!(render_score_builtin(
        &Score::default(),
        &RenderOptions {
            sample_rate: 0,
            ..RenderOptions::default()
        }
    )
    .is_err());
}

#[test]
fn wav_bytes_html_and_atomic_write() {
    let audio = Audio {
        sample_rate: 8_000,
        channels: 1,
        samples: vec![0.0, 0.5, -0.5, 1.5, -2.0],
    };
    let bytes = audio.to_wav_bytes().unwrap();
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!(&bytes[8..12], b"WAVE");

    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("out.wav");
    std::fs::write(&path, b"old").unwrap();
    audio.write_wav(&path).unwrap();
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("out.wav")],
        "temp file left"
    );
    let mut r = hound::WavReader::open(&path).unwrap();
    let s: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
    assert_eq!(s, vec![0, 16384, -16384, 32767, -32767]);

    // A parent that is a file, not a folder: the write must fail and name the file.
    let err = audio
        .write_wav(tmp.path().join("out.wav/x.wav"))
        .unwrap_err();
    assert!(format!("{err:#}").contains("x.wav"));

    let html = audio.to_html();
    let doc = roxmltree::Document::parse(&html).expect("HTML is well-formed XML");
    let el = doc.root_element();
    assert_eq!(el.tag_name().name(), "audio");
    assert!(el.has_attribute("controls"));
    let src = el.attribute("src").unwrap();
    assert!(
        src.starts_with("data:audio/ogg;base64,T2dnUw"),
        "{}",
        &src[..40]
    );

    let block = crate::notebook::evcxr_block("text/html", &html);
    assert!(block.starts_with("EVCXR_BEGIN_CONTENT text/html\n<audio"));
    assert!(block.ends_with("</audio>\nEVCXR_END_CONTENT"));

    let bad = Audio {
        sample_rate: 8_000,
        channels: 2,
        samples: vec![0.0; 3],
    };
    assert!(bad.to_wav_bytes().is_err());
    assert!(roxmltree::Document::parse(&bad.to_html()).is_ok());
}

fn texts(doc: &roxmltree::Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect()
}

#[test]
fn piano_roll_is_svg_with_pitch_labels_notes_and_bars() {
    let mut score = known_score(0);
    score.time_signatures.push(TimeSignature::new(0, 3, 4));
    let svg = piano_roll_svg(&score, "Known <score> & co").unwrap();
    let doc = roxmltree::Document::parse(svg.as_str()).expect("SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts = texts(&doc);
    for label in [
        "A4",
        "C5",
        "E5",
        "Known <score> & co",
        "pitch",
        "beats (quarter notes)",
    ] {
        assert!(
            texts.iter().any(|t| t == label),
            "no text {label:?} in {texts:?}"
        );
    }
    // Two notes with their colour, bar lines in 3/4: 0, 3 beats (and the closing one at 6).
    let rects = doc.descendants().filter(|n| n.has_tag_name("rect")).count();
    assert!(rects >= 2 + 3, "{rects} rects");
    assert_eq!(bar_ticks(&score, score.end_tick()), vec![0, 1440]);
    let block = crate::notebook::evcxr_block("image/svg+xml", svg.as_str());
    assert!(block.starts_with("EVCXR_BEGIN_CONTENT image/svg+xml\n<svg"));

    // Empty scores still plot, and a meter change moves the bar lines.
    assert!(piano_roll_svg(&Score::default(), "").is_ok());
    score.time_signatures.push(TimeSignature::new(1440, 6, 8));
    score.tracks[0]
        .notes
        .push(Note::new(40, 2880, 1000).with_velocity(60));
    assert_eq!(
        bar_ticks(&score, score.end_tick()),
        vec![0, 1440, 2880, 4320]
    );
    let wide = piano_roll_svg(&score, "wide").unwrap();
    let doc = roxmltree::Document::parse(wide.as_str()).unwrap();
    let texts = self::texts(&doc);
    assert!(texts.iter().any(|t| t == "C3"), "{texts:?}");
}

#[test]
fn pitch_names_use_scientific_octaves() {
    assert_eq!(pitch_name(60), "C4");
    assert_eq!(pitch_name(61), "C#4");
    assert_eq!(pitch_name(69), "A4");
    assert_eq!(pitch_name(21), "A0");
    assert_eq!(pitch_name(0), "C-1");
    assert_eq!(pitch_name(127), "G9");
}

#[test]
fn heatmap_is_svg_with_labels_and_cells() {
    let rows = vec![
        vec![0.0, 1.0, 2.0, 3.0],
        vec![f32::NAN, 0.5, 0.25],
        vec![-1.0, 4.0, 0.0, 1.0],
    ];
    let svg = heatmap_svg(&rows, "batch & frames", "time step", "example").unwrap();
    let doc = roxmltree::Document::parse(svg.as_str()).expect("SVG is well-formed XML");
    let texts = texts(&doc);
    for label in ["batch & frames", "time step", "example"] {
        assert!(
            texts.iter().any(|t| t == label),
            "no text {label:?} in {texts:?}"
        );
    }
    let rects = doc.descendants().filter(|n| n.has_tag_name("rect")).count();
    assert!(rects >= 12 + 64, "{rects} rects");

    // A large matrix is block-averaged, not drawn cell by cell.
    let big: Vec<Vec<f32>> = (0..1000)
        .map(|r| (0..1000).map(|c| ((r * c) % 7) as f32).collect())
        .collect();
    let svg = heatmap_svg(&big, "big", "x", "y").unwrap();
    assert!(svg.as_str().len() < 40_000_000);
    assert!(roxmltree::Document::parse(svg.as_str()).is_ok());

    assert!(heatmap_svg(&[], "empty", "x", "y").is_err());
    assert!(heatmap_svg(&[vec![]], "empty", "x", "y").is_err());
    // Constant data still gets a colour range.
    assert!(heatmap_svg(&[vec![2.0; 3]], "flat", "x", "y").is_ok());
}

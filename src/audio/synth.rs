//! Turning a [`Score`] into [`Audio`]: a SoundFont synthesizer (rustysynth) when a General MIDI
//! SoundFont can be found, else a small built-in additive synthesizer.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use anyhow::{anyhow, bail, ensure, Context, Result};
use rustysynth::{SoundFont, Synthesizer, SynthesizerSettings};

use super::wave::Audio;
use crate::score::{Note, Score};

/// Environment variable naming a SoundFont (`.sf2`) file; it takes precedence over all other places.
pub const SOUNDFONT_ENV: &str = "TUNESMITH_SOUNDFONT";

/// Where Debian's `timgm6mb-soundfont` and `fluid-soundfont-gm` packages put their SoundFonts.
pub const SYSTEM_SOUNDFONT_DIR: &str = "/usr/share/sounds/sf2";

/// How a score is rendered to audio.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderOptions {
    /// Output sample rate in Hz (default 44,100). The SoundFont synth accepts 16,000..=192,000.
    pub sample_rate: u32,
    /// SoundFont to use; `None` means [`find_soundfont`] decides (and the built-in synth is used
    /// when it finds none).
    pub soundfont: Option<PathBuf>,
    /// The output is scaled so its largest sample has this magnitude (default 0.9). A value
    /// `<= 0` turns normalisation off; the output is then only scaled down if it would clip.
    pub normalize_peak: f32,
    /// Seconds rendered after the last note ends, for release tails and reverb (default 1.0).
    pub tail_seconds: f32,
    /// SoundFont synth only: apply rustysynth's reverb and chorus (default true). Turn it off
    /// for dry output, e.g. for analysis.
    pub reverb: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            sample_rate: 44_100,
            soundfont: None,
            normalize_peak: 0.9,
            tail_seconds: 1.0,
            reverb: true,
        }
    }
}

/// Renders `score` to stereo audio with the SoundFont in `opts.soundfont`, else the one
/// [`find_soundfont`] finds, else with the built-in synth ([`render_score_builtin`]).
///
/// An explicit or found SoundFont that cannot be read is an error (naming the file), not a
/// silent fallback.
pub fn render_score(score: &Score, opts: &RenderOptions) -> Result<Audio> {
    match opts.soundfont.clone().or_else(find_soundfont) {
        Some(sf2) => render_score_soundfont(score, &sf2, opts),
        None => render_score_builtin(score, opts),
    }
}

// ---------------------------------------------------------------------------------------------
// SoundFont lookup
// ---------------------------------------------------------------------------------------------

/// Finds a General MIDI SoundFont, looking in order at:
/// 1. the `TUNESMITH_SOUNDFONT` environment variable (returned as is when set and non-empty, so
///    a wrong path gives an error naming it rather than a silent fallback);
/// 2. `/usr/share/sounds/sf2/*.sf2` (`default-GM.sf2` first, then by name);
/// 3. the `TimGM6mb.sf2` bundled with the `pretty_midi` pip package in a Python virtual
///    environment: `$VIRTUAL_ENV`, then `.venv` in the current directory or any ancestor
///    (`lib/python3*/site-packages/pretty_midi/TimGM6mb.sf2`).
pub fn find_soundfont() -> Option<PathBuf> {
    find_soundfont_in(
        std::env::var_os(SOUNDFONT_ENV).map(PathBuf::from),
        Path::new(SYSTEM_SOUNDFONT_DIR),
        std::env::var_os("VIRTUAL_ENV").map(PathBuf::from),
        std::env::current_dir().ok(),
    )
}

/// [`find_soundfont`] with its inputs spelled out (for tests).
fn find_soundfont_in(
    env: Option<PathBuf>,
    system_dir: &Path,
    virtual_env: Option<PathBuf>,
    cwd: Option<PathBuf>,
) -> Option<PathBuf> {
    if let Some(p) = env.filter(|p| !p.as_os_str().is_empty()) {
        return Some(p);
    }
    if let Some(p) = system_soundfont(system_dir) {
        return Some(p);
    }
    let mut venvs: Vec<PathBuf> = virtual_env.into_iter().collect();
    if let Some(cwd) = cwd {
        venvs.extend(cwd.ancestors().map(|d| d.join(".venv")));
    }
    venvs.iter().find_map(|v| pretty_midi_soundfont(v))
}

fn system_soundfont(dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("sf2")) && p.is_file())
        .collect();
    found.sort_by_key(|p| {
        (
            p.file_name().is_none_or(|n| n != "default-GM.sf2"),
            p.clone(),
        )
    });
    found.into_iter().next()
}

fn pretty_midi_soundfont(venv: &Path) -> Option<PathBuf> {
    let mut libs: Vec<PathBuf> = std::fs::read_dir(venv.join("lib"))
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .map(|e| e.path())
        .collect();
    libs.sort();
    libs.into_iter()
        .rev()
        .map(|lib| lib.join("site-packages/pretty_midi/TimGM6mb.sf2"))
        .find(|p| p.is_file())
}

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// A note placed in sample frames.
struct PlacedNote {
    track: usize,
    note: Note,
    start: usize,
    end: usize,
}

fn seconds_to_frame(seconds: f64, sample_rate: u32) -> usize {
    (seconds * f64::from(sample_rate)).round().max(0.0) as usize
}

/// Every note of the score with its start and end frame (end > start), plus the total length.
fn place_notes(score: &Score, sample_rate: u32, tail_seconds: f32) -> (Vec<PlacedNote>, usize) {
    let mut placed = Vec::with_capacity(score.note_count());
    for (ti, track) in score.tracks.iter().enumerate() {
        for note in &track.notes {
            let start = seconds_to_frame(score.tick_to_seconds(note.start), sample_rate);
            let end = seconds_to_frame(score.tick_to_seconds(note.end()), sample_rate);
            placed.push(PlacedNote {
                track: ti,
                note: *note,
                start,
                end: end.max(start + 1),
            });
        }
    }
    let last = placed.iter().map(|n| n.end).max().unwrap_or(0);
    let tail = seconds_to_frame(f64::from(tail_seconds.max(0.0)), sample_rate);
    (placed, last + tail)
}

/// Scales `samples` so the peak is `target` (or, with `target <= 0`, only down to 1.0).
fn normalize(samples: &mut [f32], target: f32) {
    for s in samples.iter_mut() {
        if !s.is_finite() {
            *s = 0.0;
        }
    }
    let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    if peak <= 0.0 {
        return;
    }
    let goal = if target > 0.0 {
        target.min(1.0)
    } else if peak > 1.0 {
        1.0
    } else {
        return;
    };
    let gain = goal / peak;
    for s in samples.iter_mut() {
        *s = (*s * gain).clamp(-1.0, 1.0);
    }
}

/// Stereo audio of the channels `left` and `right`, interleaved and [`normalize`]d to the peak
/// `target`.
fn stereo_audio(left: &[f32], right: &[f32], sample_rate: u32, target: f32) -> Audio {
    let mut samples = Vec::with_capacity(left.len() * 2);
    for (l, r) in left.iter().zip(right) {
        samples.push(*l);
        samples.push(*r);
    }
    normalize(&mut samples, target);
    Audio {
        sample_rate,
        channels: 2,
        samples,
    }
}

// ---------------------------------------------------------------------------------------------
// SoundFont synth
// ---------------------------------------------------------------------------------------------

type CachedFont = (PathBuf, u64, Option<SystemTime>, Arc<SoundFont>);

/// The last SoundFont loaded, so re-rendering in a notebook does not re-parse it.
static SOUNDFONT_CACHE: Mutex<Option<CachedFont>> = Mutex::new(None);

/// Loads a SoundFont file (cached while the file's size and modification time stay the same).
fn load_soundfont(path: &Path) -> Result<Arc<SoundFont>> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read SoundFont {}", path.display()))?;
    ensure!(
        meta.is_file(),
        "cannot read SoundFont {}: not a file",
        path.display()
    );
    let (len, mtime) = (meta.len(), meta.modified().ok());
    let cached = SOUNDFONT_CACHE.lock().ok().and_then(|cache| {
        cache
            .as_ref()
            .filter(|(p, l, m, _)| p == path && *l == len && *m == mtime)
            .map(|(_, _, _, sf)| Arc::clone(sf))
    });
    if let Some(sf) = cached {
        return Ok(sf);
    }
    let file =
        File::open(path).with_context(|| format!("cannot read SoundFont {}", path.display()))?;
    let sf = SoundFont::new(&mut BufReader::new(file))
        .map_err(|e| anyhow!("cannot read SoundFont {}: {e}", path.display()))?;
    let sf = Arc::new(sf);
    if let Ok(mut cache) = SOUNDFONT_CACHE.lock() {
        *cache = Some((path.to_path_buf(), len, mtime, Arc::clone(&sf)));
    }
    Ok(sf)
}

/// Picks a MIDI channel for every track: drums on channel 9 (index of MIDI channel 10), every
/// distinct melodic program on its own channel among the other 15 (shared when there are more).
fn assign_channels(score: &Score) -> Vec<u8> {
    let free: Vec<u8> = (0u8..16).filter(|&c| c != 9).collect();
    let mut by_program: HashMap<u8, u8> = HashMap::new();
    score
        .tracks
        .iter()
        .map(|t| {
            if t.is_drum {
                9
            } else {
                let n = by_program.len();
                *by_program
                    .entry(t.program.min(127))
                    .or_insert(free[n % free.len()])
            }
        })
        .collect()
}

/// Renders `score` with the SoundFont at `sf2_path` (rustysynth): each track's General MIDI
/// program is selected by a program change, drum tracks play on channel 9, and note on/off
/// events are placed with the score's tempo map. Output is stereo at `opts.sample_rate`.
pub fn render_score_soundfont(
    score: &Score,
    sf2_path: impl AsRef<Path>,
    opts: &RenderOptions,
) -> Result<Audio> {
    let sf2_path = sf2_path.as_ref();
    let sr = opts.sample_rate;
    ensure!(
        (16_000..=192_000).contains(&sr),
        "the SoundFont synth needs a sample rate in 16000..=192000 Hz, got {sr}"
    );
    let font = load_soundfont(sf2_path)?;
    let mut settings = SynthesizerSettings::new(sr as i32);
    settings.maximum_polyphony = 256;
    settings.enable_reverb_and_chorus = opts.reverb;
    let mut synth = Synthesizer::new(&font, &settings).map_err(|e| {
        anyhow!(
            "cannot start a synthesizer with SoundFont {}: {e}",
            sf2_path.display()
        )
    })?;

    let channels = assign_channels(score);
    let mut programmed = [false; 16];
    for (track, &ch) in score.tracks.iter().zip(&channels) {
        if !programmed[usize::from(ch)] {
            programmed[usize::from(ch)] = true;
            let program = if track.is_drum {
                0
            } else {
                track.program.min(127)
            };
            synth.process_midi_message(i32::from(ch), 0xC0, i32::from(program), 0);
        }
    }

    let (placed, total) = place_notes(score, sr, opts.tail_seconds);
    // (frame, is_note_on, channel, key, velocity); offs sort before ons at the same frame.
    let mut events: Vec<(usize, bool, u8, u8, u8)> = Vec::with_capacity(placed.len() * 2);
    for p in &placed {
        let ch = channels[p.track];
        let key = p.note.pitch.min(127);
        let vel = p.note.velocity.clamp(1, 127);
        events.push((p.start, true, ch, key, vel));
        events.push((p.end, false, ch, key, 0));
    }
    events.sort_unstable_by_key(|e| (e.0, e.1));

    let mut left = vec![0.0f32; total];
    let mut right = vec![0.0f32; total];
    let mut pos = 0usize;
    for &(frame, on, ch, key, vel) in &events {
        let frame = frame.min(total);
        if frame > pos {
            synth.render(&mut left[pos..frame], &mut right[pos..frame]);
            pos = frame;
        }
        if on {
            synth.note_on(i32::from(ch), i32::from(key), i32::from(vel));
        } else {
            synth.note_off(i32::from(ch), i32::from(key));
        }
    }
    if pos < total {
        synth.render(&mut left[pos..], &mut right[pos..]);
    }

    Ok(stereo_audio(&left, &right, sr, opts.normalize_peak))
}

// ---------------------------------------------------------------------------------------------
// Built-in synth
// ---------------------------------------------------------------------------------------------

/// Timbre of the built-in synth: harmonic amplitudes and an ADSR envelope (seconds; sustain is
/// a level).
struct Voice {
    harmonics: &'static [f32],
    attack: f32,
    decay: f32,
    sustain: f32,
    release: f32,
}

/// A rough timbre per General MIDI family (program / 8).
fn voice_for_program(program: u8) -> Voice {
    let v = |harmonics, attack, decay, sustain, release| Voice {
        harmonics,
        attack,
        decay,
        sustain,
        release,
    };
    match program / 8 {
        0 => v(&[1.0, 0.45, 0.25, 0.12, 0.06], 0.005, 0.6, 0.3, 0.05), // piano
        1 => v(&[1.0, 0.15, 0.3, 0.05], 0.002, 0.3, 0.1, 0.06),        // chromatic percussion
        2 => v(&[1.0, 0.6, 0.4, 0.3, 0.2, 0.1], 0.01, 0.05, 0.9, 0.05), // organ
        3 => v(&[1.0, 0.5, 0.3, 0.2, 0.1], 0.003, 0.4, 0.25, 0.05),    // guitar
        4 => v(&[1.0, 0.6, 0.2], 0.005, 0.25, 0.6, 0.05),              // bass
        5 | 6 => v(&[1.0, 0.5, 0.33, 0.25, 0.2, 0.16], 0.05, 0.1, 0.85, 0.1), // strings, ensemble
        7 | 8 => v(&[1.0, 0.7, 0.5, 0.35, 0.2], 0.03, 0.1, 0.8, 0.06), // brass, reed
        9 => v(&[1.0, 0.1, 0.05], 0.03, 0.05, 0.9, 0.06),              // pipe
        _ => v(&[1.0, 0.5, 0.25, 0.12], 0.01, 0.1, 0.7, 0.06),
    }
}

/// ADSR level `t` seconds after the onset of a note held for `held` seconds.
fn envelope(v: &Voice, t: f32, held: f32) -> f32 {
    let ad = |t: f32| {
        if t < v.attack {
            t / v.attack
        } else {
            let d = (t - v.attack) / v.decay;
            if d < 1.0 {
                1.0 - (1.0 - v.sustain) * d
            } else {
                v.sustain
            }
        }
    };
    if t < held {
        ad(t)
    } else {
        let r = (t - held) / v.release;
        if r >= 1.0 {
            0.0
        } else {
            ad(held) * (1.0 - r)
        }
    }
}

/// Equal-temperament frequency of a MIDI pitch, A4 (69) = 440 Hz.
pub fn pitch_to_hz(pitch: u8) -> f64 {
    440.0 * 2f64.powf((f64::from(pitch) - 69.0) / 12.0)
}

fn velocity_gain(velocity: u8) -> f32 {
    (f32::from(velocity.clamp(1, 127)) / 127.0).powf(1.6)
}

/// Adds one harmonic tone into `out` (starting at `out[0]`).
fn add_tone(out: &mut [f32], note: &Note, held: usize, voice: &Voice, sr: u32) {
    let srf = sr as f32;
    let f0 = pitch_to_hz(note.pitch);
    let nyquist = f64::from(sr) * 0.45;
    let count = voice
        .harmonics
        .iter()
        .enumerate()
        .take_while(|(h, _)| f0 * (*h as f64 + 1.0) < nyquist)
        .count()
        .max(1);
    let amps = &voice.harmonics[..count];
    let norm: f32 = amps.iter().sum();
    let gain = velocity_gain(note.velocity) / norm;
    let step = f0 / f64::from(sr);
    let held_s = held as f32 / srf;
    let mut phase = 0.0f64;
    for (i, o) in out.iter_mut().enumerate() {
        let env = envelope(voice, i as f32 / srf, held_s);
        let theta = (phase * std::f64::consts::TAU) as f32;
        let (s1, c1) = theta.sin_cos();
        // sin(kθ) by the Chebyshev recurrence sin((k+1)θ) = 2cosθ·sin(kθ) − sin((k−1)θ).
        let (mut prev, mut cur) = (0.0f32, s1);
        let mut acc = 0.0f32;
        for &a in amps {
            acc += a * cur;
            let next = 2.0 * c1 * cur - prev;
            prev = cur;
            cur = next;
        }
        *o += gain * env * acc;
        phase += step;
        if phase >= 1.0 {
            phase -= 1.0;
        }
    }
}

/// Small deterministic noise source (xorshift32) for drums.
struct Noise(u32);

impl Noise {
    fn next(&mut self) -> f32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        (x as f32 / u32::MAX as f32) * 2.0 - 1.0
    }
}

/// Length in seconds of a drum hit in the built-in synth.
fn drum_length(pitch: u8) -> f32 {
    match pitch {
        42 | 44 => 0.08,
        49 | 51 | 52 | 55 | 57 | 59 => 0.6,
        _ => 0.3,
    }
}

/// Adds a General MIDI percussion sound: kicks and toms are pitched thumps, the rest noise
/// bursts with a decay that depends on the instrument.
fn add_drum(out: &mut [f32], note: &Note, sr: u32) {
    let srf = sr as f32;
    let gain = velocity_gain(note.velocity);
    let mut noise = Noise(0x9E37_79B9 ^ (u32::from(note.pitch) << 16) ^ note.start);
    let tau = match note.pitch {
        35 | 36 => 0.12,
        41 | 43 | 45 | 47 | 48 | 50 => 0.15,
        38 | 40 => 0.07,
        42 | 44 => 0.02,
        46 => 0.12,
        49 | 51 | 52 | 55 | 57 | 59 => 0.25,
        _ => 0.05,
    };
    let mut phase = 0.0f32;
    let mut last = 0.0f32;
    for (i, o) in out.iter_mut().enumerate() {
        let t = i as f32 / srf;
        let env = (-t / tau).exp() * (t / 0.001).min(1.0);
        let s = match note.pitch {
            35 | 36 | 41 | 43 | 45 | 47 | 48 | 50 => {
                let base = if note.pitch <= 36 {
                    50.0
                } else {
                    80.0 + 12.0 * f32::from(note.pitch - 41)
                };
                let f = base * (1.0 + 1.5 * (-t / 0.03).exp());
                phase += f / srf;
                (phase * std::f32::consts::TAU).sin()
            }
            38 | 40 => {
                phase += 185.0 / srf;
                0.6 * noise.next() + 0.4 * (phase * std::f32::consts::TAU).sin()
            }
            _ => {
                // First difference of white noise: a brighter, hi-hat-like hiss.
                let n = noise.next();
                let hp = n - last;
                last = n;
                0.5 * hp
            }
        };
        *o += gain * env * s;
    }
}

/// Renders `score` with the built-in synth: per note a sum of sine harmonics (timbre chosen by
/// the General MIDI family of the track's program) under an ADSR envelope, pitch by equal
/// temperament (A4 = 440 Hz), velocity as amplitude; drum tracks as short noise bursts and
/// pitched thumps. Tracks are spread across the stereo field; output is stereo.
pub fn render_score_builtin(score: &Score, opts: &RenderOptions) -> Result<Audio> {
    let sr = opts.sample_rate;
    if !(1_000..=384_000).contains(&sr) {
        bail!("the built-in synth needs a sample rate in 1000..=384000 Hz, got {sr}");
    }
    let (placed, total) = place_notes(score, sr, opts.tail_seconds);
    let n_tracks = score.tracks.len();
    let mut left = vec![0.0f32; total];
    let mut right = vec![0.0f32; total];
    let mut scratch: Vec<f32> = Vec::new();
    for ti in 0..n_tracks {
        let track = &score.tracks[ti];
        if track.notes.is_empty() {
            continue;
        }
        // Equal-power pan, tracks spread over -0.4..=0.4.
        let pan = if n_tracks > 1 {
            -0.4 + 0.8 * ti as f32 / (n_tracks - 1) as f32
        } else {
            0.0
        };
        let angle = (pan + 1.0) * std::f32::consts::FRAC_PI_4;
        let (gl, gr) = (angle.cos(), angle.sin());
        scratch.clear();
        scratch.resize(total, 0.0);
        let voice = voice_for_program(track.program);
        for p in placed.iter().filter(|p| p.track == ti) {
            let held = p.end - p.start;
            let len = if track.is_drum {
                seconds_to_frame(f64::from(drum_length(p.note.pitch)), sr)
            } else {
                held + seconds_to_frame(f64::from(voice.release), sr)
            };
            let end = (p.start + len).min(total);
            if end <= p.start {
                continue;
            }
            let out = &mut scratch[p.start..end];
            if track.is_drum {
                add_drum(out, &p.note, sr);
            } else {
                add_tone(out, &p.note, held, &voice, sr);
            }
        }
        for ((l, r), s) in left.iter_mut().zip(right.iter_mut()).zip(&scratch) {
            *l += gl * s;
            *r += gr * s;
        }
    }
    Ok(stereo_audio(&left, &right, sr, opts.normalize_peak))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_order_env_then_system_then_venv() {
        let tmp = tempfile::tempdir().unwrap();
        let sys = tmp.path().join("sf2");
        std::fs::create_dir_all(&sys).unwrap();
        let venv = tmp.path().join("proj/.venv");
        let pm = venv.join("lib/python3.11/site-packages/pretty_midi");
        std::fs::create_dir_all(&pm).unwrap();
        std::fs::write(pm.join("TimGM6mb.sf2"), b"x").unwrap();
        let deep = tmp.path().join("proj/notebooks/a");
        std::fs::create_dir_all(&deep).unwrap();

        // venv found from a nested working directory
        let found = find_soundfont_in(None, &sys, None, Some(deep.clone()));
        assert_eq!(found, Some(pm.join("TimGM6mb.sf2")));
        // and through VIRTUAL_ENV
        let found = find_soundfont_in(None, &sys, Some(venv.clone()), None);
        assert_eq!(found, Some(pm.join("TimGM6mb.sf2")));
        // system directory wins over the venv, default-GM first
        std::fs::write(sys.join("FluidR3_GM.sf2"), b"x").unwrap();
        std::fs::write(sys.join("default-GM.sf2"), b"x").unwrap();
        let found = find_soundfont_in(None, &sys, None, Some(deep.clone()));
        assert_eq!(found, Some(sys.join("default-GM.sf2")));
        // the environment variable wins over everything
        let env = PathBuf::from("/somewhere/custom.sf2");
        let found = find_soundfont_in(Some(env.clone()), &sys, None, Some(deep));
        assert_eq!(found, Some(env));
        // nothing anywhere
        let empty = tmp.path().join("nothing");
        assert_eq!(
            find_soundfont_in(None, &empty, None, Some(empty.clone())),
            None
        );
    }

    #[test]
    fn unreadable_soundfont_error_names_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let bad = tmp.path().join("broken.sf2");
        std::fs::write(&bad, b"not a soundfont").unwrap();
        let score = Score::default();
        for path in [bad.clone(), tmp.path().join("missing.sf2")] {
            let err = render_score_soundfont(&score, &path, &RenderOptions::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains(&path.display().to_string()), "{err}");
        }
        let opts = RenderOptions {
            soundfont: Some(bad.clone()),
            ..RenderOptions::default()
        };
        let err = format!("{:#}", render_score(&score, &opts).unwrap_err());
        assert!(err.contains("broken.sf2"), "{err}");
    }

    #[test]
    fn channels_keep_drums_on_nine_and_split_programs() {
        use crate::score::Track;
        let mut score = Score::default();
        for (program, is_drum) in [(0, false), (40, false), (0, true), (0, false), (73, false)] {
            score.tracks.push(Track {
                program,
                is_drum,
                ..Track::default()
            });
        }
        assert_eq!(assign_channels(&score), vec![0, 1, 9, 0, 2]);
    }

    #[test]
    fn envelope_is_continuous_at_note_off_and_ends_at_zero() {
        let v = voice_for_program(0);
        let held = 0.3;
        let before = envelope(&v, held - 1e-4, held);
        let after = envelope(&v, held + 1e-4, held);
        assert!((before - after).abs() < 0.01);
        assert_eq!(envelope(&v, held + v.release + 1e-3, held), 0.0);
        assert!((pitch_to_hz(69) - 440.0).abs() < 1e-9);
        assert!((pitch_to_hz(60) - 261.6256).abs() < 1e-3);
    }

    #[test]
    fn normalize_hits_the_target_peak() {
        let mut s = vec![0.1, -0.5, 0.25];
        normalize(&mut s, 0.9);
        assert!((s[1] + 0.9).abs() < 1e-6);
        let mut loud = vec![2.0, -4.0];
        normalize(&mut loud, 0.0);
        assert_eq!(loud, vec![0.5, -1.0]);
        let mut silent = vec![0.0; 4];
        normalize(&mut silent, 0.9);
        assert_eq!(silent, vec![0.0; 4]);
    }
}

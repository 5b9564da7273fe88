//! Tempo, beat, downbeat and key analysis measured on a generated corpus with known answers
//! (`tests/common/corpus.rs`); the table it prints is the one in docs/analysis.md
//! (`cargo test --release --test suite analysis::accuracy -- --nocapture`).

use padlooper::sample::analysis::{Analysis, Analyzer, Key, Prefs};

use crate::common::corpus::{self, Piece};

fn analyse(p: &Piece) -> Analysis {
    let mut a = Analyzer::new(p.rate, 2);
    for block in p.samples.chunks(2 * 1000) {
        a.push(block);
    }
    a.finish(&p.name, &Prefs::default()).expect("analysis")
}

/// Beat F-measure at ±70 ms (as MIREX scores beat tracking).
fn f_measure(est: &[f64], truth: &[f64], tol: f64) -> f64 {
    if est.is_empty() || truth.is_empty() {
        return 0.0;
    }
    let mut used = vec![false; est.len()];
    let mut hits = 0;
    for t in truth {
        if let Some(i) = (0..est.len()).find(|&i| !used[i] && (est[i] - t).abs() <= tol) {
            used[i] = true;
            hits += 1;
        }
    }
    let p = hits as f64 / est.len() as f64;
    let r = hits as f64 / truth.len() as f64;
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// The share of estimated downbeats within `tol` of a true one.
fn downbeat_hits(est: &[f64], truth: &[f64], tol: f64) -> f64 {
    if est.is_empty() {
        return 0.0;
    }
    let hit = est
        .iter()
        .filter(|e| truth.iter().any(|t| (*e - t).abs() <= tol))
        .count();
    hit as f64 / est.len() as f64
}

/// Octave error: the estimate is a simple ratio (2, 1/2, 3/2, 2/3) of the truth.
fn octave(est: f64, truth: f64) -> Option<&'static str> {
    let r = est / truth;
    [
        (2.0, "x2"),
        (0.5, "x1/2"),
        (1.5, "x3/2"),
        (2.0 / 3.0, "x2/3"),
    ]
    .into_iter()
    .find(|(q, _)| (r - q).abs() < 0.02)
    .map(|(_, n)| n)
}

struct Row {
    name: String,
    bpm_err: Option<f64>,
    f: f64,
    first_db_err: Option<f64>,
    db: f64,
    key: f64,
}

fn measure(p: &Piece, a: &Analysis) -> Row {
    let bpm_err = match (p.bpm, a.tempo) {
        (Some(t), Some(e)) => Some(e.bpm - t),
        _ => None,
    };
    let first_db_err = a.first_downbeat().and_then(|d| {
        p.downbeats
            .iter()
            .map(|t| d - t)
            .min_by(|x, y| x.abs().total_cmp(&y.abs()))
    });
    let key = match (p.key, a.key) {
        (Some((tonic, minor)), Some(k)) => k.mirex_score(&Key { tonic, minor }),
        _ => 0.0,
    };
    Row {
        name: p.name.clone(),
        bpm_err,
        f: f_measure(&a.beats, &p.beats, 0.07),
        first_db_err,
        db: downbeat_hits(&a.downbeats, &p.downbeats, 0.07),
        key,
    }
}

fn report(p: &Piece, a: &Analysis, r: &Row) {
    let t = a.tempo;
    eprintln!(
        "| {:<20} | {:>7} | {:>7} | {:>5} | {:>4.2} | {:>8} | {:>4.2} | {:>13} {:>4.2} | {:>4.2} |",
        r.name,
        p.bpm.map_or("-".into(), |b| format!("{b:.1}")),
        t.map_or("-".into(), |t| format!("{:.2}", t.bpm)),
        t.map_or("-".into(), |t| format!("{:.2}", t.confidence)),
        r.f,
        r.first_db_err
            .map_or("-".into(), |e| format!("{:+.1}ms", e * 1000.0)),
        r.db,
        a.key.map_or("-".into(), |k| k.name()),
        a.key_confidence,
        r.key,
    );
}

fn write_corpus_piece(dir: &std::path::Path, p: &Piece) {
    std::fs::create_dir_all(dir).unwrap();
    let name = p.name.replace(' ', "_");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: p.rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(dir.join(format!("{name}.wav")), spec).unwrap();
    for s in &p.samples {
        w.write_sample((s * 32767.0).round() as i16).unwrap();
    }
    w.finalize().unwrap();
    let truth = serde_json::json!({
        "bpm": p.bpm, "steady": p.steady, "beats": p.beats, "downbeats": p.downbeats,
        "key": p.key.map(|(t, m)| Key { tonic: t, minor: m }.name()),
    });
    std::fs::write(dir.join(format!("{name}.json")), truth.to_string()).unwrap();
}

#[test]
fn accuracy_on_the_corpus() {
    accuracy(
        &corpus::loops()
            .into_iter()
            .chain(corpus::tracks())
            .collect::<Vec<_>>(),
    );
}

/// Pieces made after the analysis was written and tuned (other patterns, noise, loops cut
/// mid-bar, 6 minutes): the same thresholds.
#[test]
fn accuracy_on_pieces_it_was_not_tuned_on() {
    accuracy(&corpus::held_out());
}

fn accuracy(recipes: &[corpus::Recipe]) {
    eprintln!(
        "| piece | true BPM | found | conf | beat F (±70 ms) | 1st downbeat | downbeats (±70 ms) | key, conf | MIREX |"
    );
    let mut octaves = Vec::new();
    let mut results = Vec::new();
    for recipe in recipes {
        let p = corpus::make(recipe);
        let a = analyse(&p);
        let r = measure(&p, &a);
        report(&p, &a, &r);
        if let Some(dir) = std::env::var_os("PADLOOPER_WRITE_CORPUS") {
            // The corpus as WAV files with their truth, for comparing other analysers.
            write_corpus_piece(std::path::Path::new(&dir), &p);
        }
        results.push((p, a, r));
    }
    for (p, a, r) in results {
        let truth = p.bpm.unwrap();
        let t = a
            .tempo
            .unwrap_or_else(|| panic!("{}: no tempo found", p.name));
        if let Some(o) = octave(t.bpm, truth) {
            octaves.push((p.name.clone(), o));
            continue;
        }
        if p.steady {
            assert!(
                r.bpm_err.unwrap().abs() <= 0.5,
                "{}: {:.2} BPM, truth {truth}",
                p.name,
                t.bpm
            );
            assert!(t.steady, "{}: a steady tempo reported as drifting", p.name);
            assert!(
                r.first_db_err.unwrap().abs() <= 0.020,
                "{}: first downbeat {:?} s off",
                p.name,
                r.first_db_err
            );
            assert!(r.f >= 0.95, "{}: beat F-measure {:.2}", p.name, r.f);
        } else {
            assert!(!t.steady, "{}: a ramp reported as steady", p.name);
            assert!(r.f >= 0.8, "{}: beat F-measure {:.2}", p.name, r.f);
        }
        assert_eq!(r.key, 1.0, "{}: key {:?}", p.name, a.key.map(|k| k.name()));
    }
    assert!(octaves.is_empty(), "octave errors: {octaves:?}");
}

#[test]
fn pieces_without_a_beat_say_so() {
    for p in corpus::odd() {
        let mut a = Analyzer::new(p.rate, 2);
        a.push(&p.samples);
        match a.finish(&p.name, &Prefs::default()) {
            Ok(a) => {
                eprintln!(
                    "{}: tempo {:?}, key {:?} ({:.2})",
                    p.name,
                    a.tempo,
                    a.key.map(|k| k.name()),
                    a.key_confidence
                );
                if let Some(t) = a.tempo {
                    assert!(
                        t.confidence < 0.3,
                        "{}: tempo {t:?} with confidence",
                        p.name
                    );
                }
                assert!(a.tempo.is_none() || p.name == "white noise", "{}", p.name);
            }
            Err(e) => {
                assert!(p.name.contains("0.5 s"), "{}: {e}", p.name);
                assert!(e.to_string().contains("too short"), "{e}");
            }
        }
    }
}

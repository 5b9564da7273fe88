//! Overdub, undo, redo and clear, offline and bit for bit: a one-bar take of an input file,
//! then the input summed into it where it was heard (earlier layers at the feedback), the pad
//! playing the layers from the next time round, undo and redo swapping the passes in place,
//! clear and its undo, and each pass written whole to the recordings folder.

use padlooper::control::record::WriterNews;
use padlooper::engine::event::EventKind;
use padlooper::engine::record::Refusal;

use super::recording::{BAR, Rec, noise, run, wav_frames};
use crate::common::{RATE, tmp, write_wav16};

/// Whether `got` is `want` within float rounding.
fn near(got: [f32; 2], want: [f32; 2]) -> bool {
    (got[0] - want[0]).abs() < 1e-5 && (got[1] - want[1]).abs() < 1e-5
}

/// Checks that bar `bar` of the output (after a 10 ms settle) is `want(q)` at loop frame `q`.
fn bar_is(r: &Rec, bar: usize, what: &str, want: impl Fn(usize) -> [f32; 2]) {
    for q in 480..BAR {
        let got = r.frame(bar * BAR + q);
        assert!(
            near(got, want(q)),
            "{what}: bar {bar}, loop frame {q}: {got:?} vs {:?}",
            want(q)
        );
    }
}

/// The take: bar 2 of the input (2.0–4.0 s), playing from 4.0 s.
fn take(r: &Rec, q: usize) -> [f32; 2] {
    r.input(BAR + q)
}

/// `was × fb + input` as the engine computes it, in float32.
fn layer(was: [f32; 2], fb: f32, input: [f32; 2]) -> [f32; 2] {
    [was[0] * fb + input[0], was[1] * fb + input[1]]
}

#[test]
fn an_overdub_sums_the_input_in_at_the_feedback_and_undo_redo_swap_it_in_place() {
    let dir = tmp();
    write_wav16(&dir.path().join("in.wav"), RATE, 20.0, noise);
    let r = run(
        dir.path(),
        "[master]\nbpm = 120\nrecord_seconds = 10\noverdub_feedback = 0.5\n",
        "0 transport start\n0.5 record 0 1\n2.5 record 0 1 stop\n\
         6.0 overdub 0 1\n8.0 overdub 0 1\n12.0 undo 0 1\n14.0 redo 0 1\n",
        16.0,
    );
    assert_eq!(
        r.at(|k| matches!(k, EventKind::RecordPlaying(1))),
        Some(2 * BAR as u64)
    );
    assert_eq!(
        r.at(|k| matches!(k, EventKind::OverdubStarted(1))),
        Some(3 * BAR as u64)
    );
    let playing = r.at(|k| matches!(k, EventKind::OverdubPlaying(1))).unwrap();
    assert!(
        (4 * BAR as u64..4 * BAR as u64 + 2048).contains(&playing),
        "the pad plays the layers once the time round is in: {playing}"
    );
    assert!(r.at(|k| matches!(k, EventKind::RecordDone(1))).is_some());
    // Bar 3 (6–8 s), while the pass records: the take as it was.
    bar_is(&r, 3, "during the pass", |q| take(&r, q));
    // Bars 4 and 5: the take at half level plus what was played over bar 3, where it was
    // played.
    let dub = |q: usize| layer(take(&r, q), 0.5, r.input(3 * BAR + q));
    bar_is(&r, 4, "after the pass", dub);
    bar_is(&r, 5, "a time round later", dub);
    // Undo at 12 s: the take again, in place; redo at 14 s: the layers again.
    assert!(r.at(|k| matches!(k, EventKind::RecordUndone(1, _, true))) == Some(6 * BAR as u64));
    bar_is(&r, 6, "after undo", |q| take(&r, q));
    bar_is(&r, 7, "after redo", dub);
    // The pad never stopped.
    assert!(r.at(|k| matches!(k, EventKind::PadStopped(1))).is_none());
    // On disk: the take, then the pass whole (the loop with its layers), exactly.
    let files: Vec<_> = r
        .news
        .iter()
        .map(|n| match n {
            WriterNews::Written(t) => t.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(files[1].frames as usize, BAR);
    let frames = wav_frames(&files[1].path);
    assert_eq!(frames.len(), BAR);
    for (q, f) in frames.iter().enumerate() {
        assert!(near(*f, dub(q)), "file frame {q}: {f:?} vs {:?}", dub(q));
    }
    assert!(files[1].path.file_name().unwrap().to_str().unwrap() == "b0-p1-take2.wav");
}

#[test]
fn an_overdub_over_two_times_round_layers_both_and_clear_is_undone() {
    let dir = tmp();
    write_wav16(&dir.path().join("in.wav"), RATE, 20.0, noise);
    // Pass from 6.0 s to 10.0 s: two times round. Cleared at 12 s, back at 14 s.
    let r = run(
        dir.path(),
        "[master]\nbpm = 120\nrecord_seconds = 10\n",
        "0 transport start\n0.5 record 0 1\n2.5 record 0 1 stop\n\
         6.0 overdub 0 1\n10.0 overdub 0 1\n12.0 clear 0 1\n13.0 press 0 1\n14.0 undo 0 1\n\
         14.0 press 0 1\n",
        16.0,
    );
    let one = |q: usize| layer(take(&r, q), 1.0, r.input(3 * BAR + q));
    let two = |q: usize| layer(one(q), 1.0, r.input(4 * BAR + q));
    // Bar 4: the first time round's layer is heard while the second is recorded over it.
    bar_is(&r, 4, "second time round", one);
    bar_is(&r, 5, "after the pass", two);
    // Cleared: silence (a press on the cleared pad finds nothing to play).
    assert!(r.at(|k| matches!(k, EventKind::RecordCleared(1))) == Some(6 * BAR as u64));
    assert!(r.at(|k| matches!(k, EventKind::PadEmpty(1))).is_some());
    let silent = &r.out[2 * (6 * BAR + 480)..2 * 7 * BAR];
    assert!(silent.iter().all(|&v| v == 0.0));
    // Undone: the pad has its loop back and a press plays it, on the beat grid.
    assert!(
        r.at(|k| matches!(k, EventKind::RecordUndone(1, Some(_), true)))
            .is_some()
    );
    bar_is(&r, 7, "clear undone", two);
}

#[test]
fn overdub_refusals_are_said_and_change_nothing() {
    let dir = tmp();
    write_wav16(&dir.path().join("in.wav"), RATE, 4.0, noise);
    write_wav16(&dir.path().join("a.wav"), RATE, 2.0, |t| {
        let v = 0.1 * (2.0 * std::f64::consts::PI * 440.0 * t).sin();
        (v, v)
    });
    // Pad 2 has nothing to overdub; pad 0 has nothing to undo, and its two-second loop does
    // not fit a one-second tape.
    let r = run(
        dir.path(),
        "[master]\nbpm = 120\nrecord_seconds = 1\n[[pad]]\npad = 0\nfile = \"a.wav\"\nbpm = 120\nsync = true\n",
        "0 press 0 0\n0.2 overdub 0 2\n0.3 undo 0 0\n0.5 overdub 0 0\n",
        1.0,
    );
    let refused = |p: u16, why: Refusal| {
        r.events
            .iter()
            .any(|e| e.kind == EventKind::RecordRefused(p as _, why))
    };
    assert!(refused(2, Refusal::NotLooping), "{:?}", r.events);
    assert!(refused(0, Refusal::NoHistory), "{:?}", r.events);
    assert!(refused(0, Refusal::TooLong), "{:?}", r.events);
    assert!(
        r.at(|k| matches!(k, EventKind::OverdubStarted(_)))
            .is_none()
    );
    // The pad plays on throughout.
    let quiet = r.out[2 * 480..]
        .chunks(2 * 4800)
        .any(|c| c.iter().all(|v| v.abs() < 1e-3));
    assert!(!quiet);
}

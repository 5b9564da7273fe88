//! Loads stop when padlooper is told to stop (SIGTERM sets the same flag): a file being decoded
//! fails at once with "loading stopped", whatever its length. Its own test binary: the flag is
//! process-wide.

mod common;
use common::*;

#[test]
fn a_cancelled_load_stops_at_once_and_says_so() {
    let dir = tmp();
    write_wav16(&path(&dir, "long.wav"), 44_100, 30.0, sine(441.0, 0.5));
    // Loads normally...
    assert!(padlooper::sample::loader::load_file(&path(&dir, "long.wav"), 48_000).is_ok());
    // ...and not once loads are cancelled: the first packet checks, so no decoding is done.
    padlooper::sample::cancel::cancel_loads();
    let e = padlooper::sample::loader::load_file(&path(&dir, "long.wav"), 48_000).unwrap_err();
    assert!(
        matches!(e, padlooper::sample::error::SampleError::Cancelled { .. }),
        "{e}"
    );
    assert!(
        e.to_string()
            .ends_with("long.wav: loading stopped (padlooper is shutting down)")
    );
    // A stem file decoded whole stops the same way.
    assert!(padlooper::sample::decode::decode_tracks(&path(&dir, "long.wav")).is_err());
    padlooper::sample::cancel::reset();
    assert!(padlooper::sample::loader::load_file(&path(&dir, "long.wav"), 48_000).is_ok());
}

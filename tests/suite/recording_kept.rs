//! A take survives its process being killed: what reached the disk is kept, and the next start
//! repairs the file's header and says so.

use std::time::Duration;

use crate::common::web::WebRun;

/// Bytes of a float stereo frame in a take.
const FRAME: u64 = 8;

#[test]
fn a_take_killed_mid_recording_is_repaired_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let set = "[master]\nbpm = 120\nrecord_seconds = 60\n[[pad]]\npad = 0\nbuiltin = \"drums\"\n";
    let mut run = WebRun::start_in(dir.path().to_path_buf(), set, "127.0.0.1:0");
    // Resample the master into pad 1 and let it run past three seconds on disk.
    super::recording::resample_into_pad_1(&run);
    run.state_until(None, |v| v["record"]["state"] == "recording");
    let take = dir.path().join("recordings/b0-p1-take1.wav");
    let want = 3 * 48_000 * FRAME;
    // Killed when the file holds more than its header says (between two header updates).
    let declared = |len: u64| {
        let b = std::fs::read(&take).ok()?;
        let data = b.windows(4).position(|w| w == b"data")?;
        let size = u32::from_le_bytes(b[data + 4..data + 8].try_into().ok()?) as u64;
        Some((data as u64 + 8 + size) < len)
    };
    let t0 = std::time::Instant::now();
    let on_disk = loop {
        let len = std::fs::metadata(&take).map(|m| m.len()).unwrap_or(0);
        if len >= want && declared(len) == Some(true) {
            break len;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the take did not grow to 3 s on disk ({len} bytes):\n{}",
            run.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // SIGKILL: nothing gets to finish the file.
    let mut child = run.child.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let before = hound::WavReader::open(&take).map(|r| r.duration() as u64);
    let len = std::fs::metadata(&take).unwrap().len();
    assert!(len >= on_disk);
    assert_eq!(
        declared(len),
        Some(true),
        "the header is behind the samples"
    );
    // The next start repairs it, says so, and leaves the set as it was.
    let mut again = WebRun::start_in(dir.path().to_path_buf(), set, "127.0.0.1:0");
    let line = again.wait_log("a take cut off", Duration::from_secs(30));
    assert!(
        line.contains("b0-p1-take1.wav") && line.contains("repaired"),
        "{line}"
    );
    let r = hound::WavReader::open(&take).unwrap();
    let frames = r.duration() as u64;
    // Every whole frame that reached the file (the header is under 4 KiB).
    assert!(
        frames * FRAME >= on_disk - 4096 && frames * FRAME <= len,
        "kept {frames} frames of {len} bytes (header before: {before:?})"
    );
    assert!(
        frames >= 3 * 48_000 - 512,
        "at least what was on disk before the kill: {frames} frames"
    );
    let samples: Vec<f32> = hound::WavReader::open(&take)
        .unwrap()
        .samples::<f32>()
        .map(Result::unwrap)
        .collect();
    assert_eq!(samples.len() as u64, 2 * frames);
    assert!(
        crate::common::peak(&samples) > 0.05,
        "the take holds the drums"
    );
    let log = again.stop();
    assert!(!log.contains("panicked"), "{log}");
    let text = std::fs::read_to_string(dir.path().join("set.toml")).unwrap();
    assert_eq!(text, set, "a take that never ended is not given to its pad");
}

#[test]
fn recording_tapes_count_against_the_memory_limit() {
    use padlooper::control::set::stream_load::{StreamOptions, describe, plan_set};
    let dir = tempfile::tempdir().unwrap();
    let plan_of = |body: &str| {
        let set = crate::common::set_in(dir.path(), body);
        plan_set(&set, 48_000, &StreamOptions::default()).unwrap()
    };
    // Two tapes of 60 s (a blank one waits, a second while a take runs): 46.1 MB off the limit.
    let p = plan_of("[master]\nmemory_limit = \"200MB\"\n[[pad]]\npad = 0\nbuiltin = \"drums\"\n");
    assert_eq!(p.budget.reserved, 2 * 60 * 48_000 * 8);
    assert_eq!(p.budget.limit, 200_000_000 - p.budget.reserved);
    let text = describe(&p).join("\n");
    assert!(
        text.contains("after 46.1 MB kept for recording tapes"),
        "{text}"
    );
    // A set that does not record keeps it all.
    let p = plan_of(
        "[master]\nmemory_limit = \"200MB\"\nrecord_seconds = 0\n[[pad]]\npad = 0\nbuiltin = \"drums\"\n",
    );
    assert_eq!((p.budget.reserved, p.budget.limit), (0, 200_000_000));
    // Tapes that cannot fit beside the samples: the set still plays, and it is said.
    let p = plan_of("[master]\nmemory_limit = \"20MB\"\n[[pad]]\npad = 0\nbuiltin = \"drums\"\n");
    let text = describe(&p).join("\n");
    assert!(
        text.contains("recording tapes") && text.contains("lower record_seconds"),
        "{text}"
    );
}

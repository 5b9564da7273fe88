//! The randomised offline soak, short (a minute of audio per seed, two seeds) in `make test`;
//! `padlooper soak --minutes 60` runs the long one (figures in README "Reliability"). A test
//! binary of its own: the memory it checks is the whole process's, which other tests running
//! beside it would grow.

use padlooper::control::offline::soak::soak;

#[test]
fn a_minute_of_random_abuse_leaves_the_sound_clean_and_nothing_stuck() {
    for seed in [11, 12] {
        let dir = tempfile::tempdir().unwrap();
        let r = soak(dir.path(), 60.0, seed, &|_, _| {});
        let problems = r.problems(8_000_000);
        assert!(problems.is_empty(), "seed {seed}: {problems:?}");
        assert!(r.sets >= 2, "a reload happened");
        assert!(r.starts > 50 && r.stops > 20, "pads were played: {r:?}");
        assert!(r.load_errors > 0, "bad files were among the good");
        assert!(
            r.counters.iter().any(|(l, v)| l == "non-finite" && *v > 0),
            "NaN values were thrown at it"
        );
    }
}

//! Control-side logic shared by the front-ends, by concern: `set` (loading sets and what
//! changes between them), `keylock` (stretchers and stretched tables), `live` (playing: the
//! service, status, saved state), `offline` (render, replay, soak), `record` (tapes, takes on
//! disk and in the set), `latency` (the round-trip self-test). Nothing here runs on the
//! audio thread.

pub mod keylock;
pub mod latency;
pub mod live;
pub mod offline;
pub mod record;
pub mod set;

//! Recording into pads: the audio input (or the master output: resampling) is captured into a
//! blank tape the control side prepared, in whole bars of the transport, and the pad plays the
//! take from the bar line where it ends, seamless at the wrap. With the transport stopped, the
//! first take sets the tempo from its length and starts the transport.
//!
//! Timing: what the performer played against the loops they heard is aligned. Audio for engine
//! frame `f` is heard `delay` frames later (the master limiter's look-ahead plus the devices'
//! round trip, [`InputCmd::Latency`]), and what they play then arrives on the input bus at
//! `f + delay`; so a take spanning engine frames `B..E` captures input frames
//! `B + delay .. E + delay` (master frames `B + lookahead ..` when resampling). The pad starts
//! playing the tape at `E`; its last `delay` frames are written into the tape in its slot
//! while the voice plays its start.
//!
//! An overdub pass (`dub`, `overdub`) sums the input into a playing loop, into a tape of its
//! own, so the last take, pass or clear can be undone and redone (`history`); tapes nothing
//! can reach any more are handed back.
//!
//! Every sample also goes to the disk writer over a preallocated ring, framed by
//! [`DiskMark`]s. Real-time safe: tapes come in over a queue (allocated and touched by the
//! control side), finished takes go back over one, nothing here allocates, frees, locks or
//! blocks.

mod dub;
mod ends;
mod history;
mod overdub;
mod recorder;
mod route;
mod types;
mod view;

pub(crate) use dub::capture;
pub(crate) use ends::queues;
pub use ends::{DISK_RING_SECONDS, INPUT_RING_SECONDS, RecordEnds, RecordStream};
pub(crate) use recorder::Recorder;
pub(crate) use route::{command, settings};
pub use types::{DiskMark, Finished, InputCmd, RecordCmd, RecordSource, Refusal, Tape};
pub use view::{RecordState, RecordView};

//! The queues between the recorder and the control side: blank tapes in, finished takes out,
//! recorded samples to the disk writer, and the input ring. Built once, in `Engine::new`.

use ringbuf::traits::Split;
use ringbuf::{HeapCons, HeapProd, HeapRb};

use super::super::input::InputFeed;
use super::recorder::RecorderQueues;
use super::types::{DiskMark, Finished, Tape};

/// Seconds of input the input ring holds (a capture callback delivers a period at a time; an
/// input running ahead of the output piles up here until it is dropped and counted).
pub const INPUT_RING_SECONDS: f64 = 0.5;
/// Seconds of recorded audio the ring to the disk writer holds.
pub const DISK_RING_SECONDS: f64 = 4.0;
/// Blank tapes that can wait in the engine.
const TAPES: usize = 2;

/// The recorded samples and their marks, for the disk writer thread (see `DiskMark`).
pub struct RecordStream {
    /// Interleaved stereo samples of every take, in order.
    pub samples: HeapCons<f32>,
    /// Where takes begin and end.
    pub marks: HeapCons<DiskMark>,
    /// Finished overdub passes, written whole (see `DiskMark::Whole`).
    pub wholes: HeapCons<Tape>,
}

/// The control side's ends (owned by the engine handle).
pub struct RecordEnds {
    pub(crate) input: Option<InputFeed>,
    pub(crate) tapes: HeapProd<Tape>,
    pub(crate) takes: HeapCons<Finished>,
    pub(crate) stream: Option<RecordStream>,
    /// Blank tapes handed over so far.
    pub(crate) sent: u32,
}

/// Builds the queues for an engine at `rate`: the engine's ends, the input ring's consumer
/// and the control side's ends. Allocates; not real-time safe.
pub(crate) fn queues(rate: u32) -> (RecorderQueues, HeapCons<f32>, RecordEnds) {
    let samples = |seconds: f64| 2 * (seconds * rate as f64).ceil() as usize;
    let (in_tx, in_rx) = touched(samples(INPUT_RING_SECONDS));
    let (disk_tx, disk_rx) = touched(samples(DISK_RING_SECONDS));
    let (mark_tx, mark_rx) = HeapRb::<DiskMark>::new(64).split();
    let (tape_tx, tape_rx) = HeapRb::<Tape>::new(TAPES).split();
    let (take_tx, take_rx) = HeapRb::<Finished>::new(8).split();
    let (whole_tx, whole_rx) = HeapRb::<Tape>::new(8).split();
    (
        RecorderQueues {
            tapes: tape_rx,
            takes: take_tx,
            wholes: whole_tx,
            disk: disk_tx,
            marks: mark_tx,
        },
        in_rx,
        RecordEnds {
            input: Some(in_tx),
            tapes: tape_tx,
            takes: take_rx,
            stream: Some(RecordStream {
                samples: disk_rx,
                marks: mark_rx,
                wholes: whole_rx,
            }),
            sent: 0,
        },
    )
}

/// A ring of `n` samples whose pages were written once (the audio thread never faults one in).
fn touched(n: usize) -> (HeapProd<f32>, HeapCons<f32>) {
    use ringbuf::traits::{Consumer, Producer};
    let (mut p, mut c) = HeapRb::<f32>::new(n.max(2)).split();
    p.push_iter(std::iter::repeat(0.0));
    c.clear();
    (p, c)
}

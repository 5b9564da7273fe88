//! Recording in an offline render: an input file fed to the engine's input bus block by block
//! as if from a device, blank tapes kept ready, and takes written to disk after every block.
//! Not real-time.

use std::sync::Arc;

use ringbuf::traits::Producer;

use super::{DiskWriter, TapeSupply, WriterNews};
use crate::control::offline::renderer::Feeder;
use crate::engine::EngineHandle;
use crate::engine::event::EngineEvent;
use crate::engine::input::InputFeed;
use crate::sample::SampleBuffer;

/// Feeds `input` (at the engine's rate) as the audio input of a render: the performer played
/// it along with what the render's output file holds, so frame `f` of the input is heard
/// against frame `f` of the output (it reaches the input bus after the master limiter's
/// look-ahead, as the input of a device with no latency would). Keeps a tape ready and writes
/// finished takes with `writer`.
pub struct RecordFeeder {
    input: Option<(InputFeed, Arc<SampleBuffer>)>,
    delay: u64,
    fed: u64,
    supply: TapeSupply,
    writer: Option<DiskWriter>,
    scratch: Vec<f32>,
    /// What the writer did, in order.
    pub news: Vec<WriterNews>,
}

impl RecordFeeder {
    /// A feeder for an engine whose limiter looks `delay` frames ahead. Not real-time.
    pub fn new(
        handle: &mut EngineHandle,
        input: Option<Arc<SampleBuffer>>,
        delay: usize,
        supply: TapeSupply,
        writer: Option<DiskWriter>,
    ) -> Self {
        let input = input.and_then(|b| Some((handle.take_input_feed()?, b)));
        Self {
            input,
            delay: delay as u64,
            fed: 0,
            supply,
            writer,
            scratch: Vec::new(),
            news: Vec::new(),
        }
    }
}

impl Feeder for RecordFeeder {
    fn before(&mut self, _start: u64, end: u64, handle: &mut EngineHandle) -> usize {
        self.supply.keep(handle);
        if let Some((feed, buf)) = self.input.as_mut()
            && end > self.fed
        {
            self.scratch.clear();
            let frames = buf.frames() as u64;
            for f in self.fed..end {
                let [l, r] = match f.checked_sub(self.delay) {
                    Some(i) if i < frames => buf.frame(i as usize),
                    _ => [0.0, 0.0],
                };
                self.scratch.extend_from_slice(&[l, r]);
            }
            // The engine takes a block's worth before each block: there is always room.
            let pushed = feed.push_slice(&self.scratch);
            if pushed < self.scratch.len() {
                handle.stats().counters.add(
                    crate::engine::shared::Counter::InputOverrun,
                    ((self.scratch.len() - pushed) / 2) as u64,
                );
            }
            self.fed = end;
        }
        0
    }

    fn after(&mut self, _end: u64, _events: &[EngineEvent]) {
        if let Some(w) = self.writer.as_mut() {
            self.news.extend(w.pump());
        }
    }
}

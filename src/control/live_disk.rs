//! The disk service while playing live: runs it on its own thread and reports, once each, the
//! files that failed while streaming and a disk that stopped answering. Not real-time.

use std::time::Duration;

use crate::sample::stream::{DiskThread, StreamCtl};

use super::stream_load::Streaming;

/// How long a read may take before the disk counts as stalled.
pub const STALL_AFTER: Duration = Duration::from_millis(500);

/// A running disk service and its control side.
pub struct LiveDisk {
    thread: Option<DiskThread>,
    ctl: StreamCtl,
    stall_said: bool,
}

impl LiveDisk {
    /// Starts the disk thread of a set's streaming parts (None when nothing streams or the
    /// thread cannot start, which is logged: the streamed pads then play their heads only).
    pub fn start(streaming: Option<Streaming>) -> Option<Self> {
        let mut s = streaming?;
        let service = s.service.take()?;
        match DiskThread::spawn(service) {
            Ok(t) => Some(Self {
                thread: Some(t),
                ctl: s.ctl,
                stall_said: false,
            }),
            Err(e) => {
                log::error!(
                    "cannot start the disk thread ({e}); streamed pads play only their first seconds"
                );
                None
            }
        }
    }

    /// Logs new streaming errors and a stalled disk (one line per state change). Call from the
    /// control loop.
    pub fn tick(&mut self) {
        for e in self.ctl.take_errors() {
            log::error!("{e}");
        }
        match self.ctl.status().stalled(STALL_AFTER) {
            Some((file, waited)) if !self.stall_said => {
                self.stall_said = true;
                log::error!(
                    "disk stalled: reading {file} has not returned for {:.1} s; its pads fade out until the disk answers (check the USB stick or SD card)",
                    waited.as_secs_f64()
                );
            }
            None if self.stall_said => {
                self.stall_said = false;
                log::info!("the disk answers again; streamed pads play on");
            }
            _ => {}
        }
    }

    /// The control side (errors, status).
    pub fn ctl(&self) -> &StreamCtl {
        &self.ctl
    }

    /// Stops the disk thread (leaving it behind if it is stuck in a read).
    pub fn stop(&mut self) {
        if let Some(t) = self.thread.take() {
            t.stop();
        }
    }
}

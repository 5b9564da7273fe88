//! The disk service while playing live: runs it on its own thread and reports, once each, the
//! files that failed while streaming and a disk that stopped answering. Not real-time.

use std::time::Duration;

use crate::sample::stream::{DiskThread, StreamCtl};

use crate::control::set::stream_load::Streaming;

/// How long a read may take before the disk counts as stalled.
pub const STALL_AFTER: Duration = Duration::from_millis(500);

/// The running disk services (one per load that streams something) and their control sides.
#[derive(Default)]
pub struct LiveDisk {
    running: Vec<(Option<DiskThread>, StreamCtl)>,
    stall_said: bool,
}

impl LiveDisk {
    /// Starts the disk thread of a set's streaming parts (nothing when nothing streams; a
    /// thread that cannot start is logged: the streamed pads then play their heads only).
    pub fn add(&mut self, streaming: Option<Streaming>) {
        let Some(mut s) = streaming else { return };
        let Some(service) = s.service.take() else {
            return;
        };
        match DiskThread::spawn(service) {
            Ok(t) => self.running.push((Some(t), s.ctl)),
            Err(e) => log::error!(
                "cannot start the disk thread ({e}); streamed pads play only their first seconds"
            ),
        }
    }

    /// Logs new streaming errors and a stalled disk (one line per state change). Call from the
    /// control loop.
    pub fn tick(&mut self) {
        let mut stalled = None;
        for (_, ctl) in &self.running {
            for e in ctl.take_errors() {
                log::error!("{e}");
                if e.damaged {
                    // The reload makes the deleted copy again; everything else plays on.
                    crate::control::live::shutdown::request_reload();
                }
            }
            if stalled.is_none() {
                stalled = ctl.status().stalled(STALL_AFTER);
            }
        }
        match stalled {
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

    /// Stops the disk threads (leaving behind one stuck in a read).
    pub fn stop(&mut self) {
        for (t, _) in self.running.iter_mut() {
            if let Some(t) = t.take() {
                t.stop();
            }
        }
    }
}

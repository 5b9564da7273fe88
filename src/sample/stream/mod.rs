//! Disk streaming of prepared PCM: tables too large for the memory budget are cut into chunks
//! (`chunk`) that one disk service (`service`) keeps resident ahead of every voice reading them
//! (`hints`), through a reader a test can slow down or break (`reader`, `throttle`).

pub mod chunk;
pub mod ctl;
pub mod hints;
pub mod prepare;
pub mod reader;
pub mod service;
pub mod throttle;

pub use chunk::{Format, StreamedTable};
pub use hints::{Hint, StreamHints};
pub use reader::{DiskReader, PreadReader, ReadOutcome, SourceFile};
pub use service::{DiskService, DiskThread, StreamCtl, disk_service};

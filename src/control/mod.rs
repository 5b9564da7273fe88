//! Control-side logic shared by the front-ends: set loading, offline rendering, live scheduling
//! and status reporting. Nothing here runs on the audio thread.

pub mod keylock;
pub mod last_set;
pub mod live_disk;
pub mod offline;
pub mod replay;
pub mod scheduler;
pub mod service;
pub mod session_state;
pub mod set_loader;
pub mod shutdown;
pub mod soak;
pub mod state_keeper;
pub mod status;
pub mod stream_load;
pub mod stretchers;
pub mod table_store;
pub mod tables;
pub mod usb_sets;
pub mod wav_out;

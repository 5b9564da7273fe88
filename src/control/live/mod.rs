//! Live playing: the script scheduler, the systemd service protocol, shutdown, the status line, the disk thread and the saved live state. Not real-time.

pub mod disk;
pub mod link;
pub mod log_ring;
pub mod scheduler;
pub mod service;
pub mod session_state;
pub mod shutdown;
pub mod state_keeper;
pub mod status;

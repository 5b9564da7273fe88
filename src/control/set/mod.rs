//! Sets: loading a set (plan, decode, publish), what changed between two sets, the memory plan and streamed tables, the table cache, the last good copy and sets on USB sticks. Not real-time.

pub mod analyse;
mod configure;
pub mod diff;
pub mod last_set;
pub mod loader;
pub mod pad_config;
pub mod report;
pub mod stream_load;
pub mod table_store;
pub mod usb_sets;

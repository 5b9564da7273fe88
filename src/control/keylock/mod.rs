//! Key lock for the front-ends: the stretcher pool, the stretched-table cache and how both are set up. Not real-time.

pub mod setup;
pub mod stretchers;
pub mod tables;

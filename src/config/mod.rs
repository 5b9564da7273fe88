//! Set files, render scripts and (later) controller profiles: parsing and validation.

pub mod error;
pub mod input;
pub mod profile;
pub mod profile_leds;
pub(crate) mod profile_parse;
pub mod profile_stems;
pub mod ranged;
pub mod script;
pub mod set;

pub use error::{ConfigError, ConfigErrors};
pub use set::SetFile;

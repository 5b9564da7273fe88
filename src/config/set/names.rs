//! The set file's spellings of the engine's choices (EQ mode, quantisation, delay division,
//! play mode, launch mode, real-time stretcher) and what each means. Not real-time.

use serde::Deserialize;

use crate::dsp::delay::Division;
use crate::engine::command::{EqMode, LaunchMode, PlayMode, Quantize};

/// Set-file spelling of [`EqMode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EqModeName {
    /// Linkwitz-Riley isolator (a kill removes the band, the others stay as they were).
    #[default]
    Isolator,
    /// Low shelf, mid peak, high shelf.
    Shelf,
}

/// Set-file spelling of a [`StretcherKind`](crate::dsp::stretch::StretcherKind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum StretcherName {
    /// Signalsmith Stretch (cheaper preset).
    #[default]
    #[serde(rename = "signalsmith")]
    Signalsmith,
    /// Rubber Band R3, short window.
    #[serde(rename = "rubberband")]
    RubberBand,
}

impl From<StretcherName> for crate::dsp::stretch::StretcherKind {
    fn from(s: StretcherName) -> Self {
        match s {
            StretcherName::Signalsmith => Self::Signalsmith,
            StretcherName::RubberBand => Self::RubberBand,
        }
    }
}

impl From<EqModeName> for EqMode {
    fn from(m: EqModeName) -> Self {
        match m {
            EqModeName::Isolator => EqMode::Isolator,
            EqModeName::Shelf => EqMode::Shelf,
        }
    }
}

/// Set-file spelling of [`Quantize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum QuantizeName {
    /// Pads start and stop when pressed.
    #[default]
    #[serde(rename = "off")]
    Off,
    /// Looping pads start and stop on the next beat.
    #[serde(rename = "beat")]
    Beat,
    /// The next bar.
    #[serde(rename = "bar")]
    Bar,
    /// The next 2-bar line.
    #[serde(rename = "2bars")]
    TwoBars,
    /// The next 4-bar line.
    #[serde(rename = "4bars")]
    FourBars,
}

impl From<QuantizeName> for Quantize {
    fn from(q: QuantizeName) -> Self {
        match q {
            QuantizeName::Off => Quantize::Off,
            QuantizeName::Beat => Quantize::Beat,
            QuantizeName::Bar => Quantize::Bar,
            QuantizeName::TwoBars => Quantize::TwoBars,
            QuantizeName::FourBars => Quantize::FourBars,
        }
    }
}

/// Set-file spelling of a delay [`Division`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum DivisionName {
    /// A quarter note.
    #[serde(rename = "1/4")]
    Quarter,
    /// An eighth note.
    #[default]
    #[serde(rename = "1/8")]
    Eighth,
    /// A dotted eighth.
    #[serde(rename = "1/8d", alias = "1/8.")]
    DottedEighth,
    /// A sixteenth.
    #[serde(rename = "1/16")]
    Sixteenth,
}

impl From<DivisionName> for Division {
    fn from(d: DivisionName) -> Self {
        match d {
            DivisionName::Quarter => Division::Quarter,
            DivisionName::Eighth => Division::Eighth,
            DivisionName::DottedEighth => Division::DottedEighth,
            DivisionName::Sixteenth => Division::Sixteenth,
        }
    }
}

/// Set-file spelling of [`PlayMode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlayModeName {
    /// Many pads at once.
    #[default]
    Multi,
    /// One pad at a time.
    Exclusive,
}

impl From<PlayModeName> for PlayMode {
    fn from(m: PlayModeName) -> Self {
        match m {
            PlayModeName::Multi => PlayMode::Multi,
            PlayModeName::Exclusive => PlayMode::Exclusive,
        }
    }
}

/// Set-file spelling of [`LaunchMode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LaunchModeName {
    /// Press starts, press again stops.
    #[default]
    Toggle,
    /// Plays while held.
    Gate,
    /// Plays once to the end.
    Oneshot,
    /// Every press restarts.
    Retrigger,
}

impl From<LaunchModeName> for LaunchMode {
    fn from(m: LaunchModeName) -> Self {
        match m {
            LaunchModeName::Toggle => LaunchMode::Toggle,
            LaunchModeName::Gate => LaunchMode::Gate,
            LaunchModeName::Oneshot => LaunchMode::OneShot,
            LaunchModeName::Retrigger => LaunchMode::Retrigger,
        }
    }
}

/// `[master] input_clock`: whose clock the audio input runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputClock {
    /// Another card than the output is followed by drift correction; the same card is not.
    #[default]
    Auto,
    /// Always followed (drift correction on).
    Follow,
    /// The output's (the cards share a clock): never corrected.
    Output,
}

//! Whole-number settings' ranges (audio format and capacities), beside the table of
//! continuous parameters.

/// A whole-number setting's range (audio format and capacities): set files, the command
/// line and the engine's own checks read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntRange {
    /// Name as used in set files.
    pub name: &'static str,
    /// Lowest value.
    pub lo: u32,
    /// Highest value.
    pub hi: u32,
    /// Value when not given.
    pub default: u32,
    /// Unit, for messages and docs.
    pub unit: &'static str,
    /// What it is, for docs.
    pub doc: &'static str,
}

impl IntRange {
    /// Whether `v` is inside the range. Real-time safe.
    pub fn contains(&self, v: u64) -> bool {
        (self.lo as u64..=self.hi as u64).contains(&v)
    }

    /// "{v} is out of range; allowed lo to hi unit".
    pub fn out_of_range(&self, v: impl std::fmt::Display) -> String {
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        format!(
            "{v} is out of range; allowed {} to {}{unit}",
            self.lo, self.hi
        )
    }

    /// Its row in the documentation's parameter table (section `master`).
    pub fn doc_row(&self) -> String {
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        format!(
            "| `{}` | master | {} to {}{unit} | {} | {} |",
            self.name, self.lo, self.hi, self.default, self.doc
        )
    }

    /// Parses a command-line value (for clap's `value_parser`): a whole number in range.
    pub fn parse_arg(&self, s: &str) -> Result<u32, String> {
        let v: u64 = s
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not a whole number"))?;
        if self.contains(v) {
            Ok(v as u32)
        } else {
            Err(self.out_of_range(v))
        }
    }
}

/// Sample rates padlooper plays, renders and resamples to.
pub const SAMPLE_RATE: IntRange = IntRange {
    name: "sample_rate",
    lo: 8000,
    hi: 192_000,
    default: 48_000,
    unit: "Hz",
    doc: "Output sample rate.",
};

/// Audio buffer (block) sizes.
pub const BUFFER_SIZE: IntRange = IntRange {
    name: "buffer_size",
    lo: 16,
    hi: 8192,
    default: 256,
    unit: "frames",
    doc: "Audio buffer size (the block the engine renders at once).",
};

/// Voices playing at once.
pub const VOICES: IntRange = IntRange {
    name: "voices",
    lo: 1,
    hi: 1024,
    default: 64,
    unit: "",
    doc: "Voices that play at once (the polyphony).",
};

/// Every whole-number setting, for docs and tests.
pub const INT_ALL: &[IntRange] = &[SAMPLE_RATE, BUFFER_SIZE, VOICES];

//! Configuration errors that point at a file and line.

use std::path::{Path, PathBuf};

/// One problem in a configuration file, with its location.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line (0 when the whole file is concerned).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    /// `file:line:column: message`, or `file: message` for the whole file.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// An error at a byte offset of `text`.
    pub fn at(file: &Path, text: &str, offset: usize, message: impl Into<String>) -> Self {
        Self::at_line(file, &LineIndex::new(text), offset, message)
    }

    /// An error at a byte offset of a text whose lines are indexed (many errors of one file).
    pub fn at_line(
        file: &Path,
        lines: &LineIndex,
        offset: usize,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = lines.line_col(offset);
        Self {
            file: file.into(),
            line,
            column,
            message: shorten(&message.into()),
        }
    }

    /// An error about the whole file (e.g. it cannot be read).
    pub fn whole(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            line: 0,
            column: 0,
            message: shorten(&message.into()),
        }
    }
}

/// Errors shown of a list (the rest are counted: nobody reads ten thousand lines).
pub const SHOWN_ERRORS: usize = 100;

/// A list of configuration errors, displayed one per line (the first [`SHOWN_ERRORS`], then
/// how many more).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", show(.0))]
pub struct ConfigErrors(pub Vec<ConfigError>);

fn show(errors: &[ConfigError]) -> String {
    let mut lines: Vec<String> = errors
        .iter()
        .take(SHOWN_ERRORS)
        .map(|e| e.to_string())
        .collect();
    if errors.len() > SHOWN_ERRORS {
        lines.push(format!(
            "... and {} more errors (fix these first)",
            errors.len() - SHOWN_ERRORS
        ));
    }
    lines.join("\n")
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    LineIndex::new(text).line_col(offset)
}

/// Where each line of a text starts, so many offsets turn into lines in linear time overall.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
    len: usize,
}

thread_local! {
    /// Texts indexed for lines so far on this thread (each a full scan of a text): a test
    /// bounds the work of reporting many errors with it.
    static SCANS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many texts this thread has scanned for lines (see [`LineIndex`]).
pub fn line_scans() -> usize {
    SCANS.with(|s| s.get())
}

impl LineIndex {
    /// The line starts of `text`.
    pub fn new(text: &str) -> Self {
        SCANS.with(|s| s.set(s.get() + 1));
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self {
            starts,
            len: text.len(),
        }
    }

    /// 1-based line and column (in bytes) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.len);
        let line = self.starts.partition_point(|&s| s <= offset);
        (line, offset - self.starts[line - 1] + 1)
    }
}

/// Converts a toml deserialisation error into a located error.
pub fn from_toml(file: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let offset = e.span().map_or(0, |s| s.start);
    let key = key_before(text, offset);
    ConfigError::at(file, text, offset, explain(e.message().trim(), key))
}

/// The key whose value starts at `offset` (`rows = 40`: "rows"; in an inline table
/// `{ channel = 17 }`: "channel").
fn key_before(text: &str, offset: usize) -> Option<&str> {
    let before = text.get(..offset.min(text.len()))?;
    let line = &before[before.rfind('\n').map_or(0, |i| i + 1)..];
    let eq = line.rfind('=')?;
    let seg = &line[..eq];
    let seg = &seg[seg.rfind(['{', ',']).map_or(0, |i| i + 1)..];
    let key = seg.trim().trim_matches('"');
    (!key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)))
    .then_some(key)
}

/// Longest value echoed in a message; longer ones are cut (a 5 MB string is not repeated).
const ECHO_MAX: usize = 40;

/// A toml/serde message made to say which key, what it got, and what is allowed.
fn explain(msg: &str, key: Option<&str>) -> String {
    if let Some(key) = key {
        // A check shared by several keys names them all ("`a/b` = 40 ..."): name this one.
        if let Some(rest) = msg.strip_prefix('`')
            && let Some((names, tail)) = rest.split_once('`')
            && names.contains('/')
        {
            return shorten(&format!("`{key}`{tail}"));
        }
        // "invalid type: string \"fast\", expected f64" -> what the key takes, with its range.
        let typed = msg
            .strip_prefix("invalid type: ")
            .or_else(|| msg.strip_prefix("invalid value: "));
        if let Some(rest) = typed
            && let Some((got, want)) = rest.rsplit_once(", expected ")
        {
            let kind = match want {
                "usize" | "u8" | "u16" | "u32" | "u64" => "a whole number (0 or more)",
                "isize" | "i8" | "i16" | "i32" | "i64" => "a whole number",
                "f32" | "f64" => "a number",
                "a boolean" => "true or false",
                "a string" => "text in quotes",
                other => other,
            };
            return format!(
                "`{key}` = {}: expected {kind}{}",
                shorten(got),
                crate::config::ranged::allowed(key)
            );
        }
    }
    shorten(msg)
}

/// `s` with any run longer than [`ECHO_MAX`] characters between quotes cut.
fn shorten(s: &str) -> String {
    if s.chars().count() <= 2 * ECHO_MAX + 80 {
        return s.to_string();
    }
    let mut out = String::new();
    let mut in_quote = false;
    let mut run = 0usize;
    let mut cut = 0usize;
    for c in s.chars() {
        if c == '"' {
            if cut > 0 {
                out.push_str(&format!("... ({cut} more characters)"));
                cut = 0;
            }
            in_quote = !in_quote;
            run = 0;
            out.push(c);
            continue;
        }
        if in_quote {
            run += 1;
            if run > ECHO_MAX {
                cut += 1;
                continue;
            }
        }
        out.push(c);
    }
    if cut > 0 {
        out.push_str(&format!("... ({cut} more characters)"));
    }
    out
}

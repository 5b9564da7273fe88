//! What machine a bench ran on, and the verdict a Pi owner reads: how many voices of the
//! standard scene fit, by CPU and by memory. Not real-time.

/// The machine, as Linux describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Machine {
    /// The board (`/proc/device-tree/model`, e.g. "Raspberry Pi 4 Model B Rev 1.4") or CPU
    /// model name.
    pub model: String,
    /// CPU architecture.
    pub arch: &'static str,
    /// Cores available to padlooper.
    pub cores: usize,
    /// Physical memory, bytes (0 if unknown).
    pub mem_total: u64,
}

impl Machine {
    /// Reads the running machine. Not real-time.
    pub fn detect() -> Self {
        let board = std::fs::read_to_string("/proc/device-tree/model")
            .ok()
            .map(|m| m.trim_end_matches('\0').trim().to_string())
            .filter(|m| !m.is_empty());
        let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name") || l.starts_with("Model"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        });
        Self {
            model: board.or(cpu).unwrap_or_else(|| "unknown machine".into()),
            arch: std::env::consts::ARCH,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            mem_total: meminfo("MemTotal").unwrap_or(0),
        }
    }

    /// One line: model, architecture, cores, memory.
    pub fn describe(&self) -> String {
        format!(
            "{} ({}, {} core{}, {:.1} GB RAM)",
            self.model,
            self.arch,
            self.cores,
            if self.cores == 1 { "" } else { "s" },
            self.mem_total as f64 / 1e9
        )
    }
}

/// A `/proc/meminfo` field in bytes. Not real-time.
pub fn meminfo(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with(&format!("{field}:")))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Share of the block's time the audio callback may use at p99.9, leaving the rest to the
/// system, MIDI and the odd slow block.
pub const CPU_SHARE: f64 = 0.5;
/// Share of the memory padlooper may fill with samples.
pub const MEMORY_SHARE: f64 = 0.7;

/// How many voices of a scene fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Voices whose p99.9 block stays within [`CPU_SHARE`] of the budget.
    pub by_cpu: usize,
    /// Voices whose samples fit in [`MEMORY_SHARE`] of the memory.
    pub by_memory: usize,
}

impl Verdict {
    /// From a pass of `voices` voices whose p99.9 block took `p999_us` of `budget_us`, holding
    /// `sample_bytes` of samples, on a machine with `memory` bytes for padlooper (what is
    /// available plus what the scene holds). Linear in voices: each voice costs the same.
    pub fn estimate(
        voices: usize,
        p999_us: f64,
        budget_us: f64,
        sample_bytes: u64,
        memory: u64,
    ) -> Self {
        let voices = voices.max(1) as f64;
        let by_cpu = if p999_us > 0.0 {
            (voices * CPU_SHARE * budget_us / p999_us).floor()
        } else {
            f64::INFINITY
        };
        let per_voice = sample_bytes as f64 / voices;
        let by_memory = if per_voice > 0.0 && memory > 0 {
            (MEMORY_SHARE * memory as f64 / per_voice).floor()
        } else {
            f64::INFINITY
        };
        let cap = |v: f64| v.min(100_000.0) as usize;
        Self {
            by_cpu: cap(by_cpu),
            by_memory: cap(by_memory),
        }
    }

    /// The number that fits (the smaller of the two).
    pub fn voices(&self) -> usize {
        self.by_cpu.min(self.by_memory)
    }

    /// What limits it.
    pub fn limited_by(&self) -> &'static str {
        if self.by_cpu <= self.by_memory {
            "cpu"
        } else {
            "memory"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_scales_the_measured_pass() {
        // 50 voices took 4 % of the block at p99.9: 50 % fits 625; 288 MB for 50 voices on
        // 1 GB (700 MB usable) fits 121: memory decides.
        let v = Verdict::estimate(50, 213.3, 5333.0, 288_000_000, 1_000_000_000);
        assert_eq!(v.by_cpu, 625);
        assert_eq!(v.by_memory, 121);
        assert_eq!((v.voices(), v.limited_by()), (121, "memory"));
        let v = Verdict::estimate(50, 4000.0, 5333.0, 288_000_000, 8_000_000_000);
        assert_eq!((v.voices(), v.limited_by()), (33, "cpu"));
    }

    #[test]
    fn this_machine_is_described() {
        let m = Machine::detect();
        assert!(m.cores >= 1);
        assert!(!m.describe().is_empty());
    }
}

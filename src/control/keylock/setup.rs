//! Key lock for the front-ends: the stretcher pool and the table cache, set up the same way
//! for live playback and for offline renders. Not real-time.

use crate::config::SetFile;
use crate::config::script::Script;
use crate::control::keylock::stretchers::{self, PoolBuilder};
use crate::control::keylock::tables::TableService;
use crate::control::set::loader::SetLoadReport;
use crate::engine::EngineHandle;
use crate::engine::command::Command;
use crate::engine::command::PadCmd;

/// Real-time stretchers an offline render uses when the set leaves `keylock_voices` at 0
/// (measured): a fixed number, so a render sounds the same on every machine.
pub const OFFLINE_VOICES: usize = 16;

/// Whether a set or script uses key lock or transpose (offline renders only build stretchers
/// when something does).
pub fn used(set: &SetFile, script: Option<&Script>) -> bool {
    set.master.key_lock
        || set.pads.iter().any(|p| p.key_lock || p.transpose != 0.0)
        || script.is_some_and(|s| {
            s.events.iter().any(|(_, c)| {
                matches!(
                    c,
                    Command::Pad(_, PadCmd::KeyLock(..))
                        | Command::GlobalKeyLock(_)
                        | Command::Pad(_, PadCmd::Transpose(..))
                        | Command::Pad(_, PadCmd::TransposeBy(..))
                )
            })
        })
}

/// The table budget of a set, in bytes.
pub fn table_budget(set: &SetFile) -> usize {
    (set.master.table_memory_mb as f64 * 1_048_576.0) as usize
}

/// Key lock for an offline render: stretchers built now (when `wanted`), tables rendered
/// inline between blocks (deterministic) and asked for at once for every pad whose ratio the
/// set fixes. Pass the returned service to the render as a feeder.
pub fn offline(
    set: &SetFile,
    report: &SetLoadReport,
    handle: &mut EngineHandle,
    wanted: bool,
) -> TableService {
    if wanted {
        let n = match set.master.keylock_voices as usize {
            0 => OFFLINE_VOICES,
            n => n,
        };
        let budget = handle.settings().prime_frames;
        stretchers::install(handle, n, n, budget);
    }
    let mut tables =
        TableService::new(table_budget(set), false).with_engine(set.master.table_stretcher.into());
    tables.prefetch(&report.configs, set.master.bpm, set.master.speed, handle);
    tables
}

/// Key lock during live playback: the pool is built (and measured) in the background while
/// the set already plays; tables render on a background thread.
pub struct LiveKeylock {
    /// The table cache.
    pub tables: TableService,
    pool: PoolBuilder,
}

impl LiveKeylock {
    /// Starts building the pool for blocks of `block` frames and asks for the tables the set
    /// fixes. Not real-time.
    pub fn start(
        set: &SetFile,
        report: &SetLoadReport,
        handle: &mut EngineHandle,
        block: usize,
    ) -> Self {
        let pool = PoolBuilder::start(handle, set.master.keylock_voices as usize, block);
        let mut tables = TableService::new(table_budget(set), true)
            .with_engine(set.master.table_stretcher.into());
        tables.prefetch(&report.configs, set.master.bpm, set.master.speed, handle);
        Self { tables, pool }
    }

    /// Hands ready stretchers and tables to the engine and asks for the tables it wants in
    /// `events`. Returns lines worth logging. Not real-time.
    pub fn tick(
        &mut self,
        handle: &mut EngineHandle,
        events: &[crate::engine::event::EngineEvent],
    ) -> Option<String> {
        self.tables.on_events(events, handle);
        self.tables.pump(handle);
        self.pool.poll(handle)
    }
}

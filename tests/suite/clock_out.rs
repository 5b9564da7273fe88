//! MIDI clock out, live: the sender thread delivers every message the engine emitted, in
//! order, each at the moment its frame is heard. A simulated audio callback drives the engine
//! in real time and publishes its clock; a fake output records when messages arrive. The
//! timing figures are printed (they go into README), not asserted: CI machines are noisy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use padlooper::engine::command::{Command, TransportCmd};
use padlooper::engine::shared::mono_nanos;
use padlooper::engine::{Engine, EngineSettings};
use padlooper::midi::clock_out::ClockSender;
use padlooper::midi::ports::{
    InputConnection, MidiBackend, OutputConnection, PortInfo, RawHandler, SharedInput,
};

type Log = Arc<Mutex<Vec<(u64, Vec<u8>)>>>;

struct FakeOut(Log);
impl OutputConnection for FakeOut {
    fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.0.lock().unwrap().push((mono_nanos(), bytes.to_vec()));
        Ok(())
    }
}

struct Backend(Log);
impl MidiBackend for Backend {
    fn input_ports(&mut self) -> Result<Vec<PortInfo>, String> {
        Ok(Vec::new())
    }
    fn output_ports(&mut self) -> Result<Vec<PortInfo>, String> {
        Ok(vec![
            PortInfo::named("TR-8:TR-8 MIDI 1 32:0"),
            PortInfo::named("Other 40:0"),
        ])
    }
    fn connect_input(
        &mut self,
        _: &PortInfo,
        _: SharedInput,
    ) -> Result<Box<dyn InputConnection>, String> {
        Err("no".into())
    }
    fn connect_raw(
        &mut self,
        _: &PortInfo,
        _: RawHandler,
    ) -> Result<Box<dyn InputConnection>, String> {
        Err("no".into())
    }
    fn connect_output(&mut self, p: &PortInfo) -> Result<Box<dyn OutputConnection>, String> {
        assert!(p.name.starts_with("TR-8"), "only the named port");
        Ok(Box::new(FakeOut(self.0.clone())))
    }
}

#[test]
fn the_sender_delivers_every_tick_in_order_when_its_frame_plays() {
    let (mut engine, mut handle) = Engine::new(EngineSettings::default()).unwrap();
    let queue = handle.take_clock_out().unwrap();
    handle
        .command(Command::Transport(TransportCmd::TempoNow(120.0)))
        .unwrap();
    handle
        .command(Command::Transport(TransportCmd::Start))
        .unwrap();
    let log: Log = Arc::default();
    let stats = engine.stats().clone();
    let latency = engine.latency() as u64;
    let sender = ClockSender::start(
        queue,
        Box::new(Backend(log.clone())),
        vec!["tr-8".into()],
        stats.clone(),
        48_000,
        latency,
    )
    .unwrap();
    // A simulated audio callback: 256 frames every 5.33 ms of real time, publishing the clock
    // (with a 10 ms output delay) as the cpal callback does.
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let audio = std::thread::spawn(move || {
        let mut buf = vec![0.0f32; 512];
        let t0 = mono_nanos();
        let mut blocks = 0u64;
        while !s.load(Ordering::Relaxed) {
            engine.process(&mut buf);
            blocks += 1;
            engine
                .stats()
                .clock
                .publish_with_delay(engine.frame(), mono_nanos(), 256, 10_000_000);
            let next = t0 + blocks * 256 * 1_000_000_000 / 48_000;
            let now = mono_nanos();
            if next > now {
                std::thread::sleep(Duration::from_nanos(next - now));
            }
        }
        engine
    });
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    let engine = audio.join().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let result = sender.stop();
    let log = log.lock().unwrap();
    // Start first, then ticks; as many as the engine emitted (1000 frames apart).
    assert_eq!(log[0].1, vec![0xFA]);
    let ticks: Vec<u64> = log.iter().filter(|m| m.1 == [0xF8]).map(|m| m.0).collect();
    let emitted = (engine.frame() / 1000) as usize + 1;
    assert!(
        ticks.len() + 2 >= emitted && ticks.len() <= emitted,
        "{} ticks sent, {emitted} emitted",
        ticks.len()
    );
    assert!(ticks.windows(2).all(|w| w[1] >= w[0]), "in order");
    let spacing: Vec<f64> = ticks
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / 1e6)
        .collect();
    let worst = spacing
        .iter()
        .fold(0.0f64, |m, s| m.max((s - 20.8333).abs()));
    eprintln!(
        "clock out: {} ticks, interval 20.833 ms expected, worst deviation {worst:.3} ms, sender at most {:.3} ms late",
        ticks.len(),
        result.worst_late_ns as f64 / 1e6
    );
}

#[test]
fn a_start_emitted_before_the_audio_clock_is_published_is_still_sent() {
    // The first block runs (and emits Start) before the callback has published its clock, as
    // when a slow machine starts the stream: the sender must wait for the clock, not drop it.
    let (mut engine, mut handle) = Engine::new(EngineSettings::default()).unwrap();
    let queue = handle.take_clock_out().unwrap();
    handle
        .command(Command::Transport(TransportCmd::Start))
        .unwrap();
    let mut buf = vec![0.0f32; 512];
    engine.process(&mut buf);
    let log: Log = Arc::default();
    let stats = engine.stats().clone();
    let sender = ClockSender::start(
        queue,
        Box::new(Backend(log.clone())),
        vec!["tr-8".into()],
        stats.clone(),
        48_000,
        engine.latency() as u64,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    engine
        .stats()
        .clock
        .publish_with_delay(engine.frame(), mono_nanos(), 256, 0);
    std::thread::sleep(Duration::from_millis(100));
    sender.stop();
    let log = log.lock().unwrap();
    assert_eq!(
        log.first().map(|m| m.1.clone()),
        Some(vec![0xFA]),
        "Start was sent first: {log:?}"
    );
}

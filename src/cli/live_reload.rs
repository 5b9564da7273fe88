//! SIGHUP while playing: the set file is read again and what changed is applied in place
//! (see `Apply::Changes`): unchanged pads play on with their live changes, tables that did not
//! change are not decoded again. A new set with any error is rejected with its errors and the
//! old one plays on. Not real-time.

use super::live::Session;
use crate::config::SetFile;
use crate::control::set::diff::{PadChange, diff};
use crate::control::set::loader::{Apply, load_set_apply};

/// Reloads the set file (SIGHUP). Logs what happened in one or a few lines.
pub(crate) fn reload(s: &mut Session) {
    let Some(path) = s.reload_from.clone() else {
        log::warn!("SIGHUP: padlooper plays the built-in demo, there is no set file to reload");
        return;
    };
    s.notify.reloading();
    log::info!("reloading {}", path.display());
    let new = match SetFile::load(&path) {
        Ok(n) => n,
        Err(errors) => {
            for e in &errors.0 {
                log::error!("{e}");
            }
            log::error!(
                "{}: the new set has {} problem(s) and was not loaded; the set that plays is kept",
                path.display(),
                errors.0.len()
            );
            s.notify.ready(&super::live::service_status(s));
            return;
        }
    };
    let change = diff(&s.set, &new, s.handle.settings());
    if change.blocked() {
        log::error!(
            "{}: {}: restart padlooper to load it (systemctl restart padlooper); the set that plays is kept",
            path.display(),
            change.restart_list()
        );
        s.notify.ready(&super::live::service_status(s));
        return;
    }
    let apply = Apply::Changes {
        old: &s.set,
        configs: &s.configs,
    };
    let t0 = std::time::Instant::now();
    let mut report = load_set_apply(
        &new,
        &mut s.handle,
        0,
        &|_, _| {},
        &crate::sample::loader::load_one,
        Default::default(),
        &mut s.store,
        &apply,
    );
    if !report.errors.is_empty() {
        for e in &report.errors {
            log::error!("{e}");
        }
        log::error!(
            "{}: the new set has {} problem(s) and was not applied; the set that plays is kept",
            path.display(),
            report.errors.len()
        );
        s.notify.ready(&super::live::service_status(s));
        return;
    }
    for w in &report.warnings {
        log::warn!("{w}");
    }
    for a in &report.applied {
        log::info!("{a}");
    }
    let _ = crate::control::set::analyse::analyse_in_background(
        &new,
        &crate::sample::stream::prepare::default_cache_dir(),
    );
    crate::control::set::stream_load::log_plan(report.plan.as_ref());
    if let Some(w) = &s.web {
        let plan = report.plan.as_ref();
        w.set_memory(
            plan.map(crate::control::set::stream_load::describe)
                .unwrap_or_default(),
            s.handle.sample_memory(),
        );
    }
    s.disk.add(report.streaming.take());
    s.shared.update_pads(&new, &report.failed_pads);
    let changed = report.pads_ready() - report.unchanged_pads;
    log::info!(
        "reloaded {} in {:.2} s: {changed} pad(s) changed, {} unchanged (still playing), {} removed (changed: {} with a new sample or region, {} in settings only, {} added)",
        path.display(),
        t0.elapsed().as_secs_f64(),
        report.unchanged_pads,
        report.removed_pads,
        change.count(PadChange::Sample),
        change.count(PadChange::Settings),
        change.count(PadChange::Added),
    );
    if !change.restart.is_empty() {
        log::warn!(
            "{}: {} only change(s) at a restart (systemctl restart padlooper)",
            path.display(),
            change.restart_list()
        );
    }
    // A stick's set is not remembered: without the stick, the configured set plays.
    let on_stick = crate::control::set::usb_sets::roots()
        .iter()
        .any(|r| path.starts_with(r));
    if let Some(dir) = crate::control::set::last_set::copy_dir()
        && !on_stick
        && let Ok(text) =
            crate::config::input::read_text(&path, "set", crate::config::input::SET_MAX)
        && let Err(e) = crate::control::set::last_set::remember(&dir, &path, &text)
    {
        log::warn!("cannot keep a copy of the reloaded set ({e})");
    }
    let on = (new.master.link != s.set.master.link).then_some(new.master.link);
    s.link.configure(&new, on, &mut s.handle, &s.shared);
    if let Some(w) = &s.web {
        w.set_layout(&new);
        w.set_source(Some(&path));
    }
    s.set = new;
    s.configs = report.configs;
    s.notify.ready(&super::live::service_status(s));
}

/// A region the web editor wants heard: checked as the loader would, sent to the engine as a
/// reshape (a playing pad keeps playing on it), and the page answered. The set file is not
/// touched; the pads' published configurations follow, so a reload puts the file's back.
pub(super) fn preview(s: &mut Session, p: crate::web::preview::Preview) {
    use crate::engine::command::{Command, PadCmd};
    let r = (|| {
        let spec = s
            .set
            .pads
            .iter()
            .find(|q| q.id == p.pad)
            .ok_or_else(|| format!("pad {} has no sample in the set that plays", p.pad))?;
        let (id, cur) = s
            .configs
            .iter()
            .find(|(q, _)| *q as usize == p.pad)
            .copied()
            .ok_or_else(|| format!("pad {} did not load; the log says why", p.pad))?;
        let buf = s
            .handle
            .buffer(cur.slot)
            .ok_or_else(|| format!("pad {}'s sample is being replaced; try again", p.pad))?;
        let region = (p.start, p.loop_start, p.loop_end);
        let cfg = crate::control::set::pad_config::with_region(spec, &cur, &buf, region)
            .map_err(|e| format!("{}: {}", e.key, e.message))?;
        s.handle
            .command(Command::Pad(id, PadCmd::Reshape(cfg)))
            .map_err(|e| e.to_string())?;
        if let Some(c) = s.configs.iter_mut().find(|(q, _)| *q == id) {
            c.1 = c.1.with_region_of(&cfg);
        }
        Ok(())
    })();
    p.answer(r);
}

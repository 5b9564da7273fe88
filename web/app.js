// padlooper's web surface: a client of the JSON API (docs/web.md), nothing more.
'use strict';
const $ = (id) => document.getElementById(id);
let ws = null, layout = null, state = null, retry = 0;
const held = new Set();

async function api(path, body) {
  const r = await fetch(path, body === undefined ? {} : {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  let j = {};
  try { j = await r.json(); } catch (e) { /* not JSON */ }
  if (!r.ok) throw new Error(j.error || r.statusText);
  return j;
}

function send(msg) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

function buildGrid() {
  const g = $('grid');
  g.style.gridTemplateColumns = `repeat(${layout.cols}, 1fr)`;
  g.textContent = '';
  for (let i = 0; i < layout.rows * layout.cols; i++) {
    const b = document.createElement('button');
    b.className = 'pad empty';
    b.dataset.cell = i;
    b.innerHTML = '<span class="name"></span><span class="badge"></span><span class="lvl"></span>';
    const down = (e) => {
      e.preventDefault();
      if (editMode) { openEditor(Number(b.dataset.id !== undefined ? b.dataset.id : cellId(i))); return; }
      const rid = Number(b.dataset.id !== undefined ? b.dataset.id : cellId(i));
      const rec = state && state.record;
      // REC armed: this pad records; the pad being recorded: tapped, it ends its take.
      if (recMode || (rec && rec.state !== 'idle' && rec.pad === rid)) {
        send({ [recMode || (rec.state === 'overdubbing' ? 'overdub' : 'record')]: rid });
        setRecMode(null);
        return;
      }
      const id = b.dataset.id;
      if (id === undefined || held.has(id)) return;
      if (b.setPointerCapture && e.pointerId !== undefined) b.setPointerCapture(e.pointerId);
      held.add(id); b.classList.add('held');
      send({ press: Number(id) });
    };
    const up = (e) => {
      const id = b.dataset.id;
      if (id === undefined || !held.has(id)) return;
      e.preventDefault();
      held.delete(id); b.classList.remove('held');
      send({ release: Number(id) });
    };
    b.addEventListener('pointerdown', down);
    b.addEventListener('pointerup', up);
    b.addEventListener('pointercancel', up);
    b.addEventListener('contextmenu', (e) => e.preventDefault());
    g.appendChild(b);
  }
  const nav = $('banks');
  nav.textContent = '';
  for (let k = 0; k < layout.banks; k++) {
    const b = document.createElement('button');
    b.textContent = `Bank ${k + 1}`;
    b.dataset.bank = k;
    b.addEventListener('click', () => send({ bank: k }));
    nav.appendChild(b);
  }
  nav.hidden = layout.banks < 2;
  $('set-name').textContent = layout.set;
}

function padName(id) {
  const p = layout && layout.pads.find((q) => q.id === id);
  return p ? p.name : '';
}

function meterWidth(db) { return Math.max(0, Math.min(100, (db + 60) / 60 * 100)); }

// Meters fall back 24 dB per second (a peak meter's ballistics), rise at once.
const meterDb = new Map();
let meterAt = performance.now();
function ballistic(key, db, dt) {
  const shown = Math.max(db, (meterDb.has(key) ? meterDb.get(key) : -120) - 24 * dt);
  meterDb.set(key, shown);
  return shown;
}

function showState(s) {
  state = s;
  if (!layout) return;
  // For measurements: when the grid first showed the engine's state (ms since navigation).
  if (window.padlooperReady === undefined) window.padlooperReady = performance.now();
  const now = performance.now();
  const dt = Math.min(1, (now - meterAt) / 1000);
  meterAt = now;
  $('bpm').textContent = s.transport.bpm.toFixed(2);
  $('pos').textContent = `${s.transport.bar}.${s.transport.beat}`;
  $('play').classList.toggle('on', s.transport.running);
  $('play').textContent = s.transport.running ? '■' : '▶';
  $('load').textContent = `${s.load.toFixed(1)}%`;
  $('xruns').textContent = s.xruns;
  $('input-meter').hidden = s.input_db === null || s.input_db === undefined;
  if (!$('input-meter').hidden) $('input').textContent = `${s.input_db.toFixed(0)} dB`;
  $('voices').textContent = `${s.voices}/${s.voice_limit}`;
  $('link').hidden = !s.link.on;
  $('link').textContent = s.link.on ? `LINK ${s.link.peers}` : 'LINK';
  const cells = $('grid').children;
  s.cells.forEach((c, i) => {
    const b = cells[i];
    if (!b) return;
    if (c === null) {
      delete b.dataset.id; b.className = 'pad empty' + recClass(s.record, cellId(i));
      b.querySelector('.name').textContent = '';
      b.querySelector('.badge').textContent = '';
      b.querySelector('.lvl').style.width = '0';
      return;
    }
    b.dataset.id = c.id;
    b.dataset.look = c.look;
    b.className = `pad ${c.look}` + (held.has(String(c.id)) ? ' held' : '') + recClass(s.record, c.id);
    b.querySelector('.name').textContent = padName(c.id);
    b.querySelector('.badge').textContent = (c.key_lock ? '♮' : '') + (c.sync ? '⇆' : '') + (c.stems ? `S${c.stems}` : '');
    b.querySelector('.lvl').style.width = `${meterWidth(ballistic(c.id, c.level_db, dt))}%`;
  });
  for (const b of $('banks').children) b.classList.toggle('current', Number(b.dataset.bank) === s.bank);
  const master = ballistic('master', s.master.peak_db, dt);
  $('master-meter').style.width = `${meterWidth(master)}%`;
  $('master-db').textContent = master <= -119 ? '-∞ dB' : `${master.toFixed(1)} dB`;
  $('limiter').textContent = `lim ${s.master.limiter_db.toFixed(1)} dB`;
  const drops = $('drops');
  const text = s.drops.map((d) => `${d.label}: ${d.count} — ${d.advice}`);
  if (drops.dataset.text !== text.join('\n')) {
    drops.dataset.text = text.join('\n');
    drops.textContent = '';
    for (const t of text) { const li = document.createElement('li'); li.textContent = t; drops.appendChild(li); }
  }
}

function addLog(lines) {
  const ol = $('log');
  const atEnd = ol.scrollTop + ol.clientHeight >= ol.scrollHeight - 4;
  for (const l of lines) {
    const li = document.createElement('li');
    li.className = l.level;
    li.textContent = `${l.t.toFixed(1).padStart(7)}  ${l.text}`;
    ol.appendChild(li);
  }
  while (ol.children.length > 200) ol.removeChild(ol.firstChild);
  if (atEnd) ol.scrollTop = ol.scrollHeight;
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  ws = new WebSocket(`${proto}//${location.host}/api/ws`);
  ws.onopen = () => { retry = 0; $('conn').textContent = 'live'; $('conn').classList.remove('off'); };
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === 'layout') { layout = m; buildGrid(); $('logout').hidden = !m.login; }
    else if (m.type === 'state') showState(m);
    else if (m.type === 'log') addLog(m.lines);
    else if (m.type === 'error') addLog([{ level: 'error', t: 0, text: m.error }]);
  };
  ws.onclose = () => {
    $('conn').textContent = 'offline'; $('conn').classList.add('off');
    held.clear();
    ws = null;
    setTimeout(start, Math.min(5000, 250 * 2 ** retry++));
  };
}

async function start() {
  try {
    const s = await api('/api/session');
    if (s.login_required && !s.logged_in) { $('login').hidden = false; $('password').focus(); return; }
    $('login').hidden = true;
    connect();
  } catch (e) {
    $('conn').textContent = 'offline';
    setTimeout(start, Math.min(5000, 250 * 2 ** retry++));
  }
}

// ---- Recording: REC, Resample, Dub, Undo, Redo or Clear, then a pad; the pad being recorded
// shows it.
let recMode = null;
const recButtons = { rec: 'record', resample: 'resample', overdub: 'overdub', undo: 'undo', redo: 'redo', clear: 'clear' };
function setRecMode(m) {
  recMode = m;
  for (const [id, mode] of Object.entries(recButtons)) $(id).classList.toggle('on', m === mode);
}
for (const [id, mode] of Object.entries(recButtons)) {
  $(id).addEventListener('click', () => setRecMode(recMode === mode ? null : mode));
}
function recClass(r, id) {
  if (!r || r.pad !== id) return '';
  return r.state === 'armed' ? ' rec-armed' : r.state === 'overdubbing' ? ' rec dub' : r.state === 'idle' ? '' : ' rec';
}

// ---- The pad editor: settings, a waveform with loop handles, the beat grid, save & apply.
let editMode = false;
const ed = { id: null, pad: null, seconds: 0, view: [0, 1], peaks: null, grid: null, marks: {}, drag: null, changed: {} };

function cellId(i) {
  if (!state) return 0;
  return state.bank * layout.rows * layout.cols + i;
}

$('edit-mode').addEventListener('click', () => {
  editMode = !editMode;
  $('edit-mode').classList.toggle('on', editMode);
});

// `refresh`: the editor re-reads the pad after a save; it leaves alone what was typed since.
async function openEditor(id, refresh = false) {
  if (!refresh) await revertPreview();
  try {
    const pad = await api(`/api/pads/${id}`);
    if (refresh && (ed.id !== id || Object.keys(ed.changed).length)) return;
    ed.id = id; ed.pad = pad; ed.changed = {}; ed.peaks = null; ed.grid = null;
    $('editor').hidden = false;
    $('ed-error').textContent = '';
    $('ed-title').textContent = `Pad ${id + 1} · bank ${pad.bank + 1} · row ${pad.row + 1} col ${pad.col + 1}`;
    $('ed-save').disabled = !pad.editable;
    if (!pad.editable) $('ed-error').textContent = 'This set has no file to save into (the demo): run padlooper with --set FILE to edit.';
    const s = pad.settings || { mode: 'toggle', gain_db: 0, speed: 1, loop: true, loop_start: 0 };
    ed.marks = { start: s.start, loop_start: s.loop_start || 0, loop_end: s.loop_end };
    ed.saved = { ...ed.marks };
    for (const el of document.querySelectorAll('.ed-grid [data-key]')) {
      const k = el.dataset.key;
      el.closest('label').classList.remove('bad');
      const v = s[k];
      if (el.type === 'checkbox') el.checked = !!v;
      else if (Array.isArray(v)) el.value = v.join(', ');
      else if (v !== null && typeof v === 'object') el.value = Object.entries(v).map(([n, g]) => `${n}=${g}`).join(', ');
      else el.value = v === null || v === undefined ? '' : v;
    }
    for (const el of document.querySelectorAll('.stems-only')) el.hidden = !pad.stems;
    if (pad.stems) document.querySelector('[data-key="stem_mute"]').placeholder = pad.stems.join(', ');
    const lib = await api('/api/library');
    const sel = $('ed-file');
    sel.textContent = '';
    const cur = pad.source ? pad.source.name : '';
    const here = document.createElement('option');
    here.textContent = pad.source ? `${pad.source.kind === 'file' ? '' : pad.source.kind + ': '}${cur.split('/').pop()}` : '(empty)';
    here.value = '';
    sel.appendChild(here);
    for (const f of lib.files) {
      const o = document.createElement('option');
      o.value = f.name; o.textContent = `${f.name} (${(f.bytes / 1e6).toFixed(1)} MB)`;
      sel.appendChild(o);
    }
    await loadWave(true);
    api(`/api/pads/${id}/grid`).then((g) => { if (ed.id === id) { ed.grid = g.grid ? g : null; drawWave(); } }).catch(() => {});
  } catch (e) { $('ed-error').textContent = e.message; }
}

async function loadWave(fit) {
  const c = $('wave');
  c.width = c.clientWidth || 600;
  if (!ed.pad || !ed.pad.settings) { ed.peaks = null; drawWave(); return; }
  if (fit) ed.view = [0, null];
  const [from, to] = ed.view;
  const q = `from=${from}` + (to === null ? '' : `&to=${to}`) + `&columns=${c.width}`;
  try {
    const p = await api(`/api/pads/${ed.id}/peaks?${q}`);
    ed.peaks = p; ed.seconds = p.seconds; ed.view = [p.from, p.to];
    const span = ed.view[1] - ed.view[0];
    $('scroll').value = ed.seconds > span ? Math.round(ed.view[0] / (ed.seconds - span) * 1000) : 0;
  } catch (e) { ed.peaks = null; $('ed-error').textContent = e.message; }
  drawWave();
}

function xOf(t) { const c = $('wave'); return (t - ed.view[0]) / (ed.view[1] - ed.view[0]) * c.width; }
function tOf(x) { const c = $('wave'); return ed.view[0] + x / c.width * (ed.view[1] - ed.view[0]); }

function gridInfo() {
  if (ed.grid && ed.grid.grid) return ed.grid.grid;
  const s = ed.pad && ed.pad.settings;
  if (s && typeof s.bpm === 'number') return { bpm: s.bpm, offset: s.grid_offset || 0, beats_per_bar: state ? state.transport.beats_per_bar : 4 };
  return null;
}

function snap(t) {
  const g = gridInfo();
  const mode = $('snap').value;
  if (!g || mode === 'off') return Math.max(0, t);
  const beat = 60 / g.bpm;
  const step = mode === 'bar' ? beat * g.beats_per_bar : mode === 'beat' ? beat : beat / 16;
  return Math.max(0, g.offset + Math.round((t - g.offset) / step) * step);
}

function drawWave() {
  const c = $('wave');
  const g = c.getContext('2d');
  const w = c.width, h = c.height;
  g.fillStyle = '#0b0b0b'; g.fillRect(0, 0, w, h);
  const p = ed.peaks;
  if (p) {
    const lanes = p.peaks.length;
    p.peaks.forEach((col, ch) => {
      const mid = h * (ch + 0.5) / lanes, amp = h / lanes / 2 * 0.95;
      g.fillStyle = ch === 0 ? '#5ac' : '#4a9';
      col.forEach(([lo, hi], x) => g.fillRect(x, mid - hi * amp, 1, Math.max(1, (hi - lo) * amp)));
    });
  }
  const gi = gridInfo();
  if (gi) {
    const beat = 60 / gi.bpm;
    const [a, b] = ed.view;
    const px = beat / (b - a) * w;
    if (px > 3) {
      let k = Math.ceil((a - gi.offset) / beat);
      for (let t = gi.offset + k * beat; t <= b; t += beat, k++) {
        const bar = ((k % gi.beats_per_bar) + gi.beats_per_bar) % gi.beats_per_bar === 0;
        g.fillStyle = bar ? '#fffa' : '#fff3';
        g.fillRect(Math.round(xOf(t)), 0, 1, h);
      }
    }
  }
  {
    const ls = ed.marks.loop_start || 0, le = ed.marks.loop_end || ed.seconds;
    g.fillStyle = '#2d522a40';
    g.fillRect(xOf(ls), 0, xOf(le) - xOf(ls), h);
  }
  const mark = (t, color, label) => {
    if (t === null || t === undefined) return;
    const x = Math.round(xOf(t));
    g.fillStyle = color; g.fillRect(x - 1, 0, 3, h);
    g.font = '11px sans-serif'; g.fillText(label, x + 4, 12);
  };
  mark(ed.marks.start, '#48f', 'intro');
  mark(ed.marks.loop_start, '#2d5', 'loop');
  mark(ed.marks.loop_end === null || ed.marks.loop_end === undefined ? ed.seconds : ed.marks.loop_end, '#f44', 'end');
  const ls = ed.marks.loop_start || 0, le = ed.marks.loop_end || ed.seconds;
  let text = `loop ${ls.toFixed(3)}–${le.toFixed(3)} s (${(le - ls).toFixed(3)} s)`;
  if (gi) text += ` · ${((le - ls) / (60 / gi.bpm)).toFixed(2)} beats at ${gi.bpm.toFixed(2)} BPM`;
  $('ed-times').textContent = text;
}

// Live preview: the region being dragged is heard at once through the engine (the set file
// is unchanged until Save & apply; closing the editor puts the saved region back). One request
// in flight at a time, the newest marks sent next.
const preview = { busy: false, again: false, sent: false, error: false };
// Posts a change to be heard; says in the editor when it was not (and clears that once heard).
async function postHeard(path, body) {
  const r = await fetch(path, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  if (!r.ok) {
    const j = await r.json().catch(() => ({}));
    $('ed-error').textContent = `Not heard: ${j.error || r.statusText}`;
    preview.error = true;
  } else if (preview.error) {
    $('ed-error').textContent = '';
    preview.error = false;
  }
}
async function sendPreview(marks) {
  if (ed.id === null || !ed.pad || !ed.pad.settings) return;
  if (preview.busy) { preview.again = true; return; }
  preview.busy = true;
  try {
    do {
      preview.again = false;
      const m = marks || ed.marks;
      const body = { start: m.start ?? null, loop_start: m.loop_start || 0, loop_end: m.loop_end ?? null };
      await postHeard(`/api/pads/${ed.id}/preview`, body);
      preview.sent = !marks;
    } while (preview.again && !marks);
  } catch (e) { $('ed-error').textContent = e.message; }
  finally { preview.busy = false; }
}
// Settings a controller's knobs change live are heard at once too (unsaved until Save).
const LIVE = ['gain_db', 'speed', 'transpose', 'eq', 'eq_low', 'eq_mid', 'eq_high', 'filter', 'resonance', 'delay_send', 'reverb_send', 'sync', 'key_lock'];
const liveSent = new Set();
async function sendLive(values) {
  if (ed.id === null || !ed.pad || !ed.pad.settings) return;
  try {
    await postHeard(`/api/pads/${ed.id}/live`, values);
  } catch (e) { $('ed-error').textContent = e.message; }
}
async function revertPreview() {
  if (ed.id === null) return;
  if (liveSent.size) {
    const back = {};
    for (const k of liveSent) if (ed.pad.settings[k] !== null && ed.pad.settings[k] !== undefined) back[k] = ed.pad.settings[k];
    liveSent.clear();
    if (Object.keys(back).length) await sendLive(back);
  }
  if (!preview.sent) return;
  while (preview.busy) await new Promise((r) => setTimeout(r, 20));
  await sendPreview(ed.saved);
  preview.sent = false;
}

function setMark(key, t) {
  t = Math.round(t * 10000) / 10000;
  ed.marks[key] = t; ed.changed[key] = t;
  const el = document.querySelector(`.ed-grid [data-key="${key}"]`);
  if (el) el.value = t;
  drawWave();
}

$('wave').addEventListener('pointerdown', (e) => {
  const c = $('wave');
  const r = c.getBoundingClientRect();
  const x = (e.clientX - r.left) * c.width / r.width;
  let best = null, dist = 12;
  const ends = { start: ed.marks.start, loop_start: ed.marks.loop_start, loop_end: ed.marks.loop_end === null || ed.marks.loop_end === undefined ? ed.seconds : ed.marks.loop_end };
  for (const [k, t] of Object.entries(ends)) {
    if (t === null || t === undefined) continue;
    const d = Math.abs(xOf(t) - x);
    if (d < dist) { dist = d; best = k; }
  }
  if (!best) return;
  ed.drag = best;
  c.setPointerCapture(e.pointerId);
  e.preventDefault();
});
$('wave').addEventListener('pointermove', (e) => {
  if (!ed.drag) return;
  const c = $('wave');
  const r = c.getBoundingClientRect();
  setMark(ed.drag, snap(tOf((e.clientX - r.left) * c.width / r.width)));
  sendPreview();
});
const endDrag = () => { ed.drag = null; };
$('wave').addEventListener('pointerup', endDrag);
$('wave').addEventListener('pointercancel', endDrag);

function zoom(f) {
  const [a, b] = ed.view;
  const mid = (a + b) / 2, half = Math.max(0.01, (b - a) / 2 * f);
  ed.view = [Math.max(0, mid - half), Math.min(ed.seconds || mid + half, mid + half)];
  loadWave(false);
}
$('zoom-in').addEventListener('click', () => zoom(0.5));
$('zoom-out').addEventListener('click', () => zoom(2));
$('zoom-fit').addEventListener('click', () => loadWave(true));
$('scroll').addEventListener('change', (e) => {
  const span = ed.view[1] - ed.view[0];
  const a = Math.max(0, (ed.seconds - span) * Number(e.target.value) / 1000);
  ed.view = [a, a + span];
  loadWave(false);
});
$('four-bars').addEventListener('click', () => {
  const g = gridInfo();
  if (!g) { $('ed-error').textContent = 'No tempo for this pad: give it a bpm, or let analysis find one.'; return; }
  setMark('loop_end', (ed.marks.loop_start || 0) + 4 * g.beats_per_bar * 60 / g.bpm);
  sendPreview();
});
for (const el of document.querySelectorAll('.ed-grid [data-key]')) {
  el.addEventListener('change', () => {
    const k = el.dataset.key;
    let v;
    if (el.type === 'checkbox') v = el.checked;
    else if (el.value.trim() === '') v = null;
    else if (k === 'mode' || k === 'eq' || k === 'quantize') v = el.value;
    else if (k === 'stem_mute') v = el.value.split(',').map((x) => x.trim()).filter((x) => x);
    else if (k === 'stem_gain_db') {
      v = {};
      for (const part of el.value.split(',')) {
        const [n, g] = part.split('=').map((x) => x.trim());
        if (n) v[n] = Number(g);
      }
    }
    else if (k === 'bpm' && el.value.trim() === 'auto') v = 'auto';
    else v = Number(el.value);
    ed.changed[k] = v;
    if (k in ed.marks) { ed.marks[k] = v; drawWave(); sendPreview(); }
    if (LIVE.includes(k) && v !== null && !(typeof v === 'number' && Number.isNaN(v))) {
      liveSent.add(k);
      sendLive({ [k]: v });
    }
  });
}
$('ed-file').addEventListener('change', (e) => { if (e.target.value) ed.changed.file = e.target.value; });
$('ed-save').addEventListener('click', async () => {
  for (const l of document.querySelectorAll('.ed-grid label')) l.classList.remove('bad');
  $('ed-error').textContent = '';
  if (Object.keys(ed.changed).length === 0) { $('ed-error').textContent = 'Nothing changed.'; return; }
  const r = await fetch(`/api/pads/${ed.id}/settings`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(ed.changed),
  });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) {
    $('ed-error').textContent = j.error || r.statusText;
    for (const p of j.problems || []) {
      const el = p.key && document.querySelector(`.ed-grid [data-key="${p.key}"]`);
      if (el) { el.closest('label').classList.add('bad'); el.title = p.message; }
    }
    return;
  }
  ed.changed = {};
  preview.sent = false;
  liveSent.clear();
  $('ed-error').textContent = 'Saved; applied like a reload (the log says what changed).';
  const id = ed.id;
  if (Object.prototype.hasOwnProperty.call(j, 'ok')) setTimeout(() => openEditor(id, true), 400);
});
$('ed-audition').addEventListener('pointerdown', (e) => { e.preventDefault(); if (ed.id !== null) send({ press: ed.id }); });
const audOff = () => { if (ed.id !== null) send({ release: ed.id }); };
$('ed-audition').addEventListener('pointerup', audOff);
$('ed-audition').addEventListener('pointercancel', audOff);
$('ed-close').addEventListener('click', async () => { $('editor').hidden = true; await revertPreview(); ed.id = null; });

// ---- The library: the set folder's audio files; uploads streamed with progress.
async function showLibrary() {
  $('library').hidden = false;
  $('lib-error').textContent = '';
  try {
    const lib = await api('/api/library');
    $('lib-folder').textContent = lib.folder || '(the demo has no folder: run with --set FILE)';
    const tb = $('lib-table').querySelector('tbody');
    tb.textContent = '';
    for (const f of lib.files) {
      const tr = document.createElement('tr');
      tr.dataset.name = f.name;
      const cells = [f.name, f.seconds == null ? '?' : `${f.seconds.toFixed(1)} s`, f.format,
        f.rate ? `${f.rate} Hz` : '?', `${(f.bytes / 1e6).toFixed(1)} MB`, '…', f.used_by.join(', ')];
      for (const c of cells) { const td = document.createElement('td'); td.textContent = c; tr.appendChild(td); }
      const an = tr.children[5];
      api(`/api/library/analysis?name=${encodeURIComponent(f.name)}`).then((r) => {
        const a = r.analysis;
        an.textContent = !a ? 'not analysed yet' : [a.bpm ? `${a.bpm.toFixed(2)} BPM` : 'no beat', a.key ? `${a.key} (${a.camelot})` : ''].filter((x) => x).join(', ');
      }).catch(() => { an.textContent = '?'; });
      const td = document.createElement('td');
      const ren = document.createElement('button'); ren.textContent = 'Rename';
      ren.addEventListener('click', async () => {
        const to = prompt(`New name for ${f.name}`, f.name.split('/').pop());
        if (!to) return;
        try { await api('/api/library/rename', { from: f.name, to }); showLibrary(); } catch (e) { $('lib-error').textContent = e.message; }
      });
      const del = document.createElement('button'); del.textContent = 'Delete'; del.className = 'del';
      del.addEventListener('click', async () => {
        if (!confirm(`Delete ${f.name}?`)) return;
        try { await api('/api/library/delete', { name: f.name }); showLibrary(); } catch (e) { $('lib-error').textContent = e.message; }
      });
      td.append(ren, del);
      tr.appendChild(td);
      tb.appendChild(tr);
    }
  } catch (e) { $('lib-error').textContent = e.message; }
}

function uploadOne(file) {
  return new Promise((resolve) => {
    const name = file.webkitRelativePath || file.name;
    const li = document.createElement('li');
    const bar = document.createElement('progress'); bar.max = 1; bar.value = 0;
    const msg = document.createElement('span');
    li.append(document.createTextNode(name), bar, msg);
    li.dataset.name = name;
    $('uploads').appendChild(li);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/library/upload?name=${encodeURIComponent(name)}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total; };
    xhr.onload = () => {
      let j = {};
      try { j = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 200) { bar.value = 1; msg.textContent = ' done'; li.className = 'done'; }
      else { msg.textContent = ` ${j.error || xhr.statusText}`; li.className = 'failed'; }
      resolve();
    };
    xhr.onerror = () => { msg.textContent = ' the connection failed'; li.className = 'failed'; resolve(); };
    xhr.send(file);
  });
}

async function uploadAll(files) {
  await Promise.all(Array.from(files).map(uploadOne));
  showLibrary();
}

$('library-open').addEventListener('click', () => { if ($('library').hidden) showLibrary(); else $('library').hidden = true; });
$('lib-close').addEventListener('click', () => { $('library').hidden = true; });
$('upload').addEventListener('change', (e) => { uploadAll(e.target.files); e.target.value = ''; });
$('upload-dir').addEventListener('change', (e) => {
  const audio = Array.from(e.target.files).filter((f) => /\.(wav|flac|mp3|ogg|m4a|mp4|aiff?|w64|caf|opus)$/i.test(f.name));
  uploadAll(audio); e.target.value = '';
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); uploadAll(e.dataTransfer.files); });

// ---- Sets: open one as text, check it (problems at their lines), save, apply, last good copy.
async function showSets(select) {
  $('sets').hidden = false;
  try {
    const l = await api('/api/sets');
    const sel = $('set-name');
    sel.textContent = '';
    for (const n of l.sets) { const o = document.createElement('option'); o.value = n; o.textContent = n; sel.appendChild(o); }
    sel.value = select || l.playing || l.sets[0] || '';
    $('set-playing').textContent = l.playing ? `playing: ${l.playing}` : '(the demo has no set file)';
    $('set-restore').disabled = !l.last_good_copy; $('set-lastgood').disabled = !l.last_good_copy;
    if (sel.value) await openSet(sel.value);
  } catch (e) { setMsg(e.message); }
}
function setMsg(t, ok) { $('set-msg').textContent = t; $('set-msg').classList.toggle('ok', !!ok); }
function showProblems(list) {
  const ol = $('set-problems');
  ol.textContent = '';
  for (const p of list || []) {
    const li = document.createElement('li');
    li.textContent = `line ${p.line}: ${p.message}`;
    li.dataset.line = p.line;
    li.addEventListener('click', () => selectLine(p.line));
    ol.appendChild(li);
  }
}
function selectLine(n) {
  const ta = $('set-text');
  const lines = ta.value.split('\n');
  let a = 0;
  for (let i = 0; i < n - 1 && i < lines.length; i++) a += lines[i].length + 1;
  ta.focus();
  ta.setSelectionRange(a, a + (lines[n - 1] || '').length);
}
function setDownloadLink(name) {
  $('set-download').href = `/api/sets/archive?name=${encodeURIComponent(name)}`;
}
$('set-archive').addEventListener('change', (e) => {
  const f = e.target.files[0];
  e.target.value = '';
  if (!f) return;
  setMsg(`uploading ${f.name}…`, true);
  const xhr = new XMLHttpRequest();
  xhr.open('POST', '/api/sets/archive');
  xhr.setRequestHeader('Content-Type', 'application/x-tar');
  xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) setMsg(`uploading ${f.name}: ${Math.round(100 * ev.loaded / ev.total)}%`, true); };
  xhr.onload = () => {
    let j = {};
    try { j = JSON.parse(xhr.responseText); } catch (er) { /* not JSON */ }
    if (xhr.status === 200) { setMsg(`unpacked ${j.files.length} files`, true); showSets(); } else setMsg(j.error || xhr.statusText);
  };
  xhr.send(f);
});
async function openSet(name) {
  setDownloadLink(name);
  const t = await api(`/api/sets/text?name=${encodeURIComponent(name)}`);
  $('set-text').value = t.text;
  showProblems(t.problems);
  setMsg(t.problems.length ? 'This file has problems (below); it would not load.' : '');
}
async function saveSet(name, apply, check) {
  const r = await fetch('/api/sets/save', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, text: $('set-text').value, apply, check }) });
  const j = await r.json().catch(() => ({}));
  showProblems(j.problems);
  if (!r.ok) { setMsg(j.error || r.statusText); if (j.problems && j.problems[0]) selectLine(j.problems[0].line); return false; }
  setMsg(check ? 'No problems: it loads.' : apply ? 'Saved; applying (the log says what changed).' : 'Saved.', true);
  return true;
}
$('sets-open').addEventListener('click', () => { if ($('sets').hidden) showSets(); else $('sets').hidden = true; });
$('sets-close').addEventListener('click', () => { $('sets').hidden = true; });
$('set-name').addEventListener('change', (e) => openSet(e.target.value).catch((er) => setMsg(er.message)));
$('set-check').addEventListener('click', () => saveSet($('set-name').value, false, true));
$('set-save').addEventListener('click', () => saveSet($('set-name').value, false, false));
$('set-apply').addEventListener('click', () => saveSet($('set-name').value, true, false));
$('set-saveas').addEventListener('click', async () => {
  const n = prompt('Save as (NAME.toml in the set\'s folder)', 'new-set.toml');
  if (n && await saveSet(n, false, false)) showSets(n);
});
$('set-lastgood').addEventListener('click', async () => {
  try { const t = await api('/api/sets/last-good'); $('set-text').value = t.text; showProblems([]); setMsg('The last good copy (not saved: Save to keep it, or Restore it).', true); }
  catch (e) { setMsg(e.message); }
});
$('set-restore').addEventListener('click', async () => {
  if (!confirm('Replace the playing set file by its last good copy?')) return;
  try { await api('/api/sets/restore', {}); setMsg('Restored; applying.', true); setTimeout(() => showSets(), 500); } catch (e) { setMsg(e.message); }
});
$('state-reset').addEventListener('click', async () => {
  if (!confirm('Forget the live changes (gains, EQ, tempo, bank…) kept across restarts?')) return;
  try { await api('/api/state/reset', {}); setMsg('Saved state reset: the set plays as written.', true); } catch (e) { setMsg(e.message); }
});

// ---- System.
async function showSystem() {
  $('system').hidden = false;
  const dl = $('system-info');
  dl.textContent = 'reading…';
  try {
    const s = await api('/api/system');
    dl.textContent = '';
    const row = (k, v) => { const dt = document.createElement('dt'); dt.textContent = k; const dd = document.createElement('dd'); dd.textContent = v; dl.append(dt, dd); };
    row('padlooper', `${s.version}${s.service ? ' (service)' : ''}`);
    row('engine', `${s.rate} Hz, ${s.voices} voices, ${s.pads} pads`);
    row('set', s.set || 'the built-in demo');
    row('audio outputs', s.audio_outputs.length ? s.audio_outputs.join('\n') : 'none found');
    const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
    row('sample memory', `${mb(s.sample_memory.bytes)} held (${mb(s.sample_memory.float32_bytes)} as float32)`);
    row('memory plan', s.memory_plan.length ? s.memory_plan.join('\n') : '—');
    row('MIDI inputs', s.midi_inputs.length ? s.midi_inputs.map(([p, prof]) => `${p} → ${prof || 'no profile (padlooper learn)'}`).join('\n') : 'none found');
  } catch (e) { dl.textContent = e.message; }
}
$('system-open').addEventListener('click', () => { if ($('system').hidden) showSystem(); else $('system').hidden = true; });
$('system-close').addEventListener('click', () => { $('system').hidden = true; });
$('restart').addEventListener('click', async () => {
  if (!confirm('Restart padlooper? The sound stops for a moment.')) return;
  try { const r = await api('/api/system/restart', {}); addLog([{ level: 'warn', t: 0, text: r.service ? 'restarting (systemd starts padlooper again)' : 'padlooper stops (not a service: start it again by hand)' }]); } catch (e) { /* gone */ }
});

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    await api('/api/login', { password: $('password').value });
    $('password').value = ''; $('login-error').textContent = '';
    start();
  } catch (err) { $('login-error').textContent = err.message; }
});
$('logout').addEventListener('click', async () => { await api('/api/logout', {}); location.reload(); });
$('play').addEventListener('click', () => send({ transport: 'toggle' }));
$('tap').addEventListener('pointerdown', (e) => { e.preventDefault(); send({ transport: 'tap' }); });
$('volume').addEventListener('input', (e) => send({ volume: Number(e.target.value) }));
start();

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
  const now = performance.now();
  const dt = Math.min(1, (now - meterAt) / 1000);
  meterAt = now;
  $('bpm').textContent = s.transport.bpm.toFixed(2);
  $('pos').textContent = `${s.transport.bar}.${s.transport.beat}`;
  $('play').classList.toggle('on', s.transport.running);
  $('play').textContent = s.transport.running ? '■' : '▶';
  $('load').textContent = `${s.load.toFixed(1)}%`;
  $('xruns').textContent = s.xruns;
  $('voices').textContent = `${s.voices}/${s.voice_limit}`;
  $('link').hidden = !s.link.on;
  $('link').textContent = s.link.on ? `LINK ${s.link.peers}` : 'LINK';
  const cells = $('grid').children;
  s.cells.forEach((c, i) => {
    const b = cells[i];
    if (!b) return;
    if (c === null) {
      delete b.dataset.id; b.className = 'pad empty';
      b.querySelector('.name').textContent = '';
      b.querySelector('.badge').textContent = '';
      b.querySelector('.lvl').style.width = '0';
      return;
    }
    b.dataset.id = c.id;
    b.dataset.look = c.look;
    b.className = `pad ${c.look}` + (held.has(String(c.id)) ? ' held' : '');
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

// Cohort's dashboard: renders the snapshots the coordinator streams (server-sent events, one a
// second). Every text from the cluster goes in with textContent, never as HTML: task names,
// messages and stack traces are the users' own.
'use strict';

const $ = (id) => document.getElementById(id);
const el = (tag, text, cls) => {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
};
const COLORS = { SUCCEEDED: '#2f7d4f', FAILED: '#b3261e', WORKER_LOST: '#b3261e', TIMED_OUT: '#c77700',
  CANCELLED: '#8a8a85', QUEUED: '#c77700', RUNNING: '#2a5db0' };
let streamHits = [];
let failuresShown = '';

function connect() {
  const source = new EventSource('events');
  source.onopen = () => { $('connection').textContent = 'live'; $('connection').className = 'on'; };
  source.onerror = () => { $('connection').textContent = 'reconnecting…'; $('connection').className = 'off'; };
  source.onmessage = (m) => {
    const s = JSON.parse(m.data);
    if (s.counts) render(s);
  };
}

function render(s) {
  const c = s.counts;
  const completed = c.succeeded + c.failed + c.worker_lost + c.cancelled + c.timed_out;
  $('count-queued').textContent = c.queued;
  $('count-assigned').textContent = c.assigned;
  $('count-running').textContent = c.running;
  $('count-completed').textContent = completed;
  $('count-failed').textContent = c.failed + c.worker_lost + c.timed_out;
  $('count-retried').textContent = c.retried;
  const lastOf = (a) => (a && a.length ? a[a.length - 1] : 0);
  $('rate-tasks').textContent = lastOf(s.completedPerSecond);
  $('rate-failures').textContent = lastOf(s.failedPerSecond);
  $('clock').textContent = new Date(s.time).toLocaleTimeString();
  workers(s.workers);
  rates(s.completedPerSecond, s.failedPerSecond);
  stream(s);
  sessions(s.sessions);
  failures(s.failures, s.retention);
  retention(s.retention);
}

function workers(list) {
  const body = document.querySelector('#workers tbody');
  body.replaceChildren();
  for (const w of list) {
    const tr = el('tr', null, 'worker ' + w.state);
    tr.dataset.id = w.id;
    tr.append(el('td', w.id), el('td', w.host), el('td', w.pid || ''));
    tr.append(el('td', w.state + (w.reason ? ' (' + w.reason + ')' : '')));
    const slots = el('span', null, 'slots');
    for (let i = 0; i < w.slots; i++) slots.append(el('span', null, 'slot' + (i < w.running ? ' busy' : '')));
    const td = el('td'); td.append(slots, el('span', ' ' + w.slots));
    tr.append(td, el('td', w.running), el('td', w.assigned));
    body.append(tr);
  }
}

function rates(done, failed) {
  const canvas = $('rates');
  const g = canvas.getContext('2d');
  g.clearRect(0, 0, canvas.width, canvas.height);
  const n = Math.max(done.length, 2);
  const max = Math.max(1, ...done, ...failed);
  const line = (points, color) => {
    g.strokeStyle = color; g.lineWidth = 2; g.beginPath();
    points.forEach((v, i) => {
      const x = canvas.width - (points.length - 1 - i) * (canvas.width / (n - 1));
      const y = canvas.height - 4 - (v / max) * (canvas.height - 20);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  };
  line(done, COLORS.SUCCEEDED);
  line(failed, COLORS.FAILED);
  g.fillStyle = '#6b6b66'; g.font = '11px sans-serif';
  g.fillText('max ' + max + '/s', 4, 12);
}

// Bars: [worker, lane, startMs, endMs, state, taskKey], times relative to the snapshot.
function stream(s) {
  const canvas = $('stream');
  const lanes = [];
  for (const w of s.workers) {
    if (w.state === 'lost' || w.state === 'left') continue;
    for (let i = 0; i < Math.max(w.slots, 1); i++) lanes.push(w.id + ' #' + i);
  }
  const laneOf = new Map(lanes.map((name, i) => [name, i]));
  const height = 18;
  canvas.height = Math.max(1, lanes.length) * height + 18;
  const g = canvas.getContext('2d');
  g.clearRect(0, 0, canvas.width, canvas.height);
  const windowMs = s.retention.barWindowSeconds * 1000;
  const left = 90;
  const xOf = (ms) => left + (canvas.width - left) * (1 + ms / windowMs);
  g.font = '11px sans-serif'; g.fillStyle = '#6b6b66';
  lanes.forEach((name, i) => g.fillText(name, 2, i * height + 13));
  g.fillText('-' + s.retention.barWindowSeconds + ' s', left, canvas.height - 4);
  g.fillText('now', canvas.width - 24, canvas.height - 4);
  streamHits = [];
  for (const [worker, lane, start, end, state, key] of s.bars) {
    const row = laneOf.get(worker + ' #' + lane);
    if (row === undefined) continue;
    const x0 = Math.max(left, xOf(start));
    const x1 = Math.max(x0 + 1, xOf(end));
    g.fillStyle = COLORS[state] || '#444';
    g.fillRect(x0, row * height + 3, x1 - x0, height - 6);
    streamHits.push([x0, x1, row * height, row * height + height, key]);
  }
  const r = s.retention;
  $('stream-note').textContent = r.barsDropped > 0
    ? '(at most ' + r.bars + ' tasks shown: ' + r.barsDropped + ' older ones dropped)' : '';
}

function sessions(list) {
  const body = document.querySelector('#sessions tbody');
  body.replaceChildren();
  for (const s of list.slice().reverse()) {
    const done = s.succeeded + s.failed + s.cancelled;
    const tr = el('tr', null, s.ended ? 'ended' : '');
    const bar = el('div', null, 'bar');
    const fill = el('span');
    fill.style.width = (s.submitted ? Math.round(100 * done / s.submitted) : 0) + '%';
    bar.append(fill);
    const td = el('td'); td.append(bar);
    tr.append(el('td', s.session + (s.ended ? ' (ended)' : '')), td, el('td', done + ' / ' + s.submitted),
      el('td', s.failed), el('td', s.queued), el('td', s.onWorkers));
    body.append(tr);
  }
}

function failures(list, r) {
  // Rebuilt only when it changed: a trace being read or scrolled stays put.
  const shown = list.map((f) => f.task + '/' + f.attempt + '/' + f.time).join(',');
  if (shown === failuresShown) return;
  failuresShown = shown;
  const box = $('failures');
  box.replaceChildren();
  for (const f of list.slice().reverse()) {
    const d = el('div', null, 'failure');
    const head = el('div', f.className + (f.message ? ': ' + f.message : ''), 'head');
    head.title = 'show the task\'s history';
    head.onclick = () => history(f.task);
    const where = el('div', 'task ' + f.task + ' attempt ' + f.attempt + (f.worker ? ' on ' + f.worker : '')
      + (f.session ? ', session ' + f.session : '') + ', ' + new Date(f.time).toLocaleTimeString(), 'note');
    d.append(head, where, el('pre', f.trace, 'trace'));
    box.append(d);
  }
  $('failures-note').textContent = r.failuresSeen > list.length || r.failuresDropped > 0
    ? '(the last ' + list.length + ' of ' + (r.failuresSeen + r.failuresDropped) + ')' : '';
}

function retention(r) {
  const parts = ['Kept: tasks of the last ' + r.barWindowSeconds + ' s in the stream (at most ' + r.bars + ')',
    'the last ' + r.failures + ' failures', r.sessions + ' sessions', 'histories of the last ' + r.histories + ' tasks'];
  if (r.historiesForgotten > 0) parts.push(r.historiesForgotten + ' older histories forgotten');
  if (r.transitionsLost > 0) parts.push(r.transitionsLost + ' task transitions missed while the dashboard fell behind');
  if (r.queueClocksForgotten > 0) parts.push(r.queueClocksForgotten + ' queue waits not measured');
  $('retention').textContent = parts.join('; ') + '.';
}

async function history(key) {
  $('history-key').value = key;
  const box = $('history');
  box.replaceChildren(el('p', 'loading…', 'note'));
  const r = await fetch('task?key=' + encodeURIComponent(key));
  const body = await r.json();
  box.replaceChildren();
  if (!r.ok) { box.append(el('p', body.error, 'note')); return; }
  box.append(el('p', 'task ' + body.task + ', session ' + body.session, 'note'));
  const t = el('table');
  const head = el('tr');
  for (const h of ['time', 'attempt', 'from', 'to', 'why', 'where']) head.append(el('th', h));
  t.append(head);
  for (const h of body.hops) {
    const tr = el('tr');
    tr.append(el('td', new Date(h.time).toLocaleTimeString() + '.' + String(h.time % 1000).padStart(3, '0')),
      el('td', h.attempt), el('td', h.from), el('td', h.to), el('td', h.why), el('td', h.worker));
    t.append(tr);
  }
  box.append(t);
}

document.addEventListener('DOMContentLoaded', () => {
  $('history-form').onsubmit = (e) => { e.preventDefault(); const k = $('history-key').value.trim(); if (k) history(k); };
  $('stream').onclick = (e) => {
    const canvas = $('stream');
    const rect = canvas.getBoundingClientRect();
    const x = (e.clientX - rect.left) * canvas.width / rect.width;
    const y = (e.clientY - rect.top) * canvas.height / rect.height;
    const hit = streamHits.find(([x0, x1, y0, y1]) => x >= x0 - 2 && x <= x1 + 2 && y >= y0 && y <= y1);
    if (hit) history(hit[4]);
  };
  connect();
});

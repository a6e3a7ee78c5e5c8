#!/usr/bin/env node
// A stand-in for `shardgate demo --metrics` that needs no C++ build: serves the real status page
// (src/observe/status_page/index.html, read from disk on every request so edits show on reload) and
// fake /status.json, /metrics and /events with N simulated shards that get a fault every few seconds.
//   node stub_server.mjs [--shards 8] [--listen 127.0.0.1:0] [--fault-every 2] [--fatal-shard K] [--mode demo]
// Like shardgate it logs `INFO status page and metrics at http://127.0.0.1:PORT/` on stderr, so
// `status_page_test.py --stub` can drive it exactly like the binary. No dependencies. Ends on SIGINT/SIGTERM.

import http from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const pagePath = path.resolve(here, '../../../src/observe/status_page/index.html');
const { values: opt } = parseArgs({
  options: {
    shards: { type: 'string', default: '8' },
    listen: { type: 'string', default: '127.0.0.1:0' },
    'fault-every': { type: 'string', default: '2' },
    'fatal-shard': { type: 'string' },
    mode: { type: 'string', default: 'demo' },
  },
});
const shardCount = Number(opt.shards);
const faultEveryMs = Number(opt['fault-every']) * 1000;
const fatalShard = opt['fatal-shard'] == null ? null : Number(opt['fatal-shard']);
const [host, port] = [opt.listen.slice(0, opt.listen.lastIndexOf(':')), Number(opt.listen.slice(opt.listen.lastIndexOf(':') + 1))];

const start = Date.now();
const log = (level, msg) => process.stderr.write(`${new Date().toISOString()} ${level} ${msg}\n`);

// ---- simulation
const shards = Array.from({ length: shardCount }, (_, id) => ({
  id, state: 'idle', latency_ms: null, events_per_s: 0, dispatches: 0, resumes: 0, identifies: 0, last_close_code: null,
}));
const totals = { faults: 0, lost: 0, duplicated: 0 };
const history = []; // last 50 lifecycle events, replayed to each new /events client
const clients = new Set();
const timers = new Set();
const later = (ms, fn) => { const t = setTimeout(() => { timers.delete(t); fn(); }, ms); timers.add(t); };

function lifecycle(ev) {
  ev = { time: new Date().toISOString(), ...ev };
  history.push(ev);
  if (history.length > 50) history.shift();
  for (const res of clients) sse(res, 'lifecycle', ev);
}
function to(sh, state, kind, text, extra = {}) {
  sh.state = state;
  if (kind) lifecycle({ shard: sh.id, kind, text: `shard ${sh.id}: ${text}`, ...extra });
}

function identify(sh, delay) {
  later(delay, () => to(sh, 'connecting', 'connecting', 'connecting to ws://127.0.0.1/?v=10&encoding=json'));
  later(delay + 120, () => to(sh, 'awaiting_hello', 'hello', 'hello, heartbeat interval 41250 ms'));
  later(delay + 200, () => { sh.identifies++; to(sh, 'identifying', 'identifying', 'identifying'); });
  later(delay + 450, () => { sh.latency_ms = 8 + Math.round(Math.random() * 30); to(sh, 'active', 'ready', `ready, session ${(sh.id * 7919).toString(16)}`); });
}
function resume(sh, delay) {
  later(delay, () => to(sh, 'resuming', 'resuming', 'resuming session'));
  later(delay + 400, () => { sh.resumes++; to(sh, 'active', 'resumed', 'resumed, replayed 3 events'); });
}

// Identify buckets like Discord's: spread over about 3 s whatever the shard count.
const spacing = Math.min(150, 3000 / Math.max(1, shardCount));
shards.forEach((sh, i) => identify(sh, 100 + i * spacing));

const FAULTS = [
  ['reconnect', sh => {
    to(sh, 'closing', 'reconnect_requested', 'op 7 Reconnect from the gateway');
    later(250, () => { sh.last_close_code = 4000; to(sh, 'disconnected', 'closed', 'closed with 4000 (Unknown error): resuming', { code: 4000, name: 'Unknown error', reaction: 'resume' }); });
    resume(sh, 700);
  }],
  ['close_4000', sh => {
    sh.last_close_code = 4000;
    to(sh, 'disconnected', 'closed', 'closed with 4000 (Unknown error): resuming', { code: 4000, name: 'Unknown error', reaction: 'resume' });
    resume(sh, 500);
  }],
  ['invalid_session', sh => {
    to(sh, 'disconnected', 'invalid_session', 'op 9 Invalid Session (not resumable): identifying anew');
    identify(sh, 900);
  }],
  ['zombie', sh => {
    to(sh, 'closing', 'zombie', 'no heartbeat ACK: zombied connection');
    later(300, () => { sh.last_close_code = 4009; to(sh, 'disconnected', 'closed', 'closed with 4009 (Session timed out): reidentifying', { code: 4009, name: 'Session timed out', reaction: 'reidentify' }); });
    identify(sh, 900);
  }],
];
let faultIndex = 0;
const faultTimer = faultEveryMs > 0 ? setInterval(() => {
  const active = shards.filter(s => s.state === 'active' && s.id !== fatalShard);
  if (!active.length) return;
  const sh = active[Math.floor(Math.random() * active.length)];
  const [name, run] = FAULTS[faultIndex++ % FAULTS.length];
  totals.faults++;
  lifecycle({ shard: sh.id, kind: 'fault', fault: name, text: `injected ${name} on shard ${sh.id}` });
  run(sh);
}, faultEveryMs) : null;
if (fatalShard != null && shards[fatalShard]) later(5000, () => {
  Object.assign(shards[fatalShard], { last_close_code: 4004, latency_ms: null });
  to(shards[fatalShard], 'fatally_closed', 'fatal', 'closed with 4004 (Authentication failed): fatal', {
    code: 4004, name: 'Authentication failed', reaction: 'fatal', remedy: 'check the token: it is wrong, or was reset',
  });
});

const ticker = setInterval(() => {
  for (const sh of shards) {
    sh.events_per_s = sh.state === 'active' ? Math.round((40 + Math.random() * 20) * 10) / 10 : 0;
    sh.dispatches += Math.round(sh.events_per_s / 2);
    if (sh.latency_ms != null && sh.state === 'active') sh.latency_ms = Math.max(1, sh.latency_ms + Math.round(Math.random() * 4 - 2));
  }
  const json = status();
  for (const res of clients) sse(res, 'status', json);
}, 500);

function status() {
  const sum = k => shards.reduce((a, s) => a + s[k], 0);
  const t = { events_per_s: Math.round(sum('events_per_s') * 10) / 10, dispatches: sum('dispatches'), resumes: sum('resumes'), identifies: sum('identifies') };
  if (opt.mode !== 'serve') Object.assign(t, totals);
  return { title: `shardgate ${opt.mode} (stub)`, mode: opt.mode, uptime_s: (Date.now() - start) / 1000, shards, totals: t };
}

function metrics() {
  const lines = [
    '# HELP shardgate_shards Shards by state.', '# TYPE shardgate_shards gauge',
    ...[...new Set(shards.map(s => s.state))].map(st => `shardgate_shards{state="${st}"} ${shards.filter(s => s.state === st).length}`),
    '# HELP shardgate_dispatches_total Dispatch events received.', '# TYPE shardgate_dispatches_total counter',
    ...shards.map(s => `shardgate_dispatches_total{shard="${s.id}"} ${s.dispatches}`),
    '# HELP shardgate_resumes_total Sessions resumed.', '# TYPE shardgate_resumes_total counter',
    ...shards.map(s => `shardgate_resumes_total{shard="${s.id}"} ${s.resumes}`),
  ];
  return lines.join('\n') + '\n';
}

// ---- HTTP
function sse(res, event, data) { res.write(`event: ${event}\ndata: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`); }

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://stub');
  if (req.method !== 'GET') { res.writeHead(405).end(); return; }
  switch (url.pathname) {
    case '/':
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(readFileSync(pagePath));
      return;
    case '/status.json':
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(status()));
      return;
    case '/metrics':
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(metrics());
      return;
    case '/events':
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      sse(res, 'status', status());
      for (const ev of history) sse(res, 'lifecycle', ev);
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    default:
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }
});
server.listen(port, host, () => log('INFO', `status page and metrics at http://${host}:${server.address().port}/`));

function stop(sig) {
  log('INFO', `${sig}: stopping`);
  clearInterval(ticker); if (faultTimer) clearInterval(faultTimer);
  for (const t of timers) clearTimeout(t);
  for (const res of clients) res.end();
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));

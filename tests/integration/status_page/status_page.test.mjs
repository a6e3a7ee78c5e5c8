#!/usr/bin/env node
// The status page in headless Chromium against a running `shardgate demo --metrics`:
//   node status_page.test.mjs --shardgate PATH_TO_BINARY --screenshot OUT.png
//   node status_page.test.mjs --url http://127.0.0.1:PORT/ --screenshot OUT.png   (a server already running)
//   node status_page.test.mjs --stub --screenshot OUT.png                          (spawns stub_server.mjs)
// Optional: --shards N (default 8), --chromium PATH (default /usr/bin/chromium).
// Checks: one grid cell per shard; an injected fault and the shard's recovery in the feed; every shard
// active at least once (then a full-page screenshot); /metrics is Prometheus text. Exit 0 on pass,
// 1 on failure (with a screenshot of the page as it was, when it was open). See README.md.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const started = Date.now();
const elapsed = () => ((Date.now() - started) / 1000).toFixed(1) + ' s';
const say = msg => console.log(`[${elapsed()}] ${msg}`);

let opt;
try {
  ({ values: opt } = parseArgs({
    options: {
      shardgate: { type: 'string' }, url: { type: 'string' }, stub: { type: 'boolean', default: false },
      screenshot: { type: 'string' }, shards: { type: 'string', default: '8' },
      chromium: { type: 'string', default: '/usr/bin/chromium' },
    },
  }));
} catch (err) {
  console.log(`usage: node status_page.test.mjs (--shardgate BIN | --url URL | --stub) --screenshot OUT.png [--shards N]\n${err.message}`);
  process.exit(2);
}
if ([opt.shardgate, opt.url, opt.stub || undefined].filter(v => v !== undefined).length !== 1 || !opt.screenshot) {
  console.log('usage: node status_page.test.mjs (--shardgate BIN | --url URL | --stub) --screenshot OUT.png [--shards N]');
  process.exit(2);
}
const shardCount = Number(opt.shards);
const screenshot = path.resolve(opt.screenshot);

if (!existsSync(path.join(here, 'node_modules', 'playwright-core'))) {
  console.log(`FAIL: ${path.join(here, 'node_modules')} is missing playwright-core; run scripts/npm-setup (npm ci from the committed package-lock.json)`);
  process.exit(1);
}
if (!existsSync(opt.chromium)) {
  console.log(`FAIL: no Chromium at ${opt.chromium}; run scripts/bootstrap (Debian package chromium). Never 'npx playwright install'.`);
  process.exit(1);
}
const { chromium } = await import('playwright-core');

// ---- state shared with the failure path
let child = null, childExit = null, browser = null, page = null;
const childLog = []; // last lines of the child's output, printed on failure
const pageErrors = [];

class Failure extends Error {}
const fail = msg => { throw new Failure(msg); };

// SIGINT, then up to 10 s for the exit; SIGKILL after that. Returns {code, signal}, or null when it had to be killed.
async function stopChild() {
  if (!child || childExit) return childExit;
  const exited = new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal })));
  const within = ms => Promise.race([exited, new Promise(r => setTimeout(r, ms, null))]);
  child.kill('SIGINT');
  const res = await within(10_000);
  if (res) return res;
  child.kill('SIGKILL');
  await within(2000);
  return null;
}

async function cleanup(failed) {
  if (failed && page) {
    try { await page.screenshot({ path: screenshot, fullPage: true, timeout: 5000 }); console.log(`screenshot of the failing page: ${screenshot}`); }
    catch (err) { console.log(`(no screenshot: ${err.message.split('\n')[0]})`); }
  }
  if (browser) await browser.close().catch(() => {});
  return stopChild();
}

const hardTimeout = setTimeout(async () => {
  console.log(`FAIL: overall time limit of 90 s exceeded`);
  dumpChildLog();
  await Promise.race([cleanup(true), new Promise(r => setTimeout(r, 12_000))]);
  if (child && !childExit) child.kill('SIGKILL');
  process.exit(1);
}, 90_000);

function dumpChildLog() {
  if (!childLog.length) return;
  console.log(`--- last ${childLog.length} lines of the server's output ---`);
  for (const l of childLog) console.log('  ' + l);
}

// ---- the server: spawn it and read its URL from stderr, or take --url
async function startServer() {
  if (opt.url) return new URL(opt.url);
  const [cmd, args] = opt.stub
    ? [process.execPath, [path.join(here, 'stub_server.mjs'), '--shards', String(shardCount), '--fault-every', '2']]
    : [path.resolve(opt.shardgate), ['demo', '--shards', String(shardCount), '--duration', '40', '--fault-every', '2', '--metrics', '127.0.0.1:0']];
  say(`spawning ${[cmd, ...args].join(' ')}`);
  child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.once('exit', (code, signal) => { childExit = { code, signal }; });
  let urlResolve, urlReject;
  const urlFound = new Promise((res, rej) => { urlResolve = res; urlReject = rej; });
  child.once('error', err => { childExit = { code: null, signal: null, error: err.message }; urlReject(new Failure(`could not start ${cmd}: ${err.message}`)); });
  child.once('exit', (code, signal) => urlReject(new Failure(`the server exited (code ${code}, signal ${signal}) before it logged its status page URL`)));
  // Both pipes are drained for the whole run: a full pipe would block the child.
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', chunk => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        childLog.push(line);
        if (childLog.length > 40) childLog.shift();
        const m = stream === child.stderr && /http:\/\/127\.0\.0\.1:(\d+)\//.exec(line);
        if (m) urlResolve(new URL(`http://127.0.0.1:${m[1]}/`));
      }
    });
  }
  let timer;
  const timeout = new Promise((_, rej) => { timer = setTimeout(() => rej(new Failure('no http://127.0.0.1:PORT/ line on the server\'s stderr within 20 s')), 20_000); });
  try { return await Promise.race([urlFound, timeout]); } finally { clearTimeout(timer); }
}

// page.waitForFunction with a message of our own when it times out
async function waitFor(what, ms, fn, arg) {
  try {
    return await (await page.waitForFunction(fn, arg, { timeout: ms, polling: 100 })).jsonValue();
  } catch (err) {
    if (/Timeout/i.test(err.message)) fail(`${what}: not within ${ms / 1000} s`);
    throw err;
  }
}

async function run() {
  const url = await startServer();
  say(`status page at ${url}`);

  browser = await chromium.launch({
    executablePath: opt.chromium, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('pageerror', err => pageErrors.push(err.message));
  page.on('console', msg => { if (msg.type() === 'error') pageErrors.push(`console: ${msg.text()}`); });
  const resp = await page.goto(url.href, { waitUntil: 'domcontentloaded', timeout: 10_000 });
  if (!resp || !resp.ok()) fail(`GET ${url.href} answered ${resp ? resp.status() : 'nothing'}`);

  // (1) one cell per shard, ids 0..N-1
  await waitFor(`the grid showing exactly ${shardCount} cells [data-shard] with ids 0..${shardCount - 1}`, 15_000, n => {
    const ids = [...document.querySelectorAll('#grid [data-shard]')].map(c => c.dataset.shard);
    return ids.length === n && ids.every((id, i) => id === String(i));
  }, shardCount);
  say(`(1) grid: ${shardCount} cells, ids 0..${shardCount - 1}`);
  const conn = await page.getAttribute('#conn', 'data-status');
  if (conn !== 'live') fail(`#conn shows "${conn}" while the event stream should be open`);

  // (2) an injected fault, then (above it: newest on top) the same shard resumed, re-identified (ready) or closed
  const faultDeadline = Date.now() + 20_000;
  const faultSeen = await waitFor('a lifecycle entry data-kind="fault" in #feed', 20_000, () => {
    const f = document.querySelector('#feed .entry[data-kind="fault"]');
    return f && { shard: f.dataset.shardId, text: f.innerText.replace(/\s+/g, ' ') };
  });
  say(`(2) fault in the feed: ${faultSeen.text}`);
  const recovery = await waitFor(`a "resumed", "ready" or "closed" entry after a fault, for the same shard (first fault: ${faultSeen.text})`, Math.max(1000, faultDeadline - Date.now()), () => {
    const entries = [...document.querySelectorAll('#feed .entry')]; // newest first
    for (let i = 0; i < entries.length; i++) {
      if (entries[i].dataset.kind !== 'fault') continue;
      const shard = entries[i].dataset.shardId;
      const after = entries.slice(0, i).reverse().find(e => e.dataset.shardId === shard && ['resumed', 'ready', 'closed'].includes(e.dataset.kind));
      if (after) return { fault: entries[i].innerText.replace(/\s+/g, ' '), after: after.innerText.replace(/\s+/g, ' ') };
    }
    return null;
  });
  say(`(2) recovery: ${recovery.after}`);

  // (3) every shard active at least once, then the screenshot
  await waitFor(`all ${shardCount} shards shown data-state="active" at least once`, 20_000, n => {
    const seen = (window.__seenActive ??= new Set());
    for (const c of document.querySelectorAll('#grid [data-shard][data-state="active"]')) seen.add(c.dataset.shard);
    return seen.size >= n;
  }, shardCount);
  say(`(3) every shard has been active`);
  await page.screenshot({ path: screenshot, fullPage: true });

  // (4) /metrics (and /status.json) from the page's origin
  const metrics = await fetch(new URL('/metrics', url), { signal: AbortSignal.timeout(5000) });
  const type = metrics.headers.get('content-type') || '';
  const body = await metrics.text();
  if (!metrics.ok) fail(`GET /metrics answered ${metrics.status}`);
  if (!type.startsWith('text/plain')) fail(`GET /metrics content-type is "${type}", not text/plain`);
  if (!/^shardgate_\w+/m.test(body)) fail(`GET /metrics has no shardgate_ lines:\n${body.slice(0, 500)}`);
  say(`(4) /metrics: ${type}, ${body.split('\n').filter(l => l.startsWith('shardgate_')).length} shardgate_ samples`);
  const snap = await (await fetch(new URL('/status.json', url), { signal: AbortSignal.timeout(5000) })).json();
  if (!Array.isArray(snap.shards) || snap.shards.length !== shardCount) fail(`GET /status.json has ${snap.shards?.length} shards, not ${shardCount}`);

  if (pageErrors.length) fail(`the page reported errors:\n  ${pageErrors.join('\n  ')}`);
}

let failed = false;
try {
  await run();
} catch (err) {
  failed = true;
  console.log(err instanceof Failure ? `FAIL: ${err.message}` : `FAIL: ${err.stack || err}`);
  dumpChildLog();
}
const exit = await cleanup(failed);
clearTimeout(hardTimeout);
if (child) {
  if (!exit) { console.log('FAIL: the server did not exit within 10 s of SIGINT (killed)'); failed = true; }
  else if (!exit.error) say(`server exited (code ${exit.code}, signal ${exit.signal})`);
}
if (failed) process.exit(1);
say(`PASS; screenshot: ${screenshot}`);
process.exit(0);

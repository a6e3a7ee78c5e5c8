#!/usr/bin/env node
// Side-by-side benchmark: the same flood and the same idle test with third-party Node.js Discord
// gateway clients (@discordjs/ws, @discordeno/gateway) against `shardgate serve`, one JSON object per
// measurement on stdout. See README.md.
//
//   node bench/peers/run.mjs --shardgate build/dev/shardgate [--client discordjs|discordeno|all]
//        [--events 200000] [--idle-shards 1000] [--compress none|zlib-stream|zstd-stream|all] [--json]
//
// Each measurement gets a fresh emulator and a fresh Node.js process (worker.mjs, with --expose-gc);
// this process only starts them, enforces the timeouts and always kills the emulator.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const PEERS = {
  discordjs: { pkg: '@discordjs/ws', compress: ['none', 'zlib-stream'] },
  discordeno: { pkg: '@discordeno/gateway', compress: ['none', 'zlib-stream', 'zstd-stream'] },
};
const COMPRESSIONS = ['none', 'zlib-stream', 'zstd-stream'];

const USAGE = `usage: node bench/peers/run.mjs --shardgate BIN [options]
  --client discordjs|discordeno|all   (default all)
  --events N                          flood size (default 200000)
  --idle-shards N                     shards of the idle test (default 1000)
  --compress none|zlib-stream|zstd-stream|all   comma-separated list allowed; all = none,zlib-stream
  --test flood|idle|all               (default all)
  --settle-s S                        idle: wait after the last READY (default 5)
  --seed S                            emulator --seed (default 1)
  --json                              JSON lines only (no progress or table on stderr)
  --verbose                           relay the emulator's and the libraries' own output to stderr`;

function parseArgs(argv) {
  const o = {
    shardgate: null,
    client: 'all',
    events: 200000,
    idleShards: 1000,
    compress: 'all',
    test: 'all',
    settleS: 5,
    seed: 1,
    json: false,
    verbose: false,
  };
  const flags = { '--json': 'json', '--verbose': 'verbose', '--no-shardgate': 'noShardgate' };
  const valued = {
    '--shardgate': 'shardgate', '--client': 'client', '--events': 'events', '--idle-shards': 'idleShards',
    '--compress': 'compress', '--test': 'test', '--settle-s': 'settleS', '--seed': 'seed',
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (arg === '-h' || arg === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else if (flags[arg]) {
      o[flags[arg]] = true;
    } else if (valued[arg]) {
      if (value === undefined) {
        if (i + 1 >= argv.length) usage(`${arg} needs a value`);
        value = argv[++i];
      }
      o[valued[arg]] = value;
    } else {
      usage(`unknown argument ${arg}`);
    }
  }
  for (const key of ['events', 'idleShards', 'seed']) {
    const n = Number(o[key]);
    if (!Number.isInteger(n) || n < 1) usage(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be a positive integer`);
    o[key] = n;
  }
  o.settleS = Number(o.settleS);
  if (!(o.settleS >= 0)) usage('--settle-s must be a number >= 0');
  const list = (text, all) => [...new Set(text.split(',').flatMap((x) => (x === 'all' ? all : [x])))];
  o.clients = list(o.client, Object.keys(PEERS));
  for (const c of o.clients) if (!PEERS[c]) usage(`unknown --client ${c}`);
  o.compressions = list(o.compress, ['none', 'zlib-stream']);
  for (const c of o.compressions) if (!COMPRESSIONS.includes(c)) usage(`unknown --compress ${c}`);
  o.tests = list(o.test, ['flood', 'idle']);
  for (const t of o.tests) if (t !== 'flood' && t !== 'idle') usage(`unknown --test ${t}`);
  if (!o.shardgate) {
    const guess = path.resolve(HERE, '../../build/dev/shardgate');
    if (!existsSync(guess)) usage('--shardgate BIN is required');
    o.shardgate = guess;
  }
  if (!existsSync(o.shardgate)) usage(`shardgate binary not found: ${o.shardgate}`);
  return o;
}

function usage(message) {
  console.error(`run.mjs: ${message}\n${USAGE}`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const progress = (line) => {
  if (!opts.json) process.stderr.write(`${line}\n`);
};

function versionOf(pkg) {
  try {
    return JSON.parse(readFileSync(path.join(HERE, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

for (const c of opts.clients) {
  if (!versionOf(PEERS[c].pkg)) {
    console.error(`run.mjs: ${PEERS[c].pkg} is not installed in ${HERE}/node_modules: run \`npm ci\` there first`);
    process.exit(2);
  }
}

// ---------------------------------------------------------------------------------------------------
// Children: every one is killed when this process ends, however it ends.

const children = new Set();
function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}
process.on('uncaughtException', (error) => {
  console.error(`run.mjs: ${error?.stack ?? error}`);
  killAll();
  process.exit(1);
});

function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function relay(stream, prefix) {
  const lines = createInterface({ input: stream });
  lines.on('line', (line) => {
    if (opts.verbose) process.stderr.write(`${prefix}${line}\n`);
  });
}

/** Starts `shardgate serve` on a free loopback port: {child, base, stop()}. */
async function startEmulator(args) {
  const child = track(spawn(opts.shardgate, ['serve', '--listen', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const stderr = [];
  child.stderr.on('data', (chunk) => {
    if (stderr.length < 64) stderr.push(chunk);
    if (opts.verbose) process.stderr.write(chunk);
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('shardgate serve printed nothing within 10 s')), 10000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`shardgate serve exited (${code ?? signal}): ${Buffer.concat(stderr).toString().slice(0, 1000)}`));
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
  lines.on('line', (line) => {
    if (opts.verbose) process.stderr.write(`emulator: ${line}\n`);
  });
  const base = JSON.parse(first).listening;
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(base)) throw new Error(`unexpected first line of shardgate serve: ${first}`);
  return {
    child,
    base,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/**
 * Node.js flags of a worker. The idle test pins V8's young generation to 1 MiB semi-spaces (its
 * starting size): otherwise V8 grows it to up to 16 MiB each under the connection burst and shrinks
 * it again whenever its heuristics say, which moves RSS by tens of MiB independently of the shards
 * (with 100 shards that made RSS per shard after GC negative). Retained memory does not change;
 * only how often the young generation is collected.
 */
function nodeFlags(test) {
  return test === 'idle' ? ['--expose-gc', '--min-semi-space-size=1', '--max-semi-space-size=1'] : ['--expose-gc'];
}

/** Runs worker.mjs with `spec` in a fresh Node.js process; resolves with its {result} or {error}. */
function runWorker(spec, nodeFlags, timeoutMs) {
  return new Promise((resolve) => {
    const child = track(
      spawn(process.execPath, [...nodeFlags, path.join(HERE, 'worker.mjs'), JSON.stringify(spec)], {
        cwd: HERE,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      }),
    );
    relay(child.stdout, `${spec.client}: `);
    relay(child.stderr, `${spec.client}: `);
    let answer = null;
    child.on('message', (message) => {
      answer ??= message;
    });
    const timer = setTimeout(() => {
      answer ??= { error: `worker killed after the run's hard limit of ${Math.round(timeoutMs / 1000)} s` };
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(answer ?? { error: `worker exited (${code ?? signal}) without a result` });
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// The measurements

/** Why `client` cannot run `compress`, or null. */
async function unsupported(client, compress) {
  if (!PEERS[client].compress.includes(compress)) {
    return `${PEERS[client].pkg} ${versionOf(PEERS[client].pkg)} has no ${compress} transport compression`;
  }
  if (client === 'discordjs' && compress === 'zlib-stream') {
    try {
      // Resolved from this directory, as @discordjs/ws (in ./node_modules) resolves it.
      await import('zlib-sync');
    } catch {
      return '@discordjs/ws 1.x inflates zlib-stream only with the optional native addon zlib-sync, which is not installed (without it the library silently connects uncompressed)';
    }
  }
  return null;
}

const common = (shards) => [
  '--shards', String(shards),
  '--max-concurrency', String(shards),
  '--identify-window-ms', '10',
  '--heartbeat-interval-ms', '41250',
  '--session-start-limit', String(Math.max(1000, 2 * shards)),
  '--privileged', 'MESSAGE_CONTENT',
  '--seed', String(opts.seed),
  '--log-level', 'warn',
];

async function measure(client, compress, test) {
  const head = { peer: client, package: PEERS[client].pkg, version: versionOf(PEERS[client].pkg), test, compress, node: process.version };
  // Other work on the machine skews every figure: the 1-minute load average when the test started.
  head.loadavg_1m = Number(os.loadavg()[0].toFixed(2));
  const why = await unsupported(client, compress);
  if (why) return { ...head, skipped: why };

  const shards = test === 'flood' ? 1 : opts.idleShards;
  const spec = {
    client,
    compress,
    test,
    events: opts.events,
    shards,
    settleMs: Math.round(opts.settleS * 1000),
    // Bounds of every wait: READY, then the flood (>= 1000 events/s) or the settle time.
    readyTimeoutMs: 30000 + 100 * shards,
    floodTimeoutMs: 60000 + opts.events,
  };
  const hardLimitMs = spec.readyTimeoutMs + (test === 'flood' ? spec.floodTimeoutMs : spec.settleMs) + 30000;
  let emulator;
  try {
    emulator = await startEmulator(common(shards));
    spec.base = emulator.base;
    spec.serverPid = emulator.child.pid;
    const flags = nodeFlags(test);
    head.node_flags = flags.join(' ');
    const answer = await runWorker(spec, flags, hardLimitMs);
    if (answer.error) {
      return { ...head, ...(test === 'flood' ? { events: opts.events } : { shards }), error: answer.error, trouble: answer.trouble };
    }
    return { ...head, ...answer.result };
  } catch (error) {
    return { ...head, error: error?.message ?? String(error) };
  } finally {
    await emulator?.stop();
  }
}

const results = [];
for (const client of opts.clients) {
  for (const compress of opts.compressions) {
    for (const test of opts.tests) {
      progress(`run.mjs: ${client} ${compress} ${test}${test === 'flood' ? ` (${opts.events} events)` : ` (${opts.idleShards} shards)`} ...`);
      const line = await measure(client, compress, test);
      results.push(line);
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
  }
}

// shardgate itself on the same scenarios, right after the peers (each run starts its own emulator
// from the same binary): `shardgate bench --json`. Then the ratios, shardgate over each peer.
function shardgateBench(args) {
  const r = spawnSync(opts.shardgate, ['bench', ...args, '--json'], { encoding: 'utf8', timeout: 900000 });
  if (r.status !== 0) return [{ peer: 'shardgate', error: (r.stderr || `exit ${r.status}`).trim() }];
  return r.stdout.split('\n').filter((l) => l.trim()).map((l) => ({ peer: 'shardgate', ...JSON.parse(l) }));
}
if (!opts.noShardgate) {
  progress('run.mjs: shardgate itself (shardgate bench) ...');
  const own = [];
  if (opts.tests.includes('flood')) own.push(...shardgateBench(['flood', '--events', String(opts.events), '--compress', opts.compressions.join(','), '--seed', String(opts.seed)]));
  if (opts.tests.includes('idle')) own.push(...shardgateBench(['idle', '--idle-shards', String(opts.idleShards), '--compress', opts.compressions.join(','), '--seed', String(opts.seed)]));
  for (const line of own) {
    results.push(line);
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
  for (const peer of results.filter((r) => r.peer !== 'shardgate' && !r.skipped && !r.error)) {
    const mine = own.find((o) => o.test === peer.test && o.compress === peer.compress && !o.error);
    if (!mine) continue;
    const ratio = { test: 'ratio', vs: peer.peer, compress: peer.compress, of: peer.test };
    if (peer.test === 'flood') {
      ratio.events_per_s = +(mine.events_per_s / peer.events_per_s).toFixed(2);
      ratio.peak_rss = +((peer.peak_rss_mib * 1024) / mine.peak_rss_kib).toFixed(1);
    } else {
      ratio.rss_per_shard = +(peer.rss_per_shard_kib / mine.rss_per_shard_kib).toFixed(2);
      if (peer.rss_per_shard_after_gc_kib > 0) ratio.rss_per_shard_after_gc = +(peer.rss_per_shard_after_gc_kib / mine.rss_per_shard_kib).toFixed(2);
    }
    results.push(ratio);
    process.stdout.write(`${JSON.stringify(ratio)}\n`);
  }
}

if (!opts.json) {
  const rows = results.filter((r) => r.test !== 'ratio' && r.peer !== 'shardgate').map((r) => {
    const what = `${r.peer.padEnd(10)} ${r.compress.padEnd(11)} ${r.test.padEnd(5)}`;
    if (r.skipped) return `${what} skipped: ${r.skipped}`;
    if (r.error) return `${what} ERROR: ${r.error}`;
    if (r.test === 'flood') {
      return `${what} ${String(r.events_per_s).padStart(8)} events/s  peak RSS ${r.peak_rss_mib} MiB  CPU client ${r.client_cpu_s} s / emulator ${r.server_cpu_s} s`;
    }
    return `${what} ${r.shards} shards READY in ${r.ready_s} s  RSS/shard ${r.rss_per_shard_kib} KiB (${r.rss_per_shard_after_gc_kib} KiB after GC)`;
  });
  for (const r of results.filter((x) => x.test === 'ratio' && x.vs)) {
    rows.push(r.of === 'flood'
      ? `shardgate / ${r.vs.padEnd(10)} ${r.compress.padEnd(11)} flood: ${r.events_per_s}x the events/s, ${r.peak_rss}x less peak RSS`
      : `shardgate / ${r.vs.padEnd(10)} ${r.compress.padEnd(11)} idle: ${r.rss_per_shard}x less RSS per shard (${r.rss_per_shard_after_gc ?? '-'}x after the peer's GC)`);
  }
  process.stderr.write(`\n${rows.join('\n')}\n`);
}
process.exitCode = results.some((r) => r.error) ? 1 : 0;

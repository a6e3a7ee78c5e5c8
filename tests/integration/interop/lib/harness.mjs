// Shared helpers for the interop tests: start `shardgate serve`, drive its control API, read its log,
// wait on conditions with deadlines, and record where a client deviates from Discord's docs.
//
// Every wait is an event or a poll with a deadline; nothing sleeps to synchronise. The emulator is
// killed when the scenario ends, whether it passed or failed.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const HERE = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Intents the tests ask for: GUILDS | GUILD_MESSAGES (no privileged ones). */
export const INTENTS = (1 << 0) | (1 << 9);

/** Options every scenario passes to the emulator: short heartbeats and identify windows keep runs short. */
export const FAST_EMULATOR = ['--heartbeat-interval-ms', '2000', '--identify-window-ms', '1000', '--guilds', '2'];

export class TestFailure extends Error {}

export function fail(message) {
  throw new TestFailure(message);
}

export function check(condition, message) {
  if (!condition) fail(message);
}

/** Prints a line that records how a client differs from the docs; the scenario still passes. */
export function deviation(client, scenario, what) {
  console.log(`DEVIATION: ${client} ${scenario}: ${what}`);
}

export function note(message) {
  console.log(`note: ${message}`);
}

/**
 * Polls `predicate` (sync or async) until it returns a truthy value, which is returned.
 * Throws a TestFailure naming `what` when `timeoutMs` passes first.
 */
export async function waitFor(predicate, { timeoutMs = 10000, intervalMs = 25, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError = null;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value;
    } catch (error) {
      if (error instanceof TestFailure) throw error;
      lastError = error;
    }
    if (Date.now() >= deadline) {
      fail(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError.message})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Observes for `ms` that `predicate` stays false (e.g. "no further identify"). This is not a
 * synchronising sleep: it is the bounded observation window in which something must NOT happen.
 */
export async function holdsFor(ms, predicate, what) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await predicate()) fail(`${what} happened within the ${ms} ms observation window`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts `shardgate serve` on a free loopback port and returns a handle with the control API. */
export async function startEmulator(binary, extraArgs = []) {
  if (!binary || !existsSync(binary)) fail(`shardgate binary not found: ${binary}`);
  const args = ['serve', '--listen', '127.0.0.1:0', ...extraArgs];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = [];
  const stdoutRest = [];
  child.stderr.on('data', (chunk) => stderr.push(chunk));
  const lines = createInterface({ input: child.stdout });
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  const first = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new TestFailure(`shardgate serve printed no first line within 10 s`)), 10000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new TestFailure(
          `shardgate serve exited (${code ?? signal}) before listening: ${Buffer.concat(stderr).toString().slice(0, 2000)}`,
        ),
      );
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new TestFailure(`cannot start ${binary}: ${error.message}`));
    });
  });
  lines.on('line', (line) => stdoutRest.push(line));
  let base;
  try {
    base = JSON.parse(first).listening;
  } catch {
    child.kill('SIGKILL');
    fail(`first stdout line of shardgate serve is not {"listening":...}: ${first}`);
  }
  check(/^http:\/\/127\.0\.0\.1:\d+$/.test(base), `unexpected listening address ${base}`);
  console.log(`emulator: ${binary} ${args.join(' ')} -> ${base}`);
  return new Emulator(child, base, stderr, stdoutRest, () => exited);
}

export class Emulator {
  constructor(child, base, stderr, stdoutRest, exited) {
    this.child = child;
    this.base = base;
    this.stderr = stderr;
    this.stdoutRest = stdoutRest;
    this.exited = exited;
  }

  get wsUrl() {
    return this.base.replace(/^http/, 'ws');
  }

  /** Raw HTTP to the emulator; returns {status, body (parsed JSON or text)}. */
  async http(method, urlPath, body, headers = {}) {
    const init = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers['content-type'] = 'application/json';
    }
    const res = await fetch(this.base + urlPath, init);
    const text = await res.text();
    let parsed = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed };
  }

  /** A control API call that must succeed (2xx). */
  async control(method, urlPath, body) {
    const res = await this.http(method, urlPath, body);
    if (res.status < 200 || res.status > 299) {
      fail(`${method} ${urlPath} ${body === undefined ? '' : JSON.stringify(body)} -> ${res.status} ${JSON.stringify(res.body)}`);
    }
    return res.body;
  }

  close(shard, code) {
    return this.control('POST', `/_emulator/shards/${shard}/close`, { code });
  }

  reconnect(shard) {
    return this.control('POST', `/_emulator/shards/${shard}/reconnect`, {});
  }

  invalidate(shard, resumable) {
    return this.control('POST', `/_emulator/shards/${shard}/invalidate`, { resumable });
  }

  dispatch(t, d, shard = 0) {
    return this.control('POST', '/_emulator/dispatch', { t, d, shard });
  }

  /** Like dispatch, but returns the raw response instead of failing on a non-2xx status. */
  tryDispatch(t, d, shard = 0) {
    return this.http('POST', '/_emulator/dispatch', { t, d, shard });
  }

  stats() {
    return this.control('GET', '/_emulator/stats');
  }

  /** The emulator's action log, normalised (see normaliseLog). */
  async log() {
    return normaliseLog(await this.control('GET', '/_emulator/log'));
  }

  async stop() {
    if (this.exited()) return;
    const gone = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(timer);
  }

  kill() {
    if (!this.exited()) this.child.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------------------------------------------
// The emulator log. DESIGN.md fixes what it contains, not the field names, so entries are normalised
// here to {ms, conn, shard, kind, ...rest} with `kind` one of: connect, identify, resume, heartbeat,
// client_close, server_close, reconnect (op 7 sent), invalid_session (op 9 sent), replay, dispatch,
// command, http, other. The raw entry stays available as `raw`.

const KIND_ALIASES = [
  [/^(connect|connected|open|ws_connect|upgrade|connection)$/, 'connect'],
  [/^(identify|op2|op_2)$/, 'identify'],
  [/^(resume|op6|op_6)$/, 'resume'],
  [/^(heartbeat|op1|op_1)$/, 'heartbeat'],
  [/^(client_close|close_by_client|client_closed|closed_by_client)$/, 'client_close'],
  [/^(server_close|close_sent|close|closed_by_server|sent_close)$/, 'server_close'],
  [/^(op7|reconnect|reconnect_sent|sent_reconnect)$/, 'reconnect'],
  [/^(op9|invalid_session|invalidate|sent_invalid_session|invalid_session_sent)$/, 'invalid_session'],
  [/^(replay|replayed)$/, 'replay'],
];

export function normaliseLog(json) {
  let entries = json;
  if (!Array.isArray(entries)) entries = json?.entries ?? json?.log ?? json?.events ?? json?.actions ?? [];
  return entries.map((raw) => {
    const rawKind = String(raw.kind ?? raw.event ?? raw.type ?? raw.action ?? raw.what ?? 'other').toLowerCase();
    let kind = 'other';
    for (const [re, k] of KIND_ALIASES) {
      if (re.test(rawKind)) {
        kind = k;
        break;
      }
    }
    return {
      ...raw,
      raw,
      rawKind,
      kind,
      ms: raw.ms ?? raw.t_ms ?? raw.time_ms ?? raw.at_ms ?? raw.ts ?? null,
      conn: raw.conn ?? raw.connection ?? raw.connection_id ?? null,
      shard: Array.isArray(raw.shard) ? raw.shard[0] : (raw.shard ?? raw.shard_id ?? null),
    };
  });
}

export const ofKind = (log, kind) => log.filter((e) => e.kind === kind);

/** Entries of `kind` logged after entry `after` (by position). */
export function kindsAfter(log, after, kind) {
  const start = after ? log.indexOf(after) + 1 : 0;
  return log.slice(start).filter((e) => e.kind === kind);
}

export function summariseLog(log) {
  return log
    .filter((e) => e.kind !== 'heartbeat')
    .map((e) => JSON.stringify(e.raw))
    .join('\n  ');
}

// ---------------------------------------------------------------------------------------------------
// Scenario runner.

/**
 * Runs one scenario: parses `--shardgate BIN`, starts nothing itself; `body({binary, cleanup})` does
 * the work and registers cleanups (client destroy, emulator stop). Exits 0 on success, 1 on failure,
 * after a hard deadline of `budgetMs` at most.
 */
export async function runScenario(client, scenario, body, { budgetMs = 60000 } = {}) {
  const binIndex = process.argv.indexOf('--shardgate');
  const binary = binIndex >= 0 ? process.argv[binIndex + 1] : process.env.SHARDGATE_BIN;
  const cleanups = [];
  const context = {
    binary,
    client,
    scenario,
    emulator: null,
    unhandled: [],
    cleanup: (fn) => cleanups.unshift(fn),
  };
  // A library that throws from inside a socket callback surfaces as an unhandled rejection; record it
  // instead of crashing, so a scenario can assert on it (Discordeno does this on fatal close codes).
  process.on('unhandledRejection', (reason) => {
    context.unhandled.push(reason);
    console.log(`(unhandled rejection from the client: ${reason?.message ?? reason})`);
  });
  const hardStop = setTimeout(() => {
    console.log(`FAIL ${client}.${scenario}: the scenario exceeded its ${budgetMs} ms budget`);
    context.emulator?.kill();
    process.exit(1);
  }, budgetMs);
  hardStop.unref();
  const started = Date.now();
  let ok = false;
  try {
    await body(context);
    ok = true;
  } catch (error) {
    console.log(`FAIL ${client}.${scenario}: ${error instanceof TestFailure ? error.message : error?.stack ?? error}`);
    if (context.emulator) {
      try {
        const log = await context.emulator.log();
        console.log(`emulator log (heartbeats left out):\n  ${summariseLog(log)}`);
      } catch (logError) {
        console.log(`(could not read the emulator log: ${logError.message})`);
      }
      const err = Buffer.concat(context.emulator.stderr).toString();
      if (err) console.log(`emulator stderr (last 3000 chars):\n${err.slice(-3000)}`);
    }
  } finally {
    for (const fn of cleanups) {
      try {
        await Promise.race([fn(), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
      } catch (error) {
        console.log(`(cleanup error: ${error?.message ?? error})`);
      }
    }
    context.emulator?.kill();
  }
  console.log(`${ok ? 'PASS' : 'FAIL'} ${client}.${scenario} in ${Date.now() - started} ms`);
  process.exit(ok ? 0 : 1);
}

/** Starts the emulator for a scenario and registers its shutdown. */
export async function withEmulator(context, extraArgs = []) {
  const emulator = await startEmulator(context.binary, [...FAST_EMULATOR, ...extraArgs]);
  context.emulator = emulator;
  context.cleanup(() => emulator.stop());
  return emulator;
}

/** A MESSAGE_CREATE body with a recognisable marker. `padding` bytes make it large. */
export function message(marker, padding = 0) {
  return {
    id: String(1300000000000000000n + BigInt(Math.floor(Math.random() * 1e9))),
    channel_id: '1200000000000000001',
    guild_id: undefined,
    author: { id: '1100000000000000001', username: 'interop', discriminator: '0', avatar: null, global_name: null },
    content: marker + (padding ? ` ${'x'.repeat(padding)}` : ''),
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: [],
    pinned: false,
    type: 0,
  };
}

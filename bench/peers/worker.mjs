// One measurement (a flood or an idle test) of one library in a fresh Node.js process, so that one
// library's heap, sockets and lazily loaded modules never count against another's. Started by
// run.mjs as `node --expose-gc worker.mjs '<spec JSON>'` with an IPC channel; the emulator is
// started (and always killed) by run.mjs. The result goes back as one IPC message
// ({result: {...}} or {error: '...'}); stdout and stderr are only for the libraries' own output.

import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const spec = JSON.parse(process.argv[2]);

/** GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT: a bot that reads messages (the emulator runs with
 * `--privileged MESSAGE_CONTENT`; without it the emulator sends messages with empty content). */
const INTENTS = (1 << 0) | (1 << 9) | (1 << 15);
const TOKEN = 'bench-peers-token';

// ---------------------------------------------------------------------------------------------------
// Measuring

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A field of /proc/self/status in KiB (VmRSS, VmHWM), or null off Linux. */
function statusKib(field) {
  try {
    const m = readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Resets VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs). */
function resetPeakRss() {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

const CLOCK_TICKS = 100; // USER_HZ: 100 on every Linux ABI Node.js runs on

/** utime + stime of process `pid` (all its threads) in seconds, or null. */
function procCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // fields 14 and 15 of stat(5)
  } catch {
    return null;
  }
}

function cpuSeconds(usage) {
  return (usage.user + usage.system) / 1e6;
}

/**
 * Full GCs until memory stops going back: V8 flushes the bytecode of functions that have not run for
 * a few major GCs (module bodies, start-up code) and returns freed pages in the background, so one
 * GC leaves a baseline that later GCs undercut. False without --expose-gc.
 */
async function settleGc(rounds = 8) {
  if (typeof global.gc !== 'function') return false;
  for (let i = 0; i < rounds; i++) {
    global.gc();
    await sleep(50);
  }
  return true;
}

const round = (x, digits = 3) => (x === null || x === undefined || Number.isNaN(x) ? null : Number(x.toFixed(digits)));
const mib = (kib) => (kib === null ? null : round(kib / 1024, 1));

/** Resolves when `predicate()` holds; rejects with `what` after `timeoutMs`. */
function waitUntil(predicate, timeoutMs, what, intervalMs = 20) {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const tick = () => {
      let value;
      try {
        value = predicate();
      } catch (error) {
        reject(error);
        return;
      }
      if (value) resolve(value);
      else if (Date.now() >= deadline) reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      else setTimeout(tick, intervalMs);
    };
    tick();
  });
}

// What the library reports besides dispatches: closes and errors (counted; a few kept for the report).
const trouble = { closes: 0, errors: 0, last: [] };
function noteTrouble(kind, text) {
  trouble[kind === 'close' ? 'closes' : 'errors'] += 1;
  if (trouble.last.length < 5) trouble.last.push(`${kind}: ${text}`);
}
process.on('unhandledRejection', (reason) => noteTrouble('error', `unhandled rejection: ${reason?.message ?? reason}`));

// ---------------------------------------------------------------------------------------------------
// The libraries, each run the way its docs tell a bot to: discovery with the library's own REST
// client (GET /api/v10/gateway/bot), then the gateway manager for the recommended shard count.

/**
 * Prepares a client without connecting. `onDispatch(payload, shardId)` gets every dispatch (op 0)
 * as the library hands it to a bot; `onReady(shardId, readyData)` each READY.
 * Returns {discover(): GET /gateway/bot with the library's REST client (the answer is kept for
 * connect, as the library itself keeps it); connect(): starts the shards; check(): throws when the
 * library quietly did something else than asked}.
 */
async function prepareClient({ onDispatch, onReady }) {
  if (spec.client === 'discordjs') {
    const { REST } = await import('@discordjs/rest');
    const { CompressionMethod, WebSocketManager } = await import('@discordjs/ws');
    const rest = new REST({ api: `${spec.base}/api`, version: '10' }).setToken(TOKEN);
    const manager = new WebSocketManager({
      token: TOKEN,
      intents: INTENTS,
      rest,
      compression: spec.compress === 'zlib-stream' ? CompressionMethod.ZlibStream : null,
    });
    let fellBack = false;
    // @discordjs/ws 1.x: manager events carry one object ({data, shardId}, {code, shardId}, ...).
    manager.on('dispatch', ({ data, shardId }) => onDispatch(data, shardId));
    manager.on('ready', ({ data, shardId }) => onReady(shardId, data));
    manager.on('closed', ({ code, shardId }) => noteTrouble('close', `shard ${shardId} closed ${code}`));
    manager.on('error', ({ error, shardId }) => noteTrouble('error', `shard ${shardId}: ${error?.message ?? error}`));
    manager.on('debug', ({ message }) => {
      if (/zlib-sync is not installed/.test(message)) fellBack = true;
    });
    return {
      async discover() {
        await manager.fetchGatewayInformation(); // connect() reuses it until reset_after
      },
      connect() {
        manager.connect().catch((error) => noteTrouble('error', `connect: ${error?.message ?? error}`));
      },
      check() {
        if (fellBack) throw new Error('@discordjs/ws fell back to no transport compression (zlib-sync missing)');
      },
    };
  }

  const { createRestManager } = await import('@discordeno/rest');
  const { createGatewayManager } = await import('@discordeno/gateway');
  // Discordeno's default logger prints to the console; a bench counts warnings and keeps them quiet.
  const sink = (level) => (...args) => {
    if (level === 'warn' || level === 'error' || level === 'fatal') noteTrouble('error', `${level}: ${args.map(String).join(' ')}`);
  };
  const logger = {
    debug: sink('debug'), info: sink('info'), warn: sink('warn'), error: sink('error'), fatal: sink('fatal'),
    setLevel() {}, setDepth() {},
  };
  const rest = createRestManager({
    token: TOKEN,
    applicationId: '1', // otherwise decoded from the token, which needs a real token's shape
    proxy: { baseUrl: `${spec.base}/api` },
    logger,
  });
  let connection = null;
  return {
    async discover() {
      connection = await rest.getGatewayBot();
    },
    connect() {
      (async () => {
        const gateway = createGatewayManager({
          token: TOKEN,
          intents: INTENTS,
          connection,
          url: connection.url,
          transportCompression: spec.compress === 'none' ? null : spec.compress,
          // As @discordeno/bot does: payloads as Discord sends them (no camelize of every payload).
          preferSnakeCase: true,
          resharding: { enabled: false },
          logger,
          events: {
            message(shard, payload) {
              if (payload.op !== 0) return;
              if (payload.t === 'READY') onReady(shard.id, payload.d);
              onDispatch(payload, shard.id);
            },
          },
        });
        await gateway.spawnShards();
      })().catch((error) => noteTrouble('error', `connect: ${error?.message ?? error}`));
    },
    check() {},
  };
}

// ---------------------------------------------------------------------------------------------------
// Control API

async function postFlood(count) {
  const body = { t: 'MESSAGE_CREATE', count, shard: 0 };
  const post = (b) =>
    fetch(`${spec.base}/_emulator/flood`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(b),
    }).then(async (res) => ({ status: res.status, text: await res.text() }));
  // `prepared`: the emulator encodes (and compresses) the whole flood before sending it, so that
  // the client, not the emulator's encoder, sets the pace. An emulator without it may refuse it.
  // An emulator from before `prepared` ignores the member: `prepared: true` says only that it was
  // sent and not refused; `flood_reply` shows what the emulator answered.
  let prepared = true;
  let res = await post({ ...body, prepared: true });
  if (res.status === 400 && /prepared/i.test(res.text)) {
    prepared = false;
    res = await post(body);
  }
  if (res.status !== 200) throw new Error(`POST /_emulator/flood -> ${res.status} ${res.text}`);
  let reply = res.text;
  try {
    reply = JSON.parse(res.text);
  } catch {
    /* keep the text */
  }
  return { prepared, reply };
}

async function serverLastSeq() {
  try {
    const res = await fetch(`${spec.base}/_emulator/stats`);
    const stats = await res.json();
    return stats?.shards?.['0']?.last_seq ?? null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------
// flood: one shard; N MESSAGE_CREATE as fast as the emulator can send them and the client take them

async function flood() {
  const n = spec.events;
  let ready = null;
  let guildCreates = 0;
  // Flood state, touched on every dispatch: plain variables, no allocation per event.
  let counting = false;
  let count = 0;
  let lastSeq = -1;
  let outOfOrder = 0;
  let contentChars = 0;
  let tFirst = 0;
  let tLast = 0;
  let cpuFirst = null;
  let cpuLast = null;
  let srvFirst = null;
  let srvLast = null;
  let finish = null;
  const finished = new Promise((resolve) => {
    finish = resolve;
  });

  const client = await prepareClient({
    onReady(shardId, data) {
      ready ??= data;
    },
    onDispatch(payload) {
      if (payload.t !== 'MESSAGE_CREATE') {
        if (payload.t === 'GUILD_CREATE') guildCreates += 1;
        return;
      }
      if (!counting) return;
      if (count === 0) {
        tFirst = performance.now();
        cpuFirst = process.cpuUsage();
        srvFirst = procCpuSeconds(spec.serverPid);
      } else if (payload.s !== lastSeq + 1) {
        outOfOrder += 1;
      }
      lastSeq = payload.s;
      // What a bot reading messages touches at least.
      contentChars += payload.d.content.length;
      count += 1;
      if (count === n) {
        tLast = performance.now();
        cpuLast = process.cpuUsage();
        srvLast = procCpuSeconds(spec.serverPid);
        finish();
      }
    },
  });

  await client.discover();
  const tConnect = performance.now();
  client.connect();
  await waitUntil(() => ready, spec.readyTimeoutMs, 'READY');
  const readyS = (performance.now() - tConnect) / 1000;
  client.check();
  // The GUILD_CREATEs that follow READY (one per guild of the shard) are not part of the flood.
  const guilds = Array.isArray(ready.guilds) ? ready.guilds.length : 0;
  await waitUntil(() => guildCreates >= guilds, 10000, `${guilds} GUILD_CREATE`).catch(() => {});

  await settleGc();
  const hwmReset = resetPeakRss();
  const rssBeforeKib = statusKib('VmRSS');
  let sampledPeak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
  }, 50);

  counting = true;
  const tPost = performance.now();
  const srvPost = procCpuSeconds(spec.serverPid);
  // Counting does not wait for the answer: the first events may arrive before it.
  const posted = postFlood(n);
  posted.catch(() => {});
  const timeoutMs = spec.floodTimeoutMs;
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([finished.then(() => 'done'), timedOut, posted.then(() => new Promise(() => {}))]);
  clearTimeout(timer);
  clearInterval(sampler);
  const { prepared, reply: floodReply } = await posted; // throws when the emulator refused the flood
  if (outcome !== 'done') {
    throw new Error(`flood: ${count} of ${n} MESSAGE_CREATE after ${timeoutMs} ms`);
  }
  sampledPeak = Math.max(sampledPeak, process.memoryUsage.rss());
  const hwmKib = statusKib('VmHWM');
  const seconds = (tLast - tFirst) / 1000;
  const srvEndSeq = await serverLastSeq();

  const clientCpu = cpuSeconds(cpuLast) - cpuSeconds(cpuFirst);
  const serverCpu = srvLast === null || srvFirst === null ? null : srvLast - srvFirst;
  return {
    events: n,
    events_per_s: Math.round((n - 1) / seconds),
    flood_s: round(seconds),
    first_event_after_s: round((tFirst - tPost) / 1000),
    peak_rss_mib: mib(hwmKib === null ? sampledPeak / 1024 : Math.max(hwmKib, sampledPeak / 1024)),
    peak_rss_source: hwmKib === null ? 'sampled' : hwmReset ? 'VmHWM reset before the flood, and 50 ms samples' : 'VmHWM since start, and 50 ms samples',
    sampled_peak_rss_mib: mib(sampledPeak / 1024),
    rss_before_mib: mib(rssBeforeKib),
    client_cpu_s: round(clientCpu),
    client_cpu_us_per_event: round((clientCpu / n) * 1e6, 2),
    server_cpu_s: round(serverCpu),
    // Share of one core each process used over the flood: near 1 marks the one that set the pace.
    client_cpu_util: round(clientCpu / seconds, 2),
    server_cpu_util: serverCpu === null ? null : round(serverCpu / seconds, 2),
    server_cpu_since_post_s: srvLast === null || srvPost === null ? null : round(srvLast - srvPost),
    prepared,
    flood_reply: floodReply,
    out_of_order: outOfOrder,
    last_seq: lastSeq,
    server_last_seq: srvEndSeq,
    content_chars: contentChars,
    ready_s: round(readyS),
  };
}

// ---------------------------------------------------------------------------------------------------
// idle: N shards connected and READY, nothing else happening

async function idle() {
  const n = spec.shards;
  const readyShards = new Set();
  const client = await prepareClient({
    onReady(shardId) {
      readyShards.add(shardId);
    },
    onDispatch() {},
  });
  // Discovery first: its HTTP client (undici, loaded lazily) is not part of what a shard costs.
  await client.discover();
  await settleGc();
  const rssBeforeKib = statusKib('VmRSS');
  const before = process.memoryUsage();

  const t0 = performance.now();
  client.connect();
  await waitUntil(() => readyShards.size >= n, spec.readyTimeoutMs, `READY on ${n} shards (${readyShards.size} so far)`, 50);
  const readyS = (performance.now() - t0) / 1000;
  client.check();

  await sleep(spec.settleMs);
  const rssAfterKib = statusKib('VmRSS');
  const hasGc = await settleGc();
  const rssAfterGcKib = hasGc ? statusKib('VmRSS') : null;
  const afterGc = hasGc ? process.memoryUsage() : null;
  const perShardKib = (field) => round((afterGc[field] - before[field]) / 1024 / n, 1);
  return {
    shards: n,
    ready_shards: readyShards.size,
    rss_per_shard_kib: round((rssAfterKib - rssBeforeKib) / n, 1),
    rss_per_shard_after_gc_kib: hasGc ? round((rssAfterGcKib - rssBeforeKib) / n, 1) : null,
    // Live objects only: unlike RSS, not moved by how far V8 grew its young generation meanwhile.
    heap_per_shard_after_gc_kib: hasGc ? perShardKib('heapUsed') : null,
    external_per_shard_after_gc_kib: hasGc ? perShardKib('external') : null,
    rss_before_mib: mib(rssBeforeKib),
    rss_after_mib: mib(rssAfterKib),
    rss_after_gc_mib: hasGc ? mib(rssAfterGcKib) : null,
    ready_s: round(readyS),
    settle_s: spec.settleMs / 1000,
  };
}

// ---------------------------------------------------------------------------------------------------

function reply(message) {
  // Exit only once the message is out; the libraries' sockets and timers would keep the process up.
  process.send(message, () => process.exit(0));
}

try {
  const result = spec.test === 'flood' ? await flood() : await idle();
  if (trouble.closes || trouble.errors) result.trouble = trouble;
  reply({ result });
} catch (error) {
  reply({ error: error?.message ?? String(error), trouble });
}

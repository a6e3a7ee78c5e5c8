// Adapters that run each third-party library the way its docs tell a bot to, and record what it does
// as a flat list of events: {kind: 'dispatch'|'ready'|'resumed'|'closed'|'error'|'invalid_session'|
// 'reconnect_requested', at, t?, s?, d?, code?, error?}.
//
// Both go through discovery (`GET /api/v10/gateway/bot` on the emulator with `Authorization: Bot`)
// with the library's own REST client, unless `discovery` is a function that supplies the answer.

import { REST } from '@discordjs/rest';
import { CompressionMethod, WebSocketManager } from '@discordjs/ws';
import { createRestManager } from '@discordeno/rest';
import { DiscordenoShard, createGatewayManager } from '@discordeno/gateway';

import { INTENTS } from './harness.mjs';
import { nextOrder } from './order.mjs';

class Recorder {
  constructor(name) {
    this.name = name;
    this.events = [];
    this.debugLines = [];
  }

  push(event) {
    this.events.push({ at: Date.now(), order: nextOrder(), ...event });
  }

  ofKind(kind) {
    return this.events.filter((e) => e.kind === kind);
  }

  dispatches(t) {
    return this.events.filter((e) => e.kind === 'dispatch' && (t === undefined || e.t === t));
  }

  /** Injected MESSAGE_CREATEs whose content starts with `marker`. */
  withMarker(marker) {
    return this.dispatches('MESSAGE_CREATE').filter((e) => String(e.d?.content ?? '').startsWith(marker));
  }

  lastSeq() {
    const seqs = this.dispatches().map((e) => e.s).filter((s) => typeof s === 'number');
    return seqs.length ? Math.max(...seqs) : null;
  }

  /** The session id of the last READY. */
  sessionId() {
    const ready = this.dispatches('READY').at(-1);
    return ready?.d?.session_id ?? ready?.d?.sessionId ?? null;
  }

  debug(line) {
    this.debugLines.push(`${new Date().toISOString()} ${line}`);
    if (this.debugLines.length > 400) this.debugLines.shift();
  }

  dumpDebug() {
    return this.debugLines.slice(-120).join('\n');
  }
}

// ---------------------------------------------------------------------------------------------------
// @discordjs/ws (with @discordjs/rest for discovery)
//
// 1.2.3, the newest @discordjs/ws whose `engines` accept Debian 12's Node 18 (2.x declares >= 20).
// Its manager events carry one object: {data, shardId} for dispatch and ready, {code, shardId} for
// closed, {error, shardId} for error, {message, shardId} for debug.

export const DISCORDJS_COMPRESSION = {
  none: null,
  'zlib-stream': CompressionMethod.ZlibStream,
};

/** Whether @discordjs/ws has a compression method for `compress` (e.g. 'zstd-stream'). */
export function discordjsSupports(compress) {
  return compress in DISCORDJS_COMPRESSION;
}

/**
 * Whether the optional native `zlib-sync` addon can be loaded. @discordjs/ws 1.x inflates
 * zlib-stream only with it; without it, it asks for no transport compression and sets Identify's
 * `compress: true` (per-payload compression) instead. It is not in package.json: it is compiled by
 * node-gyp at install time, against the headers of the Node.js version that runs it.
 */
export async function discordjsHasZlibSync() {
  try {
    await import('zlib-sync');
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts @discordjs/ws against the emulator. `discovery`: true (the library's REST client asks the
 * emulator) or an async function returning a GET /gateway/bot body (to bypass a failing discovery).
 * Resolves once the manager is created and connecting; READY is awaited by the caller.
 */
export async function startDiscordjs({ emulator, token, compress = 'zlib-stream', discovery = true }) {
  const rec = new Recorder('discordjs');
  const rest = new REST({ api: `${emulator.base}/api`, version: '10', retries: 0 }).setToken(token);
  rest.on('response', (request, response) => {
    rec.push({ kind: 'rest_response', method: request.method, path: request.path, status: response.status });
  });
  rest.on('restDebug', (line) => rec.debug(`rest: ${line}`));
  const restForManager =
    discovery === true
      ? rest
      : {
          // Only GET /gateway/bot is asked for by the manager.
          get: async () => discovery(),
        };
  const manager = new WebSocketManager({
    token,
    intents: INTENTS,
    rest: restForManager,
    compression: DISCORDJS_COMPRESSION[compress] ?? null,
    // A short ready timeout would turn a slow emulator into a reconnect; keep the library default.
  });
  manager.on('dispatch', ({ data: payload, shardId }) => {
    rec.push({ kind: 'dispatch', shard: shardId, t: payload.t, s: payload.s, d: payload.d });
  });
  manager.on('ready', ({ data, shardId }) => rec.push({ kind: 'ready', shard: shardId, sessionId: data?.session_id }));
  manager.on('resumed', ({ shardId }) => rec.push({ kind: 'resumed', shard: shardId }));
  manager.on('closed', ({ code, shardId }) => rec.push({ kind: 'closed', shard: shardId, code }));
  // 1.x reports socket errors through 'error' too (there is no 'socketError' event).
  manager.on('error', ({ error, shardId }) => rec.push({ kind: 'error', shard: shardId, error: String(error?.message ?? error) }));
  manager.on('debug', ({ message: line, shardId }) => {
    rec.debug(`shard ${shardId}: ${line}`);
    if (/Invalid session/.test(line)) rec.push({ kind: 'invalid_session', shard: shardId, line });
    if (/Told to reconnect/.test(line)) rec.push({ kind: 'reconnect_requested', shard: shardId, line });
  });
  // connect() resolves at READY/RESUMED of every shard and rejects when discovery fails.
  const connecting = manager.connect().then(
    () => rec.push({ kind: 'connect_resolved' }),
    (error) => {
      rec.push({ kind: 'connect_rejected', error: String(error?.message ?? error), status: error?.status ?? null });
    },
  );
  return {
    rec,
    library: '@discordjs/ws',
    connecting,
    async destroy() {
      // Code 1000 ends the session on the emulator as a bot shutting down would.
      await manager.destroy({ code: 1000, reason: 'interop test done' });
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// @discordeno/gateway (with @discordeno/rest for discovery, as @discordeno/bot does)

function discordenoLogger(rec) {
  const sink = (level) => (...args) => rec.debug(`${level}: ${args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ')}`);
  return {
    debug: sink('debug'),
    info: sink('info'),
    warn: sink('warn'),
    error: sink('error'),
    fatal: sink('fatal'),
    setLevel() {},
    setDepth() {},
  };
}

/** Discovery the way @discordeno/bot does it: `rest.getGatewayBot()`, camelised. */
export async function discordenoDiscovery(emulator, token, rec) {
  const rest = createRestManager({
    token,
    // The application id is otherwise decoded from the token, which needs a real token's shape.
    applicationId: '1',
    proxy: { baseUrl: `${emulator.base}/api` },
    logger: discordenoLogger(rec),
  });
  return rest.getGatewayBot();
}

// Discordeno's events do not carry the close code; observe it by wrapping handleClose (behaviour
// unchanged: the original runs and its promise, including a rejection, is passed through).
const closeObservers = new Set();
const originalHandleClose = DiscordenoShard.prototype.handleClose;
DiscordenoShard.prototype.handleClose = function handleClose(close) {
  for (const observe of closeObservers) observe(this, close);
  return originalHandleClose.call(this, close);
};

export async function startDiscordeno({ emulator, token, compress = 'zlib-stream', discovery = true }) {
  const rec = new Recorder('discordeno');
  let connection;
  if (discovery === true) {
    try {
      connection = await discordenoDiscovery(emulator, token, rec);
      rec.push({ kind: 'discovery_ok', url: connection.url });
    } catch (error) {
      rec.push({ kind: 'discovery_failed', error: String(error?.message ?? error), cause: error?.cause ?? null });
      return { rec, library: '@discordeno/gateway', gateway: null, async destroy() {} };
    }
  } else {
    connection = await discovery();
  }
  closeObservers.add((shard, close) => rec.push({ kind: 'closed', shard: shard.id, code: close.code, reason: close.reason }));
  const gateway = createGatewayManager({
    token,
    intents: INTENTS,
    connection,
    url: connection.url,
    transportCompression: compress === 'none' ? null : compress,
    // The manager waits this long after a READY before letting the next identify in its bucket go.
    spawnShardDelay: 100,
    logger: discordenoLogger(rec),
    preferSnakeCase: true,
    events: {
      message(_shard, payload) {
        if (payload.op === 0) rec.push({ kind: 'dispatch', shard: _shard.id, t: payload.t, s: payload.s, d: payload.d });
        if (payload.t === 'READY') rec.push({ kind: 'ready', shard: _shard.id, sessionId: payload.d?.session_id });
      },
      resumed(shard) {
        rec.push({ kind: 'resumed', shard: shard.id });
      },
      disconnected(shard) {
        rec.push({ kind: 'disconnected', shard: shard.id, state: shard.state });
      },
      invalidSession(shard, resumable) {
        rec.push({ kind: 'invalid_session', shard: shard.id, resumable });
      },
      requestedReconnect(shard) {
        rec.push({ kind: 'reconnect_requested', shard: shard.id });
      },
      identifying(shard) {
        rec.push({ kind: 'identifying', shard: shard.id });
      },
    },
  });
  // spawnShards() resolves only after every bucket's identify chain finished; READY is observed instead.
  gateway.spawnShards().catch((error) => rec.push({ kind: 'error', error: String(error?.message ?? error) }));
  return {
    rec,
    library: '@discordeno/gateway',
    gateway,
    shard: () => gateway.shards.get(0),
    async destroy() {
      // kill() closes with Discordeno's own Shutdown code 3000, after which the shard stays down.
      for (const id of [...gateway.shards.keys()]) await gateway.kill(id);
    },
  };
}

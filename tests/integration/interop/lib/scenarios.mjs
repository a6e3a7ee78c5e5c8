// The scenarios, written once for both clients. Each asserts what Discord's docs require; where a
// client does something else, the scenario asserts what it actually does, prints
// `DEVIATION: <client> <scenario>: <what>` and passes, so that the difference is recorded.

import {
  check,
  deviation,
  fail,
  holdsFor,
  kindsAfter,
  message,
  note,
  ofKind,
  waitFor,
  withEmulator,
} from './harness.mjs';
import { discordjsHasZlibSync, discordjsSupports, startDiscordeno, startDiscordjs } from './clients.mjs';
import { sent, sentCloses, sentOp } from './wiretap.mjs';
import { execFileSync } from 'node:child_process';

const TOKEN = 'interop-token';
const READY_TIMEOUT_MS = 15000;

function start(context, options) {
  const starter = context.client === 'discordjs' ? startDiscordjs : startDiscordeno;
  return starter({ token: TOKEN, ...options });
}

async function startReady(context, emulator, options = {}) {
  const client = await start(context, { emulator, ...options });
  context.cleanup(() => client.destroy());
  await waitFor(() => {
    const fatal = client.rec.ofKind('closed').find((e) => [4004, 4010, 4011, 4012, 4013, 4014].includes(e.code));
    if (fatal && client.rec.ofKind('ready').length === 0) fail(`the client was closed with ${fatal.code} before READY`);
    return client.rec.ofKind('ready').length > 0;
  }, {
    timeoutMs: READY_TIMEOUT_MS,
    what: `READY at ${context.client}`,
  }).catch((error) => {
    console.log(`client events: ${JSON.stringify(client.rec.events.filter((e) => e.kind !== 'dispatch'))}`);
    console.log(`client debug:\n${client.rec.dumpDebug()}`);
    const identify = sentOp(2)[0];
    if (client.rec.ofKind('closed').some((e) => e.code === 4004) && /^Bot /.test(identify?.d?.token ?? '')) {
      fail(
        `the emulator closed with 4004 on an Identify whose token is "Bot <token>"; Discord accepts that prefix (${client.library} always sends it), so the emulator should too`,
      );
    }
    throw error;
  });
  return client;
}

/** Injects MESSAGE_CREATE with `marker` and waits until the client has it; returns its record. */
async function injectAndReceive(emulator, client, marker, padding = 0) {
  await emulator.dispatch('MESSAGE_CREATE', message(marker, padding));
  return waitFor(() => client.rec.withMarker(marker)[0], { what: `dispatch ${marker} at the client` });
}

function assertSeqsStrictlyIncreasing(client, since = 0) {
  const seqs = client.rec.dispatches().slice(since).map((e) => e.s);
  for (let i = 1; i < seqs.length; ++i) {
    if (!(seqs[i] > seqs[i - 1])) fail(`client saw sequence ${seqs[i]} after ${seqs[i - 1]} (duplicate or reorder): ${seqs.join(',')}`);
  }
}

function assertOnce(client, marker) {
  const got = client.rec.withMarker(marker);
  check(got.length === 1, `dispatch ${marker} reached the client ${got.length} times, expected exactly once`);
  return got[0];
}

function queryOf(entry) {
  return String(entry.query ?? entry.raw?.query ?? entry.url ?? entry.path ?? '');
}

function firstIdentifyFrame() {
  return sentOp(2)[0];
}

// ---------------------------------------------------------------------------------------------------

export async function ready_via_discovery(context) {
  const emulator = await withEmulator(context, ['--token', TOKEN]);
  const client = await startReady(context, emulator, { compress: 'none' });

  // Discovery went through the library's own REST client against the emulator.
  if (context.client === 'discordjs') {
    const calls = client.rec.ofKind('rest_response').filter((e) => /\/gateway\/bot$/.test(e.path));
    check(calls.length >= 1 && calls.every((e) => e.status === 200), `no successful GET /gateway/bot by @discordjs/rest: ${JSON.stringify(calls)}`);
  } else {
    check(client.rec.ofKind('discovery_ok').length === 1, 'no successful @discordeno/rest getGatewayBot()');
  }
  const ready = client.rec.dispatches('READY')[0];
  check(ready?.s === 1, `READY should be the session's first dispatch, got s=${ready?.s}`);
  check(typeof client.rec.sessionId() === 'string', 'READY has no session_id');
  await waitFor(() => client.rec.dispatches('GUILD_CREATE').length >= 2, { what: 'GUILD_CREATE for both guilds' });

  const log = await emulator.log();
  const connects = ofKind(log, 'connect');
  check(connects.length === 1, `expected one connection, the log has ${connects.length}`);
  const query = queryOf(connects[0]);
  check(/(^|[?&])v=10(&|$)/.test(query) && /encoding=json/.test(query), `connect query lacks v=10&encoding=json: "${query}"`);
  check(ofKind(log, 'identify').length === 1, `expected one identify, the log has ${ofKind(log, 'identify').length}`);

  // What the client put in Identify, seen on its own socket.
  const identify = firstIdentifyFrame();
  check(identify, 'the client sent no Identify frame');
  check(JSON.stringify(identify.d.shard) === '[0,1]', `Identify shard is ${JSON.stringify(identify.d.shard)}, expected [0,1]`);
  check(typeof identify.d.intents === 'number', 'Identify has no intents');
  check(identify.d.properties && identify.d.properties.os && identify.d.properties.browser, 'Identify has no properties');
  if (identify.d.token !== TOKEN) {
    check(identify.d.token === `Bot ${TOKEN}`, `Identify token is neither the token nor "Bot <token>"`);
    deviation(context.client, 'ready_via_discovery', 'sends Identify.token as "Bot <token>" (docs: the bare token); the emulator, like Discord, accepts it');
  }
}

async function dispatchOverCompression(context, compress) {
  const scenario = `dispatch_${compress.replace('-', '_')}`;
  if (context.client === 'discordjs' && !discordjsSupports(compress)) {
    deviation(
      'discordjs',
      scenario,
      `@discordjs/ws 1.2.3 cannot ask for ${compress}: CompressionMethod has only ZlibStream (zlib-stream); docs list zlib-stream and zstd-stream`,
    );
    // Nothing to connect: the option does not exist. The test records the gap and passes.
    return;
  }
  // @discordjs/ws 1.x does zlib-stream only through the native zlib-sync addon (not installed: see
  // README.md); without it, it falls back to Identify `compress: true` on an uncompressed connection.
  const identifyCompressFallback = context.client === 'discordjs' && compress === 'zlib-stream' && !(await discordjsHasZlibSync());
  const emulator = await withEmulator(context);
  const client = await startReady(context, emulator, { compress });
  const log = await emulator.log();
  const query = queryOf(ofKind(log, 'connect')[0] ?? {});
  if (identifyCompressFallback) {
    check(!query.includes('compress='), `@discordjs/ws without zlib-sync asked for transport compression: query "${query}"`);
    const identify = firstIdentifyFrame();
    check(identify?.d?.compress === true, `@discordjs/ws without zlib-sync should set Identify compress: true, sent ${JSON.stringify(identify?.d?.compress)}`);
    note(
      `@discordjs/ws 1.2.3 asks for ${compress} only when the native zlib-sync addon is installed (it is not: node-gyp would compile it against the running Node's headers); it fell back to Identify compress: true, which the emulator answers uncompressed. The dispatch checks below run over that connection; ${compress} itself is covered by discordeno`,
    );
  } else {
    check(query.includes(`compress=${compress}`), `the client did not ask for ${compress}: query "${query}"`);
  }

  // Small payloads first: each fits in one compressed block.
  const small = ['small-1', 'small-2'];
  for (const marker of small) await emulator.dispatch('MESSAGE_CREATE', message(marker));
  await waitFor(() => small.every((m) => client.rec.withMarker(m).length > 0), { what: `the small dispatches over ${compress}` });
  const got = small.map((m) => assertOnce(client, m));
  check(got[1].s === got[0].s + 1, `sequences not consecutive: ${got.map((g) => g.s)}`);

  // Then one of 200 kB (more than zstd's 128 KiB block and zlib's usual 64 KiB output chunk), and a
  // small one behind it.
  const rejectionsBefore = context.unhandled.length;
  await emulator.dispatch('MESSAGE_CREATE', message('large-3', LARGE));
  await emulator.dispatch('MESSAGE_CREATE', message('small-4'));
  const arrived = await waitFor(
    () => (client.rec.withMarker('large-3').length > 0 && client.rec.withMarker('small-4').length > 0) || context.unhandled.length > rejectionsBefore,
    { what: `the large dispatch over ${compress}` },
  );
  const largeFailed = client.rec.withMarker('large-3').length === 0;
  if (largeFailed) {
    const reason = context.unhandled.slice(rejectionsBefore).map((r) => String(r?.message ?? r));
    check(reason.length > 0 && arrived, 'the large dispatch did not arrive');
    check(
      context.client === 'discordeno' && compress === 'zstd-stream' && reason.some((r) => /JSON/.test(r)),
      `the large dispatch failed at the client: ${reason.join('; ')}`,
    );
    deviation(
      'discordeno',
      scenario,
      `a zstd-stream payload larger than one zstd block (128 KiB) fails: fzstd hands it over in pieces and each piece goes to JSON.parse ("${reason[0]}"); the payload is lost and the decompression queue is out of step after it`,
    );
    return;
  }
  const large = assertOnce(client, 'large-3');
  const next = assertOnce(client, 'small-4');
  check(large.d.content.length === 'large-3'.length + 1 + LARGE, 'the large dispatch arrived truncated');
  check(large.s === got[1].s + 1 && next.s === large.s + 1, `sequences not consecutive: ${got[1].s}, ${large.s}, ${next.s}`);
  assertSeqsStrictlyIncreasing(client);
}

const LARGE = 200000;

export const dispatch_zlib_stream = (context) => dispatchOverCompression(context, 'zlib-stream');
export const dispatch_zstd_stream = (context) => dispatchOverCompression(context, 'zstd-stream');

/**
 * Stalls this process (the client's event loop) for `ms` while a child process asks the emulator to
 * dispatch `marker`: like a GC pause in the bot, it guarantees that the client cannot react to the
 * fault (reconnect, resume) before the emulator has queued events it will miss. This creates the
 * window in which events are missed; it is not used to wait for anything.
 */
function stallWhileDispatching(emulator, marker, ms) {
  const until = Date.now() + ms;
  const body = JSON.stringify({ t: 'MESSAGE_CREATE', d: message(marker), shard: 0 });
  const script = `fetch(${JSON.stringify(emulator.base + '/_emulator/dispatch')}, {method: 'POST', headers: {'content-type': 'application/json'}, body: ${JSON.stringify(body)}})
    .then(async (r) => console.log(JSON.stringify({status: r.status, body: await r.text()})), (e) => console.log(JSON.stringify({status: 0, body: String(e)})))`;
  let result;
  try {
    result = JSON.parse(execFileSync(process.execPath, ['-e', script], { timeout: 5000, encoding: 'utf8' }).trim());
  } catch (error) {
    result = { status: 0, body: String(error?.message ?? error) };
  }
  const left = until - Date.now();
  if (left > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, left);
  return result;
}

/**
 * Sequences of the current session must go up by exactly one: nothing lost, nothing twice. With
 * `allowDuplicates` (a deviation already recorded) repeated sequences are left out first.
 */
function assertContiguous(client, since = 0, allowDuplicates = false) {
  let seqs = client.rec.dispatches().slice(since).map((e) => e.s);
  if (allowDuplicates) seqs = seqs.filter((s, i) => seqs.indexOf(s) === i);
  for (let i = 1; i < seqs.length; ++i) {
    if (seqs[i] !== seqs[i - 1] + 1) {
      fail(`client sequences are not contiguous at ${seqs[i - 1]} -> ${seqs[i]} (lost or duplicated events): ${seqs.join(',')}`);
    }
  }
}

// Synthetic traffic keeps events flowing, also into the detached session while the client is away,
// so that Resume has something to replay and gaps or duplicates would show in the sequence.
const RESUME_EMULATOR = ['--traffic', '25', '--seed', '7'];
const STALL_MS = 400;

async function resumeAfter(context, scenario, fault, { expectReplay }) {
  const emulator = await withEmulator(context, RESUME_EMULATOR);
  const client = await startReady(context, emulator, { compress: 'zlib-stream' });
  const sessionId = client.rec.sessionId();
  await injectAndReceive(emulator, client, 'before-fault');
  const readyCount = client.rec.ofKind('ready').length;
  const framesBefore = sent.length;
  const logBefore = (await emulator.log()).length;

  await fault(emulator);
  const missed = stallWhileDispatching(emulator, 'while-away', STALL_MS);
  const missedAccepted = missed.status >= 200 && missed.status <= 299;
  if (!missedAccepted) {
    note(`the emulator refused a dispatch for the session while its client was away: POST /_emulator/dispatch -> ${missed.status} ${missed.body}`);
  }

  await waitFor(() => client.rec.ofKind('resumed').length > 0 || client.rec.ofKind('ready').length > readyCount, {
    timeoutMs: 15000,
    what: 'RESUMED (or a new READY) after the fault',
  });
  const log = await emulator.log();
  const after = log.slice(logBefore);
  const identifies = after.filter((e) => e.kind === 'identify');
  const resumes = after.filter((e) => e.kind === 'resume');
  if (client.rec.ofKind('resumed').length === 0) {
    check(identifies.length >= 1, 'neither RESUMED nor a new identify');
    deviation(context.client, scenario, `identified afresh instead of resuming (resumes in log: ${resumes.length})`);
    return null;
  }
  check(identifies.length === 0, `the client sent Identify after resuming: ${JSON.stringify(identifies.map((e) => e.raw))}`);
  check(resumes.length === 1, `expected one Resume in the log after the fault, found ${resumes.length}`);

  // The Resume on the client's own socket: session id and the last sequence it had seen.
  const resumeFrame = sent.slice(framesBefore).find((f) => f.kind === 'frame' && f.op === 6);
  check(resumeFrame, 'the client sent no Resume frame');
  const seenBefore = client.rec.dispatches().filter((e) => e.order < resumeFrame.order && e.s != null);
  const lastSeen = Math.max(...seenBefore.map((e) => e.s));
  check(resumeFrame.d.session_id === sessionId, `Resume session_id ${resumeFrame.d.session_id} != READY's ${sessionId}`);
  check(resumeFrame.d.seq === lastSeen, `Resume seq ${resumeFrame.d.seq}, but the last sequence the client had seen was ${lastSeen}`);
  check(resumes[0].seq === undefined || resumes[0].seq === lastSeen, `emulator logged Resume seq ${resumes[0].seq}, expected ${lastSeen}`);

  // Replay: the emulator's count, and the client got exactly those sequences right before RESUMED.
  const replay = after.find((e) => e.kind === 'replay');
  check(replay, 'the emulator logged no replay after the Resume');
  const replayed = replay.count;
  const all = client.rec.dispatches();
  const resumed = client.rec.dispatches('RESUMED').at(-1);
  const expectedTail = Array.from({ length: replayed }, (_, i) => resumeFrame.d.seq + 1 + i);
  // Anything delivered twice? Only a client that still handles old-connection events after it sent
  // Resume can see the replayed copies of events it already had.
  const seen = new Map();
  const duplicates = [];
  for (const e of all) {
    if (seen.has(e.s)) duplicates.push({ first: seen.get(e.s), again: e });
    else seen.set(e.s, e);
  }
  const betweenResumeAndResumed = all.filter((e) => e.order > resumeFrame.order && e.order < resumed.order).map((e) => e.s);
  if (duplicates.length === 0) {
    const beforeResumed = all.slice(0, all.indexOf(resumed));
    const tail = replayed > 0 ? beforeResumed.slice(-replayed).map((e) => e.s) : [];
    check(
      JSON.stringify(tail) === JSON.stringify(expectedTail),
      `the emulator replayed ${replayed} events after seq ${resumeFrame.d.seq}; right before RESUMED the client got ${JSON.stringify(tail)}`,
    );
  } else {
    for (const { first } of duplicates) {
      check(
        first.order > resumeFrame.order && first.s > resumeFrame.d.seq && first.s <= resumeFrame.d.seq + replayed,
        `s=${first.s} was delivered twice, and not because it was handled after the Resume: ${JSON.stringify(all.map((e) => e.s))}`,
      );
    }
    for (const seq of expectedTail) check(betweenResumeAndResumed.includes(seq), `replayed s=${seq} never reached the client`);
    const sorted = betweenResumeAndResumed.every((v, i, a) => i === 0 || v >= a[i - 1]);
    deviation(
      context.client,
      scenario,
      `delivered ${duplicates.length} dispatch(es) twice${sorted ? '' : ' and out of order'} (between its Resume seq ${resumeFrame.d.seq} and RESUMED the bot got s=${betweenResumeAndResumed.join(',')}): events that reached the old connection behind the fault were still handled after the client had sent Resume, and the replay brought them again`,
    );
  }
  if (expectReplay) check(replayed >= 1, `nothing was replayed although events were queued during the ${STALL_MS} ms stall`);
  note(`Resume seq ${resumeFrame.d.seq} (= last seen), emulator replayed ${replayed} event(s), ${duplicates.length ? 'client got them (see DEVIATION)' : 'client got them once each, in order, right before RESUMED'}`);
  if (missedAccepted) {
    const away = await waitFor(() => client.rec.withMarker('while-away')[0], { timeoutMs: 5000, what: 'the dispatch sent while away' });
    if (duplicates.length === 0) assertOnce(client, 'while-away');
    note(`the dispatch injected while away arrived ${client.rec.withMarker('while-away').length} time(s) (s=${away.s}, ${away.s > resumeFrame.d.seq ? 'replayed' : 'live before the client left'})`);
  }
  if (context.client === 'discordjs') {
    const line = client.rec.debugLines.find((l) => /Resumed and replayed \d+ events/.test(l));
    if (line) note(`@discordjs/ws says: ${line.replace(/^.*(Resumed and replayed \d+ events).*$/, '$1')}`);
  }

  await injectAndReceive(emulator, client, 'after-resume');
  assertOnce(client, 'before-fault');
  assertOnce(client, 'after-resume');
  assertContiguous(client, 0, duplicates.length > 0);
  return { client, emulator, framesBefore };
}

export async function resume_after_4000(context) {
  await resumeAfter(context, 'resume_after_4000', (emulator) => emulator.close(0, 4000), { expectReplay: true });
}

export async function resume_after_op7(context) {
  // After op 7 the old connection stays open until the client leaves, so what the client had not read
  // yet may or may not be replayed: no replay count is required, only exactly-once delivery.
  const result = await resumeAfter(context, 'resume_after_op7', (emulator) => emulator.reconnect(0), { expectReplay: false });
  if (!result) return;
  // The client must leave the old connection with a code that keeps the session (not 1000/1001).
  const closes = sentCloses().filter((c) => sent.indexOf(c) >= result.framesBefore);
  if (closes.length === 0) {
    note('the client did not close the old connection itself; the emulator closed it after op 7');
  } else {
    // ws echoes the server's close frame through close() too; report each code once.
    const codes = [...new Set(closes.map((c) => c.code))];
    check(!codes.includes(1000) && !codes.includes(1001), `the client closed with ${codes} after op 7, which ends the session`);
    note(`the client closed the old connection with ${codes.join(',')} after op 7`);
  }
}

export async function reidentify_after_invalid_session_false(context) {
  const emulator = await withEmulator(context, RESUME_EMULATOR);
  const client = await startReady(context, emulator, { compress: 'zlib-stream' });
  const firstSession = client.rec.sessionId();
  await injectAndReceive(emulator, client, 'before-invalidate');
  const logBefore = (await emulator.log()).length;
  const identifiesBefore = sentOp(2).length;
  const invalidatedAt = Date.now();
  await emulator.invalidate(0, false);

  await waitFor(() => client.rec.ofKind('ready').length >= 2 || sentOp(6).some((f) => f.at >= invalidatedAt), {
    timeoutMs: 15000,
    what: 'a new READY after op 9 false',
  });
  const resumesSent = sentOp(6).filter((f) => f.at >= invalidatedAt);
  if (resumesSent.length > 0) {
    deviation(context.client, 'reidentify_after_invalid_session_false', 'sent Resume after op 9 d:false (docs: Identify afresh)');
    await waitFor(() => client.rec.ofKind('ready').length >= 2, { timeoutMs: 15000, what: 'a new READY eventually' });
  }
  check(sentOp(2).length === identifiesBefore + 1, `expected exactly one new Identify, the client sent ${sentOp(2).length - identifiesBefore}`);
  const log = (await emulator.log()).slice(logBefore);
  check(ofKind(log, 'identify').length === 1, `expected one identify in the log after op 9, found ${ofKind(log, 'identify').length}`);
  const newSession = client.rec.sessionId();
  check(newSession && newSession !== firstSession, `the new READY kept the old session id ${firstSession}`);
  const secondReady = client.rec.dispatches('READY').at(-1);
  check(secondReady.s === 1, `the new session's READY has s=${secondReady.s}, expected 1`);
  const waited = client.rec.ofKind('ready').at(-1).at - invalidatedAt;
  note(`new READY ${waited} ms after op 9 false`);

  await injectAndReceive(emulator, client, 'after-reidentify');
  assertOnce(client, 'after-reidentify');
  // Sequences restart with the new session: nothing lost or doubled within it.
  const since = client.rec.dispatches().indexOf(secondReady);
  assertContiguous(client, since);
}

export async function stops_on_4004(context) {
  const emulator = await withEmulator(context, ['--token', 'the-right-token']);
  const wrong = 'a-wrong-token';

  // 1. With a wrong token discovery itself fails with 401, and the library says so.
  const viaDiscovery = context.client === 'discordjs' ? await startDiscordjs({ emulator, token: wrong }) : await startDiscordeno({ emulator, token: wrong });
  context.cleanup(() => viaDiscovery.destroy());
  if (context.client === 'discordjs') {
    await viaDiscovery.connecting;
    const rejected = viaDiscovery.rec.ofKind('connect_rejected')[0];
    check(rejected, 'WebSocketManager.connect() did not reject on a 401 from GET /gateway/bot');
    check(rejected.status === 401, `connect() rejected with status ${rejected.status}: ${rejected.error}`);
  } else {
    const failed = viaDiscovery.rec.ofKind('discovery_failed')[0];
    check(failed, 'getGatewayBot() did not fail on a 401');
    check(failed.cause?.status === 401, `getGatewayBot() failed without status 401: ${JSON.stringify(failed)}`);
  }
  const logAfterDiscovery = await emulator.log();
  check(ofKind(logAfterDiscovery, 'connect').length === 0, 'the client opened a gateway connection although discovery failed');

  // 2. A bot that still has the URL (discovery cached, token revoked since) reaches the gateway: 4004.
  const open = await emulator.http('GET', '/api/v10/gateway');
  check(open.status === 200 && open.body?.url, `GET /api/v10/gateway (no auth) -> ${open.status} ${JSON.stringify(open.body)}`);
  const botInfo = {
    url: open.body.url,
    shards: 1,
    session_start_limit: { total: 1000, remaining: 1000, reset_after: 86400000, max_concurrency: 1 },
  };
  const camel = {
    url: botInfo.url,
    shards: 1,
    sessionStartLimit: { total: 1000, remaining: 1000, resetAfter: 86400000, maxConcurrency: 1 },
  };
  const client = await start(context, { emulator, token: wrong, compress: 'none', discovery: async () => (context.client === 'discordjs' ? botInfo : camel) });
  context.cleanup(() => client.destroy());
  await waitFor(() => client.rec.ofKind('closed').some((e) => e.code === 4004), { timeoutMs: 15000, what: 'close 4004 at the client' });
  const closedAt = Date.now();

  // How the library surfaces it.
  if (context.client === 'discordjs') {
    await waitFor(() => client.rec.ofKind('error').length > 0, { timeoutMs: 3000, what: "an 'error' event" });
    note(`@discordjs/ws emitted error: ${client.rec.ofKind('error')[0].error}`);
  } else {
    await waitFor(() => context.unhandled.length > 0 || client.rec.ofKind('error').length > 0, {
      timeoutMs: 3000,
      what: 'an error surfaced by Discordeno',
    });
    if (context.unhandled.length > 0) {
      note(
        `@discordeno/gateway surfaces 4004 only by throwing from its socket close handler (an unhandled promise rejection: "${context.unhandled[0]?.message}"); a process without an unhandledRejection handler exits`,
      );
    }
  }

  // No reconnect loop: within several reconnect delays nothing more reaches the gateway.
  const identifiesNow = () => sentOp(2).length;
  const identified = identifiesNow();
  await holdsFor(4000, () => identifiesNow() > identified || sent.filter((f) => f.kind === 'frame' && f.at > closedAt && f.op !== 1).length > 0, 'a new Identify/Resume after 4004');
  const log = await emulator.log();
  const identifies = ofKind(log, 'identify').length;
  const connects = ofKind(log, 'connect').length;
  check(identifies <= 2, `the client identified ${identifies} times with a rejected token (reconnect loop)`);
  if (identifies > 1 || connects > 1) {
    deviation(context.client, 'stops_on_4004', `reconnected after 4004 (${connects} connections, ${identifies} identifies) before stopping`);
  }
  const serverCloses = ofKind(log, 'server_close').map((e) => e.code ?? e.raw?.close_code);
  if (serverCloses.length) check(serverCloses.includes(4004), `the emulator's log shows closes ${serverCloses}, not 4004`);
  note(`after 4004: ${connects} connection(s), ${identifies} identify(ies), nothing more for 4 s`);
}

export const SCENARIOS = {
  ready_via_discovery,
  dispatch_zlib_stream,
  dispatch_zstd_stream,
  resume_after_4000,
  resume_after_op7,
  reidentify_after_invalid_session_false,
  stops_on_4004,
};

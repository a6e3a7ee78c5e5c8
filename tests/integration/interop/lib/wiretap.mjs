// Records what the client under test sends, from inside its own process: both libraries use the `ws`
// package's WebSocket on Node, so wrapping its send() and close() shows every frame and close code
// exactly as the library produced it. Behaviour is unchanged (the originals run).

import WebSocket from 'ws';

import { nextOrder } from './order.mjs';

export const sent = [];

const originalSend = WebSocket.prototype.send;
WebSocket.prototype.send = function send(data, ...rest) {
  let payload = null;
  try {
    payload = JSON.parse(typeof data === 'string' ? data : Buffer.from(data).toString());
  } catch {
    /* binary or not JSON */
  }
  sent.push({ at: Date.now(), order: nextOrder(), kind: 'frame', op: payload?.op ?? null, d: payload?.d ?? null, url: this.url });
  return originalSend.call(this, data, ...rest);
};

const originalClose = WebSocket.prototype.close;
WebSocket.prototype.close = function close(code, reason) {
  sent.push({ at: Date.now(), order: nextOrder(), kind: 'close', code: code ?? null, reason: reason ?? null, url: this.url });
  return originalClose.call(this, code, reason);
};

export const sentOp = (op) => sent.filter((f) => f.kind === 'frame' && f.op === op);
export const sentCloses = () => sent.filter((f) => f.kind === 'close');

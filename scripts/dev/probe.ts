// Bounded checks of what listens where: every probe gives up quickly, every wait names what it waited for.
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';

const PROBE_TIMEOUT_MS = 1_000;

/** True when something accepts a TCP connection on host:port. */
export function portAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** True when an HTTP server answers at `url` (any status: it is there). */
export async function httpAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

/** True when this process could listen on the TCP port (so the service we are about to start can too). */
export function tcpPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen(port, host, () => probe.close(() => done(true)));
  });
}

export function udpPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createSocket('udp4');
    probe.once('error', () => {
      probe.close();
      done(false);
    });
    probe.bind(port, host, () => probe.close(() => done(true)));
  });
}

/** Polls `probe` until it says yes; throws naming `what` after `timeoutMs`, or at once when `cancelled()` turns true. */
export async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs: number, cancelled: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cancelled()) throw new Error(`stopped while waiting for ${what}`);
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} was not ready within ${Math.round(timeoutMs / 1000)} s`);
}

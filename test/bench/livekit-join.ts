// Figures, not a test: how long a caller waits, from joining a room, until the agent's audio track is subscribed, and
// where that time goes. Rooms one after another (one caller each, the previous worker gone), on the live stack: LiveKit
// delivering its webhook through the gate, the functions launching through the local launcher, the real worker.
// Every moment is Date.now() on this one machine: the caller's events here, the gate's record of each webhook, the
// launcher's task start, and the worker's own log lines (pino, ms resolution) that the launcher passes through.
import { randomUUID } from 'node:crypto';
import { ParticipantKind, RoomEvent, TrackKind } from '@livekit/rtc-node';
import { Caller } from '../support/caller.ts';
import type { LiveStack } from '../support/live-stack.ts';
import { waitFor } from '../support/wait.ts';

/** The moments of one room's start, in epoch ms. */
export interface JoinTimeline {
  room: string;
  callerJoinAtMs: number;
  /** The first room_started / participant_joined reaching the gate in front of the functions. */
  webhookAtMs: number;
  taskStartedAtMs: number;
  workerStartedAtMs: number;
  /** Node's own start-up and the worker's imports, as the worker measured them (performance.now() at its first line). */
  nodeBootMs: number;
  sessionLoadedAtMs: number;
  conversationReadyAtMs: number;
  /** The caller's ParticipantConnected for the agent: LiveKit announces it with its track, so after the publish. */
  agentConnectedAtMs: number;
  /** The worker's 'joined the room': connected and its audio track published. */
  workerJoinedAtMs: number;
  trackSubscribedAtMs: number;
}

export interface JoinPhase {
  key: string;
  figure: string;
  meaning: string;
  ms(t: JoinTimeline): number;
}

export const JOIN_PHASES: JoinPhase[] = [
  { key: 'total', figure: 'join → agent track', meaning: 'caller starts joining → the agent\'s audio track subscribed by the caller', ms: (t) => t.trackSubscribedAtMs - t.callerJoinAtMs },
  { key: 'webhook', figure: '  webhook delivery', meaning: 'caller starts joining (connect, publish mic) → LiveKit\'s first webhook for the room at the functions', ms: (t) => t.webhookAtMs - t.callerJoinAtMs },
  { key: 'launch', figure: '  launch', meaning: 'webhook → the launcher spawned the worker (functions: session, worker token, launch request)', ms: (t) => t.taskStartedAtMs - t.webhookAtMs },
  { key: 'processStart', figure: '  process start', meaning: 'spawn → the worker\'s first log line (node boot and imports: rtc-node, onnxruntime, SDKs)', ms: (t) => t.workerStartedAtMs - t.taskStartedAtMs },
  { key: 'nodeBoot', figure: '    inside node', meaning: 'the worker\'s own performance.now() at that line (the rest is the spawn itself)', ms: (t) => t.nodeBootMs },
  { key: 'session', figure: '  session fetch', meaning: 'first line → GET /v1/worker/session answered (ranked providers, prompt, history)', ms: (t) => t.sessionLoadedAtMs - t.workerStartedAtMs },
  { key: 'modelLoad', figure: '  model load', meaning: 'session → providers built and the Silero VAD model loaded', ms: (t) => t.conversationReadyAtMs - t.sessionLoadedAtMs },
  { key: 'join', figure: '  join', meaning: 'model loaded → the worker is in the room with its track published (token, signalling, ICE, publish)', ms: (t) => t.workerJoinedAtMs - t.conversationReadyAtMs },
  { key: 'subscribe', figure: '  subscribe', meaning: 'track published (worker) → the caller subscribed to it', ms: (t) => t.trackSubscribedAtMs - t.workerJoinedAtMs },
  { key: 'seenAgent', figure: '  (agent seen)', meaning: 'track published (worker) → the caller\'s ParticipantConnected for the agent (inside subscribe)', ms: (t) => t.agentConnectedAtMs - t.workerJoinedAtMs },
];

interface WorkerLine {
  atMs: number;
  event?: string;
  msg?: string;
  sinceProcessStartMs?: number;
}

/** The worker's pino lines for one task, out of the launcher's log (`[taskId] {json}`). */
function workerLines(logs: string, taskId: string): WorkerLine[] {
  const prefix = `[${taskId}] `;
  const lines: WorkerLine[] = [];
  for (const line of logs.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    try {
      const parsed = JSON.parse(line.slice(prefix.length)) as { time?: string; event?: string; msg?: string; sinceProcessStartMs?: number };
      if (parsed.time) lines.push({ ...parsed, atMs: Date.parse(parsed.time) });
    } catch {
      // Not JSON (a native library writing to stderr): not a milestone.
    }
  }
  return lines;
}

function moment(lines: WorkerLine[], what: string, match: (l: WorkerLine) => boolean): WorkerLine {
  const line = lines.find(match);
  if (!line) throw new Error(`the worker never logged ${what}`);
  return line;
}

/** One room: a caller joins, the agent comes; the caller leaves and the worker is waited out before the next room. */
export async function measureJoin(stack: LiveStack): Promise<JoinTimeline> {
  const room = `bench-join-${randomUUID()}`;
  const { token, url } = await stack.token(room, 'bench-caller');
  const caller = new Caller('bench-caller');
  let agentConnectedAtMs: number | undefined;
  let trackSubscribedAtMs: number | undefined;
  caller.room.on(RoomEvent.ParticipantConnected, (p) => {
    if (p.kind === ParticipantKind.AGENT) agentConnectedAtMs ??= Date.now();
  });
  caller.room.on(RoomEvent.TrackSubscribed, (track, _pub, p) => {
    if (p.kind === ParticipantKind.AGENT && track.kind === TrackKind.KIND_AUDIO) trackSubscribedAtMs ??= Date.now();
  });
  const callerJoinAtMs = Date.now();
  try {
    await caller.join(url, token);
    await waitFor('the agent\'s audio track at the caller', () => trackSubscribedAtMs, 60_000);
    const [task] = await stack.tasks(room);
    if (!task) throw new Error(`no worker task for ${room}`);
    // The worker's 'joined the room' line may trail the caller's subscription by a moment.
    const lines = await waitFor('the worker\'s joined line', () => {
      const found = workerLines(stack.logs(), task.taskId);
      return found.some((l) => l.msg === 'joined the room') && found;
    }, 10_000);
    const webhook = stack.gate.webhooks.find((w) => w.room === room && (w.event === 'room_started' || w.event === 'participant_joined'));
    if (!webhook) throw new Error(`no webhook recorded for ${room}`);
    const started = moment(lines, 'worker_started', (l) => l.event === 'worker_started');
    return {
      room,
      callerJoinAtMs,
      webhookAtMs: webhook.receivedAtMs,
      taskStartedAtMs: task.startedAtMs,
      workerStartedAtMs: started.atMs,
      nodeBootMs: started.sinceProcessStartMs ?? Number.NaN,
      sessionLoadedAtMs: moment(lines, 'session_loaded', (l) => l.event === 'session_loaded').atMs,
      conversationReadyAtMs: moment(lines, 'conversation_ready', (l) => l.event === 'conversation_ready').atMs,
      agentConnectedAtMs: agentConnectedAtMs!,
      workerJoinedAtMs: moment(lines, 'joined the room', (l) => l.msg === 'joined the room').atMs,
      trackSubscribedAtMs: trackSubscribedAtMs!,
    };
  } finally {
    await caller.leave();
    // The next room starts on a quiet machine: this room's worker leaves (the last caller gone) and exits.
    await waitFor(`the worker of ${room} to exit`, async () => (await stack.tasks(room)).every((t) => t.state === 'exited'), 30_000, 100);
  }
}

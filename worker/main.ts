// The media worker for one room, as ECS or the local launcher starts it: settings from the environment (a bad one
// stops the start naming it), the single-use bootstrap credential traded for the session token, the room token and
// the session, the room over LiveKit (with the token the functions minted: no LiveKit secret here), the
// conversation, and a clean exit: SIGTERM, the last caller gone, the caller away (bid goodbye), idle, or too long.
import { dispose as disposeRtc } from '@livekit/rtc-node';
import { assembleConversation } from './assemble.ts';
import { parseAgentConfig, parseLaunchedConfig, WorkerConfigError, type AgentConfig, type LaunchedConfig } from './config.ts';
import { createControlPlaneClient, type ControlPlaneClient } from './control-plane/client.ts';
import { startHealthServer } from './health-server.ts';
import { createLogger } from './log.ts';
import { createReporter } from './report.ts';
import { createLiveKitTransport } from './transport/livekit.ts';
import type { LiveKitJoin, WorkerBootstrap } from '../functions/contract.ts';
import { createStatusOutbox } from './control-plane/status-outbox.ts';

const log = createLogger({ env: process.env });

/** Trades the launch credential once; only a failure that surely never reached the functions is worth a retry. */
async function bootstrap(client: ControlPlaneClient, credential: string): Promise<WorkerBootstrap> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.bootstrap(credential);
    } catch (err) {
      // A timeout may have burnt the single-use credential already; refused connections and 5xx did not.
      const e = err as { kind?: string; status?: number };
      const retryable = e.kind === 'network' || (e.kind === 'http' && (e.status ?? 0) >= 500);
      log.warn({ event: 'bootstrap_failed', attempt, retryable }, 'could not exchange the bootstrap credential');
      if (!retryable || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

/** The join token: the bootstrap's while it is fresh, then a new one from the functions for each (re)join. */
function joinTokens(client: ControlPlaneClient, first: LiveKitJoin): () => Promise<string> {
  let initial: LiveKitJoin | undefined = first;
  return async () => {
    const fresh = initial && initial.expiresAtMs - Date.now() > 30_000 ? initial : undefined;
    initial = undefined;
    return fresh ? fresh.token : (await client.getLiveKitToken()).token;
  };
}

async function main(): Promise<number> {
  // The start-up milestones (started → session → ready → joined the room) let a launch's time be split into its parts.
  log.info({ event: 'worker_started', sinceProcessStartMs: Math.round(performance.now()) }, 'worker started');
  const agent = parseAgentConfig(process.env);
  const launched = parseLaunchedConfig(process.env);
  const client = createControlPlaneClient({ functionsUrl: launched.FUNCTIONS_URL });
  // Without it there is no room token and no session token: nothing to join, nobody to tell.
  const boot = await bootstrap(client, launched.WORKER_BOOTSTRAP_TOKEN);
  try {
    return await serve(agent, launched, client, boot);
  } catch (err) {
    // Any start failure once the control plane is known (no providers, no room): say so, so it can relaunch or stop.
    const reason = err instanceof Error ? err.message : String(err);
    await client.reportStatus('failed', reason.slice(0, 200)).catch(() => undefined);
    throw err;
  }
}

async function serve(agent: AgentConfig, launched: LaunchedConfig, client: ControlPlaneClient, boot: WorkerBootstrap): Promise<number> {
  const { session } = boot;
  log.info({ event: 'session_loaded' }, 'session loaded');
  let shutdown: (reason: string) => void = () => undefined;
  const reporter = createReporter({ client, logger: log, onSessionEnded: () => shutdown('session_ended') });
  const statuses = createStatusOutbox({ client, logger: log, onSessionEnded: () => shutdown('session_ended') });
  const transport = createLiveKitTransport({
    url: launched.LIVEKIT_URL ?? boot.livekit.url,
    joinToken: joinTokens(client, boot.livekit),
    room: session.room,
    // The identity the functions minted (AGENT_IDENTITY_PREFIX + session id): both sides agree on who the agent is.
    identity: boot.livekit.identity,
    name: 'Voice agent',
    logger: log,
  });
  const assembled = await assembleConversation({
    env: process.env,
    config: agent,
    order: session.providers,
    transport,
    report: reporter,
    log,
    systemPrompt: session.systemPrompt,
    greeting: session.greeting ?? agent.GREETING,
    history: session.history,
  });
  const { conversation } = assembled;
  log.info({ event: 'conversation_ready' }, 'providers built and the VAD model loaded');
  const startedAt = Date.now();
  const health = await startHealthServer(launched.HEALTH_PORT, () => ({
    ok: true,
    sessionId: session.sessionId,
    state: conversation.state.state,
    uptimeMs: Date.now() - startedAt,
  }));

  const stop = new AbortController();
  const reasons: string[] = [];
  const finished = new Promise<string>((resolve) => {
    shutdown = (reason) => {
      if (reasons.length === 0) log.info({ event: 'shutdown', reason }, 'worker stopping');
      reasons.push(reason);
      resolve(reason);
    };
  });
  process.once('SIGTERM', () => shutdown('sigterm'));
  process.once('SIGINT', () => shutdown('sigint'));

  let emptyTimer: ReturnType<typeof setTimeout> | undefined;
  // 'active' only after 'joined' has gone out: a caller already in the room is announced while we join.
  let joinedReported = false;
  let callerPresent = false;
  const reportActive = () => statuses.report('active');
  transport.on('callerJoined', () => {
    clearTimeout(emptyTimer);
    callerPresent = true;
    if (joinedReported) reportActive();
  });
  transport.on('callerLeft', () => {
    clearTimeout(emptyTimer);
    emptyTimer = setTimeout(() => shutdown('room_empty'), launched.EMPTY_ROOM_GRACE_MS);
  });
  const maxLength = setTimeout(() => shutdown('max_session_length'), launched.MAX_SESSION_MS);
  const idleCheck = setInterval(() => {
    if (conversation.idleForMs() > launched.IDLE_TIMEOUT_MS) shutdown('idle_timeout');
  }, 1_000);
  // The caller stayed silent through the check-in and the goodbye has been said (AWAY_GOODBYE_MS).
  void conversation.userAway.then(() => shutdown('user_away'));

  try {
    await transport.start();
  } catch (err) {
    // The functions relaunch a failed worker (bounded); main() tells them now rather than letting the heartbeat run out.
    statuses.close();
    await Promise.allSettled([assembled.close(), reporter.close({ timeoutMs: 1_000 }), health.close()]);
    throw new Error(`could not join the room: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  statuses.report('joined');
  joinedReported = true;
  if (callerPresent) reportActive();
  const running = conversation.run(stop.signal).then(
    () => shutdown('input_ended'),
    (err: unknown) => shutdown(`conversation_failed: ${err instanceof Error ? err.message : String(err)}`),
  );

  const reason = await finished;
  clearTimeout(maxLength);
  clearTimeout(emptyTimer);
  clearInterval(idleCheck);
  // Stop listening, let the current utterance finish or cut it within the bound, then tell the functions and leave.
  stop.abort();
  await conversation.stop(launched.SHUTDOWN_BOUND_MS);
  await transport.close();
  await running;
  await assembled.close();
  const flushed = await reporter.close({ timeoutMs: launched.SHUTDOWN_BOUND_MS });
  const failed = reason.startsWith('conversation_failed');
  statuses.report(failed ? 'failed' : 'ended', reason.slice(0, 200));
  await statuses.flush(launched.SHUTDOWN_BOUND_MS);
  statuses.close();
  await health.close();
  log.info({ event: 'worker_exit', reason, delivered: flushed.delivered }, 'worker stopped');
  await disposeRtc();
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    if (err instanceof WorkerConfigError) log.error({ event: 'config_invalid' }, err.message);
    else log.error({ event: 'worker_failed', reason: err instanceof Error ? err.message : String(err) }, 'worker failed to start');
    await disposeRtc().catch(() => undefined);
    process.exit(1);
  },
);

// The media worker for one room, as ECS or the local launcher starts it: settings from the environment (a bad one
// stops the start naming it), the session from the functions (or the environment when they can't be reached),
// the room over LiveKit, the conversation, and a clean exit: SIGTERM, the last caller gone, idle, or too long.
import { dispose as disposeRtc } from '@livekit/rtc-node';
import { assembleConversation } from './assemble.ts';
import { parseAgentConfig, parseLaunchedConfig, WorkerConfigError, type AgentConfig, type LaunchedConfig } from './config.ts';
import { createControlPlaneClient, type ControlPlaneClient } from './control-plane/client.ts';
import { startHealthServer } from './health-server.ts';
import { createLogger } from './log.ts';
import { createReporter } from './report.ts';
import { createLiveKitTransport } from './transport/livekit.ts';
import type { WorkerSession } from '../functions/contract.ts';

const log = createLogger({ env: process.env });

async function loadSession(client: ControlPlaneClient, fallback: WorkerSession): Promise<WorkerSession> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await client.getSession();
    } catch (err) {
      const retryable = (err as { retryable?: boolean }).retryable ?? true;
      log.warn({ event: 'session_fetch_failed', attempt, retryable }, 'could not fetch the session from the functions');
      if (!retryable) break;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
  // The caller is waiting: talk with the settings we were launched with rather than not at all.
  log.warn({ event: 'session_from_env' }, 'using the environment settings for this session');
  return fallback;
}

async function main(): Promise<number> {
  // The start-up milestones (started → session → ready → joined the room) let a launch's time be split into its parts.
  log.info({ event: 'worker_started', sinceProcessStartMs: Math.round(performance.now()) }, 'worker started');
  const agent = parseAgentConfig(process.env);
  const launched = parseLaunchedConfig(process.env);
  const client = createControlPlaneClient({ functionsUrl: launched.FUNCTIONS_URL, workerToken: launched.WORKER_TOKEN });
  try {
    return await serve(agent, launched, client);
  } catch (err) {
    // Any start failure once the control plane is known (no providers, no room): say so, so it can relaunch or stop.
    const reason = err instanceof Error ? err.message : String(err);
    await client.reportStatus('failed', reason.slice(0, 200)).catch(() => undefined);
    throw err;
  }
}

async function serve(agent: AgentConfig, launched: LaunchedConfig, client: ControlPlaneClient): Promise<number> {
  const session = await loadSession(client, {
    sessionId: launched.SESSION_ID,
    room: launched.ROOM,
    providers: { stt: agent.STT_PROVIDERS, llm: agent.LLM_PROVIDERS, tts: agent.TTS_PROVIDERS },
    systemPrompt: agent.SYSTEM_PROMPT,
    greeting: agent.GREETING,
    history: [],
  });
  log.info({ event: 'session_loaded' }, 'session loaded');

  let shutdown: (reason: string) => void = () => undefined;
  const reporter = createReporter({ client, logger: log, onSessionEnded: () => shutdown('session_ended') });
  const transport = createLiveKitTransport({
    url: launched.LIVEKIT_URL,
    apiKey: launched.LIVEKIT_API_KEY,
    apiSecret: launched.LIVEKIT_API_SECRET,
    room: launched.ROOM,
    identity: `agent-${launched.SESSION_ID}`,
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
    sessionId: launched.SESSION_ID,
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
  const reportActive = () => void client.reportStatus('active').catch(() => undefined);
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

  try {
    await transport.start();
  } catch (err) {
    // The functions relaunch a failed worker (bounded); main() tells them now rather than letting the heartbeat run out.
    await Promise.allSettled([assembled.close(), reporter.close({ timeoutMs: 1_000 }), health.close()]);
    throw new Error(`could not join the room: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  await client.reportStatus('joined').catch((err: unknown) => {
    if ((err as { sessionEnded?: boolean }).sessionEnded) shutdown('session_ended');
  });
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
  await client.reportStatus(failed ? 'failed' : 'ended', reason.slice(0, 200)).catch(() => undefined);
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

// `npm run console -- --input in.wav --output out.wav --report report.json [--fast]`: a whole conversation with a
// WAV file as the caller. The output WAV shares the input's timeline, so response delays can be measured on the
// waveform. Without FUNCTIONS_URL the settings come from the environment; with it, the run reports like a worker.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dispose as disposeRtc } from '@livekit/rtc-node';
import { PROVIDERS, type ProviderOrder } from '../functions/contract.ts';
import { assembleConversation } from './assemble.ts';
import { parseAgentConfig } from './config.ts';
import { consoleReport, LocalReport, resourceSnapshot, type ResourceSnapshot } from './console-report.ts';
import { createControlPlaneClient } from './control-plane/client.ts';
import { createLogger } from './log.ts';
import { createReporter, type Reporter } from './report.ts';
import { createFileTransport } from './transport/file.ts';

const FAST_SPEED = 20;
/** The agent must have been quiet this long (console time) after the input ended before the run is over. */
const QUIET_MS = 1_500;
/** However the conversation goes, the run ends this long (console time) after the input. */
const MAX_TAIL_MS = 120_000;

function usage(message: string): never {
  console.error(`npm run console: ${message}\nusage: npm run console -- --input in.wav --output out.wav --report report.json [--fast]`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { input: { type: 'string' }, output: { type: 'string' }, report: { type: 'string' }, fast: { type: 'boolean', default: false } },
    strict: true,
  });
  if (!values.input) usage('--input is required');
  if (!values.output) usage('--output is required');
  const env = process.env;
  const config = parseAgentConfig(env);
  const log = createLogger({ env });
  let order: ProviderOrder = { stt: config.STT_PROVIDERS, llm: config.LLM_PROVIDERS, tts: config.TTS_PROVIDERS };
  let systemPrompt = config.SYSTEM_PROMPT;
  let greeting = config.GREETING;
  let reporter: Reporter | undefined;
  let history;
  if (env.FUNCTIONS_URL) {
    const client = createControlPlaneClient({ functionsUrl: env.FUNCTIONS_URL, workerToken: env.WORKER_TOKEN ?? '' });
    const session = await client.getSession();
    ({ providers: order, systemPrompt } = session);
    greeting = session.greeting ?? greeting;
    history = session.history;
    reporter = createReporter({ client, logger: log });
  }
  for (const m of ['stt', 'llm', 'tts'] as const) {
    const unknown = order[m].filter((p) => !(PROVIDERS[m] as readonly string[]).includes(p));
    if (unknown.length) usage(`${m.toUpperCase()}_PROVIDERS names unknown providers: ${unknown.join(', ')}`);
  }

  const transport = createFileTransport({
    inputPath: values.input,
    outputPath: values.output,
    speed: values.fast ? FAST_SPEED : 1,
    padInputWithSilence: true,
  });
  const report = new LocalReport(reporter);
  // The end-of-turn model thinks in wall time: at 20× it would answer long after the waits it decides, so a --fast run
  // goes by the words alone unless END_OF_TURN says otherwise.
  const endOfTurn = values.fast && env.END_OF_TURN === undefined ? ('rule' as const) : undefined;
  const assembled = await assembleConversation({ env, config, order, transport, report, log, systemPrompt, greeting, ...(history ? { history } : {}), ...(endOfTurn ? { endOfTurn } : {}) });
  const { conversation } = assembled;
  const stop = new AbortController();
  await transport.start();
  const running = conversation.run(stop.signal);
  let peakRss = process.memoryUsage.rss();
  const resources: ResourceSnapshot[] = [resourceSnapshot('start', transport.now(), 0)];
  // Sampled for the whole run, not only its tail: the peak and any growth from turn to turn happen while it talks.
  let watchTimer: { cancel(): void } | undefined;
  const watch = () => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    const turns = report.turns.length;
    if (turns > (resources.at(-1)?.turns ?? 0)) resources.push(resourceSnapshot('turn', transport.now(), turns));
    watchTimer = transport.setTimer(100, watch);
  };
  watch();

  // The run ends with the input, or sooner when the caller stayed silent until the agent said goodbye.
  let away = false;
  void conversation.userAway.then(() => (away = true));
  const inputEndedAt = await Promise.race([transport.inputEnded, conversation.userAway.then(() => transport.now())]);
  if (away) log.info({ event: 'console_user_away' }, 'the caller was away: the run ends');
  await new Promise<void>((resolve) => {
    let quietSince: number | undefined;
    const check = () => {
      const now = transport.now();
      if (conversation.isQuiet()) quietSince ??= now;
      else quietSince = undefined;
      if ((quietSince !== undefined && now - quietSince >= QUIET_MS) || now - inputEndedAt > MAX_TAIL_MS) return resolve();
      transport.setTimer(100, check);
    };
    check();
  });
  await conversation.stop(2_000);
  watchTimer?.cancel();
  resources.push(resourceSnapshot('end', transport.now(), report.turns.length));
  stop.abort();
  await transport.close();
  await running.catch(() => undefined);
  await assembled.close();
  if (reporter) await reporter.close();
  resources.push(resourceSnapshot('closed', transport.now(), report.turns.length));
  const cpu = process.cpuUsage();
  if (values.report) {
    const json = consoleReport({
      inputPath: values.input,
      outputPath: values.output,
      fast: values.fast ?? false,
      timelineMs: transport.now(),
      inputEndedAtMs: transport.inputEndedAtMs,
      report,
      states: transport.agentStates,
      transcripts: transport.transcriptions,
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      peakRssBytes: peakRss,
      resources,
    });
    writeFileSync(values.report, `${JSON.stringify(json, null, 2)}\n`);
  }
  log.info({ event: 'console_done', turns: report.turns.length, output: values.output }, 'console run finished');
  await disposeRtc();
}

// Exit once the run is done, as the worker does: an SDK timer left armed (ElevenLabs' request timeout outlives a
// request aborted before its headers) must not hold a finished run open for up to a minute.
main().then(
  () => process.exit(0),
  async (err: unknown) => {
    console.error(`npm run console: ${err instanceof Error ? err.message : String(err)}`);
    await disposeRtc().catch(() => undefined);
    process.exit(1);
  },
);

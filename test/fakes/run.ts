// `npm run fakes`: all five fake vendors on fixed ports, for the console demo, benchmarks and manual runs.
// Prints the environment to export, and how to drive the fakes through their control API. Ctrl-C stops them.
//   FAKES_BASE_PORT  first port (default 8901): openai, anthropic, groq, deepgram, elevenlabs on the next five
//   FAKES_PROFILE    latency preset for every fake: instant (default), realistic, slow
import { startFakeAnthropic } from './anthropic.ts';
import { startFakeDeepgram } from './deepgram.ts';
import { startFakeElevenLabs } from './elevenlabs.ts';
import { startFakeGroq } from './groq.ts';
import type { ProfileName } from './kit/profile.ts';
import { PROFILES } from './kit/profile.ts';
import type { FakeServer } from './kit/server.ts';
import { startFakeOpenAI } from './openai.ts';

function basePort(): number {
  const raw = process.env.FAKES_BASE_PORT ?? '8901';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_530) {
    throw new Error(`FAKES_BASE_PORT must be a port number between 1 and 65530, got "${raw}"`);
  }
  return port;
}

function profileName(): ProfileName {
  const raw = process.env.FAKES_PROFILE ?? 'instant';
  if (!(raw in PROFILES)) throw new Error(`FAKES_PROFILE must be one of ${Object.keys(PROFILES).join(', ')}, got "${raw}"`);
  return raw as ProfileName;
}

async function main(): Promise<void> {
  const port = basePort();
  const profile = profileName();
  const fakes: FakeServer[] = [];
  const stop = async () => {
    await Promise.allSettled(fakes.map((fake) => fake.close()));
  };
  try {
    fakes.push(await startFakeOpenAI({ port, profile }));
    fakes.push(await startFakeAnthropic({ port: port + 1, profile }));
    fakes.push(await startFakeGroq({ port: port + 2, profile }));
    fakes.push(await startFakeDeepgram({ port: port + 3, profile }));
    fakes.push(await startFakeElevenLabs({ port: port + 4, profile }));
  } catch (error) {
    await stop();
    const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
    throw inUse ? new Error(`a fake's port is taken (${(error as Error).message}); set FAKES_BASE_PORT to another range`) : error;
  }
  const [openai, anthropic, groq, deepgram, elevenlabs] = fakes as [FakeServer, FakeServer, FakeServer, FakeServer, FakeServer];

  console.log(`Fake providers running (profile ${profile}). Export these to use them:

OPENAI_BASE_URL=${openai.url}/v1
ANTHROPIC_BASE_URL=${anthropic.url}
GROQ_BASE_URL=${groq.url}
DEEPGRAM_BASE_URL=${deepgram.url}
ELEVENLABS_BASE_URL=${elevenlabs.url}
OPENAI_API_KEY=fake-openai-key
ANTHROPIC_API_KEY=fake-anthropic-key
GROQ_API_KEY=fake-groq-key
DEEPGRAM_API_KEY=fake-deepgram-key
ELEVENLABS_API_KEY=fake-elevenlabs-key

Drive a fake through its control API (same port, under /__fake/), for example:
  curl -s -X POST ${openai.url}/__fake/faults -d '{"faults":[{"kind":"status","status":429,"retryAfterS":2,"route":"chat"}]}'
  curl -s -X POST ${anthropic.url}/__fake/faults -d '{"faults":[{"kind":"stallAfter","chunks":3,"ms":5000}]}'
  curl -s -X POST ${deepgram.url}/__fake/script -d '{"transcripts":["what is the weather"]}'
  curl -s -X POST ${groq.url}/__fake/profile -d '"realistic"'
  curl -s ${openai.url}/__fake/requests
  curl -s -X POST ${openai.url}/__fake/reset
Faults and profiles: test/fakes/README.md. Ctrl-C stops the fakes.`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the fakes`);
    void stop().then(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

// Per-turn figures for people watching: the transport interface's publishTurnMetrics, as the `voice.turn` attribute a
// second participant reads in a real room on the real livekit-server, and as records in the console transport. Also
// what a barge-in leaves of each caption (heardSpans), which the turn runner republishes.
import { randomUUID } from 'node:crypto';
import { Room, RoomEvent } from '@livekit/rtc-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpokenTimeline } from '../../../worker/agent/heard-text.ts';
import { createFileTransport } from '../../../worker/transport/file.ts';
import { createLiveKitTransport, TURN_METRICS_ATTRIBUTE } from '../../../worker/transport/livekit.ts';
import { turnMetricsOf, type TurnMetrics } from '../../../worker/transport/types.ts';
import { callerToken } from '../../support/caller.ts';
import { startTestLiveKit, type LiveKitServer } from '../../support/livekit-server.ts';
import { waitFor } from '../../support/wait.ts';

const timing = {
  turn: 3,
  endOfUtteranceDelayMs: 512.4,
  llmTtftMs: 120.6,
  ttsTtfbMs: 80,
  endToEndMs: 801.5,
  providers: { stt: 'deepgram', llm: 'anthropic', tts: 'elevenlabs' },
  failovers: 1,
  interrupted: false,
};

describe('turnMetricsOf', () => {
  it('keeps the response delay and the providers, in whole ms', () => {
    expect(turnMetricsOf(timing)).toEqual({
      turn: 3,
      responseDelayMs: 802,
      endOfUtteranceDelayMs: 512,
      llmTtftMs: 121,
      ttsTtfbMs: 80,
      providers: { stt: 'deepgram', llm: 'anthropic', tts: 'elevenlabs' },
      failovers: 1,
      interrupted: false,
    });
  });

  it('leaves out what a turn without audio never had', () => {
    const m = turnMetricsOf({ turn: 1, providers: { stt: 'openai' }, failovers: 0, interrupted: true });
    expect(m).toEqual({ turn: 1, providers: { stt: 'openai' }, failovers: 0, interrupted: true });
  });
});

describe('heardSpans', () => {
  it('gives each chunk what was heard of it: whole, in part, or nothing', () => {
    const t = new SpokenTimeline(1_000);
    t.add('Hello there.', 800, 0);
    t.add('The weather is lovely today.', 1_000, 1);
    t.add('Anything else?', 500, 2);
    expect(t.heardSpans(2_300)).toEqual([
      { index: 0, text: 'Hello there.', heard: 'Hello there.' },
      { index: 1, text: 'The weather is lovely today.', heard: 'The weather' },
      { index: 2, text: 'Anything else?', heard: '' },
    ]);
  });
});

describe('the console transport', () => {
  it('records every turn published, on its clock', async () => {
    const transport = createFileTransport({ inputPath: '/nonexistent.wav', outputPath: '/dev/null' });
    await transport.publishTurnMetrics(turnMetricsOf(timing));
    expect(transport.turnMetrics).toEqual([{ atMs: expect.any(Number), ...turnMetricsOf(timing) }]);
  });
});

describe('the LiveKit transport', () => {
  let server: LiveKitServer | undefined;
  beforeAll(async () => {
    server = await startTestLiveKit();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('publishes the figures as the voice.turn attribute, next to lk.agent.state, for a client in the room', async () => {
    const { url, apiKey, apiSecret } = server!;
    const room = `turn-metrics-${randomUUID()}`;
    const agentIdentity = 'agent-turn-metrics';
    const transport = createLiveKitTransport({ url, apiKey, apiSecret, room, identity: agentIdentity, logger: pino({ level: 'silent' }) });
    const client = new Room();
    try {
      await transport.start();
      await client.connect(url, await callerToken(apiKey, apiSecret, room, 'client-turn-metrics'), { autoSubscribe: false, dynacast: false });
      const seen: TurnMetrics[] = [];
      client.on(RoomEvent.ParticipantAttributesChanged, (changed, participant) => {
        const raw = changed[TURN_METRICS_ATTRIBUTE];
        if (participant.identity === agentIdentity && raw) seen.push(JSON.parse(raw) as TurnMetrics);
      });
      await transport.setAgentState('listening');
      await transport.publishTurnMetrics(turnMetricsOf(timing));
      await waitFor('voice.turn at the client', () => seen.length > 0, 10_000);
      expect(seen[0]).toEqual(turnMetricsOf(timing));
      // One attribute does not displace the other.
      const agent = client.remoteParticipants.get(agentIdentity);
      await waitFor('lk.agent.state kept', () => agent?.attributes['lk.agent.state'] === 'listening', 10_000);
    } finally {
      await client.disconnect().catch(() => undefined);
      await transport.close();
    }
    // After leaving there is nobody to tell: no error.
    await expect(transport.publishTurnMetrics(turnMetricsOf(timing))).resolves.toBeUndefined();
  });
});

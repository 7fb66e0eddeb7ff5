// The reply scheduler's speculative replies (what preemptive generation builds on): the LLM runs before the turn is
// certain, nothing is said or remembered until commit, and a dropped one leaves no trace.
import { describe, expect, it } from 'vitest';
import { clockOf } from '../../../worker/agent/clock.ts';
import { ConversationHistory } from '../../../worker/agent/history.ts';
import { ReplyScheduler } from '../../../worker/agent/reply-scheduler.ts';
import { StateMachine } from '../../../worker/agent/state-machine.ts';
import { engineParts, type LlmScript } from './engine-harness.ts';

function scheduler(llm: LlmScript) {
  const parts = engineParts({ stt: [], llm: [llm] });
  const clock = clockOf(parts.transport);
  const state = new StateMachine(clock.now);
  state.to('listening', 'started');
  const history = new ConversationHistory(100);
  return { ...parts, state, history, replies: new ReplyScheduler(parts.options, clock, state, history) };
}

const request = { userText: 'what time is it', speechEndedAtMs: 0, timing: {}, sttFailovers: 0 };

describe('speculative replies', () => {
  it('ask the LLM at once, speak only after commit, and then count as the one answer to the turn', async () => {
    const s = scheduler({ tokens: ['It is noon.'], firstTokenMs: 100 });
    const reply = s.replies.speculate(request);
    await s.advance(400);
    expect(s.llm.calls.map((c) => c.request.messages)).toEqual([[{ role: 'user', text: 'what time is it' }]]);
    // The first sentence is synthesised ahead, into a held buffer: nothing reaches the transport.
    expect(s.tts.texts).toEqual(['It is noon.']);
    expect(s.transport.happenings.filter((h) => h.kind === 'first_write' || h.kind === 'caption')).toEqual([]);
    expect(s.state.state).toBe('listening');
    expect(s.history.messages).toEqual([]);

    const committedAtMs = s.transport.now();
    expect(reply.commit()).toBe(true);
    await new Promise((r) => setImmediate(r));
    await s.advance(1_500);
    // Held audio plays the moment the turn is confirmed, without asking the voice again.
    expect(s.tts.texts).toEqual(['It is noon.']);
    expect(s.transport.happenings.find((h) => h.kind === 'first_write')?.atMs).toBe(committedAtMs);
    expect(s.history.messages.map((m) => [m.role, m.text])).toEqual([
      ['user', 'what time is it'],
      ['assistant', 'It is noon.'],
    ]);
    expect(s.turns).toHaveLength(1);
    expect(reply.over).toBe(true);
  });

  it('dropped before commit: the LLM request is aborted, nothing is spoken, nothing goes into history or the figures', async () => {
    const s = scheduler({ tokens: ['It is noon.'], firstTokenMs: 1_000 });
    const reply = s.replies.speculate(request);
    await s.advance(300);
    reply.cancel('caller_went_on');
    await s.advance(1_500);
    expect(s.llm.calls).toHaveLength(1);
    expect(s.llm.calls[0]!.aborted).toBe(true);
    expect(s.tts.texts).toEqual([]);
    expect(s.history.messages).toEqual([]);
    expect(s.turns).toEqual([]);
    expect(reply.over).toBe(true);
  });

  it('dropped after the LLM finished and the first sentence was synthesised: still nothing heard, remembered or counted as a turn', async () => {
    const s = scheduler({ tokens: ['It is noon. ', 'Enjoy lunch.'], firstTokenMs: 50 });
    const reply = s.replies.speculate(request);
    await s.advance(600);
    expect(s.tts.texts).toEqual(['It is noon.']);
    reply.cancel('words_differ');
    await s.advance(1_500);
    expect(reply.commit()).toBe(false);
    expect(s.transport.happenings.filter((h) => h.kind !== 'state')).toEqual([]);
    expect(s.history.messages).toEqual([]);
    expect(s.turns).toEqual([]);
    // The LLM finished: the chain recorded its outcome (its tokens) once.
    expect(s.outcomes.filter((o) => o.modality === 'llm')).toHaveLength(1);
  });

  it('dropped mid-stream: the tokens it had delivered are counted as an LLM outcome all the same', async () => {
    const s = scheduler({ tokens: ['It is noon ', 'and the sun ', 'is high ', 'over the town.'], firstTokenMs: 100, gapMs: 200 });
    const reply = s.replies.speculate(request);
    await s.advance(400);
    reply.cancel('caller_went_on');
    await s.advance(500);
    expect(s.llm.calls[0]!.aborted).toBe(true);
    const llm = s.outcomes.filter((o) => o.modality === 'llm');
    expect(llm).toEqual([expect.objectContaining({ provider: 'openai', ok: true, tokens: Math.ceil('It is noon and the sun '.length / 4) })]);
    expect(llm[0]!.ttfbMs).toBeGreaterThanOrEqual(100);
  });

  it('is not used when the conversation changed after it was asked for (it would be stale)', async () => {
    const s = scheduler({ tokens: ['It is noon.'], firstTokenMs: 100 });
    const reply = s.replies.speculate(request);
    await s.advance(200);
    s.history.add({ role: 'assistant', text: 'Something else was said.', atMs: 0 });
    expect(reply.commit()).toBe(false);
  });
});

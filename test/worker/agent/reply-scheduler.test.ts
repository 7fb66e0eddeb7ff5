// The reply scheduler's speculative replies (what preemptive generation builds on): the LLM runs before the turn is
// certain, nothing is said or remembered until commit, and a dropped one leaves no trace.
import { describe, expect, it } from 'vitest';
import { clockOf } from '../../../worker/agent/clock.ts';
import { ConversationHistory } from '../../../worker/agent/history.ts';
import { ReplyScheduler } from '../../../worker/agent/reply-scheduler.ts';
import { StateMachine } from '../../../worker/agent/state-machine.ts';
import { engineParts } from './engine-harness.ts';

function scheduler(llm: { tokens: string[]; firstTokenMs: number }) {
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
    expect(s.tts.texts).toEqual([]);
    expect(s.transport.happenings.filter((h) => h.kind === 'first_write')).toEqual([]);
    expect(s.state.state).toBe('listening');
    expect(s.history.messages).toEqual([]);

    reply.commit();
    await s.advance(1_500);
    expect(s.tts.texts).toEqual(['It is noon.']);
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
});

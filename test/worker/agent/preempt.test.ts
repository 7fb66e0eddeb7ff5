// Preemptive generation on the fast harness: the LLM starts when the caller falls silent, the answer is used only
// when the turn ends with the same words, and callers who pause and go on never hear a stale or repeated sentence.
import { describe, expect, it } from 'vitest';
import { FRAME_MS, runEngine, type EngineRun, type EngineScript, type SttScript } from './engine-harness.ts';

// Speech 500..1500 ms; the utterance's audio begins 200 ms earlier (pre-roll), so stream ms = audio ms + 300.
const CALLER = [{ silenceMs: 500 }, { speakMs: 1_000 }];
const AUDIO_OFFSET_MS = 300;
// The bench's fake vendors: Deepgram's endpointing 300 ms (its speech_final), LLM first token 250, TTS first byte 120.
const ENDPOINTING_MS = 300;
const TTS_FIRST_BYTE_MS = 120;

/** Deepgram as it streams: an interim with the words while they are spoken, the final with speech_final at the endpoint. */
function deepgram(interim: string, final: string, speechEndAudioMs = 1_200): SttScript {
  return {
    results: [
      { atAudioMs: speechEndAudioMs - 200, interim },
      { atAudioMs: speechEndAudioMs + ENDPOINTING_MS, final, speechFinal: true },
    ],
    flush: { afterMs: 150, text: '' },
  };
}

const on = { preemptiveGeneration: true };
const run = (s: EngineScript) => runEngine({ ...s, tts: { firstByteMs: TTS_FIRST_BYTE_MS, ...s.tts }, options: { ...on, ...s.options } });
const agentCaptions = (r: EngineRun) => r.happenings.flatMap((h) => (h.kind === 'caption' && h.t.speaker === 'agent' ? [h.t.text] : []));
const firstWrites = (r: EngineRun) => r.happenings.filter((h) => h.kind === 'first_write').map((h) => h.atMs);
const asked = (r: EngineRun) => r.llm.calls.map((c) => c.request.messages.at(-1)!.text);

describe('preemptive generation', () => {
  it('starts the LLM as the caller falls silent and plays its answer the moment the turn is confirmed', async () => {
    const script = { caller: CALLER, stt: [deepgram('what time is it', 'What time is it?')], llm: [{ tokens: ['It is ', 'noon.'], firstTokenMs: 150 }] };
    const preempted = await run(script);
    const plain = await run({ ...script, options: { preemptiveGeneration: false } });

    // Asked once, with the words heard so far, within the VAD's decay of the end of speech (1500), before the turn end (1800).
    expect(preempted.llm.calls).toHaveLength(1);
    expect(preempted.llm.calls[0]!.atMs).toBeLessThanOrEqual(1_500 + 96);
    expect(preempted.llm.calls[0]!.request.messages).toEqual([{ role: 'user', text: 'what time is it' }]);
    expect(plain.llm.calls[0]!.atMs).toBeGreaterThanOrEqual(1_800);
    // The turn's words are the STT's final, as it wrote them; one answer, spoken once.
    expect(preempted.history.map((m) => [m.role, m.text])).toEqual([
      ['user', 'What time is it?'],
      ['assistant', 'It is noon.'],
    ]);
    expect(preempted.tts.texts).toEqual(['It is noon.']);
    expect(agentCaptions(preempted)).toEqual(['It is noon.']);
    expect(preempted.turns).toHaveLength(1);
    // The target: end of speech → first audio ≤ endpointing + TTS first byte + 60 ms when the LLM answers inside the endpointing window.
    const delay = preempted.turns[0]!.endToEndMs!;
    expect(delay).toBeLessThanOrEqual(ENDPOINTING_MS + TTS_FIRST_BYTE_MS + 60);
    expect(delay).toBeLessThan(plain.turns[0]!.endToEndMs!);
    // Nothing played before the turn was decided: the first write comes at or after the endpoint (1800).
    expect(firstWrites(preempted)[0]).toBeGreaterThanOrEqual(1_800);
    console.log(`preempted ${delay} ms vs not ${plain.turns[0]!.endToEndMs} ms (end of speech → first audio)`);
  });

  it('a final that differs from the interim: the preempted answer is dropped unheard and the final words are answered once', async () => {
    const r = await run({ caller: CALLER, stt: [deepgram('what time is it', 'what time is it in Paris')], llm: [{ tokens: ['Noon here.'], firstTokenMs: 150 }, { tokens: ['One in Paris.'], firstTokenMs: 150 }] });
    expect(asked(r)).toEqual(['what time is it', 'what time is it in Paris']);
    expect(r.llm.calls[0]!.aborted).toBe(true);
    // Each says whether it is speculative, so that the warmer gives the dropped one a spare connection (warm.test.ts).
    expect(r.llm.calls.map((c) => c.request.speculative)).toEqual([true, undefined]);
    expect(r.tts.requests.map((q) => [q.text, q.speculative])).toEqual([['Noon here.', true], ['One in Paris.', undefined]]);
    // Its first sentence was synthesised ahead into the held buffer, and dropped with it: never played or captioned.
    expect(firstWrites(r)).toHaveLength(1);
    expect(agentCaptions(r)).toEqual(['One in Paris.']);
    expect(r.history.map((m) => m.text)).toEqual(['what time is it in Paris', 'One in Paris.']);
    expect(r.turns).toHaveLength(1);
  });

  it('a mid-sentence pause longer than the STT endpointing, shorter than the end of turn: the answer to half a sentence is dropped', async () => {
    // "what time" … 400 ms … "is it in Paris": the STT finalises the first part without an endpoint, the VAD hears
    // the pause; the caller goes on before the end-of-turn silence (500).
    const r = await run({
      caller: [{ silenceMs: 500 }, { speakMs: 600 }, { silenceMs: 400 }, { speakMs: 600 }],
      stt: [
        {
          results: [
            { atAudioMs: 700, interim: 'what time' },
            { atAudioMs: 1_000, final: 'what time', speechFinal: false },
            { atAudioMs: 1_500, interim: 'is it in Paris' },
            { atAudioMs: 1_800 + ENDPOINTING_MS - 100, final: 'is it in Paris', speechFinal: true },
          ],
          flush: { afterMs: 150, text: '' },
        },
      ],
      llm: [{ tokens: ['It is a time. ', 'A long answer to half a question.'], firstTokenMs: 100 }, { tokens: ['One in Paris.'], firstTokenMs: 100 }],
    });
    expect(asked(r)[0]).toBe('what time');
    expect(r.llm.calls[0]!.aborted).toBe(true);
    expect(asked(r).at(-1)).toBe('what time is it in Paris');
    expect(r.tts.texts.filter((t) => t.includes('half'))).toEqual([]);
    expect(agentCaptions(r)).toEqual(['One in Paris.']);
    expect(r.history.map((m) => [m.role, m.text])).toEqual([
      ['user', 'what time is it in Paris'],
      ['assistant', 'One in Paris.'],
    ]);
    // The half-sentence answer was synthesised ahead perhaps, but never reached the transport: one stretch of audio.
    expect(firstWrites(r)).toHaveLength(1);
    expect(r.turns).toHaveLength(1);
  });

  it('several pauses and a correction ("no, wait, ..."): each dropped, at most the bounded number of starts, one answer to all the words', async () => {
    const r = await run({
      caller: [{ silenceMs: 500 }, { speakMs: 500 }, { silenceMs: 350 }, { speakMs: 500 }, { silenceMs: 350 }, { speakMs: 500 }, { silenceMs: 350 }, { speakMs: 700 }],
      stt: [
        {
          results: [
            { atAudioMs: 600, final: 'book a table', speechFinal: false },
            { atAudioMs: 1_450, final: 'for two', speechFinal: false },
            { atAudioMs: 2_300, final: 'at eight', speechFinal: false },
            { atAudioMs: 3_400, final: 'no wait, at nine', speechFinal: true },
          ],
          flush: { afterMs: 150, text: '' },
        },
      ],
      llm: [{ tokens: ['Booked.'], firstTokenMs: 100 }],
    });
    const answered = 'book a table for two at eight no wait, at nine';
    // Three pauses, three starts at most (PREEMPTIVE_MAX_STARTS): every one dropped; then the turn's own answer.
    const preemptive = r.llm.calls.slice(0, -1);
    expect(preemptive.length).toBeLessThanOrEqual(3);
    expect(preemptive.every((c) => c.aborted)).toBe(true);
    expect(r.llm.calls.at(-1)!.request.messages).toEqual([{ role: 'user', text: answered }]);
    expect(agentCaptions(r)).toEqual(['Booked.']);
    expect(r.history.map((m) => m.text)).toEqual([answered, 'Booked.']);
    expect(firstWrites(r)).toHaveLength(1);
    // The dropped answers' tokens are still paid for: each that got a token is an LLM outcome.
    const llmOutcomes = r.outcomes.filter((o) => o.modality === 'llm');
    expect(llmOutcomes.length).toBeGreaterThanOrEqual(1);
  });

  it('a preempted answer still running when the caller goes on: its request is aborted, nothing spoken, no outcome lost', async () => {
    // The LLM is slow (700 ms): still streaming when the caller goes on after a 350 ms pause.
    const r = await run({
      caller: [{ silenceMs: 500 }, { speakMs: 600 }, { silenceMs: 350 }, { speakMs: 600 }],
      stt: [
        {
          results: [
            { atAudioMs: 600, final: 'tell me', speechFinal: false },
            { atAudioMs: 1_500, final: 'a joke', speechFinal: true },
          ],
          flush: { afterMs: 150, text: '' },
        },
      ],
      llm: [{ tokens: ['Here ', 'is ', 'one ', 'about ', 'half ', 'a ', 'request.'], firstTokenMs: 150, gapMs: 100 }, { tokens: ['A joke.'], firstTokenMs: 150 }],
    });
    expect(asked(r)).toEqual(['tell me', 'tell me a joke']);
    expect(r.llm.calls[0]!.aborted).toBe(true);
    expect(r.tts.texts).toEqual(['A joke.']);
    expect(r.history.map((m) => m.text)).toEqual(['tell me a joke', 'A joke.']);
    // The dropped stream had delivered tokens: counted as an LLM outcome (ok, not the provider's fault), besides the answer's.
    const llm = r.outcomes.filter((o) => o.modality === 'llm');
    expect(llm).toHaveLength(2);
    expect(llm[0]!.tokens).toBeGreaterThan(0);
  });

  it('barge-in during a committed preempted answer: cut as any answer, history keeps what was heard, the new turn answered', async () => {
    const r = await run({
      caller: [{ silenceMs: 500 }, { speakMs: 1_000 }, { silenceMs: 1_500 }, { speakMs: 1_000 }],
      stt: [deepgram('tell me a story', 'tell me a story'), deepgram('stop please', 'stop please')],
      llm: [{ tokens: ['Once upon a time there was a very long story that went on and on and on. ', 'And on.'], firstTokenMs: 100 }, { tokens: ['Sure.'], firstTokenMs: 100 }],
    });
    expect(r.llm.calls[0]!.request.messages).toEqual([{ role: 'user', text: 'tell me a story' }]);
    expect(r.llm.calls[0]!.atMs).toBeLessThan(1_800);
    const clear = r.happenings.find((h) => h.kind === 'clear');
    expect(clear!.atMs).toBeGreaterThanOrEqual(3_000 + 400);
    expect(clear!.atMs).toBeLessThanOrEqual(3_000 + 400 + 2 * FRAME_MS);
    const cut = r.history.find((m) => m.role === 'assistant' && m.interrupted);
    expect(cut?.text.length).toBeGreaterThan(0);
    expect('Once upon a time there was a very long story that went on and on and on.').toContain(cut!.text);
    expect(r.history.filter((m) => m.role === 'user').map((m) => m.text)).toEqual(['tell me a story', 'stop please']);
    expect(r.history.at(-1)).toMatchObject({ role: 'assistant', text: 'Sure.' });
    expect(r.turns.map((t) => t.interrupted)).toEqual([true, false]);
  });

  it('the STT endpoint ends the turn inside a pause and the caller goes on: the early answer yields at once, one answer to all the words', async () => {
    // "what time" … 450 ms … "is it in Paris": Deepgram's endpoint (300 ms) ends the turn at 1400 and the preempted
    // answer starts playing at once; the caller goes on at 1550, long before a barge-in's worth of it has played.
    const r = await run({
      caller: [{ silenceMs: 500 }, { speakMs: 600 }, { silenceMs: 450 }, { speakMs: 600 }],
      stt: [
        { results: [{ atAudioMs: 600, interim: 'what time' }, { atAudioMs: 1_100, final: 'what time', speechFinal: true }], flush: { afterMs: 150, text: '' } },
        { results: [{ atAudioMs: 300, interim: 'is it' }, { atAudioMs: 900, final: 'is it in Paris', speechFinal: true }], flush: { afterMs: 150, text: '' } },
      ],
      llm: [{ tokens: ['It is a time. '], firstTokenMs: 150 }, { tokens: ['One in Paris.'], firstTokenMs: 150 }],
      options: { resumeFalseInterruptions: true },
    });
    const pause = r.happenings.find((h) => h.kind === 'pause');
    expect(pause!.atMs).toBeLessThanOrEqual(1_550 + FRAME_MS);
    // The caller's words confirm it: cut, its caption emptied (not a word of it was heard whole), nothing in history.
    expect(r.happenings.find((h) => h.kind === 'clear')!.atMs).toBeGreaterThanOrEqual(pause!.atMs);
    expect(agentCaptions(r)).toEqual(['It is a time.', '', 'One in Paris.']);
    expect(r.history.map((m) => [m.role, m.text])).toEqual([
      ['user', 'what time'],
      ['user', 'is it in Paris'],
      ['assistant', 'One in Paris.'],
    ]);
    expect(r.conversation.history.messages.map((m) => m.text)).toEqual(['what time is it in Paris', 'One in Paris.']);
    expect(r.llm.calls.at(-1)!.request.messages).toEqual([{ role: 'user', text: 'what time is it in Paris' }]);
  });

  it('the turn trace: a preempted turn says so and has its LLM stages; a dropped answer leaves no stage on the turn it did not answer', async () => {
    const traces: Record<string, number | boolean | string>[] = [];
    const log = { info: (o: object) => void ((o as { event?: string }).event === 'turn_trace' && traces.push(o as never)), warn: () => undefined, error: () => undefined, debug: () => undefined };
    await run({ caller: CALLER, stt: [deepgram('what time is it', 'What time is it?')], llm: [{ tokens: ['Noon.'], firstTokenMs: 150 }], options: { log } });
    await run({ caller: CALLER, stt: [deepgram('what time is it', 'what time is it in Paris')], llm: [{ tokens: ['Noon.'], firstTokenMs: 150 }], options: { log } });
    const [preempted, dropped] = traces as Record<string, number>[];
    expect(preempted).toMatchObject({ preempted: true });
    expect(preempted!.llmRequestAt).toBeLessThan(preempted!.turnEndAt!);
    for (const stage of ['llmFirstTokenAt', 'ttsFirstTextAt', 'ttsFirstByteAt']) expect(preempted![stage], stage).toBeDefined();
    expect(dropped).toMatchObject({ preempted: false });
    expect(dropped!.llmRequestAt).toBeGreaterThanOrEqual(dropped!.sttFinalAt!);
    expect(dropped!.ttsFirstTextAt).toBeGreaterThanOrEqual(dropped!.llmFirstTokenAt!);
  });

  it('switched off (PREEMPTIVE_GENERATION=off): the LLM waits for the turn end', async () => {
    const r = await run({ caller: CALLER, stt: [deepgram('what time is it', 'what time is it')], llm: [{ tokens: ['Noon.'] }], options: { preemptiveGeneration: false } });
    expect(r.llm.calls).toHaveLength(1);
    expect(r.llm.calls[0]!.atMs).toBeGreaterThanOrEqual(1_200 + AUDIO_OFFSET_MS + ENDPOINTING_MS);
  });
});

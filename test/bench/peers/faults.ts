// The four faults of the peers' fault runs, each injected through the fakes' own fault knobs (test/fakes/kit/faults.ts)
// around the questions (never the warm-up), the same way for every contender:
// - llm-500:   the primary LLM (OpenAI) answers every chat request 500 from the first question on;
// - llm-stall: the primary LLM streams the reply's first sentence, then goes quiet for STALL_MS on every request;
// - tts-drop:  the primary TTS (ElevenLabs) cuts its socket TTS_DROP_AFTER_CHUNKS audio chunks into each answer, i.e.
//              inside the reply's first sentence (a fresh request for an HTTP client, the open websocket for the
//              peers' multi-stream-input connection);
// - stt-close: the primary STT (Deepgram) connection is cut (no close frame) halfway through each question, at its
//              next Results message.
import type { Fakes } from '../../e2e/console-support.ts';
import type { FakeElevenLabs } from '../../fakes/elevenlabs.ts';
import { splitIntoTokens } from '../../fakes/kit/script.ts';
import type { QuestionHooks } from './conversation.ts';
import { PEER_REPLY } from './profile.ts';

export const FAULT_IDS = ['llm-500', 'llm-stall', 'tts-drop', 'stt-close'] as const;
export type FaultId = (typeof FAULT_IDS)[number];

const STALL_MS = 30_000;
/** 40 chunks of 20 ms: 800 ms into "Sure, I can help with that." (1.5 s of audio). */
export const TTS_DROP_AFTER_CHUNKS = 40;
/** As many requests as any run makes: the fault holds for the whole run. */
const EVERY_REQUEST = 100_000;
/** The opening role chunk, then the first sentence's pieces (the fake streams word-ish pieces). */
const FIRST_SENTENCE_CHUNKS = 1 + splitIntoTokens(PEER_REPLY.slice(0, PEER_REPLY.indexOf('.') + 1)).length;

export const FAULT_LABELS: Record<FaultId, string> = {
  'llm-500': 'primary LLM answers 500 (every request)',
  'llm-stall': `primary LLM stalls ${STALL_MS / 1000} s after its first sentence (every request)`,
  'tts-drop': `primary TTS drops its socket ${(TTS_DROP_AFTER_CHUNKS * 20) / 1000} s into each answer (mid-sentence)`,
  'stt-close': 'primary STT socket cut halfway through each question',
};

/** The ElevenLabs route a contender used for its warm-up answer (HTTP stream, stream-input or multi-stream-input). */
function ttsRoute(fakes: Fakes): string | undefined {
  return fakes.elevenlabs.requests.findLast((r) => r.route !== undefined)?.route;
}

export function faultHooks(fault: FaultId, fakes: Fakes): QuestionHooks {
  switch (fault) {
    case 'llm-500':
      return { beforeQuestions: () => fakes.openai.faults.push({ kind: 'status', status: 500, route: 'chat', times: EVERY_REQUEST }) };
    case 'llm-stall':
      return {
        beforeQuestions: () =>
          fakes.openai.faults.push({ kind: 'stallAfter', chunks: FIRST_SENTENCE_CHUNKS, ms: STALL_MS, route: 'chat', times: EVERY_REQUEST }),
      };
    case 'tts-drop':
      return {
        beforeQuestion: () => {
          const route = ttsRoute(fakes);
          const drop = { kind: 'destroyAfter', chunks: TTS_DROP_AFTER_CHUNKS } as const;
          if (route === 'tts') fakes.elevenlabs.faults.push({ ...drop, route });
          else if (route !== undefined) fakes.elevenlabs.faults.injectOpen(route, drop);
        },
      };
    case 'stt-close':
      return { midQuestion: () => void fakes.deepgram.faults.injectOpen('listen', { kind: 'destroyAfter', chunks: 0 }) };
  }
}

/** The fakes' ElevenLabs handle carries its synthesis log (console-support types it as a plain FakeServer). */
export function elevenLabsOf(fakes: Fakes): FakeElevenLabs {
  return fakes.elevenlabs as FakeElevenLabs;
}

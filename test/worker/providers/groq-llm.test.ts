// The Groq LLM adapter through the real groq-sdk against the fake Groq: the shared contract, then what is Groq's own
// (the SDK's /openai/v1 prefix, usage from x_groq, resuming by instruction like OpenAI).
import { describe, expect, it } from 'vitest';
import { createGroqLlm } from '../../../worker/providers/llm/groq.ts';
import { CONTINUE_INSTRUCTION } from '../../../worker/providers/llm/continuation.ts';
import { splitIntoTokens } from '../../fakes/kit/script.ts';
import { startFakeGroq } from '../../fakes/groq.ts';
import { API_KEY, REQUEST, collect, describeLlmContract } from './llm-contract.ts';

const contract = describeLlmContract({
  name: 'groq',
  route: 'chat',
  startFake: () => startFakeGroq({ apiKey: API_KEY }),
  create: (fake, options = {}) =>
    createGroqLlm({
      apiKey: options.apiKey ?? API_KEY,
      baseUrl: options.baseUrl ?? fake.url,
      model: 'llama-test',
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    }),
});

const bodyOf = (index: number) => JSON.parse(contract.fake().requests[index]?.bodyText ?? '{}');

describe('groq LLM adapter: its own ways', () => {
  const llm = (baseUrl = contract.fake().url) => createGroqLlm({ apiKey: API_KEY, baseUrl, model: 'llama-test' });

  it('posts to /openai/v1/chat/completions without stream_options, and reads usage from x_groq', async () => {
    contract.fake().script.pushReplies('Short and sweet.');
    const result = await collect(llm(), { ...REQUEST, maxTokens: 40 });
    expect(contract.fake().requests[0]?.path).toBe('/openai/v1/chat/completions');
    const body = bodyOf(0);
    expect(body).toMatchObject({ model: 'llama-test', stream: true, max_completion_tokens: 40 });
    expect(body.stream_options).toBeUndefined();
    expect(result.events.at(-1)).toMatchObject({ type: 'end', usage: { outputTokens: splitIntoTokens('Short and sweet.').length } });
  });

  it('accepts a base URL written with /openai/v1, as OpenAI-client examples give it', async () => {
    const result = await collect(llm(`${contract.fake().url}/openai/v1`));
    expect(result.error).toBeUndefined();
    expect(contract.fake().requests[0]?.path).toBe('/openai/v1/chat/completions');
  });

  it('resumes a cut answer as its own assistant turn followed by the instruction to continue', async () => {
    contract.fake().script.pushReplies('the capital of France.');
    const result = await collect(llm(), { ...REQUEST, continueFrom: 'Paris is ' });
    expect('Paris is ' + result.text).toBe('Paris is the capital of France.');
    expect(bodyOf(0).messages.slice(-2)).toEqual([
      { role: 'assistant', content: 'Paris is' },
      { role: 'user', content: CONTINUE_INSTRUCTION },
    ]);
  });
});

// The OpenAI LLM adapter through the real openai SDK against the fake OpenAI: the shared contract, then what is
// OpenAI's own (usage requested with stream_options, resuming a cut answer by instruction).
import { describe, expect, it } from 'vitest';
import { createOpenAiLlm } from '../../../worker/providers/llm/openai.ts';
import { CONTINUE_INSTRUCTION } from '../../../worker/providers/llm/continuation.ts';
import { startFakeOpenAI } from '../../fakes/openai.ts';
import { API_KEY, REQUEST, collect, describeLlmContract } from './llm-contract.ts';

const contract = describeLlmContract({
  name: 'openai',
  route: 'chat',
  startFake: () => startFakeOpenAI({ apiKey: API_KEY }),
  create: (fake, options = {}) =>
    createOpenAiLlm({
      apiKey: options.apiKey ?? API_KEY,
      baseUrl: `${options.baseUrl ?? fake.url}/v1`,
      model: 'gpt-test-mini',
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    }),
});

const bodyOf = (index: number) => JSON.parse(contract.fake().requests[index]?.bodyText ?? '{}');

describe('openai LLM adapter: its own ways', () => {
  const llm = () => createOpenAiLlm({ apiKey: API_KEY, baseUrl: `${contract.fake().url}/v1`, model: 'gpt-test-mini' });

  it('sends the model, the system prompt first, the history, and asks for usage in the stream', async () => {
    await collect(llm(), {
      system: 'Be brief.',
      messages: [
        { role: 'user', text: 'Hi.' },
        { role: 'assistant', text: 'Hello!' },
        { role: 'user', text: 'Weather?' },
      ],
      maxTokens: 50,
      temperature: 0.3,
    });
    expect(contract.fake().requests[0]?.path).toBe('/v1/chat/completions');
    expect(bodyOf(0)).toEqual({
      model: 'gpt-test-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi.' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'Weather?' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      max_completion_tokens: 50,
      temperature: 0.3,
    });
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

  it('ignores OPENAI_BASE_URL in the environment: the registry decides the host', async () => {
    process.env['OPENAI_BASE_URL'] = 'http://127.0.0.1:1/v1';
    try {
      const result = await collect(llm());
      expect(result.error).toBeUndefined();
    } finally {
      delete process.env['OPENAI_BASE_URL'];
    }
  });
});

// The Anthropic LLM adapter through the real @anthropic-ai/sdk against the fake Anthropic: the shared contract, then
// what is Anthropic's own (max_tokens always sent, system as a field, prefill, stop reasons, typed error events).
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { classifyApiError } from '../../../worker/providers/api-errors.ts';
import { DEFAULT_ANTHROPIC_MAX_TOKENS, createAnthropicLlm } from '../../../worker/providers/llm/anthropic.ts';
import { startFakeAnthropic } from '../../fakes/anthropic.ts';
import { API_KEY, REQUEST, collect, describeLlmContract } from './llm-contract.ts';

const contract = describeLlmContract({
  name: 'anthropic',
  route: 'messages',
  startFake: () => startFakeAnthropic({ apiKey: API_KEY }),
  create: (fake, options = {}) =>
    createAnthropicLlm({
      apiKey: options.apiKey ?? API_KEY,
      baseUrl: options.baseUrl ?? fake.url,
      model: 'claude-test',
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    }),
});

const bodyOf = (index: number) => JSON.parse(contract.fake().requests[index]?.bodyText ?? '{}');

describe('anthropic LLM adapter: its own ways', () => {
  const llm = () => createAnthropicLlm({ apiKey: API_KEY, baseUrl: contract.fake().url, model: 'claude-test' });

  it('sends the system prompt as a field, the history as messages, and always a max_tokens', async () => {
    await collect(llm(), {
      system: 'Be brief.',
      messages: [
        { role: 'user', text: 'Hi.' },
        { role: 'assistant', text: 'Hello!' },
        { role: 'user', text: 'Weather?' },
      ],
      temperature: 0.2,
    });
    expect(contract.fake().requests[0]?.path).toBe('/v1/messages');
    expect(bodyOf(0)).toEqual({
      model: 'claude-test',
      max_tokens: DEFAULT_ANTHROPIC_MAX_TOKENS,
      system: 'Be brief.',
      temperature: 0.2,
      messages: [
        { role: 'user', content: 'Hi.' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'Weather?' },
      ],
      stream: true,
    });
  });

  it('resumes a cut answer by prefill, trimmed of the trailing whitespace the API rejects, and joins it right', async () => {
    // A prefilled model carries on from the prefill's last character, so its continuation starts with the space.
    contract.fake().script.pushReplies(' the capital of France.');
    const result = await collect(llm(), { ...REQUEST, continueFrom: 'Paris is \n' });
    expect(bodyOf(0).messages.at(-1)).toEqual({ role: 'assistant', content: 'Paris is' });
    expect('Paris is \n' + result.text).toBe('Paris is \nthe capital of France.');
  });

  it('keeps the continuation as it is when the delivered text ends mid-word', async () => {
    contract.fake().script.pushReplies('ital of France.');
    const result = await collect(llm(), { ...REQUEST, continueFrom: 'Paris is the cap' });
    expect(bodyOf(0).messages.at(-1)).toEqual({ role: 'assistant', content: 'Paris is the cap' });
    expect(result.text).toBe('ital of France.');
  });

  it('classifies in-stream error events by their type', () => {
    const event = (type: string) => new Anthropic.APIError(undefined, { type: 'error', error: { type, message: 'x' } }, undefined, undefined);
    const classOf = (type: string) => classifyApiError('anthropic', event(type), Anthropic).errorClass;
    expect(classOf('overloaded_error')).toBe('transient');
    expect(classOf('api_error')).toBe('transient');
    expect(classOf('invalid_request_error')).toBe('permanent');
    expect(classOf('authentication_error')).toBe('permanent');
    expect(classOf('timeout_error')).toBe('timeout');
  });
});

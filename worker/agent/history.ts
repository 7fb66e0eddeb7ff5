// The conversation as the LLM sees it: the last N messages, with an interrupted answer kept as what was heard.
import type { HistoryMessage } from '../../functions/contract.ts';
import type { ChatMessage } from '../providers/types.ts';

export class ConversationHistory {
  readonly #messages: HistoryMessage[] = [];
  readonly #max: number;
  /** Counts every change: an answer prepared for one version of the conversation is stale in another. */
  #revision = 0;

  constructor(max: number, initial: HistoryMessage[] = []) {
    this.#max = max;
    for (const m of initial) this.add(m);
  }

  add(message: HistoryMessage): void {
    this.#revision++;
    const last = this.#messages[this.#messages.length - 1];
    // Two caller turns in a row (an answer that never got out) read better to the model as one.
    if (last && last.role === 'user' && message.role === 'user') {
      last.text = `${last.text} ${message.text}`;
    } else {
      this.#messages.push({ ...message });
    }
    while (this.#messages.length > this.#max) this.#messages.shift();
  }

  get revision(): number {
    return this.#revision;
  }

  get messages(): readonly HistoryMessage[] {
    return this.#messages;
  }

  forModel(): ChatMessage[] {
    // Models expect the exchange to start with the caller.
    const start = this.#messages.findIndex((m) => m.role === 'user');
    return (start < 0 ? [] : this.#messages.slice(start)).map((m) => ({ role: m.role, text: m.text }));
  }
}

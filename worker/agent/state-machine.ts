// The agent's state, explicit: IDLE → LISTENING → THINKING → SPEAKING (and back). Every transition is an event; a
// transition the machine does not allow is a bug and throws, so no hidden states creep in.
import { EventEmitter } from 'node:events';

export type ConversationState = 'idle' | 'listening' | 'thinking' | 'speaking';

const ALLOWED: Record<ConversationState, readonly ConversationState[]> = {
  idle: ['listening', 'speaking'],
  listening: ['thinking', 'speaking', 'idle'],
  thinking: ['speaking', 'listening', 'idle'],
  speaking: ['listening', 'thinking', 'idle'],
};

export interface Transition {
  from: ConversationState;
  to: ConversationState;
  reason: string;
  atMs: number;
}

export class StateMachine {
  #state: ConversationState = 'idle';
  readonly #events = new EventEmitter<{ transition: [Transition] }>();
  readonly #now: () => number;
  readonly history: Transition[] = [];

  constructor(now: () => number) {
    this.#now = now;
  }

  get state(): ConversationState {
    return this.#state;
  }

  onTransition(listener: (t: Transition) => void): () => void {
    this.#events.on('transition', listener);
    return () => this.#events.off('transition', listener);
  }

  to(next: ConversationState, reason: string): void {
    if (next === this.#state) return;
    if (!ALLOWED[this.#state].includes(next)) throw new Error(`agent state: ${this.#state} → ${next} is not allowed (${reason})`);
    const t: Transition = { from: this.#state, to: next, reason, atMs: this.#now() };
    this.#state = next;
    // Bounded: a long session keeps the recent transitions, not all of them.
    this.history.push(t);
    if (this.history.length > 200) this.history.shift();
    this.#events.emit('transition', t);
  }
}

// Scripted answers: what the fake LLMs say and what the fake STTs hear. Queues first, deterministic defaults after.

export const DEFAULT_TRANSCRIPT = 'hello there';

/** The LLM answer when no reply is queued: derived from the last user message, so a test can predict it. */
export function defaultReply(lastUserMessage: string): string {
  return `You said: "${lastUserMessage}". That is interesting.`;
}

/** Splits text into word-ish stream pieces, each carrying its leading spaces, so pieces.join('') === text exactly. */
export function splitIntoTokens(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

export class Script {
  /**
   * LLM answers by prompt (the last user message), never consumed: the same question always gets the same answer,
   * however many requests ask it (a preemptive request dropped and asked again) and whatever else is asked meanwhile.
   */
  answers = new Map<string, string>();
  /** LLM replies, one per turn, consumed first in first out. */
  replies: string[] = [];
  /** STT transcripts, one per utterance, consumed first in first out. */
  transcripts: string[] = [];

  pushReplies(...replies: string[]): void {
    this.replies.push(...replies);
  }

  pushTranscripts(...transcripts: string[]): void {
    this.transcripts.push(...transcripts);
  }

  /** Answers `prompt` (the last user message, exactly as sent) with `reply`, every time it is asked. */
  answer(prompt: string, reply: string): void {
    this.answers.set(prompt, reply);
  }

  /** The next LLM reply: the answer to this prompt, else the queued one, else defaultReply(lastUserMessage). */
  nextReply(lastUserMessage: string): string {
    return this.answers.get(lastUserMessage) ?? this.replies.shift() ?? defaultReply(lastUserMessage);
  }

  /** The next STT transcript: the queued one, else DEFAULT_TRANSCRIPT. */
  nextTranscript(): string {
    return this.transcripts.shift() ?? DEFAULT_TRANSCRIPT;
  }

  reset(): void {
    this.answers.clear();
    this.replies = [];
    this.transcripts = [];
  }
}

/** Text of the last user message in an OpenAI- or Anthropic-shaped messages array (string or text-part content). */
export function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const message: unknown = messages[i];
    if (typeof message !== 'object' || message === null) continue;
    const { role, content } = message as { role?: unknown; content?: unknown };
    if (role !== 'user') continue;
    if (typeof content === 'string') return content;
    if (Array.isArray(content)) {
      return content
        .map((part: unknown) => (part && typeof part === 'object' && 'text' in part ? String(part.text) : ''))
        .join('');
    }
    return '';
  }
  return '';
}

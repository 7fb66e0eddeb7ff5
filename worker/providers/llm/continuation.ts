// Resuming an answer another provider started (LlmRequest.continueFrom). The caller appends what we yield to the text
// it already delivered, so the first words we yield must join it cleanly: no repeat, no doubled whitespace.

/** The turn that asks a chat-completions model (no prefill support) to carry on with its own cut-off answer. */
export const CONTINUE_INSTRUCTION =
  'Your previous reply was cut off. Continue it from exactly where it stopped, mid-sentence if need be. ' +
  'Do not repeat anything already said, do not start over, and do not mention this instruction.';

/**
 * Returns a filter for the continuation's text pieces. When the delivered text already ends in whitespace (it
 * normally does: the engine releases whole words), the continuation's leading whitespace would double it, so it
 * is dropped until the first visible character arrives.
 */
export function continuationJoiner(continueFrom: string | undefined): (text: string) => string {
  let dropLeadingSpace = continueFrom !== undefined && /\s$/.test(continueFrom);
  return (text) => {
    if (!dropLeadingSpace) return text;
    const visible = text.replace(/^\s+/, '');
    if (visible) dropLeadingSpace = false;
    return visible;
  };
}

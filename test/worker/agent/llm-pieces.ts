// LLM output as an OpenAI model streams it: cl100k's pre-tokenizer pattern, so words carry their leading space
// (" Sure"), punctuation runs are pieces of their own (",", "?!", ".\""), and numbers come in pieces of up to three
// digits with the space apart (" ", "3", ".", "5"). BPE may split a long word further; that never moves a boundary.
const PRE_TOKENS = /'s|'t|'re|'ve|'m|'ll|'d|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/giu;

export function llmPieces(text: string): string[] {
  return text.match(PRE_TOKENS) ?? [];
}

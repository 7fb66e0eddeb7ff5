// The one instruction every contender's LLM gets (the peers' agent scripts carry the same sentence).
export const SYSTEM_PROMPT = 'You are a friendly, concise voice assistant. Answer in one to three short spoken sentences.';

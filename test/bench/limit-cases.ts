// The limit bench's measured cases, in the order they run: `npm run bench -- --only limit --cases a,b` picks some.
// A module of its own so that the bench's entry can check the names without loading the LiveKit parts.
export const LIMIT_CASES = ['healthy', 'quietFinalize', 'finalizeIgnored', 'finalizeIgnoredCloseStream', 'stalledPrimary', 'preemption', 'preemptionEveryWord'] as const;
export type LimitCase = (typeof LIMIT_CASES)[number];

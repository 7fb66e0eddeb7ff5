// Every Redis key the control plane writes, in one place, so their shapes and lifetimes can be read together.
export const keys = {
  /** Marks a webhook event id as seen (deduplication). */
  webhookEvent: (eventId: string) => `webhook:event:${eventId}`,
  /** Claims a room incarnation for one session: SET NX is the per-room launch lock. */
  roomSession: (roomKey: string) => `room:${roomKey}:session`,
  /** Tombstone of a room incarnation that room_finished closed: nothing opens there again. */
  roomFinished: (roomKey: string) => `room:${roomKey}:finished`,
  /** A bootstrap credential's nonce, once exchanged. */
  bootstrapUsed: (jti: string) => `worker:bootstrap:${jti}`,
  /** One session's worker calls in one wall-clock minute. */
  workerRate: (sessionId: string, minute: number) => `ratelimit:worker:${sessionId}:${minute}`,
  session: (sessionId: string) => `session:${sessionId}`,
  history: (sessionId: string) => `session:${sessionId}:history`,
  /** Sorted set of live session ids scored by creation time: what the reconcile cron walks. */
  activeSessions: () => 'sessions:active',
  counters: () => 'metrics:counters',
  rateLimitPrefix: () => 'ratelimit',
} as const;

export const WEBHOOK_DEDUP_TTL_SECONDS = 86_400;

// A session: one conversation in one room incarnation, from the first caller to room_finished.
import { z } from 'zod';
import { providerOrderSchema } from '../contract.ts';

export const SESSION_STATUSES = [
  'launching', // claimed, worker being started
  'launch_pending', // a launch failed transiently; the reconcile cron tries again at nextLaunchAtMs
  'launched', // the launcher accepted it; waiting for the worker to report joined
  'joined',
  'active',
  'failed', // the worker reported failure; the reconcile cron may relaunch
  'launch_failed', // no more attempts, or a permanent launch error
  'ended',
] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];
export const TERMINAL_STATUSES: readonly SessionStatus[] = ['ended', 'launch_failed'];

const optionalNumber = z.coerce.number().optional();
const optionalString = z.string().optional();

/** Fields as stored in the Redis hash `session:<id>` (all strings there; numbers coerced back here). */
export const sessionRecordSchema = z.object({
  id: z.string(),
  room: z.string(),
  roomSid: optionalString,
  roomKey: z.string(),
  status: z.enum(SESSION_STATUSES),
  launcher: z.string(),
  taskId: optionalString,
  providers: z.preprocess((v) => (typeof v === 'string' ? JSON.parse(v) : v), providerOrderSchema),
  systemPrompt: z.string(),
  greeting: optionalString,
  createdAtMs: z.coerce.number(),
  updatedAtMs: z.coerce.number(),
  launchAttempts: z.coerce.number().default(0),
  launchGeneration: z.coerce.number().default(1),
  /** When the current generation's launch began: the retry budget (LAUNCH_RETRY_BUDGET_MINUTES) counts from here. */
  launchStartedAtMs: optionalNumber,
  lastLaunchError: optionalString,
  nextLaunchAtMs: optionalNumber,
  launchedAtMs: optionalNumber,
  joinedAtMs: optionalNumber,
  lastSeenAtMs: optionalNumber,
  endedAtMs: optionalNumber,
  endReason: optionalString,
  workerReason: optionalString,
});
export type SessionRecord = z.infer<typeof sessionRecordSchema>;

/** Flattens a (partial) record into hash fields; undefined fields are left out. */
export function toHashFields(record: Partial<SessionRecord>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(record)) {
    if (v === undefined) continue;
    out[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return out;
}

export function newSessionId(): string {
  return `sess_${crypto.randomUUID().replace(/-/g, '')}`;
}

/** A room incarnation: LiveKit reuses names, never sids. */
export function roomKeyOf(room: { name: string; sid?: string | undefined }): string {
  return room.sid ? room.sid : `name:${room.name}`;
}

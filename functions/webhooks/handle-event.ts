// What the control plane does for each LiveKit webhook event.
import { ParticipantInfo_Kind } from '@livekit/protocol';
import type { WebhookEvent } from 'livekit-server-sdk';
import type { Deps } from '../deps.ts';
import { closeSessionForRoom, openSessionForRoom } from '../sessions/lifecycle.ts';

export type EventAction = 'launching' | 'launching_without_state' | 'exists' | 'finished' | 'at_capacity' | 'ended' | 'ignored' | 'none';

export interface EventOutcome {
  action: EventAction;
  sessionId?: string;
}

// Recorders and the agent itself join rooms too; only people (and SIP / ingress callers) get an agent.
const NOT_A_CALLER = new Set<ParticipantInfo_Kind>([ParticipantInfo_Kind.AGENT, ParticipantInfo_Kind.EGRESS]);

export function isCaller(participant: WebhookEvent['participant'], agentIdentityPrefix: string): boolean {
  if (!participant) return false;
  if (NOT_A_CALLER.has(participant.kind)) return false;
  return !participant.identity.startsWith(agentIdentityPrefix);
}

export async function handleEvent(deps: Deps, event: WebhookEvent): Promise<EventOutcome> {
  const room = event.room ? { name: event.room.name, sid: event.room.sid || undefined } : undefined;
  switch (event.event) {
    case 'room_started':
      // An empty room gets no agent: a worker (and its vendor bills) only for a room someone actually joined.
      return { action: 'none' };
    case 'participant_joined':
      if (!room?.name || !isCaller(event.participant, deps.config.agentIdentityPrefix)) return { action: 'ignored' };
      return openSessionForRoom(deps, room);
    case 'room_finished': {
      if (!room?.name) return { action: 'ignored' };
      const sessionId = await closeSessionForRoom(deps, room, 'room_finished');
      return sessionId ? { action: 'ended', sessionId } : { action: 'none' };
    }
    default:
      return { action: 'none' };
  }
}

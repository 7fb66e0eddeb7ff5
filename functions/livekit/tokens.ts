// Every LiveKit token the platform hands out is minted here, by the functions, the only holder of the API secret:
// callers get one room, the microphone and data; the agent gets one room as kind "agent" with what a voice agent
// needs (its microphone, data for captions, its own attributes for lk.agent.state), for minutes, not hours.
import { AccessToken, TrackSource } from 'livekit-server-sdk';
import type { Config } from '../config.ts';

export interface ClientTokenRequest {
  room: string;
  identity: string;
  name?: string | undefined;
  metadata?: string | undefined;
  ttlSeconds: number;
}

export async function mintClientToken(livekit: Config['livekit'], r: ClientTokenRequest): Promise<string> {
  // Key and secret always explicit: without them the SDK reads process.env, which throws in workerd.
  const at = new AccessToken(livekit.apiKey, livekit.apiSecret, {
    identity: r.identity,
    ttl: r.ttlSeconds,
    ...(r.name !== undefined ? { name: r.name } : {}),
    ...(r.metadata !== undefined ? { metadata: r.metadata } : {}),
  });
  at.addGrant({
    roomJoin: true,
    room: r.room,
    canPublish: true,
    // A caller talks: no camera, no screen share, nothing a stolen token could use to broadcast video into a room.
    canPublishSources: [TrackSource.MICROPHONE],
    canSubscribe: true,
    canPublishData: true,
    canUpdateOwnMetadata: false,
  });
  return at.toJwt();
}

export interface AgentToken {
  token: string;
  url: string;
  identity: string;
  expiresAtMs: number;
}

/** The agent's identity: the configured prefix and the session id, so both sides recognise the agent by its name. */
export function agentIdentity(prefix: string, sessionId: string): string {
  return `${prefix}${sessionId}`;
}

export async function mintAgentToken(
  config: Pick<Config, 'livekit' | 'agentIdentityPrefix' | 'agentTokenTtlSeconds'>,
  session: { sessionId: string; room: string },
  nowMs: number,
): Promise<AgentToken> {
  const identity = agentIdentity(config.agentIdentityPrefix, session.sessionId);
  const at = new AccessToken(config.livekit.apiKey, config.livekit.apiSecret, {
    identity,
    name: 'Voice agent',
    ttl: config.agentTokenTtlSeconds,
    // Clients see a state from the agent's first moment in the room, before any setAttributes round trip.
    attributes: { 'lk.agent.state': 'initializing' },
  });
  at.kind = 'agent';
  at.addGrant({
    roomJoin: true,
    room: session.room,
    canPublish: true,
    canPublishSources: [TrackSource.MICROPHONE],
    canSubscribe: true,
    canPublishData: true,
    canUpdateOwnMetadata: true,
  });
  return { token: await at.toJwt(), url: config.livekit.workerUrl, identity, expiresAtMs: nowMs + config.agentTokenTtlSeconds * 1000 };
}

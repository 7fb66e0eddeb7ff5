// The worker's own join token: it joins its room as an agent participant (kind "agent"), so LiveKit's clients and
// webhooks tell it apart from the caller, with just the grants a voice agent needs.
import { AccessToken } from 'livekit-server-sdk';

export interface AgentTokenOptions {
  apiKey: string;
  apiSecret: string;
  room: string;
  identity: string;
  name?: string;
  /** Participant attributes the agent has from the moment it joins. */
  attributes?: Record<string, string>;
  /** Seconds; long enough to outlive any call, since the worker connects once. */
  ttlSeconds?: number;
}

export const AGENT_TOKEN_TTL_SECONDS = 6 * 60 * 60;

export async function mintAgentToken(options: AgentTokenOptions): Promise<string> {
  // Key and secret always passed: without them the SDK falls back to reading process.env.
  const token = new AccessToken(options.apiKey, options.apiSecret, {
    identity: options.identity,
    ttl: options.ttlSeconds ?? AGENT_TOKEN_TTL_SECONDS,
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.attributes === undefined ? {} : { attributes: options.attributes }),
  });
  token.kind = 'agent';
  token.addGrant({
    room: options.room,
    roomJoin: true,
    canPublish: true,
    canSubscribe: true,
    canPublishData: true,
    canUpdateOwnMetadata: true,
  });
  return token.toJwt();
}

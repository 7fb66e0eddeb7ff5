// The worker's own LiveKit token, checked the way a LiveKit server checks it: verified with the SDK's TokenVerifier
// against the secret, then its claims and grants read back.
import { TokenVerifier } from 'livekit-server-sdk';
import { describe, expect, it } from 'vitest';
import { AGENT_TOKEN_TTL_SECONDS, mintAgentToken } from '../../../worker/transport/livekit-token.ts';

const KEY = 'devkey';
const SECRET = 'a-secret-long-enough-for-hs256-signing';

describe('mintAgentToken', () => {
  it('joins exactly its room as an agent, with the grants a voice agent needs', async () => {
    const jwt = await mintAgentToken({
      apiKey: KEY,
      apiSecret: SECRET,
      room: 'room-42',
      identity: 'agent-s1',
      name: 'Voice agent',
      attributes: { 'lk.agent.state': 'initializing' },
    });
    const claims = await new TokenVerifier(KEY, SECRET).verify(jwt);

    expect(claims.sub).toBe('agent-s1');
    expect(claims.iss).toBe(KEY);
    expect(claims.name).toBe('Voice agent');
    expect(claims.kind).toBe('agent');
    expect(claims.attributes).toEqual({ 'lk.agent.state': 'initializing' });
    expect(claims.video).toMatchObject({
      room: 'room-42',
      roomJoin: true,
      canPublish: true,
      canSubscribe: true,
      canPublishData: true,
      canUpdateOwnMetadata: true,
    });
    expect(claims.video?.roomAdmin).toBeUndefined();
    expect(claims.video?.roomCreate).toBeUndefined();
    expect(Number(claims.exp) - Number(claims.nbf)).toBe(AGENT_TOKEN_TTL_SECONDS);
  });

  it('honours a shorter lifetime', async () => {
    const jwt = await mintAgentToken({ apiKey: KEY, apiSecret: SECRET, room: 'r', identity: 'agent-x', ttlSeconds: 60 });
    const claims = await new TokenVerifier(KEY, SECRET).verify(jwt);
    expect(Number(claims.exp) - Number(claims.nbf)).toBe(60);
  });

  it('is refused under another secret', async () => {
    const jwt = await mintAgentToken({ apiKey: KEY, apiSecret: SECRET, room: 'r', identity: 'agent-x' });
    await expect(new TokenVerifier(KEY, 'some-other-secret-of-enough-length').verify(jwt)).rejects.toThrow();
  });
});

// LiveKit's RoomService from the control plane: which rooms exist (for /health and the reconcile cron).
import { RoomServiceClient } from 'livekit-server-sdk';
import type { Config } from '../config.ts';

export function roomService(config: Config['livekit'], timeoutMs: number): RoomServiceClient {
  // Key and secret explicit (the SDK would read process.env otherwise); failover is for LiveKit Cloud hosts only.
  return new RoomServiceClient(config.httpUrl, config.apiKey, config.apiSecret, {
    requestTimeout: timeoutMs / 1000,
    failover: false,
  });
}

export async function existingRoomNames(config: Config['livekit'], names: string[], timeoutMs: number): Promise<Set<string>> {
  const rooms = await roomService(config, timeoutMs).listRooms(names);
  return new Set(rooms.map((r) => r.name));
}

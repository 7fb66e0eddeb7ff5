// Tests that need a real LiveKit server run when it is configured and say why they skip when it is not.

export interface LiveKitServerEnv {
  url: string;
  apiKey: string;
  apiSecret: string;
}

/** The server from LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET, or the reason (printed once) to skip `what`. */
export function liveKitServerEnv(what: string): { server: LiveKitServerEnv | undefined; skipReason: string | undefined } {
  const values = {
    LIVEKIT_URL: process.env['LIVEKIT_URL'],
    LIVEKIT_API_KEY: process.env['LIVEKIT_API_KEY'],
    LIVEKIT_API_SECRET: process.env['LIVEKIT_API_SECRET'],
  };
  const missing = Object.entries(values).filter(([, v]) => !v).map(([name]) => name);
  if (missing.length === 0) {
    return { server: { url: values.LIVEKIT_URL!, apiKey: values.LIVEKIT_API_KEY!, apiSecret: values.LIVEKIT_API_SECRET! }, skipReason: undefined };
  }
  const skipReason =
    `${what} skipped: ${missing.join(', ')} not set. Run a LiveKit server (livekit-server --dev) and set ` +
    'LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret to run it.';
  console.warn(skipReason);
  return { server: undefined, skipReason };
}

// Which vendors launched workers talk to. With no provider key anywhere (env file or shell), the demo profile: the
// fake vendors (test/fakes/run.ts, a child process like every other service) and the variables that point workers
// at them, so a newcomer's first `npm run dev` gives an agent that answers. With any key, the real vendors: providers
// without a key are left out of their chains by the worker itself (one log line each), which never stops its start.
import type { DevSettings } from './settings.ts';

export const PROVIDER_KEYS = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  groq: 'GROQ_API_KEY',
  deepgram: 'DEEPGRAM_API_KEY',
  elevenlabs: 'ELEVENLABS_API_KEY',
} as const;

/** The fakes' order on their port range, as test/fakes/run.ts assigns it. */
const FAKE_ORDER = ['openai', 'anthropic', 'groq', 'deepgram', 'elevenlabs'] as const;

export type VendorPlan =
  | { profile: 'demo'; ports: number[]; fakesProfile: string; workerEnv: Record<string, string>; banner: string }
  | { profile: 'real'; withKeys: string[]; withoutKeys: string[]; workerEnv: Record<string, string>; banner: string };

export function planVendors(settings: DevSettings): VendorPlan {
  const withKeys = Object.entries(PROVIDER_KEYS).filter(([, variable]) => settings.env[variable]?.trim()).map(([name]) => name);
  if (withKeys.length > 0) {
    const withoutKeys = Object.keys(PROVIDER_KEYS).filter((name) => !withKeys.includes(name));
    const missing = withoutKeys.length > 0 ? `; no key for ${withoutKeys.join(', ')} (left out of their chains)` : '';
    return { profile: 'real', withKeys, withoutKeys, workerEnv: {}, banner: `REAL VENDORS: keys set for ${withKeys.join(', ')}${missing}` };
  }
  const { basePort, profile } = settings.fakes;
  const ports = FAKE_ORDER.map((_, i) => basePort + i);
  const url = (i: number) => `http://127.0.0.1:${ports[i]}`;
  const workerEnv: Record<string, string> = {
    OPENAI_BASE_URL: `${url(0)}/v1`,
    ANTHROPIC_BASE_URL: url(1),
    GROQ_BASE_URL: url(2),
    DEEPGRAM_BASE_URL: url(3),
    ELEVENLABS_BASE_URL: url(4),
    // Any non-empty key passes the fakes' auth; these name themselves so nobody mistakes them for real ones.
    ...Object.fromEntries(Object.entries(PROVIDER_KEYS).map(([name, variable]) => [variable, `fake-${name}-key`])),
  };
  const banner =
    `DEMO PROFILE: fake vendors on 127.0.0.1:${ports[0]}-${ports[4]} (profile ${profile}; the agent answers "You said: …"), ` +
    'set real keys in .dev.vars to use the real vendors';
  return { profile: 'demo', ports, fakesProfile: profile, workerEnv, banner };
}

// Secret comparison that takes the same time whether the first or the last byte differs.
const encoder = new TextEncoder();

export async function sha256Bytes(value: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(value)));
}

export async function sha256Hex(value: string): Promise<string> {
  return Array.from(await sha256Bytes(value), (b) => b.toString(16).padStart(2, '0')).join('');
}

// Digests first: equal lengths on both sides, so the loop's length leaks nothing about the secret.
function equalDigests(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Index of the secret that matches, or -1. Every secret is compared, so the position of a match is not timed either. */
export async function findMatchingSecret(candidate: string, secrets: readonly string[]): Promise<number> {
  const candidateDigest = await sha256Bytes(candidate);
  let found = -1;
  for (let i = 0; i < secrets.length; i++) {
    const secret = secrets[i];
    if (secret === undefined) continue;
    if (equalDigests(candidateDigest, await sha256Bytes(secret)) && found === -1) found = i;
  }
  return found;
}

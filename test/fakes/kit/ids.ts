// Identifiers shaped like the vendors' (prefix + random hex): unique per response, never meaningful.
import { randomBytes } from 'node:crypto';

export function vendorId(prefix: string, bytes = 12): string {
  return `${prefix}${randomBytes(bytes).toString('hex')}`;
}

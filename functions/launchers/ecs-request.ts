// Turns a LaunchRequest into the RunTask input ECS accepts, enforcing ECS's own limits here so a request that ECS
// would reject fails fast, with a message that says which limit, before anything is sent.
import type { EcsLauncherOptions } from './ecs.ts';
import type { RunTaskCommandInput, Tag } from '@aws-sdk/client-ecs';
import { LaunchError, type LaunchRequest } from './types.ts';

/** ECS counts every character of the overrides JSON, formatting included. */
export const ECS_OVERRIDES_MAX_CHARS = 8192;
export const ECS_STARTED_BY_MAX_CHARS = 36;
export const ECS_STOP_REASON_MAX_CHARS = 255;
const ECS_TAG_VALUE_MAX_CHARS = 256;

export type RunTaskTarget = Pick<
  EcsLauncherOptions,
  'cluster' | 'taskDefinition' | 'containerName' | 'subnets' | 'securityGroups' | 'assignPublicIp'
> & { placement: 'FARGATE' | { capacityProvider: string } };

export async function buildRunTaskInput(
  target: RunTaskTarget,
  request: LaunchRequest,
): Promise<RunTaskCommandInput> {
  const overrides = {
    containerOverrides: [
      {
        name: target.containerName,
        environment: Object.entries(request.env).map(([name, value]) => ({ name, value })),
      },
    ],
  };
  assertOverridesFit(overrides, request.env);
  return {
    cluster: target.cluster,
    taskDefinition: target.taskDefinition,
    count: 1,
    ...(target.placement === 'FARGATE'
      ? { launchType: 'FARGATE' as const }
      : { capacityProviderStrategy: [{ capacityProvider: target.placement.capacityProvider, weight: 1 }] }),
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: target.subnets,
        securityGroups: target.securityGroups,
        assignPublicIp: target.assignPublicIp ? 'ENABLED' : 'DISABLED',
      },
    },
    overrides,
    startedBy: startedByFor(request.room),
    tags: tagsFor(request),
    clientToken: await clientTokenFor(request.idempotencyKey),
  };
}

function assertOverridesFit(overrides: object, env: Record<string, string>): void {
  const chars = JSON.stringify(overrides).length;
  if (chars <= ECS_OVERRIDES_MAX_CHARS) return;
  // Name the biggest variables (never their values: they hold tokens) so the fix is obvious.
  const largest = Object.entries(env)
    .map(([name, value]) => ({ name, size: name.length + value.length }))
    .sort((a, b) => b.size - a.size)
    .slice(0, 3)
    .map((v) => `${v.name} (${v.size} chars)`)
    .join(', ');
  throw new LaunchError(
    `worker env too large for ECS: container overrides are ${chars} characters, over ECS's limit of ` +
      `${ECS_OVERRIDES_MAX_CHARS}; largest variables: ${largest || 'none'}`,
    false,
  );
}

/** ECS allows letters, digits, '-', '/' and '_' in startedBy; anything else in a room name becomes '-'. */
export function startedByFor(room: string): string {
  const sanitised = room.replace(/[^A-Za-z0-9_/-]/g, '-').slice(0, ECS_STARTED_BY_MAX_CHARS);
  return sanitised.length > 0 ? sanitised : 'room';
}

function tagsFor(request: LaunchRequest): Tag[] {
  return [
    { key: 'room', value: tagValue(request.room) },
    { key: 'session-id', value: tagValue(request.sessionId) },
  ];
}

/** Tag values allow letters, digits, spaces and `_ . : / = + - @`; `aws:` prefixes are reserved. */
function tagValue(raw: string): string {
  const cleaned = raw.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '_');
  const unreserved = /^aws:/i.test(cleaned) ? `_${cleaned}` : cleaned;
  return unreserved.slice(0, ECS_TAG_VALUE_MAX_CHARS);
}

/**
 * ECS dedupes RunTask per cluster by clientToken (at most 64 printable ASCII). Hex SHA-256 is exactly 64 characters
 * and fits any idempotency key, whatever its length or alphabet.
 */
export async function clientTokenFor(idempotencyKey: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(idempotencyKey));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export function stopReason(reason: string): string {
  return reason.slice(0, ECS_STOP_REASON_MAX_CHARS);
}

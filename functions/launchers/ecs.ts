// Launches the media worker as one ECS task per room (RunTask) and stops it (StopTask), through the real AWS SDK.
// Runs inside workerd: Web APIs and @aws-sdk/client-ecs only.
import { ConflictException, ECSClient, RunTaskCommand, StopTaskCommand } from '@aws-sdk/client-ecs';
import { deadline } from './deadline.ts';
import { classifySdkError, failuresToLaunchError, isTaskAlreadyGone } from './ecs-errors.ts';
import { buildRunTaskInput, stopReason, type RunTaskTarget } from './ecs-request.ts';
import { LaunchError, type Launcher, type LauncherCheck, type LaunchRequest, type LaunchResult } from './types.ts';

export interface EcsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface EcsLauncherOptions {
  region: string;
  cluster: string;
  taskDefinition: string;
  /** The container in the task definition that receives the worker env ("worker" in infra/ecs). */
  containerName: string;
  subnets: string[];
  securityGroups: string[];
  assignPublicIp: boolean;
  /** Plain Fargate; the default when no capacityProvider is given. */
  launchType?: 'FARGATE';
  /** Run on this capacity provider instead (FARGATE_SPOT, an EC2 auto-scaling group): launchType is left out. */
  capacityProvider?: string;
  credentials: EcsCredentials;
  /** Overrides https://ecs.{region}.amazonaws.com (tests point it at 127.0.0.1). */
  endpoint?: string;
  /** Bound on each ECS call; default 10 s. */
  requestTimeoutMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

export function createEcsLauncher(options: EcsLauncherOptions): Launcher {
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const target: RunTaskTarget = {
    ...options,
    placement: options.capacityProvider ? { capacityProvider: options.capacityProvider } : 'FARGATE',
  };
  let client: ECSClient | undefined;

  // Built on first use so an incomplete configuration still yields a launcher whose check() can say what is missing.
  function ecs(): ECSClient {
    const missing = missingSettings(options);
    if (missing.length > 0) {
      throw new LaunchError(`ECS launcher is not configured: missing ${missing.join(', ')}`, false);
    }
    client ??= new ECSClient({
      region: options.region,
      credentials: options.credentials,
      // Our caller owns retries (it knows the webhook deadline); the SDK must not multiply them.
      maxAttempts: 1,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    });
    return client;
  }

  async function launch(request: LaunchRequest, signal?: AbortSignal): Promise<LaunchResult> {
    const sdk = ecs();
    const input = await buildRunTaskInput(target, request);
    const cut = deadline(timeoutMs, signal);
    let output;
    try {
      output = await sdk.send(new RunTaskCommand(input), { abortSignal: cut.signal });
    } catch (error) {
      // Same clientToken, different parameters (say, a fresh bootstrap credential on retry): ECS names the task it already
      // started for this key. That task is the worker for this room incarnation; starting another is what we avoid.
      const existing = error instanceof ConflictException ? error.resourceIds?.[0] : undefined;
      if (existing) return { taskId: existing };
      throw classifySdkError('RunTask', error, cut.abortedBecause(), timeoutMs);
    }
    const taskArn = output.tasks?.[0]?.taskArn;
    if ((output.failures?.length ?? 0) > 0 || !taskArn) {
      throw failuresToLaunchError(output.failures ?? []);
    }
    return { taskId: taskArn };
  }

  async function stop(taskId: string, reason: string, signal?: AbortSignal): Promise<void> {
    const sdk = ecs();
    const cut = deadline(timeoutMs, signal);
    try {
      await sdk.send(
        new StopTaskCommand({ cluster: options.cluster, task: taskId, reason: stopReason(reason) }),
        { abortSignal: cut.signal },
      );
    } catch (error) {
      if (isTaskAlreadyGone(error)) return;
      throw classifySdkError('StopTask', error, cut.abortedBecause(), timeoutMs);
    }
  }

  async function check(): Promise<LauncherCheck> {
    const missing = missingSettings(options);
    if (missing.length > 0) {
      return { ok: false, kind: 'ecs', detail: `not configured: missing ${missing.join(', ')}` };
    }
    const capacity = options.capacityProvider ? `capacity provider ${options.capacityProvider}` : 'FARGATE';
    return {
      ok: true,
      kind: 'ecs',
      detail:
        `cluster ${options.cluster} in ${options.region}, task definition ${options.taskDefinition}, ` +
        `container ${options.containerName}, ${options.subnets.length} subnet(s), ${capacity}`,
    };
  }

  return { kind: 'ecs', launch, stop, check };
}

/** Names of what is missing, after the wrangler settings that provide them; never a value. */
function missingSettings(options: EcsLauncherOptions): string[] {
  const missing: string[] = [];
  const blank = (value: string | undefined) => !value || value.trim() === '';
  if (blank(options.region)) missing.push('region (AWS_REGION)');
  if (blank(options.cluster)) missing.push('cluster (ECS_CLUSTER)');
  if (blank(options.taskDefinition)) missing.push('task definition (ECS_TASK_DEFINITION)');
  if (blank(options.containerName)) missing.push('container name (ECS_CONTAINER_NAME)');
  if (options.subnets.filter((s) => !blank(s)).length === 0) missing.push('subnets (ECS_SUBNETS)');
  if (blank(options.credentials?.accessKeyId)) missing.push('access key id (AWS_ACCESS_KEY_ID)');
  if (blank(options.credentials?.secretAccessKey)) missing.push('secret access key (AWS_SECRET_ACCESS_KEY)');
  return missing;
}

// Picks the launcher the configuration asks for: ECS in production, the local launcher process in development.
import { createEcsLauncher, type EcsLauncherOptions } from './ecs.ts';
import { createLocalLauncher, type LocalLauncherOptions } from './local.ts';
import type { Launcher } from './types.ts';

export type LauncherConfig = ({ kind: 'ecs' } & EcsLauncherOptions) | ({ kind: 'local' } & LocalLauncherOptions);

export function createLauncher(config: LauncherConfig): Launcher {
  switch (config.kind) {
    case 'ecs': {
      const { kind: _kind, ...options } = config;
      return createEcsLauncher(options);
    }
    case 'local': {
      const { kind: _kind, ...options } = config;
      return createLocalLauncher(options);
    }
  }
}

export type { EcsLauncherOptions, LocalLauncherOptions };

// Picks how the agent starts task processes: posix-spawn where its helper runs (python3 3.8 or
// later, on every cloud-init VM image), node-spawn otherwise or when asked for.
import type { ProcessLauncher } from '../process-launcher.js';
import { NodeSpawnLauncher } from './node-spawn.js';
import { PosixSpawnLauncher } from './posix-spawn.js';

export const LAUNCHER_CHOICES = ['auto', 'posix-spawn', 'node-spawn'] as const;
export type LauncherChoice = (typeof LAUNCHER_CHOICES)[number];

/** `python` names the posix-spawn helper's interpreter (python3 on PATH by default). */
export async function startLauncher(choice: LauncherChoice, log: (line: string) => void, python?: string): Promise<ProcessLauncher> {
  if (choice === 'node-spawn') return new NodeSpawnLauncher();
  try {
    return await PosixSpawnLauncher.start(python);
  } catch (error) {
    if (choice === 'posix-spawn') throw error;
    log(`starting tasks with Node's spawn: ${(error as Error).message}`);
    return new NodeSpawnLauncher();
  }
}

// The reference point: the same tasks as a ninja build (one edge per task, its dependencies as
// implicit inputs), timed from ninja's start to its exit. ninja runs each command through
// /bin/sh -c; the commands create no files, which ninja accepts for a single clean build.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { commandLineOf, type BenchTask } from './compute-dag.js';

/** The ninja executable on PATH, or undefined when it is not installed. */
export function findNinja(): string | undefined {
  const found = spawnSync('/bin/sh', ['-c', 'command -v ninja'], { encoding: 'utf8' });
  const location = found.status === 0 ? found.stdout.trim() : '';
  return location || undefined;
}

/** ninja's own version line, for the report. */
export function ninjaVersion(ninja: string): string {
  return spawnSync(ninja, ['--version'], { encoding: 'utf8' }).stdout.trim();
}

/** A build.ninja with one edge per task; a task's dependencies become implicit inputs (`| a b`). */
export function ninjaBuildFile(tasks: BenchTask[]): string {
  const lines = ['rule run', '  command = $cmd', ''];
  for (const task of tasks) {
    const implicit = task.deps.length ? ` | ${task.deps.map(escapePath).join(' ')}` : '';
    lines.push(`build ${escapePath(task.id)}: run${implicit}`, `  cmd = ${commandLineOf(task)}`);
  }
  return `${lines.join('\n')}\n`;
}

function escapePath(id: string): string {
  return id.replace(/[$ :]/g, (c) => `$${c}`);
}

export interface NinjaRun {
  wallMs: number;
}

/** Runs the tasks with `ninja -j<parallelism>` in a scratch folder and times it. */
export async function runNinja(ninja: string, tasks: BenchTask[], parallelism: number): Promise<NinjaRun> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fnbatch-bench-ninja-'));
  try {
    writeFileSync(path.join(dir, 'build.ninja'), ninjaBuildFile(tasks));
    const started = performance.now();
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(ninja, [`-j${parallelism}`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      // ninja reports a failing edge on stdout; keep only the end, which names it.
      let output = '';
      const keep = (chunk: string) => (output = (output + chunk).slice(-2000));
      child.stdout.setEncoding('utf8').on('data', keep);
      child.stderr.setEncoding('utf8').on('data', keep);
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, output }));
    });
    const wallMs = performance.now() - started;
    if (code !== 0) throw new Error(`ninja exited with ${code}: ${output.trim().slice(-500)}`);
    return { wallMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

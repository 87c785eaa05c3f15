// CPU time spent by the benchmark's host process and by the local agents it started (with the
// task processes they ran), so a run can say what each task cost in CPU, not only in wall time:
// on a small machine the control plane, the agents and the work share the same cores.
import { readdirSync, readFileSync } from 'node:fs';

/** Linux reports process times in clock ticks of 1/100 s (USER_HZ), whatever the kernel's own rate. */
const TICK_MS = 10;

/** CPU milliseconds of this process, every thread included. */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * CPU milliseconds of this process's child processes started as `fnbatch agent`, each with the
 * task processes it has reaped; undefined where /proc is not there to read it (not Linux).
 */
export function agentsCpuMs(): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  let ticks = 0;
  for (const pid of pids) {
    try {
      // Fields after "(comm) ": state ppid ... utime(12th) stime cutime cstime.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if (Number(fields[1]) !== process.pid) continue;
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('agent')) continue;
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // The process ended while being read.
    }
  }
  return ticks * TICK_MS;
}

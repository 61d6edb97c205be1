// What a process has used so far, from /proc (Linux), for the benchmarks: CPU time hardly depends
// on what else the machine is doing, so it compares runs on a busy machine where wall time cannot.
import { readdirSync, readFileSync } from 'node:fs';

/** utime + stime of a process in ms, and its resident set in MB. */
export function processUsage(pid: number): { cpuMs: number; rssMb: number } {
  // The fields after the command name, which is in parentheses and may contain spaces.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  return { cpuMs: ticks * 10, rssMb: rssKb / 1024 }; // USER_HZ is 100 on Linux
}

/**
 * CPU in ms used so far by each process of this machine with this command name (`postgres`: the
 * server and its backends), by pid: compare two readings with cpuMsSince.
 */
export function commandCpuMs(command: string): Map<number, number> {
  const byPid = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === command) byPid.set(Number(entry), processUsage(Number(entry)).cpuMs);
    } catch {
      // Gone since the listing.
    }
  }
  return byPid;
}

/** The CPU the processes used between two readings; a process that exited meanwhile took its share with it. */
export function cpuMsSince(before: Map<number, number>, after: Map<number, number>): number {
  let used = 0;
  for (const [pid, cpuMs] of after) used += cpuMs - (before.get(pid) ?? 0);
  return used;
}

// Whole-process measurements shared by the diff benchmarks.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Sample {
  readonly ms: number;
  /** Peak resident set of the child, in KiB (NaN if it could not be read). */
  readonly maxRssKb: number;
  readonly status: number | null;
}

/** GNU time reports the child's peak RSS from the kernel; without it the child reports its own. */
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const MAXRSS_HOOK = `data:text/javascript,import{writeSync}from'node:fs';process.on('exit',()=>writeSync(2,'\\nKUBEWALL_MAXRSS_KB='+process.resourceUsage().maxRSS+'\\n'))`;

/** Runs `node ...args` once: wall time, and peak memory when asked (a separate run, so timing stays clean). */
export function runNode(args: readonly string[], measureRss: boolean, wrap: readonly string[] = []): Sample {
  const started = process.hrtime.bigint();
  const [inner, innerArgv] =
    measureRss && GNU_TIME
      ? [GNU_TIME, ['-f', 'KUBEWALL_MAXRSS_KB=%M', process.execPath, ...args]]
      : [process.execPath, measureRss ? ['--import', MAXRSS_HOOK, ...args] : [...args]];
  // `wrap`: a prefix such as `ip netns exec NAME`, so a live diff reads a namespace.
  const [command, argv] = wrap.length > 0 ? [wrap[0]!, [...wrap.slice(1), inner, ...innerArgv]] : [inner, innerArgv];
  const result = spawnSync(command, argv, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const rss = /KUBEWALL_MAXRSS_KB=(\d+)/.exec(result.stderr ?? '');
  return { ms, maxRssKb: rss ? Number(rss[1]) : NaN, status: result.status };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

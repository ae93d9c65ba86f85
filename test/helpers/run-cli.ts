import { execa } from 'execa';
import { Readable } from 'node:stream';
import { BIN, REPO_ROOT } from './paths.js';

export interface CliResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real bin, as a user would, from the repository root unless told otherwise. */
export async function runCli(args: readonly string[], options: { cwd?: string; input?: string } = {}): Promise<CliResult> {
  const result = await execa('node', [BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    reject: false,
    input: options.input ?? '',
    env: { NO_COLOR: '1' },
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

let queue: Promise<unknown> = Promise.resolve();

export interface InProcessOptions {
  readonly cwd?: string;
  readonly input?: string;
  /** Set (or, undefined, removed) for the call, on top of NO_COLOR=1. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The CLI's own entry (`runMain`, the only place that prints and sets the exit
 * code) called in this process: for the many-input tests where a process start
 * per case (~0.2 s of CPU) is the whole cost. stdout, stderr, stdin, the exit
 * code, cwd and NO_COLOR are swapped for the call and restored; calls run one
 * at a time. What only a real process shows (the bundle, exit on a closed
 * pipe, nothing left running) stays with runCli.
 */
export function runCliInProcess(args: readonly string[], options: InProcessOptions = {}): Promise<CliResult> {
  const run = queue.then(() => runInProcess(args, options));
  queue = run.catch(() => undefined);
  return run;
}

async function runInProcess(args: readonly string[], options: InProcessOptions): Promise<CliResult> {
  const { runMain } = await import('../../src/cli/cli.js');
  const out: string[] = [];
  const err: string[] = [];
  const capture = (into: string[]) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof process.stdout.write;
  const saved = {
    stdoutWrite: process.stdout.write,
    stderrWrite: process.stderr.write,
    stdin: Object.getOwnPropertyDescriptor(process, 'stdin')!,
    exitCode: process.exitCode,
    cwd: process.cwd(),
  };
  const env = { NO_COLOR: '1', ...options.env };
  const savedEnv = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  process.stdout.write = capture(out);
  process.stderr.write = capture(err);
  Object.defineProperty(process, 'stdin', { value: Readable.from([Buffer.from(options.input ?? '')]), configurable: true, enumerable: true });
  process.exitCode = undefined;
  setEnv(env);
  process.chdir(options.cwd ?? REPO_ROOT);
  try {
    await runMain(['node', BIN, ...args]);
    // As runCli (execa): one final newline dropped.
    const text = (parts: string[]) => parts.join('').replace(/\r?\n$/, '');
    return { exitCode: Number(process.exitCode ?? 0), stdout: text(out), stderr: text(err) };
  } finally {
    process.stdout.write = saved.stdoutWrite;
    process.stderr.write = saved.stderrWrite;
    Object.defineProperty(process, 'stdin', saved.stdin);
    process.exitCode = saved.exitCode;
    setEnv(savedEnv);
    process.chdir(saved.cwd);
  }
}

function setEnv(values: Readonly<Record<string, string | undefined>>): void {
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}

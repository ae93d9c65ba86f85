// `npm run test:quick` runs its files in several uvu processes at once (one
// per CPU). These helpers split the files between them, keep each file's
// output in one piece (a process's lines are held until its file is done, so
// no two files' dots interleave), add up the totals and collect the failures
// for the recap (scripts/uvu-failures.ts).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { stripVTControlCharacters } from 'node:util';
import { type FailureBlock, UvuFailureCollector } from './uvu-failures.js';

/**
 * Splits files into at most `n` lists of about equal weight: heaviest first,
 * each to the lightest list so far. Lists keep the files' given order; an
 * empty list is left out.
 */
export function partitionFiles(files: readonly string[], weight: (file: string) => number, n: number): string[][] {
  const lists = Array.from({ length: Math.max(1, n) }, () => ({ files: [] as string[], load: 0 }));
  const heaviestFirst = [...files].sort((a, b) => weight(b) - weight(a) || a.localeCompare(b));
  for (const file of heaviestFirst) {
    const lightest = lists.reduce((min, list) => (list.load < min.load ? list : min));
    lightest.files.push(file);
    lightest.load += weight(file);
  }
  const order = new Map(files.map((file, i) => [file, i]));
  return lists.filter((list) => list.files.length > 0).map((list) => list.files.sort((a, b) => order.get(a)! - order.get(b)!));
}

/** The uvu pattern that selects exactly these files (paths relative to the test folder). */
export function exactPattern(files: readonly string[]): string {
  return `^(?:${files.map((file) => file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`;
}

export interface UvuTotals {
  total: number;
  passed: number;
  skipped: number;
}

const FILE_HEADER = /^\S.*\.test\.[cm]?js$/;
const TOTAL_LINE = /^\s+(Total|Passed|Skipped|Duration):\s+(\S+)/;

/**
 * Follows one uvu process's output line by line. `onSection` gets each file's
 * lines whole once the file is done; the totals block is parsed, not passed on.
 */
export class UvuOutputSplitter {
  readonly collector = new UvuFailureCollector();
  /** Set once uvu printed its totals. */
  totals: UvuTotals | undefined;
  /** Seconds each file ran, from its header to the next (its imports ran before any header). */
  readonly seconds = new Map<string, number>();
  #section: string[] = [];
  #file: string | undefined;
  #started = 0;
  #inTotals = false;

  constructor(
    private readonly onSection: (text: string) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  push(line: string): void {
    this.collector.push(line);
    const plain = stripVTControlCharacters(line);
    const total = TOTAL_LINE.exec(plain);
    if (total && (this.#inTotals || total[1] === 'Total')) {
      if (!this.#inTotals) this.#finishFile();
      this.#inTotals = true;
      const value = Number.parseInt(total[2]!, 10);
      this.totals ??= { total: 0, passed: 0, skipped: 0 };
      if (total[1] === 'Total') this.totals.total = value;
      if (total[1] === 'Passed') this.totals.passed = value;
      if (total[1] === 'Skipped') this.totals.skipped = value;
      return;
    }
    if (this.#inTotals && plain.trim() === '') return;
    if (FILE_HEADER.test(plain)) {
      this.#finishFile();
      this.#file = plain;
      this.#started = this.now();
    }
    this.#section.push(line);
  }

  /** The process ended: whatever is held is passed on (all of it, if uvu died before its totals). */
  end(): void {
    this.collector.end();
    this.#finishFile();
  }

  #finishFile(): void {
    if (this.#file !== undefined) this.seconds.set(this.#file, (this.now() - this.#started) / 1000);
    this.#file = undefined;
    if (this.#section.length > 0) this.onSection(`${this.#section.join('\n')}\n`);
    this.#section = [];
  }
}

export interface ParallelRun {
  /** 0 when every process passed. */
  readonly code: number;
  readonly totals: UvuTotals;
  readonly blocks: readonly FailureBlock[];
  readonly seconds: ReadonlyMap<string, number>;
  /** One line per process that failed or died without totals. */
  readonly problems: readonly string[];
}

export interface ParallelOptions {
  readonly uvuBin: string;
  readonly testDir: string;
  readonly lists: readonly (readonly string[])[];
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** Runs one uvu process per list at once; output goes out one whole test file at a time. */
export async function runParallelUvu({ uvuBin, testDir, lists, stdout, stderr }: ParallelOptions): Promise<ParallelRun> {
  const runs = lists.map(async (files, index) => {
    const child = spawn(process.execPath, [uvuBin, testDir, exactPattern(files)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const splitter = new UvuOutputSplitter(stdout);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => splitter.push(line));
    // Whole lines, so two processes' stderr cannot mix within a line.
    createInterface({ input: child.stderr }).on('line', (line) => stderr(`${line}\n`));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      let closed: [number | null, NodeJS.Signals | null] | undefined;
      let drained = false;
      const done = (): void => {
        if (closed && drained) resolve(closed);
      };
      lines.on('close', () => {
        drained = true;
        done();
      });
      child.on('close', (c, s) => {
        closed = [c, s];
        done();
      });
    });
    splitter.end();
    const name = `uvu process ${index + 1} of ${lists.length}`;
    let problem: string | undefined;
    if (signal) problem = `${name} was killed by ${signal}`;
    else if (!splitter.totals) problem = `${name} ended without its totals (exit ${code})`;
    else if (code !== 0) problem = `${name} exited with ${code}`;
    return { code: signal || code !== 0 || !splitter.totals ? 1 : 0, splitter, problem };
  });
  const results = await Promise.all(runs);
  const totals = { total: 0, passed: 0, skipped: 0 };
  for (const { splitter } of results) {
    totals.total += splitter.totals?.total ?? 0;
    totals.passed += splitter.totals?.passed ?? 0;
    totals.skipped += splitter.totals?.skipped ?? 0;
  }
  return {
    code: results.some((r) => r.code !== 0) ? 1 : 0,
    totals,
    blocks: results.flatMap((r) => r.splitter.collector.blocks),
    seconds: new Map(results.flatMap((r) => [...r.splitter.seconds])),
    problems: results.flatMap((r) => (r.problem ? [r.problem] : [])),
  };
}

/** uvu's totals block, for the sum over every process. */
export function formatTotals(totals: UvuTotals, milliseconds: number): string {
  return `\n  Total:     ${totals.total}\n  Passed:    ${totals.passed}\n  Skipped:   ${totals.skipped}\n  Duration:  ${milliseconds.toFixed(2)}ms\n\n`;
}

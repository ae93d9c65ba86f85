// uvu prints a failure's details right after the file it is in, so on a
// suite of 700+ tests the end of a CI log (often all that is kept) shows
// only "Passed: 730 of 732". These helpers pick the failure blocks out of
// uvu's output so that scripts/run-tests.ts can repeat them at the end.
import { stripVTControlCharacters } from 'node:util';

export interface FailureBlock {
  /** The test file uvu was running, as uvu printed it (relative to its dir). */
  readonly file: string;
  /** The lines uvu printed for one failing test, colours kept. */
  readonly lines: readonly string[];
}

const FILE_HEADER = /^\S.*\.test\.[cm]?js$/;
const FAIL_LINE = /^\s+FAIL\s/;
const TOTALS = /^\s+Total:\s/;

/** Follows uvu's output line by line; `blocks` holds every failure so far. */
export class UvuFailureCollector {
  readonly blocks: FailureBlock[] = [];
  #file = '(unknown file)';
  #current: string[] | undefined;

  push(line: string): void {
    const plain = stripVTControlCharacters(line);
    if (FILE_HEADER.test(plain) || TOTALS.test(plain)) {
      this.#close();
      if (FILE_HEADER.test(plain)) this.#file = plain;
      return;
    }
    if (FAIL_LINE.test(plain)) {
      this.#close();
      this.#current = [line];
      return;
    }
    this.#current?.push(line);
  }

  end(): void {
    this.#close();
  }

  #close(): void {
    if (!this.#current) return;
    while (this.#current.length > 0 && stripVTControlCharacters(this.#current.at(-1)!).trim() === '') this.#current.pop();
    this.blocks.push({ file: this.#file, lines: this.#current });
    this.#current = undefined;
  }
}

/** The recap printed after uvu's totals; empty when nothing failed. */
export function formatFailureRecap(blocks: readonly FailureBlock[], maxLinesPerBlock = 60): string {
  if (blocks.length === 0) return '';
  const out = [`\n${blocks.length} failing test(s), repeated here so that the end of the log shows them:`];
  for (const block of blocks) {
    out.push('', `# ${block.file}`);
    const shown = block.lines.slice(0, maxLinesPerBlock);
    out.push(...shown);
    if (block.lines.length > shown.length) out.push(`    … ${block.lines.length - shown.length} more line(s) above, under ${block.file}`);
  }
  return `${out.join('\n')}\n`;
}

export interface UvuTotals {
  readonly total: number;
  readonly passed: number;
  readonly skipped: number;
}

/** The `Total:`/`Passed:`/`Skipped:` block uvu prints at the end, or undefined if it never got there. */
export function readUvuTotals(output: string): UvuTotals | undefined {
  const plain = stripVTControlCharacters(output);
  const number = (label: string) => {
    const match = new RegExp(`^\\s+${label}:\\s+(\\d+)`, 'm').exec(plain);
    return match ? Number(match[1]) : undefined;
  };
  const [total, passed, skipped] = [number('Total'), number('Passed'), number('Skipped')];
  return total === undefined || passed === undefined ? undefined : { total, passed, skipped: skipped ?? 0 };
}

/**
 * Splits test files into `lanes` lists of about equal cost, largest first onto
 * the lightest lane (greedy). The cost is a guess (a compiled file's size, or
 * what the caller knows); each lane keeps its files in name order so a lane's
 * output reads like uvu's own.
 */
export function splitIntoLanes<T extends { readonly file: string; readonly cost: number }>(files: readonly T[], lanes: number): T[][] {
  const out: { cost: number; files: T[] }[] = Array.from({ length: Math.max(1, lanes) }, () => ({ cost: 0, files: [] }));
  for (const file of [...files].sort((a, b) => b.cost - a.cost || a.file.localeCompare(b.file))) {
    const lightest = out.reduce((min, lane) => (lane.cost < min.cost ? lane : min));
    lightest.files.push(file);
    lightest.cost += file.cost;
  }
  return out.filter((lane) => lane.files.length > 0).map((lane) => lane.files.sort((a, b) => a.file.localeCompare(b.file)));
}

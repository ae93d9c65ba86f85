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

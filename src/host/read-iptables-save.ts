/**
 * A streaming reader for iptables-save output that keeps only what a diff
 * needs: kubewall's own chains (by prefix) with their rules, and the built-in
 * chains with their policies and rules (for jumps into kubewall and for
 * drops that would shadow it). kube-proxy's tens of thousands of lines are
 * skipped with a prefix test each, never split or parsed.
 *
 * For the iptables backend's host reader; pure (text in, data out).
 */

const BUILT_IN_CHAINS = new Set(['INPUT', 'FORWARD', 'OUTPUT', 'PREROUTING', 'POSTROUTING']);

export interface SavedChain {
  readonly name: string;
  /** `ACCEPT`/`DROP` for a built-in chain, null for a user chain (`-` in the dump). */
  readonly policy: string | null;
  /** Rule lines as saved, without the leading `-A NAME `. */
  readonly rules: string[];
}

export interface SavedTable {
  readonly name: string;
  /** Kept chains only: built-in ones and those with the prefix, in dump order. */
  readonly chains: Map<string, SavedChain>;
}

export interface IptablesSave {
  readonly tables: SavedTable[];
  /** Rule lines of other chains (kube-proxy, CNI) that were skipped unparsed. */
  readonly skippedRules: number;
  /** Lines parsed (those passed to `skip` not included). */
  readonly lines: number;
}

export interface ReadIptablesSaveOptions {
  /** Chains to keep besides the built-in ones: `KUBEWALL-`. */
  readonly chainPrefix: string;
  /** Where the text came from, for error messages. */
  readonly origin: string;
}

/** Thrown for text that is not iptables-save output; the caller wraps it as HOST_READ. */
export class IptablesSaveError extends Error {}

/** Feed chunks as they arrive (a child's stdout, stdin); `end()` returns what was kept. */
export class IptablesSaveReader {
  private readonly tables: SavedTable[] = [];
  private table: SavedTable | undefined;
  private carry = '';
  private skippedRules = 0;
  private lines = 0;
  /** Text passed to `skip`: its lines are counted only when a message needs a line number. */
  private readonly skipped: string[] = [];
  private readonly rulePrefix: string;
  private committed = true;

  constructor(private readonly options: ReadIptablesSaveOptions) {
    this.rulePrefix = `-A ${options.chainPrefix}`;
  }

  push(chunk: string): void {
    const text = this.carry === '' ? chunk : this.carry + chunk;
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      this.line(text, start, newline);
      start = newline + 1;
    }
    this.carry = text.slice(start);
  }

  /**
   * Passes over whole lines no caller reads (a table of no interest),
   * unparsed and unchecked; line numbers in later messages still count them.
   */
  skip(text: string): void {
    if (this.carry !== '') throw new Error('IptablesSaveReader.skip: the text pushed so far ends inside a line');
    this.skipped.push(text);
  }

  end(): IptablesSave {
    if (this.carry !== '') this.line(this.carry, 0, this.carry.length);
    this.carry = '';
    if (!this.committed) throw new IptablesSaveError(`${this.options.origin}: table ${this.table?.name ?? '?'} has no COMMIT (truncated output?)`);
    return { tables: this.tables, skippedRules: this.skippedRules, lines: this.lines };
  }

  private line(text: string, start: number, end: number): void {
    this.lines++;
    const first = text.charCodeAt(start);
    if (first === 45 /* - */) {
      // The hot path: one prefix test per kube-proxy rule, no substring.
      if (text.startsWith(this.rulePrefix, start)) return this.rule(text.slice(start + 3, end));
      if (text.startsWith('-A ', start)) {
        const space = text.indexOf(' ', start + 3);
        if (space !== -1 && space < end && space - start - 3 <= 11 && BUILT_IN_CHAINS.has(text.slice(start + 3, space))) return this.rule(text.slice(start + 3, end));
        this.skippedRules++;
        return;
      }
      throw this.error(text, start, end, 'expected a rule line starting with -A');
    }
    if (first === 58 /* : */) return this.chain(text.slice(start + 1, end));
    if (first === 42 /* * */) {
      this.table = { name: text.slice(start + 1, end).trim(), chains: new Map() };
      this.tables.push(this.table);
      this.committed = false;
      return;
    }
    if (text.startsWith('COMMIT', start)) {
      this.committed = true;
      return;
    }
    if (first === 35 /* # */ || end === start || text.slice(start, end).trim() === '') return;
    throw this.error(text, start, end, 'not iptables-save output');
  }

  private chain(declaration: string): void {
    const [name = '', policy = '-'] = declaration.split(' ');
    if (!this.table) throw new IptablesSaveError(`${this.options.origin}: chain ${name} before any *table line`);
    if (BUILT_IN_CHAINS.has(name) || name.startsWith(this.options.chainPrefix)) {
      this.table.chains.set(name, { name, policy: policy === '-' ? null : policy, rules: [] });
    }
  }

  private rule(body: string): void {
    const space = body.indexOf(' ');
    const name = space === -1 ? body : body.slice(0, space);
    const chain = this.table?.chains.get(name);
    if (!chain) throw new IptablesSaveError(`${this.options.origin}: rule for undeclared chain ${name}`);
    chain.rules.push(space === -1 ? '' : body.slice(space + 1));
  }

  private error(text: string, start: number, end: number, what: string): IptablesSaveError {
    const shown = text.slice(start, Math.min(end, start + 80));
    let line = this.lines;
    for (const text of this.skipped) for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) line++;
    return new IptablesSaveError(`${this.options.origin}: line ${line}: ${what}: ${JSON.stringify(shown)}`);
  }
}

export function readIptablesSave(text: string, options: ReadIptablesSaveOptions): IptablesSave {
  const reader = new IptablesSaveReader(options);
  reader.push(text);
  return reader.end();
}

/**
 * Splits a saved rule into arguments the way iptables-save quotes them
 * (`--comment "a b"`, `\"` inside quotes).
 */
export function tokenizeSavedRule(rule: string): string[] {
  const tokens: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = pattern.exec(rule); m; m = pattern.exec(rule)) tokens.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return tokens;
}

import { execa } from 'execa';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { hostileString, RAW_CONTROL } from './hostile.js';
import type { CliResult } from './run-cli.js';

/**
 * The checks the issue-13 input-safety tests apply to kubewall's output, one
 * per class, as functions that return what is wrong (empty: nothing). The
 * generated tests assert on them; test/input-safety/hostile-self-test feeds
 * them what a naive escaper, parser or writer produces and asserts they
 * object, so none of them is a check that cannot fail.
 */

/** Controls and line separators no rendered file may hold raw: each one is a line break or a refusal for some consumer (PyYAML treats U+0085/U+2028/U+2029 as line breaks). */
// eslint-disable-next-line no-control-regex
const FILE_UNSAFE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u0085\u2028\u2029]/;

/** Class 1/3: the first raw control, C1, line separator or bidi mark in human-readable text, as `\uNNNN`; null when there is none. */
export function rawControlIn(text: string): string | null {
  const match = RAW_CONTROL.exec(text);
  return match ? `\\u${match[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${match.index}` : null;
}

/** Class 1: the first raw control or YAML 1.1 line break in a rendered file; null when there is none. */
export function rawBreakInFile(content: string): string | null {
  const match = FILE_UNSAFE.exec(content);
  return match ? `\\u${match[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${match.index}` : null;
}

/** Class 3: the hostile texts the terminal escapes are tried on. */
export function terminalCases(random: () => number, count = 500): string[] {
  return Array.from({ length: count }, () => hostileString(random, 12));
}

/** Class 3: the first generated text that `escape` leaves with a raw control (newline and tab aside, which multi-line output keeps); undefined when none does. */
export function terminalEscapeCounterexample(escape: (text: string) => string, texts: Iterable<string>): string | undefined {
  for (const text of texts) if (rawControlIn(escape(text).replace(/[\n\t]/g, '')) !== null) return text;
  return undefined;
}

/**
 * Classes 3, 4 and 7: what is wrong with a failed CLI run. A refused input
 * exits 1 or 2 with clear lines: no "unexpected error", no stack frame, no
 * line a cut value would have kept short, no raw control character.
 */
export function cliFailureProblems(result: CliResult): string[] {
  const problems: string[] = [];
  if (result.exitCode !== 1 && result.exitCode !== 2) problems.push(`exit ${result.exitCode} (expected 1 or 2)`);
  if (/unexpected error/.test(result.stderr)) problems.push('"unexpected error"');
  if (/\n\s+at /.test(result.stderr)) problems.push('a stack trace');
  const long = result.stderr.split('\n').find((line) => line.length >= 2000);
  if (long !== undefined) problems.push(`a line of ${long.length} characters (values in messages are cut)`);
  const raw = rawControlIn(result.stderr);
  if (raw !== null) problems.push(`a raw control character (${raw})`);
  return problems;
}

/** Class 5: every path under `dir` (folders end in "/"), sorted; compare two snapshots to see what a failed command left or changed. */
export async function treeSnapshot(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.map((e) => path.relative(dir, path.join(e.parentPath, e.name)) + (e.isDirectory() ? '/' : '')).sort();
}

/** Classes 1 and 2: every file named CANARY under `dir` (a hostile string that ran `touch CANARY`). */
export async function canariesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).filter((f) => path.basename(f) === 'CANARY');
}

/** Class 1: hostile texts for the YAML read-back, without lone surrogates (no UTF-8 file can hold one). */
export function yamlCases(random: () => number, count = 300): string[] {
  return Array.from({ length: count }, () => hostileString(random, 12)).filter((t) => !/[\ud800-\udfff]/.test(t.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')));
}

/**
 * Class 1: the texts that do not read back under PyYAML (YAML 1.1, what
 * cloud-init and Ansible parse) as exactly `{key: text}` from a document
 * holding `key: quote(text)` between two `# comment(text)` lines.
 */
export async function yamlReadBackFailures(texts: readonly string[], quote: (text: string) => string, comment: (text: string) => string): Promise<string[]> {
  const docs = texts.map((t) => `# ${comment(t)}\nkey: ${quote(t)}\n# ${comment(t)}\n`);
  const script = `
import json, sys, yaml
out = []
for doc in json.load(sys.stdin):
    try:
        out.append(yaml.safe_load(doc))
    except Exception as e:
        out.append({"error": str(e)})
print(json.dumps(out))
`;
  const result = await execa('python3', ['-c', script], { input: JSON.stringify(docs), reject: false });
  if (result.exitCode !== 0) throw new Error(`the PyYAML read-back could not run: ${result.stderr}`);
  const parsed = JSON.parse(result.stdout) as unknown[];
  return texts.filter((text, i) => {
    const doc = parsed[i] as Record<string, unknown> | null;
    return doc === null || typeof doc !== 'object' || Object.keys(doc).length !== 1 || doc['key'] !== text;
  });
}

export interface CloudConfigJob {
  readonly file: string;
  /** The rules file's content write_files must carry byte for byte. */
  readonly expected: string;
  readonly label: string;
}

export interface CloudConfigAnswer {
  readonly label: string;
  readonly problems: string[];
  /** runcmd's shell text, for `sh -n`. */
  readonly runcmd: string;
}

/**
 * Class 1: each cloud-config as its consumer reads it, in one python process:
 * PyYAML's safe_load (YAML 1.1), cloud-init's own schema (strict), and the
 * top-level keys, which must be exactly write_files and runcmd (the schema
 * accepts an injected bootcmd).
 */
export async function checkCloudConfigs(jobs: readonly CloudConfigJob[]): Promise<CloudConfigAnswer[]> {
  const script = `
import json, sys, yaml
from cloudinit.config.schema import validate_cloudconfig_schema, get_schema
schema = get_schema()
out = []
for job in json.load(sys.stdin):
    text = open(job["file"], encoding="utf-8").read()
    try:
        data = yaml.safe_load(text)
        validate_cloudconfig_schema(data, schema=schema, strict=True)
        problems = []
        if sorted(data) != ["runcmd", "write_files"]: problems.append("top-level keys %r" % sorted(data))
        if len(data["write_files"]) != 1 or data["write_files"][0]["content"] != job["expected"]: problems.append("write_files content differs")
        if len(data["runcmd"]) != 1 or data["runcmd"][0][:2] != ["sh", "-ec"]: problems.append("runcmd %r" % data["runcmd"][:2])
        out.append({"label": job["label"], "problems": problems, "runcmd": data["runcmd"][0][2]})
    except Exception as e:
        out.append({"label": job["label"], "problems": ["%s: %s" % (type(e).__name__, e)], "runcmd": ""})
print(json.dumps(out))
`;
  const result = await execa('/usr/bin/python3', ['-c', script], { input: JSON.stringify(jobs), reject: false });
  if (result.exitCode !== 0) throw new Error(`the cloud-config check could not run: ${result.stderr}`);
  return JSON.parse(result.stdout) as CloudConfigAnswer[];
}

/**
 * Class 2: a rendered Ansible site (playbook.yml in `site`) against an
 * inventory: --syntax-check and --list-hosts must pass and list
 * `expectedHosts` hosts. What a hostile string would run shows as a canary
 * file; look for it with canariesUnder.
 */
export async function ansibleProblems(site: string, inventory: string, scratch: string, expectedHosts: number): Promise<string[]> {
  const env = { ANSIBLE_LOCAL_TEMP: path.join(scratch, 'tmp'), ANSIBLE_HOME: path.join(scratch, 'home'), ANSIBLE_NOCOLOR: '1' };
  const problems: string[] = [];
  for (const mode of ['--syntax-check', '--list-hosts']) {
    const run = await execa('ansible-playbook', [mode, '-i', inventory, 'playbook.yml'], { cwd: site, env, reject: false });
    if (run.exitCode !== 0) problems.push(`${mode}: exit ${run.exitCode}: ${run.stdout}${run.stderr}`);
    else if (mode === '--list-hosts' && !run.stdout.includes(`hosts (${expectedHosts})`)) problems.push(`--list-hosts: not ${expectedHosts} hosts: ${run.stdout}`);
  }
  return problems;
}

/** True when `tool` is on PATH; where it is not, say so, except in CI (CI=true), where a missing tool is a failure. */
export async function haveTool(tool: string, what: string): Promise<boolean> {
  if ((await execa('sh', ['-c', `command -v ${tool}`], { reject: false })).exitCode === 0) return true;
  if (process.env['CI'] === 'true') throw new Error(`CI=true but ${tool} is not installed (${what})`);
  process.stderr.write(`SKIP ${what}: ${tool} is not installed\n`);
  return false;
}

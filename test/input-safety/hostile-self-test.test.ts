import { execa } from 'execa';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RenderedFile } from '../../src/backends/types.js';
import { renderPayloads } from '../../src/fleet/render-payloads.js';
import { writeRenderedFiles } from '../../src/output/write-files.js';
import { ansibleString, yamlString } from '../../src/payloads/quote.js';
import { sanitizeCommentLine } from '../../src/render/header.js';
import { escapeTerminal, showValue } from '../../src/text/terminal.js';
import { seededRandom } from '../helpers/hostile.js';
import {
  ansibleProblems,
  canariesUnder,
  checkCloudConfigs,
  cliFailureProblems,
  haveTool,
  rawBreakInFile,
  terminalCases,
  terminalEscapeCounterexample,
  treeSnapshot,
  yamlCases,
  yamlReadBackFailures,
} from '../helpers/hostile-checks.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { runCli } from '../helpers/run-cli.js';

/**
 * A test that cannot fail is a defect: for each class of issue 13 the checks
 * the input-safety tests use (test/helpers/hostile-checks.ts) are given
 * kubewall's real output, which they must pass, and what a naive, pre-fix
 * escaper, parser or writer makes of the same input, which they must refuse.
 * The naive variants live here, never in src/: each is the fix undone at the
 * one place it applies (the escape reverted in the real output, or the
 * library call the fix replaced).
 */

let root = '';

test.before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'kw-self-test-'));
});

test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function caseDir(name: string): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** The issue's cloud-init injection: a U+0085 in a fragment's file name, which the header names. */
const INJECTED_NAME = 'kw\u0085bootcmd: [touch CANARY]\u0085#.json';

test('class 1, cloud-init: the header comment pre-fix (U+0085 kept) injects a top-level bootcmd that cloud-init schema accepts; the key check refuses it', async () => {
  if (!(await haveTool('cloud-init', 'class 1 self-test'))) return;
  const dir = await caseDir('cloud-init');
  await mkdir(path.join(dir, 'ports.d'));
  const fragment = path.join(dir, 'ports.d', INJECTED_NAME);
  const entry = { id: 'kw-a', purpose: 'p', protocols: ['tcp'], ports: 9100, roles: ['worker'], peers: ['nodes'], usedBy: 'u', source: { document: 'd', section: 's', url: 'u' } };
  await writeFile(fragment, JSON.stringify({ entries: [entry] }));
  const render = (format: string) => renderPayloads({ backend: 'nftables', format, cataloguePatterns: [path.join(dir, 'ports.d', '*.json')], roles: ['worker'] });
  const [config] = (await render('cloud-init')).files;
  const [rules] = (await render('files')).files;
  const real = config!.content;
  // Pre-fix, sanitizeCommentLine kept C1: the outer header's catalogue line held the name as it is.
  const sanitized = sanitizeCommentLine(fragment);
  assert.ok(real.includes(`# catalogue: catalogue/kubernetes.yaml, ${sanitized}\n`), 'the header names the fragment');
  const naive = real.replace(sanitized, fragment);
  assert.is.not(rawBreakInFile(naive), null, 'rawBreakInFile passed a raw U+0085');
  const expected = rules!.content.endsWith('\n') ? rules!.content : `${rules!.content}\n`;
  const jobs = [
    { file: path.join(dir, 'real.yaml'), expected, label: 'real' },
    { file: path.join(dir, 'naive.yaml'), expected, label: 'naive' },
  ];
  await writeFile(jobs[0]!.file, real);
  await writeFile(jobs[1]!.file, naive);
  const [realAnswer, naiveAnswer] = await checkCloudConfigs(jobs);
  assert.is(rawBreakInFile(real), null);
  assert.equal(realAnswer!.problems, []);
  // Only the key check objects: the schema (strict) called the injected bootcmd valid.
  assert.equal(naiveAnswer!.problems, ["top-level keys ['bootcmd', 'runcmd', 'write_files']"]);
});

test('class 1, YAML quoting: JSON.stringify quoting and the pre-fix comment sanitizer do not read back under PyYAML; the read-back check says so', async () => {
  const texts = yamlCases(seededRandom(0x13 + 1));
  assert.equal(await yamlReadBackFailures(texts, yamlString, sanitizeCommentLine), []);
  // eslint-disable-next-line no-control-regex
  const preFixComment = (text: string) => text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, ' ');
  const failures = await yamlReadBackFailures(texts, JSON.stringify, preFixComment);
  assert.ok(failures.length > 0, 'the read-back passed JSON.stringify quoting');
  assert.ok(failures.some((t) => t.includes('\u0085')), 'no failure from U+0085, the line break YAML 1.2 does not know');
});

test('class 2, Ansible: a Jinja hosts pattern without !unsafe runs its lookup at --syntax-check; the canary check sees it, ansible-playbook passes it', async () => {
  if (!(await haveTool('ansible-playbook', 'class 2 self-test'))) return;
  const dir = await caseDir('ansible');
  const inventory = path.join(dir, 'hosts.ini');
  await writeFile(inventory, '[kube_control_plane]\ncp-1 ansible_host=10.0.0.11\n[kube_node]\nw-1 ansible_host=10.0.0.21\n');
  const output = await renderPayloads({ backend: 'nftables', format: 'ansible', inventory });
  const site = async (name: string, hostsLine?: string) => {
    const where = path.join(dir, name);
    for (const file of output.files) {
      const content = file.name === 'playbook.yml' && hostsLine ? file.content.replace(/^ {2}hosts: .*$/m, `  hosts: ${hostsLine}`) : file.content;
      await mkdir(path.dirname(path.join(where, file.name)), { recursive: true });
      await writeFile(path.join(where, file.name), content);
    }
    return where;
  };
  assert.equal(await ansibleProblems(await site('real'), inventory, dir, 2), []);
  assert.equal(await canariesUnder(dir), []);
  // A group named after a lookup, as an inventory could hold it; kubewall refuses such a group, and quotes the pattern !unsafe besides.
  const pattern = `kube_control_plane:kube_node:{{ lookup('pipe', 'touch ${path.join(dir, 'CANARY')}') }}`;
  await ansibleProblems(await site('escaped', ansibleString(pattern)), inventory, dir, 2);
  assert.equal(await canariesUnder(dir), [], '!unsafe did not keep the lookup inert');
  // Pre-fix: hostsYaml was yamlString, i.e. JSON quoting.
  const naiveProblems = await ansibleProblems(await site('naive', JSON.stringify(pattern)), inventory, dir, 2);
  assert.equal(naiveProblems, [], 'ansible-playbook itself objected (then it is not the canary that catches this)');
  assert.equal(await canariesUnder(dir), ['CANARY']);
});

test('class 3, terminal: an identity escape and the pre-fix JSON quoting of values leave raw controls; the escape check and cliFailureProblems find them', async () => {
  const texts = terminalCases(seededRandom(0x13));
  assert.is(terminalEscapeCounterexample(escapeTerminal, texts), undefined);
  assert.is(terminalEscapeCounterexample(showValue, texts), undefined);
  assert.is.not(terminalEscapeCounterexample((t) => t, texts), undefined);
  // JSON.stringify escapes C0 but not C1, U+2028 or bidi marks.
  assert.is.not(terminalEscapeCounterexample(JSON.stringify, texts), undefined);
  const real = await runCli(['plan', '-r', 'wrok\u001b[2J\u0085\u202e']);
  assert.equal(cliFailureProblems(real), []);
  // The same message with the CLI edge's escaping undone.
  const naiveStderr = real.stderr.replace(/\\x([0-9a-f]{2})|\\u([0-9a-f]{4})/g, (_, x: string | undefined, u: string | undefined) => String.fromCharCode(parseInt(x ?? u!, 16)));
  assert.is.not(naiveStderr, real.stderr, 'the message showed no escaped character');
  const problems = cliFailureProblems({ ...real, stderr: naiveStderr });
  assert.is(problems.length, 1, problems.join('; '));
  assert.match(problems[0]!, /^a raw control character/);
});

test('class 4, stack traces: the yaml library read without the guard, and kubewall\'s own unexpected-error path, both fail cliFailureProblems', async () => {
  const dir = await caseDir('traces');
  const bomb = path.join(dir, 'bomb.yaml');
  const names = 'abcdefghij';
  await writeFile(bomb, ['a: &a [x, x, x, x, x, x, x, x, x]', ...names.slice(1).split('').map((n, i) => `${n}: &${n} [${Array(9).fill(`*${names[i]}`).join(', ')}]`)].join('\n') + '\n');
  assert.equal(cliFailureProblems(await runCli(['render', '-b', 'nftables', '-r', 'worker', '-c', bomb])), []);
  // Pre-fix: the yaml library's alias guard threw out of the reader, uncaught.
  const naive = await execa('node', ['--input-type=module', '-e', "import * as Yaml from 'yaml'; import { readFileSync } from 'node:fs'; Yaml.parse(readFileSync(process.argv[1], 'utf8'));", bomb], { cwd: REPO_ROOT, reject: false });
  assert.ok(cliFailureProblems({ exitCode: naive.exitCode ?? -1, stdout: naive.stdout, stderr: naive.stderr }).includes('a stack trace'), naive.stderr);
  // Any error kubewall does not know: runMain prints the stack and asks for a report.
  const cli = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'cli.js');
  const script = `const { runMain } = await import(${JSON.stringify(cli)}); process.stdout.write = () => { throw new TypeError('not a kubewall error'); }; await runMain(['node', 'kubewall', 'catalogue']);`;
  const unexpected = await execa('node', ['--input-type=module', '-e', script], { reject: false, env: { NO_COLOR: '1' } });
  assert.equal(cliFailureProblems({ exitCode: unexpected.exitCode ?? -1, stdout: unexpected.stdout, stderr: unexpected.stderr }), ['"unexpected error"', 'a stack trace']);
});

test('class 5, partial output: a writer that writes host by host leaves the first hosts when the last fails; treeSnapshot sees them, writeRenderedFiles leaves none', async () => {
  const dir = await caseDir('out-dir');
  const files: RenderedFile[] = ['w1', 'w2', 'w'.repeat(300)].map((host) => ({ name: `${host}/kubewall.nft`, content: 'table inet kubewall {}\n', mode: 0o644 }));
  const before = await treeSnapshot(dir);
  try {
    await writeRenderedFiles(path.join(dir, 'out'), files);
    assert.unreachable('a 300-byte folder name was written');
  } catch (error) {
    assert.match((error as Error).message, /too long/);
  }
  assert.equal(await treeSnapshot(dir), before);
  // Pre-fix: each file written in place, in order.
  const naiveWrite = async (out: string) => {
    for (const file of files) {
      await mkdir(path.dirname(path.join(out, file.name)), { recursive: true });
      await writeFile(path.join(out, file.name), file.content);
    }
  };
  await naiveWrite(path.join(dir, 'out')).then(() => assert.unreachable('a 300-byte folder name was written'), () => undefined);
  assert.equal(await treeSnapshot(dir), ['out/', 'out/w1/', 'out/w1/kubewall.nft', 'out/w2/', 'out/w2/kubewall.nft']);
});

test('class 6, silently widened: JSON read with JSON.parse (the last adminNetworks wins) renders SSH from 0.0.0.0/0 with exit 0; cliFailureProblems refuses that', async () => {
  const dir = await caseDir('widened');
  const text = '{"name":"x","adminNetworks":["10.0.0.0/8"],"adminNetworks":["0.0.0.0/0"]}';
  const dup = path.join(dir, 'dup.json');
  await writeFile(dup, text);
  const real = await runCli(['render', '-b', 'nftables', '-r', 'worker', '--cni', 'none', '-c', dup]);
  assert.equal(cliFailureProblems(real), []);
  assert.match(real.stderr, /dup.json:1:44: .*keys must be unique/);
  // Pre-fix: a JSON fast path, JSON.parse, which keeps the last of two equal keys.
  const parsed = path.join(dir, 'as-json-parse-read-it.json');
  await writeFile(parsed, JSON.stringify(JSON.parse(text)));
  const naive = await runCli(['render', '-b', 'nftables', '-r', 'worker', '--cni', 'none', '-c', parsed]);
  assert.match(naive.stdout, /0\.0\.0\.0\/0/, 'the naive reading did not widen SSH');
  assert.equal(cliFailureProblems(naive), ['exit 0 (expected 1 or 2)']);
});

test('class 7, messages: a 100 KB value shown whole (JSON quoting, not showValue) makes a line cliFailureProblems refuses', async () => {
  const dir = await caseDir('messages');
  const value = '10.0.0.1'.repeat(12_500);
  const file = path.join(dir, 'huge.yaml');
  await writeFile(file, `name: x\nadminNetworks: [${JSON.stringify(value)}]\n`);
  const real = await runCli(['render', '-b', 'nftables', '-r', 'worker', '-c', file]);
  assert.equal(cliFailureProblems(real), []);
  assert.ok(real.stderr.includes(showValue(value)), real.stderr);
  // Pre-fix: the message quoted the value with JSON.stringify.
  const naive = { ...real, stderr: real.stderr.replace(showValue(value), JSON.stringify(value)) };
  assert.equal(cliFailureProblems(naive).length, 1);
  assert.match(cliFailureProblems(naive)[0]!, /^a line of \d{6} characters/);
});

test.run();

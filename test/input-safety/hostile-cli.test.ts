import { execa } from 'execa';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { yamlString } from '../../src/payloads/quote.js';
import { sanitizeCommentLine } from '../../src/render/header.js';
import { escapeTerminal, showValue } from '../../src/text/terminal.js';
import { hostileString, hugeHostileString, seededRandom } from '../helpers/hostile.js';
import { cliFailureProblems, terminalCases, terminalEscapeCounterexample, treeSnapshot, yamlCases, yamlReadBackFailures } from '../helpers/hostile-checks.js';
import { BIN } from '../helpers/paths.js';
import { runCli, runCliInProcess } from '../helpers/run-cli.js';

const SEED = 0x13;

test('escapeTerminal and showValue: no raw control, C1, line separator or bidi mark survives; values are cut', () => {
  const random = seededRandom(SEED);
  const texts = terminalCases(random);
  assert.is(terminalEscapeCounterexample(escapeTerminal, texts), undefined, `seed ${SEED}`);
  assert.is(terminalEscapeCounterexample(showValue, texts), undefined, `seed ${SEED}`);
  for (const text of texts) assert.not.match(showValue(text), /[\n\t]/);
  assert.ok(showValue(hugeHostileString(random)).length < 200);
});

test('yamlString and header comments read back under PyYAML (YAML 1.1) as exactly one key and the same text', async () => {
  const random = seededRandom(SEED + 1);
  const texts = yamlCases(random);
  assert.equal(await yamlReadBackFailures(texts, yamlString, sanitizeCommentLine), [], `seed ${SEED + 1}`);
});

/** Inputs every command is walked with. */
async function badInputs(dir: string): Promise<Record<string, string>> {
  const random = seededRandom(SEED + 2);
  const files: Record<string, string | Buffer> = {
    'malformed.yaml': 'name: [unclosed\n  - : :\n',
    'truncated.json': '{"name": "x", "adminNetworks": ["10.0.0.0/8"',
    'binary.yaml': Buffer.from(Array.from({ length: 4096 }, () => Math.floor(random() * 256))),
    'huge.yaml': `name: x\nadminNetworks: [${JSON.stringify(hugeHostileString(random))}]\n`,
    'hostile.yaml': `name: x\nadminNetworks: [${JSON.stringify(hostileString(random))}]\n`,
    'bomb.yaml': ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefghij'.split('').map((n, i) => `${n}: &${n} [${Array(9).fill(`*${'abcdefghij'[i]}`).join(', ')}]`)].join('\n') + '\n',
    'dup.json': '{"name":"x","adminNetworks":["10.0.0.0/8"],"adminNetworks":["0.0.0.0/0"]}',
    // Silently widened or locked out before issue 13: an IPv4-mapped admin network (IPv4 SSH locked out), a __proto__ override (dropped unseen).
    'mapped.yaml': 'name: x\nadminNetworks: ["::ffff:10.99.0.0/120"]\n',
    'proto.json': '{"name":"x","overrides":{"__proto__":{"usedBy":"x"}}}',
  };
  const paths: Record<string, string> = {};
  for (const [name, content] of Object.entries(files)) {
    await writeFile(path.join(dir, name), content);
    paths[name] = path.join(dir, name);
  }
  // Unreadable even for root: a folder where a file is expected.
  await mkdir(path.join(dir, 'a-folder.yaml'));
  paths['a-folder.yaml'] = path.join(dir, 'a-folder.yaml');
  return paths;
}

test('every command with malformed, truncated, binary, huge, unreadable inputs: exit 1 or 2, one clear message, no file left', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-hostile-cli-'));
  try {
    const inputs = await badInputs(dir);
    const out = path.join(dir, 'out');
    const commands: string[][] = [];
    for (const file of Object.values(inputs)) {
      commands.push(['render', '-b', 'nftables', '-r', 'worker', '-c', file, '--out-dir', out]);
      commands.push(['render', '-b', 'nftables', '-i', file, '--format', 'ansible', '--out-dir', out]);
      commands.push(['plan', '-r', 'worker', '-c', file]);
      commands.push(['catalogue', '--catalogue', file]);
      commands.push(['diff', '-b', 'nftables', '-r', 'worker', '--from', file]);
      commands.push(['diff', '-b', 'firewalld', '-r', 'worker', '-c', file, '--from', file]);
    }
    commands.push(['render', '-b', 'nftables', '-r', 'worker', '--catalogue', '']);
    commands.push(['render', '-b', 'nftables', '-r', 'worker', '--out-dir', inputs['dup.json']!]);
    const before = await treeSnapshot(dir);
    // In this process (a start per command was most of the quick tier's time); the real bin says the same, checked on a sample.
    const results = await Promise.all(commands.map(async (args) => ({ args, result: await runCliInProcess(args, { cwd: dir }) })));
    for (const { args, result } of results.filter((_, i) => i % 10 === 0)) {
      assert.equal(await runCli(args, { cwd: dir }), result, `kubewall ${args.join(' ').slice(0, 200)}: the bin and runMain disagree`);
    }
    for (const { args, result } of results) {
      assert.equal(cliFailureProblems(result), [], `kubewall ${args.join(' ').slice(0, 200)}: ${result.stderr.slice(0, 800)}`);
    }
    assert.equal(await treeSnapshot(dir), before, 'a failed command left a file');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--out-dir is all or nothing: a fleet whose last host cannot be written leaves nothing', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-hostile-outdir-'));
  try {
    const inventory = path.join(dir, 'hosts.ini');
    await writeFile(inventory, `[kube_node]\nw1 ansible_host=10.0.0.1\nw2 ansible_host=10.0.0.2\n${'w'.repeat(300)} ansible_host=10.0.0.3\n`);
    const result = await runCli(['render', '-b', 'nftables', '-i', inventory, '--out-dir', path.join(dir, 'out')], { cwd: dir });
    assert.is(result.exitCode, 1, result.stderr);
    assert.match(result.stderr, /cannot name a folder of the output \(300 bytes; at most 255\)/);
    assert.equal(await treeSnapshot(dir), ['hosts.ini']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});


test("hostile option names and values (commander's own errors too) reach the terminal escaped", async () => {
  const random = seededRandom(SEED + 2);
  const commands: string[][] = [];
  for (let i = 0; i < 6; i++) {
    // Always one control and one C1 character, whatever else the generator drew.
    const text = `${hostileString(random, 6).replace(/\u0000/g, '')}\u001b[2J\u0085`;
    commands.push(['render', `--x${text}`]);
    commands.push(['render', '-b', `nft${text}`, '-r', 'worker']);
    commands.push(['plan', '-r', `wrok${text}`]);
    commands.push(['diff', '-b', 'nftables', '-r', 'worker', `--bogus${text}`]);
  }
  const results = await Promise.all(commands.map(async (args) => ({ args, result: await runCliInProcess(args) })));
  for (const { args, result } of results.filter((_, i) => i % 8 === 0)) {
    assert.equal(await runCli(args), result, `kubewall ${JSON.stringify(args)}: the bin and runMain disagree`);
  }
  for (const { args, result } of results) {
    assert.equal(cliFailureProblems(result), [], `kubewall ${JSON.stringify(args)}: ${JSON.stringify(result.stderr)}`);
  }
});


test('an unwritable --out and --out-dir (EACCES): exit 1, one line naming the path, nothing written', async () => {
  // Root writes anywhere: drop CAP_DAC_OVERRIDE for the CLI (setpriv), so a 0555 folder refuses it as it would a user.
  if (process.getuid?.() !== 0 || (await execa('sh', ['-c', 'command -v setpriv'], { reject: false })).exitCode !== 0) {
    if (process.env['CI'] === 'true') throw new Error('CI=true but this test needs root and setpriv (util-linux)');
    process.stderr.write('SKIP the EACCES test: it needs root and setpriv\n');
    return;
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-eacces-'));
  try {
    await chmod(dir, 0o555);
    for (const target of [['--out-dir', path.join(dir, 'out')], ['--out', path.join(dir, 'kubewall.nft')]]) {
      const result = await execa('setpriv', ['--bounding-set', '-dac_override,-dac_read_search', process.execPath, BIN, 'render', '-b', 'nftables', '-r', 'worker', '--cni', 'none', ...target], {
        reject: false,
        env: { NO_COLOR: '1' },
      });
      const where = target.join(' ');
      assert.is(result.exitCode, 1, `${where}: ${result.stderr}`);
      const errors = result.stderr.split('\n').filter((line) => line.startsWith('kubewall: ') && !line.startsWith('kubewall: warning:'));
      assert.equal(errors.length, 1, `${where}: ${result.stderr}`);
      assert.match(errors[0]!, new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*permission denied`), where);
      assert.not.match(result.stderr, /unexpected error|\n\s+at /, where);
    }
    assert.equal(await readdir(dir), []);
  } finally {
    await chmod(dir, 0o755);
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();

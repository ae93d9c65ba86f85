import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Command } from 'commander';
import { buildProgram, COMMAND_MODULES } from '../../src/cli/cli.js';
import { CLI_DOC_FILES } from '../../src/cli/cli-doc-files.js';
import { COMPLETION_SHELLS, describeProgram, renderCompletion, renderManPage } from '../../src/cli/cli-docs.js';
import { completionValues } from '../../src/cli/completion-values.js';
import { VERSION } from '../../src/version.js';
import { runCli } from '../helpers/run-cli.js';

const program = await buildProgram();
const spec = describeProgram(program, VERSION, completionValues());
// Read from commander directly, not from the spec, so a generator that drops something fails here.
const visible = program.commands.filter((c) => c.name() !== 'rollback-watcher');
const expected = visible.map((c) => ({ name: c.name(), longs: c.options.filter((o) => !o.hidden).map((o) => o.long!) }));

test('the spec lists every visible command and option of the commander program', () => {
  assert.equal(spec.commands.map((c) => c.name), expected.map((c) => c.name));
  for (const command of expected) {
    const described = spec.commands.find((c) => c.name === command.name)!;
    assert.equal(described.options.map((o) => o.long).filter((l) => l !== '--help'), command.longs, command.name);
  }
  assert.ok(expected.length >= 8 && expected.some((c) => c.name === 'completion'));
});

for (const shell of COMPLETION_SHELLS) {
  test(`${shell} completion: every command and option is there; the shipped file is what the definitions generate`, async () => {
    const text = renderCompletion(spec, shell);
    for (const command of expected) {
      assert.ok(text.includes(command.name), `${shell}: ${command.name}`);
      for (const long of command.longs) assert.ok(text.includes(shell === 'fish' ? `-l ${long.slice(2)} ` : long), `${shell}: ${command.name} ${long}`);
    }
    assert.not.ok(text.includes('rollback-watcher'), 'the hidden command stays hidden');
    assert.fixture(await readFile(CLI_DOC_FILES[shell], 'utf8'), text, `dist file for ${shell} is stale: npm run build`);
    const printed = await runCli(['completion', shell]);
    assert.is(printed.exitCode, 0, printed.stderr);
    assert.fixture(printed.stdout, text.replace(/\n$/, ''));  // execa strips the final newline
  });
}

test('a run that names a command builds only its module, and that command is the same as in the whole program', async () => {
  const everyName = COMMAND_MODULES.flatMap((command) => command.names);
  assert.equal([...everyName].sort(), program.commands.map((c) => c.name()).sort(), 'COMMAND_MODULES names every registered command once');
  for (const { names, needsWholeProgram } of COMMAND_MODULES) {
    for (const name of names) {
      const alone = await buildProgram(name);
      assert.equal(alone.commands.map((c) => c.name()), needsWholeProgram ? program.commands.map((c) => c.name()) : names, name);
      const help = (p: Command) => p.commands.find((c) => c.name() === name)!.helpInformation();
      assert.fixture(help(alone), help(program), name);
    }
  }
  // Not a command's name (an option, a typo, help): the whole program, for help and suggestions.
  for (const first of ['--help', 'rendr', 'help', undefined]) assert.is((await buildProgram(first)).commands.length, program.commands.length, String(first));
});

test('bash completion completes commands, option names and option values', async () => {
  const complete = async (...words: string[]) => {
    const script = `source ${CLI_DOC_FILES.bash}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _kubewall; printf '%s\\n' "\${COMPREPLY[@]}"`;
    return (await execa('bash', ['-c', script])).stdout.split('\n');
  };
  assert.equal(await complete('kubewall', 're'), ['render']);
  assert.equal(await complete('kubewall', 'render', '-b', 'n'), ['nftables']);
  assert.equal(await complete('kubewall', 'render', '--role', 'c'), ['control-plane']);
  assert.equal(await complete('kubewall', 'diff', '--format', ''), ['text', 'json']);
  assert.equal(await complete('kubewall', 'render', '--cni', 'ci'), ['cilium']);
  assert.equal(await complete('kubewall', 'completion', 'z'), ['zsh']);
});

test('the man page documents every command and option, and is what the definitions generate', async () => {
  const text = renderManPage(spec);
  const plain = text.replace(/\\-/g, '-').replace(/\\f[BIR]/g, '');
  for (const command of expected) {
    assert.ok(plain.includes(`.SS kubewall ${command.name}`), command.name);
    for (const long of command.longs) assert.ok(plain.includes(long), `${command.name} ${long}`);
  }
  assert.fixture(await readFile(CLI_DOC_FILES.man, 'utf8'), text, 'dist/man/kubewall.1 is stale: npm run build');
  const groff = await execa('groff', ['-man', '-Tutf8', '-ww', '-z', CLI_DOC_FILES.man], { reject: false });
  assert.is(groff.stderr, '', 'groff warnings');
});

test('kubewall completion with an unknown shell suggests one', async () => {
  const result = await runCli(['completion', 'zhs']);
  assert.is(result.exitCode, 2);
  assert.match(result.stderr, /^kubewall: completion: unknown value "zhs" \(did you mean "zsh"\? expected bash, zsh, fish\)$/m);
});

test.run();

import { execa } from 'execa';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  chooseIptablesVariant,
  detectIptablesVariant,
  findIptablesBinary,
  parseIptablesVersion,
  readIptablesVersion,
  resolveIptablesVariant,
} from '../../src/host/detect-iptables-variant.js';

// `iptables -V` as the real tools print it (Debian 12, Ubuntu 18.04, CentOS 7).
const CAPTURED = {
  nft: 'iptables v1.8.9 (nf_tables)',
  legacy: 'iptables v1.8.9 (legacy)',
  ubuntu1804: 'iptables v1.6.1',
  centos7: 'iptables v1.4.21',
};

test('parseIptablesVersion reads the variant from the first line', () => {
  assert.is(parseIptablesVersion(`${CAPTURED.nft}\n`), 'nft');
  assert.is(parseIptablesVersion(CAPTURED.legacy), 'legacy');
  assert.is(parseIptablesVersion(CAPTURED.ubuntu1804), null);
  assert.is(parseIptablesVersion(CAPTURED.centos7), null);
  assert.is(parseIptablesVersion(''), null);
  assert.is(parseIptablesVersion('something (legacy) else'), null, 'only a trailing variant counts');
});

test('chooseIptablesVariant: detected, missing iptables, unrecognised output', () => {
  assert.equal(chooseIptablesVariant(CAPTURED.legacy), { variant: 'legacy', source: 'detected from iptables -V: iptables v1.8.9 (legacy)' });
  assert.equal(chooseIptablesVariant(null), { variant: 'nft', source: 'iptables not found on this host: nft, the default' });
  const old = chooseIptablesVariant(CAPTURED.centos7);
  assert.is(old.variant, 'nft');
  assert.match(old.warning ?? '', /cannot tell the iptables variant.*--iptables-variant legacy/);
});

test('resolveIptablesVariant: an explicit variant is used without asking the host; auto and no option ask', async () => {
  const never = () => Promise.reject(new Error('must not run iptables -V'));
  assert.equal(await resolveIptablesVariant('legacy', never), { variant: 'legacy', source: '--iptables-variant legacy' });
  assert.equal(await resolveIptablesVariant('nft', never), { variant: 'nft', source: '--iptables-variant nft' });
  assert.is((await resolveIptablesVariant('auto', async () => CAPTURED.legacy)).variant, 'legacy');
  assert.is((await resolveIptablesVariant(undefined, async () => CAPTURED.legacy)).variant, 'legacy');
  assert.is((await resolveIptablesVariant(undefined, async () => null)).variant, 'nft');
  try {
    await resolveIptablesVariant('iptables-nft', never);
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.match((error as Error).message, /--iptables-variant: unknown value "iptables-nft" \(expected nft, legacy, auto\)/);
  }
});

test('readIptablesVersion runs the iptables on PATH (a fixture executable) and returns null without one', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-iptables-v-'));
  try {
    const sh = (await execa('sh', ['-c', 'command -v sh'])).stdout.trim();
    const fake = path.join(dir, 'iptables');
    await writeFile(fake, `#!${sh}\n[ "$1" = -V ] || exit 2\necho '${CAPTURED.legacy}'\n`);
    await chmod(fake, 0o755);
    const output = await readIptablesVersion({ PATH: dir });
    assert.is(output, CAPTURED.legacy);
    assert.is(chooseIptablesVariant(output).variant, 'legacy');
    assert.is(await readIptablesVersion({ PATH: path.join(dir, 'nothing-here') }), null);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('detectIptablesVariant reads the variant from where iptables resolves (alternatives links) without running it', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-iptables-link-'));
  try {
    const sbin = path.join(dir, 'sbin');
    const alternatives = path.join(dir, 'alternatives');
    await mkdir(sbin);
    await mkdir(alternatives);
    // Executables that fail when run: the answer must come from the names alone.
    for (const name of ['xtables-legacy-multi', 'xtables-nft-multi']) {
      await writeFile(path.join(sbin, name), '#!/bin/sh\nexit 99\n');
      await chmod(path.join(sbin, name), 0o755);
    }
    await symlink(path.join(sbin, 'xtables-legacy-multi'), path.join(sbin, 'iptables-legacy'));
    await symlink(path.join(sbin, 'iptables-legacy'), path.join(alternatives, 'iptables'));
    await symlink(path.join(alternatives, 'iptables'), path.join(sbin, 'iptables'));
    const env = { PATH: `${path.join(dir, 'empty')}:${sbin}` };
    assert.equal(findIptablesBinary(env), { found: path.join(sbin, 'iptables'), real: path.join(sbin, 'xtables-legacy-multi') });
    assert.equal(await detectIptablesVariant(env), {
      variant: 'legacy',
      source: `detected from ${path.join(sbin, 'iptables')} -> ${path.join(sbin, 'xtables-legacy-multi')}`,
    });
    await rm(path.join(alternatives, 'iptables'));
    await symlink(path.join(sbin, 'xtables-nft-multi'), path.join(alternatives, 'iptables'));
    assert.is((await detectIptablesVariant(env)).variant, 'nft');
    assert.equal(await detectIptablesVariant({ PATH: path.join(dir, 'empty') }), chooseIptablesVariant(null));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('detectIptablesVariant asks iptables -V when the name does not say (a wrapper, iptables before 1.8)', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-iptables-wrap-'));
  try {
    const sh = (await execa('sh', ['-c', 'command -v sh'])).stdout.trim();
    await writeFile(path.join(dir, 'iptables'), `#!${sh}\n[ "$1" = -V ] || exit 2\necho '${CAPTURED.legacy}'\n`);
    await chmod(path.join(dir, 'iptables'), 0o755);
    assert.equal(await detectIptablesVariant({ PATH: dir }), chooseIptablesVariant(CAPTURED.legacy));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the real iptables, where installed, prints a variant this parser knows', async () => {
  const output = await readIptablesVersion();
  if (output === null) return;
  assert.ok(parseIptablesVersion(output) !== null, `unrecognised: ${output}`);
  // Where the name says the variant, it says what iptables -V says.
  const binary = findIptablesBinary();
  const fromName = binary && (await detectIptablesVariant()).source.startsWith('detected from /') ? (await detectIptablesVariant()).variant : undefined;
  if (fromName) assert.is(fromName, parseIptablesVersion(output));
});

test.run();

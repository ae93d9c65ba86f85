// `diff --from FILE` hands the file to the reader by name (HostSource
// 'saved-file'): nftables reads a large dump through a window and keeps only
// the items it parses. These tests hold that to reading the same dump whole,
// and a pipe (which can be read only once) to being read whole.
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { diffHost } from '../../src/diff/diff-host.js';
import { isKubewallError } from '../../src/errors.js';
import { savedDumpFileSize } from '../../src/host/saved-dump.js';
import { planFromFiles } from '../../src/load-plan.js';
import { FIXTURES_DIR, REPO_ROOT } from '../helpers/paths.js';

const plan = await planFromFiles({ roles: ['worker'], clusterFile: 'examples/cluster.yaml', cwd: REPO_ROOT });

/** nft's compact output of the drifted fixture plus 20,000 kube-proxy-like rules: over the 1 MB where windows start. */
async function largeDump(): Promise<string> {
  const items = JSON.parse(await readFile(path.join(FIXTURES_DIR, 'nftables', 'example-worker-drift.json'), 'utf8')).nftables as unknown[];
  const filler = Array.from({ length: 20_000 }, (_, i) => ({ rule: { family: 'ip', table: 'nat', chain: `KUBE-SEP-${i}`, handle: i, expr: [{ counter: { packets: 0, bytes: 0 } }, { accept: null }] } }));
  const text = JSON.stringify({ nftables: [...items.slice(0, 4), ...filler, ...items.slice(4)] }).replace(/":/g, '": ').replace(/,"/g, ', "').replace(/,\{/g, ', {');
  assert.ok(text.length > 1 << 20, 'large enough to be read through a window');
  return text;
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kw-diff-from-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a large nftables dump named by --from FILE gives the report its whole text gives', async () => {
  await withTempDir(async (dir) => {
    const text = await largeDump();
    const file = path.join(dir, 'node-1.json');
    await writeFile(file, text);
    const whole = await diffHost(plan, 'nftables', { kind: 'saved', text, origin: file });
    const windowed = await diffHost(plan, 'nftables', { kind: 'saved-file', path: file, origin: file });
    assert.equal(windowed, whole);
    assert.ok(whole.result.present && !whole.result.inSync, 'the drifted fixture is found, and out of sync');
  });
});

test('a FIFO named by --from is read once, whole', async () => {
  await withTempDir(async (dir) => {
    const text = await largeDump();
    const source = path.join(dir, 'dump.json');
    await writeFile(source, text);
    const fifo = path.join(dir, 'fifo');
    await execa('mkfifo', [fifo]);
    // Opened once only: opening a FIFO to look at it first and closing it would cut the writer off.
    assert.is(savedDumpFileSize(fifo), undefined, 'a FIFO is no regular file');
    assert.is(savedDumpFileSize(source), text.length);
    const writer = execa('sh', ['-c', 'cat "$1" > "$2"', 'sh', source, fifo]);
    const report = await diffHost(plan, 'nftables', { kind: 'saved-file', path: fifo, origin: fifo });
    await writer;
    assert.equal(report.result, (await diffHost(plan, 'nftables', { kind: 'saved', text, origin: fifo })).result);
  });
});

test('a missing --from file is one HOST_READ error naming it', async () => {
  try {
    await diffHost(plan, 'nftables', { kind: 'saved-file', path: '/nonexistent/kw.json', origin: '/nonexistent/kw.json' });
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.ok(isKubewallError(error) && error.code === 'HOST_READ', String(error));
    assert.is((error as Error).message, '--from /nonexistent/kw.json: cannot read the saved dump: no such file');
  }
});

test.run();

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIREWALLD_TEST_CONF } from '../helpers/firewalld.js';
import { listGoldenCases, renderGoldenCase } from '../helpers/golden.js';
import { describeWithNetns, inNetns, withNetns } from '../helpers/netns.js';

/** The rendered XML files of one golden case, by their path under /etc/firewalld. */
async function xmlFiles(caseName: string): Promise<Map<string, string>> {
  const goldenCase = (await listGoldenCases()).find((c) => c.name === caseName)!;
  const outputs = await renderGoldenCase(goldenCase);
  return new Map([...outputs].filter(([name]) => name.startsWith('firewalld/') && name.endsWith('.xml')).map(([name, c]) => [name.slice('firewalld/'.length), c]));
}

async function writeConfigDir(files: ReadonlyMap<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kubewall-firewalld-'));
  await writeFile(path.join(dir, 'firewalld.conf'), FIREWALLD_TEST_CONF);
  for (const [name, content] of files) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

/**
 * `--check-config` exits 0 on many errors (a bad ipset entry or port is a
 * WARNING and ignored), so any WARNING or ERROR line is a failure too.
 */
async function checkConfig(netns: string, dir: string): Promise<{ ok: boolean; output: string }> {
  const result = await inNetns(netns, 'firewall-offline-cmd', ['--system-config', dir, '--check-config'], { reject: false });
  const output = `${result.stdout}\n${result.stderr}`.trim();
  return { ok: result.exitCode === 0 && !/\b(WARNING|ERROR)\b|error/i.test(output), output };
}

// firewall-offline-cmd does not touch the kernel, but it runs as root: a throwaway namespace costs nothing.
await describeWithNetns('firewalld XML passes firewall-offline-cmd --check-config', ['firewall-offline-cmd'], () => {
  test('every golden case: the XML files pass --check-config in a private configuration folder', async () => {
    await withNetns('fwoffline', async (netns) => {
      for (const goldenCase of await listGoldenCases()) {
        const dir = await writeConfigDir(await xmlFiles(goldenCase.name));
        try {
          const { ok, output } = await checkConfig(netns, dir);
          assert.ok(ok, `${goldenCase.name}: firewall-offline-cmd --check-config:\n${output}`);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
    });
  });

  test('the check catches what firewalld would silently ignore: a bad entry, a bad port, an unknown element', async () => {
    const files = await xmlFiles('example-worker');
    const breakages: [string, (text: string) => string][] = [
      ['ipsets/kubewall-admin-v4.xml', (t) => t.replace('<entry>10.99.0.0/24</entry>', '<entry>10.99.0.0/33</entry>')],
      ['zones/kubewall.xml', (t) => t.replace('port="22"', 'port="22x"')],
      ['zones/kubewall.xml', (t) => t.replace('<forward/>', '<forward/><bogus/>')],
    ];
    await withNetns('fwoffline', async (netns) => {
      for (const [name, breakIt] of breakages) {
        const broken = new Map(files);
        const before = broken.get(name)!;
        broken.set(name, breakIt(before));
        assert.is.not(broken.get(name), before, `the breakage of ${name} did not apply`);
        const dir = await writeConfigDir(broken);
        try {
          assert.not.ok((await checkConfig(netns, dir)).ok, `a broken ${name} passed the check`);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }
    });
  });
});

test.run();

import { execa } from 'execa';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIREWALLD_TEST_CONF } from '../helpers/firewalld.js';
import { findGoldenCase, listGoldenCases, renderGoldenCase, rendersWith } from '../helpers/golden.js';
import { describeWithNetns, inNetns, withNetns } from '../helpers/netns.js';

/** The rendered XML files of one golden case, by their path under /etc/firewalld. */
async function xmlFiles(caseName: string): Promise<Map<string, string>> {
  const outputs = await renderGoldenCase(await findGoldenCase(caseName));
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
      for (const goldenCase of (await listGoldenCases()).filter((c) => rendersWith(c, 'firewalld'))) {
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

/** Every file under dir, relative path → content: what "unchanged" means for a config folder. */
async function readTree(dir: string): Promise<Map<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
  return new Map(await Promise.all(files.sort().map(async (f) => [f, await readFile(path.join(dir, f), 'utf8')] as const)));
}

/**
 * The script with `--check` in a namespace whose /etc/firewalld is
 * /etc/netns/<ns>/firewalld (ip netns exec mounts it there), with no
 * firewalld and no D-Bus: the check must not need them.
 */
async function withCheckNetns(fn: (check: (script: string, args?: string[]) => Promise<{ exitCode: number; stdout: string; stderr: string }>, etcFirewalld: string) => Promise<void>) {
  await withNetns('fwcheck', async (netns) => {
    const etcFirewalld = `/etc/netns/${netns}/firewalld`;
    const work = await mkdtemp(path.join(tmpdir(), 'kw-fwcheck-'));
    try {
      await mkdir(etcFirewalld, { recursive: true });
      await writeFile(path.join(etcFirewalld, 'firewalld.conf'), FIREWALLD_TEST_CONF);
      await fn(async (script, args = ['--check']) => {
        const result = await execa('ip', ['netns', 'exec', netns, 'sh', '-c', script, 'kubewall.sh', ...args], {
          env: { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${work}/no-bus`, TMPDIR: work },
          reject: false,
          timeout: 180_000,
        });
        return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
      }, etcFirewalld);
      assert.equal(await readdir(work), [], '--check left its copy behind');
    } finally {
      await rm(`/etc/netns/${netns}`, { recursive: true, force: true });
      await rm(work, { recursive: true, force: true });
    }
  });
}

async function goldenScript(caseName: string): Promise<string> {
  return (await renderGoldenCase(await findGoldenCase(caseName))).get('firewalld/kubewall.sh')!;
}

await describeWithNetns('the firewalld script --check: firewall-offline-cmd on a copy of /etc/firewalld', ['firewall-offline-cmd'], () => {
  test('every golden case passes, without firewalld running, and /etc/firewalld is unchanged', async () => {
    await withCheckNetns(async (check, etcFirewalld) => {
      const before = await readTree(etcFirewalld);
      for (const goldenCase of (await listGoldenCases()).filter((c) => rendersWith(c, 'firewalld'))) {
        const result = await check(await goldenScript(goldenCase.name));
        assert.is(result.exitCode, 0, `${goldenCase.name}: --check failed:\n${result.stderr}`);
        assert.match(result.stdout, /^kubewall: check passed: firewall-offline-cmd accepts every ipset entry and rule/m);
        assert.equal(await readTree(etcFirewalld), before, `${goldenCase.name}: --check changed /etc/firewalld`);
      }
    });
  });

  // Not caught offline: a rule naming an ipset that does not exist (only the
  // daemon refuses it); kubewall's script creates every ipset its rules name.
  test('it fails on what firewalld would refuse or drop: a bad port inside a batch, a bad ipset entry', async () => {
    const script = await goldenScript('example-worker');
    const ssh = `--add-rich-rule='rule family="ipv4" source ipset="kubewall-admin-v4" port port="22" protocol="tcp" accept'`;
    const breakages: [string, string, string, RegExp][] = [
      ['a port out of range in the rich-rule batch', ssh, ssh.replace('port="22"', 'port="70000"'), /INVALID_PORT: 70000[\s\S]*zone kubewall holds \d+ of the \d+ rich rules given/],
      ['an address that is not one', '10.99.0.0/24\n', '10.99.0.300/24\n', /INVALID_ENTRY: invalid address '10\.99\.0\.300\/24'/],
    ];
    await withCheckNetns(async (check, etcFirewalld) => {
      const before = await readTree(etcFirewalld);
      for (const [what, from, to, message] of breakages) {
        assert.ok(script.includes(from), `${what}: nothing to break`);
        const result = await check(script.replace(from, to));
        assert.is.not(result.exitCode, 0, `${what}: --check passed`);
        assert.match(result.stderr, message, `${what}:\n${result.stderr}`);
        assert.not.match(result.stdout, /check passed/, what);
        assert.equal(await readTree(etcFirewalld), before, `${what}: --check changed /etc/firewalld`);
      }
      // Someone else's broken file: --check-config warns about it; the check passes with a note.
      await mkdir(path.join(etcFirewalld, 'ipsets'), { recursive: true });
      await writeFile(
        path.join(etcFirewalld, 'ipsets', 'other.xml'),
        '<?xml version="1.0" encoding="utf-8"?>\n<ipset type="hash:ip">\n  <entry>10.1.1.300</entry>\n</ipset>\n',
      );
      const others = await check(script);
      assert.is(others.exitCode, 0, others.stderr);
      assert.match(others.stderr, /kubewall: note: firewall-offline-cmd --check-config warns about configuration that is not kubewall's: .*10\.1\.1\.300/s);
      assert.match(others.stdout, /check passed/);

      const usage = await check(script, ['--chek']);
      assert.is(usage.exitCode, 2);
      assert.match(usage.stderr, /usage: sh kubewall\.sh \[--check\]/);
    });
  });
});

test.run();

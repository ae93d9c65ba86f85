import { execa } from 'execa';
import { copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BACKEND_NAMES } from '../../src/backends/registry.js';
import { renderPayloads } from '../../src/fleet/render-payloads.js';
import { FIREWALLD_TEST_CONF } from '../helpers/firewalld.js';
import { hostileString, hugeHostileString, seededRandom } from '../helpers/hostile.js';
import { ansibleProblems, canariesUnder, checkCloudConfigs, type CloudConfigJob, haveTool, rawBreakInFile } from '../helpers/hostile-checks.js';
import { describeWithNetns, inNetns, withNetns } from '../helpers/netns.js';

/**
 * Generated hostile input in every free-text field of a catalogue fragment
 * (and its file name), a cluster file's overrides and an inventory, rendered
 * for every backend and payload format; each output must pass its real
 * validator, read back as the grammar's consumer reads it, and no canary
 * file may appear. Seeded: the same cases every run (SEED in a message
 * reproduces one). Validators run batched, a few processes per backend.
 */

const SEED = 0x13c0ffee;
const CASES = 4;

interface HostileCase {
  readonly index: number;
  readonly dir: string;
  readonly fragment: string;
  readonly cluster: string;
  readonly inventory: string;
}

/** A name the file system takes: no "/" or NUL, at most 200 bytes. */
function fileNameOf(text: string): string {
  let name = text.replace(/[/\0]/g, '_');
  while (Buffer.byteLength(name) > 200) name = name.slice(0, -1);
  return name === '.' || name === '..' || name === '' ? 'x' : name;
}

/** A host name kubewall accepts as a folder name: hostile, but no path separators or Jinja delimiters. */
function hostNameOf(text: string): string {
  return fileNameOf(text.replace(/[\\{%#}]/g, '_')).slice(0, 60);
}

async function writeCase(root: string, index: number, random: () => number): Promise<HostileCase> {
  const dir = path.join(root, `case-${index}`);
  await mkdir(path.join(dir, 'ports.d'), { recursive: true });
  const h = () => hostileString(random);
  const entry = (id: string, port: number) => ({
    id,
    purpose: [...h()].slice(0, 80).join(''),
    protocols: ['tcp'],
    ports: port,
    roles: ['worker', 'control-plane'],
    peers: ['nodes'],
    // One case carries 100 KB: comments are cut per grammar, never passed through whole.
    usedBy: index === 0 && port === 9100 ? hugeHostileString(random) : h(),
    source: { document: h(), section: h(), url: h() },
  });
  const fragment = path.join(dir, 'ports.d', `${fileNameOf(h())}.json`);
  await writeFile(fragment, JSON.stringify({ entries: [entry('hostile-a', 9100), entry('hostile-b', 9200)] }));
  const cluster = path.join(dir, 'cluster.json');
  await writeFile(
    cluster,
    JSON.stringify({
      name: `hostile-${index}`,
      adminNetworks: ['10.99.0.0/24', 'fd00:99::/64'],
      loadBalancers: ['10.10.0.5'],
      overrides: { kubelet: { addPeers: ['load-balancers'], usedBy: h() } },
    }),
  );
  const inventory = path.join(dir, 'inventory.json');
  const host = hostNameOf(h());
  await writeFile(
    inventory,
    JSON.stringify({
      kube_control_plane: { hosts: { 'cp-1': { ip: '10.10.0.11', ansible_user: h() } } },
      kube_node: { hosts: { [host === 'cp-1' ? 'w' : host]: { ansible_host: '10.10.0.21', note: h() } }, vars: { anything: h() } },
    }),
  );
  return { index, dir, fragment, cluster, inventory };
}

let root = '';
let cases: HostileCase[] = [];

async function cases_(): Promise<HostileCase[]> {
  if (cases.length > 0) return cases;
  root = await mkdtemp(path.join(tmpdir(), 'kw-hostile-'));
  const random = seededRandom(SEED);
  for (let i = 0; i < CASES; i++) cases.push(await writeCase(root, i, random));
  return cases;
}

const rendered = new Map<string, ReturnType<typeof renderPayloads>>();

/** Rendered once per case, backend and format: several tests read the same output. */
function render(c: HostileCase, backend: string, format: string, inventory = false) {
  const key = `${c.index}/${backend}/${format}/${inventory}`;
  let output = rendered.get(key);
  if (!output) rendered.set(key, (output = renderOnce(c, backend, format, inventory)));
  return output;
}

function renderOnce(c: HostileCase, backend: string, format: string, inventory: boolean) {
  return renderPayloads({
    backend,
    format,
    clusterFile: c.cluster,
    // A glob over the folder: the hostile file name itself may hold glob characters.
    cataloguePatterns: [path.join(c.dir, 'ports.d', '*.json')],
    ...(inventory ? { inventory: c.inventory } : { roles: ['control-plane', 'worker'] as const }),
    backendOptions: backend === 'iptables' ? { iptablesVariant: 'nft', iptablesVariantSource: 'test' } : {},
  } as Parameters<typeof renderPayloads>[0]);
}

/** No file named CANARY anywhere under the cases' folder (every payload runs with its cwd there). */
async function assertNoCanary(): Promise<void> {
  assert.equal(await canariesUnder(root), [], `a hostile string ran a command (seed ${SEED})`);
  assert.ok(!(await readdir('/tmp')).includes('CANARY'));
}

test.after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

test('every backend renders every hostile case; each file is one file kubewall wrote, with the hostile text inert', async () => {
  for (const c of await cases_()) {
    for (const backend of BACKEND_NAMES) {
      const output = await render(c, backend, 'files');
      assert.ok(output.files.length > 0, `case ${c.index} ${backend}`);
      for (const file of output.files) {
        // The 100 KB usedBy is cut in comments: no rendered file holds it whole.
        assert.ok(file.content.length < 90_000, `case ${c.index} ${backend} ${file.name}: ${file.content.length} characters`);
        assert.is(rawBreakInFile(file.content), null, `case ${c.index} ${backend} ${file.name}: a raw control or line separator (seed ${SEED})`);
      }
    }
  }
});

test('cloud-init: cloud-init\'s own schema check (strict) and a PyYAML load see exactly write_files and runcmd, with the rules byte for byte', async () => {
  if (!(await haveTool('cloud-init', 'cloud-init check'))) return;
  const jobs: CloudConfigJob[] = [];
  for (const c of await cases_()) {
    for (const backend of BACKEND_NAMES) {
      const [file] = (await render(c, backend, 'cloud-init')).files;
      const [rules] = (await render(c, backend, 'files')).files;
      const target = path.join(c.dir, `${backend}.cloud-config.yaml`);
      await writeFile(target, file!.content);
      jobs.push({ file: target, expected: rules!.content.endsWith('\n') ? rules!.content : `${rules!.content}\n`, label: `case ${c.index} ${backend}` });
    }
  }
  const answers = await checkCloudConfigs(jobs);
  assert.is(answers.length, jobs.length);
  for (const answer of answers) {
    assert.equal(answer.problems, [], `${answer.label} (seed ${SEED})`);
    const syntax = await execa('sh', ['-n'], { input: answer.runcmd, reject: false });
    assert.is(syntax.exitCode, 0, `${answer.label}: runcmd: ${syntax.stderr}`);
  }
  await assertNoCanary();
});

test('ansible: a hostile fleet passes ansible-playbook --syntax-check and --list-hosts, and nothing runs', async () => {
  if (!(await haveTool('ansible-playbook', 'ansible check'))) return;
  for (const c of (await cases_()).slice(0, 2)) {
    const output = await render(c, 'nftables', 'ansible', true);
    const site = path.join(c.dir, 'site');
    for (const file of output.files) {
      await mkdir(path.dirname(path.join(site, file.name)), { recursive: true });
      await writeFile(path.join(site, file.name), file.content);
    }
    assert.equal(await ansibleProblems(site, c.inventory, c.dir, 2), [], `case ${c.index} (seed ${SEED})`);
  }
  await assertNoCanary();
});

test('script format: every backend\'s provisioning script passes sh -n', async () => {
  for (const c of await cases_()) {
    for (const backend of BACKEND_NAMES) {
      const [file] = (await render(c, backend, 'script')).files;
      const syntax = await execa('sh', ['-n'], { input: file!.content, reject: false });
      assert.is(syntax.exitCode, 0, `case ${c.index} ${backend}: ${syntax.stderr}`);
    }
  }
});

await describeWithNetns('hostile input: nft -c, the iptables script --check, firewall-offline-cmd and ufw --dry-run accept every case', ['nft', 'iptables', 'ipset', 'firewall-offline-cmd', 'ufw'], () => {
  test('nftables and iptables: every case, one namespace each', async () => {
    await withNetns('hostnft', async (netns) => {
      for (const c of await cases_()) {
        const [nft] = (await render(c, 'nftables', 'files')).files;
        const check = await inNetns(netns, 'nft', ['-c', '-f', '-'], { input: nft!.content, reject: false });
        assert.is(check.exitCode, 0, `case ${c.index}: nft -c: ${check.stderr}`);
        const files = (await render(c, 'iptables', 'files')).files;
        const dir = path.join(c.dir, 'iptables');
        await mkdir(dir, { recursive: true });
        for (const file of files) await writeFile(path.join(dir, file.name), file.content);
        const ipt = await execa('ip', ['netns', 'exec', netns, 'sh', path.join(dir, 'kubewall.sh'), '--check'], { cwd: c.dir, reject: false });
        assert.is(ipt.exitCode, 0, `case ${c.index}: kubewall.sh --check: ${ipt.stderr}`);
      }
    });
    await assertNoCanary();
  });

  test('firewalld: the script --check (firewall-offline-cmd on a copy of /etc/firewalld), one case', async () => {
    await withNetns('hostfwd', async (netns) => {
      const etc = `/etc/netns/${netns}`;
      const work = await mkdtemp(path.join(tmpdir(), 'kw-hostile-fw-'));
      try {
        await mkdir(`${etc}/firewalld`, { recursive: true });
        await writeFile(`${etc}/firewalld/firewalld.conf`, FIREWALLD_TEST_CONF);
        for (const c of (await cases_()).slice(0, 1)) {
          const [script] = (await render(c, 'firewalld', 'files')).files;
          const file = path.join(c.dir, 'firewalld-kubewall.sh');
          await writeFile(file, script!.content);
          const result = await execa('ip', ['netns', 'exec', netns, 'sh', file, '--check'], {
            cwd: c.dir,
            env: { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${work}/no-bus`, TMPDIR: work },
            reject: false,
            timeout: 180_000,
          });
          assert.is(result.exitCode, 0, `case ${c.index}: firewalld --check: ${result.stdout}${result.stderr}`);
        }
      } finally {
        await rm(etc, { recursive: true, force: true });
        await rm(work, { recursive: true, force: true });
      }
    });
    await assertNoCanary();
  });

  test('ufw: the script with --dry-run and a private /etc/ufw, two cases', async () => {
    await withNetns('hostufw', async (netns) => {
      const etc = `/etc/netns/${netns}`;
      try {
        await mkdir(etc, { recursive: true });
        await cp('/etc/ufw', `${etc}/ufw`, { recursive: true });
        await cp('/etc/default', `${etc}/default`, { recursive: true });
        for (const name of ['before.rules', 'before6.rules', 'after.rules', 'after6.rules', 'user.rules', 'user6.rules']) {
          await copyFile(`/usr/share/ufw/iptables/${name}`, `${etc}/ufw/${name}`);
        }
        await copyFile('/usr/share/ufw/ufw.conf', `${etc}/ufw/ufw.conf`);
        for (const c of (await cases_()).slice(0, 2)) {
          const [script] = (await render(c, 'ufw', 'files')).files;
          const file = path.join(c.dir, 'kubewall-ufw.sh');
          await writeFile(file, script!.content);
          const result = await execa('ip', ['netns', 'exec', netns, 'sh', file, '--dry-run'], { cwd: c.dir, reject: false });
          assert.is(result.exitCode, 0, `case ${c.index}: ufw --dry-run: ${result.stderr}\n${result.stdout.slice(-1500)}`);
        }
        assert.equal((await readFile(`${etc}/ufw/user.rules`, 'utf8')).includes('kubewall'), false, 'a dry run changed user.rules');
      } finally {
        await rm(etc, { recursive: true, force: true });
      }
    });
    await assertNoCanary();
  });
});

test.run();

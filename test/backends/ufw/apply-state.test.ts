import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readOwnedUfwBlocks, readUfwSetting, restoredUfwRules, ufwChainsLoaded, ufwLeftoverRemoval, ufwRestoreCommands, ufwStatusActive } from '../../../src/backends/ufw/apply-state.js';

const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex');
const HEAD = '*filter\n:ufw-user-input - [0:0]\n:ufw-user-output - [0:0]\n### RULES ###\n';
const TAIL = '\n### END RULES ###\n\n### LOGGING ###\n-A ufw-after-logging-input -j LOG --log-prefix "[UFW BLOCK] "\n### END LOGGING ###\nCOMMIT\n';
/** A user rules file as ufw 0.36 writes it: each rule is a blank line, its tuple and its -A lines. */
function rulesFile(...rules: string[]): string {
  return `${HEAD}${rules.map((r) => `\n${r}`).join('')}${TAIL}`;
}
const foreign = (port: number) => `### tuple ### allow tcp ${port} 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport ${port} -j ACCEPT\n`;
const other = (port: number) => `### tuple ### allow tcp ${port} 0.0.0.0/0 any 0.0.0.0/0 in comment=${hex('web server')}\n-A ufw-user-input -p tcp --dport ${port} -j ACCEPT\n`;
const kw = (port: number, from = '10.0.0.1') =>
  `### tuple ### allow tcp ${port} 0.0.0.0/0 any ${from} in comment=${hex(`kubewall rule/tcp/x port ${port} from ${from}`)}\n-A ufw-user-input -p tcp --dport ${port} -s ${from} -j ACCEPT\n`;

test('hex comments as ufw writes them: ASCII and UTF-8 (ufw hexlifies the UTF-8 bytes)', () => {
  assert.is(hex('kubewall ssh'), '6b75626577616c6c20737368');
  const utf8 = `### tuple ### allow tcp 1 0.0.0.0/0 any 0.0.0.0/0 in comment=${hex('kubewall café → ok')}\n-A ufw-user-input -p tcp --dport 1 -j ACCEPT\n`;
  assert.equal(readOwnedUfwBlocks(rulesFile(utf8)).length, 1);
  const lookalike = `### tuple ### allow tcp 2 0.0.0.0/0 any 0.0.0.0/0 in comment=${hex('kubewallish')}\n-A ufw-user-input -p tcp --dport 2 -j ACCEPT\n`;
  assert.equal(readOwnedUfwBlocks(rulesFile(lookalike)), [], '"kubewall" without the space is not the tag');
});

test("reads kubewall's rules with the number of other rules before each; comments other than the tag are others", () => {
  const owned = readOwnedUfwBlocks(rulesFile(foreign(9999), kw(22), kw(10250), other(80), kw(30000)));
  assert.equal(owned.map((b) => b.position), [1, 1, 2]);
  assert.is(owned[0]!.text, `${kw(22).trimEnd()}\n`, 'a block is the tuple, its -A lines and the blank line after it');
  assert.equal(readOwnedUfwBlocks(rulesFile()), []);
  assert.equal(readOwnedUfwBlocks('*filter\n:ufw-user-input - [0:0]\n### RULES ###\nCOMMIT\n'), [], "the package's template, never written by ufw");
});

test('restore: tagged rules now in the file go, the saved ones come back at their places; others stay as they are now', () => {
  const saved = readOwnedUfwBlocks(rulesFile(foreign(9999), kw(22), kw(10250), other(80)));
  // Since: the apply added and removed kubewall rules, someone added 8080 at the end.
  const current = rulesFile(foreign(9999), kw(22), other(80), kw(6443), kw(2379), foreign(8080));
  assert.is(restoredUfwRules(saved, current, 'user.rules'), rulesFile(foreign(9999), kw(22), kw(10250), other(80), foreign(8080)));
  assert.is(restoredUfwRules([], current, 'user.rules'), rulesFile(foreign(9999), other(80), foreign(8080)));
  assert.is(restoredUfwRules(readOwnedUfwBlocks(rulesFile(kw(22))), rulesFile(), 'user.rules'), rulesFile(kw(22)), 'into a file with no rules');
});

test('restore: others removed rules meanwhile → kubewall rules go to the end, never past it; twice is the same as once', () => {
  const saved = readOwnedUfwBlocks(rulesFile(foreign(1), foreign(2), foreign(3), kw(22), foreign(4), kw(10250)));
  const current = rulesFile(foreign(1), kw(6443));
  const once = restoredUfwRules(saved, current, 'user.rules');
  assert.is(once, rulesFile(foreign(1), kw(22), kw(10250)));
  assert.is(restoredUfwRules(saved, once, 'user.rules'), once);
  const exact = rulesFile(foreign(1), foreign(2), foreign(3), kw(22), foreign(4), kw(10250));
  assert.is(restoredUfwRules(saved, exact, 'user.rules'), exact, 'nothing changed: the file text is returned unchanged');
});

test('restore: kubewall rules cannot be put back into a file without the end marker ufw writes', () => {
  const template = '*filter\n:ufw-user-input - [0:0]\n### RULES ###\nCOMMIT\n';
  assert.is(restoredUfwRules([], template, '/etc/ufw/user.rules'), template);
  assert.throws(() => restoredUfwRules(readOwnedUfwBlocks(rulesFile(kw(22))), template, '/etc/ufw/user.rules'), /\/etc\/ufw\/user\.rules: no "### END RULES ###" line/);
});

test('settings: unquoted, the last one wins, null when absent; ufw status', () => {
  assert.is(readUfwSetting('IPV6=yes\nDEFAULT_INPUT_POLICY="ACCEPT"\n# DEFAULT_INPUT_POLICY="x"\nDEFAULT_INPUT_POLICY="DROP"\n', 'DEFAULT_INPUT_POLICY'), 'DROP');
  assert.is(readUfwSetting("ENABLED='yes'\n", 'ENABLED'), 'yes');
  assert.is(readUfwSetting('IPV6=yes\n', 'ENABLED'), null);
  assert.is(ufwStatusActive('Status: active\n\nTo Action From\n'), true);
  assert.is(ufwStatusActive('Status: inactive\n'), false);
  assert.throws(() => ufwStatusActive('ERROR: You need to be root to run this script\n'), /ufw status: expected "Status: active" or "Status: inactive", got "ERROR: You need to be root/);
});

test('restore commands: stop what the apply started, set back the policy, reload only what runs and changed', () => {
  const base = { defaultInputPolicy: 'DROP', active: true, enabled: true, filesChanged: true };
  const disabled = { active: false, enabled: false };
  assert.equal(ufwRestoreCommands({ defaultInputPolicy: 'ACCEPT', ...disabled }, base), [['ufw', 'disable'], ['ufw', 'default', 'allow', 'incoming']], 'disabled first: then the policy needs no reload');
  assert.equal(ufwRestoreCommands({ defaultInputPolicy: 'DROP', ...disabled }, base), [['ufw', 'disable']]);
  assert.equal(
    ufwRestoreCommands({ defaultInputPolicy: 'ACCEPT', active: false, enabled: true }, base),
    [['ufw', 'default', 'allow', 'incoming'], ['/lib/ufw/ufw-init', 'stop']],
    'enabled but not running: ufw-init stop keeps ENABLED=yes, after the policy (which starts an enabled ufw)',
  );
  assert.equal(ufwRestoreCommands({ defaultInputPolicy: 'DROP', active: true, enabled: true }, base), [['ufw', 'reload']]);
  assert.equal(ufwRestoreCommands({ defaultInputPolicy: 'REJECT', active: true, enabled: true }, base), [['ufw', 'default', 'reject', 'incoming']], 'ufw default reloads an enabled ufw itself');
  assert.equal(ufwRestoreCommands({ defaultInputPolicy: 'DROP', active: true, enabled: true }, { ...base, filesChanged: false }), []);
  assert.equal(ufwRestoreCommands({ defaultInputPolicy: 'DROP', ...disabled }, { ...base, active: false, enabled: false }), [], 'files only: ufw reads them when it starts');
  assert.equal(ufwRestoreCommands({ defaultInputPolicy: 'DROP', active: true, enabled: true }, { ...base, active: false, enabled: false }), [], 'someone stopped ufw meanwhile: it stays stopped');
  assert.equal(ufwRestoreCommands({ defaultInputPolicy: null, active: true, enabled: true }, base), [['ufw', 'reload']]);
  assert.throws(() => ufwRestoreCommands({ defaultInputPolicy: 'LOG', active: true, enabled: true }, base), /saved DEFAULT_INPUT_POLICY="LOG": not one ufw can set back \(ACCEPT, DROP or REJECT\)/);
});

const STOPPED = `# Generated by iptables-save v1.8.9
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -j KUBE-SERVICES
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:ufw-before-input - [0:0]
:ufw-user-input - [0:0]
:KUBE-FIREWALL - [0:0]
-A INPUT -j KUBE-FIREWALL
-A INPUT -j ufw-before-input
-A INPUT -p tcp -m tcp --dport 9998 -j ACCEPT
-A FORWARD -g ufw-before-input
-A ufw-before-input -j ufw-user-input
COMMIT
`;

test("ufw's leftover chains: only ufw's chains and the rules jumping into them are named", () => {
  assert.is(ufwChainsLoaded(STOPPED), true);
  assert.is(ufwChainsLoaded(STOPPED.replace(/ufw/g, 'other')), false);
  assert.is(
    ufwLeftoverRemoval(STOPPED),
    ['*filter', ':ufw-before-input - [0:0]', ':ufw-user-input - [0:0]', '-D INPUT -j ufw-before-input', '-D FORWARD -g ufw-before-input', '-X ufw-before-input', '-X ufw-user-input', 'COMMIT', ''].join('\n'),
  );
  assert.is(ufwLeftoverRemoval(STOPPED.replace(/ufw/g, 'other')), '');
  assert.is(ufwLeftoverRemoval(''), '');
});

test.run();

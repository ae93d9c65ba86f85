import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { diffRulesets } from '../../src/diff/diff-rulesets.js';
import { choosePalette, COLOURS, formatDiffJson, formatDiffText, NO_COLOURS } from '../../src/diff/format-diff.js';
import type { NormalizedRuleset } from '../../src/diff/types.js';

const desired: NormalizedRuleset = {
  scope: 'table inet kubewall',
  present: true,
  chains: [{ name: 'input', policy: 'drop', details: {} }],
  rules: [
    { chain: 'input', family: 'ipv4', source: null, match: { kind: 'ports', protocol: 'tcp', ports: [{ from: 6443, to: 6443 }] }, verdict: 'accept', origin: 'kube-apiserver/tcp/any' },
    { chain: 'input', family: 'ipv6', source: null, match: { kind: 'ports', protocol: 'tcp', ports: [{ from: 6443, to: 6443 }] }, verdict: 'accept', origin: 'kube-apiserver/tcp/any' },
  ],
  sets: [{ name: 'admin-v4', family: 'ipv4', elements: ['10.0.0.0/24'] }],
};
const empty: NormalizedRuleset = { scope: 'table inet kubewall', present: false, chains: [], rules: [], sets: [] };
const report = (actual: NormalizedRuleset) => ({ backend: 'nftables', roles: ['control-plane'], source: 'dump.json', result: diffRulesets(desired, actual), warnings: [{ code: 'ufw-active', message: 'ufw is enabled' }] });

test('colour only on a terminal and never with NO_COLOR', () => {
  assert.is(choosePalette({ isTTY: true }, {}), COLOURS);
  assert.is(choosePalette({ isTTY: true }, { NO_COLOR: '1' }), NO_COLOURS);
  assert.is(choosePalette({ isTTY: true }, { NO_COLOR: '' }), COLOURS, 'an empty NO_COLOR does not count (no-color.org)');
  assert.is(choosePalette({ isTTY: false }, {}), NO_COLOURS);
  assert.is(choosePalette({}, {}), NO_COLOURS);
});

test('text report: families coalesced, additions green on a terminal, warnings after the changes', () => {
  const plain = formatDiffText(report(empty));
  assert.match(plain, /None of table inet kubewall is on the host: applying creates all of it\./);
  assert.match(plain, /Rules to add \(1\):\n {2}\+ input {7}ipv4\+ipv6 tcp dport 6443 accept {2}# kube-apiserver\/tcp\/any\n/);
  assert.match(plain, /Warnings \(1\), outside kubewall's rules:\n {2}! ufw is enabled \[ufw-active\]/);
  assert.match(plain, /Changes pending/);
  assert.not.match(plain, /\u001b/);
  const coloured = formatDiffText(report(empty), COLOURS);
  assert.match(coloured, /\u001b\[32m {2}\+ input/);
});

test('json report: versioned, counts per family, in sync when equal', () => {
  const json = JSON.parse(formatDiffJson(report(empty)));
  assert.is(json.apiVersion, 'kubewall.dev/diff/v1');
  assert.is(json.summary.rulesToAdd, 2);
  assert.is(json.summary.setsToAdd, 1);
  assert.is(json.present, false);
  const same = JSON.parse(formatDiffJson(report(desired)));
  assert.is(same.inSync, true);
  assert.is(same.summary.rulesUnchanged, 2);
});

test.run();

import { execa } from 'execa';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertFirewalldName, escapeXml, quoteSh, shCommentText, xmlCommentText } from '../../../src/backends/firewalld/escape.js';

const HOSTILE = `a'b"c $(reboot) \`id\` \\ ; flush ruleset\nnext -- line -->`;

test('quoteSh gives back the exact text through a real sh', async () => {
  for (const text of [HOSTILE, '', "'", "''", 'plain', 'x\ny']) {
    const { stdout } = await execa('sh', ['-c', `printf '%s' ${quoteSh(text)}`], { stripFinalNewline: false });
    assert.is(stdout, text);
  }
});

test('shCommentText keeps a comment on its line', () => {
  assert.is(shCommentText('a\nb\rc\u2028d'), 'a b c d');
  assert.not.match(shCommentText(HOSTILE), /\n/);
});

test('escapeXml escapes markup and both quote kinds, and drops what XML cannot hold', () => {
  assert.is(escapeXml(`<a href="x" b='y'>&</a>`), '&lt;a href=&quot;x&quot; b=&apos;y&apos;&gt;&amp;&lt;/a&gt;');
  assert.is(escapeXml('nul\u0000bell\u0007\uffff'), 'nul bell  ');
});

test('xmlCommentText never holds "--" nor ends with "-"', () => {
  for (const text of ['a--b', 'a---b', '-->', 'x-', '--', HOSTILE]) {
    const safe = xmlCommentText(text);
    assert.not.ok(safe.includes('--'), `${JSON.stringify(text)} → ${JSON.stringify(safe)}`);
    assert.not.ok(safe.endsWith('-'), `${JSON.stringify(text)} → ${JSON.stringify(safe)}`);
    assert.not.match(safe, /\n/);
  }
  assert.is(xmlCommentText('use --cluster FILE'), 'use - -cluster FILE');
});

test('assertFirewalldName refuses anything but short lowercase names', () => {
  assert.is(assertFirewalldName('kubewall', 'zone'), 'kubewall');
  assert.is(assertFirewalldName('kubewall-load-balancers-v6', 'ipset'), 'kubewall-load-balancers-v6');
  for (const bad of ['', 'Kubewall', '-x', 'a b', "x';reboot", 'kubewall/../x']) assert.throws(() => assertFirewalldName(bad, 'ipset'));
  assert.throws(() => assertFirewalldName('a'.repeat(18), 'zone'), /17/);
  assert.throws(() => assertFirewalldName('a'.repeat(32), 'ipset'), /31/);
});

test.run();

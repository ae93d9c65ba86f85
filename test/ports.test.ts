import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatPortRange, mergePortRanges, parsePortRange, parsePortSpec } from '../src/ports.js';

const valid: Array<[number | string, { from: number; to: number }]> = [
  [6443, { from: 6443, to: 6443 }],
  ['6443', { from: 6443, to: 6443 }],
  ['2379-2380', { from: 2379, to: 2380 }],
  ['30000 - 32767', { from: 30000, to: 32767 }],
  [1, { from: 1, to: 1 }],
  [65535, { from: 65535, to: 65535 }],
];
for (const [input, expected] of valid) {
  test(`parsePortRange(${JSON.stringify(input)})`, () => {
    assert.equal(parsePortRange(input), expected);
  });
}

const invalid: Array<[number | string, RegExp]> = [
  [0, /port 0 .* out of range \(expected 1-65535\)/],
  [65536, /port 65536 .* out of range/],
  ['10-5', /reversed port range "10-5" \(expected the lower port first, e\.g\. "5-10"\)/],
  ['abc', /invalid port "abc"/],
  ['1-2-3', /invalid port/],
  [-1, /invalid port/],
  [1.5, /invalid port/],
];
for (const [input, message] of invalid) {
  test(`parsePortRange(${JSON.stringify(input)}) is rejected with a reason`, () => {
    const result = parsePortRange(input);
    assert.type(result, 'string');
    assert.match(result as string, message);
  });
}

test('parsePortSpec merges overlapping and adjacent ranges, sorted', () => {
  assert.equal(parsePortSpec([8080, '80-90', 91, '100-110', '105-120']), [
    { from: 80, to: 91 },
    { from: 100, to: 120 },
    { from: 8080, to: 8080 },
  ]);
  assert.equal(parsePortSpec([]), 'empty port list (expected at least one port or range)');
  assert.match(parsePortSpec([80, 0]) as string, /out of range/);
});

test('mergePortRanges keeps separate ranges apart', () => {
  assert.equal(mergePortRanges([{ from: 10, to: 10 }, { from: 12, to: 12 }]), [
    { from: 10, to: 10 },
    { from: 12, to: 12 },
  ]);
});

test('formatPortRange uses the grammar separator', () => {
  assert.is(formatPortRange({ from: 30000, to: 32767 }), '30000-32767');
  assert.is(formatPortRange({ from: 30000, to: 32767 }, ':'), '30000:32767');
  assert.is(formatPortRange({ from: 22, to: 22 }, ':'), '22');
});

test.run();

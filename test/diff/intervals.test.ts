import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatAddressIntervals, parseAddressElement, subtractIntervals, unionIntervals, type Interval } from '../../src/diff/intervals.js';

const iv = (from: number, to: number): Interval => ({ from: BigInt(from), to: BigInt(to) });

test('union sorts and merges overlapping and adjacent intervals', () => {
  assert.equal(unionIntervals([iv(10, 20), iv(1, 3), iv(4, 5), iv(15, 30)]), [iv(1, 5), iv(10, 30)]);
  assert.equal(unionIntervals([]), []);
});

const SUBTRACT: [string, Interval[], Interval[], Interval[]][] = [
  ['nothing removed', [iv(1, 10)], [], [iv(1, 10)]],
  ['middle cut', [iv(1, 10)], [iv(4, 6)], [iv(1, 3), iv(7, 10)]],
  ['edges cut', [iv(1, 10)], [iv(1, 1), iv(10, 12)], [iv(2, 9)]],
  ['all removed', [iv(1, 10)], [iv(0, 20)], []],
  ['several ranges', [iv(1, 5), iv(10, 15)], [iv(3, 11)], [iv(1, 2), iv(12, 15)]],
  ['disjoint', [iv(1, 5)], [iv(6, 9)], [iv(1, 5)]],
];
for (const [name, a, b, expected] of SUBTRACT) {
  test(`subtract: ${name}`, () => assert.equal(subtractIntervals(a, b), expected));
}

test('address elements: addresses, CIDRs (host bits ignored like the kernel), ranges; wrong family or junk is undefined', () => {
  assert.equal(parseAddressElement('10.0.0.1', 'ipv4'), { from: 0x0a000001n, to: 0x0a000001n });
  assert.equal(parseAddressElement('10.0.0.0/30', 'ipv4'), { from: 0x0a000000n, to: 0x0a000003n });
  assert.equal(parseAddressElement('10.0.0.5/30', 'ipv4'), { from: 0x0a000004n, to: 0x0a000007n });
  assert.equal(parseAddressElement('10.0.0.1-10.0.0.9', 'ipv4'), { from: 0x0a000001n, to: 0x0a000009n });
  assert.equal(parseAddressElement('fd00::/127', 'ipv6')?.to, (0xfd00n << 112n) + 1n);
  assert.is(parseAddressElement('fd00::1', 'ipv4'), undefined);
  assert.is(parseAddressElement('10.0.0.0/33', 'ipv4'), undefined);
  assert.is(parseAddressElement('10.0.0.9-10.0.0.1', 'ipv4'), undefined);
  assert.is(parseAddressElement('nope', 'ipv4'), undefined);
});

test('intervals print as the fewest exact CIDRs', () => {
  const range = (text: string) => parseAddressElement(text, 'ipv4')!;
  assert.equal(formatAddressIntervals([range('10.0.0.0/8')], 'ipv4'), ['10.0.0.0/8']);
  assert.equal(formatAddressIntervals([range('10.0.0.1-10.0.0.6')], 'ipv4'), ['10.0.0.1', '10.0.0.2/31', '10.0.0.4/31', '10.0.0.6']);
  assert.equal(formatAddressIntervals([range('0.0.0.0/0')], 'ipv4'), ['0.0.0.0/0']);
  assert.equal(formatAddressIntervals([parseAddressElement('fd00:99::/64', 'ipv6')!], 'ipv6'), ['fd00:99::/64']);
});

test.run();

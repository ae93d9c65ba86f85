import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fullSetProblems, LOST_INSERTS, REORDER_WINDOW } from './flood-order.js';

const sent = Array.from({ length: 100_000 }, (_, i) => `10.77.0.${1 + (i % 4)},${i}`);
const size = 65_536;
const allowed = Math.ceil(size * LOST_INSERTS);
const recordsOf = (indices: Iterable<number>) => new Set([...indices].map((i) => sent[i]!));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

test('a full set holding exactly the first pairs sent has no problem', () => {
  assert.equal(fullSetProblems(sent, recordsOf(range(0, size)), size), []);
});

test('pairs swapped around the boundary (packets reordered between CPUs) are no problem', () => {
  // 138 sent just before the 65,536th left out, 138 sent just after taken in: what a CI run recorded.
  const records = recordsOf([...range(0, size - 200), ...range(size - 62, size + 138)]);
  assert.is(records.size, size);
  assert.equal(fullSetProblems(sent, records, size), []);
});

test('a few inserts lost in the middle of the flood (later pairs take their places) are no problem', () => {
  const lost = new Set(range(38_574, 38_612));
  const records = recordsOf([...range(0, size).filter((i) => !lost.has(i)), ...range(size, size + lost.size)]);
  assert.equal(fullSetProblems(sent, records, size), []);
});

test('the oldest records evicted for newer ones fail, and so do records from far after the set filled', () => {
  const evictedOldest = recordsOf([...range(5000, size), ...range(size, size + 5000)]);
  assert.equal(fullSetProblems(sent, evictedOldest, size), [
    `5000 of the first ${size - REORDER_WINDOW} pairs sent are not recorded, more than the ${allowed} a flood may lose (evicted? the first is pair 0)`,
    // Their places went to the pairs sent after the set filled, the last 904 of them beyond the window.
    `904 pairs sent more than ${REORDER_WINDOW} packets after the set was full are recorded, more than the ${allowed} lost inserts could explain (the first is pair ${size + REORDER_WINDOW}): something made room for them`,
  ]);
  // The 1,000 left out were sent just before the set filled: only the late ones are a problem.
  const lateOnes = recordsOf([...range(0, size - 1000), ...range(90_000, 91_000)]);
  assert.equal(fullSetProblems(sent, lateOnes, size), [
    `1000 pairs sent more than ${REORDER_WINDOW} packets after the set was full are recorded, more than the ${allowed} lost inserts could explain (the first is pair 90000): something made room for them`,
  ]);
});

test.run();

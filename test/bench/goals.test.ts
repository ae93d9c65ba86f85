// The bench's goal column (bench/goals.ts): what issue 16 asks of each case, and the verdict per row.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DIFF_FROM_GOAL, describeGoal, describeGoals, judgeGoal, LIVE_DIFF_GOAL, renderGoal } from '../../bench/goals.js';

test('render goals follow the cluster size: 1.5x the example, 2x at 5,000 nodes, 3x at 50,000', () => {
  assert.equal(renderGoal(undefined), { ratio: 1.5 });
  assert.equal(renderGoal(5000), { ratio: 2 });
  assert.equal(renderGoal(50000), { ratio: 3 });
  assert.is(describeGoal(DIFF_FROM_GOAL), '<= 500 ms, <= 250 MB');
  assert.is(describeGoal(LIVE_DIFF_GOAL), '<= 2000 ms');
  assert.is(
    describeGoals(),
    'Goals (issue 16): render <= 1.5x (example), <= 2x (5,000 nodes), <= 3x (50,000 nodes); diff --from <= 500 ms, <= 250 MB, linear 1x to 4x; live diff <= 2000 ms.',
  );
});

const text = (...args: Parameters<typeof judgeGoal>) => judgeGoal(...args).text;

test('a case at its limit meets it; past it, the verdict names every limit passed', () => {
  assert.is(text({ ratio: 2 }, { ratio: 2, ms: 200, mb: 60 }), '<= 2x: met');
  assert.is(text({ ratio: 2 }, { ratio: 2.21, ms: 255, mb: 65 }), '<= 2x: OVER (2.21x)');
  assert.is(text(DIFF_FROM_GOAL, { ratio: 4.1, ms: 432, mb: 231 }), '<= 500 ms, <= 250 MB: met');
  assert.is(text(DIFF_FROM_GOAL, { ratio: 6, ms: 575, mb: 251 }), '<= 500 ms, <= 250 MB: OVER (575 ms, 251 MB)');
  assert.is(text(DIFF_FROM_GOAL, { ratio: 6, ms: 499, mb: 300 }), '<= 500 ms, <= 250 MB: OVER (300 MB)');
});

test('no goal, no verdict; an unread peak is not counted as met', () => {
  assert.is(text(undefined, { ratio: 9, ms: 900, mb: 900 }), '');
  assert.is(text(DIFF_FROM_GOAL, { ratio: 2, ms: 200, mb: Number.NaN }), '<= 500 ms, <= 250 MB: peak RSS unknown');
  assert.is(text(DIFF_FROM_GOAL, { ratio: 2, ms: 600, mb: Number.NaN }), '<= 500 ms, <= 250 MB: OVER (600 ms)');
});

test('the verdict says over exactly when a limit is passed (the table counts it)', () => {
  assert.is(judgeGoal({ ratio: 2 }, { ratio: 2.01, ms: 1, mb: 1 }).over, true);
  assert.is(judgeGoal({ ratio: 2 }, { ratio: 2, ms: 1, mb: 1 }).over, false);
  assert.is(judgeGoal(DIFF_FROM_GOAL, { ratio: 1, ms: 1, mb: Number.NaN }).over, false);
  assert.is(judgeGoal(undefined, { ratio: 9, ms: 9, mb: 9 }).over, false);
});

test.run();

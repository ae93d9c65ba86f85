// The figures issue 16 asks of the bench's cases, and how a measurement
// compares with them: the table says per row whether a goal is met, so a
// reader need not hold the goal line against thirty rows by eye.

/** A limit on a case: a ratio to `node -e 0`, milliseconds, peak RSS in MB; any of them. */
export interface Goal {
  readonly ratio?: number;
  readonly ms?: number;
  readonly mb?: number;
}

export interface Measured {
  readonly ratio: number;
  readonly ms: number;
  /** NaN when the peak could not be read. */
  readonly mb: number;
}

/** The render goal for a cluster of this size: <= 1.5x (example), 2x (5,000 nodes), 3x (50,000 nodes). */
export function renderGoal(nodes: number | undefined): Goal {
  if (nodes === undefined) return { ratio: 1.5 };
  return { ratio: nodes <= 5000 ? 2 : 3 };
}

/** `diff --from` a kube-proxy-sized dump, at 1x and 4x. */
export const DIFF_FROM_GOAL: Goal = { ms: 500, mb: 250 };
/** A live diff on a node holding kube-proxy's ruleset, with the default timeout. */
export const LIVE_DIFF_GOAL: Goal = { ms: 2000 };

/** `<= 2x`, `<= 500 ms, <= 250 MB`. */
export function describeGoal(goal: Goal): string {
  const parts: string[] = [];
  if (goal.ratio !== undefined) parts.push(`<= ${goal.ratio}x`);
  if (goal.ms !== undefined) parts.push(`<= ${goal.ms} ms`);
  if (goal.mb !== undefined) parts.push(`<= ${goal.mb} MB`);
  return parts.join(', ');
}

/** Every goal in one line, from the same figures the column judges by. */
export function describeGoals(): string {
  const render = [
    `${describeGoal(renderGoal(undefined))} (example)`,
    `${describeGoal(renderGoal(5000))} (5,000 nodes)`,
    `${describeGoal(renderGoal(50000))} (50,000 nodes)`,
  ];
  return `Goals (issue 16): render ${render.join(', ')}; diff --from ${describeGoal(DIFF_FROM_GOAL)}, linear 1x to 4x; live diff ${describeGoal(LIVE_DIFF_GOAL)}.`;
}

/** The goal column's text for one case, and whether it passed a limit. */
export interface GoalVerdict {
  readonly text: string;
  readonly over: boolean;
}

/**
 * The goal column: empty without a goal, `<= 2x: met`, or `<= 2x: OVER
 * (2.21x)` naming each limit passed. A peak that could not be read is not
 * a pass: the column says it is unknown.
 */
export function judgeGoal(goal: Goal | undefined, measured: Measured): GoalVerdict {
  if (goal === undefined) return { text: '', over: false };
  const passed: string[] = [];
  if (goal.ratio !== undefined && measured.ratio > goal.ratio) passed.push(`${measured.ratio.toFixed(2)}x`);
  if (goal.ms !== undefined && measured.ms > goal.ms) passed.push(`${measured.ms.toFixed(0)} ms`);
  if (goal.mb !== undefined && measured.mb > goal.mb) passed.push(`${measured.mb.toFixed(0)} MB`);
  if (passed.length > 0) return { text: `${describeGoal(goal)}: OVER (${passed.join(', ')})`, over: true };
  const unknown = goal.mb !== undefined && Number.isNaN(measured.mb);
  return { text: `${describeGoal(goal)}: ${unknown ? 'peak RSS unknown' : 'met'}`, over: false };
}

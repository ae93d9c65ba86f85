import * as assert from 'uvu/assert';

/**
 * assert.throws for a promise: passes when `run` rejects with an error whose
 * message matches `expected` (or that `expected` accepts), fails when it resolves.
 */
export async function rejects(run: () => Promise<unknown>, expected: RegExp | ((error: unknown) => boolean), message?: string): Promise<void> {
  let rejection: { error: unknown } | undefined;
  try {
    await run();
  } catch (error) {
    rejection = { error };
  }
  if (!rejection) assert.unreachable(message ?? 'expected a rejection');
  const { error } = rejection!;
  if (expected instanceof RegExp) assert.match((error as Error)?.message ?? String(error), expected, message);
  else assert.ok(expected(error), message ?? `unexpected rejection: ${String(error)}`);
}

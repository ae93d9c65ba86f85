import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createExecaRunner } from '../../src/host/execa-runner.js';

// The raw runner (the guard is tested in read-only.test.ts): how real processes end, mapped to outcomes.
test('a missing command is not-found, not an exception', async () => {
  assert.equal(await createExecaRunner().run('kubewall-no-such-tool', []), { status: 'not-found' });
});

test('exit code, stdout and stderr are kept; a non-zero exit is an outcome, not an exception', async () => {
  const outcome = await createExecaRunner().run('sh', ['-c', 'echo out; echo err >&2; exit 3']);
  assert.equal(outcome, { status: 'exited', exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
});

test('a command that hangs is stopped and reported as timed-out', async () => {
  const started = Date.now();
  assert.equal(await createExecaRunner({ timeoutMs: 200 }).run('sleep', ['10']), { status: 'timed-out', timeoutMs: 200 });
  assert.ok(Date.now() - started < 5000);
});

test('messages are in English whatever the locale (C locale)', async () => {
  const outcome = await createExecaRunner().run('sh', ['-c', 'echo $LC_ALL']);
  assert.equal(outcome.status === 'exited' && outcome.stdout, 'C\n');
});

test.run();

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lazyRenderedFile } from '../../src/backends/types.js';

test('lazyRenderedFile renders when its content is first read, and once', () => {
  let renders = 0;
  const file = lazyRenderedFile('kubewall-v4.rules', 0o644, () => `rendered ${++renders}`);
  assert.is(renders, 0, 'not rendered before it is read');
  assert.equal({ name: file.name, mode: file.mode }, { name: 'kubewall-v4.rules', mode: 0o644 });
  assert.is(file.content, 'rendered 1');
  assert.is(file.content, 'rendered 1');
  assert.is(renders, 1);
  // A copy (as --out-dir and the payloads make) carries the content.
  assert.equal({ ...file }, { name: 'kubewall-v4.rules', mode: 0o644, content: 'rendered 1' });
});

test.run();

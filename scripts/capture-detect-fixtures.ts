// Regenerates test/fixtures/detect/<scenario>.json: what `kubewall detect
// --capture` (the same read-only commands as a live detect) read from each
// node state of test/detect/scenarios.ts, built with real devices and sockets
// in a throwaway network namespace (never on the host), deleted afterwards.
// Run as root after `npm run build`:  node dist/scripts/capture-detect-fixtures.js [scenario]...
import { execa } from 'execa';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PACKAGE_PATHS } from '../src/paths.js';
import { withNetns } from '../test/helpers/netns.js';
import { buildScenario, SCENARIOS } from '../test/detect/scenarios.js';

const only = process.argv.slice(2);
const bin = path.join(PACKAGE_PATHS.root, 'bin', 'kubewall.js');
for (const scenario of SCENARIOS.filter((s) => only.length === 0 || only.includes(s.name))) {
  await withNetns('detect', async (netns) => {
    const built = await buildScenario(netns, scenario);
    try {
      const { stdout } = await execa('ip', ['netns', 'exec', netns, process.execPath, bin, 'detect', '--capture']);
      const file = path.join(PACKAGE_PATHS.root, 'test', 'fixtures', 'detect', `${scenario.name}.json`);
      await writeFile(file, `${stdout}\n`);
      process.stdout.write(`${file}\n`);
    } finally {
      await built.stop();
    }
  });
}

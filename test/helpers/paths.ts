import { fileURLToPath } from 'node:url';

// Tests run compiled from dist/test/**, the repository root is found by walking up to it.
const here = fileURLToPath(new URL('.', import.meta.url));
export const REPO_ROOT = here.replace(/dist\/test\/.*$/, '');
export const BIN = `${REPO_ROOT}bin/kubewall.js`;
export const GOLDEN_DIR = `${REPO_ROOT}test/golden/`;
export const EXAMPLES_DIR = `${REPO_ROOT}examples/`;
export const FIXTURES_DIR = `${REPO_ROOT}test/fixtures/`;

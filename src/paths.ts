import { fileURLToPath } from 'node:url';

// Compiled modules live in dist/src/, so the package root is two levels up.
const packageRoot = new URL('../../', import.meta.url);

/** Folders shipped with the package, found relative to this module, never the working directory. */
export const PACKAGE_PATHS = {
  root: fileURLToPath(packageRoot),
  catalogue: fileURLToPath(new URL('catalogue/', packageRoot)),
  templates: fileURLToPath(new URL('templates/', packageRoot)),
  schema: fileURLToPath(new URL('schema/', packageRoot)),
  examples: fileURLToPath(new URL('examples/', packageRoot)),
} as const;

import path from 'node:path';
import { PACKAGE_PATHS } from '../paths.js';

/** Where `npm run build` writes the generated completions and man page (shipped in the package). */
export const CLI_DOC_FILES = {
  bash: path.join(PACKAGE_PATHS.root, 'dist', 'completions', 'kubewall.bash'),
  zsh: path.join(PACKAGE_PATHS.root, 'dist', 'completions', '_kubewall'),
  fish: path.join(PACKAGE_PATHS.root, 'dist', 'completions', 'kubewall.fish'),
  man: path.join(PACKAGE_PATHS.root, 'dist', 'man', 'kubewall.1'),
} as const;

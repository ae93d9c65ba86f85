// Run by `npm run build`: writes the shell completions and the man page,
// generated from the commander definitions (src/cli/cli-docs.ts), into
// dist/completions/ and dist/man/, which the package ships.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildProgram } from '../src/cli/cli.js';
import { COMPLETION_SHELLS, describeProgram, renderCompletion, renderManPage } from '../src/cli/cli-docs.js';
import { completionValues } from '../src/cli/completion-values.js';
import { CLI_DOC_FILES } from '../src/cli/cli-doc-files.js';
import { VERSION } from '../src/version.js';

const spec = describeProgram(await buildProgram(), VERSION, completionValues());
for (const shell of COMPLETION_SHELLS) {
  await mkdir(path.dirname(CLI_DOC_FILES[shell]), { recursive: true });
  await writeFile(CLI_DOC_FILES[shell], renderCompletion(spec, shell));
}
await mkdir(path.dirname(CLI_DOC_FILES.man), { recursive: true });
await writeFile(CLI_DOC_FILES.man, renderManPage(spec));

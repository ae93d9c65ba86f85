import type Handlebars from 'handlebars';
import HandlebarsRuntime from 'handlebars/runtime.js';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { BUILD_CACHE_FILES, readBuildCache } from '../build-cache.js';
import { KubewallError } from '../errors.js';
import { readTextFile } from '../input/read-file.js';

/** A compiled template that knows its file, so a failure names it. */
export interface CompiledTemplate {
  readonly file: string;
  render(view: object): string;
}

export interface TemplateEngine {
  /** Compiles `relativePath` under the templates folder. */
  load(relativePath: string): Promise<CompiledTemplate>;
}

/** Every `partials/*.hbs` is registered by its file name: `partials/header.hbs` is `{{> header}}`. */
const PARTIALS_DIR = 'partials';

async function readTemplate(dir: string, relativePath: string): Promise<{ file: string; source: string }> {
  const file = path.join(dir, relativePath);
  const source = await readTextFile(file, 'TEMPLATE', `template (expected ${relativePath} under the templates folder ${dir})`);
  return { file, source };
}

/**
 * An isolated Handlebars runtime over one templates folder. A template whose
 * text matches the build cache (the shipped ones, unedited) is loaded as
 * precompiled; any other is precompiled first, and only then is Handlebars'
 * compiler loaded (its parser alone cost a render's start-up ~3 ms).
 */
export async function createTemplateEngine(dir: string): Promise<TemplateEngine> {
  const hb = (HandlebarsRuntime as unknown as typeof Handlebars).create();
  const precompiled = (await readBuildCache<Record<string, string>>(BUILD_CACHE_FILES.templates)) ?? {};
  const compile = async (file: string, source: string): Promise<HandlebarsTemplateDelegate> => {
    const cached = Object.hasOwn(precompiled, source) ? precompiled[source] : undefined;
    const spec = cached ?? (await import('./precompile.js')).precompileTemplateFile(file, source);
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- our own build output or what precompile just made from the template
    return hb.template(new Function(`return ${spec};`)() as TemplateSpecification);
  };
  // The header partial every template uses must be there; the others are registered as found.
  let found: string[] = [];
  try {
    found = readdirSync(path.join(dir, PARTIALS_DIR));
  } catch {
    // No partials folder: only the header is required, and its absence is reported below.
  }
  const partials = [...new Set(['header.hbs', ...found.filter((name) => name.endsWith('.hbs'))])].sort();
  for (const partial of partials) {
    const { file, source } = await readTemplate(dir, `${PARTIALS_DIR}/${partial}`);
    hb.registerPartial(path.basename(partial, '.hbs'), await compile(file, source));
  }
  return {
    async load(relativePath) {
      const { file, source } = await readTemplate(dir, relativePath);
      const template = await compile(file, source);
      return {
        file,
        render(view) {
          try {
            return template(view);
          } catch (error) {
            throw new KubewallError('TEMPLATE', `${file}: cannot render: ${(error as Error).message}`, { cause: error });
          }
        },
      };
    },
  };
}

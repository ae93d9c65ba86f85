import Handlebars from 'handlebars';
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
// HTML escaping corrupts scripts (backends escape for their grammar in the view
// model); strict makes a missing field throw instead of rendering as empty.
const COMPILE_OPTIONS = { noEscape: true, strict: true } as const;

/** Precompiles a template for the build cache, with the options the engine uses. */
export function precompileTemplate(source: string): string {
  return Handlebars.precompile(source, COMPILE_OPTIONS) as string;
}

async function readTemplate(dir: string, relativePath: string): Promise<{ file: string; source: string }> {
  const file = path.join(dir, relativePath);
  const source = await readTextFile(file, 'TEMPLATE', `template (expected ${relativePath} under the templates folder ${dir})`);
  return { file, source };
}

function parseOrThrow(hb: typeof Handlebars, file: string, source: string): void {
  try {
    // compile() is lazy; parse now so a broken template fails before anything renders.
    hb.parse(source);
  } catch (error) {
    const detail = (error as Error).message.split('\n').filter((l) => l.trim() !== '' && !/^[-^\s]+$/.test(l));
    throw new KubewallError('TEMPLATE', `${file}: template does not compile: ${detail.join(' ')}`, { cause: error });
  }
}

/**
 * An isolated Handlebars instance over one templates folder. A template whose
 * text matches the build cache (the shipped ones, unedited) skips compiling.
 */
export async function createTemplateEngine(dir: string): Promise<TemplateEngine> {
  const hb = Handlebars.create();
  const precompiled = (await readBuildCache<Record<string, string>>(BUILD_CACHE_FILES.templates)) ?? {};
  const compile = (file: string, source: string): HandlebarsTemplateDelegate => {
    const spec = Object.hasOwn(precompiled, source) ? precompiled[source] : undefined;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- our own build output, as trusted as dist/
    if (spec !== undefined) return hb.template(new Function(`return ${spec};`)() as TemplateSpecification);
    parseOrThrow(hb, file, source);
    return hb.compile(source, COMPILE_OPTIONS);
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
    hb.registerPartial(path.basename(partial, '.hbs'), compile(file, source));
  }
  return {
    async load(relativePath) {
      const { file, source } = await readTemplate(dir, relativePath);
      const template = compile(file, source);
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

import Handlebars from 'handlebars';
import path from 'node:path';
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

const PARTIALS = ['partials/header.hbs'] as const;

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
 * An isolated Handlebars instance over one templates folder. `noEscape`
 * because HTML escaping corrupts scripts (backends escape for their own
 * grammar in the view model); `strict` so a missing field throws instead of
 * rendering an empty string into a firewall rule.
 */
export async function createTemplateEngine(dir: string): Promise<TemplateEngine> {
  const hb = Handlebars.create();
  for (const partial of PARTIALS) {
    const { file, source } = await readTemplate(dir, partial);
    parseOrThrow(hb, file, source);
    hb.registerPartial(path.basename(partial, '.hbs'), hb.compile(source, { noEscape: true, strict: true }));
  }
  return {
    async load(relativePath) {
      const { file, source } = await readTemplate(dir, relativePath);
      parseOrThrow(hb, file, source);
      const template = hb.compile(source, { noEscape: true, strict: true });
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

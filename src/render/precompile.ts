import Handlebars from 'handlebars';
import { KubewallError } from '../errors.js';

// HTML escaping corrupts scripts (backends escape for their grammar in the view
// model); strict makes a missing field throw instead of rendering as empty.
const COMPILE_OPTIONS = { noEscape: true, strict: true } as const;

/**
 * A template's precompiled specification (JavaScript source), with the
 * options the engine uses: what the build cache holds for the shipped
 * templates, and what the engine makes of an edited or custom one. Only this
 * module loads Handlebars' compiler; rendering needs the runtime alone.
 */
export function precompileTemplate(source: string): string {
  return Handlebars.precompile(source, COMPILE_OPTIONS) as string;
}

/** precompileTemplate, with a broken template reported as a TEMPLATE error naming its file. */
export function precompileTemplateFile(file: string, source: string): string {
  try {
    // Parse first: precompile's own errors carry less context.
    Handlebars.parse(source);
    return precompileTemplate(source);
  } catch (error) {
    const detail = (error as Error).message.split('\n').filter((l) => l.trim() !== '' && !/^[-^\s]+$/.test(l));
    throw new KubewallError('TEMPLATE', `${file}: template does not compile: ${detail.join(' ')}`, { cause: error });
  }
}

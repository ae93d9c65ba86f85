import path from 'node:path';
import type { BackendInstall, RenderedFile } from '../backends/types.js';
import { KubewallError } from '../errors.js';
import type { TemplateEngine } from '../render/template-engine.js';
import { octalMode, shQuote } from './quote.js';

/** kubewall.service: runs the apply command at boot for backends whose rules do not persist by themselves. */
export const BOOT_UNIT = {
  path: '/etc/systemd/system/kubewall.service',
  link: '/etc/systemd/system/multi-user.target.wants/kubewall.service',
  template: 'payloads/kubewall.service.hbs',
} as const;

export interface PersistFile {
  readonly path: string;
  readonly content: string;
  readonly mode: string;
  readonly why: string;
}

/**
 * A backend's install data laid out for the format templates: the same for
 * every backend, so a new backend changes nothing but its install data.
 */
export interface InstallView {
  readonly backend: string;
  readonly tools: readonly string[];
  readonly toolsHint: string;
  /** The backend's main (self-contained) file. */
  readonly file: { readonly name: string; readonly path: string; readonly dir: string; readonly mode: string; readonly content: string };
  readonly validate: readonly string[];
  readonly apply: readonly string[];
  readonly persist: {
    readonly files: readonly PersistFile[];
    readonly lines: readonly { readonly file: string; readonly dir: string; readonly line: string; readonly why: string }[];
    /** Lines an earlier kubewall version added: removed where present, nothing else in the file changes. */
    readonly removeLines: readonly { readonly file: string; readonly line: string; readonly why: string }[];
    readonly links: readonly { readonly path: string; readonly dir: string; readonly target: string; readonly why: string }[];
    readonly notes: readonly string[];
  };
  /** The folders to create: the main file's and the persistence files' and links' (lineinfile and mkdir -p make a line's). */
  readonly dirs: readonly string[];
}

/** argv with `%s` replaced, for sh: every word quoted, the file given as a shell expression (e.g. `"$tmp"`). */
export function shellCommand(argv: readonly string[], fileExpression: string): string {
  return argv.map((word) => (word === '%s' ? fileExpression : shQuote(word))).join(' ');
}

export function substituteFile(argv: readonly string[], file: string): string[] {
  return argv.map((word) => (word === '%s' ? file : word));
}

/**
 * One argv word for a unit's Exec line: systemd splits on spaces and expands
 * `%` specifiers and `$` variables, so a word with anything else is quoted and
 * those are doubled.
 */
export function systemdWord(word: string): string {
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[A-Za-z0-9_@%+=:,./$-]+$/.test(escaped) ? escaped : `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** An Exec line's value: the file substituted, every word as systemd reads it. */
export function systemdCommand(argv: readonly string[], file: string): string {
  return substituteFile(argv, file).map(systemdWord).join(' ');
}

export function getInstall(backend: string, install: BackendInstall | undefined): BackendInstall {
  if (!install) throw new KubewallError('USAGE', `the ${backend} backend has no install data, so it cannot be rendered as ansible, cloud-init or script (use --format files)`);
  return install;
}

/** Builds the view; `main` is the backend's first rendered file. */
export async function buildInstallView(
  backend: string,
  install: BackendInstall,
  main: RenderedFile,
  templates: TemplateEngine,
  headerLines: readonly string[],
): Promise<InstallView> {
  const files: PersistFile[] = [];
  const lines: InstallView['persist']['lines'][number][] = [];
  const removeLines: InstallView['persist']['removeLines'][number][] = [];
  const links: InstallView['persist']['links'][number][] = [];
  const notes: string[] = [];
  for (const step of install.persist) {
    switch (step.kind) {
      case 'line':
        lines.push({ file: step.file, dir: path.posix.dirname(step.file), line: step.line, why: step.why });
        break;
      case 'remove-line':
        removeLines.push({ file: step.file, line: step.line, why: step.why });
        break;
      case 'link':
        links.push({ path: step.path, dir: path.posix.dirname(step.path), target: step.target, why: step.why });
        break;
      case 'boot-unit': {
        const unit = await templates.load(BOOT_UNIT.template);
        const start = systemdCommand(step.start ?? install.apply, install.path);
        const content = unit.render({
          header: { lines: headerLines },
          backend,
          after: (step.after ?? []).join(' '),
          execStart: start,
          execStop: step.stop ? systemdCommand(step.stop, install.path) : '',
        });
        files.push({ path: BOOT_UNIT.path, content, mode: '0644', why: step.why });
        links.push({ path: BOOT_UNIT.link, dir: path.posix.dirname(BOOT_UNIT.link), target: BOOT_UNIT.path, why: 'enables kubewall.service (the link systemctl enable makes)' });
        break;
      }
      case 'native':
        notes.push(step.why);
        break;
    }
  }
  const fileDir = path.posix.dirname(install.path);
  const dirs = [...new Set([fileDir, ...files.map((f) => path.posix.dirname(f.path)), ...links.map((l) => l.dir)])].sort();
  return {
    backend,
    tools: install.tools,
    toolsHint: install.toolsHint,
    file: { name: main.name, path: install.path, dir: fileDir, mode: octalMode(main.mode ?? 0o644), content: main.content },
    validate: install.validate,
    apply: install.apply,
    persist: { files, lines, removeLines, links, notes },
    dirs,
  };
}

import { heredocDelimiter, shQuote } from './quote.js';
import { shellCommand, type InstallView } from './install-view.js';

/** What the sh templates (script, cloud-init's runcmd) need beyond the install view: every word quoted for sh. */
export function buildShellView(install: InstallView, fileExpression: string) {
  const withNewline = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);
  return {
    ...install,
    toolsWords: install.tools.map(shQuote).join(' '),
    toolsText: install.tools.join(', '),
    pathWord: shQuote(install.file.path),
    dirWord: shQuote(install.file.dir),
    content: withNewline(install.file.content),
    delimiter: heredocDelimiter('KUBEWALL_RULES_EOF', install.file.content),
    validateCommand: shellCommand(install.validate, fileExpression),
    validateText: install.validate.map((w) => (w === '%s' ? 'FILE' : w)).join(' '),
    applyCommand: shellCommand(install.apply, fileExpression),
    applyText: install.apply.map((w) => (w === '%s' ? 'FILE' : w)).join(' '),
    persistFiles: install.persist.files.map((file) => ({
      ...file,
      pathWord: shQuote(file.path),
      content: withNewline(file.content),
      delimiter: heredocDelimiter('KUBEWALL_FILE_EOF', file.content),
    })),
    persistLines: install.persist.lines.map((line) => ({ ...line, fileWord: shQuote(line.file), lineWord: shQuote(line.line) })),
    persistRemoveLines: install.persist.removeLines.map((line) => ({ ...line, fileWord: shQuote(line.file), lineWord: shQuote(line.line) })),
    persistLinks: install.persist.links.map((link) => ({ ...link, pathWord: shQuote(link.path), targetWord: shQuote(link.target) })),
  };
}

import { buildInstallView, getInstall } from './install-view.js';
import { payloadHeaderLines, sharedHeaderLines } from './header.js';
import { buildShellView } from './shell-view.js';
import type { PayloadFormat } from './types.js';

export const SCRIPT_FILE = 'kubewall-apply.sh';

/** A self-contained POSIX sh provisioning script: checks, validates, loads, installs, persists. */
export const scriptFormat: PayloadFormat = {
  name: 'script',
  description: 'a self-contained POSIX sh provisioning script',
  singleFile: true,
  async wrap(context) {
    const install = getInstall(context.result.backend, context.install);
    const [main] = context.result.files;
    const view = await buildInstallView(context.result.backend, install, main!, context.templates, sharedHeaderLines(context, 'boot unit'));
    const template = await context.templates.load('payloads/script.sh.hbs');
    const header = payloadHeaderLines(context, 'script', [`run: sudo sh ${SCRIPT_FILE}  (validates, loads, installs ${install.path}, persists; stops at the first failure; safe to run again)`]);
    return [{ name: SCRIPT_FILE, content: template.render({ ...buildShellView(view, '"$tmp"'), header: { lines: header } }), mode: 0o755 }];
  },
  hostPath: (host, file) => (host === null ? file : `${host}/${file}`),
};

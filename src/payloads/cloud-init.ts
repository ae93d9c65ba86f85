import { buildInstallView, getInstall } from './install-view.js';
import { payloadHeaderLines, sharedHeaderLines } from './header.js';
import { yamlScalar, yamlString } from './quote.js';
import { buildShellView } from './shell-view.js';
import type { PayloadFormat } from './types.js';

export const CLOUD_CONFIG_FILE = 'cloud-config.yaml';

/** `#cloud-config` user data: write_files puts the rules in place, runcmd validates, loads and persists them. */
export const cloudInitFormat: PayloadFormat = {
  name: 'cloud-init',
  description: '#cloud-config user data (write_files, then runcmd: validate, load, persist)',
  singleFile: true,
  async wrap(context) {
    const install = getInstall(context.result.backend, context.install);
    const [main] = context.result.files;
    const view = await buildInstallView(context.result.backend, install, main!, context.templates, sharedHeaderLines(context, 'boot unit'));
    const shell = buildShellView(view, '"$target"');
    const [runcmd, config] = await Promise.all([
      context.templates.load('payloads/cloud-init-runcmd.sh.hbs'),
      context.templates.load('payloads/cloud-config.yaml.hbs'),
    ]);
    const header = payloadHeaderLines(context, 'cloud-init', [`check: cloud-init schema --config-file ${CLOUD_CONFIG_FILE}`]);
    const content = config.render({
      ...shell,
      header: { lines: header },
      pathYaml: yamlString(view.file.path),
      content: yamlScalar(shell.content, 6),
      runcmd: yamlScalar(runcmd.render(shell), 6),
    });
    return [{ name: CLOUD_CONFIG_FILE, content, mode: 0o644 }];
  },
  hostPath: (host, file) => (host === null ? file : `${host}/${file}`),
};

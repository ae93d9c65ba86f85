import { buildInstallView, getInstall, substituteFile } from './install-view.js';
import { sharedHeaderLines } from './header.js';
import { ansibleString, yamlString } from './quote.js';
import { buildShellView } from './shell-view.js';
import type { PayloadFormat } from './types.js';

export const ANSIBLE_ROLE_DIR = 'roles/kubewall';
/** The files/ folder a render without an inventory fills, for every host the playbook runs on. */
export const ANSIBLE_SINGLE_PAYLOAD = 'all';
const ROOT = '{{ kubewall_root }}';

/**
 * An Ansible role (tasks, handlers, defaults, files) and a playbook: each
 * host's rules in files/<inventory_hostname>/, installed with
 * ansible.builtin.copy and `validate:`, loaded by a handler, persisted.
 */
export const ansibleFormat: PayloadFormat = {
  name: 'ansible',
  description: 'an Ansible role and playbook; per-host rules in roles/kubewall/files/<inventory_hostname>/',
  singleFile: false,
  async wrap(context) {
    const [main] = context.result.files;
    return [main!];
  },
  async shared(context) {
    const install = getInstall(context.result.backend, context.install);
    const [main] = context.result.files;
    const header = sharedHeaderLines(context, 'ansible role');
    const view = await buildInstallView(context.result.backend, install, main!, context.templates, header);
    const shell = buildShellView(view, '%s');
    const ansibleView = {
      ...shell,
      header: { lines: header },
      dirsYaml: view.dirs.map(yamlString),
      validateYaml: yamlString(install.validate.join(' ')),
      applyArgv: substituteFile(install.apply, `${ROOT}${install.path}`).map(yamlString),
      persistFiles: view.persist.files.map((file) => ({ ...file, srcYaml: yamlString(file.path.split('/').pop()!) })),
      persistLines: view.persist.lines.map((line) => ({ ...line, lineYaml: yamlString(line.line) })),
      persistRemoveLines: view.persist.removeLines.map((line) => ({ ...line, lineYaml: yamlString(line.line) })),
      persistLinks: view.persist.links.map((link) => ({ ...link, targetYaml: yamlString(link.target) })),
      payloadYaml: yamlString(context.fleetGroups === null ? ANSIBLE_SINGLE_PAYLOAD : '{{ inventory_hostname }}'),
      hostsYaml: context.fleetGroups === null ? yamlString('all') : ansibleString(context.fleetGroups.join(':')),
    };
    const render = async (template: string) => (await context.templates.load(`payloads/ansible/${template}`)).render(ansibleView);
    return [
      { name: 'playbook.yml', content: await render('playbook.yml.hbs'), mode: 0o644 },
      { name: `${ANSIBLE_ROLE_DIR}/tasks/main.yml`, content: await render('tasks.yml.hbs'), mode: 0o644 },
      { name: `${ANSIBLE_ROLE_DIR}/handlers/main.yml`, content: await render('handlers.yml.hbs'), mode: 0o644 },
      { name: `${ANSIBLE_ROLE_DIR}/defaults/main.yml`, content: await render('defaults.yml.hbs'), mode: 0o644 },
      ...view.persist.files.map((file) => ({ name: `${ANSIBLE_ROLE_DIR}/files/${file.path.split('/').pop()!}`, content: file.content, mode: 0o644 })),
    ];
  },
  hostPath: (host, file) => `${ANSIBLE_ROLE_DIR}/files/${host ?? ANSIBLE_SINGLE_PAYLOAD}/${file}`,
};

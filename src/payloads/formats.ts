import { KubewallError } from '../errors.js';
import { unknownValueMessage } from '../suggest.js';
import { ansibleFormat } from './ansible.js';
import { cloudInitFormat } from './cloud-init.js';
import { filesFormat } from './files.js';
import { scriptFormat } from './script.js';
import type { PayloadFormat } from './types.js';

/** The ways `render --format` ships rules; each wraps any backend's rendering through the backend's install data. */
export const PAYLOAD_FORMATS: Readonly<Record<string, PayloadFormat>> = {
  files: filesFormat,
  ansible: ansibleFormat,
  'cloud-init': cloudInitFormat,
  script: scriptFormat,
};

export const PAYLOAD_FORMAT_NAMES = Object.keys(PAYLOAD_FORMATS);

export function getPayloadFormat(name: string): PayloadFormat {
  const format = Object.hasOwn(PAYLOAD_FORMATS, name) ? PAYLOAD_FORMATS[name] : undefined;
  if (!format) throw new KubewallError('USAGE', `--format: ${unknownValueMessage('value', name, PAYLOAD_FORMAT_NAMES)}`);
  return format;
}

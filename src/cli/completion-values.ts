import { readdirSync } from 'node:fs';
import path from 'node:path';
import { BACKEND_NAMES } from '../backends/registry.js';
import { IPTABLES_VARIANT_CHOICES } from '../host/detect-iptables-variant.js';
import { ROLES } from '../model.js';
import { PACKAGE_PATHS } from '../paths.js';
import { PAYLOAD_FORMAT_NAMES } from '../payloads/formats.js';
import type { ValueTable } from './cli-docs.js';

/** The shipped profiles of one kind: catalogue/profiles/<kind>/<name>.yaml. */
function profileNames(kind: string, implicit: string): string[] {
  let files: string[] = [];
  try {
    files = readdirSync(path.join(PACKAGE_PATHS.catalogue, 'profiles', kind));
  } catch {
    files = [];
  }
  return [...new Set([implicit, ...files.filter((f) => /\.ya?ml$/.test(f)).map((f) => f.replace(/\.ya?ml$/, ''))])].filter(Boolean).sort();
}

/** What each option's value completes to, for cli-docs.ts. */
export function completionValues(): ValueTable {
  return {
    '--backend': BACKEND_NAMES,
    '--role': ROLES,
    '--cluster': 'file',
    '--catalogue': 'file',
    '--templates': 'dir',
    '--out': 'file',
    '--out-dir': 'dir',
    '--inventory': 'file',
    '--from': 'file',
    '--state-dir': 'dir',
    '--iptables-variant': IPTABLES_VARIANT_CHOICES,
    '--distribution': profileNames('distribution', 'kubeadm'),
    '--cni': profileNames('cni', 'none'),
    '--addon': profileNames('addon', ''),
    'render --format': PAYLOAD_FORMAT_NAMES,
    'plan --format': ['table', 'json'],
    'catalogue --format': ['table', 'json'],
    'diff --format': ['text', 'json'],
  };
}

import fg from 'fast-glob';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { BACKEND_NAMES } from '../../src/backends/registry.js';
import { KubewallError } from '../../src/errors.js';
import { planFromFiles } from '../../src/load-plan.js';
import type { Role } from '../../src/model.js';
import { formatPlanJson, formatPlanTable } from '../../src/plan/format-plan.js';
import { renderPayloads } from '../../src/fleet/render-payloads.js';
import { PAYLOAD_FORMAT_NAMES } from '../../src/payloads/formats.js';
import { renderPlan } from '../../src/render/render-plan.js';
import { GOLDEN_DIR, REPO_ROOT } from './paths.js';

/** One golden case: `test/golden/<name>/case.json` plus every output it should produce. */
export interface GoldenCase {
  readonly name: string;
  readonly dir: string;
  readonly roles: readonly Role[];
  /** Relative to the repository root, as a user would type it. */
  readonly cluster?: string;
  readonly catalogue?: readonly string[];
  readonly allowLockout?: boolean;
  /**
   * Backends that must refuse this plan (a capability error: ufw and IP-in-IP);
   * their golden file is `<backend>/refused.txt`, the error they give.
   */
  readonly refusedBy?: readonly string[];
  /** Also the fleet payloads (`--format script`, `cloud-init`, `ansible`) of every backend, under `<backend>/payloads/<format>/`. */
  readonly payloads?: boolean;
  /**
   * Also the audit render (`render --audit`) of every backend under
   * `<backend>/audit/`: nftables and iptables files, and for the backends
   * without audit mode `<backend>/audit/refused.txt`, the error they give.
   */
  readonly audit?: boolean;
}

/** Whether a case renders with this backend (the check tests run only those). */
export function rendersWith(goldenCase: GoldenCase, backend: string): boolean {
  return !(goldenCase.refusedBy ?? []).includes(backend);
}

export async function listGoldenCases(): Promise<GoldenCase[]> {
  const files = (await fg('*/case.json', { cwd: GOLDEN_DIR })).sort();
  return Promise.all(
    files.map(async (file) => {
      const dir = path.join(GOLDEN_DIR, path.dirname(file));
      const spec = JSON.parse(await readFile(path.join(GOLDEN_DIR, file), 'utf8')) as Omit<GoldenCase, 'name' | 'dir'>;
      return { ...spec, name: path.dirname(file), dir };
    }),
  );
}

/** One case by its folder name; an unknown name throws with the names there are. */
export async function findGoldenCase(name: string): Promise<GoldenCase> {
  const cases = await listGoldenCases();
  const found = cases.find((c) => c.name === name);
  if (!found) throw new Error(`no golden case ${name}; there are: ${cases.map((c) => c.name).join(', ')}`);
  return found;
}

/** Every file a case produces, by name relative to its folder: the plan, then each backend's output. */
export async function renderGoldenCase(goldenCase: GoldenCase): Promise<Map<string, string>> {
  const plan = await planFromFiles({
    roles: goldenCase.roles,
    clusterFile: goldenCase.cluster,
    cataloguePatterns: goldenCase.catalogue,
    allowLockout: goldenCase.allowLockout,
    cwd: REPO_ROOT,
  });
  const outputs = new Map<string, string>([
    ['plan.txt', formatPlanTable(plan)],
    ['plan.json', formatPlanJson(plan)],
  ]);
  for (const backend of BACKEND_NAMES) {
    if (!rendersWith(goldenCase, backend)) {
      const refusal = await renderPlan(plan, backend).then(
        () => new Error(`${goldenCase.name}: ${backend} rendered, but case.json says it refuses this plan`),
        (error: unknown) => error,
      );
      if (!(refusal instanceof KubewallError) || refusal.code !== 'CAPABILITY') throw refusal;
      outputs.set(`${backend}/refused.txt`, `${refusal.message}\n`);
      continue;
    }
    const result = await renderPlan(plan, backend);
    for (const file of result.files) outputs.set(`${backend}/${file.name}`, file.content);
    if (goldenCase.audit) {
      const audit = await renderPlan(plan, backend, { backendOptions: { audit: 'true' } }).catch((error: unknown) => {
        if (error instanceof KubewallError && error.code === 'CAPABILITY') return error;
        throw error;
      });
      if (audit instanceof KubewallError) outputs.set(`${backend}/audit/refused.txt`, `${audit.message}\n`);
      else for (const file of audit.files) outputs.set(`${backend}/audit/${file.name}`, file.content);
    }
    if (!goldenCase.payloads) continue;
    for (const format of PAYLOAD_FORMAT_NAMES.filter((name) => name !== 'files')) {
      const payload = await renderPayloads({
        backend,
        format,
        roles: goldenCase.roles,
        clusterFile: goldenCase.cluster,
        cataloguePatterns: goldenCase.catalogue,
        allowLockout: goldenCase.allowLockout,
        cwd: REPO_ROOT,
      });
      for (const file of payload.files) outputs.set(`${backend}/payloads/${format}/${file.name}`, file.content);
    }
  }
  return outputs;
}

import { requireExpressible } from '../backends/capabilities.js';
import { getBackend, requireAudit } from '../backends/registry.js';
import type { BackendOptions, RenderResult } from '../backends/types.js';
import { PACKAGE_PATHS } from '../paths.js';
import type { Plan } from '../plan/types.js';
import { auditRequested } from './header.js';
import { createTemplateEngine } from './template-engine.js';

export interface RenderOptions {
  /** A folder laid out like the shipped `templates/` (a user's own copy). */
  readonly templatesDir?: string | undefined;
  /** Backend-specific settings (see each backend's module). */
  readonly backendOptions?: BackendOptions;
}

/**
 * Renders a plan with one backend. Every capability gap is reported before
 * anything renders: errors all at once, warnings into the result and header.
 */
export async function renderPlan(plan: Plan, backendName: string, options: RenderOptions = {}): Promise<RenderResult> {
  // Audit mode (backend option audit: 'true') only where the backend records instead of dropping.
  if (auditRequested(options.backendOptions ?? {})) requireAudit(backendName);
  const backend = await getBackend(backendName);
  const gaps = requireExpressible(plan, backend.name, backend.capabilities);
  const warnings = [...gaps.warnings, ...(backend.planWarnings?.(plan) ?? [])];
  const templates = await createTemplateEngine(options.templatesDir ?? PACKAGE_PATHS.templates);
  const files = await backend.render(plan, { templates, warnings, options: options.backendOptions ?? {} });
  return { backend: backend.name, files, warnings };
}

import type { BackendInstall, RenderedFile, RenderResult } from '../backends/types.js';
import type { Plan } from '../plan/types.js';
import type { TemplateEngine } from '../render/template-engine.js';

/** One plan's backend rendering, to be wrapped for a fleet tool. */
export interface PayloadContext {
  readonly plan: Plan;
  readonly result: RenderResult;
  readonly install: BackendInstall | undefined;
  readonly templates: TemplateEngine;
}

/** What the whole output shares (the Ansible role): written once. */
export interface SharedPayloadContext extends PayloadContext {
  /** The inventory groups the fleet's hosts came from, or null for one render without an inventory. */
  readonly fleetGroups: readonly string[] | null;
}

/**
 * A way to ship rendered rules to hosts. `wrap` turns one plan's rendering
 * into the files every host with that plan gets; `hostPath` says where a
 * host's copy goes (`host` null: a render without an inventory).
 */
export interface PayloadFormat {
  readonly name: string;
  readonly description: string;
  /** One file that may go to stdout or --out; otherwise --out-dir is needed. */
  readonly singleFile: boolean;
  wrap(context: PayloadContext): Promise<readonly RenderedFile[]>;
  shared?(context: SharedPayloadContext): Promise<readonly RenderedFile[]>;
  hostPath(host: string | null, file: string): string;
}

/** Where an error comes from; the CLI maps these to exit codes and one-line messages. */
export type KubewallErrorCode =
  | 'USAGE'
  | 'CATALOGUE'
  | 'CLUSTER'
  | 'INVENTORY'
  | 'PLAN'
  | 'CAPABILITY'
  | 'TEMPLATE'
  | 'OUTPUT'
  | 'HOST_READ'
  | 'APPLY';

/**
 * The one error family the library throws. `message` is complete on its own
 * (file, path inside it, value, what would be valid) so the CLI prints it as is.
 */
export class KubewallError extends Error {
  readonly code: KubewallErrorCode;

  constructor(code: KubewallErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubewallError';
    this.code = code;
  }

  /** Usage errors exit 2 like most CLIs; everything else exits 1. */
  get exitCode(): 1 | 2 {
    return this.code === 'USAGE' ? 2 : 1;
  }
}

export function isKubewallError(value: unknown): value is KubewallError {
  return value instanceof KubewallError;
}

/** Formats a path into a document the way users read it: `nodes[3].roles[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(top level)' : out;
}

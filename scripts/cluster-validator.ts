// The source of src/cluster/validate-cluster.generated.ts: ajv's standalone
// validation code for the JSON Schema zod emits for ClusterSchema, with each
// zod refinement (a check JSON Schema cannot express) mapped to the predicate
// of src/input/refined-checks.ts that answers the same question. Build-time
// only: ajv is a devDependency, and the shipped code imports nothing but those
// predicates. `npm run schema:update` writes it; a test fails when the
// committed file drifts from what this produces.
import { _, Ajv, Name, type KeywordCxt } from 'ajv';
import standaloneModule from 'ajv/dist/standalone/index.js';
import * as z from 'zod';
import { ClusterSchema, NodePortRangeSchema } from '../src/cluster/schema.js';
import { HostAddressSchema, NetworkSchema, PortsSchema } from '../src/input/schema-parts.js';
import { REFINED_CHECKS, type RefinedCheck } from '../src/input/refined-checks.js';

export const CLUSTER_VALIDATOR_FILE = 'src/cluster/validate-cluster.generated.ts';

/** The JSON Schema keyword that carries a refinement's check name into ajv. */
const CHECK_KEYWORD = 'x-kubewall-check';

/** Every refined zod schema ClusterSchema uses, by the predicate that decides it. */
const REFINED_SCHEMAS = new Map<z.ZodType, RefinedCheck>([
  [HostAddressSchema, 'hostAddress'],
  [NetworkSchema, 'network'],
  [PortsSchema, 'ports'],
  [NodePortRangeSchema, 'portRange'],
]);

/**
 * Node addresses are parsed right after the generated check says yes
 * (parseNodeAddresses in src/cluster/validate-cluster.ts), which refuses what
 * `hostAddress` refuses: checking them here too would parse a fleet's
 * addresses twice.
 */
const CHECKED_BY_THE_NODE_ADDRESS_PARSE = ['properties', 'nodes', 'items', 'properties', 'addresses', 'items'];

function hasRefinement(schema: z.ZodType): boolean {
  const checks = (schema._zod.def as { checks?: Array<{ _zod: { def: { check: string } } }> }).checks ?? [];
  return checks.some((check) => check._zod.def.check === 'custom');
}

/** A mapped schema and the schemas it was derived from (`.describe()` clones one, and zod visits both). */
function mappedOrAncestor(): Set<unknown> {
  const covered = new Set<unknown>();
  for (const mapped of REFINED_SCHEMAS.keys()) {
    for (let schema: { _zod: { parent?: unknown } } | undefined = mapped; schema; schema = schema._zod.parent as typeof schema) covered.add(schema);
  }
  return covered;
}

/** ClusterSchema as JSON Schema, each refinement named by CHECK_KEYWORD. */
export function clusterValidationSchema(): Record<string, unknown> {
  const unmapped: string[] = [];
  const covered = mappedOrAncestor();
  const generated = z.toJSONSchema(ClusterSchema, {
    target: 'draft-07',
    io: 'input',
    override: (ctx) => {
      const zodSchema = ctx.zodSchema as unknown as z.ZodType;
      const check = REFINED_SCHEMAS.get(zodSchema);
      if (check) ctx.jsonSchema[CHECK_KEYWORD] = check;
      else if (hasRefinement(zodSchema) && !covered.has(zodSchema)) unmapped.push(`${ctx.path.join('.') || '(root)'}: ${JSON.stringify(ctx.jsonSchema)}`);
    },
  });
  // A refinement the generated code would not know of: it would accept what zod refuses.
  if (unmapped.length > 0) throw new Error(`refined zod schemas without a check in REFINED_SCHEMAS:\n${unmapped.join('\n')}`);
  // One JSON object per place (zod shares them between places that use one schema).
  const schema = JSON.parse(JSON.stringify(generated)) as Record<string, unknown>;
  let parent: Record<string, unknown> = schema;
  for (const key of CHECKED_BY_THE_NODE_ADDRESS_PARSE) parent = parent[key] as Record<string, unknown>;
  if (parent[CHECK_KEYWORD] !== 'hostAddress') throw new Error(`expected the node addresses' check at ${CHECKED_BY_THE_NODE_ADDRESS_PARSE.join('.')}`);
  delete parent[CHECK_KEYWORD];
  return schema;
}

export function renderClusterValidatorSource(): string {
  // allErrors off: the generated code only answers yes or no; zod explains a no.
  // unicode and unicodeRegExp off: string lengths in UTF-16 code units and patterns without
  // the u flag, as zod measures and matches them (and no runtime import for ucs2length).
  // ajv calls the unicode option deprecated, not gone: that one notice is dropped.
  const logger = {
    log: console.log,
    warn: (...args: unknown[]) => (String(args[0]).startsWith('DEPRECATED: option unicode.') ? undefined : console.warn(...args)),
    error: console.error,
  };
  const ajv = new Ajv({ code: { source: true, esm: true, lines: true }, allErrors: false, strict: true, unicode: false, unicodeRegExp: false, logger });
  ajv.addKeyword({
    keyword: CHECK_KEYWORD,
    schemaType: 'string',
    code(cxt: KeywordCxt) {
      const name = cxt.schema as RefinedCheck;
      if (!Object.hasOwn(REFINED_CHECKS, name)) throw new Error(`unknown check ${JSON.stringify(name)}`);
      // The generated module reads the same function by name from its import.
      const check = cxt.gen.scopeValue('keyword', { ref: REFINED_CHECKS[name], code: _`REFINED_CHECKS.${new Name(name)}` });
      cxt.fail(_`!${check}(${cxt.data})`);
    },
  });
  // A CommonJS module: Node hands ESM its whole exports object as the default.
  type StandaloneCode = (ajv: Ajv, validate: ReturnType<Ajv['compile']>) => string;
  const loaded = standaloneModule as unknown as StandaloneCode | { default: StandaloneCode };
  const standaloneCode = typeof loaded === 'function' ? loaded : loaded.default;
  const code = standaloneCode(ajv, ajv.compile(clusterValidationSchema()));
  return [
    '// GENERATED by `npm run schema:update` (scripts/cluster-validator.ts): do not edit.',
    '// ajv standalone code for the JSON Schema of ClusterSchema (src/cluster/schema.ts),',
    '// its refinements decided by src/input/refined-checks.ts; see',
    '// src/cluster/validate-cluster.ts for why.',
    '// @ts-nocheck',
    '/* eslint-disable */',
    "import { REFINED_CHECKS } from '../input/refined-checks.js';",
    code.trim(),
    '',
  ].join('\n');
}

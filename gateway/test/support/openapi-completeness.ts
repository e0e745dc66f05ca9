/**
 * What a client generator and the integrator reading its output need from the OpenAPI document beyond being
 * valid: every schema property and parameter says what it is (`description`) and shows a realistic value
 * (`example`) that is valid against its own schema; every operation has a humane operationId (`submitTrade`,
 * not Nest's default `TradesController_submit`), unique in the document; every tag used is described.
 *
 * A property given by reference (a nested DTO, possibly nullable or in an array) carries no example of its own:
 * its example is the object built from the referenced schema's property examples, and that object is checked
 * against the referenced schema too (so examples of required properties must exist and fit together).
 *
 * One domain rule on top: an example lot id or certificate serial (properties and parameters named `lotId`,
 * `parentLotId`, `serial`, `serialStart`, `serialEnd`) is a real one, as chaincode/src/certificates/lot.ts
 * formatSerial writes it; integrators copy examples into their tests and the ledger refuses anything else.
 */
import Ajv2020 from 'ajv8/dist/2020';

type Schema = Record<string, unknown>;

export interface CompletenessDocument {
  paths: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, unknown> };
  tags?: Array<{ name: string; description?: string }>;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** verbNoun in camelCase: a lowercase verb, then words; no controller prefix, no separators. */
export const OPERATION_ID = /^[a-z][A-Za-z0-9]+$/;

/** RFC 3339 date-time (with an offset or Z), as `format: date-time` means (as in support/openapi-contract.ts). */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** 17-character project code, YYYYMM, 7-digit sequence from 0000001, electricity class, trade class. */
const SERIAL = /^[0-9A-Z]{17}\d{4}(0[1-9]|1[0-2])(?!0000000)\d{7}[WSHBGO][TN]$/;
const SERIAL_NAMES = new Set(['lotId', 'parentLotId', 'serial', 'serialStart', 'serialEnd']);

const isObject = (value: unknown): value is Schema =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The component name a schema stands for when it is only a reference (maybe nullable, maybe via allOf). */
function referenced(schema: Schema): string | undefined {
  const refOf = (s: unknown) =>
    isObject(s) && typeof s.$ref === 'string' ? s.$ref.replace('#/components/schemas/', '') : undefined;
  if (refOf(schema)) return refOf(schema);
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    const members = schema[key];
    if (!Array.isArray(members)) continue;
    const refs = members.filter((m) => refOf(m) !== undefined);
    const others = members.filter((m) => refOf(m) === undefined);
    if (refs.length === 1 && others.every((m) => isObject(m) && m.type === 'null')) return refOf(refs[0]);
  }
  return undefined;
}

/** A reference, or an array of references: the example comes from the referenced schema. */
function exampleByReference(schema: Schema): boolean {
  if (referenced(schema)) return true;
  return isObject(schema.items) && referenced(schema.items) !== undefined && schema.example === undefined;
}

export function completenessProblems(document: CompletenessDocument): string[] {
  const problems: string[] = [];
  const schemas = (document.components?.schemas ?? {}) as Record<string, Schema>;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (s: string) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)),
  });
  ajv.addSchema({ components: { schemas } }, 'openapi.json');
  const rebase = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rebase);
    if (!isObject(node)) return node;
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [
        k,
        k === '$ref' && typeof v === 'string' && v.startsWith('#/')
          ? `openapi.json${v}`
          : k === 'example' || k === 'examples'
            ? v
            : rebase(v),
      ]),
    );
  };
  const checkExample = (where: string, schema: unknown, example: unknown) => {
    let validate;
    try {
      validate = ajv.compile(rebase(schema) as object);
    } catch (error) {
      problems.push(`${where}: schema does not compile (${(error as Error).message})`);
      return;
    }
    if (!validate(example)) {
      const errors = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
      problems.push(`${where}: example ${JSON.stringify(example)} fails its schema (${errors})`);
    }
  };

  const checkSerial = (where: string, example: unknown) => {
    // null is a fine example of a nullable id (`parentLotId` of an issued lot); anything else is a serial.
    if (example !== null && example !== undefined && (typeof example !== 'string' || !SERIAL.test(example))) {
      problems.push(`${where}: example ${JSON.stringify(example)} is not a real lot id or serial`);
    }
  };

  /** Properties of an object schema (inline objects inside it too), with `where` naming the property. */
  const walkProperties = (where: string, schema: Schema) => {
    const properties = isObject(schema.properties) ? schema.properties : {};
    for (const [name, value] of Object.entries(properties)) {
      if (!isObject(value)) continue;
      const at = `${where}.${name}`;
      if (typeof value.description !== 'string' || value.description.trim() === '') {
        problems.push(`${at}: no description`);
      }
      if (value.example === undefined && !exampleByReference(value)) problems.push(`${at}: no example`);
      if (value.example !== undefined) checkExample(at, value, value.example);
      if (SERIAL_NAMES.has(name)) checkSerial(at, value.example);
      // Inline object schemas (not references) have properties of their own.
      walkProperties(at, value);
      if (isObject(value.items)) walkProperties(`${at}[]`, value.items);
    }
  };

  for (const [name, schema] of Object.entries(schemas)) {
    walkProperties(name, schema);
    // The example a reference to this schema stands for: built from its properties' examples.
    const built = exampleOf(schema, schemas, new Set());
    if (built !== undefined && !isObject(schema.example))
      checkExample(`${name} (built example)`, schema, built);
  }

  const operationIds = new Map<string, string>();
  const usedTags = new Set<string>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!isObject(operation)) continue;
      const at = `${method.toUpperCase()} ${path}`;
      const id = operation.operationId;
      if (typeof id !== 'string' || !OPERATION_ID.test(id) || id.includes('Controller')) {
        problems.push(`${at}: operationId ${JSON.stringify(id)} is not verbNoun camelCase`);
      } else if (operationIds.has(id)) {
        problems.push(`${at}: operationId ${id} is also ${operationIds.get(id)}'s`);
      } else {
        operationIds.set(id, at);
      }
      for (const tag of (operation.tags as string[] | undefined) ?? []) usedTags.add(tag);
      for (const parameter of (operation.parameters as Schema[] | undefined) ?? []) {
        const pat = `${at} ${String(parameter.in)} parameter ${String(parameter.name)}`;
        if (typeof parameter.description !== 'string' || parameter.description.trim() === '') {
          problems.push(`${pat}: no description`);
        }
        const example =
          parameter.example ?? (isObject(parameter.schema) ? parameter.schema.example : undefined);
        if (example === undefined) problems.push(`${pat}: no example`);
        else if (isObject(parameter.schema)) checkExample(pat, parameter.schema, example);
        if (SERIAL_NAMES.has(String(parameter.name))) checkSerial(pat, example);
      }
      const contents = [
        ...(isObject(operation.requestBody) && isObject(operation.requestBody.content)
          ? Object.entries(operation.requestBody.content).map(([media, c]) => [`${at} request ${media}`, c])
          : []),
        ...Object.entries(isObject(operation.responses) ? operation.responses : {}).flatMap(([status, r]) =>
          isObject(r) && isObject(r.content)
            ? Object.entries(r.content).map(([media, c]) => [`${at} ${status} ${media}`, c])
            : [],
        ),
      ] as Array<[string, unknown]>;
      for (const [where, content] of contents) {
        if (isObject(content) && content.example !== undefined && isObject(content.schema)) {
          checkExample(where, content.schema, content.example);
        }
      }
    }
  }
  const described = new Map((document.tags ?? []).map((t) => [t.name, t.description]));
  for (const tag of [...usedTags].sort()) {
    const description = described.get(tag);
    if (typeof description !== 'string' || description.trim() === '')
      problems.push(`tag ${tag}: no description`);
  }
  return problems;
}

/** The example a schema stands for: its own, or an object of its properties' examples (references followed). */
function exampleOf(schema: Schema, schemas: Record<string, Schema>, seen: Set<string>): unknown {
  if (schema.example !== undefined) return schema.example;
  const ref = referenced(schema);
  if (ref !== undefined) {
    if (seen.has(ref) || !schemas[ref]) return undefined;
    return exampleOf(schemas[ref], schemas, new Set([...seen, ref]));
  }
  if (schema.type === 'array' && isObject(schema.items)) {
    const item = exampleOf(schema.items, schemas, seen);
    return item === undefined ? undefined : [item];
  }
  if (!isObject(schema.properties)) return undefined;
  const result: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(schema.properties)) {
    if (!isObject(value)) continue;
    const example = exampleOf(value, schemas, seen);
    if (example !== undefined) result[name] = example;
  }
  return result;
}

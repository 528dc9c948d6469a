/**
 * Internal: array-type support for the postgres.js adapter.
 *
 * postgres.js learns the array types of a server with one query on each new
 * connection (its `fetch_types` option) and registers a parser and a
 * serializer for each. It drops the promise of that query, so a connection
 * cut while the query runs ends the process with an unhandled rejection.
 * The adapter turns `fetch_types` off, runs {@linkcode ARRAY_TYPES_QUERY}
 * itself with the promise handled, and registers the result with
 * {@linkcode registerArrayTypes} exactly as postgres.js 3.4 would.
 *
 * The parser and serializer below are postgres.js 3.4's own
 * (`src/types.js`, released under the Unlicense), which its package does
 * not export.
 *
 * @module
 */

/** postgres.js's array-type query (`connection.js`, `fetchArrayTypes`). */
export const ARRAY_TYPES_QUERY: string = `
      select b.oid, b.typarray
      from pg_catalog.pg_type a
      left join pg_catalog.pg_type b on b.oid = a.typelem
      where a.typcategory = 'A'
      group by b.oid, b.typarray
      order by b.oid
    `;

/** One row of {@linkcode ARRAY_TYPES_QUERY}: an element type and its array type. */
export interface ArrayType {
  readonly oid: number;
  readonly typarray: number;
}

type Parser = ((value: string) => unknown) & { array?: boolean };
type Serializer = (value: unknown) => unknown;

/** The parts of postgres.js's parsed options that array types live in. */
interface TypeOptions {
  parsers: Record<number, Parser | undefined>;
  serializers: Record<number, Serializer | undefined>;
  shared: { typeArrayMap: Record<number, number> };
  transform: { undefined?: unknown };
}

function isRecord(value: unknown): value is Record<PropertyKey, unknown> {
  return value !== null && typeof value === "object";
}

function typeOptionsOf(options: unknown): TypeOptions | null {
  if (!isRecord(options)) return null;
  const { parsers, serializers, shared, transform } = options;
  if (
    !isRecord(parsers) || !isRecord(serializers) || !isRecord(shared) ||
    !isRecord(shared.typeArrayMap) || !isRecord(transform)
  ) {
    return null;
  }
  return options as unknown as TypeOptions;
}

/**
 * Reads the rows of {@linkcode ARRAY_TYPES_QUERY} (as `.values()` gives
 * them), skipping any that are not two numbers.
 */
export function toArrayTypes(rows: readonly unknown[]): ArrayType[] {
  const types: ArrayType[] = [];
  for (const row of rows) {
    if (!Array.isArray(row)) continue;
    const oid = Number(row[0]);
    const typarray = Number(row[1]);
    if (
      Number.isInteger(oid) && Number.isInteger(typarray) && row[0] !== null
    ) {
      types.push({ oid, typarray });
    }
  }
  return types;
}

/**
 * Registers array types in a postgres.js instance's options (`sql.options`)
 * as postgres.js's `addArrayType` does: a parser and a serializer per array
 * type, unless both are set already (custom types win), and the element to
 * array map used by `sql.array()`.
 *
 * @returns `false` when the options do not have the expected shape (a
 * postgres.js version this adapter does not know); nothing is registered.
 */
export function registerArrayTypes(
  options: unknown,
  types: readonly ArrayType[],
): boolean {
  const target = typeOptionsOf(options);
  if (target === null) return false;
  for (const { oid, typarray } of types) {
    if (target.parsers[typarray] && target.serializers[typarray]) continue;
    const parser = target.parsers[oid];
    target.shared.typeArrayMap[oid] = typarray;
    const parse: Parser = (value) => arrayParser(value, parser, typarray);
    parse.array = true;
    target.parsers[typarray] = parse;
    target.serializers[typarray] = (value) =>
      arraySerializer(value, target.serializers[oid], target, typarray);
  }
  return true;
}

const ESCAPE_BACKSLASH = /\\/g;
const ESCAPE_QUOTE = /"/g;

function arrayEscape(text: string): string {
  return text.replace(ESCAPE_BACKSLASH, "\\\\").replace(ESCAPE_QUOTE, '\\"');
}

function undefinedValueError(): Error {
  return Object.assign(
    new Error("UNDEFINED_VALUE: Undefined values are not allowed"),
    { code: "UNDEFINED_VALUE" },
  );
}

/** postgres.js's `arraySerializer`. */
function arraySerializer(
  values: unknown,
  serializer: Serializer | undefined,
  options: TypeOptions,
  typarray: number,
): unknown {
  if (!Array.isArray(values)) return values;
  if (values.length === 0) return "{}";
  const first: unknown = values[0];
  // Only _box (1020) has the ';' delimiter for arrays, all other types use ','.
  const delimiter = typarray === 1020 ? ";" : ",";
  if (Array.isArray(first) && !Reflect.get(first, "type")) {
    return "{" +
      values.map((value) =>
        arraySerializer(value, serializer, options, typarray)
      ).join(delimiter) + "}";
  }
  return "{" + values.map((value: unknown) => {
    if (value === undefined) {
      value = options.transform.undefined;
      if (value === undefined) throw undefinedValueError();
    }
    if (value === null) return "null";
    const typed = isRecord(value) && Reflect.get(value, "type")
      ? Reflect.get(value, "value")
      : value;
    return '"' +
      arrayEscape(serializer ? String(serializer(typed)) : "" + value) + '"';
  }).join(delimiter) + "}";
}

interface ParserState {
  i: number;
  char: string | undefined;
  str: string;
  quoted: boolean;
  last: number;
  p?: string | undefined;
}

const PARSER_STATE: ParserState = {
  i: 0,
  char: undefined,
  str: "",
  quoted: false,
  last: 0,
};

/** postgres.js's `arrayParser` (its caller strips the leading `{`). */
function arrayParser(
  text: string,
  parser: Parser | undefined,
  typarray: number,
): unknown[] {
  PARSER_STATE.i = PARSER_STATE.last = 0;
  return arrayParserLoop(PARSER_STATE, text, parser, typarray);
}

function arrayParserLoop(
  s: ParserState,
  x: string,
  parser: Parser | undefined,
  typarray: number,
): unknown[] {
  const xs: unknown[] = [];
  // Only _box (1020) has the ';' delimiter for arrays, all other types use ','.
  const delimiter = typarray === 1020 ? ";" : ",";
  for (; s.i < x.length; s.i++) {
    s.char = x[s.i];
    if (s.quoted) {
      if (s.char === "\\") {
        s.str += x[++s.i];
      } else if (s.char === '"') {
        xs.push(parser ? parser(s.str) : s.str);
        s.str = "";
        s.quoted = x[s.i + 1] === '"';
        s.last = s.i + 2;
      } else {
        s.str += s.char;
      }
    } else if (s.char === '"') {
      s.quoted = true;
    } else if (s.char === "{") {
      s.last = ++s.i;
      xs.push(arrayParserLoop(s, x, parser, typarray));
    } else if (s.char === "}") {
      s.quoted = false;
      if (s.last < s.i) {
        xs.push(
          parser ? parser(x.slice(s.last, s.i)) : x.slice(s.last, s.i),
        );
      }
      s.last = s.i + 1;
      break;
    } else if (s.char === delimiter && s.p !== "}" && s.p !== '"') {
      xs.push(parser ? parser(x.slice(s.last, s.i)) : x.slice(s.last, s.i));
      s.last = s.i + 1;
    }
    s.p = s.char;
  }
  if (s.last < s.i) {
    xs.push(
      parser ? parser(x.slice(s.last, s.i + 1)) : x.slice(s.last, s.i + 1),
    );
  }
  return xs;
}

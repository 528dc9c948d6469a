/**
 * Hints for an unknown option key: the habits of other pools (pg.Pool,
 * tarn, generic-pool, HikariCP, SQLAlchemy's snake_case names) mapped to
 * this pool's options, and near misses of a known key (case, one or two
 * letters). Used only on the error path.
 *
 * @module
 */

/**
 * Options of other pools (pg.Pool, tarn, generic-pool, HikariCP) and the
 * option of this one that does the same, for a hint in the unknown-key
 * error.
 */
const OTHER_POOLS: Readonly<Record<string, string>> = {
  max:
    "poolSize (idle connections kept) and maxOverflow (extra ones while checked out)",
  min: "minIdle (connections kept warm)",
  timeout: "timeoutMs (longest wait for a free connection, in milliseconds)",
  idleTimeoutMillis: "idleTimeoutMs",
  connectionTimeoutMillis: "connectTimeoutMs",
  acquireTimeoutMillis: "timeoutMs",
  createTimeoutMillis: "connectTimeoutMs",
  maximumPoolSize: "poolSize and maxOverflow",
  minimumIdle: "minIdle",
  maxLifetime: "recycleMs",
  "pool_size": "poolSize",
  "max_overflow": "maxOverflow",
  "pool_timeout": "timeoutMs (milliseconds; SQLAlchemy's is seconds)",
  "pool_recycle": "recycleMs (milliseconds; SQLAlchemy's is seconds)",
  "pool_pre_ping": "prePing",
  "reset_on_return": "resetOnReturn",
};

/**
 * A " (did you mean …?)" hint for an unknown option key: the option of this
 * pool that another pool's key stands for, or a key of this pool's that
 * differs only in case or by one or two letters. `""` when there is none.
 */
export function hint(key: string, table: object): string {
  const known = Object.keys(table);
  const other = OTHER_POOLS[key];
  if (other !== undefined) {
    const wanted = other.split(/[^A-Za-z]+/).filter((word) =>
      known.includes(word)
    );
    if (wanted.length > 0) return ` (did you mean ${other}?)`;
  }
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = candidate.toLowerCase() === key.toLowerCase()
      ? 0
      : editDistance(candidate, key);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === null ? "" : ` (did you mean "${best}"?)`;
}

/** Levenshtein distance between two short strings. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

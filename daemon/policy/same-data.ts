// Deep equality of the model's plain data (objects, arrays, strings, numbers, booleans), with the
// same object short-cut first: the informers hand back the same copy of what did not change. Loops,
// not every(): it runs over every pod and policy at each sync, and closures there are garbage.

export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameData(a[i], b[i])) return false;
    return true;
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let keys = 0;
  for (const k in ra) {
    if (!Object.prototype.hasOwnProperty.call(rb, k) || !sameData(ra[k], rb[k])) return false;
    keys++;
  }
  for (const _k in rb) keys--;
  return keys === 0;
}

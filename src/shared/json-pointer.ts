import jsonpatch from 'fast-json-patch';

/** RFC 6901 syntax: "" or a sequence of "/token", with "~" only as "~0" or "~1". */
export function isJsonPointer(pointer: string): boolean {
  return pointer === '' || /^(\/([^~]|~[01])*)+$/.test(pointer);
}

export function pointerTokens(pointer: string): string[] {
  return pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The value at `pointer` in `document`, or `undefined` when nothing is there. */
export function valueAtPointer(document: unknown, pointer: string): unknown {
  let current: unknown = document;
  for (const token of pointerTokens(pointer)) {
    if (Array.isArray(current)) {
      if (!/^(0|[1-9]\d*)$/.test(token)) return undefined;
      current = current[Number(token)];
    } else if (current !== null && typeof current === 'object' && Object.prototype.hasOwnProperty.call(current, token)) {
      current = (current as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return current;
}

/** A deep copy of `document` without the values at `pointers` (pointers that match nothing are ignored). */
export function withoutPaths(document: unknown, pointers: readonly string[]): unknown {
  if (pointers.length === 0 || document === null || typeof document !== 'object') return document;
  const copy = jsonpatch.deepClone(document) as object;
  for (const path of pointers) {
    if (path === '' || valueAtPointer(copy, path) === undefined) continue;
    jsonpatch.applyOperation(copy, { op: 'remove', path }, false, true);
  }
  return copy;
}

/** RFC 6902 JSON Patch turning `from` into `to`. */
export function jsonDiff(from: unknown, to: unknown): jsonpatch.Operation[] {
  const objectLike = (v: unknown) => v !== null && typeof v === 'object';
  if (objectLike(from) && objectLike(to) && Array.isArray(from) === Array.isArray(to)) {
    return jsonpatch.compare(from, to);
  }
  return [{ op: 'replace', path: '', value: to }];
}

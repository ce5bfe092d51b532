import { useMemo, useState } from 'react';
import { create, type Delta } from 'jsondiffpatch';
import { format as formatHtml } from 'jsondiffpatch/formatters/html';
import { applyJsonPatchRFC6902, type JsonPatchOp } from 'jsondiffpatch/formatters/jsonpatch-apply';
import 'jsondiffpatch/formatters/styles/html.css';
import type { JsonPatchOperation } from '../../../client/index.js';

// Arrays are compared by position (no move detection): the API's JSON Patch works the same way,
// and move arrows would need inline styles, which the console's Content-Security-Policy refuses.
const differ = create({ arrays: { detectMove: false } });

export interface DiffParts {
  /** Differences the comparison counted: the API's JSON Patch, applied to the original output. */
  counted: Delta;
  /** Differences it did not count: volatile paths and ignore_paths (what remains between the patched original and the new output). */
  ignored: Delta;
  /** The original with the patch applied (the left side of the ignored differences). */
  patched: unknown;
  /** False when the patch could not be applied to the whole original (then every difference shows as counted). */
  patchApplied: boolean;
}

/** Applies a JSON Patch to a copy of `value` (under a wrapper, so a patch of the root path works too). */
function applyPatch(value: unknown, patch: JsonPatchOperation[]): unknown {
  const box = { root: differ.clone(value) };
  const rooted = patch.map((op) => ({ ...op, path: `/root${op.path}`, ...(op.from ? { from: `/root${op.from}` } : {}) }) as JsonPatchOp);
  applyJsonPatchRFC6902(box, rooted);
  return box.root;
}

export function splitDiff(original: unknown, actual: unknown, patch: JsonPatchOperation[] | null): DiffParts {
  if (!patch) return { counted: undefined, ignored: differ.diff(original, actual), patched: original, patchApplied: true };
  try {
    const patched = applyPatch(original, patch);
    return { counted: differ.diff(original, patched), ignored: differ.diff(patched, actual), patched, patchApplied: true };
  } catch {
    return { counted: differ.diff(original, actual), ignored: undefined, patched: original, patchApplied: false };
  }
}

function DeltaView({ delta, left, label, showUnchanged }: { delta: Delta; left: unknown; label: string; showUnchanged: boolean }) {
  // The formatter escapes every key and value it writes (and the page's CSP allows no inline script).
  const html = useMemo(() => formatHtml(delta, left) ?? '', [delta, left]);
  return (
    <div
      className={`diff-delta ${showUnchanged ? 'jsondiffpatch-unchanged-visible' : 'jsondiffpatch-unchanged-hidden'}`}
      role="group"
      aria-label={label}
      dangerouslySetInnerHTML={{ __html: html }}
    />
  );
}

/**
 * A step's output, original against replay: the differences the check counted (red/green), then the
 * ones it ignored (greyed), then the JSON Patch itself, each rendered by jsondiffpatch.
 */
export function JsonDiff({
  original,
  actual,
  patch,
  ignoredPaths,
}: {
  original: unknown;
  actual: unknown;
  patch: JsonPatchOperation[] | null;
  ignoredPaths?: string[];
}) {
  const [showUnchanged, setShowUnchanged] = useState(false);
  const parts = useMemo(() => splitDiff(original, actual, patch), [original, actual, patch]);
  const noDifference = !parts.counted && !parts.ignored;
  return (
    <div className="json-diff">
      {noDifference ? (
        <p className="muted">The outputs are identical.</p>
      ) : (
        <label className="inline-check">
          <input type="checkbox" checked={showUnchanged} onChange={(e) => setShowUnchanged(e.target.checked)} /> Show unchanged fields
        </label>
      )}
      {parts.counted && (
        <div className="diff-counted">
          <h4>Differences{patch ? ` (${patch.length} JSON Patch operation${patch.length === 1 ? '' : 's'})` : ''}</h4>
          <DeltaView delta={parts.counted} left={original} label="Counted differences" showUnchanged={showUnchanged} />
          {!parts.patchApplied && (
            <p className="muted">The JSON Patch does not apply to the whole original output: all differences are shown.</p>
          )}
        </div>
      )}
      {parts.ignored && (
        <div className="diff-ignored">
          <h4>Ignored differences</h4>
          <p className="muted">
            Not compared: volatile paths of the skill and the replay&apos;s ignore_paths
            {ignoredPaths && ignoredPaths.length > 0 ? ` (${ignoredPaths.join(', ')})` : ''}.
          </p>
          <DeltaView delta={parts.ignored} left={parts.patched} label="Ignored differences" showUnchanged={showUnchanged} />
        </div>
      )}
      {patch && patch.length > 0 && (
        <details className="patch-ops">
          <summary>JSON Patch (RFC 6902)</summary>
          <table>
            <thead>
              <tr>
                <th scope="col">op</th>
                <th scope="col">path</th>
                <th scope="col">value</th>
              </tr>
            </thead>
            <tbody>
              {patch.map((op, i) => (
                <tr key={i}>
                  <td>{op.op}</td>
                  <td>
                    <code>{op.from ? `${op.from} → ${op.path}` : op.path}</code>
                  </td>
                  <td>
                    <code>{'value' in op ? JSON.stringify(op.value) : ''}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </div>
  );
}

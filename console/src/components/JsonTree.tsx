import { JsonView, defaultStyles } from 'react-json-view-lite';
import 'react-json-view-lite/dist/index.css';

/** A JSON value as a collapsible tree (objects and arrays), or as plain code (scalars and null). */
export function JsonTree({ value, label, expandAll = false }: { value: unknown; label: string; expandAll?: boolean }) {
  if (value === null || typeof value !== 'object') {
    return (
      <pre className="json-scalar" aria-label={label}>
        <code>{value === undefined ? '—' : JSON.stringify(value)}</code>
      </pre>
    );
  }
  return (
    <div className="json-tree">
      <JsonView
        data={value}
        aria-label={label}
        shouldExpandNode={expandAll ? () => true : (level) => level < 2}
        style={{ ...defaultStyles, container: 'json-tree-container' }}
        clickToExpandNode
      />
    </div>
  );
}

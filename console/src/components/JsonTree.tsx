import { JsonView, defaultStyles } from 'react-json-view-lite';
import 'react-json-view-lite/dist/index.css';

// The library's structure classes, with colours of our own (AA contrast on the panel background).
const STYLE = {
  ...defaultStyles,
  container: 'json-tree-container',
  stringValue: 'jv-string',
  numberValue: 'jv-number',
  booleanValue: 'jv-boolean',
  nullValue: 'jv-null',
  undefinedValue: 'jv-other',
  otherValue: 'jv-other',
};

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
        style={STYLE}
        clickToExpandNode
      />
    </div>
  );
}

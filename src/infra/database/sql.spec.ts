import { describe, expect, it } from '@jest/globals';
import { sql, Table } from './sql.js';

interface Row {
  id: string;
  body: unknown;
  at: Date | null;
}

const T = new Table<Row>('things', { id: 'uuid', body: 'json', at: 'timestamptz' });

describe('Table', () => {
  it('lists every column, a chosen few, or qualified by an alias', () => {
    expect(T.columns().text).toBe('id, body, at');
    expect(T.columns(['at', 'id']).text).toBe('at, id');
    expect(T.columns(T.columnNames, 't').text).toBe('t.id, t.body, t.at');
  });

  it('builds an INSERT from values by name, numbering the parameters after those before it', () => {
    const at = new Date(0);
    const q = sql`WITH x AS (SELECT ${'first'}) ${T.insert({ id: 'a', at })} RETURNING ${T.columns()}`;
    expect(q.text).toBe('WITH x AS (SELECT $1) INSERT INTO things (id, at) VALUES ($2::uuid, $3::timestamptz) RETURNING id, body, at');
    expect(q.values).toEqual(['first', 'a', at]);
  });

  it('builds INSERT ... SELECT with casts and the EXCLUDED list of an upsert', () => {
    expect(T.insertSelect({ body: '{}', id: 'a' }).text).toBe('INSERT INTO things (body, id) SELECT $1::json, $2::uuid');
    expect(T.setExcluded(['body', 'at']).text).toBe('body = EXCLUDED.body, at = EXCLUDED.at');
  });

  it('builds unnest() over rows: one array parameter per column, whatever the number of rows', () => {
    const at = new Date(0);
    const q = T.unnest(['id', 'at'], [{ id: 'a', at }, { id: 'b' }], 'v');
    expect(q.text).toBe('unnest($1::uuid[], $2::timestamptz[]) AS v(id, at)');
    expect(q.values).toEqual([
      ['a', 'b'],
      [at, null],
    ]);
    expect(() => T.unnest(['id', 'nope' as 'id'], [], 'v')).toThrow('things has no column nope');
  });

  it('refuses a column the table does not have (a value spread from a wider object)', () => {
    const wider = { id: 'a', extra: 1 } as unknown as Partial<Row>;
    expect(() => T.insert(wider)).toThrow('things has no column extra');
  });
});

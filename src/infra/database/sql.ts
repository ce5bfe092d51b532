import { createHash } from 'node:crypto';
import type { Pool, PoolClient, QueryConfig } from 'pg';
import sql, { join, raw, type Sql } from 'sql-template-tag';
import type { EntityManager } from 'typeorm';

/**
 * Driver SQL is written with the `sql` tag (sql-template-tag): every value sits where it is used and
 * becomes a numbered parameter, so no statement counts `$n` by hand and no file relies on another's
 * parameter order. Column lists come from one `Table` per table.
 */
export { sql, join, raw, type Sql };

/**
 * Runs a statement and returns its rows. TypeORM's PostgreSQL driver answers UPDATE and DELETE with
 * `[rows, affectedCount]` but SELECT and INSERT with `rows`; this hides the difference.
 */
export async function queryRows<T>(manager: EntityManager, query: Sql, options: { prepared?: boolean } = {}): Promise<T[]> {
  if (options.prepared) return preparedRows<T>(manager, query);
  const result: unknown = await manager.query(query.text, query.values);
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return result[0] as T[];
  }
  return result as T[];
}

const statementNames = new Map<string, string>();

/** A name per statement text (a hash: the same text always gets the same name, two texts never share one). */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `s_${createHash('sha256').update(text).digest('base64url').slice(0, 32)}`;
    if (statementNames.size < 1_000) statementNames.set(text, name);
  }
  return name;
}

/**
 * The statement as a named prepared statement of the connection (node-postgres prepares it on a
 * connection's first use, then only binds and executes it): PostgreSQL neither parses nor plans it
 * again, which halves its CPU time for the create path's INSERT. For the statements of the hot path
 * (their text must not vary with the values: it does not, values are always parameters). Runs in the
 * manager's transaction when it has one, else on a pooled connection, like `manager.query`; a failure
 * is logged by the data source's logger (without parameters) as TypeORM would.
 */
async function preparedRows<T>(manager: EntityManager, query: Sql): Promise<T[]> {
  const statement: QueryConfig = { name: statementName(query.text), text: query.text, values: query.values };
  const runner = manager.queryRunner;
  try {
    if (runner) {
      const client = (await runner.connect()) as PoolClient;
      return (await client.query(statement)).rows as T[];
    }
    const pool = (manager.connection.driver as unknown as { master: Pool }).master;
    return (await pool.query(statement)).rows as T[];
  } catch (error) {
    manager.connection.logger.logQueryError(error as Error, query.text, undefined, runner);
    throw error;
  }
}

export type Column<Row> = keyof Row & string;

/** Values by column name, as sent to PostgreSQL (json columns already serialised by the caller). */
export type ColumnValues<Row> = { readonly [K in Column<Row>]?: unknown };

/**
 * One table as the drivers see it: its row type (column names as in the database) and the PostgreSQL
 * type of every column. The mapped type makes the list exhaustive: a column added to the row type
 * and not here (or the reverse) fails to compile. The migrations stay the schema's truth; this is
 * the single place the code names a table's columns.
 */
export class Table<Row extends object> {
  /** Every column, in declaration order. */
  readonly columnNames: readonly Column<Row>[];

  constructor(
    readonly name: string,
    private readonly types: { readonly [K in Column<Row>]-?: string },
  ) {
    this.columnNames = Object.keys(types) as Column<Row>[];
  }

  /** `a, b, c` for SELECT and RETURNING: every column, or those given; qualified with `alias.` if given. */
  columns(pick: readonly Column<Row>[] = this.columnNames, alias?: string): Sql {
    return raw(pick.map((c) => (alias ? `${alias}.${c}` : c)).join(', '));
  }

  /** `INSERT INTO name (a, b) VALUES ($1::type, $2::type)`. */
  insert(values: ColumnValues<Row>): Sql {
    return sql`INSERT INTO ${raw(this.name)} (${this.columns(this.keys(values))}) VALUES (${this.typedValues(values)})`;
  }

  /**
   * `INSERT INTO name (a, b) SELECT $1::type, $2::type`, to be followed by a FROM clause (an insert
   * that happens only when another part of the statement produced a row). The casts are needed here:
   * PostgreSQL cannot infer the type of a parameter in a SELECT list.
   */
  insertSelect(values: ColumnValues<Row>): Sql {
    return sql`INSERT INTO ${raw(this.name)} (${this.columns(this.keys(values))}) SELECT ${this.typedValues(values)}`;
  }

  /** `a = EXCLUDED.a, b = EXCLUDED.b`: the columns an `ON CONFLICT ... DO UPDATE` takes from the new row. */
  setExcluded(pick: readonly Column<Row>[]): Sql {
    return raw(pick.map((c) => `${c} = EXCLUDED.${c}`).join(', '));
  }

  /**
   * `unnest($1::type[], $2::type[], ...) AS alias(a, b, ...)`: `rows` as a set of rows for a FROM clause,
   * one array parameter per column whatever the number of rows (so the statement's text and its
   * parameter count do not grow with the batch).
   */
  unnest(pick: readonly Column<Row>[], rows: ReadonlyArray<ColumnValues<Row>>, alias: string): Sql {
    this.keys(Object.fromEntries(pick.map((c) => [c, null])) as ColumnValues<Row>);
    const arrays = join(
      pick.map((c) => sql`${rows.map((r) => r[c] ?? null)}::${raw(this.types[c])}[]`),
      ', ',
    );
    return sql`unnest(${arrays}) AS ${raw(alias)}(${this.columns(pick)})`;
  }

  private keys(values: ColumnValues<Row>): Column<Row>[] {
    const keys = Object.keys(values) as Column<Row>[];
    const unknown = keys.filter((c) => !Object.hasOwn(this.types, c));
    if (unknown.length > 0) throw new Error(`${this.name} has no column ${unknown.join(', ')}`);
    return keys;
  }

  private typedValues(values: ColumnValues<Row>): Sql {
    return join(
      this.keys(values).map((c) => sql`${values[c]}::${raw(this.types[c])}`),
      ', ',
    );
  }
}

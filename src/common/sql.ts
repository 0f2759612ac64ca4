// better-sqlite3 statements compiled once per database and SQL text: db.prepare() parses and plans the SQL at every call.
import type Database from 'better-sqlite3';

const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/**
 * The statement for `sql` on `db`, prepared on first use. A statement is reused by every caller,
 * which is safe for get/all/run (each call binds and steps it to the end); SQLite re-prepares it
 * by itself after a schema change. Not for `iterate()`, which holds the statement open.
 */
export function prepared(db: Database.Database, sql: string): Database.Statement {
  let m = cache.get(db);
  if (!m) cache.set(db, (m = new Map()));
  let s = m.get(sql);
  if (!s) m.set(sql, (s = db.prepare(sql)));
  return s;
}

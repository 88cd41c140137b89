import type { PhysicalSchema, PhysicalTable } from './physical-schema.ts';
import { type MigrationRecord, type SchemaChange, shadowColumnName } from './schema-change.ts';
import { INITIAL_VERSION, VersionMap } from './version-map.ts';
import { VersionMapError } from './version-map-error.ts';
import { type HiddenColumn, type LogicalColumn, type LogicalTable, VersionSchema } from './version-schema.ts';

/**
 * Builds every version's logical schema from the physical schema as it is
 * now and the migration history (oldest first).
 *
 * Why backwards from now: after a migration completes, the newest completed
 * version's logical schema *is* the physical schema (schema-change.ts), so
 * the only ground truth needed is one fresh introspection. The in-flight
 * migration (at most one, the newest) is peeled off the physical schema to
 * get the version before it, then applied forward to get its own version;
 * older versions come from undoing completed migrations one by one.
 *
 * @example
 * const map = buildVersionMap(await introspect(), [
 *   { name: '01_rename', inFlight: true, changes: [{ kind: 'rename_column', table: 'users', from: 'name', to: 'full_name' }] },
 * ]);
 * map.version('01_rename')?.table('users')?.column('full_name')?.physical // 'name'
 */
export function buildVersionMap(physical: PhysicalSchema, history: readonly MigrationRecord[]): VersionMap {
  history.forEach((m, i) => {
    if (m.inFlight && i !== history.length - 1) {
      throw new VersionMapError('only the newest migration may be in flight', m.name, -1);
    }
    if (m.name === INITIAL_VERSION || history.findIndex((o) => o.name === m.name) !== i) {
      throw new VersionMapError(`duplicate or reserved migration name "${m.name}"`, m.name, -1);
    }
  });
  const tables = new Map(physical.tables.map((t) => [t.name, t]));
  const newest = history.at(-1);
  // Versions are computed newest first; schemas[i] belongs to names[i].
  const names: string[] = [];
  const schemas: WSchema[] = [];
  const filled = new Set<string>();
  let current = identity(physical);
  let rest = history.length;
  if (newest?.inFlight) {
    const before = peelInFlight(current, newest, tables, filled);
    names.push(newest.name);
    schemas.push(applyInFlight(before, newest, tables, filled, { tables: new Set(), columns: new Set() }));
    current = before;
    rest -= 1;
  }
  for (let i = rest - 1; i >= 0; i--) {
    const m = history[i]!;
    names.push(m.name);
    schemas.push(current);
    current = undoCompleted(current, m);
  }
  names.push(INITIAL_VERSION);
  schemas.push(current);
  names.reverse();
  schemas.reverse();
  const versions = schemas.map((s, i) => finish(names[i]!, s, physical, tables, filled));
  const completed = history.filter((m) => !m.inFlight).at(-1)?.name ?? INITIAL_VERSION;
  return new VersionMap(versions, names.at(-1)!, completed, physical.nameResolution);
}

// Working model: mutable copies while a version is being derived.
interface WColumn {
  name: string;
  physical: string | null;
}
interface WTable {
  name: string;
  physical: string | null;
  columns: WColumn[];
}
type WSchema = WTable[];

const key = (table: string, column: string) => `${table}\u0000${column}`;

function identity(physical: PhysicalSchema): WSchema {
  return physical.tables.map((t) => ({
    name: t.name,
    physical: t.name,
    columns: t.columns.map((c) => ({ name: c.name, physical: c.name })),
  }));
}

function clone(schema: WSchema): WSchema {
  return schema.map((t) => ({ ...t, columns: t.columns.map((c) => ({ ...c })) }));
}

class Changes {
  constructor(
    readonly migration: MigrationRecord,
    private index = -1,
  ) {}
  at(i: number): this {
    this.index = i;
    return this;
  }
  fail(message: string): never {
    throw new VersionMapError(message, this.migration.name, this.index);
  }
  table(schema: WSchema, name: string): WTable {
    return schema.find((t) => t.name === name) ?? this.fail(`no table "${name}"`);
  }
  column(table: WTable, name: string): WColumn {
    return table.columns.find((c) => c.name === name) ?? this.fail(`no column "${table.name}.${name}"`);
  }
  /** The physical table behind a logical one that the change is about to touch physically. */
  physicalOf(table: WTable): string {
    return table.physical ?? this.fail(`table "${table.name}" no longer exists physically`);
  }
}

/**
 * The version before an in-flight migration: the physical schema without
 * what the migration added (tables, columns, shadow columns) and with tables
 * it renamed aside under their old names.
 */
function peelInFlight(
  now: WSchema,
  m: MigrationRecord,
  tables: ReadonlyMap<string, PhysicalTable>,
  filled: Set<string>,
): WSchema {
  const before = clone(now);
  const ctx = new Changes(m);
  for (const [i, change] of m.changes.entries()) {
    ctx.at(i);
    if (change.kind === 'drop_table' && change.physical !== undefined) {
      const t =
        before.find((x) => x.physical === change.physical) ?? ctx.fail(`no table "${change.physical}"`);
      t.name = change.table;
    }
  }
  const added = { tables: new Set<string>(), columns: new Set<string>() };
  applyInFlight(before, m, tables, filled, added);
  return before
    .filter((t) => t.physical === null || !added.tables.has(t.physical))
    .map((t) => ({
      ...t,
      columns: t.columns.filter(
        (c) => c.physical === null || !added.columns.has(key(t.physical ?? '', c.physical)),
      ),
    }));
}

/**
 * The in-flight migration's own version, from the version before it.
 * Objects the migration adds may already be listed under their physical
 * names (when peeling), so adding one first removes any such entry.
 */
function applyInFlight(
  before: WSchema,
  m: MigrationRecord,
  tables: ReadonlyMap<string, PhysicalTable>,
  filled: Set<string>,
  added: { tables: Set<string>; columns: Set<string> },
): WSchema {
  const next = clone(before);
  const ctx = new Changes(m);
  for (const [i, change] of m.changes.entries()) {
    ctx.at(i);
    switch (change.kind) {
      case 'create_table': {
        const p = tables.get(change.table) ?? ctx.fail(`table "${change.table}" does not exist physically`);
        const existing = next.findIndex((t) => t.physical === p.name);
        if (existing >= 0) next.splice(existing, 1);
        next.push({
          name: change.table,
          physical: p.name,
          columns: p.columns.map((c) => ({ name: c.name, physical: c.name })),
        });
        added.tables.add(p.name);
        break;
      }
      case 'drop_table':
        next.splice(next.indexOf(ctx.table(next, change.table)), 1);
        break;
      case 'rename_table':
        ctx.table(next, change.from).name = change.to;
        break;
      case 'add_column': {
        const t = ctx.table(next, change.table);
        const phys = change.physical ?? change.column;
        const table = ctx.physicalOf(t);
        requirePhysicalColumn(ctx, tables, table, phys);
        unlist(t, phys);
        t.columns.push({ name: change.column, physical: phys });
        added.columns.add(key(table, phys));
        if (change.filledByTrigger) filled.add(key(table, phys));
        break;
      }
      case 'drop_column': {
        const t = ctx.table(next, change.table);
        const c = ctx.column(t, change.column);
        if (change.filledByTrigger && c.physical !== null) filled.add(key(ctx.physicalOf(t), c.physical));
        t.columns.splice(t.columns.indexOf(c), 1);
        break;
      }
      case 'rename_column':
        ctx.column(ctx.table(next, change.table), change.from).name = change.to;
        break;
      case 'alter_column': {
        const t = ctx.table(next, change.table);
        const c = ctx.column(t, change.column);
        const shadow = change.shadow ?? shadowColumnName(change.column);
        const table = ctx.physicalOf(t);
        requirePhysicalColumn(ctx, tables, table, shadow);
        unlist(t, shadow);
        // Sync triggers fill each side from the other, so writers of either version may omit the other's.
        if (c.physical !== null) filled.add(key(table, c.physical));
        filled.add(key(table, shadow));
        added.columns.add(key(table, shadow));
        c.physical = shadow;
        c.name = change.name ?? c.name;
        break;
      }
    }
  }
  inCompletedOrder(next, tables);
  return next;
}

/**
 * Orders the in-flight version's columns as complete will leave them: in
 * the order of their physical columns. Complete renames the shadow column
 * into place where it was added, at the end of the table, so the changed
 * column is last from then on. Showing that order from START (to `SELECT *`,
 * an INSERT without a column list, COPY and the catalogs alike) means code
 * written for the new version sees no change of column order at the switch,
 * and the catalogs' column numbers, which stay physical, agree with it.
 */
function inCompletedOrder(schema: WSchema, tables: ReadonlyMap<string, PhysicalTable>): void {
  for (const t of schema) {
    const p = t.physical === null ? undefined : tables.get(t.physical);
    if (!p) continue;
    const position = new Map(p.columns.map((c, i) => [c.name, i]));
    const at = (c: WColumn) => (c.physical === null ? Infinity : (position.get(c.physical) ?? Infinity));
    t.columns.sort((a, b) => at(a) - at(b));
  }
}

/** Drops the entry that lists a physical column under its own name (peeling starts from the physical schema). */
function unlist(t: WTable, physical: string): void {
  const i = t.columns.findIndex((c) => c.physical === physical);
  if (i >= 0) t.columns.splice(i, 1);
}

function requirePhysicalColumn(
  ctx: Changes,
  tables: ReadonlyMap<string, PhysicalTable>,
  table: string,
  column: string,
): void {
  if (!tables.get(table)?.columns.some((c) => c.name === column)) {
    ctx.fail(`column "${table}.${column}" does not exist physically`);
  }
}

/**
 * The version before a completed migration. Completed renames are physical
 * now, so undoing one only changes the logical name; dropped tables and
 * columns come back with no physical object behind them (the version can
 * no longer be served those).
 */
function undoCompleted(after: WSchema, m: MigrationRecord): WSchema {
  const before = clone(after);
  const ctx = new Changes(m);
  for (let i = m.changes.length - 1; i >= 0; i--) {
    const change: SchemaChange = m.changes[i]!;
    ctx.at(i);
    switch (change.kind) {
      case 'create_table':
        before.splice(before.indexOf(ctx.table(before, change.table)), 1);
        break;
      case 'drop_table':
        before.push({ name: change.table, physical: null, columns: [] });
        break;
      case 'rename_table':
        ctx.table(before, change.to).name = change.from;
        break;
      case 'add_column': {
        const t = ctx.table(before, change.table);
        t.columns.splice(t.columns.indexOf(ctx.column(t, change.column)), 1);
        break;
      }
      case 'drop_column':
        ctx.table(before, change.table).columns.push({ name: change.column, physical: null });
        break;
      case 'rename_column':
        ctx.column(ctx.table(before, change.table), change.to).name = change.from;
        break;
      case 'alter_column':
        ctx.column(ctx.table(before, change.table), change.name ?? change.column).name = change.column;
        break;
    }
  }
  return before;
}

function finish(
  name: string,
  schema: WSchema,
  physical: PhysicalSchema,
  tables: ReadonlyMap<string, PhysicalTable>,
  filled: ReadonlySet<string>,
): VersionSchema {
  const seen = new Set<string>();
  const logical = schema.map((t): LogicalTable => {
    const p = t.physical === null ? undefined : tables.get(t.physical);
    if (t.physical !== null && !p) {
      throw new VersionMapError(`table "${t.physical}" does not exist physically`, name, -1);
    }
    if (p) seen.add(p.name);
    return logicalTable(t, p, filled);
  });
  const hidden = physical.tables.filter((t) => !seen.has(t.name)).map((t) => t.name);
  return new VersionSchema(name, physical.schema, logical, hidden);
}

function logicalTable(t: WTable, p: PhysicalTable | undefined, filled: ReadonlySet<string>): LogicalTable {
  const columns: LogicalColumn[] = t.columns.map((c) => ({ name: c.name, physical: c.physical }));
  const visible = new Set(columns.map((c) => c.physical));
  const hidden: HiddenColumn[] = (p?.columns ?? [])
    .filter((c) => !visible.has(c.name))
    .map((c) => ({
      physical: c.name,
      omittable: c.nullable || c.hasDefault || filled.has(key(p?.name ?? '', c.name)),
    }));
  const physicalColumns = new Set((p?.columns ?? []).map((c) => c.name));
  const sameColumns =
    p !== undefined &&
    p.columns.length === columns.length &&
    columns.every((c, i) => c.physical === c.name && p.columns[i]?.name === c.physical);
  const rewrites = t.physical !== t.name || !sameColumns;
  const byName = new Map(columns.map((c) => [c.name, c]));
  const hiddenByName = new Map(hidden.map((h) => [h.physical, h]));
  return {
    name: t.name,
    physical: t.physical,
    columns,
    hidden,
    physicalColumns,
    sameColumns,
    rewrites,
    column: (n) => byName.get(n),
    hiddenColumn: (n) => hiddenByName.get(n),
  };
}

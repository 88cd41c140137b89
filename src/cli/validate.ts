/**
 * `shiftgate validate FILE... [--upstream URL] [--schema NAME]`: checks
 * migration files. With no database it checks each file's structure and the
 * rules between its operations; with `--upstream` it also checks the files,
 * in order, against the live schema (read only). Every problem is printed as
 * `FILE: operation N: field: reason`.
 */

import { connectMigrationEngine } from '../dialects/index.ts';
import { MigrationValidationError } from '../migrations/errors.ts';
import type { Migration } from '../migrations/format.ts';
import { cloneModel, type SchemaModel } from '../migrations/model.ts';
import { loadMigrationFile } from '../migrations/parse.ts';
import { planMigration } from '../migrations/planner.ts';
import { parseArgs } from './args.ts';

const USAGE = 'usage: shiftgate validate FILE... [--upstream URL] [--schema NAME]\n';

/** The model once a migration is complete: every object under its logical name. */
function settled(model: SchemaModel): SchemaModel {
  const out = cloneModel(model);
  for (const t of out.tables) {
    t.physical = t.name;
    for (const c of t.columns) c.physical = c.name;
  }
  return out;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const upstream = args.configFlags.upstream ?? process.env.SHIFTGATE_UPSTREAM;
  // Without --schema, the dialect's default: PostgreSQL `public`, the MySQL URL's database.
  const schema = typeof args.options.schema === 'string' ? { schema: args.options.schema } : {};
  if (args.positional.length === 0 || args.options.help) {
    process.stderr.write(USAGE);
    return args.options.help ? 0 : 2;
  }
  const report = (err: MigrationValidationError) => {
    for (const issue of err.issues)
      process.stdout.write(`${issue.message.replace(/ \(and \d+ more\)$/, '')}\n`);
  };
  let failed = 0;
  const parsed: { file: string; migration: Migration }[] = [];
  for (const file of args.positional) {
    try {
      parsed.push({ file, migration: loadMigrationFile(file) });
    } catch (err) {
      if (!(err instanceof MigrationValidationError)) throw err;
      report(err);
      failed++;
    }
  }
  if (upstream && failed === 0) {
    const engine = await connectMigrationEngine({ url: upstream, ...schema });
    try {
      let model = await engine.introspect();
      for (const { file, migration } of parsed) {
        try {
          model = settled(planMigration(migration, model, engine.dialect.capabilities, file).after);
        } catch (err) {
          if (!(err instanceof MigrationValidationError)) throw err;
          report(err);
          failed++;
          break;
        }
      }
    } finally {
      await engine.close();
    }
  }
  if (failed === 0) for (const { file } of parsed) process.stdout.write(`ok ${file}\n`);
  return failed === 0 ? 0 : 1;
}

/**
 * PostgreSQL SQL translation: statements written for one schema version
 * rewritten for the physical schema, as text edits on the original.
 */
export type { StatementPlan, TableUse, TextEdit, TranslationPlan } from './plan.ts';
export { applyEdits } from './plan.ts';
export {
  loadPgParser,
  PgTranslator,
  type TranslatorCounters,
  type TranslatorOptions,
  translateUncached,
} from './translator.ts';

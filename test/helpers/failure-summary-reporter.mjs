/**
 * A node:test reporter that writes only the failed tests, each with its
 * suite path, file and error, when the run ends. test/run.ts prints what it
 * wrote after the TAP stream, so the last lines of a long run name what
 * failed instead of leaving it a thousand lines up.
 *
 * Plain JavaScript: node loads reporters before tsx's hooks are in place.
 */

/** @param {{ message?: string, cause?: unknown } | undefined} error */
function describeError(error) {
  const cause = error?.cause;
  if (cause instanceof Error) return cause.stack ?? cause.message;
  if (cause !== undefined) return String(cause);
  return error?.message ?? '(no error given)';
}

/** @param {AsyncIterable<{ type: string, data: any }>} source */
export default async function* failureSummary(source) {
  /** @type {{ path: string[], nesting: number, file?: string, error: string }[]} */
  const failures = [];
  for await (const event of source) {
    if (event.type !== 'test:fail') continue;
    const { name, nesting, file, details } = event.data;
    // A suite fails when one of its tests does and reports after them: it is the next name up their path.
    for (const failure of failures) {
      if (nesting === failure.nesting - failure.path.length) failure.path.unshift(name);
    }
    if (details?.error?.failureType === 'subtestsFailed') continue;
    failures.push({ path: [name], nesting, file, error: describeError(details?.error) });
  }
  if (failures.length === 0) return;
  yield `\n# ${failures.length} failed:\n`;
  for (const failure of failures) {
    yield `# - ${failure.path.join(' > ')}${failure.file ? `  (${failure.file})` : ''}\n`;
    for (const line of failure.error.split('\n').slice(0, 12)) yield `#     ${line}\n`;
  }
}

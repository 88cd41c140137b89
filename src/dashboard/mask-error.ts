/**
 * An engine error may quote the statement that failed: its literals (values,
 * expressions of a raw `sql` operation) are masked, and the text is capped.
 */
export function maskError(error: string | null): string | null {
  if (error === null) return null;
  const masked = error
    .replace(/'(?:[^'\\]|\\.|'')*'?/g, "'…'")
    .replace(/\$([A-Za-z_]\w*)?\$[\s\S]*?(\$\1\$|$)/g, '$…$')
    .replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>');
  return masked.length > 300 ? `${masked.slice(0, 300)}…` : masked;
}

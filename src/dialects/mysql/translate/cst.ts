/**
 * A loose view of sql-parser-cst's nodes: the rewriter walks many node
 * types and only needs `type`, `range` and named children, so it reads
 * them through one structural type instead of the library's hundreds.
 */
export interface CstNode {
  readonly type: string;
  /** [start, end) in UTF-16 code units of the parsed text (includeRange). */
  readonly range?: [number, number];
  readonly [key: string]: unknown;
}

export const isNode = (v: unknown): v is CstNode =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  typeof (v as { type?: unknown }).type === 'string';

export function child(node: CstNode, key: string): CstNode | undefined {
  const v = node[key];
  return isNode(v) ? v : undefined;
}

export function children(node: CstNode, key: string): CstNode[] {
  const v = node[key];
  return Array.isArray(v) ? v.filter(isNode) : [];
}

/** The items of a list_expr, or of a paren_expr around one; [] for anything else. */
export function listItems(node: CstNode | undefined): CstNode[] {
  if (!node) return [];
  if (node.type === 'paren_expr') return listItems(child(node, 'expr'));
  if (node.type === 'list_expr') return children(node, 'items');
  return [node];
}

export function rangeOf(node: CstNode): [number, number] {
  const r = node.range;
  if (!r) throw new Error(`no source range on ${node.type}`);
  return r;
}

/** The identifier's name as the server reads it (quotes removed, doubled quotes undone). */
export const identName = (node: CstNode): string => String(node.name);

/**
 * The identifiers of a dotted name (`t`, `db.t`, `db.t.col`) in order, or
 * null when the node is not one.
 */
export function identChain(node: CstNode): CstNode[] | null {
  if (node.type === 'identifier') return [node];
  if (node.type !== 'member_expr') return null;
  const object = child(node, 'object');
  const property = child(node, 'property');
  if (!object || property?.type !== 'identifier') return null;
  const head = identChain(object);
  return head ? [...head, property] : null;
}

/** The keyword texts of a keyword child (one keyword or a list of them), upper-cased. */
export function keywords(node: CstNode, key: string): string[] {
  const v = node[key];
  const list = Array.isArray(v) ? v : [v];
  return list.filter(isNode).map((k) => String(k.text ?? k.name ?? '').toUpperCase());
}

export const CATALOG_WORDS: string[] = [];

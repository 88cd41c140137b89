/** A connection the CLI uses to send admin commands to a running proxy, whatever its dialect. */
export interface AdminClient {
  /** Runs one statement; every value comes back as text (null for SQL NULL). */
  query(sql: string): Promise<{ columns: string[]; rows: (string | null)[][] }>;
  close(): Promise<void>;
}

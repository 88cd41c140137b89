import type { StatementRouter } from '../../proxy/statement-router.ts';
import type { VersionMap } from '../../versions/version-map.ts';
import { decodeErrorFields, encodeErrorFields } from './codec/error-fields.ts';
import { BackendCode } from './codec/message-codes.ts';
import { mapServerError } from './translate/server-error.ts';

/** For the backend scanner: how to re-make a held message, or null to let it pass as it is. */
export type Replacer = (code: number) => ((body: Buffer) => Buffer) | null;

/**
 * Which server errors a session must see in its schema version's words
 * (translate/server-error.ts): every ErrorResponse of a session whose
 * version sees some table differently from the database. Sessions of a
 * version that matches the physical schema get null and keep the plain,
 * copy-free relay.
 */
export class ServerErrorWords {
  private map: VersionMap | null = null;
  private readonly byVersion = new Map<string, Replacer | null>();

  forSession(router: StatementRouter | null, version: string | null): Replacer | null {
    const map = router?.versionMap ?? null;
    if (!map) return null;
    if (map !== this.map) {
      this.map = map;
      this.byVersion.clear();
    }
    const name = version ?? map.latestCompleted;
    let replacer = this.byVersion.get(name);
    if (replacer === undefined) {
      const schema = map.version(name);
      replacer = null;
      // While a migration is in flight even a version that sees every table as it is (the new
      // version of an add_column) can hit a Shiftgate check whose error must speak its words.
      if (schema && map.versions.some((v) => !v.identity)) {
        const rewrite = (body: Buffer): Buffer => {
          const fields = decodeErrorFields(body);
          const mapped = mapServerError(fields, schema);
          const table = fields.find(([type]) => type === 't')?.[1];
          const note = table === undefined ? null : (router?.retirementNote?.(name, table) ?? null);
          if (note) {
            // The server's words are right for the schema as it is; the client also needs to know why it differs.
            return encodeErrorFields(
              (mapped ?? fields).map(([type, value]): [string, string] =>
                type === 'M' ? [type, `${value}. ${note}`] : [type, value],
              ),
            );
          }
          if (mapped) return encodeErrorFields(mapped);
          const header = Buffer.allocUnsafe(5);
          header[0] = BackendCode.ErrorResponse;
          header.writeInt32BE(body.length + 4, 1);
          return Buffer.concat([header, body]);
        };
        replacer = (code) => (code === BackendCode.ErrorResponse ? rewrite : null);
      }
      this.byVersion.set(name, replacer);
    }
    return replacer;
  }
}

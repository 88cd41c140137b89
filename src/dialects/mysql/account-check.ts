/**
 * After a login (or COM_CHANGE_USER, COM_RESET_CONNECTION) the proxy asks
 * the server which account it authenticated: admin authorisation needs the
 * account the server chose, not the name the client claimed.
 */
import { decodeErr, encodeTextCommandPacket } from './messages.ts';
import { Command, ResponseHeader } from './protocol.ts';
import { PayloadReader } from './reader.ts';
import { versionValue } from './version-binding.ts';

/**
 * NOTE: the account is asked for on the session's own upstream connection,
 * right after the server's OK and before the client sees it: no second
 * login (the proxy has no credentials of the client's), one local round
 * trip per login, and no admin command can be routed before the answer.
 * The cost is that the server sees one statement the client did not send:
 * it counts in Questions / Com_select, may appear in the general log, and
 * sets FOUND_ROWS() to 1 until the client's first statement.
 */
const ACCOUNT_QUERY = 'SELECT CURRENT_USER()';

/** The account question, which also sets the session's version for the triggers (user variables die with logins). */
export function accountQuery(version: string | null): Buffer {
  const sql =
    version === null ? ACCOUNT_QUERY : `${ACCOUNT_QUERY}, @shiftgate_version := ${versionValue(version)}`;
  return encodeTextCommandPacket(Command.Query, sql);
}

/** The user name of a `user@host` account (user names may hold '@', host names may not); null for none. */
export function userOfAccount(account: string | null): string | null {
  const at = account === null ? -1 : account.lastIndexOf('@');
  return at < 0 ? null : account!.slice(0, at);
}

/** The end of the answer to ACCOUNT_QUERY. */
export interface AccountAnswer {
  account: string | null;
  /** The server's error message when it refused the question, else null. */
  refused: string | null;
}

/** Where the answer to ACCOUNT_QUERY stands. */
export class AccountCheck {
  private state: 'count' | 'columns' | 'eof' | 'rows' = 'count';
  private columnsLeft = 0;
  private account: string | null = null;

  /**
   * @param loginOk The server's login OK, told to the client once the account is known; null after COM_CHANGE_USER.
   * @param deprecateEof The client leg agreed CLIENT_DEPRECATE_EOF: no EOF closes the column definitions.
   */
  constructor(
    readonly loginOk: Buffer | null,
    private readonly deprecateEof: boolean,
  ) {}

  /**
   * One packet of the answer to ACCOUNT_QUERY: column count, column
   * definitions, [EOF], the row, EOF / OK. Returns the answer at its end,
   * undefined while more packets are due.
   */
  onPacket(payload: Buffer): AccountAnswer | undefined {
    const first = payload[0];
    if (first === ResponseHeader.Err) {
      // A session that must change its expired password first (1820), for one: it has no admin account.
      return { account: null, refused: decodeErr(payload).message };
    }
    switch (this.state) {
      case 'count':
        this.columnsLeft = new PayloadReader(payload, 'column count').lenencInt();
        this.state = 'columns';
        return undefined;
      case 'columns':
        if (--this.columnsLeft > 0) return undefined;
        this.state = this.deprecateEof ? 'rows' : 'eof';
        return undefined;
      case 'eof':
        this.state = 'rows';
        return undefined;
      case 'rows':
        // 0xFE starts the closing EOF / OK: a row of one short string cannot start with it.
        if (first === ResponseHeader.Eof) return { account: this.account, refused: null };
        this.account =
          first === 0xfb /* NULL */
            ? null
            : new PayloadReader(payload, 'text row').lenencBytes().toString('utf8');
        return undefined;
    }
  }
}

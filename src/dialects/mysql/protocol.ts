/**
 * Wire constants of the MySQL / MariaDB client/server protocol, named as in
 * the MySQL internals docs and MariaDB's `mysql_com.h`.
 */

/** The length field is 3 bytes: a payload of exactly this many bytes continues in the next packet. */
export const MAX_PACKET_PAYLOAD = 0xffffff;
/** 3-byte length + 1-byte sequence id. */
export const PACKET_HEADER_LENGTH = 4;

/** First payload byte of a client command packet (sequence id 0). */
export enum Command {
  Sleep = 0x00, // COM_SLEEP (server-internal)
  Quit = 0x01, // COM_QUIT: no response, the server closes
  InitDb = 0x02, // COM_INIT_DB
  Query = 0x03, // COM_QUERY
  FieldList = 0x04, // COM_FIELD_LIST: column definitions then EOF
  CreateDb = 0x05, // COM_CREATE_DB
  DropDb = 0x06, // COM_DROP_DB
  Refresh = 0x07, // COM_REFRESH
  Shutdown = 0x08, // COM_SHUTDOWN
  Statistics = 0x09, // COM_STATISTICS: one plain string packet
  ProcessInfo = 0x0a, // COM_PROCESS_INFO: a result set
  Connect = 0x0b, // COM_CONNECT (server-internal)
  ProcessKill = 0x0c, // COM_PROCESS_KILL: 4-byte connection id
  Debug = 0x0d, // COM_DEBUG: EOF or ERR
  Ping = 0x0e, // COM_PING
  Time = 0x0f, // COM_TIME (server-internal)
  DelayedInsert = 0x10, // COM_DELAYED_INSERT (server-internal)
  ChangeUser = 0x11, // COM_CHANGE_USER: a full authentication exchange
  BinlogDump = 0x12, // COM_BINLOG_DUMP: a replication stream
  TableDump = 0x13, // COM_TABLE_DUMP
  ConnectOut = 0x14, // COM_CONNECT_OUT
  RegisterSlave = 0x15, // COM_REGISTER_SLAVE
  StmtPrepare = 0x16, // COM_STMT_PREPARE
  StmtExecute = 0x17, // COM_STMT_EXECUTE
  StmtSendLongData = 0x18, // COM_STMT_SEND_LONG_DATA: no response
  StmtClose = 0x19, // COM_STMT_CLOSE: no response
  StmtReset = 0x1a, // COM_STMT_RESET
  SetOption = 0x1b, // COM_SET_OPTION: EOF or ERR
  StmtFetch = 0x1c, // COM_STMT_FETCH: binary rows of an open cursor
  Daemon = 0x1d, // COM_DAEMON (server-internal)
  BinlogDumpGtid = 0x1e, // COM_BINLOG_DUMP_GTID (MySQL)
  ResetConnection = 0x1f, // COM_RESET_CONNECTION
  StmtBulkExecute = 0xfa, // COM_STMT_BULK_EXECUTE (MariaDB)
}

/** First payload byte of a server response packet. */
export enum ResponseHeader {
  Ok = 0x00, // OK_Packet (also the "prepare OK" and a binary row)
  AuthMoreData = 0x01, // AuthMoreData during authentication
  LocalInfile = 0xfb, // LOCAL INFILE request: the client sends a file next
  Eof = 0xfe, // EOF_Packet, or OK with 0xFE header under CLIENT_DEPRECATE_EOF, or AuthSwitchRequest
  Err = 0xff, // ERR_Packet
}

/**
 * Lower 32 capability bits (`CLIENT_*`). Values above 2^31 are written as
 * unsigned numbers; combine them with `>>> 0`.
 */
export enum Capability {
  LongPassword = 0x1, // CLIENT_LONG_PASSWORD; MariaDB servers clear it ("CLIENT_MYSQL") to announce extended capabilities
  FoundRows = 0x2,
  LongFlag = 0x4,
  ConnectWithDb = 0x8,
  NoSchema = 0x10,
  Compress = 0x20, // CLIENT_COMPRESS: zlib on the client leg (compression.ts); the upstream leg stays uncompressed
  Odbc = 0x40,
  LocalFiles = 0x80,
  IgnoreSpace = 0x100,
  Protocol41 = 0x200,
  Interactive = 0x400,
  Ssl = 0x800,
  IgnoreSigpipe = 0x1000,
  Transactions = 0x2000,
  Reserved = 0x4000,
  SecureConnection = 0x8000,
  MultiStatements = 0x10000,
  MultiResults = 0x20000,
  PsMultiResults = 0x40000,
  PluginAuth = 0x80000,
  ConnectAttrs = 0x100000,
  PluginAuthLenencClientData = 0x200000,
  CanHandleExpiredPasswords = 0x400000,
  SessionTrack = 0x800000,
  DeprecateEof = 0x1000000,
  OptionalResultsetMetadata = 0x2000000, // MySQL 8: adds a metadata_follows byte the relay does not track
  ZstdCompression = 0x4000000, // MySQL 8 only (MariaDB does not offer it): not implemented, cleared
  QueryAttributes = 0x8000000, // MySQL 8: prefixes COM_QUERY text with bound attributes
  MultiFactorAuthentication = 0x10000000, // MySQL 8: adds AuthNextFactor exchanges
  CapabilityExtension = 0x20000000,
  SslVerifyServerCert = 0x40000000,
  RememberOptions = 0x80000000,
}

/** MariaDB extended capabilities: the upper 32 bits, sent in the handshake's reserved bytes. */
export enum MariadbCapability {
  Progress = 0x1, // MARIADB_CLIENT_PROGRESS: progress reports as 0xFF packets mid-statement
  ComMulti = 0x2, // MARIADB_CLIENT_COM_MULTI (removed from servers)
  StmtBulkOperations = 0x4, // MARIADB_CLIENT_STMT_BULK_OPERATIONS: COM_STMT_BULK_EXECUTE
  ExtendedMetadata = 0x8, // MARIADB_CLIENT_EXTENDED_METADATA: extra fields inside column definitions
  CacheMetadata = 0x10, // MARIADB_CLIENT_CACHE_METADATA: a metadata_follows byte after the column count
  BulkUnitResults = 0x20, // MARIADB_CLIENT_BULK_UNIT_RESULTS
}

/** Lower capability bits the relay understands; everything else is cleared in both handshake directions. */
export const SUPPORTED_CAPABILITIES =
  (0xffffffff &
    ~(
      Capability.Ssl |
      Capability.OptionalResultsetMetadata |
      Capability.ZstdCompression |
      Capability.QueryAttributes |
      Capability.MultiFactorAuthentication
    )) >>>
  0;

/** MariaDB extended capabilities the relay understands (they do not change response framing). */
export const SUPPORTED_MARIADB_CAPABILITIES =
  MariadbCapability.StmtBulkOperations | MariadbCapability.ExtendedMetadata;

/** `SERVER_STATUS_*` flags of OK and EOF packets. */
export enum ServerStatus {
  InTrans = 0x1,
  Autocommit = 0x2,
  MoreResultsExist = 0x8,
  NoGoodIndexUsed = 0x10,
  NoIndexUsed = 0x20,
  CursorExists = 0x40,
  LastRowSent = 0x80,
  DbDropped = 0x100,
  NoBackslashEscapes = 0x200,
  MetadataChanged = 0x400,
  QueryWasSlow = 0x800,
  PsOutParams = 0x1000,
  InTransReadonly = 0x2000,
  SessionStateChanged = 0x4000,
}

/** Error numbers the proxy sends itself (server numbers where one fits, client numbers for lost links). */
export enum ErrorCode {
  ServerShutdown = 1053, // ER_SERVER_SHUTDOWN
  NoSuchThread = 1094, // ER_NO_SUCH_THREAD
  UnknownError = 1105, // ER_UNKNOWN_ERROR
  NotSupportedYet = 1235, // ER_NOT_SUPPORTED_YET
  UnknownStmtHandler = 1243, // ER_UNKNOWN_STMT_HANDLER
  NeedReprepare = 1615, // ER_NEED_REPREPARE
  MalformedPacket = 1835, // ER_MALFORMED_PACKET
  ConnHostError = 2003, // CR_CONN_HOST_ERROR: cannot reach the server
  ServerLost = 2013, // CR_SERVER_LOST: lost connection during query
  SslConnectionError = 2026, // CR_SSL_CONNECTION_ERROR
}

/** caching_sha2_password AuthMoreData payloads and client requests. */
export enum CachingSha2 {
  RequestPublicKey = 0x02, // client -> server: send me your RSA public key
  FastAuthSuccess = 0x03, // server -> client, after 0x01: an OK follows
  PerformFullAuthentication = 0x04, // server -> client, after 0x01: send the password
}

export const AuthPlugin = {
  nativePassword: 'mysql_native_password',
  cachingSha2: 'caching_sha2_password',
  sha256: 'sha256_password',
  clearPassword: 'mysql_clear_password',
  ed25519: 'client_ed25519',
} as const;

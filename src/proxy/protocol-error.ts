/**
 * A frame that breaks its protocol: too short, too long, a length that
 * points past the frame, an unterminated string. Codecs throw it instead of
 * reading out of bounds; the session answers with the dialect's error
 * (08P01 / malformed packet) and closes.
 */
export class ProtocolError extends Error {
  constructor(
    message: string,
    /** Message code or packet kind being decoded, for logs and metrics. */
    readonly messageType: string,
    /** Byte offset inside the frame where decoding failed. */
    readonly offset: number,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

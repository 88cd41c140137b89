import { execFileSync } from 'node:child_process';
import { chownSync } from 'node:fs';
import { join } from 'node:path';

/** A self-signed certificate; with `owner`, the files belong to that system user (the server's key must). */
export function selfSignedCertificate(dir: string, owner?: string): { cert: string; key: string } {
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  if (owner && process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', owner]).toString());
    const gid = Number(execFileSync('id', ['-g', owner]).toString());
    chownSync(dir, uid, gid);
    chownSync(cert, uid, gid);
    chownSync(key, uid, gid);
  }
  return { cert, key };
}

// ARM refuses a Linux VM with password login off and no SSH key. Nodes are never logged into (the
// agent talks to the control plane), so when no key is configured the scale set gets the public
// half of a fresh RSA key whose private half is thrown away: nobody can log in with it.

import { generateKeyPairSync } from 'node:crypto';

export function throwawaySshPublicKey(comment = 'fnbatch-no-login'): string {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
  const jwk = publicKey.export({ format: 'jwk' });
  if (!jwk.e || !jwk.n) throw new Error('RSA public key export lacks e or n');
  // OpenSSH wire format (RFC 4253 section 6.6): string "ssh-rsa", mpint e, mpint n.
  const blob = Buffer.concat([sshString(Buffer.from('ssh-rsa')), sshMpint(Buffer.from(jwk.e, 'base64url')), sshMpint(Buffer.from(jwk.n, 'base64url'))]);
  return `ssh-rsa ${blob.toString('base64')} ${comment}`;
}

function sshString(data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, data]);
}

/** Unsigned big-endian integer as an SSH mpint: a leading zero byte when the top bit is set. */
function sshMpint(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  return sshString(trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

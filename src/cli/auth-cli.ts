import { hashPassword, newToken } from '../access/secrets.js';

export const AUTH_USAGE = `twinflow auth <token|password>

  token [name]    prints a new API token (give it to the app or device) and the line to put in
                  the access file's principals.<name>.tokens (only the hash is stored there)
  password        reads a password from stdin and prints its scrypt hash for principals.<name>.password
                  (MQTT CONNECT user name <name> with that password)
`;

/** `twinflow auth …`: makes the secrets of an access file (docs/security.md). */
export async function authCommand(argv: string[]): Promise<number> {
  const [what, name = 'my-app'] = argv;
  if (what === 'token') {
    const { token, stored } = newToken();
    process.stdout.write(
      `token (give to the client; shown once): ${token}\n` +
        `access file: "principals": { ${JSON.stringify(name)}: { "tokens": [${JSON.stringify(stored)}], "grants": [...] } }\n`,
    );
    return 0;
  }
  if (what === 'password') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const password = Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
    if (password.length === 0) {
      process.stderr.write('twinflow auth password: give the password on stdin\n');
      return 2;
    }
    process.stdout.write(`${hashPassword(password)}\n`);
    return 0;
  }
  process.stderr.write(AUTH_USAGE);
  return 2;
}

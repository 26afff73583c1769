/**
 * The error of a listener that could not bind, as one line a user can act on. Node's own
 * (`listen EADDRINUSE: address already in use 127.0.0.1:1883`) names neither the front
 * nor the flag that chose the port.
 *
 * @example
 * ```ts
 * server.once('error', (err) => reject(listenError(err, 'MQTT', host, port, '--mqtt-port')));
 * ```
 */
export function listenError(err: unknown, front: string, host: string, port: number, flag: string): Error {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const where = `${front} port ${port} on ${host}`;
  const message =
    code === 'EADDRINUSE'
      ? `${where} is already in use (another process listens there; choose another with ${flag})`
      : code === 'EACCES'
        ? `${where} needs privileges this process does not have (choose a port above 1023 with ${flag})`
        : code === 'EADDRNOTAVAIL'
          ? `${where}: no such local address (check the listen address)`
          : `${where}: ${(err as Error).message}`;
  return Object.assign(new Error(message), { code, cause: err });
}

/**
 * A URL as logs, errors, metrics labels and dead letters show it: the password of its
 * user info (or the user, when it comes alone) and the values of its query become `***`. That is where the URLs a node is
 * given carry their secrets (`mqtt://user:password@broker`, `https://hook/?token=…`), and
 * a log line or a `/metrics` scrape must not hand them on. A URL with neither is shown
 * as it was given; one that does not parse is shown as it is (it failed elsewhere first).
 *
 * @example
 * ```ts
 * shownUrl('mqtt://tf:pw@broker:1883'); // 'mqtt://tf:***@broker:1883'
 * shownUrl('https://hooks.example/in?token=abc&v=2'); // 'https://hooks.example/in?token=***&v=***'
 * ```
 */
export function shownUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  if (u.username === '' && u.password === '' && u.search === '') return url;
  // A user with a password is a name; a user alone is often a token (`https://<token>@host`).
  if (u.password !== '') u.password = '***';
  else if (u.username !== '') u.username = '***';
  if (u.search !== '') {
    const shown = new URLSearchParams();
    // A key without a value (`?<secret>`) is the secret itself.
    for (const [key, value] of u.searchParams) shown.append(value === '' ? '***' : key, '***');
    u.search = shown.toString();
  }
  return u.toString();
}

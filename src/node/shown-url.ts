/**
 * A URL as logs, errors, metrics labels and dead letters show it: the password of its
 * user info and the values of its query become `***`. That is where the URLs a node is
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
  if (u.password === '' && u.search === '') return url;
  if (u.password !== '') u.password = '***';
  if (u.search !== '') {
    const shown = new URLSearchParams();
    for (const key of u.searchParams.keys()) shown.append(key, '***');
    u.search = shown.toString();
  }
  return u.toString();
}

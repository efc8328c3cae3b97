/**
 * The Authorization header from a ServiceNow connector secret:
 *
 * | secret                 | header                               |
 * |------------------------|--------------------------------------|
 * | `Bearer <token>`       | `Authorization: Bearer <token>` (OAuth access token) |
 * | `<user>:<password>`    | `Authorization: Basic base64(user:password)` (the password may hold `:`) |
 * | anything without `:`   | `Authorization: Bearer <secret>` (an OAuth access token as is) |
 *
 * A user name cannot hold `:` in Basic authentication (RFC 7617), and OAuth
 * access tokens hold none, so the colon decides. Undefined for an empty secret.
 */
export function authorization(secret: string | undefined): string | undefined {
  const s = secret?.trim() ?? '';
  if (s === '') return undefined;
  const bearer = /^bearer\s+(\S+)$/i.exec(s);
  if (bearer) return `Bearer ${bearer[1]}`;
  if (s.includes(':')) {
    if (s.startsWith(':')) return undefined;
    return `Basic ${Buffer.from(s, 'utf8').toString('base64')}`;
  }
  return `Bearer ${s}`;
}

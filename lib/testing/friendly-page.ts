/** The page a Halibut listener shows a browser (or `curl -k`) that opens its port: proof that the agent is up. */

export const DEFAULT_FRIENDLY_HTML = '<html><body><p>Hello!</p></body></html>';

/**
 * Builds the response byte for byte as Halibut does: HTTP/1.0, the length in UTF-16 code units (which is what .NET's
 * string length counts), and a blank line after the body.
 */
export function friendlyPage(html: string, headers: Readonly<Record<string, string>> = {}): Buffer {
  const lines = ['HTTP/1.0 200 OK', 'Content-Type: text/html; charset=utf-8', `Content-Length: ${html.length}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${html}\r\n\r\n`, 'utf8');
}

// API keys and shared secrets: how a request presents a key, its hash, and
// comparisons whose duration says nothing about where two values differ.
// Web Crypto only (globalThis.crypto: Node 20 and workerd alike).

/** The key of a request: `Authorization: Bearer <key>`, else `x-api-key`. */
export function presentedKey(header: (name: string) => string | null | undefined): string | undefined {
  const auth = header("authorization")?.trim();
  const m = auth ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
  return m ? m[1] : header("x-api-key")?.trim() || undefined;
}

/** The hex SHA-256 of a text (a key as given in a request). */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compares two strings (as UTF-8 bytes) in time that depends on their lengths only. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

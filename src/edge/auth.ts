// API-key auth at the edge. API_KEYS holds the SHA-256 hex hashes of the
// accepted keys, comma-separated; the key itself never sits in configuration.

/** The key a request presents: `Authorization: Bearer <key>` or `x-api-key`. */
export function presentedKey(headers: Headers): string | undefined {
  const auth = headers.get("authorization");
  if (auth) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1].trim();
  }
  return headers.get("x-api-key")?.trim() || undefined;
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compares two strings in time that depends on their lengths only. */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}

export function parseKeyHashes(apiKeys: string | undefined): string[] {
  return (apiKeys ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s) => /^[0-9a-f]{64}$/.test(s));
}

/** Whether `key` hashes to one of `hashes`; every hash is compared, match or not. */
export async function keyAccepted(key: string | undefined, hashes: string[]): Promise<boolean> {
  if (!key || hashes.length === 0) return false;
  const h = await sha256Hex(key);
  let ok = false;
  for (const want of hashes) ok = constantTimeEqual(h, want) || ok;
  return ok;
}

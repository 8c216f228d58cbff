import { constantTimeEqual, sha256Hex } from "../core/keys.ts";

// API-key auth at the edge. API_KEYS holds the SHA-256 hex hashes of the
// accepted keys, comma-separated; the key itself never sits in configuration.

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

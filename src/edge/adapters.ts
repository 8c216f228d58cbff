import { adapterKind, CONFIG_FILE, KIND_DIR } from "../store/layout.ts";

// GET /v1/adapters answered from the store's R2 bucket: the folder names under
// adapters/ and each one's type from its adapter_config.json. A lighter
// listing than the server's (no sizes, heads or fusions): no weights are read.

/** The part of an R2 bucket binding this module uses. */
export interface R2Like {
  list(options: { prefix: string; delimiter: string; cursor?: string }): Promise<{ objects: { key: string }[]; delimitedPrefixes: string[]; truncated: boolean; cursor?: string }>;
  get(key: string): Promise<{ text(): Promise<string> } | null>;
}

export interface EdgeAdapter {
  name: string;
  type: string;
  saved_name: string | null;
  model_type: string | null;
  hidden_size: number | null;
  supported: boolean;
  error?: string;
}

export async function listAdapters(bucket: R2Like, prefix = `${KIND_DIR.adapter}/`): Promise<EdgeAdapter[]> {
  const folders: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, delimiter: "/", cursor });
    folders.push(...page.delimitedPrefixes);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  const names = folders.map((p) => p.slice(prefix.length).replace(/\/$/, "")).filter(Boolean).sort();
  const listed = await Promise.all(
    names.map(async (name): Promise<EdgeAdapter | null> => {
      const base = { name, saved_name: null, model_type: null, hidden_size: null };
      const obj = await bucket.get(`${prefix}${name}/${CONFIG_FILE.adapter}`);
      if (!obj) {
        // a folder of folders only is a tenant's namespace, not an adapter: its name is not listed
        const inside = await bucket.list({ prefix: `${prefix}${name}/`, delimiter: "/" });
        if (inside.objects.length === 0) return null;
        return { ...base, type: "unknown", supported: false, error: "adapter_config.json is missing" };
      }
      let json: any;
      try {
        json = JSON.parse(await obj.text());
      } catch {
        return { ...base, type: "unknown", supported: false, error: "adapter_config.json is not valid JSON" };
      }
      return {
        ...base,
        ...adapterKind(json),
        saved_name: typeof json?.name === "string" ? json.name : null,
        model_type: typeof json?.model_type === "string" ? json.model_type : null,
        hidden_size: typeof json?.hidden_size === "number" ? json.hidden_size : null,
      };
    }),
  );
  return listed.filter((a): a is EdgeAdapter => a !== null);
}

import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// A Hugging Face Hub on 127.0.0.1, answering the routes @huggingface/hub calls
// (read from its source: modelInfo, listFiles, fileDownloadInfo/downloadFile):
//   GET /api/models/{repo}/revision/{rev}   → {id, sha, private, ...}
//   GET /api/models/{repo}/tree/{rev}       → [{type, path, size, oid, lfs?}]
//   GET /{repo}/resolve/{rev}/{file}        → the bytes; Range requests answered 206 with Content-Range
// A private repository answers 401 without the right bearer token; an unknown
// repository 404 with X-Error-Code RepoNotFound, as the Hub does.

export interface HubRepo {
  /** branch or tag → commit */
  refs: Record<string, string>;
  /** commit → its files */
  commits: Record<string, Record<string, Uint8Array>>;
  /** set for a private repository: the one token that reads it */
  token?: string;
}

export interface HubRequest {
  method: string;
  path: string;
  range?: string;
  authorization?: string;
}

export interface TestHub {
  url: string;
  requests: HubRequest[];
  /** the next download of this file (a full GET or a range) sends this many bytes, then the connection is cut */
  cutOnce: Map<string, number>;
  close(): Promise<void>;
}

/** A commit id made from a label, so a test can name commits. */
export const commitOf = (label: string) => createHash("sha1").update(label).digest("hex");

const LFS_FROM = 1000; // bytes: bigger files are "LFS" files, listed with their SHA-256 like the Hub's

function listing(files: Record<string, Uint8Array>) {
  return Object.entries(files).map(([p, bytes]) => {
    const oid = createHash("sha1").update(`blob ${bytes.byteLength}\0`).update(bytes).digest("hex");
    const lfs = bytes.byteLength >= LFS_FROM ? { oid: createHash("sha256").update(bytes).digest("hex"), size: bytes.byteLength, pointerSize: 134 } : undefined;
    return { type: "file", oid, size: bytes.byteLength, path: p, ...(lfs ? { lfs } : {}) };
  });
}

export async function startHub(repos: Record<string, HubRepo>): Promise<TestHub> {
  const requests: HubRequest[] = [];
  const cutOnce = new Map<string, number>();

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", ...headers });
    res.end(JSON.stringify(body));
  };

  /** The repository and commit a request may read, or null once it has answered. */
  const open = (req: IncomingMessage, res: ServerResponse, id: string, rev: string): { repo: HubRepo; commit: string } | null => {
    const repo = repos[id];
    if (!repo) {
      json(res, 404, { error: "Repository not found" }, { "X-Error-Code": "RepoNotFound" });
      return null;
    }
    if (repo.token !== undefined && req.headers.authorization !== `Bearer ${repo.token}`) {
      json(res, 401, { error: "Invalid credentials in Authorization header" });
      return null;
    }
    const commit = rev === "HEAD" ? repo.refs.main : (repo.refs[rev] ?? (repo.commits[rev] ? rev : undefined));
    if (!commit) {
      json(res, 404, { error: `Invalid rev id: ${rev}` }, { "X-Error-Code": "RevisionNotFound" });
      return null;
    }
    return { repo, commit };
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://hub");
    const p = decodeURIComponent(url.pathname);
    requests.push({ method: req.method ?? "", path: p, range: req.headers.range, authorization: req.headers.authorization });
    let m: RegExpExecArray | null;
    if ((m = /^\/api\/models\/(.+)\/revision\/([^/]+)$/.exec(p))) {
      const found = open(req, res, m[1]!, m[2]!);
      if (found) json(res, 200, { _id: m[1], id: m[1], sha: found.commit, private: found.repo.token !== undefined, gated: false, downloads: 0, likes: 0, lastModified: "2026-01-01T00:00:00.000Z" });
    } else if ((m = /^\/api\/models\/(.+)\/tree\/([^/]+)$/.exec(p))) {
      const found = open(req, res, m[1]!, m[2]!);
      if (found) json(res, 200, listing(found.repo.commits[found.commit]!));
    } else if ((m = /^\/(.+)\/resolve\/([^/]+)\/(.+)$/.exec(p))) {
      const found = open(req, res, m[1]!, m[2]!);
      if (!found) return;
      const bytes = found.repo.commits[found.commit]![m[3]!];
      if (!bytes) return json(res, 404, { error: "Entry not found" }, { "X-Error-Code": "EntryNotFound" });
      const size = bytes.byteLength;
      const etag = `"${createHash("sha256").update(bytes).digest("hex")}"`;
      const r = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
      const start = r ? Number(r[1]) : 0;
      const end = r && r[2] ? Math.min(Number(r[2]), size - 1) : size - 1;
      if (r && start >= size) {
        res.writeHead(416, { "Content-Range": `bytes */${size}` });
        return res.end();
      }
      const body = bytes.subarray(start, end + 1);
      res.writeHead(r ? 206 : 200, {
        "Content-Type": "application/octet-stream",
        "Content-Length": String(body.byteLength),
        ETag: etag,
        "Accept-Ranges": "bytes",
        ...(r ? { "Content-Range": `bytes ${start}-${end}/${size}` } : {}),
      });
      // a range of one byte is the client asking for the size: never cut that one
      const cut = body.byteLength > 1 ? cutOnce.get(m[3]!) : undefined;
      if (cut === undefined) return res.end(body);
      cutOnce.delete(m[3]!);
      res.write(body.subarray(0, cut), () => res.socket?.destroy());
    } else {
      json(res, 404, { error: "Not found" });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    cutOnce,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

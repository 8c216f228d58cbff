// Runs s3rver in its own process for test/support/s3.ts, so a test can kill
// it like a store that goes away. Started with --openssl-legacy-provider:
// s3rver's ListObjectsV2 continuation tokens use DES, which OpenSSL 3 only
// has there. Usage: node s3rver-main.mjs <directory> <port> <bucket>
import S3rver from "s3rver";

const [directory, port, bucket] = process.argv.slice(2);
const server = new S3rver({ address: "127.0.0.1", port: Number(port), directory, silent: true, configureBuckets: [{ name: bucket }] });
const address = await server.run();
process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
// The parent holds our stdin: when it exits, so do we (no stray servers after a crashed test run).
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));

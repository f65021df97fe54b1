/**
 * AWS Signature Version 4 for a single request, on Web Crypto. Only what the
 * Route 53 provider needs: header-based signing with a hashed payload.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 *
 * @module
 */

/** AWS credentials. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The request to sign. */
export interface SigV4Request {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  region: string;
  service: string;
  /** Defaults to now; fixed in tests. */
  date?: Date;
}

const enc = new TextEncoder();

function hex(buf: ArrayBuffer): string {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256Hex(data: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", enc.encode(data)));
}

async function hmac(key: ArrayBuffer | Uint8Array, data: string): Promise<ArrayBuffer> {
  const k = await crypto.subtle.importKey(
    "raw",
    key as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return crypto.subtle.sign("HMAC", k, enc.encode(data));
}

/** RFC 3986 encoding as SigV4 wants it (unreserved characters stay). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * Returns the headers to send: the given ones plus `x-amz-date`,
 * `x-amz-content-sha256`-free `Authorization` and, with temporary
 * credentials, `x-amz-security-token`.
 */
export async function signV4(
  req: SigV4Request,
  creds: AwsCredentials,
): Promise<Record<string, string>> {
  const url = new URL(req.url);
  const date = req.date ?? new Date();
  const amzDate = date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = { ...req.headers, host: url.host, "x-amz-date": amzDate };
  if (creds.sessionToken) headers["x-amz-security-token"] = creds.sessionToken;

  const lower = Object.entries(headers).map(([k, v]) =>
    [k.toLowerCase(), v.trim().replace(/\s+/g, " ")] as const
  ).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonicalHeaders = lower.map(([k, v]) => `${k}:${v}\n`).join("");
  const signedHeaders = lower.map(([k]) => k).join(";");
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort(([a, av], [b, bv]) => (a! < b! ? -1 : a! > b! ? 1 : av! < bv! ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`).join("&");
  const path = url.pathname.split("/").map((seg) => uriEncode(decodeURIComponent(seg))).join("/");
  const canonical = [
    req.method,
    path || "/",
    query,
    canonicalHeaders,
    signedHeaders,
    await sha256Hex(req.body),
  ].join("\n");
  const scope = `${day}/${req.region}/${req.service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, await sha256Hex(canonical)].join("\n");
  let key = await hmac(enc.encode(`AWS4${creds.secretAccessKey}`), day);
  key = await hmac(key, req.region);
  key = await hmac(key, req.service);
  key = await hmac(key, "aws4_request");
  const signature = hex(await hmac(key, toSign));
  headers["authorization"] =
    `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  delete headers.host; // fetch sets Host itself
  return headers;
}

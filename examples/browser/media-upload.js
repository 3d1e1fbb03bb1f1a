// media-upload.js: upload a file from a browser through the app's gateway to media-grpc.
// Dependency-free ES module; types in media-upload.d.ts. The bytes go straight to storage
// (presigned PUTs); the gateway carries only the small JSON calls (routes in docs/integration.md).

const FINAL = new Set(["STATUS_READY", "STATUS_FAILED", "STATUS_DELETED"]);
/** Largest file hashed before upload by default (SubtleCrypto holds the whole file in memory). */
export const MAX_HASH_BYTES = 64 * 1024 * 1024;

/** An error carrying the service's message, gRPC code and google.rpc details. */
export class UploadError extends Error {
  constructor(message, { status = 0, code = 0, details = [] } = {}) {
    super(message);
    this.name = "UploadError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("aborted", "AbortError"));
    }, { once: true });
  });
}

/** Hex sha256 of `file`, or null when it is over `maxBytes` or there is no SubtleCrypto (it
 * exists only in secure contexts: https, localhost). SubtleCrypto has no streaming digest: the
 * whole file is read into memory, hence the cap. */
export async function sha256Hex(
  file, maxBytes = MAX_HASH_BYTES, subtle = globalThis.crypto?.subtle,
) {
  if (!subtle || file.size > maxBytes) return null;
  const digest = await subtle.digest("SHA-256", await file.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** PUT `body` to `url` with upload progress; resolves with the ETag header. */
export function putWithProgress(url, body, { headers = {}, onProgress, signal } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    for (const [name, value] of Object.entries(headers)) {
      if (name.toLowerCase() !== "content-length" && name.toLowerCase() !== "host") {
        xhr.setRequestHeader(name, value);
      }
    }
    xhr.upload.onprogress = (e) => onProgress?.(e.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress?.(body.size ?? body.byteLength ?? 0);
        resolve(xhr.getResponseHeader("ETag") ?? "");
      } else {
        reject(new UploadError(`storage answered ${xhr.status}`, { status: xhr.status }));
      }
    };
    xhr.onerror = () => reject(new UploadError("storage could not be reached (network or CORS)"));
    xhr.onabort = () => reject(new DOMException("aborted", "AbortError"));
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

export class MediaUploader {
  /** @param {import("./media-upload").UploaderOptions} options */
  constructor({
    gateway, token, concurrency = 4, retries = 4, backoffMs = 500, pollMs = 500,
    maxHashBytes = MAX_HASH_BYTES,
    storage = globalThis.localStorage, fetch = globalThis.fetch.bind(globalThis),
  }) {
    this.gateway = gateway.replace(/\/$/, "");
    this.token = token;
    this.concurrency = concurrency;
    this.retries = retries;
    this.backoffMs = backoffMs;
    this.pollMs = pollMs;
    this.maxHashBytes = maxHashBytes;
    this.storage = storage;
    this.fetch = fetch;
  }

  /** One gateway call; throws UploadError with the service's message. */
  async call(method, path, body, signal) {
    const response = await this.fetch(`${this.gateway}/api/v1/media${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new UploadError(answer.message || `gateway answered ${response.status}`, {
        status: response.status, code: answer.code, details: answer.details || [],
      });
    }
    return answer;
  }

  resumeKey(file, purpose) {
    return `media-upload:${purpose}:${file.name}:${file.size}:${file.lastModified}`;
  }

  /** Upload `file` and wait for processing; resolves with the final media (READY/FAILED). */
  async upload(file, { purpose, onProgress, onStatus, signal } = {}) {
    const mediaId = await this.send(file, { purpose, onProgress, signal });
    return this.waitUntilFinal(mediaId, { onStatus, signal });
  }

  /** Upload `file` and complete it; resolves with the media id. Resumes a multipart upload
   * this browser started for the same file (only missing parts are sent). A new session
   * declares the file's sha256 (up to `maxHashBytes`): when the owner already has these bytes
   * READY, the service answers a new READY media and nothing is sent. */
  async send(file, { purpose, onProgress, signal } = {}) {
    const key = this.resumeKey(file, purpose);
    const saved = this.storage?.getItem(key);
    if (saved) {
      const state = JSON.parse(saved);
      const resumed = await this.abandonedOnAbort(state.mediaId, key, signal,
        () => this.resume(state, file, { onProgress, signal }))
        .catch((e) => { if (e.name === "AbortError") throw e; return null; });
      if (resumed) { this.storage?.removeItem(key); return resumed; }
      this.storage?.removeItem(key);
    }
    const sha256 = await sha256Hex(file, this.maxHashBytes);
    signal?.throwIfAborted();
    const session = await this.call("POST", "/upload-session", {
      purpose, fileName: file.name, contentType: file.type, sizeBytes: String(file.size),
      ...(sha256 && { sha256 }),
    }, signal);
    if (session.deduplicated) {  // READY already, sharing the stored bytes: no PUT, no complete
      onProgress?.({ loaded: file.size, total: file.size });
      return session.mediaId;
    }
    return this.abandonedOnAbort(session.mediaId, key, signal, async () => {
      if (session.singlePut) {
        await this.withRetries(() => putWithProgress(session.singlePut.url, file, {
          headers: session.singlePut.headers, signal,
          onProgress: (loaded) => onProgress?.({ loaded, total: file.size }),
        }), signal);
        await this.call("POST", `/${session.mediaId}/complete`, { mediaId: session.mediaId }, signal);
        return session.mediaId;
      }
      const multipart = session.multipart;
      const state = { mediaId: session.mediaId, partSize: Number(multipart.partSize),
        partCount: multipart.partCount };
      this.storage?.setItem(key, JSON.stringify(state));
      const urls = new Map((multipart.partUrls || []).map((p) => [p.partNumber, p.url]));
      await this.sendParts(state, file, new Map(), urls, { onProgress, signal });
      this.storage?.removeItem(key);
      return state.mediaId;
    });
  }

  /** Run `sending`; when `signal` aborts it, the parts in flight stop (their PUTs are
   * aborted) and the session is abandoned with AbortUpload, so that storage frees what it
   * holds and a later pick of the same file starts afresh. */
  async abandonedOnAbort(mediaId, key, signal, sending) {
    try {
      return await sending();
    } catch (e) {
      if (signal?.aborted) {  // the user's abort; a reload ends the PUTs but keeps the session
        this.storage?.removeItem(key);
        await this.abort(mediaId).catch(() => {});  // the user left: nothing to tell them
      }
      throw e;
    }
  }

  async resume(state, file, { onProgress, signal }) {
    const held = await this.call("GET", `/${state.mediaId}/parts`, undefined, signal);
    const done = new Map((held.parts || []).map((p) => [p.partNumber, p.etag]));
    await this.sendParts(state, file, done, new Map(), { onProgress, signal });
    return state.mediaId;
  }

  async sendParts(state, file, done, urls, { onProgress, signal }) {
    const { mediaId, partSize, partCount } = state;
    const loaded = new Map();
    for (const n of done.keys()) loaded.set(n, Math.min(partSize, file.size - (n - 1) * partSize));
    const report = () => onProgress?.({
      loaded: [...loaded.values()].reduce((a, b) => a + b, 0), total: file.size,
    });
    report();
    const missing = [];
    for (let n = 1; n <= partCount; n++) if (!done.has(n)) missing.push(n);
    const needUrls = missing.filter((n) => !urls.has(n));
    for (let i = 0; i < needUrls.length; i += 100) {
      const answer = await this.call("POST", `/${mediaId}/part-urls`,
        { mediaId, partNumbers: needUrls.slice(i, i + 100) }, signal);
      for (const p of answer.partUrls || []) urls.set(p.partNumber, p.url);
    }
    const queue = [...missing];
    const worker = async () => {
      while (queue.length) {
        const n = queue.shift();
        const blob = file.slice((n - 1) * partSize, Math.min(n * partSize, file.size));
        const etag = await this.withRetries(() => putWithProgress(urls.get(n), blob, {
          signal, onProgress: (bytes) => { loaded.set(n, bytes); report(); },
        }), signal);
        done.set(n, etag);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, missing.length) }, worker));
    const parts = [...done.entries()].sort((a, b) => a[0] - b[0])
      .map(([partNumber, etag]) => ({ partNumber, etag }));
    await this.call("POST", `/${mediaId}/complete`, { mediaId, parts }, signal);
  }

  async withRetries(attempt, signal) {
    for (let i = 0; ; i++) {
      try {
        return await attempt();
      } catch (e) {
        const retriable = e.name !== "AbortError" && !(e.status >= 400 && e.status < 500);
        if (!retriable || i >= this.retries) throw e;
        await sleep(this.backoffMs * 2 ** i * (0.5 + Math.random() / 2), signal);
      }
    }
  }

  /** Abandon an upload: frees what storage holds of it. */
  abort(mediaId, signal) {
    return this.call("POST", `/${mediaId}/abort`, { mediaId }, signal);
  }

  /** Poll the media until READY, FAILED or DELETED; resolves with it. */
  async waitUntilFinal(mediaId, { onStatus, signal } = {}) {
    for (;;) {
      const { media } = await this.call("GET", `/${mediaId}`, undefined, signal);
      onStatus?.(media);
      if (FINAL.has(media.status)) return media;
      await sleep(this.pollMs, signal);
    }
  }
}

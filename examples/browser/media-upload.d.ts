// Types of media-upload.js (the browser upload module). Field names are the gateway's proto3 JSON.

export type Purpose = "PURPOSE_POST_IMAGE" | "PURPOSE_POST_VIDEO" | "PURPOSE_PROFILE_IMAGE";
export type Status =
  | "STATUS_PENDING" | "STATUS_UPLOADED" | "STATUS_PROCESSING"
  | "STATUS_READY" | "STATUS_FAILED" | "STATUS_DELETED";

export interface Variant {
  name: string; kind: string; url: string; width?: number; height?: number; mimeType?: string;
}
export interface Media {
  id: string; status: Status; mimeType?: string; width?: number; height?: number;
  variants?: Variant[]; failure?: { reason: string; message: string };
}
export interface Progress { loaded: number; total: number }

export interface UploaderOptions {
  /** Base URL of the app's gateway, e.g. "http://127.0.0.1:8080". */
  gateway: string;
  /** The signed-in user's token, sent as `Authorization: Bearer`. */
  token: string;
  /** Parts in flight at once (default 4). */
  concurrency?: number;
  /** Retries of a failed part or PUT, with exponential backoff and jitter (default 4). */
  retries?: number;
  /** First backoff in milliseconds (default 500), doubled per retry. */
  backoffMs?: number;
  /** Status polling interval in milliseconds (default 500). */
  pollMs?: number;
  /** Largest file whose sha256 is declared, so that bytes the owner already has READY are not
   * sent again (default MAX_HASH_BYTES, 64 MiB; 0: never hash). SubtleCrypto reads the whole
   * file into memory. A larger file, or a page without SubtleCrypto (only https and localhost
   * have it), declares none. */
  maxHashBytes?: number;
  /** Where multipart uploads are remembered for resuming after a reload (default localStorage). */
  storage?: Pick<Storage, "getItem" | "setItem" | "removeItem"> | null;
  fetch?: typeof fetch;
}

export interface SendOptions {
  purpose: Purpose;
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
}

export class UploadError extends Error {
  /** HTTP status of the failed request (0 when storage was unreachable). */
  status: number;
  /** gRPC status code the gateway reported. */
  code: number;
  /** google.rpc details (BadRequest, PreconditionFailure, ErrorInfo, RetryInfo) as JSON. */
  details: Array<Record<string, unknown>>;
}

/** Default of UploaderOptions.maxHashBytes: 64 MiB. */
export const MAX_HASH_BYTES: number;

/** Hex sha256 of `file`; null when it is over `maxBytes` or `subtle` is missing. */
export function sha256Hex(
  file: Blob, maxBytes?: number, subtle?: SubtleCrypto,
): Promise<string | null>;

export function putWithProgress(
  url: string,
  body: Blob,
  options?: { headers?: Record<string, string>; onProgress?: (loaded: number) => void; signal?: AbortSignal },
): Promise<string>;

export class MediaUploader {
  constructor(options: UploaderOptions);
  /** Send, complete, then wait until READY/FAILED/DELETED (READY at once when deduplicated). */
  upload(file: File, options: SendOptions & { onStatus?: (media: Media) => void }): Promise<Media>;
  /** Send (single PUT or multipart, resuming a remembered upload) and complete; the media id.
   * A file the owner already has READY (same sha256 and purpose) is not sent: the id is that of
   * a new READY media sharing the stored bytes, and progress reports the whole file at once. */
  send(file: File, options: SendOptions): Promise<string>;
  /** Abandon a pending upload. */
  abort(mediaId: string, signal?: AbortSignal): Promise<{ media: Media }>;
  /** Poll until READY, FAILED or DELETED. */
  waitUntilFinal(mediaId: string, options?: { onStatus?: (media: Media) => void; signal?: AbortSignal }): Promise<Media>;
}

/**
 * Files uploaded from a browser (which never learns real paths), kept in `<library>/uploads/<uploadId>/`
 * with their relative paths, then imported like a folder (`upload:<uploadId>`). Chunks must arrive in
 * order; paths cannot leave the upload folder; sizes are bounded per chunk, per file and per upload.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, stat } from 'node:fs/promises';
import path from 'node:path';
import { UPLOAD_CHUNK_BYTES, UPLOAD_FILE_MAX_BYTES } from '../../shared/contract.ts';
import { badRequest } from '../errors.ts';

/** One upload (a folder's worth of files) may not exceed this. */
export const UPLOAD_TOTAL_MAX_BYTES = 16 * 1024 ** 3;

export interface UploadChunk {
  uploadId?: string;
  path: string;
  offset: number;
  size: number;
  /** base64 */
  data: string;
}

function safeRelative(p: string): string[] {
  const parts = p.split(/[\\/]+/).filter((part) => part.length > 0);
  if (parts.length === 0 || parts.length > 32) throw badRequest(`upload path ${JSON.stringify(p)} is empty or too deep`);
  for (const part of parts) {
    if (part === '.' || part === '..' || part.includes('\0') || /^[A-Za-z]:$/.test(part)) throw badRequest(`upload path ${JSON.stringify(p)} may not contain "${part}"`);
  }
  return parts;
}

export class UploadStore {
  /** Bytes received per upload in this process (for the total bound). */
  private readonly totals = new Map<string, number>();

  constructor(readonly dir: string) {}

  async write(chunk: UploadChunk): Promise<{ uploadId: string; received: number }> {
    const uploadId = chunk.uploadId ?? `upload-${randomBytes(6).toString('hex')}`;
    const root = path.join(this.dir, uploadId);
    if (chunk.uploadId && !(await stat(root).then((s) => s.isDirectory(), () => false))) throw badRequest(`no upload ${chunk.uploadId}`);
    const parts = safeRelative(chunk.path);
    const data = Buffer.from(chunk.data, 'base64');
    if (data.length > UPLOAD_CHUNK_BYTES) throw badRequest(`an upload chunk may hold at most ${UPLOAD_CHUNK_BYTES} bytes, got ${data.length}`);
    if (chunk.offset + data.length > chunk.size) throw badRequest(`${chunk.path}: chunk ends at ${chunk.offset + data.length}, past the file's size ${chunk.size}`);
    if (chunk.size > UPLOAD_FILE_MAX_BYTES) throw badRequest(`${chunk.path}: larger than ${UPLOAD_FILE_MAX_BYTES} bytes`);
    const total = (this.totals.get(uploadId) ?? 0) + data.length;
    if (total > UPLOAD_TOTAL_MAX_BYTES) throw badRequest(`upload ${uploadId} is over ${UPLOAD_TOTAL_MAX_BYTES / 1024 ** 3} GiB; import a folder on the host instead`);
    const file = path.join(root, ...parts);
    await mkdir(path.dirname(file), { recursive: true });
    const have = await stat(file).then((s) => s.size, () => 0);
    if (have !== chunk.offset) throw badRequest(`${chunk.path}: expected the chunk at offset ${have}, got ${chunk.offset}`);
    const fh = await open(file, chunk.offset === 0 ? 'w' : 'a');
    try {
      await fh.write(data);
    } finally {
      await fh.close();
    }
    this.totals.set(uploadId, total);
    return { uploadId, received: chunk.offset + data.length };
  }
}

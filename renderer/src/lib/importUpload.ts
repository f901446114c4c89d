/**
 * Browser uploads: a browser never learns real paths, so a dropped or picked folder is sent to the host
 * in base64 chunks (`datasets.upload`), one file after another, keeping each file's relative path. The
 * host then imports it as `upload:<uploadId>`.
 */
import { UPLOAD_CHUNK_BYTES } from '../../../shared/contract.ts';
import { client } from './api.ts';

export interface PickedFile {
  file: File;
  /** Relative path inside what was picked, e.g. 'cats/tom.jpg'. */
  path: string;
}

export interface UploadProgress {
  files: number;
  totalFiles: number;
  bytes: number;
  totalBytes: number;
  current: string;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  // String.fromCharCode takes arguments: stay well below engines' argument limits.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Files of an <input type=file webkitdirectory> (or plain multiple) selection. */
export function filesFromInput(list: FileList): PickedFile[] {
  return Array.from(list, (file) => ({ file, path: file.webkitRelativePath || file.name }));
}

function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  // readEntries returns at most ~100 entries per call; call until it returns none.
  return new Promise((resolve, reject) => {
    const all: FileSystemEntry[] = [];
    const next = (): void =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(all);
        else {
          all.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

async function walkEntry(entry: FileSystemEntry, prefix: string, out: PickedFile[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ file, path: `${prefix}${entry.name}` });
  } else if (entry.isDirectory) {
    for (const child of await readAll((entry as FileSystemDirectoryEntry).createReader())) await walkEntry(child, `${prefix}${entry.name}/`, out);
  }
}

/** Files and folders dropped on the page, folders walked recursively. */
export async function filesFromDrop(data: DataTransfer): Promise<PickedFile[]> {
  const entries = Array.from(data.items)
    .map((item) => item.webkitGetAsEntry())
    .filter((e): e is FileSystemEntry => e !== null);
  const out: PickedFile[] = [];
  for (const entry of entries) await walkEntry(entry, '', out);
  return out;
}

export async function uploadFiles(files: readonly PickedFile[], onProgress: (p: UploadProgress) => void, signal: AbortSignal): Promise<string> {
  let uploadId: string | undefined;
  const totalBytes = files.reduce((n, f) => n + f.file.size, 0);
  let bytes = 0;
  for (const [k, { file, path }] of files.entries()) {
    let offset = 0;
    do {
      signal.throwIfAborted();
      const chunk = new Uint8Array(await file.slice(offset, offset + UPLOAD_CHUNK_BYTES).arrayBuffer());
      const result = await client.request('datasets.upload', { ...(uploadId ? { uploadId } : {}), path, offset, size: file.size, data: toBase64(chunk) });
      uploadId = result.uploadId;
      offset += chunk.length;
      bytes += chunk.length;
      onProgress({ files: k, totalFiles: files.length, bytes, totalBytes, current: path });
    } while (offset < file.size);
  }
  if (!uploadId) throw new Error('nothing to upload: the selection holds no files');
  return uploadId;
}

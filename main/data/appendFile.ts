/**
 * A file written by appending records, each told its offset at once, the bytes gathered and written in
 * large batches. Per-record writes would each cost a trip through libuv's thread pool, the same four
 * threads that decode the images.
 */
import { open, type FileHandle } from 'node:fs/promises';

const FLUSH_BYTES = 4 * 1024 * 1024;

export class AppendFile {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written = 0;
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly fh: FileHandle) {}

  static async create(file: string): Promise<AppendFile> {
    return new AppendFile(await open(file, 'w'));
  }

  /** The record's offset; its bytes reach the disk with a later batch (the caller must not change them). */
  append(data: Buffer): number {
    const offset = this.written + this.pendingBytes;
    this.pending.push(data);
    this.pendingBytes += data.length;
    // A failed batch surfaces in finish(); here it must not become an unhandled rejection.
    if (this.pendingBytes >= FLUSH_BYTES) this.flush().catch(() => undefined);
    return offset;
  }

  /** Start writing what is pending; resolves when every batch so far is on disk (in the page cache). */
  flush(): Promise<void> {
    if (this.pendingBytes > 0) {
      const batch = Buffer.concat(this.pending, this.pendingBytes);
      const at = this.written;
      this.written += batch.length;
      this.pending = [];
      this.pendingBytes = 0;
      this.writing = this.writing.then(async () => {
        await this.fh.write(batch, 0, batch.length, at);
      });
    }
    return this.writing;
  }

  /** Flush, fsync and close. */
  async finish(): Promise<void> {
    await this.flush();
    await this.fh.sync();
    await this.fh.close();
  }

  /** Close without caring about what is pending (a failed or cancelled import). */
  async abandon(): Promise<void> {
    await this.writing.catch(() => undefined);
    await this.fh.close().catch(() => undefined);
  }
}

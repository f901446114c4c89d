/**
 * A built dataset in the layout of NVIDIA's stylegan2-ada-pytorch `dataset_tool.py`, so the same data can
 * go to a cluster: a zip of PNGs named `00000/img00000000.png` (1000 per folder) and a `dataset.json` of
 * `{"labels": [["00000/img00000000.png", 3], ...]}`, or `{"labels": null}` when unlabelled. PNGs are
 * stored, not deflated again; the zip switches to ZIP64 by itself past 65,535 files or 4 GiB. Written to a
 * temp file and renamed, so a cancelled export leaves nothing.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import sharp from 'sharp';
import yazl from 'yazl';
import type { JobContext } from './datasetJobs.ts';
import type { DatasetStore } from './datasetStore.ts';

/** PNG encodes kept running ahead of the zip writer. */
const LOOKAHEAD = 8;

/** dataset_tool.py's name for image `index`. */
export function styleganName(index: number): string {
  const digits = String(index).padStart(8, '0');
  return `${digits.slice(0, 5)}/img${digits}.png`;
}

export async function exportStylegan(datasets: DatasetStore, id: string, outFile: string, ctx: JobContext): Promise<{ file: string; count: number }> {
  const info = await datasets.get(id);
  const labels = await datasets.readLabelIndices(id);
  const R = info.resolution;
  const frame = R * R * 3;
  const target = path.resolve(outFile);
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.partial`;
  const images = await open(datasets.imagesFile(id), 'r');
  const pngs = new Map<number, Promise<Buffer>>();
  const encode = (i: number): Promise<Buffer> => {
    let pending = pngs.get(i);
    if (!pending) {
      pending = (async () => {
        const rgb = Buffer.alloc(frame);
        const { bytesRead } = await images.read(rgb, 0, frame, i * frame);
        if (bytesRead !== frame) throw new Error(`${datasets.imagesFile(id)} ends before image ${i}; the dataset is damaged`);
        return sharp(rgb, { raw: { width: R, height: R, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer();
      })();
      pngs.set(i, pending);
    }
    return pending;
  };
  ctx.phase('Writing PNGs', info.count);
  const zip = new yazl.ZipFile();
  const written = pipeline(zip.outputStream, createWriteStream(tmp), { signal: ctx.signal });
  // yazl reports a failed entry on the ZipFile, not on its stream: end the pipeline with it.
  zip.on('error', (error: Error) => (zip.outputStream as Readable).destroy(error));
  try {
    for (let i = 0; i < info.count; i++) {
      // Entries are produced when yazl is ready for them: memory stays flat at any dataset size.
      zip.addReadStreamLazy(styleganName(i), { compress: false }, (cb) => {
        for (let k = i + 1; k <= Math.min(info.count - 1, i + LOOKAHEAD); k++) void encode(k).catch(() => undefined);
        encode(i).then(
          (png) => {
            pngs.delete(i);
            ctx.progress(i + 1, styleganName(i));
            cb(null, Readable.from([png]));
          },
          (error: unknown) => cb(error, Readable.from([])),
        );
      });
    }
    const meta = { labels: labels ? labels.map((label, i) => [styleganName(i), label]) : null };
    zip.addBuffer(Buffer.from(JSON.stringify(meta)), 'dataset.json');
    zip.end();
    await written;
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  } finally {
    await images.close();
  }
  return { file: target, count: info.count };
}

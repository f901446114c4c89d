/**
 * Named tensors ↔ one contiguous byte buffer plus a table of entries (name, shape, dtype, offset), the
 * payload of a checkpoint. The run store adds the manifest's checksum and writes it atomically.
 */
import * as tf from '@tensorflow/tfjs';
import type { TensorEntry } from '../../runs/runStore.ts';

export type NamedTensors = Array<[string, tf.Tensor]>;

export async function packTensors(named: NamedTensors): Promise<{ entries: TensorEntry[]; bytes: Uint8Array }> {
  const entries: TensorEntry[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, tensor] of named) {
    if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32') throw new Error(`checkpoint: ${name} has unsupported dtype ${tensor.dtype}`);
    const data = await tensor.data();
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    entries.push({ name, shape: tensor.shape, dtype: tensor.dtype, offset, byteLength: bytes.byteLength });
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  const out = new Uint8Array(offset);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return { entries, bytes: out };
}

/** Tensors of a checkpoint by name; the caller owns (and disposes) them. */
export function unpackTensors(entries: TensorEntry[], bytes: Uint8Array): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const e of entries) {
    if (e.offset + e.byteLength > bytes.byteLength) throw new Error(`checkpoint entry ${e.name} runs past the end of the weights file`);
    const copy = bytes.slice(e.offset, e.offset + e.byteLength);
    const values = e.dtype === 'float32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer);
    out.set(e.name, tf.tensor(values, e.shape, e.dtype));
  }
  return out;
}

/** Assign checkpoint tensors to variables by name; every variable must be present with its shape. */
export function assignNamed(targets: Array<[string, tf.Variable]>, source: Map<string, tf.Tensor>, what: string): void {
  for (const [name, variable] of targets) {
    const value = source.get(name);
    if (!value) throw new Error(`${what}: the checkpoint has no tensor ${name}`);
    if (!tf.util.arraysEqual(value.shape, variable.shape)) {
      throw new Error(`${what}: ${name} has shape [${value.shape.join(', ')}] in the checkpoint but [${variable.shape.join(', ')}] in the model`);
    }
    variable.assign(value);
  }
}

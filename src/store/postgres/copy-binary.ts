import type { ExportChunk } from '../store.js';
import { ownedByExport } from '../../export/owned-chunks.js';

/** PostgreSQL's binary COPY signature, then a 32-bit flags field and a 32-bit header extension length. */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_BYTES = SIGNATURE.length + 8;
const COMMA = Buffer.from(',');
const EMPTY = Buffer.alloc(0);

type State = 'header' | 'tuple' | 'length' | 'field' | 'trailer-seen';

/**
 * Turns the output of `COPY (select doc ...) TO STDOUT (FORMAT binary)` into export chunks: the
 * documents' bytes joined by commas, gathered to about `chunkBytes` and cut only between documents,
 * with how many documents each holds. In the binary format a text field is its bytes behind a
 * 32-bit length, so the documents are sliced out of the copy's Buffers, never decoded and never
 * unescaped (the text and CSV formats escape the backslashes JSON is full of). Chunks of the copy
 * may break anywhere, even inside a length; a copy that ends before its trailer is an error, so a
 * cut stream can never pass for a finished one.
 */
export class CopyBinaryDocuments {
  private state: State = 'header';
  /** The start of a fixed-size field that the last chunk broke off. */
  private carry = EMPTY;
  /** Bytes still to come of the document being read. */
  private remaining = 0;
  private parts: Buffer[] = [];
  private size = 0;
  private sessions = 0;
  private first = true;

  constructor(private readonly chunkBytes: number) {}

  /** Reads one chunk of the copy; answers the export chunks it completed (usually none or one). */
  push(chunk: Buffer): ExportChunk[] {
    const out: ExportChunk[] = [];
    let at = 0;
    /** `n` bytes from the chunk (joined to what the previous chunk left), or null when it ends first. */
    const fixed = (n: number): Buffer | null => {
      if (this.carry.length === 0 && chunk.length - at >= n) {
        at += n;
        return chunk.subarray(at - n, at);
      }
      const piece = chunk.subarray(at, at + n - this.carry.length);
      at += piece.length;
      this.carry = Buffer.concat([this.carry, piece]);
      if (this.carry.length < n) return null;
      const whole = this.carry;
      this.carry = EMPTY;
      return whole;
    };
    while (at < chunk.length) {
      switch (this.state) {
        case 'header': {
          const header = fixed(HEADER_BYTES);
          if (!header) break;
          if (!header.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error('COPY output is not in the binary format');
          // Flags (bit 16: OIDs included) and the extension length are 0 for every COPY this sends.
          if (header.readUInt32BE(SIGNATURE.length) !== 0 || header.readUInt32BE(SIGNATURE.length + 4) !== 0) {
            throw new Error('COPY binary header has flags or an extension this reader does not know');
          }
          this.state = 'tuple';
          break;
        }
        case 'tuple': {
          const count = fixed(2);
          if (!count) break;
          const fields = count.readInt16BE(0);
          if (fields === -1) this.state = 'trailer-seen';
          else if (fields === 1) this.state = 'length';
          else throw new Error(`COPY row has ${fields} fields, expected 1`);
          break;
        }
        case 'length': {
          const length = fixed(4);
          if (!length) break;
          this.remaining = length.readInt32BE(0);
          if (this.remaining < 0) throw new Error('COPY row has a null document');
          // Every document but the very first follows a comma, so the chunks simply concatenate.
          if (!this.first) this.add(COMMA);
          this.first = false;
          this.state = 'field';
          if (this.remaining === 0) this.endRow(out);
          break;
        }
        case 'field': {
          const piece = chunk.subarray(at, at + this.remaining);
          at += piece.length;
          this.remaining -= piece.length;
          this.add(piece);
          if (this.remaining === 0) this.endRow(out);
          break;
        }
        case 'trailer-seen':
          throw new Error('COPY output goes on after its trailer');
      }
    }
    return out;
  }

  /** At the end of the copy: the last chunk, if any. Throws when the trailer never came. */
  end(): ExportChunk | null {
    if (this.state !== 'trailer-seen') throw new Error('COPY output ended before its trailer');
    return this.size > 0 ? this.take() : null;
  }

  private add(piece: Buffer) {
    this.parts.push(piece);
    this.size += piece.length;
  }

  private endRow(out: ExportChunk[]) {
    this.sessions++;
    this.state = 'tuple';
    if (this.size >= this.chunkBytes) out.push(this.take());
  }

  /** One Buffer of the gathered pieces: a copy, so the copy stream's Buffers are not kept alive. */
  private take(): ExportChunk {
    const chunk = { data: ownedByExport(Buffer.concat(this.parts, this.size)), sessions: this.sessions };
    this.parts = [];
    this.size = 0;
    this.sessions = 0;
    return chunk;
  }
}

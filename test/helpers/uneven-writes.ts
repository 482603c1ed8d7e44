import type { ServerResponse } from 'node:http';

/**
 * Ends a response with `body` written in pieces of uneven sizes (1 byte up to `most`), each after
 * the last has drained, so that the client's socket reads cut it anywhere.
 */
export function writeUnevenly(res: ServerResponse, body: Buffer, most: number): void {
  let at = 0;
  let size = 1;
  const next = () => {
    while (at < body.length) {
      const piece = body.subarray(at, at + size);
      at += piece.length;
      size = (size * 7 + 13) % most;
      if (!res.write(piece)) return void res.once('drain', next);
    }
    res.end();
  };
  next();
}

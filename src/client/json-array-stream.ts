/**
 * Splits a JSON array arriving in chunks into its elements, each parsed on its own, so memory holds
 * one element at a time however long the array is. Throws on anything that is not one JSON array.
 */
export class JsonArraySplitter {
  private state: 'before' | 'between' | 'inside' | 'done' = 'before';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private element = '';
  private sawElement = false;

  /** Feeds text; returns the elements it completed. */
  push(text: string): unknown[] {
    const out: unknown[] = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.state === 'inside') {
        if (this.inString) {
          if (this.escaped) this.escaped = false;
          else if (c === 92 /* \ */) this.escaped = true;
          else if (c === 34 /* " */) this.inString = false;
          continue;
        }
        if (c === 34) this.inString = true;
        else if (c === 123 || c === 91) this.depth++;
        else if (c === 125 || c === 93) {
          if (this.depth === 0) {
            if (c !== 93) throw new SyntaxError('unexpected } in the response');
            out.push(this.finish(text.slice(start, i)));
            this.state = 'done';
            start = i + 1;
            continue;
          }
          this.depth--;
        } else if (c === 44 /* , */ && this.depth === 0) {
          out.push(this.finish(text.slice(start, i)));
          this.state = 'between';
          start = i + 1;
        }
        continue;
      }
      if (c === 32 || c === 10 || c === 13 || c === 9) continue;
      if (this.state === 'before') {
        if (c !== 91) throw new SyntaxError('the response is not a JSON array');
        this.state = 'between';
      } else if (this.state === 'between') {
        if (c === 93 && !this.sawElement) {
          this.state = 'done';
        } else {
          this.state = 'inside';
          this.sawElement = true;
          start = i;
          i--;
        }
      } else {
        throw new SyntaxError('unexpected data after the end of the JSON array');
      }
    }
    if (this.state === 'inside') this.element += text.slice(start);
    return out;
  }

  private finish(tail: string): unknown {
    const text = this.element + tail;
    this.element = '';
    return JSON.parse(text);
  }

  /** Call at the end of the body: a response cut short is an error, never a shorter array. */
  end(): void {
    if (this.state !== 'done') throw new SyntaxError('the response ended before the JSON array was complete');
  }
}

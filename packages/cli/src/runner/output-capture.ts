/**
 * A step's output: kept whole (bounded) for history and failure reports, and split into whole
 * lines for the terminal, so concurrent steps never interleave mid-line.
 */
const MAX_KEPT = 4 * 1024 * 1024;

export class OutputCapture {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;
  private partial = '';

  constructor(private readonly onLine: (line: string) => void) {}

  write(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > MAX_KEPT && this.chunks.length > 1) {
      const first = this.chunks.shift()!;
      this.size -= first.length;
      this.dropped += first.length;
    }
    const text = this.partial + chunk.toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.onLine(line);
  }

  end(): void {
    if (this.partial) this.onLine(this.partial);
    this.partial = '';
  }

  bytes(): Buffer {
    const body = Buffer.concat(this.chunks);
    return this.dropped ? Buffer.concat([Buffer.from(`[... ${this.dropped} bytes of earlier output dropped ...]\n`), body]) : body;
  }
}

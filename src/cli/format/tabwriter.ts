// Go's text/tabwriter (elastic tabstops) as docker's fork uses it: cells measured in terminal columns.

/** Flags, as in Go's text/tabwriter. */
export const AlignRight = 1 << 2;
export const DiscardEmptyColumns = 1 << 3;
export const TabIndent = 1 << 4;
export const Debug = 1 << 5;

/** Settings for a {@link TabWriter}; see Go's `tabwriter.NewWriter`. */
export interface TabWriterOptions {
  /** Minimal cell width including padding. */
  minwidth: number;
  /** Width of a tab in columns, when padchar is a tab. */
  tabwidth: number;
  /** Padding added to a cell's width. */
  padding: number;
  /** The padding character (a single character). */
  padchar: string;
  /** Bit set of AlignRight, DiscardEmptyColumns, TabIndent, Debug. */
  flags: number;
}

/** `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`: docker's formatter tables (ps, images, ...). */
export const DOCKER_TABLE: TabWriterOptions = { minwidth: 10, tabwidth: 1, padding: 3, padchar: ' ', flags: 0 };
/** `NewWriter(out, 20, 1, 3, ' ', 0)`: docker top, context create/update. */
export const DOCKER_TOP: TabWriterOptions = { minwidth: 20, tabwidth: 1, padding: 3, padchar: ' ', flags: 0 };
/** `NewWriter(out, 20, 1, 1, ' ', 0)`: docker version. */
export const DOCKER_VERSION: TabWriterOptions = { minwidth: 20, tabwidth: 1, padding: 1, padchar: ' ', flags: 0 };

// East Asian Wide/Fullwidth ranges (go-runewidth counts these as 2 columns).
const WIDE: [number, number][] = [
  [0x1100, 0x115f], [0x231a, 0x231b], [0x2329, 0x232a], [0x23e9, 0x23ec], [0x23f0, 0x23f0], [0x23f3, 0x23f3],
  [0x25fd, 0x25fe], [0x2614, 0x2615], [0x2648, 0x2653], [0x267f, 0x267f], [0x2693, 0x2693], [0x26a1, 0x26a1],
  [0x26aa, 0x26ab], [0x26bd, 0x26be], [0x26c4, 0x26c5], [0x26ce, 0x26ce], [0x26d4, 0x26d4], [0x26ea, 0x26ea],
  [0x26f2, 0x26f3], [0x26f5, 0x26f5], [0x26fa, 0x26fa], [0x26fd, 0x26fd], [0x2705, 0x2705], [0x270a, 0x270b],
  [0x2728, 0x2728], [0x274c, 0x274c], [0x274e, 0x274e], [0x2753, 0x2755], [0x2757, 0x2757], [0x2795, 0x2797],
  [0x27b0, 0x27b0], [0x27bf, 0x27bf], [0x2b1b, 0x2b1c], [0x2b50, 0x2b50], [0x2b55, 0x2b55], [0x2e80, 0x303e],
  [0x3041, 0x33ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff], [0xa000, 0xa4cf], [0xa960, 0xa97f], [0xac00, 0xd7a3],
  [0xf900, 0xfaff], [0xfe10, 0xfe19], [0xfe30, 0xfe6f], [0xff00, 0xff60], [0xffe0, 0xffe6], [0x16fe0, 0x16fe4],
  [0x17000, 0x18cff], [0x1b000, 0x1b2ff], [0x1f004, 0x1f004], [0x1f0cf, 0x1f0cf], [0x1f18e, 0x1f18e],
  [0x1f191, 0x1f19a], [0x1f200, 0x1f251], [0x1f300, 0x1f64f], [0x1f680, 0x1f6ff], [0x1f7e0, 0x1f7eb],
  [0x1f90c, 0x1f9ff], [0x1fa70, 0x1faff], [0x20000, 0x3fffd],
];

function isWide(cp: number): boolean {
  if (cp < 0x1100) return false;
  let lo = 0, hi = WIDE.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = WIDE[mid]!;
    if (cp < a) hi = mid - 1;
    else if (cp > b) lo = mid + 1;
    else return true;
  }
  return false;
}

const ZERO_WIDTH = /[\p{Mn}\p{Me}\p{Cf}]/u;

/** Terminal columns of a string as go-runewidth counts them: wide CJK/emoji 2, marks and controls 0. */
export function stringWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) continue;
    if (cp < 0x300) { w++; continue; }
    if (ZERO_WIDTH.test(ch)) continue;
    w += isWide(cp) ? 2 : 1;
  }
  return w;
}

interface Cell { text: string; width: number; htab: boolean }

/**
 * An elastic-tabstop writer. Cells are tab-terminated; a column is a run of consecutive
 * lines that have a cell in it, and the text after a line's last tab is not part of any
 * column (so it is never padded). Write text with {@link write}, then {@link flush}:
 * ```ts
 * const tw = new TabWriter(DOCKER_TABLE);
 * tw.write('CONTAINER ID\tNAMES\n'); tw.write('abc\tweb\n');
 * process.stdout.write(tw.flush());
 * ```
 */
export class TabWriter {
  private lines: Cell[][] = [[]];
  private cell = '';
  private out = '';
  private widths: number[] = [];
  private readonly o: TabWriterOptions;

  constructor(opts: TabWriterOptions = DOCKER_TABLE) {
    if (opts.minwidth < 0 || opts.tabwidth < 0 || opts.padding < 0) throw new RangeError('negative minwidth, tabwidth, or padding');
    // Tab padding forces left alignment, as in Go.
    this.o = opts.padchar === '\t' ? { ...opts, flags: opts.flags & ~AlignRight } : opts;
  }

  /** Buffers text; a line with a single cell ends every open column, so output is produced there. */
  write(text: string): void {
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (ch !== '\t' && ch !== '\v' && ch !== '\n' && ch !== '\f') continue;
      this.cell += text.slice(start, i);
      start = i + 1;
      const line = this.lines[this.lines.length - 1]!;
      line.push({ text: this.cell, width: stringWidth(this.cell), htab: ch === '\t' });
      this.cell = '';
      if (ch === '\n' || ch === '\f') {
        this.lines.push([]);
        if (ch === '\f' || line.length === 1) {
          this.flushInternal();
          if (ch === '\f' && this.o.flags & Debug) this.out += '---\n';
        }
      }
    }
    this.cell += text.slice(start);
  }

  /** Formats everything buffered and returns all output produced since the last flush. */
  flush(): string {
    this.flushInternal();
    const s = this.out;
    this.out = '';
    return s;
  }

  private flushInternal() {
    if (this.cell.length > 0) {
      this.lines[this.lines.length - 1]!.push({ text: this.cell, width: stringWidth(this.cell), htab: false });
      this.cell = '';
    }
    this.format(0, this.lines.length);
    this.lines = [[]];
    this.widths = [];
  }

  private padding(textw: number, cellw: number, useTabs: boolean) {
    const { padchar, tabwidth } = this.o;
    if (padchar === '\t' || useTabs) {
      if (tabwidth === 0) return;
      cellw = Math.ceil(cellw / tabwidth) * tabwidth;
      const n = cellw - textw;
      this.out += '\t'.repeat(Math.ceil(n / tabwidth));
      return;
    }
    this.out += padchar.repeat(Math.max(cellw - textw, 0));
  }

  private writeLines(line0: number, line1: number) {
    const { flags } = this.o;
    for (let i = line0; i < line1; i++) {
      const line = this.lines[i]!;
      let useTabs = (flags & TabIndent) !== 0;
      line.forEach((c, j) => {
        if (j > 0 && flags & Debug) this.out += '|';
        if (c.text.length === 0) {
          if (j < this.widths.length) this.padding(c.width, this.widths[j]!, useTabs);
          return;
        }
        useTabs = false;
        if (!(flags & AlignRight)) {
          this.out += c.text;
          if (j < this.widths.length) this.padding(c.width, this.widths[j]!, false);
        } else {
          if (j < this.widths.length) this.padding(c.width, this.widths[j]!, false);
          this.out += c.text;
        }
      });
      // The last buffered line has no newline of its own.
      if (i + 1 < this.lines.length) this.out += '\n';
    }
  }

  private format(line0: number, line1: number) {
    const column = this.widths.length;
    for (let row = line0; row < line1; row++) {
      if (column >= this.lines[row]!.length - 1) continue;
      // This line has a cell in this column: print what comes before, then size the block.
      this.writeLines(line0, row);
      line0 = row;
      let width = this.o.minwidth;
      let discardable = true;
      for (; row < line1; row++) {
        const line = this.lines[row]!;
        if (column >= line.length - 1) break;
        const c = line[column]!;
        width = Math.max(width, c.width + this.o.padding);
        if (c.width > 0 || c.htab) discardable = false;
      }
      if (discardable && this.o.flags & DiscardEmptyColumns) width = 0;
      this.widths.push(width);
      this.format(line0, row);
      this.widths.pop();
      line0 = row;
    }
    this.writeLines(line0, line1);
  }
}

/** Runs `text` through a fresh TabWriter and returns the aligned result. */
export function tabwrite(text: string, opts: TabWriterOptions = DOCKER_TABLE): string {
  const tw = new TabWriter(opts);
  tw.write(text);
  return tw.flush();
}

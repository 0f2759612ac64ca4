// Go's text/template (lexer, parser, executor, built-in functions) over JS values, for docker's --format.
import { BerthError } from '../../common/errors.js';
import { goJSON } from './gojson.js';
import { byteLength, formatValue, goKind, goTypeName, sortedEntries, sprint, sprintf, sprintln } from './gofmt.js';

// ---------------------------------------------------------------------------
// Lexer (text/template/parse/lex.go semantics, including trim markers and comments)

const enum T {
  Error, Bool, Char, CharConstant, Assign, Declare, EOF, Field, Identifier, LeftDelim, LeftParen,
  Number, Pipe, RawString, RightDelim, RightParen, Space, String, Text, Variable,
  Keyword, // everything after this is a keyword
  Block, Break, Continue, Dot, Define, Else, End, If, Nil, Range, Template, With,
}

const keywords: Record<string, T> = {
  '.': T.Dot, block: T.Block, break: T.Break, continue: T.Continue, define: T.Define, else: T.Else,
  end: T.End, if: T.If, range: T.Range, nil: T.Nil, template: T.Template, with: T.With,
};

interface Item { typ: T; pos: number; val: string; line: number }

/** How Go prints a token in "unexpected X" messages. */
function itemString(i: Item): string {
  if (i.typ === T.EOF) return 'EOF';
  if (i.typ === T.Error) return i.val;
  if (i.typ > T.Keyword) return `<${i.val}>`;
  const runes = [...i.val];
  if (runes.length > 10) return goQuote(runes.slice(0, 10).join('')) + '...';
  return goQuote(i.val);
}

function goQuote(s: string): string {
  return sprintf('%q', [s]);
}

const LEFT = '{{';
const RIGHT = '}}';
const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string | undefined) => c !== undefined && (c === '_' || /[\p{L}\p{Nd}]/u.test(c));

/** Tokenizes a whole template; the last item is EOF or an error. */
function lex(input: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  let start = 0;
  let parenDepth = 0;
  const lineAt = (p: number) => {
    let n = 1;
    for (let i = 0; i < p && i < input.length; i++) if (input.charCodeAt(i) === 10) n++;
    return n;
  };
  const emit = (typ: T) => {
    items.push({ typ, pos: start, val: input.slice(start, pos), line: lineAt(start) });
    start = pos;
  };
  const error = (msg: string) => {
    items.push({ typ: T.Error, pos: start, val: msg, line: lineAt(start) });
  };
  const cp = (p: number) => {
    const c = input.codePointAt(p);
    return c === undefined ? undefined : String.fromCodePoint(c);
  };
  const hasLeftTrim = (p: number) => input[p] === '-' && isSpace(input[p + 1]);
  const atRightDelim = (p: number): [boolean, boolean] => {
    if (input.startsWith(RIGHT, p)) return [true, false];
    if (isSpace(input[p]) && input[p + 1] === '-' && input.startsWith(RIGHT, p + 2)) return [true, true];
    return [false, false];
  };
  const atTerminator = (p: number) => {
    const r = input[p];
    if (r === undefined || isSpace(r)) return true;
    if ('.,|:)('.includes(r)) return true;
    return input.startsWith(RIGHT, p);
  };

  text: for (;;) {
    // lexText
    const x = input.indexOf(LEFT, pos);
    if (x < 0) {
      pos = input.length;
      if (pos > start) emit(T.Text);
      emit(T.EOF);
      return items;
    }
    if (x > start) {
      pos = x;
      let end = pos;
      if (hasLeftTrim(pos + LEFT.length)) while (end > start && isSpace(input[end - 1])) end--;
      if (end > start) items.push({ typ: T.Text, pos: start, val: input.slice(start, end), line: lineAt(start) });
      start = pos;
    }
    // lexLeftDelim
    pos += LEFT.length;
    const trim = hasLeftTrim(pos);
    const after = trim ? 2 : 0;
    if (input.startsWith('/*', pos + after)) {
      pos += after;
      start = pos;
      // lexComment
      pos += 2;
      const i = input.indexOf('*/', pos);
      if (i < 0) { error('unclosed comment'); return items; }
      pos = i + 2;
      const [delim, trimR] = atRightDelim(pos);
      if (!delim) { error('comment ends before closing delimiter'); return items; }
      pos += RIGHT.length + (trimR ? 2 : 0);
      if (trimR) while (isSpace(input[pos])) pos++;
      start = pos;
      continue text;
    }
    start = x;
    emit(T.LeftDelim);
    pos += after;
    start = pos;
    parenDepth = 0;
    // lexInsideAction
    for (;;) {
      const [delim, trimR] = atRightDelim(pos);
      if (delim) {
        if (parenDepth !== 0) { error('unclosed left paren'); return items; }
        // lexRightDelim
        if (trimR) { pos += 2; start = pos; }
        pos += RIGHT.length;
        emit(T.RightDelim);
        if (trimR) { while (isSpace(input[pos])) pos++; start = pos; }
        continue text;
      }
      const r = cp(pos);
      if (r === undefined) { error('unclosed action'); return items; }
      if (isSpace(r)) {
        // lexSpace; a space followed by "-}}" belongs to the trim marker.
        let n = 0;
        while (isSpace(input[pos])) { pos++; n++; }
        if (input[pos] === '-' && input.startsWith(RIGHT, pos + 1)) {
          pos--;
          if (n === 1) continue;
        }
        emit(T.Space);
        continue;
      }
      pos += r.length;
      switch (r) {
        case '=': emit(T.Assign); continue;
        case ':':
          if (input[pos] !== '=') { error('expected :='); return items; }
          pos++;
          emit(T.Declare);
          continue;
        case '|': emit(T.Pipe); continue;
        case '"': {
          for (;;) {
            const c = input[pos++];
            if (c === '\\') {
              const d = input[pos++];
              if (d !== undefined && d !== '\n') continue;
            }
            if (c === undefined || c === '\n' || (c === '\\')) { error('unterminated quoted string'); return items; }
            if (c === '"') break;
          }
          emit(T.String);
          continue;
        }
        case '`': {
          const i = input.indexOf('`', pos);
          if (i < 0) { error('unterminated raw quoted string'); return items; }
          pos = i + 1;
          emit(T.RawString);
          continue;
        }
        case '$':
        case '.': {
          if (r === '.' && pos < input.length && input[pos]! >= '0' && input[pos]! <= '9') {
            pos--;
            if (!lexNumber()) return items;
            continue;
          }
          if (atTerminator(pos)) { emit(r === '$' ? T.Variable : T.Dot); continue; }
          while (isAlnum(cp(pos))) pos += cp(pos)!.length;
          if (!atTerminator(pos)) { error(`bad character ${runeName(cp(pos)!)}`); return items; }
          emit(r === '$' ? T.Variable : T.Field);
          continue;
        }
        case "'": {
          for (;;) {
            const c = input[pos++];
            if (c === '\\') {
              const d = input[pos++];
              if (d !== undefined && d !== '\n') continue;
            }
            if (c === undefined || c === '\n' || c === '\\') { error('unterminated character constant'); return items; }
            if (c === "'") break;
          }
          emit(T.CharConstant);
          continue;
        }
        case '(': emit(T.LeftParen); parenDepth++; continue;
        case ')':
          parenDepth--;
          if (parenDepth < 0) { error('unexpected right paren'); return items; }
          emit(T.RightParen);
          continue;
      }
      if (r === '+' || r === '-' || (r >= '0' && r <= '9')) {
        pos -= r.length;
        if (!lexNumber()) return items;
        continue;
      }
      if (isAlnum(r)) {
        while (isAlnum(cp(pos))) pos += cp(pos)!.length;
        const word = input.slice(start, pos);
        if (!atTerminator(pos)) { error(`bad character ${runeName(cp(pos)!)}`); return items; }
        const kw = keywords[word];
        if (kw !== undefined && kw > T.Keyword) emit(kw);
        else if (word === 'true' || word === 'false') emit(T.Bool);
        else emit(T.Identifier);
        continue;
      }
      const c = r.codePointAt(0)!;
      if (c <= 0x7e && c >= 0x20) { emit(T.Char); continue; }
      error(`unrecognized character in action: ${runeName(r)}`);
      return items;
    }
  }

  function lexNumber(): boolean {
    const scan = () => {
      if ('+-'.includes(input[pos] ?? 'x')) pos++;
      let digits = '0123456789_';
      let exp = 'eE';
      if (input[pos] === '0' && /[xXoObB]/.test(input[pos + 1] ?? '')) {
        const k = input[pos + 1]!.toLowerCase();
        pos += 2;
        digits = k === 'x' ? '0123456789abcdefABCDEF_' : k === 'o' ? '01234567_' : '01_';
        if (k === 'x') exp = 'pP';
      }
      while (digits.includes(input[pos] ?? '\0')) pos++;
      if (input[pos] === '.') { pos++; while (digits.includes(input[pos] ?? '\0')) pos++; }
      if (exp.includes(input[pos] ?? '\0') && input[pos] !== undefined) {
        pos++;
        if ('+-'.includes(input[pos] ?? 'x')) pos++;
        while ('0123456789_'.includes(input[pos] ?? '\0')) pos++;
      }
      if (input[pos] === 'i') pos++;
      if (isAlnum(cp(pos))) { pos += cp(pos)!.length; return false; }
      return true;
    };
    if (!scan()) { error(`bad number syntax: ${goQuote(input.slice(start, pos))}`); return false; }
    if (input[pos] === '+' || input[pos] === '-') {
      if (!scan() || input[pos - 1] !== 'i') { error(`bad number syntax: ${goQuote(input.slice(start, pos))}`); return false; }
    }
    emit(T.Number);
    return true;
  }
}

/** Go's %#U of a rune: `U+007D '}'`. */
function runeName(r: string): string {
  const c = r.codePointAt(0)!;
  const hex = 'U+' + c.toString(16).toUpperCase().padStart(4, '0');
  return c >= 0x20 && c !== 0x7f ? `${hex} '${r}'` : hex;
}

// ---------------------------------------------------------------------------
// Parse tree

type Arg =
  | { t: 'field'; pos: number; ident: string[] }
  | { t: 'variable'; pos: number; ident: string[] }
  | { t: 'identifier'; pos: number; name: string }
  | { t: 'dot'; pos: number }
  | { t: 'nil'; pos: number }
  | { t: 'bool'; pos: number; val: boolean }
  | { t: 'number'; pos: number; text: string; value: number; isInt: boolean; isFloat: boolean }
  | { t: 'string'; pos: number; quoted: string; text: string }
  | { t: 'chain'; pos: number; node: Arg; field: string[] }
  | Pipe;

interface Command { t: 'command'; pos: number; args: Arg[] }
interface Pipe { t: 'pipe'; pos: number; line: number; isAssign: boolean; decl: { pos: number; name: string }[]; cmds: Command[] }

type Node =
  | { t: 'text'; pos: number; text: string }
  | { t: 'action'; pos: number; line: number; pipe: Pipe }
  | Control
  | { t: 'template'; pos: number; line: number; name: string; pipe?: Pipe }
  | { t: 'break' | 'continue'; pos: number; line: number }
  | ListNode;
interface Control { t: 'if' | 'with' | 'range'; pos: number; line: number; pipe: Pipe; list: ListNode; elseList?: ListNode }
interface ListNode { t: 'list'; pos: number; nodes: Node[] }
type Stop = { t: 'end' | 'else'; pos: number; line: number };

function argString(a: Arg): string {
  switch (a.t) {
    case 'field': return a.ident.map((s) => '.' + s).join('');
    case 'variable': return a.ident.join('.');
    case 'identifier': return a.name;
    case 'dot': return '.';
    case 'nil': return 'nil';
    case 'bool': return String(a.val);
    case 'number': return a.text;
    case 'string': return a.quoted;
    case 'chain': return (a.node.t === 'pipe' ? '(' + argString(a.node) + ')' : argString(a.node)) + a.field.map((f) => '.' + f).join('');
    case 'pipe': {
      let s = '';
      if (a.decl.length) s = a.decl.map((d) => d.name).join(', ') + (a.isAssign ? ' = ' : ' := ');
      return s + a.cmds.map(commandString).join(' | ');
    }
  }
}

function commandString(c: Command): string {
  return c.args.map((a) => (a.t === 'pipe' ? '(' + argString(a) + ')' : argString(a))).join(' ');
}

function nodeString(n: Node | Command | Arg | Stop): string {
  switch (n.t) {
    case 'text': return n.text;
    case 'action': return '{{' + argString(n.pipe) + '}}';
    case 'if': case 'with': case 'range':
      return `{{${n.t} ${argString(n.pipe)}}}${nodeString(n.list)}` + (n.elseList ? `{{else}}${nodeString(n.elseList)}` : '') + '{{end}}';
    case 'template': return `{{template ${goQuote(n.name)}${n.pipe ? ' ' + argString(n.pipe) : ''}}}`;
    case 'break': return '{{break}}';
    case 'continue': return '{{continue}}';
    case 'list': return n.nodes.map(nodeString).join('');
    case 'command': return commandString(n);
    case 'end': return '{{end}}';
    case 'else': return '{{else}}';
    default: return argString(n);
  }
}

/** A template parse or execution failure, with Go's exact message. */
export class TemplateError extends BerthError {
  /** Output written before an execution error (Go leaves it in the writer). */
  readonly partial: string;
  constructor(message: string, partial = '') {
    super('invalid-argument', message);
    this.name = 'TemplateError';
    this.partial = partial;
  }
}

class Parser {
  private items: Item[];
  private i = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  private last: Item;

  constructor(private readonly name: string, text: string, private readonly funcs: FuncMap, readonly trees: Map<string, ListNode>) {
    this.items = lex(text);
    this.last = this.items[0]!;
  }

  private errorf(msg: string): never {
    throw new TemplateError(`template: ${this.name}:${this.last.line}: ${msg}`);
  }
  private next(): Item {
    const it = this.items[Math.min(this.i, this.items.length - 1)]!;
    this.i++;
    this.last = it;
    return it;
  }
  private backup(n = 1) { this.i -= n; }
  private peek(): Item { return this.items[Math.min(this.i, this.items.length - 1)]!; }
  private nextNonSpace(): Item {
    let it: Item;
    do it = this.next(); while (it.typ === T.Space);
    return it;
  }
  private peekNonSpace(): Item {
    const save = this.i;
    const it = this.nextNonSpace();
    this.i = save;
    return it;
  }
  private expect(typ: T, context: string): Item {
    const it = this.nextNonSpace();
    if (it.typ !== typ) this.unexpected(it, context);
    return it;
  }
  private unexpected(it: Item, context: string): never {
    if (it.typ === T.Error) this.errorf(it.val);
    this.errorf(`unexpected ${itemString(it)} in ${context}`);
  }

  parse(): ListNode {
    const root: ListNode = { t: 'list', pos: this.peek().pos, nodes: [] };
    while (this.peek().typ !== T.EOF) {
      if (this.peek().typ === T.LeftDelim) {
        const save = this.i;
        this.next();
        if (this.nextNonSpace().typ === T.Define) {
          this.parseDefinition();
          continue;
        }
        this.i = save;
      }
      const n = this.textOrAction();
      if (n.t === 'end' || n.t === 'else') this.errorf(`unexpected ${nodeString(n)}`);
      root.nodes.push(n as Node);
    }
    if (this.peek().typ === T.Error) this.errorf(this.peek().val);
    this.add(this.name, root);
    return root;
  }

  private add(name: string, list: ListNode) {
    const prev = this.trees.get(name);
    if (!prev || isEmptyTree(prev)) { this.trees.set(name, list); return; }
    if (!isEmptyTree(list)) this.errorf(`template: multiple definition of template ${goQuote(name)}`);
  }

  private parseDefinition() {
    const context = 'define clause';
    const tok = this.nextNonSpace();
    if (tok.typ !== T.String && tok.typ !== T.RawString) this.unexpected(tok, context);
    const name = unquote(tok.val) ?? this.errorf('invalid syntax');
    this.expect(T.RightDelim, context);
    const savedVars = this.vars;
    this.vars = ['$'];
    const [list, end] = this.itemList();
    if (end.t !== 'end') this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    this.vars = savedVars;
    this.add(name, list);
  }

  private itemList(): [ListNode, Stop] {
    const list: ListNode = { t: 'list', pos: this.peekNonSpace().pos, nodes: [] };
    while (this.peekNonSpace().typ !== T.EOF) {
      const n = this.textOrAction();
      if (n.t === 'end' || n.t === 'else') return [list, n];
      list.nodes.push(n as Node);
    }
    if (this.peekNonSpace().typ === T.Error) this.errorf(this.peekNonSpace().val);
    this.next();
    this.errorf('unexpected EOF');
  }

  private textOrAction(): Node | Stop {
    const tok = this.nextNonSpace();
    if (tok.typ === T.Text) return { t: 'text', pos: tok.pos, text: tok.val };
    if (tok.typ === T.LeftDelim) return this.action();
    this.unexpected(tok, 'input');
  }

  private action(): Node | Stop {
    const tok = this.nextNonSpace();
    switch (tok.typ) {
      case T.Block: return this.blockControl();
      case T.Break: return this.breakControl(tok, 'break');
      case T.Continue: return this.breakControl(tok, 'continue');
      case T.Else: return this.elseControl();
      case T.End: return { t: 'end', pos: this.expect(T.RightDelim, 'end').pos, line: tok.line };
      case T.If: return this.control('if');
      case T.Range: return this.control('range');
      case T.Template: return this.templateControl();
      case T.With: return this.control('with');
    }
    this.backup();
    const p = this.peek();
    return { t: 'action', pos: p.pos, line: p.line, pipe: this.pipeline('command') };
  }

  private breakControl(tok: Item, kind: 'break' | 'continue'): Node {
    const next = this.nextNonSpace();
    if (next.typ !== T.RightDelim) this.unexpected(next, `{{${kind}}}`);
    if (this.rangeDepth === 0) this.errorf(`{{${kind}}} outside {{range}}`);
    return { t: kind, pos: tok.pos, line: tok.line };
  }

  private elseControl(): Stop {
    const peek = this.peekNonSpace();
    // "else if" / "else with": leave the keyword pending, as if {{else}}{{if ...}} was written.
    if (peek.typ === T.If || peek.typ === T.With) return { t: 'else', pos: peek.pos, line: peek.line };
    const tok = this.expect(T.RightDelim, 'else');
    return { t: 'else', pos: tok.pos, line: tok.line };
  }

  private control(kind: 'if' | 'with' | 'range'): Node {
    const mark = this.vars.length;
    const pipe = this.pipeline(kind);
    if (kind === 'range') this.rangeDepth++;
    let [list, next] = this.itemList();
    if (kind === 'range') this.rangeDepth--;
    let elseList: ListNode | undefined;
    if (next.t === 'else') {
      const kw = kind === 'if' ? T.If : kind === 'with' ? T.With : undefined;
      if (kw !== undefined && this.peekNonSpace().typ === kw) {
        this.nextNonSpace();
        elseList = { t: 'list', pos: next.pos, nodes: [this.control(kind)] };
      } else {
        [elseList, next] = this.itemList();
        if (next.t !== 'end') this.errorf(`expected end; found ${nodeString(next)}`);
      }
    }
    this.vars.length = mark;
    return { t: kind, pos: pipe.pos, line: pipe.line, pipe, list, elseList };
  }

  private blockControl(): Node {
    const context = 'block clause';
    const tok = this.nextNonSpace();
    const name = this.templateName(tok, context);
    const pipe = this.pipeline(context);
    const savedVars = this.vars;
    this.vars = ['$'];
    const [list, end] = this.itemList();
    if (end.t !== 'end') this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    this.vars = savedVars;
    this.add(name, list);
    return { t: 'template', pos: tok.pos, line: tok.line, name, pipe };
  }

  private templateControl(): Node {
    const context = 'template clause';
    const tok = this.nextNonSpace();
    const name = this.templateName(tok, context);
    let pipe: Pipe | undefined;
    if (this.nextNonSpace().typ !== T.RightDelim) {
      this.backup();
      pipe = this.pipeline(context);
    }
    return { t: 'template', pos: tok.pos, line: tok.line, name, pipe };
  }

  private templateName(tok: Item, context: string): string {
    if (tok.typ !== T.String && tok.typ !== T.RawString) this.unexpected(tok, context);
    return unquote(tok.val) ?? this.errorf('invalid syntax');
  }

  private pipeline(context: string): Pipe {
    const tok = this.peekNonSpace();
    const pipe: Pipe = { t: 'pipe', pos: tok.pos, line: tok.line, isAssign: false, decl: [], cmds: [] };
    // Declarations: "$x :=", "$x =", or in range "$i, $v :=".
    decls: for (;;) {
      const v = this.peekNonSpace();
      if (v.typ !== T.Variable) break;
      const save = this.i;
      this.nextNonSpace();
      const next = this.peekNonSpace();
      if (next.typ === T.Assign || next.typ === T.Declare) {
        pipe.isAssign = next.typ === T.Assign;
        this.nextNonSpace();
        pipe.decl.push({ pos: v.pos, name: v.val });
        this.vars.push(v.val);
        break;
      }
      if (next.typ === T.Char && next.val === ',') {
        this.nextNonSpace();
        pipe.decl.push({ pos: v.pos, name: v.val });
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace().typ;
          if (p === T.Variable || p === T.RightDelim || p === T.RightParen) continue decls;
          this.errorf('range can only initialize variables');
        }
        this.errorf(`too many declarations in ${context}`);
      }
      this.i = save;
      break;
    }
    for (;;) {
      const tok = this.nextNonSpace();
      switch (tok.typ) {
        case T.RightDelim:
        case T.RightParen:
          this.checkPipeline(pipe, context);
          if (tok.typ === T.RightParen) this.backup();
          return pipe;
        case T.Bool: case T.CharConstant: case T.Dot: case T.Field: case T.Identifier: case T.Number:
        case T.Nil: case T.RawString: case T.String: case T.Variable: case T.LeftParen:
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(tok, context);
      }
    }
  }

  private checkPipeline(pipe: Pipe, context: string) {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      const t = c.args[0]!.t;
      if (t === 'bool' || t === 'dot' || t === 'nil' || t === 'number' || t === 'string') {
        this.errorf(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  private command(): Command {
    const cmd: Command = { t: 'command', pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const op = this.operand();
      if (op) cmd.args.push(op);
      const tok = this.next();
      if (tok.typ === T.Space) continue;
      if (tok.typ === T.Error) this.errorf(tok.val);
      if (tok.typ === T.RightDelim || tok.typ === T.RightParen) this.backup();
      else if (tok.typ !== T.Pipe) this.errorf(`unexpected ${itemString(tok)} in operand`);
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  private operand(): Arg | undefined {
    const node = this.term();
    if (!node) return undefined;
    if (this.peek().typ === T.Field) {
      const pos = this.peek().pos;
      const fields: string[] = [];
      while (this.peek().typ === T.Field) fields.push(this.next().val.slice(1));
      switch (node.t) {
        case 'field': return { t: 'field', pos, ident: [...node.ident, ...fields] };
        case 'variable': return { t: 'variable', pos, ident: [...node.ident, ...fields] };
        case 'bool': case 'string': case 'number': case 'nil': case 'dot':
          this.errorf(`unexpected . after term ${goQuote(argString(node))}`);
        default: return { t: 'chain', pos, node, field: fields };
      }
    }
    return node;
  }

  private term(): Arg | undefined {
    const tok = this.nextNonSpace();
    switch (tok.typ) {
      case T.Error: this.errorf(tok.val);
      case T.Identifier:
        if (!(tok.val in this.funcs)) this.errorf(`function ${goQuote(tok.val)} not defined`);
        return { t: 'identifier', pos: tok.pos, name: tok.val };
      case T.Dot: return { t: 'dot', pos: tok.pos };
      case T.Nil: return { t: 'nil', pos: tok.pos };
      case T.Variable: {
        const ident = tok.val.split('.');
        if (!this.vars.includes(ident[0]!)) this.errorf(`undefined variable ${goQuote(ident[0]!)}`);
        return { t: 'variable', pos: tok.pos, ident };
      }
      case T.Field: return { t: 'field', pos: tok.pos, ident: [tok.val.slice(1)] };
      case T.Bool: return { t: 'bool', pos: tok.pos, val: tok.val === 'true' };
      case T.CharConstant: case T.Number: return this.number(tok);
      case T.LeftParen: {
        const pipe = this.pipeline('parenthesized pipeline');
        const close = this.next();
        if (close.typ !== T.RightParen) this.errorf(`unclosed right paren: unexpected ${itemString(close)}`);
        return pipe;
      }
      case T.String: case T.RawString: {
        const s = unquote(tok.val);
        if (s === undefined) this.errorf('invalid syntax');
        return { t: 'string', pos: tok.pos, quoted: tok.val, text: s };
      }
    }
    this.backup();
    return undefined;
  }

  private number(tok: Item): Arg {
    const text = tok.val;
    if (tok.typ === T.CharConstant) {
      const s = unquote('"' + text.slice(1, -1).replace(/\\'/g, "'").replace(/"/g, '\\"') + '"');
      if (s === undefined || [...s].length !== 1) this.errorf(`malformed character constant: ${text}`);
      const c = s.codePointAt(0)!;
      return { t: 'number', pos: tok.pos, text, value: c, isInt: true, isFloat: true };
    }
    if (/i$/.test(text)) this.errorf(`illegal number syntax: ${goQuote(text)}`);
    const clean = text.replace(/_/g, '');
    let value: number;
    const m = /^([+-]?)0([xXoObB])([0-9a-fA-F]*)$/.exec(clean);
    if (m) {
      if (!m[3]) this.errorf(`illegal number syntax: ${goQuote(text)}`);
      const base = { x: 16, o: 8, b: 2 }[m[2]!.toLowerCase() as 'x' | 'o' | 'b'];
      value = parseInt(m[3]!, base) * (m[1] === '-' ? -1 : 1);
    } else if (/^[+-]?0[0-7]+$/.test(clean)) {
      value = parseInt(clean, 8);
    } else if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(clean)) {
      value = Number(clean);
    } else if (/^[+-]?0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*[pP][+-]?\d+$/.test(clean)) {
      const hm = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?\d+)$/.exec(clean)!;
      value = (parseInt(hm[2]! + hm[3]! || '0', 16) / 16 ** hm[3]!.length) * 2 ** Number(hm[4]) * (hm[1] === '-' ? -1 : 1);
    } else {
      this.errorf(`illegal number syntax: ${goQuote(text)}`);
    }
    if (value === 0) value = 0; // "-0" is the integer 0
    const isInt = Number.isInteger(value) && Number.isSafeInteger(value);
    // Go marks every integer constant as usable as a float too.
    return { t: 'number', pos: tok.pos, text, value, isInt, isFloat: true };
  }
}

function isEmptyTree(n: ListNode): boolean {
  return n.nodes.every((c) => c.t === 'text' && c.text.trim() === '');
}

/** Go's strconv.Unquote for "..." and `...` literals; undefined if malformed. */
function unquote(q: string): string | undefined {
  if (q.startsWith('`')) return q.endsWith('`') && q.length >= 2 ? q.slice(1, -1) : undefined;
  if (!q.startsWith('"') || !q.endsWith('"') || q.length < 2) return undefined;
  const body = q.slice(1, -1);
  let out = '';
  const bytes: number[] = [];
  const flushBytes = () => {
    if (bytes.length) { out += Buffer.from(bytes).toString('utf8'); bytes.length = 0; }
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') { flushBytes(); out += c; continue; }
    const e = body[++i];
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"' };
    if (e !== undefined && e in simple) { flushBytes(); out += simple[e]; continue; }
    if (e === 'x') {
      const h = body.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) return undefined;
      bytes.push(parseInt(h, 16));
      i += 2;
      continue;
    }
    if (e !== undefined && e >= '0' && e <= '7') {
      const o = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(o) || parseInt(o, 8) > 255) return undefined;
      bytes.push(parseInt(o, 8));
      i += 2;
      continue;
    }
    if (e === 'u' || e === 'U') {
      const n = e === 'u' ? 4 : 8;
      const h = body.slice(i + 1, i + 1 + n);
      if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) return undefined;
      const v = parseInt(h, 16);
      if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return undefined;
      flushBytes();
      out += String.fromCodePoint(v);
      i += n;
      continue;
    }
    return undefined;
  }
  flushBytes();
  return out;
}

// ---------------------------------------------------------------------------
// Functions

/**
 * A parameter type, as Go's reflection would check it: literal arguments are type-checked
 * at the call ("expected string; found 1"), computed values are validated ("wrong type
 * for value; expected string; got int").
 */
export type ParamType = 'any' | 'string' | 'int' | 'bool' | 'float64' | '[]string' | 'value';

/** A template function: its Go-like signature and the JS implementation (throw to fail). */
export interface TemplateFunc {
  params: ParamType[];
  /** The element type of a trailing `...T` parameter. */
  variadic?: ParamType;
  fn: (...args: never[]) => unknown;
}

/** Functions available to templates, by name. */
export type FuncMap = Record<string, TemplateFunc>;

const f = (params: ParamType[], fn: (...args: never[]) => unknown, variadic?: ParamType): TemplateFunc => ({ params, fn, variadic });

class CallError extends Error {}

function truth(v: unknown): boolean {
  switch (goKind(v)) {
    case 'invalid': case 'nil': return false;
    case 'bool': return v as boolean;
    case 'int': case 'float': return v !== 0 && v !== 0n;
    case 'string': return (v as string).length > 0;
    case 'slice': return (v as ArrayLike<unknown>).length > 0;
    case 'map': return v instanceof Map ? v.size > 0 : Object.keys(v as object).length > 0;
    default: return true;
  }
}

function evalArgsString(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args);
}

/** Go's template.HTMLEscapeString. */
export function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => ({ '\0': '\uFFFD', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
}

/** Go's template.JSEscapeString. */
export function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '\\': out += '\\\\'; continue;
      case "'": out += "\\'"; continue;
      case '"': out += '\\"'; continue;
      case '<': out += '\\u003C'; continue;
      case '>': out += '\\u003E'; continue;
      case '&': out += '\\u0026'; continue;
      case '=': out += '\\u003D'; continue;
    }
    if (c < 0x20 || (c >= 0x80 && !/[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch))) {
      out += c < 0x10000 ? '\\u' + c.toString(16).toUpperCase().padStart(4, '0') : ch;
    } else out += ch;
  }
  return out;
}

/** Go's url.QueryEscape. */
export function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

type Basic = 'bool' | 'int' | 'float' | 'string' | 'nil';
function basicKind(v: unknown): Basic | undefined {
  const k = goKind(v);
  if (k === 'invalid' || k === 'nil') return 'nil';
  return k === 'bool' || k === 'int' || k === 'float' || k === 'string' ? k : undefined;
}

const isNum = (k: Basic | undefined) => k === 'int' || k === 'float';

function eqPair(a: unknown, b: unknown): boolean {
  const ka = basicKind(a), kb = basicKind(b);
  if (ka === 'nil' || kb === 'nil') return ka === kb;
  // Decoded JSON does not keep Go's int/float64 split, so numbers compare by value.
  if (ka !== kb && !(isNum(ka) && isNum(kb))) throw new CallError('incompatible types for comparison');
  if (ka === undefined) {
    const k = goKind(b);
    if (k === 'slice' || k === 'map' || k === 'func') throw new CallError(`non-comparable type ${formatValue(b)}: ${goTypeName(b)}`);
  }
  return a === b;
}

function ltPair(a: unknown, b: unknown): boolean {
  const ka = basicKind(a), kb = basicKind(b);
  if (ka === undefined || kb === undefined || ka === 'nil' || kb === 'nil') throw new CallError('invalid type for comparison');
  if (ka !== kb && !(isNum(ka) && isNum(kb))) throw new CallError('incompatible types for comparison');
  if (ka === 'bool') throw new CallError('invalid type for comparison');
  return (a as number | string) < (b as number | string);
}

function indexInt(i: unknown, cap: number, what = 'index'): number {
  const k = goKind(i);
  if (k === 'nil' || k === 'invalid') throw new CallError(`cannot index slice/array with nil`);
  if (k !== 'int') throw new CallError(`cannot index slice/array with type ${goTypeName(i)}`);
  const n = Number(i);
  if (n < 0 || n >= cap) throw new CallError(`${what} out of range: ${n}`);
  return n;
}

const utf8 = new TextEncoder();

function goIndex(item: unknown, ...idx: unknown[]): unknown {
  let v = item;
  if (v === undefined || v === null) throw new CallError('index of untyped nil');
  for (const i of idx) {
    switch (goKind(v)) {
      case 'string': v = utf8.encode(v as string)[indexInt(i, byteLength(v as string))]; break;
      case 'slice': v = (v as ArrayLike<unknown>)[indexInt(i, (v as ArrayLike<unknown>).length)]; break;
      case 'map': {
        if (i === null || i === undefined) throw new CallError('value is nil; should be of type string');
        const key = typeof i === 'string' ? i : String(i);
        const has = v instanceof Map ? v.has(key) : Object.hasOwn(v as object, key);
        if (has) { v = v instanceof Map ? v.get(key) : (v as Record<string, unknown>)[key]; break; }
        // A missing key yields the element's zero value; docker's maps (Labels, Options) are
        // map[string]string, so a map of strings gives "", anything else a nil interface.
        const vals = v instanceof Map ? [...v.values()] : Object.values(v as object);
        v = vals.every((e) => typeof e === 'string') ? '' : undefined;
        break;
      }
      case 'nil': case 'invalid': throw new CallError('index of nil pointer');
      default: throw new CallError(`can't index item of type ${goTypeName(v)}`);
    }
  }
  return v;
}

function goSlice(item: unknown, ...idx: unknown[]): unknown {
  if (item === undefined || item === null) throw new CallError('slice of untyped nil');
  if (idx.length > 3) throw new CallError(`too many slice indexes: ${idx.length}`);
  const k = goKind(item);
  let len: number;
  if (k === 'string') {
    if (idx.length === 3) throw new CallError('cannot 3-index slice a string');
    len = byteLength(item as string);
  } else if (k === 'slice') len = (item as ArrayLike<unknown>).length;
  else throw new CallError(`can't slice item of type ${goTypeName(item)}`);
  const cap = len;
  const ix = [0, len];
  idx.forEach((v, i) => { ix[i] = indexInt(v, cap + 1); });
  if (ix[0]! > ix[1]!) throw new CallError(`invalid slice index: ${ix[0]} > ${ix[1]}`);
  if (k === 'string') return Buffer.from(utf8.encode(item as string).slice(ix[0], ix[1])).toString('utf8');
  return Array.from(item as ArrayLike<unknown>).slice(ix[0], ix[1]);
}

function goLen(v: unknown): number {
  switch (goKind(v)) {
    case 'string': return byteLength(v as string);
    case 'slice': return (v as ArrayLike<unknown>).length;
    case 'map': return v instanceof Map ? v.size : Object.keys(v as object).length;
    case 'nil': case 'invalid': throw new CallError('len of nil pointer');
    default: throw new CallError(`len of type ${goTypeName(v)}`);
  }
}

/** Go's strings.Title: upper-cases the first letter of each word; separators are what is not a letter, digit or `_`. */
export function goTitle(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    const sep = (() => {
      if (prev.charCodeAt(0) <= 0x7f) return !/[A-Za-z0-9_]/.test(prev);
      if (/[\p{L}\p{Nd}]/u.test(prev)) return false;
      return /\s/u.test(prev);
    })();
    out += sep ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

/** Go's strings.Split: an empty separator splits into UTF-8 sequences (code points). */
export function goSplit(s: string, sep: string): string[] {
  return sep === '' ? [...s] : s.split(sep);
}

/** Go's text/template built-in functions. */
export const builtinFuncs: FuncMap = {
  and: f(['value'], () => undefined, 'value'), // short-circuit; evaluated by the executor
  or: f(['value'], () => undefined, 'value'),
  not: f(['value'], (v: unknown) => !truth(v)),
  len: f(['value'], goLen),
  index: f(['value'], goIndex, 'value'),
  slice: f(['value'], goSlice, 'value'),
  print: f([], (...a: unknown[]) => sprint(a), 'any'),
  printf: f(['string'], (fmt: string, ...a: unknown[]) => sprintf(fmt, a), 'any'),
  println: f([], (...a: unknown[]) => sprintln(a), 'any'),
  html: f([], (...a: unknown[]) => htmlEscape(evalArgsString(a)), 'any'),
  js: f([], (...a: unknown[]) => jsEscape(evalArgsString(a)), 'any'),
  urlquery: f([], (...a: unknown[]) => queryEscape(evalArgsString(a)), 'any'),
  eq: f(['value'], (a: unknown, ...b: unknown[]) => {
    if (b.length === 0) throw new CallError('missing argument for comparison');
    return b.some((x) => eqPair(a, x));
  }, 'value'),
  ne: f(['value', 'value'], (a: unknown, b: unknown) => !eqPair(a, b)),
  lt: f(['value', 'value'], (a: unknown, b: unknown) => ltPair(a, b)),
  le: f(['value', 'value'], (a: unknown, b: unknown) => ltPair(a, b) || eqPair(a, b)),
  gt: f(['value', 'value'], (a: unknown, b: unknown) => !ltPair(a, b) && !eqPair(a, b)),
  ge: f(['value', 'value'], (a: unknown, b: unknown) => !ltPair(a, b)),
  call: f(['value'], (fn: unknown, ...args: unknown[]) => {
    if (fn === undefined || fn === null) throw new CallError('call of nil');
    if (typeof fn !== 'function') throw new CallError(`non-function ${formatValue(fn)} of type ${goTypeName(fn)}`);
    return (fn as (...a: unknown[]) => unknown)(...args);
  }, 'value'),
};

// ---------------------------------------------------------------------------
// Executor

const MISSING = Symbol('missing');

/** A function found on the data is a Go method: fn.length parameters of any type. */
function method(fn: (...a: unknown[]) => unknown, receiver: unknown): TemplateFunc {
  return { params: Array<ParamType>(fn.length).fill('any'), fn: fn.bind(receiver) };
}
class BreakSignal { constructor(readonly kind: 'break' | 'continue') {} }

interface Defined { name: string; text: string; trees: Map<string, ListNode>; funcs: FuncMap }

class ExecState {
  out: string[] = [];
  vars: { name: string; value: unknown }[] = [];
  node: { pos: number } | undefined;
  nodeStr = '';
  depth = 0;
  constructor(private readonly t: Defined, private tmplName: string) {}

  errorf(msg: string): never {
    if (!this.node) throw new TemplateError(`template: ${this.tmplName}: ${msg}`, this.out.join(''));
    const text = this.t.text.slice(0, this.node.pos);
    const nl = text.lastIndexOf('\n');
    const col = nl < 0 ? this.node.pos : this.node.pos - nl - 1;
    const line = 1 + (text.match(/\n/g)?.length ?? 0);
    throw new TemplateError(`template: ${this.t.name}:${line}:${col}: executing ${goQuote(this.tmplName)} at <${this.nodeStr}>: ${msg}`, this.out.join(''));
  }
  at(n: Node | Arg | Command | { pos: number; str: string }) {
    this.node = n;
    this.nodeStr = 'str' in n ? n.str : nodeString(n as Node);
  }
  mark() { return this.vars.length; }
  pop(m: number) { this.vars.length = m; }
  varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.name === name) return this.vars[i]!.value;
    this.errorf(`undefined variable: ${name}`);
  }
  setVar(name: string, value: unknown) {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.name === name) { this.vars[i]!.value = value; return; }
    this.errorf(`undefined variable: ${name}`);
  }

  walk(dot: unknown, node: Node): void {
    this.at(node);
    switch (node.t) {
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return;
      }
      case 'if': case 'with': {
        const mark = this.mark();
        const val = this.evalPipeline(dot, node.pipe);
        if (truth(val)) this.walk(node.t === 'with' ? val : dot, node.list);
        else if (node.elseList) this.walk(dot, node.elseList);
        this.pop(mark);
        return;
      }
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'range': return this.walkRange(dot, node);
      case 'template': return this.walkTemplate(dot, node);
      case 'text': this.out.push(node.text); return;
      case 'break': case 'continue': throw new BreakSignal(node.t);
    }
  }

  walkRange(dot: unknown, r: Control) {
    this.at(r);
    const outer = this.mark();
    const val = this.evalPipeline(dot, r.pipe);
    const mark = this.mark();
    const one = (index: unknown, elem: unknown): boolean => {
      if (r.pipe.decl.length > 0) this.vars[this.vars.length - 1]!.value = elem;
      if (r.pipe.decl.length > 1) this.vars[this.vars.length - 2]!.value = index;
      try {
        this.walk(elem, r.list);
      } catch (e) {
        if (!(e instanceof BreakSignal)) throw e;
        this.pop(mark);
        return e.kind === 'continue';
      }
      this.pop(mark);
      return true;
    };
    let ran = false;
    switch (goKind(val)) {
      case 'slice':
        for (let i = 0; i < (val as ArrayLike<unknown>).length; i++) {
          ran = true;
          if (!one(i, (val as ArrayLike<unknown>)[i])) break;
        }
        break;
      case 'map':
        for (const [k, v] of sortedEntries(val as object)) {
          ran = true;
          if (!one(k, v)) break;
        }
        break;
      case 'int': {
        if (r.pipe.decl.length > 1) this.errorf(`can't use ${formatValue(val)} to iterate over more than one variable`);
        for (let i = 0; i < Number(val); i++) {
          ran = true;
          if (!one(i, i)) break;
        }
        break;
      }
      case 'invalid': case 'nil': break;
      case 'func':
        this.errorf(`range can't iterate over ${formatValue(val)}`);
      default:
        this.errorf(`range can't iterate over ${formatValue(val)}`);
    }
    if (!ran && r.elseList) this.walk(dot, r.elseList);
    this.pop(outer);
  }

  walkTemplate(dot: unknown, node: Extract<Node, { t: 'template' }>) {
    this.at(node);
    const tree = this.t.trees.get(node.name);
    if (!tree) this.errorf(`template ${goQuote(node.name)} not defined`);
    if (this.depth >= 10000) this.errorf(`exceeded maximum template depth (10000)`);
    const newDot = node.pipe ? this.evalPipeline(dot, node.pipe) : undefined;
    const saved = { vars: this.vars, name: this.tmplName };
    this.vars = [{ name: '$', value: newDot }];
    this.tmplName = node.name;
    this.depth++;
    try {
      this.walk(newDot, tree);
    } finally {
      this.depth--;
      this.vars = saved.vars;
      this.tmplName = saved.name;
    }
  }

  evalPipeline(dot: unknown, pipe: Pipe): unknown {
    this.at(pipe);
    let value: unknown = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      // A nil interface (JSON null) becomes Go's invalid value here, as in Go.
      if (value === null) value = undefined;
    }
    for (const d of pipe.decl) {
      if (pipe.isAssign) this.setVar(d.name, value);
      else this.vars.push({ name: d.name, value });
    }
    return value;
  }

  notAFunction(args: Arg[], final: unknown) {
    if (args.length > 1 || final !== MISSING) this.errorf(`can't give argument to non-function ${argString(args[0]!)}`);
  }

  evalCommand(dot: unknown, cmd: Command, final: unknown): unknown {
    const first = cmd.args[0]!;
    switch (first.t) {
      case 'field': this.at(first); return this.evalFieldChain(dot, dot, first, first.ident, cmd.args, final);
      case 'chain': return this.evalChain(dot, first, cmd.args, final);
      case 'identifier': return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe': this.notAFunction(cmd.args, final); return this.evalPipeline(dot, first);
      case 'variable': return this.evalVariable(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.t) {
      case 'bool': return first.val;
      case 'dot': return dot;
      case 'nil': this.errorf('nil is not a command');
      case 'number': return first.value;
      case 'string': return first.text;
    }
  }

  evalChain(dot: unknown, chain: Extract<Arg, { t: 'chain' }>, args: Arg[] | undefined, final: unknown): unknown {
    this.at(chain);
    if (chain.node.t === 'nil') this.errorf(`indirection through explicit nil in ${argString(chain)}`);
    const pipe = this.evalArg(dot, 'any', chain.node);
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final);
  }

  evalVariable(dot: unknown, v: Extract<Arg, { t: 'variable' }>, args: Arg[] | undefined, final: unknown): unknown {
    this.at(v);
    const value = this.varValue(v.ident[0]!);
    if (v.ident.length === 1) {
      this.notAFunction(args ?? [v], final);
      return value;
    }
    return this.evalFieldChain(dot, value, v, v.ident.slice(1), args, final);
  }

  evalFieldChain(dot: unknown, receiver: unknown, node: Arg, ident: string[], args: Arg[] | undefined, final: unknown): unknown {
    for (let i = 0; i < ident.length - 1; i++) receiver = this.evalField(dot, ident[i]!, node, undefined, MISSING, receiver);
    return this.evalField(dot, ident[ident.length - 1]!, node, args, final, receiver);
  }

  evalField(dot: unknown, name: string, node: Arg, args: Arg[] | undefined, final: unknown, receiver: unknown): unknown {
    if (receiver === undefined) return undefined;
    const hasArgs = (args !== undefined && args.length > 1) || final !== MISSING;
    if (receiver === null) this.errorf(`nil pointer evaluating interface {}.${name}`);
    const kind = goKind(receiver);
    if (kind === 'map') {
      let v: unknown;
      if (receiver instanceof Map) v = receiver.get(name);
      else v = Object.hasOwn(receiver as object, name) ? (receiver as Record<string, unknown>)[name] : undefined;
      // A function in a map is called like a method when it takes nothing or is given
      // arguments; otherwise it is a value, so `call .F x` still works.
      if (typeof v === 'function' && (v.length === 0 || hasArgs)) {
        return this.evalCall(dot, method(v as (...a: unknown[]) => unknown, receiver), node, name, args, final);
      }
      if (hasArgs) this.errorf(`${name} is not a method but has arguments`);
      return v;
    }
    if (kind === 'struct' || kind === 'time') {
      if (name in (receiver as object)) {
        const v = (receiver as Record<string, unknown>)[name];
        if (typeof v === 'function') {
          return this.evalCall(dot, method(v as (...a: unknown[]) => unknown, receiver), node, name, args, final);
        }
        if (hasArgs) this.errorf(`${name} has arguments but cannot be invoked as function`);
        return v;
      }
    }
    this.errorf(`can't evaluate field ${name} in type ${goTypeName(receiver)}`);
  }

  evalFunction(dot: unknown, node: Extract<Arg, { t: 'identifier' }>, cmd: Command | Arg, args: Arg[] | undefined, final: unknown): unknown {
    this.at(node);
    const fn = this.t.funcs[node.name];
    if (!fn) this.errorf(`${goQuote(node.name)} is not a defined function`);
    return this.evalCall(dot, fn, cmd, node.name, args, final);
  }

  evalCall(dot: unknown, fun: TemplateFunc, node: Command | Arg, name: string, args: Arg[] | undefined, final: unknown): unknown {
    const argNodes = args ? args.slice(1) : [];
    const params = fun.params;
    const numIn = argNodes.length + (final !== MISSING ? 1 : 0);
    if (fun.variadic) {
      if (numIn < params.length) this.errorf(`wrong number of args for ${name}: want at least ${params.length} got ${argNodes.length}`);
    } else if (numIn !== params.length) {
      this.errorf(`wrong number of args for ${name}: want ${params.length} got ${numIn}`);
    }
    const builtin = this.t.funcs[name] === builtinFuncs[name];
    if (builtin && (name === 'and' || name === 'or')) {
      // Go 1.18+: and/or evaluate arguments lazily and return the deciding value.
      const all: (Arg | typeof MISSING)[] = [...argNodes];
      if (final !== MISSING) all.push(MISSING);
      let v: unknown;
      for (const a of all) {
        v = a === MISSING ? final : this.evalArg(dot, 'value', a);
        if (truth(v) === (name === 'or')) return v;
      }
      return v;
    }
    const argv: unknown[] = [];
    let i = 0;
    for (; i < params.length && i < argNodes.length; i++) argv.push(this.evalArg(dot, params[i]!, argNodes[i]!));
    for (; i < argNodes.length; i++) argv.push(this.evalArg(dot, fun.variadic!, argNodes[i]!));
    if (final !== MISSING) {
      const t = numIn - 1 < params.length ? params[numIn - 1]! : fun.variadic!;
      argv.push(this.validateType(final, t));
    }
    try {
      return (fun.fn as (...a: unknown[]) => unknown)(...argv);
    } catch (e) {
      this.at(node);
      this.errorf(`error calling ${name}: ${(e as Error).message}`);
    }
  }

  validateType(value: unknown, typ: ParamType): unknown {
    if (value === undefined || value === MISSING) {
      if (typ === 'any' || typ === 'value') return typ === 'any' ? null : undefined;
      if (typ === '[]string') return null;
      this.errorf(`invalid value; expected ${typ}`);
    }
    const k = goKind(value);
    const ok = (() => {
      switch (typ) {
        case 'any': case 'value': return true;
        case 'string': return k === 'string';
        case 'int': return k === 'int';
        case 'float64': return k === 'float' || k === 'int';
        case 'bool': return k === 'bool';
        case '[]string': return k === 'nil' || (k === 'slice' && Array.from(value as ArrayLike<unknown>).every((e) => typeof e === 'string'));
      }
    })();
    if (!ok) {
      if (k === 'nil' && typ !== 'string' && typ !== 'int' && typ !== 'bool' && typ !== 'float64') return null;
      this.errorf(`wrong type for value; expected ${typ}; got ${goTypeName(value)}`);
    }
    return value;
  }

  evalArg(dot: unknown, typ: ParamType, n: Arg): unknown {
    this.at(n);
    switch (n.t) {
      case 'dot': return this.validateType(dot, typ);
      case 'nil':
        if (typ === 'any' || typ === 'value' || typ === '[]string') return null;
        this.errorf(`cannot assign nil to ${typ}`);
      case 'field': return this.validateType(this.evalFieldChain(dot, dot, n, n.ident, [n], MISSING), typ);
      case 'variable': return this.validateType(this.evalVariable(dot, n, undefined, MISSING), typ);
      case 'pipe': return this.validateType(this.evalPipeline(dot, n), typ);
      case 'identifier': return this.validateType(this.evalFunction(dot, n, n, undefined, MISSING), typ);
      case 'chain': return this.validateType(this.evalChain(dot, n, undefined, MISSING), typ);
    }
    switch (typ) {
      case 'bool':
        if (n.t === 'bool') return n.val;
        this.errorf(`expected bool; found ${argString(n)}`);
      case 'string':
        if (n.t === 'string') return n.text;
        this.errorf(`expected string; found ${argString(n)}`);
      case 'int':
        if (n.t === 'number' && n.isInt) return n.value;
        this.errorf(`expected integer; found ${argString(n)}`);
      case 'float64':
        if (n.t === 'number' && n.isFloat) return n.value;
        this.errorf(`expected float; found ${argString(n)}`);
      case '[]string':
        this.errorf(`can't handle ${argString(n)} for arg of type []string`);
      default:
        if (n.t === 'bool') return n.val;
        if (n.t === 'number') return n.value;
        if (n.t === 'string') return n.text;
    }
    return undefined;
  }

  printValue(n: Node, v: unknown) {
    this.at(n);
    if (v === undefined) { this.out.push('<no value>'); return; }
    if (typeof v === 'function') this.errorf(`can't print ${nodeString(n)} of type ${goTypeName(v)}`);
    this.out.push(formatValue(v));
  }
}

/** Options for {@link parseTemplate}. */
export interface ParseOptions {
  /** The template name used in error messages; docker's formatters use "". */
  name?: string;
  /** Extra functions, on top of Go's built-ins (docker's `json`, `split`, ... are added by default). */
  funcs?: FuncMap;
  /** Leave out docker's template functions, leaving only Go's built-ins and `funcs`. */
  noDockerFuncs?: boolean;
}

/**
 * A parsed Go template. Execute it on JS data (typically decoded Engine API JSON):
 * `parseTemplate('{{.Name}}').execute({ Name: 'web' })` → `"web"`.
 */
export class Template {
  private constructor(private readonly d: Defined, private readonly root: ListNode) {}

  /** Parses `text`; throws a TemplateError with Go's message (`template: :1: ...`). */
  static parse(text: string, opts: ParseOptions = {}): Template {
    const funcs: FuncMap = { ...builtinFuncs, ...(opts.noDockerFuncs ? {} : dockerFuncs), ...opts.funcs };
    const name = opts.name ?? '';
    const trees = new Map<string, ListNode>();
    const p = new Parser(name, text, funcs, trees);
    const root = p.parse();
    return new Template({ name, text, trees, funcs }, root);
  }

  /** The template's name. */
  get name(): string { return this.d.name; }

  /**
   * Runs the template on `data` and returns the output. Throws TemplateError on an
   * execution error; `err.partial` holds what was written before it, as Go leaves it.
   */
  execute(data: unknown, funcs?: FuncMap): string {
    const d = funcs ? { ...this.d, funcs: { ...this.d.funcs, ...funcs } } : this.d;
    const st = new ExecState(d, this.d.name);
    st.vars.push({ name: '$', value: data });
    try {
      st.walk(data, this.root);
    } catch (e) {
      if (e instanceof TemplateError) throw e;
      if (e instanceof BreakSignal) return st.out.join('');
      throw e;
    }
    return st.out.join('');
  }
}

/** Shorthand for `Template.parse(text, opts)`. */
export function parseTemplate(text: string, opts?: ParseOptions): Template {
  return Template.parse(text, opts);
}

// ---------------------------------------------------------------------------
// Docker's functions (docker/cli templates/templates.go)

/** Docker's template functions: json, split, join, title, lower, upper, pad, truncate. */
export const dockerFuncs: FuncMap = {
  json: f(['any'], (v: unknown) => goJSON(v)),
  split: f(['string', 'string'], goSplit),
  join: f(['[]string', 'string'], (a: string[] | null, sep: string) => (a ?? []).join(sep)),
  title: f(['string'], goTitle),
  lower: f(['string'], (s: string) => s.toLowerCase()),
  upper: f(['string'], (s: string) => s.toUpperCase()),
  pad: f(['string', 'int', 'int'], (s: string, pre: number, post: number) => (s === '' ? s : ' '.repeat(Math.max(pre, 0)) + s + ' '.repeat(Math.max(post, 0)))),
  // Byte-based, as Go slices the string: a cut inside a UTF-8 sequence leaves U+FFFD.
  truncate: f(['string', 'int'], (s: string, n: number) => {
    const b = utf8.encode(s);
    if (b.length < n) return s;
    if (n < 0) throw new CallError(`runtime error: slice bounds out of range [:${n}]`);
    return Buffer.from(b.slice(0, n)).toString('utf8');
  }),
};

/**
 * Docker's HeaderFunctions: when a `table` format renders its header row, these replace
 * the data functions so `{{upper .Name}}` still prints the column title unchanged.
 */
export const headerFuncs: FuncMap = {
  json: f(['string'], (v: string) => v),
  split: f(['string', 'string'], (v: string) => v),
  join: f(['string', 'string'], (v: string) => v),
  title: f(['string'], (v: string) => v),
  lower: f(['string'], (v: string) => v),
  upper: f(['string'], (v: string) => v),
  truncate: f(['string', 'int'], (v: string) => v),
};

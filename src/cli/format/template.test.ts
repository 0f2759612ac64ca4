// Tests for the Go text/template engine; expected strings marked "docker 28" were printed by the real docker CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Template, TemplateError } from './template.js';

// The data `docker version --format '{{json .}}'` printed against a stub daemon.
const version = {
  Client: { Version: '28.2.2', ApiVersion: '1.50', DefaultAPIVersion: '1.50', GitCommit: 'e6534b4', GoVersion: 'go1.24.3', Os: 'linux', Arch: 'amd64', BuildTime: 'Fri May 30 12:07:14 2025', Context: 'default' },
  Server: {
    Platform: { Name: 'Fake Engine' },
    Components: [{ Name: 'Engine', Version: '28.2.2', Details: { Alpha: 'a', ApiVersion: '1.50', Arch: 'amd64', Os: 'linux', Zeta: 'z<&>' } }],
    Version: '28.2.2', Os: 'linux', Arch: 'amd64',
  },
};

const run = (t: string, data: unknown = version) => Template.parse(t).execute(data);
const parseErr = (t: string) => {
  try { Template.parse(t); } catch (e) { assert.ok(e instanceof TemplateError); return e.message; }
  assert.fail(`parsed: ${t}`);
};
const execErr = (t: string, data: unknown = version) => {
  try { run(t, data); } catch (e) { assert.ok(e instanceof TemplateError); return e.message; }
  assert.fail(`executed: ${t}`);
};

test('fields, dot, $ and variables', () => {
  assert.equal(run('{{.Client.Version}}|{{.Server.Os}}|{{with .Client}}{{$.Server.Arch}}{{end}}'), '28.2.2|linux|amd64');
  assert.equal(run('{{$x := .Client.Os}}{{$x}}{{$x = "y"}}{{$x}}'), 'linuxy');
  assert.equal(run('{{ $x := 0 }}{{ range split "a b c" " " }}{{ $x = . }}{{ end }}{{ $x }}'), 'c');
  assert.equal(run('{{with $x := .Client}}{{$x.Os}}{{end}}'), 'linux');
  assert.equal(run('{{.}}', 'plain'), 'plain');
});

test('missing map keys print <no value>; JSON null too (docker 28)', () => {
  const d = { Zz: { Nil: null, Num: 1.5, Big: 1234567, L: [1, 'a', null], M: { b: 1, a: 2 } } };
  assert.equal(run('{{.Zz.Nil}}|{{print .Zz.Nil}}|{{.Zz.Nil | print}}|{{json .Zz.Nil}}|{{.Zz.Big}}|{{.Zz.Num}}|{{.Zz.L}}|{{.Zz.M}}', d),
    '<no value>|<nil>|<nil>|null|1234567|1.5|[1 a <nil>]|map[a:2 b:1]');
  assert.equal(run('{{.Nope}}|{{.Nope.Deeper}}', d), '<no value>|<no value>');
  assert.equal(run('{{range .Zz.Nil}}x{{else}}e{{end}}', d), 'e');
  assert.equal(execErr('{{.Zz.Nil.X}}', d), 'template: :1:5: executing "" at <.Zz.Nil.X>: nil pointer evaluating interface {}.X');
});

test('getters and zero-arg methods on class instances', () => {
  class Ctx {
    constructor(private readonly id: string) {}
    get ID() { return this.id.slice(0, 3); }
    Label(name: string) { return `label:${name}`; }
    Names() { return 'web'; }
  }
  const c = new Ctx('abcdef');
  assert.equal(run('{{.ID}} {{.Names}} {{.Label "x"}}', c), 'abc web label:x');
  assert.equal(execErr('{{.Nope}}', c), 'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type Ctx');
  assert.equal(execErr('{{.ID 1}}', c), 'template: :1:2: executing "" at <.ID>: ID has arguments but cannot be invoked as function');
});

test('maps range in sorted key order (docker 28)', () => {
  assert.equal(run('{{range $k, $v := (index .Server.Components 0).Details}}{{$k}}={{$v}},{{end}}'), 'Alpha=a,ApiVersion=1.50,Arch=amd64,Os=linux,Zeta=z<&>,');
  assert.equal(run('{{(index .Server.Components 0).Details}}|{{index (index .Server.Components 0).Details "Nope"}}|{{(index .Server.Components 0).Details.Nope}}|{{len (index .Server.Components 0).Details}}'),
    'map[Alpha:a ApiVersion:1.50 Arch:amd64 Os:linux Zeta:z<&>]||<no value>|5');
  assert.equal(run('{{range $k, $v := .}}{{$k}}{{$v}}{{end}}', new Map([['b', 2], ['a', 1]])), 'a1b2');
});

test('if / else if / with / range else / break / continue (docker 28)', () => {
  assert.equal(run('{{if eq .Client.Os "linux"}}L{{else if eq .Client.Os "windows"}}W{{else}}O{{end}}'), 'L');
  assert.equal(run('{{if eq .Client.Os "x"}}L{{else if eq .Client.Os "linux"}}W{{else}}O{{end}}'), 'W');
  assert.equal(run('{{with .Server}}{{.Version}}{{else}}none{{end}}'), '28.2.2');
  assert.equal(run('{{with 0}}a{{else with 1}}b{{.}}{{end}}'), 'b1');
  assert.equal(run('{{range $i, $c := .Server.Components}}{{$i}}:{{$c.Name}} {{$c.Version}}{{end}}'), '0:Engine 28.2.2');
  assert.equal(run('{{range 3}}{{.}}{{end}}|{{range $i := 2}}{{$i}}{{end}}|{{range 0}}x{{else}}none{{end}}'), '012|01|none');
  assert.equal(run('{{range $i, $v := split "a b c" " "}}{{if eq $i 1}}{{continue}}{{end}}{{$v}}{{end}}|{{range $v := split "a b c" " "}}{{if eq $v "b"}}{{break}}{{end}}{{$v}}{{end}}'), 'ac|a');
  assert.equal(run('{{range .}}x{{else}}empty{{end}}', []), 'empty');
});

test('define, template and block (docker 28)', () => {
  assert.equal(run('{{define "x"}}[{{.}}]{{end}}{{template "x" .Client.Os}}{{template "x"}}|{{block "z" 2}}b{{.}}{{end}}'), '[linux][<no value>]|b2');
});

test('trim markers and comments (docker 28)', () => {
  assert.equal(run('{{range $i, $c := .Server.Components -}}  {{ $i }} {{- $c.Name -}}  {{end}}'), '0Engine');
  assert.equal(run('a  {{- /* hi */ -}}  b'), 'ab');
  assert.equal(run('{{- .Client.Os}} x {{.Client.Arch -}} \n'), 'linux x amd64');
  assert.equal(run('a {{- 3 -}} b'), 'a3b');
  assert.equal(run('{{-3}}'), '-3');
  assert.equal(run('{{/* only a comment */}}x'), 'x');
  assert.equal(run('{{ .Client.Os }} {{\t.Client.Arch\t}}'), 'linux amd64');
  assert.equal(run('{{.Client.Os\n}}'), 'linux');
});

test('literals (docker 28)', () => {
  assert.equal(run('{{0.000001}} {{1e21}} {{123456.0}} {{1.0}} {{0x1F}} {{0o17}} {{0b101}} {{1_000}} {{\'a\'}} {{-3}} {{+4}}'), '1e-06 1e+21 123456 1 31 15 5 1000 97 -3 4');
  assert.equal(run('{{"raw"}} {{`back\\n`}} {{"esc\\"q\\"\\u00e9\\x41"}}'), 'raw back\\n esc"q"éA');
  assert.equal(run('{{true}} {{false}} {{(print "a" "b")}} {{len (split "a.b" ".")}}'), 'true false ab 2');
});

test('Go built-ins (docker 28)', () => {
  assert.equal(run('{{and 1 0 2}}|{{or 0 "" "x"}}|{{not 0}}|{{and 1 2}}|{{or 0 ""}}'), '0|x|true|2|');
  assert.equal(run('{{eq 1 2 1}}|{{ne "a" "b"}}|{{lt 1 2}}|{{le 2 2}}|{{gt "b" "a"}}|{{ge 1.5 2.5}}'), 'true|true|true|true|true|false');
  assert.equal(run('{{print 1 2 "a" "b" 3 nil true}}|{{println 1 "a" 2}}|{{print}}'), '1 2ab3 <nil> true|1 a 2\n|');
  assert.equal(run('{{html "<a href=\\"x\\">&\'</a>"}}'), '&lt;a href=&#34;x&#34;&gt;&amp;&#39;&lt;/a&gt;');
  assert.equal(run('{{js "a\'b\\"c<d>&=\\n\\u2028é\\\\"}}'), 'a\\\'b\\"c\\u003Cd\\u003E\\u0026\\u003D\\u000A\\u2028é\\\\');
  assert.equal(run('{{urlquery "a b&c=d/é"}}|{{urlquery 1 2}}|{{html .Server.Os 1 "a"}}'), 'a+b%26c%3Dd%2F%C3%A9|1+2|linux1a');
  assert.equal(run('{{len .Client.Os}}|{{index .Client.Os 0}}|{{slice .Client.Os 1 3}}|{{len "héllo"}}|{{slice "héllo" 1}}'), '5|108|in|6|éllo');
  assert.equal(run('{{slice (split "a b c d" " ") 1 3}}|{{index (split "a b c" " ") 1}}|{{slice "abc"}}'), '[b c]|b|abc');
  assert.equal(run('{{.Client.Os | printf "%s-%s" "x"}}|{{len .Server.Components | printf "%05d"}}'), 'x-linux|00001');
  assert.equal(run('{{if and (eq .Client.Os "linux") (ne .Client.Arch "arm")}}ok{{end}}'), 'ok');
  assert.equal(run('{{call .F 2}}|{{.G}}', { F: (n: number) => n * 21, G: () => 'g' }), '42|g');
});

test('docker functions (docker 28)', () => {
  assert.equal(run('{{split .Client.BuildTime " "}}|{{join (split .Client.BuildTime " ") "_"}}'), '[Fri May 30 12:07:14 2025]|Fri_May_30_12:07:14_2025');
  assert.equal(run('{{pad .Client.Os 2 3}}|{{pad "" 2 3}}|{{truncate .Client.GitCommit 3}}|{{truncate .Client.GitCommit 30}}'), '  linux   ||e65|e6534b4');
  assert.equal(run('{{.Client.Os | upper | lower | title}}|{{title "hello wORLD foo-bar o\'neil"}}'), 'Linux|Hello WORLD Foo-Bar O\'Neil');
  assert.equal(run('{{split "a,b,,c" ","}}|{{split "abc" ""}}|{{truncate "héllo" 2}}'), '[a b  c]|[a b c]|h\ufffd');
});

test('json is Go encoding/json without HTML escaping (docker 28)', () => {
  assert.equal(run('{{json .Client}}'), '{"Version":"28.2.2","ApiVersion":"1.50","DefaultAPIVersion":"1.50","GitCommit":"e6534b4","GoVersion":"go1.24.3","Os":"linux","Arch":"amd64","BuildTime":"Fri May 30 12:07:14 2025","Context":"default"}');
  assert.equal(run('{{json "<a&b>\\u2028"}}|{{json 1.5}}|{{json 1e21}}|{{json 0.0000001}}|{{json nil}}|{{json (split "a b" " ")}}'), '"<a&b>\\u2028"|1.5|1e+21|1e-7|null|["a","b"]');
  assert.equal(run('{{json "\\x01\\t\\u2029"}}'), '"\\u0001\\t\\u2029"');
  assert.equal(run('{{json .}}', new Map<string, unknown>([['b', 1], ['a', [true, null]]])), '{"a":[true,null],"b":1}');
});

test('printf verbs (docker 28)', () => {
  assert.equal(run('{{printf "%5.2f|%-6s|%06d|%+d|%x|% x|%#x|%o|%b|%c|%U|%e|%E|%g|%.3g|%.0f|%.2f|%q|%v|%t" 3.14159 "ab" 42 5 "hi" "hi" 255 8 5 65 65 1234.5678 1234.5678 0.00001234 1234.5678 2.5 0.125 "a\\tb\\u00e9\\x01" 1.5 true}}'),
    ' 3.14|ab    |000042|+5|6869|68 69|0xff|10|101|A|U+0041|1.234568e+03|1.234568E+03|1.234e-05|1.23e+03|2|0.12|"a\\tbé\\x01"|1.5|true');
  assert.equal(run('{{printf "%d %s" "x" 3}}|{{printf "%d"}}|{{printf "%d" 1 2}}|{{printf "%s" nil}}|{{printf "%v" nil}}|{{printf "%z" 1}}|{{printf "%"}}|{{printf "%.2s" "héllo"}}|{{printf "%5s|%-5s|%05s" "é" "é" "ab"}}|{{printf "%x" 1.5}}|{{printf "%d" 1.5}}'),
    '%!d(string=x) %!s(int=3)|%!d(MISSING)|1%!(EXTRA int=2)|%!s(<nil>)|<nil>|%!z(int=1)|%!(NOVERB)|hé|    é|é    |000ab|0x1.8p+00|%!d(float64=1.5)');
  assert.equal(run('{{printf "%v|%+v|%T|%T|%T" (split "a b" " ") 1.5 "s" 1 1.5}}'), '[a b]|1.5|string|int|float64');
  assert.equal(run('{{printf "%08.3f|%-8.2f|%+.1e|%x|%X|%#o|%5t|%-5t|" 3.14159 2.5 12345.678 -255 "Hi" 8 true false}}'), '0003.142|2.50    |+1.2e+04|-ff|4869|010| true|false|');
  assert.equal(run('{{printf "%*d|%-*d|%.*f" 5 1 4 2 2 3.14159}}|{{printf "%6.2f%%" 12.3456}}'), '    1|2   |3.14| 12.35%');
  assert.equal(run('{{printf "%g %g %G %.2g %.10g" 1e100 123456789.0 1e-10 1234.0 3.0}}'), '1e+100 1.23456789e+08 1E-10 1.2e+03 3');
  assert.equal(run('{{printf "%e %.0e %f %.1f %.3f" 0.0 5.5 1e20 0.05 1.0005}}'), '0.000000e+00 6e+00 100000000000000000000.000000 0.1 1.000');
  assert.equal(run('{{printf "%v %v %v" 100000.0 0.0001 0.00001}}'), '100000 0.0001 1e-05');
});

test('parse errors carry Go\'s messages (docker 28)', () => {
  const cases: [string, string][] = [
    ['{{.Foo', 'unclosed action'],
    ['{{.Foo}', "bad character U+007D '}'"],
    ['{{.ID }', 'unexpected "}" in operand'],
    ['{{if .}}x', 'unexpected EOF'],
    ['{{end}}', 'unexpected {{end}}'],
    ['{{else}}', 'unexpected {{else}}'],
    ['{{.Client | 3}}', 'non executable command in pipeline stage 2'],
    ['{{nofn 1}}', 'function "nofn" not defined'],
    ['{{$x}}', 'undefined variable "$x"'],
    ['{{"abc}}', 'unterminated quoted string'],
    ['{{`abc}}', 'unterminated raw quoted string'],
    ['{{(1}}', 'unclosed left paren'],
    ['{{1)}}', 'unexpected right paren'],
    ['{{}}', 'missing value for command'],
    ['{{range $a, $b, $c := .}}{{end}}', 'too many declarations in range'],
    ['{{with $x := 1}}{{end}}{{$x}}', 'undefined variable "$x"'],
    ['{{3.x}}', 'bad number syntax: "3.x"'],
    ['{{.Client.}}', 'unexpected <.> in operand'],
    ['{{/* x */ 1}}', 'comment ends before closing delimiter'],
    ['{{/* x', 'unclosed comment'],
    ['{{if}}{{end}}', 'missing value for if'],
    ['{{range .}}{{else if 1}}{{end}}', 'unexpected <if> in input'],
    ['{{break}}', '{{break}} outside {{range}}'],
    ['{{range .}}{{break 1}}{{end}}', 'unexpected "1" in {{break}}'],
    ['{{ @ }}', 'unexpected "@" in command'],
    ['{{x := 1}}', 'function "x" not defined'],
    ['{{"a".B}}', 'unexpected . after term "\\"a\\""'],
    ['{{if 1}}{{else}}{{else}}{{end}}', 'expected end; found {{else}}'],
    ["{{'ab'}}", "malformed character constant: 'ab'"],
    ['{{0x}}', 'illegal number syntax: "0x"'],
  ];
  for (const [t, msg] of cases) assert.equal(parseErr(t), `template: :1: ${msg}`, t);
  assert.equal(Template.parse('x').name, '');
  assert.throws(() => Template.parse('{{.A', { name: 'version' }), { message: 'template: version:1: unclosed action' });
  assert.throws(() => Template.parse('a\n{{end}}'), { message: 'template: :2: unexpected {{end}}' });
});

test('execution errors carry Go\'s location and context (docker 28)', () => {
  const cases: [string, string][] = [
    ['{{$x = 1}}', ':1:7: executing "" at <1>: undefined variable: $x'],
    ['{{len 3}}', ':1:2: executing "" at <len 3>: error calling len: len of type int'],
    ['{{printf 1}}', ':1:9: executing "" at <1>: expected string; found 1'],
    ['{{upper 1}}', ':1:8: executing "" at <1>: expected string; found 1'],
    ['{{pad "x" 1.5 2}}', ':1:10: executing "" at <1.5>: expected integer; found 1.5'],
    ['{{slice "abc" 2 1}}', ':1:2: executing "" at <slice "abc" 2 1>: error calling slice: invalid slice index: 2 > 1'],
    ['{{slice "abc" 1 2 3}}', ':1:2: executing "" at <slice "abc" 1 2 3>: error calling slice: cannot 3-index slice a string'],
    ['{{index "abc" 5}}', ':1:2: executing "" at <index "abc" 5>: error calling index: index out of range: 5'],
    ['{{and}}', ':1:2: executing "" at <and>: wrong number of args for and: want at least 1 got 0'],
    ['{{eq 1 "a"}}', ':1:2: executing "" at <eq 1 "a">: error calling eq: incompatible types for comparison'],
    ['{{lt 1 "a"}}', ':1:2: executing "" at <lt 1 "a">: error calling lt: incompatible types for comparison'],
    ['{{lt true false}}', ':1:2: executing "" at <lt true false>: error calling lt: invalid type for comparison'],
    ['{{call 1}}', ':1:2: executing "" at <call 1>: error calling call: non-function 1 of type int'],
    ['{{index nil 1}}', ':1:2: executing "" at <index nil 1>: error calling index: index of untyped nil'],
    ['{{nil}}', ':1:2: executing "" at <nil>: nil is not a command'],
    ['{{range $i, $e := "ab"}}{{$i}}{{$e}}{{end}}', ':1:18: executing "" at <"ab">: range can\'t iterate over ab'],
    ['{{range $i, $e := 3}}{{end}}', ':1:18: executing "" at <3>: can\'t use 3 to iterate over more than one variable'],
    ['{{1 2}}', ':1:2: executing "" at <1>: can\'t give argument to non-function 1'],
    ['{{.Client.Os.X}}', ':1:9: executing "" at <.Client.Os.X>: can\'t evaluate field X in type string'],
    ['{{template "y"}}', ':1:11: executing "" at <{{template "y"}}>: template "y" not defined'],
    ['{{1 | .Client}}', ':1:6: executing "" at <.Client>: Client is not a method but has arguments'],
  ];
  for (const [t, msg] of cases) assert.equal(execErr(t), `template: ${msg}`, t);
});

test('execution errors keep the output written before them', () => {
  try {
    run('ok {{.Client.Os}} {{len 3}}');
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof TemplateError);
    assert.equal(e.partial, 'ok linux ');
    assert.equal(e.code, 'invalid-argument');
  }
});

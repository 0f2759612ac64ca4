// pflag-style parsing: combined shorthands, --x=y, repeated lists, `--`, non-interspersed commands, pflag's errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlagSet, HelpRequested, UsageError, parseGoInt, wrap } from './flags.js';

function runFlags(): FlagSet {
  return new FlagSet()
    .bool('interactive', 'i', '')
    .bool('tty', 't', '')
    .bool('detach', 'd', '')
    .string('name', undefined, '')
    .list('env', 'e', '')
    .int('last', 'n', '', -1);
}

describe('FlagSet.parse', () => {
  it('combined shorthands -it and -dit', () => {
    const { flags, args } = runFlags().parse(['-it', 'img'], { interspersed: false });
    assert.equal(flags.bool('interactive'), true);
    assert.equal(flags.bool('tty'), true);
    assert.deepEqual(args, ['img']);
    assert.equal(runFlags().parse(['-dit', 'x']).flags.bool('detach'), true);
  });
  it('--name=x and --name x', () => {
    assert.equal(runFlags().parse(['--name=x']).flags.str('name'), 'x');
    assert.equal(runFlags().parse(['--name', 'y']).flags.str('name'), 'y');
    assert.equal(runFlags().parse(['--name=']).flags.str('name'), '');
  });
  it('-e A=b -e C -eD=1 -e=E: repeated values in order', () => {
    assert.deepEqual(runFlags().parse(['-e', 'A=b', '-e', 'C', '-eD=1', '-e=E']).flags.list('env'), ['A=b', 'C', 'D=1', 'E']);
  });
  it('a shorthand value may follow bools: -ite X', () => {
    const { flags } = runFlags().parse(['-ite', 'X=1']);
    assert.deepEqual(flags.list('env'), ['X=1']);
    assert.equal(flags.bool('tty'), true);
  });
  it('non-interspersed: flags after the image belong to the command', () => {
    const { flags, args } = runFlags().parse(['-d', 'img', 'ls', '-l', '--name', 'z'], { interspersed: false });
    assert.equal(flags.str('name'), undefined);
    assert.deepEqual(args, ['img', 'ls', '-l', '--name', 'z']);
  });
  it('interspersed: flags anywhere; -- ends them', () => {
    const { flags, args } = runFlags().parse(['a', '-d', 'b', '--', '-i']);
    assert.equal(flags.bool('detach'), true);
    assert.equal(flags.bool('interactive'), false);
    assert.deepEqual(args, ['a', 'b', '-i']);
  });
  it('bool values: --tty=false, --tty=1, bad values', () => {
    assert.equal(runFlags().parse(['--tty=false']).flags.bool('tty'), false);
    assert.equal(runFlags().parse(['--tty=1']).flags.bool('tty'), true);
    assert.throws(() => runFlags().parse(['--tty=x']), { message: 'invalid argument "x" for "-t, --tty" flag: strconv.ParseBool: parsing "x": invalid syntax' });
  });
  it('defaults and changed', () => {
    const { flags } = runFlags().parse([]);
    assert.equal(flags.num('last'), -1);
    assert.equal(flags.has('last'), false);
    assert.equal(runFlags().parse(['-n', '3']).flags.has('last'), true);
  });
  it("pflag's error messages", () => {
    const err = (a: string[]) => {
      try {
        runFlags().parse(a);
      } catch (e) {
        assert.ok(e instanceof UsageError);
        return e.message;
      }
      return '';
    };
    assert.equal(err(['--bogus']), 'unknown flag: --bogus');
    assert.equal(err(['-x']), "unknown shorthand flag: 'x' in -x");
    assert.equal(err(['-ix']), "unknown shorthand flag: 'x' in -x");
    assert.equal(err(['--name']), 'flag needs an argument: --name');
    assert.equal(err(['-e']), "flag needs an argument: 'e' in -e");
    assert.equal(err(['-n', 'abc']), 'invalid argument "abc" for "-n, --last" flag: strconv.ParseInt: parsing "abc": invalid syntax');
  });
  it('--help and -h (when -h is free) ask for help', () => {
    assert.throws(() => runFlags().parse(['--help']), HelpRequested);
    assert.throws(() => runFlags().parse(['-h']), HelpRequested);
  });
});

describe('helpers', () => {
  it('parseGoInt: bases and signs', () => {
    assert.equal(parseGoInt('10'), 10);
    assert.equal(parseGoInt('-1'), -1);
    assert.equal(parseGoInt('0x10'), 16);
    assert.equal(parseGoInt('010'), 8);
  });
  it('usages: pflag layout wrapped at 80 columns', () => {
    const fs = new FlagSet().bool('all', 'a', 'Show all containers (default shows just running)').int('last', 'n', 'Show n last created containers (includes all states)', -1);
    assert.equal(
      fs.usages(80),
      '  -a, --all        Show all containers (default shows just running)\n' +
        '  -n, --last int   Show n last created containers (includes all states)\n' +
        '                   (default -1)\n',
    );
  });
  it('wrap keeps short text on one line', () => {
    assert.equal(wrap(10, 80, 'short'), 'short');
  });
});

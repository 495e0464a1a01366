import t from 'tap';
import { CParseError, safeAtoi, safeAtou, strtoull } from '../src/unit/values/cparse.js';
import { ExtractError, cunescapeOne, extractAllWords, extractFirstWord, extractManyWords } from '../src/unit/values/extract.js';

t.test('extract_first_word(): whitespace, quotes, escapes', async (t) => {
  t.same(extractAllWords('  a  b\tc '), ['a', 'b', 'c']);
  t.same(extractAllWords('"a b" \'c d\' e"f g"h', undefined, { unquote: true }), ['a b', 'c d', 'ef gh']);
  t.same(extractAllWords('"a b"'), ['"a', 'b"'], 'quotes are literal without UNQUOTE');
  t.same(extractAllWords('a\\ b c\\\\d'), ['a b', 'c\\d'], 'a backslash takes the next character literally');
  t.same(extractAllWords('a\\ b', undefined, { retainEscape: true }), ['a\\', 'b']);
  t.same(extractAllWords('x\\ty "\\n"', undefined, { unquote: true, cunescape: true }), ['x\ty', '\n']);
  t.same(extractAllWords('\\x41\\101\\u00e9\\s', undefined, { cunescape: true }), ['AAé ']);
  t.same(extractAllWords(''), []);
  t.same(extractAllWords('   '), []);
  t.throws(() => extractAllWords('"abc', undefined, { unquote: true }), ExtractError);
  t.throws(() => extractAllWords('abc\\'), ExtractError);
  t.throws(() => extractAllWords('\\q', undefined, { cunescape: true }), ExtractError);
  t.same(extractAllWords('\\q', undefined, { cunescape: true, unescapeRelax: true }), ['\\q']);
  t.same(extractAllWords('"abc', undefined, { unquote: true, relax: true }), ['abc']);
});

t.test('DONT_COALESCE_SEPARATORS: empty words and read positions', async (t) => {
  t.same(extractFirstWord('1024:', 0, ':', { dontCoalesce: true }), { word: '1024', next: 5 });
  t.same(extractFirstWord('1024:', 5, ':', { dontCoalesce: true }), { word: '', next: null });
  t.same(extractFirstWord(':x', 0, ':', { dontCoalesce: true }), { word: '', next: 1 });
  t.same(extractFirstWord('', 0, ':', { dontCoalesce: true }), { word: '', next: null });
  t.same(extractFirstWord('', 0, ':'), { word: null, next: null });
  t.same(extractFirstWord('a', null), { word: null, next: null });
  t.same(extractAllWords('a::b', ':', { dontCoalesce: true }), ['a', '', 'b']);
  t.same(extractAllWords('a::b', ':'), ['a', 'b']);
  t.same(extractFirstWord('a  b', 0), { word: 'a', next: 3 }, 'coalescing leaves the position at the next word');
  t.same(extractManyWords('a:b:c', 0, 2, ':'), { words: ['a', 'b'], count: 2, next: 4 });
  t.same(extractManyWords('a', 0, 2, ':'), { words: ['a', null], count: 1, next: null });
  t.same(extractAllWords('s\\:t:u', ':', { unescapeSeparators: true }), ['s:t', 'u']);
});

t.test('cunescape_one()', async (t) => {
  t.same(cunescapeOne('n', 0), { text: '\n', length: 1 });
  t.same(cunescapeOne('x41', 0), { text: 'A', length: 3 });
  t.equal(cunescapeOne('x00', 0), null, 'no NUL bytes');
  t.equal(cunescapeOne('400', 0), null, 'octal above 255');
  t.same(cunescapeOne('U0001F600', 0), { text: '\u{1F600}', length: 9 });
  t.equal(cunescapeOne('q', 0), null);
});

t.test('C number parsing', async (t) => {
  t.equal(safeAtou('0x10'), 16n);
  t.equal(safeAtou('010'), 8n);
  t.equal(safeAtou('0b11'), 3n);
  t.equal(safeAtou('0o11'), 9n);
  t.equal(safeAtou('-0'), 0n);
  t.equal(safeAtou('255', { bits: 8 }), 255n);
  t.throws(() => safeAtou('256', { bits: 8 }), new CParseError('ERANGE'));
  t.throws(() => safeAtou('-1'), new CParseError('ERANGE'));
  t.throws(() => safeAtou('0x'), new CParseError('EINVAL'));
  t.throws(() => safeAtou(' 1', { refuseLeadingWhitespace: true }), new CParseError('EINVAL'));
  t.throws(() => safeAtou('01', { refuseLeadingZero: true }), new CParseError('EINVAL'));
  t.equal(safeAtou('0', { refuseLeadingZero: true }), 0n);
  t.equal(safeAtou('17', { base: 8 }), 15n);
  t.equal(safeAtoi('-0x10'), -16);
  t.throws(() => safeAtoi('2147483648'), new CParseError('ERANGE'));
  t.same(strtoull('-1', 0, 10), { value: (1n << 64n) - 1n, end: 2, erange: false }, 'strtoull() wraps negatives like C');
  t.same(strtoull('0xg', 0, 0), { value: 0n, end: 1, erange: false }, '"0x" without hex digits parses the 0');
});
